"""The one timing helper of the benchmarks that print a ratio: both sides warm, interleaved, medians.

    from timing import interleaved, machine
    med = interleaved({"naive": lambda: naive(), "batched": lambda: batched()}, runs=5, warmup=1)
    ratio = med["naive"] / med["batched"]

Every case is first called ``warmup`` times (caches, allocations, kernel choice), then the cases take turns:
in each of ``runs`` rounds every case runs once, timed alone, and the order rotates from round to round so
that no case always runs first (or right after another). Machine noise, such as other people's jobs on a
shared CPU, then falls on every case alike, and the median of each case's runs is what the table prints.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Callable


def _sync() -> None:
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def interleaved(cases: dict[str, Callable[[], object]], runs: int = 5, warmup: int = 1,
                samples: dict[str, list[float]] | None = None) -> dict[str, float]:
    """Median wall-clock seconds of one call of each case, measured warm and interleaved in this process.

    ``cases``: name → a function of no arguments; ``runs`` ≥ 3 timed calls of each (rounds, the order rotating);
    ``warmup`` untimed calls of each first. ``samples``, if given, receives every case's timed seconds (for the
    spread). A pending GPU queue is drained before and after each timed call."""
    if runs < 3:
        raise ValueError(f"runs must be at least 3 for a median that one outlier cannot move, got {runs}")
    if warmup < 0:
        raise ValueError(f"warmup must be ≥ 0, got {warmup}")
    if not cases:
        raise ValueError("cases is empty; expected a dict name → function of no arguments")
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            cases[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(runs):
        for name in names[r % len(names):] + names[:r % len(names)]:
            _sync()
            t0 = time.perf_counter()
            cases[name]()
            _sync()
            times[name].append(time.perf_counter() - t0)
    if samples is not None:
        samples.update(times)
    return {name: statistics.median(t) for name, t in times.items()}


def spread(seconds: list[float]) -> str:
    """min–max of a case's runs relative to their median, e.g. "−4…+9%"."""
    m = statistics.median(seconds)
    return f"{100 * (min(seconds) / m - 1):+.0f}…{100 * (max(seconds) / m - 1):+.0f}%".replace("-", "−")


def machine() -> str:
    """The machine and its load, for a table's header: ratios on a shared machine mean little without it."""
    try:
        load = "load average " + ", ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        load = "load unknown"
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, {load}"
