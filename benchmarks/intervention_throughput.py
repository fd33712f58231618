"""Intervention throughput: edited clips (clips × variants) per second, against the model's plain forward passes.

    .venv/bin/python benchmarks/intervention_throughput.py [--device cuda] [--clips 8] [--batch 32 128] [--repeats 3]

For one face pair's clips of the test split, ``grid_cells(4, 4)`` × (freeze, occlude, blur) = 48 variants per clip,
each batch size runs, warm and interleaved (``benchmarks/timing.py``), medians of ``--repeats``:

- interventions: ``Interventions(model, batch_size=b)(inputs=arrays, regions=..., edits=..., exemplars=0)`` — the
  clips read, every variant's frames and composed flow made on the device, the originals and the variants through
  the adapter in batches of b;
- forward only: ``predict`` (evaluation's pass through ``adapter.prepare``) on as many ready clips as the call runs
  (clips × (variants + 1)), the same batch size: what the model alone costs.

Prints variants per second (clips × variants / s) and the share the edits add on top of the forward passes.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from timing import interleaved, machine
from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.data.bias import plan_bias
from vidvis_widgets.methods.core.regions import grid_cells
from vidvis_widgets.methods.interventions import Interventions, blur
from vidvis_widgets.models import load_model
from vidvis_widgets.models.evaluation import predict


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--model", default="tiny_two_stream")
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--batch", type=int, nargs="+", default=[32, 128])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    model = load_model(args.model).to(args.device)
    ds = SyntheticActions("test")
    pair = [ds.classes.index(c) for c in plan_bias(None).pair]
    idx = np.flatnonzero(np.isin(ds.labels, pair))
    arrays = ds.arrays(idx[np.linspace(0, len(idx) - 1, args.clips).astype(int)])
    regions, edits = grid_cells(4, 4), ["freeze", "occlude", blur(2)]
    variants = len(regions) * len(edits)
    passes = args.clips * (variants + 1)
    ready = {k: np.repeat(arrays[k], variants + 1, 0) for k in ("rgb", "flow", "label")}
    print(machine())
    print(f"{args.model} on {args.device}: {args.clips} clips × {variants} variants ({passes} forward passes per call)")
    print(f"{'batch':>6} | {'interventions s':>15} | {'forward only s':>14} | {'variants/s':>10} | {'edits add':>9}")
    for b in args.batch:
        iv = Interventions(model, batch_size=b)
        med = interleaved({"iv": lambda: iv(inputs=arrays, regions=regions, edits=edits, exemplars=0, progress=False),
                           "fwd": lambda: predict(model, ready, batch_size=b)}, runs=args.repeats, warmup=1)
        rate = args.clips * variants / med["iv"]
        print(f"{b:>6} | {med['iv']:>15.2f} | {med['fwd']:>14.2f} | {rate:>10.1f} | "
              f"{100 * (med['iv'] / med['fwd'] - 1):>8.0f}%")


if __name__ == "__main__":
    main()
