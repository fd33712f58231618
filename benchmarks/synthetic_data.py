"""SyntheticActions generation rate on this machine's CPU.

    .venv/bin/python benchmarks/synthetic_data.py

Target: at least 200 clips per second (16×64×64 with exact flow and masks) on the 2-core CPU.
"""

from __future__ import annotations

import os
import time

from vidvis_widgets.data import SyntheticActions


def rate(split: str, size: int = 64, repeats: int = 3) -> float:
    ds = SyntheticActions(split, size=size)
    ds.arrays(range(8))  # warm caches and imports
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        ds.arrays()
        best = max(best, len(ds) / (time.perf_counter() - t0))
    return best


def main() -> None:
    print(f"SyntheticActions generation into batch arrays, 16-frame clips with exact flow and masks, one process"
          f" ({os.cpu_count()} CPU cores on the machine)")
    print(f"{'split':>10} | {'size':>7} | {'clips/s':>8}")
    print("-" * 32)
    for split, size in (("train", 64), ("test", 64), ("test", 112)):
        print(f"{split:>10} | {size:>3}×{size:<3} | {rate(split, size):>8.0f}")
    print("\nTarget: ≥ 200 clips/s at 64×64 on the 2-core CPU.")


if __name__ == "__main__":
    main()
