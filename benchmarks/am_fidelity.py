"""Does the input that activation maximization returns drive its unit? For every architecture of the model matrix
(tests/test_model_matrix.py's small random-weight builds), AM at default settings on the adapter's default layer,
and per jitter mechanism the ratio of each unit's value on its returned input (un-jittered, a final pass) to the
best value in its history (the jittered passes the monitor shows): the worst unit and the mean.

    python benchmarks/am_fidelity.py [--steps 40] [--units 2] [--archs r3d,videomae,...] [--mechanisms ...]

Mechanisms: "before" (the range up to the layer's stride in pixels, throughout, as before issue 42), "patches"
(whole patches on a token model), "settle" (the range shrinks linearly to nothing over the first 75% of the run),
"patches+settle" (the default) and "off" (jitter=False, the reference). On a model without a token grid "patches"
is "before" and "patches+settle" is "settle"; those rows are skipped.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from vidvis_widgets.methods import ActivationMaximization, AMJob, unit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_model_matrix import ARCHS, _build  # noqa: E402 — the tests' small builds

MECHANISMS = {"before": dict(jitter_settle=None, jitter_in_patches=False),
              "patches": dict(jitter_settle=None, jitter_in_patches=True),
              "settle": dict(jitter_settle=0.75, jitter_in_patches=False),
              "patches+settle": dict(jitter_settle=0.75, jitter_in_patches=True),
              "off": dict(jitter=False)}


def ratios(model, mechanism: str, steps: int, units: int) -> np.ndarray:
    """Each unit's returned value over its history's best, AM at default settings but for the mechanism's jitter."""
    settings = dict(MECHANISMS[mechanism])
    am = ActivationMaximization(model, jitter=settings.pop("jitter", True))
    for k, v in settings.items():
        setattr(am, k, v)
    layer = model.vidvis_adapter.am_layer
    results = am([AMJob(unit(layer, c)) for c in range(units)], steps=steps, progress=False)
    return np.array([r.normalized_activation / r.activation.max() for r in results])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--units", type=int, default=2)
    p.add_argument("--archs", default=",".join(ARCHS))
    p.add_argument("--mechanisms", default=",".join(MECHANISMS))
    a = p.parse_args()
    print(f"AM at default settings, {a.steps} steps, units 0…{a.units - 1} of each default layer; returned / "
          f"history's best: worst unit (mean)")
    print(f"{'arch':12s} {'layer':36s} " + " ".join(f"{m:>15s}" for m in a.mechanisms.split(",")))
    for arch in a.archs.split(","):
        model = _build(arch)
        patched = model.vidvis_adapter.token_grid is not None
        cells = []
        for m in a.mechanisms.split(","):
            if not patched and m in ("patches", "patches+settle"):
                cells.append(f"{'= ' + m.split('+')[-1].replace('patches', 'before'):>15s}")
                continue
            t0 = time.perf_counter()
            r = ratios(model, m, a.steps, a.units)
            cells.append(f"{r.min():6.2f} ({r.mean():5.2f})")
            print(f"  {arch} {m}: {np.round(r, 3)} {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        print(f"{arch:12s} {model.vidvis_adapter.am_layer:36s} " + " ".join(f"{c:>15s}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
