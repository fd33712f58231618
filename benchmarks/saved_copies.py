"""What keeping a displayed widget's saved copy current costs: one rebuild of each kind of output, and an
optimization monitor's run with its output followed (rebuilt at most once per ``REBUILD_EVERY`` s off the
optimizing thread, and once at the end) against the same run never displayed.

Both sides warm, interleaved (the order alternating), median of ``--runs`` (≥ 3) runs in one process. The kernel
is replaced by a sink that only counts what would be sent, so the cost measured is the rebuilds' (building the
bundles competes with the optimization for the interpreter), not the network's.

    python benchmarks/saved_copies.py [--steps 30] [--every 2] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import IPython.display
import numpy as np

import vidvis_widgets as vv
from vidvis_widgets.methods import ActivationMaximization, AMJob, unit
from vidvis_widgets.models import load_model
from vidvis_widgets.widgets import outputs

sent: list[int] = []


def sink(data, raw=True, metadata=None, display_id=None):
    sent.append(sum(len(v) if isinstance(v, (str, bytes)) else 0 for v in data.values()))


IPython.display.display = sink
IPython.display.update_display = sink


def seconds(f, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--every", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.runs < 3:
        parser.error("--runs must be at least 3")
    am = ActivationMaximization(load_model("tiny_two_stream"), steps=args.steps,
                                activation_max={"fc8": np.ones(14)})
    jobs = [AMJob(unit("fc8", 0)), AMJob(unit("fc8", 1))]

    rng = np.random.default_rng(0)
    player = vv.ClipPlayer([rng.integers(0, 255, (16, 64, 64, 3), np.uint8) for _ in range(16)], cols=4)
    monitor = vv.OptimizationMonitor(am, jobs, every=args.every)
    monitor.run()  # warm, and inputs to show
    print(f"one rebuild (whole output: live view and static copies), median of 3, REBUILD_EVERY = "
          f"{outputs.REBUILD_EVERY} s")
    print("| output | seconds | bytes |")
    print("| --- | ---: | ---: |")
    for name, widget in (("ClipPlayer 16 clips × 16 frames × 64²", player), ("OptimizationMonitor, 2 jobs", monitor)):
        s = seconds(widget._repr_mimebundle_)
        sent.clear()
        widget._ipython_display_()
        print(f"| {name} | {s:.3f} | {sent[-1]:,} |")

    def run(displayed: bool) -> tuple[float, int]:
        m = vv.OptimizationMonitor(am, jobs, every=args.every)
        if displayed:
            m._ipython_display_()
        start = time.perf_counter()
        m.run()
        took = time.perf_counter() - start
        followed = outputs.outputs_of(m)
        return took, (followed.rebuilds if followed else 0)

    run(False), run(True)  # warm both sides
    times: dict[bool, list[float]] = {False: [], True: []}
    rebuilds = []
    for r in range(args.runs):
        for displayed in ((False, True) if r % 2 == 0 else (True, False)):
            took, n = run(displayed)
            times[displayed].append(took)
            if displayed:
                rebuilds.append(n)
    plain, followed = statistics.median(times[False]), statistics.median(times[True])
    print(f"\nmonitor run, tiny_two_stream, {len(jobs)} jobs × {args.steps} steps, every={args.every}; "
          f"median of {args.runs}, interleaved")
    print("| run | seconds | rebuilds | runs (s) |")
    print("| --- | ---: | ---: | --- |")
    print(f"| never displayed | {plain:.2f} | 0 | {', '.join(f'{t:.2f}' for t in times[False])} |")
    print(f"| displayed, saved copy followed | {followed:.2f} | {statistics.median(rebuilds):g} | "
          f"{', '.join(f'{t:.2f}' for t in times[True])} |")
    print(f"ratio followed / never displayed: {followed / plain:.3f}")


if __name__ == "__main__":
    main()
