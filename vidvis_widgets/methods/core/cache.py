"""One caching wrapper for every method: results stored per job, as activation maximization's always were.

A method describes a job by the settings that decide its answer (``key``), and how a result becomes a
store entry and back (``encode`` / ``decode``). :class:`Cached` looks every job up under the model's
weights, runs only the misses in one batch, and stores each fresh result that is its job's answer: a run
that completed or diverged, never one a Stop or Ctrl-C cut short.

Where a job's answer depends on its batch-mates (LEAPS' R_feat pooled over the batch), ``together=True``
keys each job by the whole batch as well and runs the whole batch again on any miss, so a stored result is
only ever returned for the batch it was computed in.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Sequence, TypeVar

import numpy as np
from torch import nn

from ...store import as_store, weights_hash

Job = TypeVar("Job")
Result = TypeVar("Result")

#: statuses that are a job's answer, and so are stored
ANSWERS = ("completed", "diverged")


def content_hash(*arrays) -> str:
    """SHA-256 over arrays' dtypes, shapes and bytes (``None`` counts as absent): a key part for inputs."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none|")
            continue
        a = np.ascontiguousarray(a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a))
        h.update(f"{a.dtype}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


class Cached:
    """``Cached(store, model, "leaps")(jobs, compute, key=, encode=, decode=)``: each job's stored result,
    else ``compute(missing_jobs)``'s, stored first. ``store``: None / False (no store: ``compute(jobs)``),
    True (the default store) or a :class:`~vidvis_widgets.store.ResultStore`."""

    def __init__(self, store, model: nn.Module, method: str):
        self.store, self.model, self.method = as_store(store), model, method

    def _keys(self, jobs: Sequence[Job], key: Callable[[Job], dict], together: bool) -> list[dict]:
        keys = [key(j) for j in jobs]
        return [{**k, "batch": keys} for k in keys] if together else keys

    def lookup(self, jobs: Sequence[Job], *, key: Callable[[Job], dict], decode: Callable[[Job, dict, dict], Result],
               together: bool = False) -> list[Result | None]:
        """Each job's stored result, ``None`` where the store has none (or there is no store)."""
        if self.store is None:
            return [None] * len(jobs)
        weights = weights_hash(self.model)
        hits = [self.store.get(weights, self.method, k) for k in self._keys(jobs, key, together)]
        return [decode(j, *h) if h is not None else None for j, h in zip(jobs, hits)]

    def keep(self, jobs: Sequence[Job], results: Sequence[Result], *, key: Callable[[Job], dict],
             encode: Callable[[Result], tuple[dict, dict]], together: bool = False) -> None:
        """Stores the results that are their job's answer (:data:`ANSWERS`); the rest are not stored."""
        if self.store is None:
            return
        weights = weights_hash(self.model)
        for k, r in zip(self._keys(jobs, key, together), results):
            if getattr(r, "status", "completed") in ANSWERS:
                self.store.put(weights, self.method, k, *encode(r))

    def __call__(self, jobs: Sequence[Job], compute: Callable[[list[Job]], Sequence[Result]], *,
                 key: Callable[[Job], dict], encode: Callable[[Result], tuple[dict, dict]],
                 decode: Callable[[Job, dict, dict], Result], together: bool = False) -> list[Result]:
        jobs = list(jobs)
        if self.store is None:
            return list(compute(jobs))
        out = self.lookup(jobs, key=key, decode=decode, together=together)
        todo = [i for i, r in enumerate(out) if r is None]
        if together and todo:
            todo = list(range(len(jobs)))
        if todo:
            fresh = list(compute([jobs[i] for i in todo]))
            # a batch-dependent answer is only kept for the whole batch it was computed in
            if together or len(todo) == len(jobs):
                self.keep(jobs, fresh, key=key, encode=encode, together=together)
            else:
                self.keep([jobs[i] for i in todo], fresh, key=key, encode=encode)
            for i, r in zip(todo, fresh):
                out[i] = r
        return out
