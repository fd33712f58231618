"""How long a course retrain takes on this machine's CPU, and whether the retrained model took its world's shortcut.

    .venv/bin/python benchmarks/retrain_seed.py [--seeds 2,6] [--settings 100x6,200x10] [--threads 2] [--decorrelate]

For each bias seed and setting (clips per class × epochs) it trains ``course_model`` from scratch into a fresh
temporary cache (data generation included, as a student's first call does), then measures on the world's test
split (30 clips per class) and counterfactual split (40 per class): test top-1 over all classes, top-1 on the
biased pair's test clips, and top-1 on the counterfactual clips. A model that took the shortcut scores far lower
on the counterfactual clips than on the pair's test clips. ``--decorrelate`` adds a row per seed trained at
strength 0.5 (the course's closing step), where the gap should close. The load average is printed, since the
2-core machine is shared and the wall times move with it; "CPU s" is the process's CPU time (all its threads).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch

from vidvis_widgets.course import course_model, shortcut_check
from vidvis_widgets.data.bias import plan_bias


def measure(model, bias_seed: int) -> tuple[float, float, float]:
    r = shortcut_check(model, bias_seed)
    return r["test"], r["pair_test"], r["counterfactual"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="2,6")
    ap.add_argument("--settings", default="100x6")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--name", default="tiny_two_stream")
    ap.add_argument("--decorrelate", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"course_model retrain, {args.name}, {args.threads} torch threads, {os.cpu_count()} CPU cores, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    head = (f"{'seed':>4} | {'pair':>31} | {'cue':>17} | {'strength':>8} | {'clips×epochs':>12} | {'retrain s':>9} | {'CPU s':>6} | "
            f"{'test':>5} | {'pair test':>9} | {'counterfactual':>14}")
    print(head)
    print("-" * len(head))
    for seed in (int(s) for s in args.seeds.split(",")):
        plan = plan_bias(seed)
        for setting in args.settings.split(","):
            n, e = (int(v) for v in setting.split("x"))
            for decorrelate in (False, True) if args.decorrelate else (False,):
                with tempfile.TemporaryDirectory() as cache:
                    t0, c0 = time.perf_counter(), time.process_time()
                    model = course_model(seed, args.name, samples_per_class=n, epochs=e, decorrelate=decorrelate,
                                         cache=cache, progress=False)
                    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
                acc, pair_acc, cf_acc = measure(model, seed)
                print(f"{seed:>4} | {' / '.join(plan.pair):>31} | {plan.kind:>17} | "
                      f"{0.5 if decorrelate else plan.strength:>8g} | {setting:>12} | {seconds:>9.1f} | {cpu:>6.1f} | {acc:>5.1%} | "
                      f"{pair_acc:>9.1%} | {cf_acc:>14.1%}", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
