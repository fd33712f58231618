"""One result collection for every method: :class:`Results`, and :func:`load` for what ``.save`` wrote.

Every method's call returns a collection of its jobs' results (activation maximization's :class:`AMResults`,
LEAPS' :class:`InversionResults`, Saliency Tubes' :class:`SaliencyTubeResults`), always, even for one job:

    results = method(target=..., inputs=...)
    len(results), results[0], list(results)   # indexable by job (tubes: one job per clip)
    results.show()                            # a clip grid, as every Displayable shows itself
    results.settings                          # every setting of the call (each item keeps its own .settings)
    results.save("run.npz")                   # one file, written atomically
    again = vidvis_widgets.methods.load("run.npz")   # the same collection type, equal arrays and settings

A saved file is an ``.npz`` archive (read without unpickling): each stored entry's arrays under
``"<entry>/<name>"``, and a JSON header under ``"__results__"`` naming the format, the method, the collection
and item types, the call's settings and each entry's metadata. The entries are the ones the result store keeps
(each result type's ``to_entry`` / ``from_entry``), so a saved file and a stored result hold the same data.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path
from typing import Any, ClassVar, Iterable

import numpy as np

from ..._atomic import atomic_path, write_error
from ...media.grid import Displayable

#: the saved file's header entry and format name; a file of another version is refused by name
HEADER = "__results__"
FORMAT = "vidvis-results"
VERSION = 1

#: collection types by the method name their files record (filled as each type is defined)
_TYPES: dict[str, type["Results"]] = {}


class Results(Displayable):
    """A method's results for the jobs of one call. Subclasses set ``method_name`` (the method a saved file records),
    ``item_type`` (what ``[i]`` gives), and give :meth:`entries` / :meth:`from_entries`: the collection as store
    entries (arrays, meta) and back; they keep ``settings``, the call's settings, as a public dict."""

    method_name: ClassVar[str] = ""
    item_type: ClassVar[type] = object
    settings: dict

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if cls.__dict__.get("method_name"):
            _TYPES[cls.method_name] = cls

    # -- what a subclass gives -------------------------------------------------------------------------------
    def entries(self) -> list[tuple[dict, dict]]:  # pragma: no cover - the interface
        """The collection as store entries, each (arrays: name → numpy array, meta: JSON-like dict)."""
        raise NotImplementedError

    @classmethod
    def from_entries(cls, entries: list[tuple[dict, dict]], settings: dict, **kw) -> "Results":  # pragma: no cover
        """The collection back from :meth:`entries`' output and the call's settings (``kw``: e.g. ``device``)."""
        raise NotImplementedError

    # -- saving ------------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Writes the whole collection to one file at ``path`` (``.npz`` by convention; any name works),
        atomically: a failed write leaves any file already there as it was. Returns the path.
        ``vidvis_widgets.methods.load(path)`` reads it back as this collection type."""
        entries = self.entries()
        header = {"format": FORMAT, "version": VERSION, "method": self.method_name, "collection": type(self).__name__,
                  "item_type": self.item_type.__name__, "settings": self.settings,
                  "entries": [meta for _, meta in entries]}
        arrays = {HEADER: np.array(_dumps(_tagged(header), "the results' settings and metadata"))}
        for i, (a, _) in enumerate(entries):
            for name, value in a.items():
                arrays[f"{i}/{name}"] = _storable(name, value)
        with atomic_path(path) as tmp:
            try:
                with open(tmp, "wb") as f:  # a file object: np.savez would add ".npz" to a name without it
                    np.savez(f, **arrays)
            except OSError as e:  # told as the user's path and the cause, not the temporary file
                raise write_error(Path(path), e) from None
        return Path(path)


class JobResults(Results, list):
    """A collection that is a list of per-job results (activation maximization's, LEAPS'), in job order.
    ``job_type``: the jobs' class, which a saved file records field by field (targets as their JSON)."""

    job_type: ClassVar[type] = object

    def __init__(self, items: Iterable = (), settings: dict | None = None):
        super().__init__(items)
        self.settings = settings

    @property
    def settings(self) -> dict:
        """The call's settings; for a collection built without them, the settings all its items share."""
        return self._settings if self._settings is not None else _shared(self)

    @settings.setter
    def settings(self, value: dict | None) -> None:
        self._settings = dict(value) if value is not None else None

    def entries(self) -> list[tuple[dict, dict]]:
        out = []
        for r in self:
            arrays, meta = r.to_entry()
            out.append((arrays, {**meta, "job": _job_json(r.job)}))
        return out

    @classmethod
    def from_entries(cls, entries: list[tuple[dict, dict]], settings: dict, **kw) -> "JobResults":
        items = []
        for arrays, meta in entries:
            meta = dict(meta)
            job = _job_from_json(cls.job_type, meta.pop("job"))
            items.append(cls.item_type.from_entry(job, arrays, meta))
        return cls(items, settings=settings)

    def __getitem__(self, i):
        got = list.__getitem__(self, i)
        return type(self)(got, settings=self.settings) if isinstance(i, slice) else got

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} jobs: {list.__repr__(self)})"


def load(path: str | Path, *, device: Any = "cpu") -> Results:
    """The collection a ``.save(path)`` wrote, as its own type (:class:`AMResults`, :class:`InversionResults`,
    :class:`SaliencyTubeResults`), with equal arrays and settings. ``device``: where a collection that holds
    tensors (Saliency Tubes') puts them."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no saved results at {str(path)!r}" +
                                (": it is a folder; expected a file a results' .save(path) wrote" if path.is_dir()
                                 else ""))
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{str(path)!r} is not a saved results file (a results' .save(path) writes one): {e}") from None
    if HEADER not in arrays:
        raise ValueError(f"{str(path)!r} is an .npz archive but not a saved results file: it has no {HEADER!r} "
                         "entry; expected a file a results' .save(path) wrote")
    header = _untagged(json.loads(str(arrays.pop(HEADER))))
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise ValueError(f"{str(path)!r} is results format {header.get('format')!r} version {header.get('version')!r}; "
                         f"this version of vidvis-widgets reads {FORMAT!r} version {VERSION}")
    cls = _TYPES.get(header["method"])
    if cls is None:
        raise ValueError(f"{str(path)!r} holds results of method {header['method']!r}, which this version does not "
                         f"know; known: {', '.join(sorted(_TYPES))}")
    entries = [({}, m) for m in header["entries"]]
    for key, value in arrays.items():
        i, name = key.split("/", 1)
        entries[int(i)][0][name] = value
    return cls.from_entries(entries, header["settings"], device=device)


# -- helpers -------------------------------------------------------------------------------------------------
def _shared(items: list) -> dict:
    """The settings every item shares (a collection built without the call's settings)."""
    items = [getattr(r, "settings", None) or {} for r in list.__iter__(items)]
    if not items:
        return {}
    return {k: v for k, v in items[0].items() if all(_same(s.get(k, _MISSING), v) for s in items[1:])}


def _same(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # arrays: compared element-wise
        return False


_MISSING = object()


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, Path):
        return str(v)
    raise TypeError(f"{type(v).__name__} is not JSON-serializable")


def _tagged(obj):
    """``obj`` with what JSON would change marked, so that it loads back equal: a tuple as {"__tuple__": [...]}, a
    dict with keys other than strings as {"__items__": [[key, value], ...]}."""
    if isinstance(obj, tuple):
        return {_TUPLE: [_tagged(v) for v in obj]}
    if isinstance(obj, list):
        return [_tagged(v) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: _tagged(v) for k, v in obj.items()}
        return {_ITEMS: [[_tagged(k), _tagged(v)] for k, v in obj.items()]}
    return obj


def _untagged(obj):
    if isinstance(obj, list):
        return [_untagged(v) for v in obj]
    if isinstance(obj, dict):
        if set(obj) == {_TUPLE}:
            return tuple(_untagged(v) for v in obj[_TUPLE])
        if set(obj) == {_ITEMS}:
            return {_untagged(k): _untagged(v) for k, v in obj[_ITEMS]}
        return {k: _untagged(v) for k, v in obj.items()}
    return obj


_TUPLE, _ITEMS = "__tuple__", "__items__"


def _dumps(obj, what: str) -> str:
    try:
        return json.dumps(obj, default=_jsonable)
    except (TypeError, ValueError) as e:
        raise TypeError(f"cannot save {what}: {e}; expected numbers, strings, lists and dicts") from None


def _storable(name: str, value) -> np.ndarray:
    a = np.asarray(value)
    if a.dtype.hasobject:
        raise TypeError(f"cannot save array {name!r}: dtype={a.dtype} (Python objects) cannot be loaded without "
                        "unpickling; expected a numeric, bool or str numpy array")
    return a


def _job_json(job) -> dict:
    """A job dataclass as JSON: its fields, a target value as its JSON form."""
    from .targets import Target

    out = {}
    for f in dataclasses.fields(job):
        v = getattr(job, f.name)
        out[f.name] = {"target": v.to_json()} if isinstance(v, Target) else v
    return out


def _job_from_json(job_type: type, fields: dict):
    from .targets import Target

    return job_type(**{k: Target.from_json(v["target"]) if isinstance(v, dict) and set(v) == {"target"} else v
                       for k, v in fields.items()})
