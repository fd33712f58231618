"""SyntheticActions generation rate on this machine's CPU.

    .venv/bin/python benchmarks/synthetic_data.py

Target: at least 200 clips per second (16×64×64 with exact flow and masks) on 2 cores.
"""

from __future__ import annotations

import os
import time

from vidvis_widgets.data import SyntheticActions


def rate(workers: int, split: str = "train", repeats: int = 2) -> float:
    ds = SyntheticActions(split)
    ds.arrays(range(8))  # warm caches and imports
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        ds.arrays(workers=workers)
        best = max(best, len(ds) / (time.perf_counter() - t0))
    return best


def main() -> None:
    print(f"SyntheticActions generation, 16×64×64 clips with flow and masks, {os.cpu_count()} CPU cores")
    print(f"{'processes':>9} | {'clips/s':>8}")
    print("-" * 20)
    for workers in (0, 2):
        print(f"{max(1, workers):>9} | {rate(workers):>8.0f}")
    print("\nTarget: ≥ 200 clips/s on the 2-core CPU.")


if __name__ == "__main__":
    main()
