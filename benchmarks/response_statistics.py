"""Response-statistics throughput against pure model inference on the same batches.

    .venv/bin/python benchmarks/response_statistics.py

"Pure inference" runs the model alone over batches that are already in memory. The response pass
draws the same clips with loader workers, hooks the layers and keeps the running maxima. Target: the
pass reaches at least 80% of pure inference's clips/s. Both are measured in one run, alternating, so
that machine noise hits both alike.
"""

from __future__ import annotations

import os
import time

import torch

from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.methods import response_statistics
from vidvis_widgets.models import load_model

LAYERS = ("conv5_fusion", "fc6", "fc7", "fc8")


def pure_inference(model, batches) -> float:
    info = model.vidvis_adapter
    device = next(model.parameters()).device
    t0 = time.perf_counter()
    with torch.no_grad():
        for b in batches:
            model(*info.prepare(b, device))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return sum(len(b["label"]) for b in batches) / (time.perf_counter() - t0)


def response_pass(model, ds, batch_size: int, workers: int) -> float:  # clips drawn while it runs
    t0 = time.perf_counter()
    response_statistics(model, ds, LAYERS, batch_size=batch_size, num_workers=workers)
    return len(ds) / (time.perf_counter() - t0)


def main() -> None:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = load_model("tiny_two_stream").to(device)
    ds = SyntheticActions("test")  # 420 clips
    bs = 32
    batches = [ds.arrays(range(i, min(i + bs, len(ds)))) for i in range(0, len(ds), bs)]
    pure_inference(model, batches[:2])
    rows = []
    for workers in (0, 1, 2):
        best_pure = best_pass = 0.0
        for _ in range(2):
            best_pure = max(best_pure, pure_inference(model, batches))
            best_pass = max(best_pass, response_pass(model, ds, bs, workers))
        rows.append((str(workers), best_pure, best_pass))
    # the same clips already in memory: what the hooks and running maxima cost on top of the model
    arrays = ds.arrays()
    best_pure = best_pass = 0.0
    for _ in range(2):
        best_pure = max(best_pure, pure_inference(model, batches))
        t0 = time.perf_counter()
        response_statistics(model, arrays, LAYERS, batch_size=bs)
        best_pass = max(best_pass, len(ds) / (time.perf_counter() - t0))
    rows.append(("in memory", best_pure, best_pass))
    print(f"tiny_two_stream on {device} ({os.cpu_count()} CPU cores), {len(ds)} test clips, batch {bs}, "
          f"layers {', '.join(LAYERS)}")
    print(f"{'loader workers':>14} | {'pure inference clips/s':>22} | {'response pass clips/s':>21} | {'ratio':>6}")
    print("-" * 74)
    for w, p, r in rows:
        print(f"{w:>14} | {p:>22.0f} | {r:>21.0f} | {r / p:>6.0%}")
    print("\nTarget: the response pass at ≥ 80% of pure inference. Default workers: 0 on the CPU, half the cores"
          " (≤ 8) with a GPU.")


if __name__ == "__main__":
    main()
