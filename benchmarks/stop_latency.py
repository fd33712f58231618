"""How fast a Stop or a Ctrl-C ends activation maximization and LEAPS, on every model family at its real size.

    .venv/bin/python benchmarks/stop_latency.py [--models mvit_v2_s,swin3d_t] [--runs 3] [--device cpu]

Each model is built with random weights at its native input (torchvision's r3d_18, mc3_18 and r2plus1d_18 at
16×112², s3d, mvit_v2_s and swin3d_t at 16×224²). One AM job on the model's class-logit unit, and one LEAPS job
(its 3D DeepDream row: the model alone, no stimulus, no verifier), are stopped while the forward pass of their
first step runs, as a Stop button or a Ctrl-C does: the Event is set (or SIGINT sent) when that pass reaches
the middle of the network, ``--runs`` times each, the cases interleaved (AM's layer table and LEAPS'
memory probe are measured first). A first step is enough: a Stop in a later step meets the same loop.

The table prints one forward pass's seconds (no gradient) and, per case, the median over the runs (min–max) of
- **request → return**: from the Stop to the call's return; it holds the rest of the forward pass it landed in;
- **after the pass**: from the end of that forward pass to the return (the rest of the step's scoring included);
- **after the step**: from the loop's check that finds the Stop, once the step's input is scored and kept, to the
  return: what the call adds to the current step (a Ctrl-C is not seen by the Event: "nan").
The bar is the rest of the current step plus 1 s, so "after the step" must stay under 1 s. Before this change a
Stop also waited for the step's backward pass, two judging passes and one pass for the results.
"""

from __future__ import annotations

import _thread
import argparse
import statistics
import threading
import time

import torch

from timing import machine
from vidvis_widgets.methods import ActivationMaximization, AMJob, unit, InversionJob, ModelInversion
from vidvis_widgets.models import load_model

MODELS = ("r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v2_s", "swin3d_t")


class Clock:
    """The end time of every forward pass of a model (its top-level calls), and a trigger armed to fire once, when
    the next pass reaches the middle leaf module of the network (in definition order)."""

    def __init__(self, model):
        self.ends: list[float] = []
        self.armed = None
        leaves = [m for m in model.modules() if not list(m.children())]
        self.handles = [model.register_forward_hook(lambda *_: self.ends.append(time.perf_counter())),
                        leaves[len(leaves) // 2].register_forward_pre_hook(self._fire)]

    def _fire(self, *_):
        fn, self.armed = self.armed, None
        if fn is not None:
            fn()

    def close(self):
        for h in self.handles:
            h.remove()


class Seen(threading.Event):
    """An Event that notes when a check first finds it set: where the loop ends its step and stops."""

    seen: float | None = None

    def is_set(self) -> bool:
        value = super().is_set()
        if value and self.seen is None:
            self.seen = time.perf_counter()
        return value


def stopped_in_first_pass(run, clock: Clock, kind: str) -> tuple[float, float, float]:
    """(request → return, end of the pass → return, end of the step → return) in seconds, for a Stop (or a
    Ctrl-C) sent when the first forward pass of ``run(stop)`` reaches the middle of the network. The end of the
    step is the loop's first check that finds the Stop (NaN for a Ctrl-C, which the Event does not see)."""
    stop, sent = Seen(), []

    def press():
        sent.append(time.perf_counter())
        stop.set() if kind == "stop" else _thread.interrupt_main()

    clock.ends.clear()
    clock.armed = press
    result = run(stop)
    done = time.perf_counter()
    time.sleep(0.05)  # a Ctrl-C still pending would land here, outside the timed call
    if (result[0] if isinstance(result, list) else result).settings["steps"] != 1 or len(clock.ends) != 1:
        raise RuntimeError("the call did not stop in its first step, or ran another pass")
    return done - sent[0], done - clock.ends[0], done - stop.seen if stop.seen is not None else float("nan")


def measure(name: str, runs: int, device: str) -> dict:
    torch.manual_seed(0)
    model = load_model(f"torchvision:{name}", weights=None).to(device)
    shape = model.vidvis_adapter.native_shape
    am = ActivationMaximization(model, activation_max=None, device=device)
    inv = ModelInversion(model, None, size=shape, device=device)
    job, dream = AMJob(unit(model.vidvis_adapter.logit_layer, 0)), InversionJob(0, None, 0, "deepdream")
    x = torch.randn(1, 3, *shape, device=device)
    with torch.no_grad():
        t = time.perf_counter()
        model(x)
        forward = time.perf_counter() - t
    am.measure(am.resolve([job]))  # the layer table, once (a Stop during it would leave it unmeasured)
    inv.memory_needed([dream], 0, 50, 50)  # LEAPS' memory probe, once
    clock = Clock(model)
    cases = {"AM Stop": lambda stop: am(job, steps=50, every=1, stop=stop),
             "AM Ctrl-C": lambda stop: am(job, steps=50, every=1, stop=stop),
             "LEAPS Stop": lambda stop: inv(dream, steps=50, every=1, stop=stop)}
    kinds = {"AM Stop": "stop", "AM Ctrl-C": "interrupt", "LEAPS Stop": "stop"}
    times = {k: [] for k in cases}
    for r in range(runs):
        for k in list(cases)[r % len(cases):] + list(cases)[:r % len(cases)]:
            times[k].append(stopped_in_first_pass(cases[k], clock, kinds[k]))
    clock.close()
    return {"model": name, "input": "×".join(map(str, shape)), "forward": forward, "times": times}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    if args.runs < 3:
        raise SystemExit(f"--runs must be at least 3 for a median, got {args.runs}")
    print(machine())
    print(f"device {args.device}; seconds, median of {args.runs} runs (min–max)\n", flush=True)
    cases = ("AM Stop", "AM Ctrl-C", "LEAPS Stop")
    print("| model | input | forward s | " + " | ".join(f"{c}: request → return | after the pass | after the step"
                                                      for c in cases) + " |")
    print("|---|---|---|" + "---|---|---|" * len(cases), flush=True)
    cell = lambda v: f"{statistics.median(v):.2f} ({min(v):.2f}–{max(v):.2f})" if v == v and all(x == x for x in v) \
        else "nan"  # noqa: E731
    for m in args.models.split(","):  # each row as soon as it is measured
        r = measure(m, args.runs, args.device)
        cells = [" | ".join(cell(list(v)) for v in zip(*r["times"][c])) for c in cases]
        print(f"| {r['model']} | {r['input']} | {r['forward']:.2f} | " + " | ".join(cells) + " |", flush=True)
    print(machine())

if __name__ == "__main__":
    main()
