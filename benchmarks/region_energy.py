"""Region measures: how long region energy, region masks and moving parts take at the sizes a notebook uses.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/region_energy.py [--runs 5] [--clips 64]

Cases (each warm, interleaved, median of ``--runs`` in one process, benchmarks/timing.py):
- ``region_energy`` of a 16-job AM result of the embedded two-stream model (4 targets × 4 γ; the inputs come from
  a 1-step run: the measure's cost does not depend on the steps) over 16 grid cells, 2 halves and 3 part masks
  given per clip (``--clips`` clips: each weighs in as its average over the clips);
- the same on tubes of ``--clips`` validation clips (the tubes are computed once, outside the timing);
- ``Region.masks`` of the 3 part masks at the clips' size, and ``moving_parts`` of the clips' exact flow.
The AM run's own time (1 step, and one of 300 steps as the notebook runs it) is printed for scale.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from timing import interleaved, machine, spread
from vidvis_widgets.data.synthetic import SyntheticActions
from vidvis_widgets.methods import ActivationMaximization, AMJob, SaliencyTubes, logit
from vidvis_widgets.methods.core.region_energy import region_energy
from vidvis_widgets.methods.core.regions import box, grid_cells, mask, moving_parts
from vidvis_widgets.models import load_model


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--clips", type=int, default=64)
    args = p.parse_args()
    torch.set_num_threads(1)
    model = load_model("tiny_two_stream")
    data = SyntheticActions("val", samples_per_class=4)
    clips = data.arrays(np.arange(min(args.clips, len(data))))
    names = data.region_names
    parts = [mask(clips["region_masks"][:, i], name) for i, name in enumerate(names)]
    regions = grid_cells(4, 4) + [box(0, 0, 1, 0.5, "upper"), box(0, 0.5, 1, 1, "lower")] + parts
    jobs = [AMJob(logit(c), 1.0, g, 0) for c in range(4) for g in (10.0, 5.0, 1.0, 0.0)]
    am = ActivationMaximization(model)
    t0 = time.perf_counter()
    res = am(jobs, steps=1, progress=False)
    one_step = time.perf_counter() - t0
    tubes = SaliencyTubes(model)(None, {"rgb": clips["rgb"], "flow": clips["flow"]})
    n, t, h, w = clips["mask"].shape
    cases = {
        "region_energy: 16 AM jobs × 21 regions": lambda: region_energy(res, regions),
        f"region_energy: tubes of {n} clips × 21 regions": lambda: region_energy(tubes, regions),
        f"Region.masks: 3 part masks of {n} clips": lambda: [r.masks(n, t, h, w) for r in parts],
        f"moving_parts: exact flow of {n} clips": lambda: moving_parts(clips["flow"]),
    }
    samples: dict[str, list[float]] = {}
    med = interleaved(cases, runs=args.runs, warmup=1, samples=samples)
    print(f"# region measures, {machine()}; {n} clips of {t}×{h}×{w}")
    print(f"{'case':<48} {'median (ms)':>12} {'spread':>16}")
    for name, m in med.items():
        print(f"{name:<48} {1000 * m:>12.1f} {spread(samples[name]):>16}")
    print(f"(for scale: the AM call of 16 jobs, 1 step: {one_step:.2f} s; the notebook's 300 steps cost ~300× the step)")


if __name__ == "__main__":
    main()
