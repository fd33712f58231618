"""Atomic file writes: readers see the old file or the whole new one, never a partial write. A place that cannot
take the file (a folder at the path, a parent that is a file, a read-only or unwritable folder, a full disk) is
reported naming the user's path and the cause, never the hidden temporary file."""

from __future__ import annotations

import errno
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


#: what an errno means for a write, in the user's words (others: the system's own words)
_CAUSES = {errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
           errno.EPERM: "permission denied", errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
           errno.EISDIR: "a folder is in the way", errno.ENOTDIR: "a parent is a file, not a folder"}


def _cause(err: OSError) -> str:
    """The cause in words; never the error's own text, which may name the temporary file."""
    return _CAUSES.get(err.errno) or (err.strerror or "the write failed").lower()


def write_error(path: Path, err: OSError, doing: str = "") -> OSError:
    """``err`` (a failed write of ``path`` or of its temporary file) as the same kind of OSError, its errno kept,
    with a message that names ``path`` and the cause, not the temporary file."""
    message = f"cannot write {path}: {doing + ' (' + _cause(err) + ')' if doing else _cause(err)}"
    try:
        out = type(err)(message)
    except TypeError:  # a subclass with a constructor of its own
        out = OSError(message)
    out.errno = err.errno
    return out


def check_target(path: str | Path, name: str = "") -> Path:
    """Refuses, before any work, a path no file can be written at: a folder, or a path under a file. ``name``:
    the argument that gave it, for the message. Creates nothing."""
    path = Path(path)
    what = f"{name}={str(path)!r}" if name else str(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {what}: it is a folder; expected the path of a file in it, e.g. "
                                f"{path / ('out' + (path.suffix or '.html'))}")
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise NotADirectoryError(f"cannot write {what}: {parent} is a file, not a folder")
            break
    return path


def writable_folder(folder: str | Path, name: str) -> Path:
    """``folder``, created where missing and checked writable by creating and removing a file in it; else an
    OSError naming ``name``, the folder and the cause."""
    folder = Path(folder)
    for p in (folder, *folder.parents):
        if p.exists() and not p.is_dir():
            raise NotADirectoryError(f"{name}={str(folder)!r} cannot be a folder: {p} is a file; expected a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.unlink(_create_beside(folder / "write-probe"))
    except OSError as e:
        out = type(e)(f"{name}={str(folder)!r} is not a writable folder ({_cause(e)}); expected a folder this user "
                      "can create files in")
        out.errno = e.errno
        raise out from None
    return folder


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path beside ``path`` (same suffix, so format-sniffing writers work);
    it replaces ``path`` only if the block finishes, and is removed otherwise. A new file gets the mode any
    file the user writes gets (0666 less the umask); a replaced file keeps its mode. Missing parent folders are
    created. A place that cannot take the file raises an OSError naming ``path`` and the cause (:func:`write_error`)."""
    path = check_target(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise write_error(path, e, f"its folder {path.parent} cannot be created") from None
    try:
        tmp = _create_beside(path)
    except OSError as e:
        raise write_error(path, e, f"no file can be created in {path.parent}") from None
    try:
        try:
            yield tmp
            try:
                os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
            except FileNotFoundError:
                pass
            os.replace(tmp, path)
        except OSError as e:  # the writer's or the rename's failure on the temporary file: told as the user's path
            if tmp.name not in f"{e.filename} {e.filename2} {e}":
                raise
            raise write_error(path, e) from None
    finally:
        tmp.unlink(missing_ok=True)
