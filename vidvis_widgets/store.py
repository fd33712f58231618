"""The result store: method outputs on disk, keyed by the model's weights, the method and its parameters.

Re-running a cell or reopening a notebook then reuses a result instead of recomputing it. Each entry
is one ``.npz`` file of arrays plus a row in an SQLite index (key, method, weights hash, parameters,
metadata). The file is written to a temporary name and renamed into place before its row is
committed, so a run killed mid-write leaves no entry that points at a partial file; SQLite's locking
lets several kernels write to one store at once.

The location is ``$VIDVIS_CACHE_DIR`` or ``~/.cache/vidvis-widgets``, or the ``root`` given.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from ._atomic import atomic_path

SCHEMA = """CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY, method TEXT NOT NULL, weights TEXT NOT NULL, params TEXT NOT NULL,
    meta TEXT NOT NULL, file TEXT NOT NULL, nbytes INTEGER NOT NULL, created REAL NOT NULL)"""


def default_root() -> Path:
    return Path(os.environ.get("VIDVIS_CACHE_DIR") or Path.home() / ".cache" / "vidvis-widgets")


def as_store(store) -> "ResultStore | None":
    """What a method's ``store=`` argument means: ``None`` / ``False`` no store, ``True`` the default one,
    else the :class:`ResultStore` given."""
    if store is None or store is False:
        return None
    return ResultStore() if store is True else store


def weights_hash(model: nn.Module) -> str:
    """SHA-256 over every parameter and buffer (name, dtype, shape, bytes): equal weights, equal hash."""
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _canonical(params: dict) -> str:
    try:
        return json.dumps(params, sort_keys=True, separators=(",", ":"), default=_jsonable)
    except TypeError as e:
        raise TypeError(f"store parameters must be JSON-like (numbers, strings, lists, dicts): {e}") from None


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"{type(v).__name__} is not JSON-serializable")


class ResultStore:
    """``put`` / ``get`` / ``get_or_compute`` keyed by (model or weights hash, method, params)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_root()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise PermissionError(f"the result store directory {str(self.root)!r} is not writable ({e.strerror}); "
                                  "expected a writable folder: pass ResultStore(root=...) or set "
                                  "VIDVIS_CACHE_DIR") from None
        with closing(self._connect()) as db:
            db.execute(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.root / "index.sqlite", timeout=60, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    @staticmethod
    def key(model_or_hash: nn.Module | str, method: str, params: dict) -> str:
        weights = model_or_hash if isinstance(model_or_hash, str) else weights_hash(model_or_hash)
        return hashlib.sha256(f"{weights}\n{method}\n{_canonical(params)}".encode()).hexdigest()

    def put(self, model_or_hash: nn.Module | str, method: str, params: dict, arrays: dict[str, np.ndarray],
            meta: dict | None = None) -> str:
        weights = model_or_hash if isinstance(model_or_hash, str) else weights_hash(model_or_hash)
        key = self.key(weights, method, params)
        rel = Path("objects") / key[:2] / f"{key}.npz"
        with atomic_path(self.root / rel) as tmp:
            np.savez(tmp, **{k: np.asarray(v) for k, v in arrays.items()})
        nbytes = (self.root / rel).stat().st_size
        with closing(self._connect()) as db:
            db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (key, method, weights, _canonical(params), _canonical(meta or {}), str(rel), nbytes,
                        time.time()))
        return key

    def get(self, model_or_hash: nn.Module | str, method: str, params: dict):
        """``(arrays, meta)``, or ``None`` when absent. An entry whose file is gone or unreadable counts
        as absent and is dropped from the index."""
        key = self.key(model_or_hash, method, params)
        with closing(self._connect()) as db:
            row = db.execute("SELECT file, meta FROM entries WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            try:
                with np.load(self.root / row[0], allow_pickle=False) as z:
                    arrays = {k: z[k] for k in z.files}
            except (OSError, ValueError, EOFError):
                db.execute("DELETE FROM entries WHERE key = ?", (key,))
                return None
        return arrays, json.loads(row[1])

    def get_or_compute(self, model: nn.Module, method: str, params: dict,
                       compute: Callable[[], tuple[dict[str, np.ndarray], dict]]):
        """The stored ``(arrays, meta)``, else ``compute()``'s, stored first."""
        weights = weights_hash(model)
        hit = self.get(weights, method, params)
        if hit is not None:
            return hit
        arrays, meta = compute()
        self.put(weights, method, params, arrays, meta)
        return arrays, meta

    def entries(self) -> list[dict]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT key, method, weights, params, nbytes, created FROM entries "
                              "ORDER BY created").fetchall()
        return [dict(zip(("key", "method", "weights", "params", "nbytes", "created"), r)) for r in rows]

    def __len__(self) -> int:
        with closing(self._connect()) as db:
            return db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]

    def clear(self, method: str | None = None) -> int:
        """Removes every entry (or those of ``method``) and any leftover partial file; returns how many."""
        with closing(self._connect()) as db:
            where, args = ("WHERE method = ?", (method,)) if method else ("", ())
            files = [r[0] for r in db.execute(f"SELECT file FROM entries {where}", args)]
            db.execute(f"DELETE FROM entries {where}", args)
            kept = {r[0] for r in db.execute("SELECT file FROM entries")}
        for f in files:
            (self.root / f).unlink(missing_ok=True)
        if method is None:  # files no row points at: partial writes of killed runs. A minute's grace
            # spares another kernel's write in flight, whose row is not committed yet
            old = time.time() - 60
            for f in (self.root / "objects").glob("*/*"):
                if str(f.relative_to(self.root)) not in kept and f.stat().st_mtime < old:
                    f.unlink(missing_ok=True)
        return len(files)

    def __repr__(self) -> str:
        return f"ResultStore({str(self.root)!r}, {len(self)} entries)"
