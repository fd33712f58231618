"""The result store: method outputs on disk, keyed by the model's weights, the method and its parameters.

Re-running a cell or reopening a notebook then reuses a result instead of recomputing it. Each entry
is one ``.npz`` file of arrays plus a row in an SQLite index (key, method, weights hash, parameters,
metadata, file). Every write goes to a file name of its own, written under a temporary name and renamed
into place; one transaction then points the row at it, and only after the commit is the file it
replaced removed. So a run killed mid-write leaves no entry that points at a partial file, and several
kernels writing the same key leave one writer's arrays with that writer's metadata, never a mix.

The location is ``$VIDVIS_CACHE_DIR`` or ``~/.cache/vidvis-widgets``, or the ``root`` given.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import secrets
import time
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from torch import nn

from ._atomic import atomic_path

SCHEMA = """CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY, method TEXT NOT NULL, weights TEXT NOT NULL, params TEXT NOT NULL,
    meta TEXT NOT NULL, file TEXT NOT NULL, nbytes INTEGER NOT NULL, created REAL NOT NULL)"""


def default_root() -> Path:
    return Path(os.environ.get("VIDVIS_CACHE_DIR") or Path.home() / ".cache" / "vidvis-widgets")


class CorruptStoreError(RuntimeError):
    """The store's SQLite index cannot be read; the message names the file and how to recover."""

    def __init__(self, root: Path, reason: str):
        index = root / INDEX
        super().__init__(f"the result store index {index} is not a readable SQLite database ({reason}). "
                         f"Its entries cannot be found without it. To start an empty store, run "
                         f"`vidvis cache clear --dir {root}`, which moves the file aside to "
                         f"{INDEX}.corrupt-<time> and removes the stored arrays, or move {index} away yourself "
                         f"(with any {INDEX}-wal and {INDEX}-shm beside it)")
        self.root, self.index = root, index


INDEX = "index.sqlite"


def as_store(store, name: str = "store") -> "ResultStore | None":
    """What a method's ``store=`` argument means: ``None`` / ``False`` no store, ``True`` the default one, a
    folder path (str or ``os.PathLike``) the store in that folder, else the :class:`ResultStore` given.
    Anything else is refused, naming ``name``."""
    if store is None or store is False:
        return None
    if store is True:
        return ResultStore()
    if isinstance(store, (str, os.PathLike)):
        if not str(store):
            raise ValueError(f"{name} is an empty path; expected a folder path, True (the default store), a "
                             "ResultStore or None")
        return ResultStore(store)
    if not isinstance(store, ResultStore):
        raise TypeError(f"{name} must be None, True (the default store), a folder path (str or Path) or a "
                        f"ResultStore; got {type(store).__name__}")
    return store


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


def _storable(name: str, value) -> np.ndarray:
    """``value`` as an array ``np.load`` gives back without unpickling; object arrays are refused by name."""
    try:
        a = np.asarray(value)
    except ValueError as e:  # ragged nested lists
        raise TypeError(f"store array {name!r} is not a regular array ({e}); expected a numeric, bool or str "
                        "numpy array") from None
    if a.dtype.hasobject:
        raise TypeError(f"store array {name!r} has dtype={a.dtype} (Python objects), which the store cannot load "
                        "back without unpickling; expected a numeric, bool or str numpy array")
    return a


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
        with self._db() as db:
            db.execute(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode (``BEGIN IMMEDIATE`` opens a write transaction); an unreadable
        index file becomes a :class:`CorruptStoreError` that names it."""
        try:
            with closing(sqlite3.connect(self.root / INDEX, timeout=60, isolation_level=None)) as db:
                db.execute("PRAGMA journal_mode=WAL")
                yield db
        except sqlite3.DatabaseError as e:
            if getattr(e, "sqlite_errorcode", None) in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
                raise CorruptStoreError(self.root, str(e)) from None
            raise

    @staticmethod
    def reset(root: str | Path) -> Path | None:
        """Starts an empty store at ``root`` whatever state its index is in: the index file is moved aside
        to ``index.sqlite.corrupt-<time>`` (returned; ``None`` when there was none) and the stored arrays
        are removed, since nothing can find them without it. What ``vidvis cache clear`` does with an
        index it cannot read."""
        root = Path(root)
        index, moved = root / INDEX, None
        if index.exists():
            moved = root / f"{INDEX}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
            os.replace(index, moved)
        for leftover in (root / f"{INDEX}-wal", root / f"{INDEX}-shm"):
            leftover.unlink(missing_ok=True)
        for f in (root / "objects").glob("*/*"):
            f.unlink(missing_ok=True)
        return moved

    @staticmethod
    def key(model_or_hash: nn.Module | str, method: str, params: dict) -> str:
        weights = model_or_hash if isinstance(model_or_hash, str) else weights_hash(model_or_hash)
        return hashlib.sha256(f"{weights}\n{method}\n{_canonical(params)}".encode()).hexdigest()

    def put(self, model_or_hash: nn.Module | str, method: str, params: dict, arrays: dict[str, np.ndarray],
            meta: dict | None = None) -> str:
        """Stores ``arrays`` (numeric, bool or str numpy arrays, by name) and ``meta`` (JSON-like) under the
        key of (weights, method, params), replacing any entry there; returns the key."""
        weights = model_or_hash if isinstance(model_or_hash, str) else weights_hash(model_or_hash)
        key = self.key(weights, method, params)
        if meta is not None and not isinstance(meta, dict):
            raise TypeError(f"store meta must be a dict (or None), got {type(meta).__name__}")
        arrays = {k: _storable(k, v) for k, v in arrays.items()}
        meta_json = _canonical({} if meta is None else meta)
        # a file name of this write's own: another writer of the same key never renames over it
        rel = Path("objects") / key[:2] / f"{key}.{secrets.token_hex(8)}.npz"
        with atomic_path(self.root / rel) as tmp:
            np.savez(tmp, **arrays)
        committed = False
        try:
            nbytes = (self.root / rel).stat().st_size
            with self._db() as db:  # one transaction: the replaced file is read off the row it replaces
                db.execute("BEGIN IMMEDIATE")  # (closing the connection before COMMIT rolls it back)
                old = db.execute("SELECT file FROM entries WHERE key = ?", (key,)).fetchone()
                db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (key, method, weights, _canonical(params), meta_json, str(rel), nbytes, time.time()))
                db.execute("COMMIT")
                committed = True
        finally:
            if not committed:
                (self.root / rel).unlink(missing_ok=True)
        if old is not None and old[0] != str(rel):
            (self.root / old[0]).unlink(missing_ok=True)
        return key

    def get(self, model_or_hash: nn.Module | str, method: str, params: dict):
        """``(arrays, meta)``, or ``None`` when absent. An entry whose file is gone or unreadable counts
        as absent and is dropped from the index."""
        key = self.key(model_or_hash, method, params)
        with self._db() as db:
            while True:
                row = db.execute("SELECT file, meta FROM entries WHERE key = ?", (key,)).fetchone()
                if row is None:
                    return None
                try:
                    with np.load(self.root / row[0], allow_pickle=False) as z:
                        arrays = {k: z[k] for k in z.files}
                    return arrays, json.loads(row[1])
                except (OSError, ValueError, EOFError):
                    # drop the row only if it still points at the file that failed: another writer may
                    # have replaced the entry (and removed that file) since it was read; then read again
                    if db.execute("DELETE FROM entries WHERE key = ? AND file = ?", (key, row[0])).rowcount:
                        return None

    def get_or_compute(self, model: nn.Module, method: str, params: dict,
                       compute: Callable[[], tuple[dict[str, np.ndarray], dict]]):
        """The stored ``(arrays, meta)``, else ``compute()``'s, stored first."""
        weights = weights_hash(model)
        hit = self.get(weights, method, params)
        if hit is not None:
            return hit
        out = compute()
        if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], dict)):
            got = f"a {len(out)}-tuple" if isinstance(out, tuple) else type(out).__name__
            raise TypeError(f"get_or_compute's compute() for method {method!r} must return a pair (arrays, meta): "
                            "a dict of name → numpy array and a dict of JSON-like metadata (or None); it returned "
                            f"{got}")
        arrays, meta = out
        self.put(weights, method, params, arrays, meta)
        return arrays, meta

    def entries(self) -> list[dict]:
        with self._db() as db:
            rows = db.execute("SELECT key, method, weights, params, nbytes, created FROM entries "
                              "ORDER BY created").fetchall()
        return [dict(zip(("key", "method", "weights", "params", "nbytes", "created"), r)) for r in rows]

    def __len__(self) -> int:
        with self._db() as db:
            return db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]

    def clear(self, method: str | None = None) -> int:
        """Removes every entry (or those of ``method``) and any leftover partial file; returns how many."""
        with self._db() as db:
            where, args = ("WHERE method = ?", (method,)) if method else ("", ())
            db.execute("BEGIN IMMEDIATE")  # the files removed are exactly those of the rows deleted
            files = [r[0] for r in db.execute(f"SELECT file FROM entries {where}", args)]
            db.execute(f"DELETE FROM entries {where}", args)
            kept = {r[0] for r in db.execute("SELECT file FROM entries")}
            db.execute("COMMIT")
        for f in files:
            (self.root / f).unlink(missing_ok=True)
        if method is None:  # files no row points at: partial writes, or replaced files, of killed runs. A
            # minute's grace spares another kernel's write in flight, whose row is not committed yet
            old = time.time() - 60
            for f in (self.root / "objects").glob("*/*"):
                if str(f.relative_to(self.root)) not in kept and f.stat().st_mtime < old:
                    f.unlink(missing_ok=True)
        return len(files)

    def __repr__(self) -> str:
        return f"ResultStore({str(self.root)!r}, {len(self)} entries)"
