"""What every method's call reads the same way: ``seeds=`` and the jobs that ``target=`` and the seeds make.

    method(target=None, inputs=None, *, seeds=0, steps=None, stop=None, callback=None, every=..., progress=None)

``target`` is one target (a :class:`~.targets.Target`, a class index or name) or a list of them, and then the call
runs one job per target and seed, targets first; or it is the method's own job objects (which carry their own
seed), one or a list. A list mixing the two is refused, as are seeds given beside jobs: each job says its seed.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def as_seeds(seeds) -> list[int]:
    """``seeds=`` as a list: one int ≥ 0, or a non-empty sequence of them. A clear error names the argument."""
    form = "an int ≥ 0 or a non-empty list of them, e.g. seeds=0 or seeds=[0, 1, 2]"
    values = list(seeds) if _listed(seeds) else [seeds]
    if not values:
        raise ValueError(f"seeds is empty; expected {form}")
    out = []
    for s in values:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"seeds must be {form}; got {seeds!r}")
        out.append(int(s))
    return out


def make_jobs(target, seeds, job_type: type | tuple[type, ...], make: Callable[[int, object, int], object],
              method: str, expected: str, **options) -> tuple[list, bool]:
    """The call's jobs and whether they were given as jobs: ``target``'s own ``job_type`` values as they are, or
    ``make(i, target_i, seed)`` for every target i and seed (targets first). ``options``: per-call settings that
    shape the jobs made from targets, as (value, default) pairs: given beside job objects (which carry their own)
    they are refused, as ``seeds`` is. ``expected`` describes the accepted targets for the errors."""
    if target is None:
        raise ValueError(f"{method}: no target given; expected target= {expected}")
    items = list(target) if _listed(target) else [target]
    if not items:
        raise ValueError(f"{method}: target= is an empty list; expected {expected}")
    jobs = [isinstance(t, job_type) for t in items]
    if not any(jobs):
        return [make(i, t, s) for i, t in enumerate(items) for s in as_seeds(seeds)], False
    if not all(jobs):
        raise ValueError(f"{method}: target= mixes job objects and plain targets; give a list of targets (each run "
                         "for every seed) or a list of jobs (each with its own seed)")
    given = [name for name, (value, default) in [("seeds", (as_seeds(seeds), [0])), *options.items()]
             if value != default]
    if given:
        raise ValueError(f"{method}: {', '.join(given)} given beside job objects, which carry their own; set them in "
                         "each job, or give plain targets")
    return items, True


def _listed(value) -> bool:
    """A list of values (a list, tuple, range or 1-D array), not one value."""
    return isinstance(value, (list, tuple, range)) or (isinstance(value, np.ndarray) and value.ndim == 1)


__all__: Sequence[str] = ["as_seeds", "make_jobs"]
