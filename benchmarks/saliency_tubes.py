"""What a saliency tube costs on top of one forward pass.

    .venv/bin/python benchmarks/saliency_tubes.py [--device cuda] [--repeats 3]

For each model and batch size, in one run and alternating so that machine noise hits every column alike:

- forward: the model on the uint8 clips as a user runs it: the batch converted to normalized floats, then
  the forward pass (no grad);
- model only: the forward pass alone on one input tensor already prepared and reused every repeat, the
  best case a forward pass can have (on the CPU a fresh input pays its allocation and first touch, 20–30 ms
  at batch 32 here; the tube call reuses its input buffer across batches and calls for that reason);
- CAM call: ``SaliencyTubes(model, method="cam")(inputs=clips)`` plus ``.tubes()`` — input preparation, the hooked
  forward pass, the head check, eqs. 1–2, cubic upsampling to the clip and clip-wide normalization;
- grad call: the same with the gradient-weighted form (a backward pass from the class score to the layer);
- recompute: ``.tubes()`` for another class on the kept activations (what the view's controls cost).

All five are warmed up once, then run interleaved (``benchmarks/timing.py``), ``--repeats`` times each.

Target: at batch 32 the CAM tube adds at most 50% to the forward pass. Both ratios are printed: against the
forward pass (+CAM %) and against the model alone on a reused input (+CAM % m.o.). Times are medians of
``--repeats``.
"""

from __future__ import annotations

import argparse

import torch

from timing import interleaved, machine
from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.methods import SaliencyTubes
from vidvis_widgets.models import load_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    ap.add_argument("--models", nargs="+", default=["tiny_r3d", "torchvision:r3d_18"],
                    help="tiny_r3d (clips 16×64²) and/or torchvision:r3d_18 (16×112², random weights)")
    args = ap.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    sizes = {"tiny_r3d": 64, "torchvision:r3d_18": 112}
    models = [(n, sizes[n], load_model(n) if n == "tiny_r3d" else load_model(n, weights=None)) for n in args.models]
    print(f"device {device} · threads {torch.get_num_threads()} · {machine()} · median of {args.repeats} interleaved runs")
    head = f"{'model':<20} {'clips':>10} {'batch':>5} {'forward s':>10} {'model only s':>13} {'CAM call s':>11} " \
           f"{'+CAM %':>7} {'+CAM % m.o.':>12} {'grad call s':>12} {'+grad %':>8} {'recompute s':>12}"
    print(head)
    print("-" * len(head))
    for name, size, model in models:
        model = model.to(device)
        for batch in args.batches:
            clips = SyntheticActions("test", size=size).arrays(range(batch))
            cam, grad = SaliencyTubes(model, method="cam", batch_size=batch), SaliencyTubes(model, method="grad",
                                                                                             batch_size=batch)
            frames = torch.as_tensor(clips["rgb"])
            inputs = tuple(x.clone() for x in cam._model_inputs(frames, None))  # its own copy, not the buffer
            a = model.vidvis_adapter
            mean, std = (torch.tensor(v, device=device).view(1, 3, 1, 1, 1) for v in (a.mean, a.std))
            kept = cam(inputs=clips)

            def forward():  # as a user runs the model: a fresh float tensor from the uint8 clips each time
                with torch.no_grad():
                    x = frames.to(device).permute(0, 4, 1, 2, 3).float().div(255)
                    model((x - mean) / std)

            def model_only():
                with torch.no_grad():
                    model(*inputs)

            med = interleaved({"forward": forward, "model only": model_only, "cam": lambda: cam(inputs=clips).tubes(),
                               "grad": lambda: grad(inputs=clips, top_k=1).tubes(),
                               "recompute": lambda: kept.tubes(target=3)}, runs=args.repeats, warmup=1)
            f, o, cm, gm, rm = (med[k] for k in ("forward", "model only", "cam", "grad", "recompute"))
            print(f"{name:<20} {f'16×{size}²':>10} {batch:>5} {f:>10.4f} {o:>13.4f} {cm:>11.4f} "
                  f"{100 * (cm / f - 1):>6.0f}% {100 * (cm / o - 1):>11.0f}% {gm:>12.4f} {100 * (gm / f - 1):>7.0f}% "
                  f"{rm:>12.4f}")


if __name__ == "__main__":
    main()
