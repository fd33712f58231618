"""Response-statistics throughput against pure model inference on the same batches.

    .venv/bin/python benchmarks/response_statistics.py [--runs 3]

"Pure inference" runs the model alone over batches that are already in memory. The response pass
draws the same clips with loader workers, hooks the layers and keeps the running maxima. Target: the
pass reaches at least 80% of pure inference's clips/s. All are warmed up once and then run interleaved
(``benchmarks/timing.py``), ``--runs`` times each in one process; the table prints medians.
"""

from __future__ import annotations

import argparse

import torch

from timing import interleaved, machine, spread
from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.methods import response_statistics
from vidvis_widgets.models import load_model

LAYERS = ("conv5_fusion", "fc6", "fc7", "fc8")


def pure_inference(model, batches) -> None:
    info = model.vidvis_adapter
    device = next(model.parameters()).device
    with torch.no_grad():
        for b in batches:
            model(*info.prepare(b, device))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = load_model("tiny_two_stream").to(device)
    ds = SyntheticActions("test")  # 420 clips
    bs = 32
    batches = [ds.arrays(range(i, min(i + bs, len(ds)))) for i in range(0, len(ds), bs)]
    arrays = ds.arrays()  # the same clips already in memory: what the hooks and running maxima cost on top
    cases = {"pure": lambda: pure_inference(model, batches)}
    for workers in (0, 1, 2):  # clips drawn while it runs
        cases[str(workers)] = lambda w=workers: response_statistics(model, ds, LAYERS, batch_size=bs, num_workers=w)
    cases["in memory"] = lambda: response_statistics(model, arrays, LAYERS, batch_size=bs)
    samples: dict = {}
    med = interleaved(cases, runs=args.runs, warmup=1, samples=samples)
    pure = len(ds) / med["pure"]
    print(f"tiny_two_stream on {device}; {machine()}; {len(ds)} test clips, batch {bs}, layers {', '.join(LAYERS)}; "
          f"median of {args.runs} interleaved runs")
    print(f"pure inference (batches in memory): {pure:.0f} clips/s (spread {spread(samples['pure'])})")
    print(f"{'loader workers':>14} | {'response pass clips/s':>21} | {'spread':>9} | {'ratio':>6}")
    print("-" * 60)
    for w in ("0", "1", "2", "in memory"):
        r = len(ds) / med[w]
        print(f"{w:>14} | {r:>21.0f} | {spread(samples[w]):>9} | {r / pure:>6.0%}")
    print(f"\nafter: {machine()}")
    print("\nTarget: the response pass at ≥ 80% of pure inference. Default workers: 0 on the CPU, half the cores"
          " (≤ 8) with a GPU.")


if __name__ == "__main__":
    main()
