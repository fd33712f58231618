"""Atomic file writes: readers see the old file or the whole new one, never a partial write."""

from __future__ import annotations

import os
import secrets
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def _create_beside(path: Path) -> Path:
    """A new empty file beside ``path``, created as any other file the user writes (0666 less the umask,
    which the kernel applies; ``mkstemp`` would give 0600 whatever the umask)."""
    for _ in range(100):
        tmp = path.parent / f".{path.stem}.{secrets.token_hex(6)}.partial{path.suffix}"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {path}")  # pragma: no cover


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path beside ``path`` (same suffix, so format-sniffing writers work);
    it replaces ``path`` only if the block finishes, and is removed otherwise. A new file gets the mode any
    file the user writes gets (0666 less the umask); a replaced file keeps its mode."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_beside(path)
    try:
        yield tmp
        try:
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        except FileNotFoundError:
            pass
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
