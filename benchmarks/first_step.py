"""Time from an AM call to its first step, beside one forward pass, on every architecture of the model matrix.

    .venv/bin/python benchmarks/first_step.py [--runs 3] [--threads N] [--cpu-clock] [--profile] [arch ...]

Each architecture is the matrix test's small random-weight build (``tests/test_model_matrix.py``: the torchvision,
PyTorchVideo and Hugging Face families at their smallest), plus ``slowfast_r50_small``: PyTorchVideo's SlowFast
with R50's widths and stems (``create_slowfast(model_depth=50)``) at 8 fast frames of 128², a "small SlowFast" a
user builds; a registry name (``torchvision:s3d``) runs that model at its native input with random weights. The AM
job is unit 0 of the model's default AM layer at default settings (``activation_max="auto"``, jitter on).

Columns (each the median of ``--runs`` interleaved runs in one process after one warm-up, see ``timing.py``):

- ``forward``: one no-grad forward pass of the model on one clip at its native input;
- ``1st call``: the first AM call on the model in this process, to its first step's callback (``every=1``), once;
- ``cold``: a new ``ActivationMaximization`` on cleared layer caches, call → first step callback (what a first
  call pays for the model's setup, repeatable);
- ``warm``: a new ``ActivationMaximization`` with the caches kept (a second AM object on the same model);
- ``passes``: the model's forward calls from the call to the first step's callback, the step's own included.

``--cpu-clock`` times with this thread's CPU time instead of the wall clock: with ``--threads 1`` every forward
and backward pass runs on this thread, so the times hold steady on a machine that others load. ``--profile``
prints, per architecture, where a cold call's time goes (cProfile, the package's functions only).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import sys
import threading
import time
from pathlib import Path

import torch

sys.path.append(str(Path(__file__).resolve().parents[1]))  # the tests' builders; PYTHONPATH may name other code
sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import interleaved, machine  # noqa: E402

from vidvis_widgets.methods.activation_maximization.am import ActivationMaximization, AMJob, unit  # noqa: E402
from vidvis_widgets.models import load_model  # noqa: E402
from vidvis_widgets.models.layers import clear_layer_caches  # noqa: E402

ARCHS = ["r3d", "mc3", "r2plus1d", "s3d", "mvit", "swin", "x3d", "slowfast", "videomae", "timesformer", "vivit",
         "xclip", "slowfast_r50_small"]


def slowfast_r50_small() -> torch.nn.Module:
    """PyTorchVideo's SlowFast R50 (its stems and widths) at 2 slow + 8 fast frames of 128², random weights."""
    from pytorchvideo.models.slowfast import create_slowfast

    from tests.test_model_matrix import CLASSES

    torch.manual_seed(0)
    model = create_slowfast(model_depth=50, model_num_class=len(CLASSES), head_activation=None,
                            head_pool_kernel_sizes=((2, 4, 4), (8, 4, 4))).eval()
    return load_model(model, class_names=CLASSES)


def build(arch: str) -> torch.nn.Module:
    if arch == "slowfast_r50_small":
        return slowfast_r50_small()
    if ":" in arch:  # a registry model at its native input, random weights (e.g. torchvision:s3d at 16×224²)
        return load_model(arch, weights=None)
    from tests.test_model_matrix import _build

    return _build(arch)


CLOCK = time.perf_counter


def first_step(model, job: AMJob, cold: bool) -> tuple[float, int]:
    """(seconds from a new AM object's call to its first step's callback, the model's forward calls by then)."""
    if cold:
        clear_layer_caches()
    calls, seen, stop = [0], [], threading.Event()
    handle = model.register_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    try:
        am = ActivationMaximization(model)

        def callback(_snapshot):
            seen.append((CLOCK(), calls[0]))
            stop.set()  # the run ends before its second step

        t = CLOCK()
        am(job, steps=2, every=1, callback=callback, stop=stop)
    finally:
        handle.remove()
    return seen[0][0] - t, seen[0][1]


def profile(model, job: AMJob, lines: int = 25) -> str:
    prof = cProfile.Profile()
    clear_layer_caches()
    prof.enable()
    first_step(model, job, cold=True)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats("vidvis_widgets", lines)
    return out.getvalue()


def run(arch: str, runs: int, show_profile: bool) -> tuple:
    model = build(arch)
    adapter = model.vidvis_adapter
    job = AMJob(unit(adapter.am_layer, 0))
    first, _ = first_step(model, job, cold=True)  # the first AM call on this model in the process
    streams = ActivationMaximization(model).streams
    x = {s.name: torch.randn(1, *s.shape) for s in streams.specs}

    fwd, cold, warm, passes = [], [], [], []

    def forward():  # on AM's own input (a fresh pathway list each call: SlowFast's blocks overwrite it)
        t = CLOCK()
        with torch.no_grad():
            model(*streams.model_inputs(x))
        fwd.append(CLOCK() - t)

    def timed(into: list, is_cold: bool):
        seconds, calls = first_step(model, job, is_cold)
        into.append(seconds)
        passes.append(calls)

    med = interleaved({"forward": forward, "cold": lambda: timed(cold, True), "warm": lambda: timed(warm, False)},
                      runs=runs, warmup=1)
    # the interleaved medians time the whole calls; the columns are each call's time to its first step
    if show_profile:
        print(f"\n--- {arch}: a cold call, cumulative ---\n{profile(model, job)}", flush=True)
    del med  # each case's own clock (below) leaves out the calls' ends after the first step
    return (arch, adapter.am_layer, statistics.median(fwd[1:]), first, statistics.median(cold[1:]),
            statistics.median(warm[1:]), max(passes))


def main(archs, runs: int, show_profile: bool) -> None:
    import vidvis_widgets

    clock = "this thread's CPU time" if CLOCK is time.thread_time else "wall clock"
    print(f"machine: {machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}; {clock}, "
          f"median of {runs} interleaved runs; code: {Path(vidvis_widgets.__file__).parent}")
    print("| model | AM layer | forward | 1st call | ×fwd | cold | ×fwd | warm | ×fwd | passes |")
    print("|---|---|---|---|---:|---|---:|---|---:|---:|")
    for arch in archs:
        a, layer, fwd, first, cold, warm, passes = run(arch, runs, show_profile)
        print(f"| {a} | {layer} | {fwd * 1e3:.0f} ms | {first * 1e3:.0f} ms | {first / fwd:.1f} | "
              f"{cold * 1e3:.0f} ms | {cold / fwd:.1f} | {warm * 1e3:.0f} ms | {warm / fwd:.1f} | {passes} |",
              flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    runs, show = 3, False
    while args and args[0].startswith("--"):
        if args[0] == "--runs":
            runs, args = int(args[1]), args[2:]
        elif args[0] == "--threads":
            torch.set_num_threads(int(args[1]))
            args = args[2:]
        elif args[0] == "--cpu-clock":  # this thread's CPU time: steady on a shared machine, with --threads 1
            CLOCK, args = time.thread_time, args[1:]
        elif args[0] == "--profile":
            show, args = True, args[1:]
        else:
            raise SystemExit(f"unknown option {args[0]}; expected --runs N, --threads N, --cpu-clock or --profile")
    unknown = [a for a in args if a not in ARCHS and ":" not in a]
    if unknown:
        raise SystemExit(f"unknown architecture {unknown[0]!r}; expected some of {', '.join(ARCHS)}")
    main(args or ARCHS, runs, show)
