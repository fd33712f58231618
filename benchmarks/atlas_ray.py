"""Atlas batches in process against Ray tasks on the same machine, and what a GPU cluster would give.

    .venv/bin/python benchmarks/atlas_ray.py [--steps 10] [--batch 8] [--batches 6] [--runs 3]

CPU part: the atlas's AM jobs (units of conv5_fusion and fc6 of the embedded two-stream net, each under the
4-setting "anisotropic" sweep) at a fixed step count, in the same batches, run through the atlas's own
``pieces.run_batch`` by three executors: the local executor on one torch thread, the local executor on every core,
and a local Ray instance with one worker per core (one thread per task). All are warm (one untimed run each, Ray
started and its workers up) and interleaved, median of ``--runs`` in this process (benchmarks/timing.py). The table
prints jobs per second and seconds per batch; from the one-thread per-batch time and Ray's measured overhead per
task it projects a Ray cluster of N such workers.

GPU part (only where torch.cuda.is_available(); else it prints "not run: no GPU"): torchvision r3d_18 at 16×112²
(random weights, weights=None), AM of layer4 units, measured in process on the GPU and as a Ray task holding the GPU;
from the measured per-batch time it projects N GPUs and the time for all of layer4 (512 units × the preset) plus the
400 classes' logit AM at the default steps. Projections are arithmetic on measured per-batch times, not
measurements, and say so.
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import statistics
import sys
from pathlib import Path

import torch

from timing import interleaved, machine, spread
from vidvis_widgets.atlas import pieces
from vidvis_widgets.atlas.executors import LocalExecutor, RayExecutor
from vidvis_widgets.methods.activation_maximization import ActivationMaximization
from vidvis_widgets.methods.activation_maximization.results import PRESETS
from vidvis_widgets.models import load_model

ROOT = Path(__file__).resolve().parent.parent
#: the AM default steps (what build_atlas runs with steps=None), for the projected full-layer times
DEFAULT_STEPS = inspect.signature(ActivationMaximization).parameters["steps"].default
CLUSTER_SIZES = (1, 4, 8, 16, 64)


def specs(layers: dict[str, int], n: int, preset: str = "anisotropic") -> list[tuple]:
    """n AM job specs: units of the layers in turn (channel i // len(layers)), each under the preset's settings."""
    out = []
    names = list(layers)
    i = 0
    while len(out) < n:
        layer = names[i % len(names)]
        channel = (i // len(names)) % layers[layer]
        out += [("unit", layer, channel, k, g, 0) for k, g in PRESETS[preset]]
        i += 1
    return out[:n]


def chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def echo(shared, batch):
    """A task that computes nothing and returns a real batch's result (``shared``): Ray's own cost per task."""
    return shared


def run_all(executor, shared, batches, task=pieces.run_batch) -> int:
    n = 0
    for _, result in executor.run(task, shared, batches):
        n += len(result["entries"])
    return n


def row(name: str, seconds: list[float], jobs: int, batches: int) -> str:
    med = statistics.median(seconds)
    return f"| {name:<50} | {med:8.2f} | {spread(seconds):>10} | {jobs / med:7.2f} | {med / batches:8.3f} |"


def header() -> str:
    return (f"| {'executor':<50} | median s |     spread |  jobs/s | s/batch* |\n"
            f"|{'-' * 52}|---------:|-----------:|--------:|---------:|")


def projection(label: str, per_batch: float, overhead: float, batch: int, jobs_total: int | None = None,
               steps_ratio: float = 1.0) -> None:
    """N workers, each running batches of ``batch`` jobs in ``per_batch`` s plus Ray's ``overhead`` per task."""
    per_task = (per_batch + overhead) * steps_ratio
    print(f"\nPROJECTION (not measured): {label}: per task {per_batch:.3f} s measured + {overhead:.3f} s Ray overhead"
          + (f", × {steps_ratio:g} for the default {DEFAULT_STEPS} steps" if steps_ratio != 1 else ""))
    print("| workers | jobs/s (projected) |" + (" time for the whole set (projected) |" if jobs_total else ""))
    print("|--------:|-------------------:|" + ("-----------------------------------:|" if jobs_total else ""))
    for n in CLUSTER_SIZES:
        rate = n * batch / per_task
        line = f"| {n:7d} | {rate:18.3g} |"
        if jobs_total:
            waves = math.ceil(math.ceil(jobs_total / batch) / n)
            line += f" {waves * per_task / 60:31.1f} min |"
        print(line)


def cpu_part(args) -> None:
    cores = os.cpu_count() or 1
    model = load_model("tiny_two_stream")
    jobs = specs({"conv5_fusion": 64, "fc6": 64}, args.batch * args.batches)
    batches = chunks(jobs, args.batch)
    settings = {"activation_max": None}
    one = pieces.shared_settings(model, settings, args.steps, token="bench", threads=1)
    many = pieces.shared_settings(model, settings, args.steps, token="bench", threads=cores)
    saved = torch.get_num_threads()
    # the workers import this package and benchmarks/ (nothing else: no network)
    ray_ex = RayExecutor(num_cpus=cores, threads_per_task=1, gpus_per_task=0,
                         runtime_env={"env_vars": {"PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'benchmarks'}",
                                                   "VIDVIS_PROGRESS": "0"}})
    payload = pieces.run_batch(one, batches[0])  # one batch's result, as a task returns it
    echo_case = f"Ray, {cores} workers, tasks that only return a result"
    cases = {
        "local, 1 thread": lambda: run_all(LocalExecutor(), one, batches),
        f"Ray, {cores} workers × 1 thread": lambda: run_all(ray_ex, one, batches),
        echo_case: lambda: run_all(ray_ex, payload, batches, echo),
    }
    if not args.no_threads_row:
        cases[f"local, {cores} threads"] = lambda: run_all(LocalExecutor(), many, batches)
    samples: dict[str, list[float]] = {}
    try:
        interleaved(cases, runs=args.runs, warmup=1, samples=samples)
        slots = ray_ex.slots()
    finally:
        ray_ex.close()
        torch.set_num_threads(saved)
    print(f"\nCPU: embedded tiny_two_stream, {len(jobs)} AM jobs (conv5_fusion and fc6 units × the anisotropic sweep), "
          f"{args.steps} steps, {len(batches)} batches of {args.batch}; warm, interleaved, median of {args.runs}")
    print(header())
    for name in cases:
        print(row(name, samples[name], len(jobs), len(batches)))
    print("\n* s/batch: the median run's seconds / batches (wall clock; with several workers, batches overlap)")
    t1 = statistics.median(samples["local, 1 thread"]) / len(batches)
    t_ray = statistics.median(samples[f"Ray, {cores} workers × 1 thread"])
    # Ray's own cost per task: a worker slot's share of the run of tasks that compute nothing and return a batch's
    # result (scheduling, the result's serialization and transfer)
    overhead = statistics.median(samples[echo_case]) * slots / len(batches)
    print(f"Ray on {slots} workers: {statistics.median(samples['local, 1 thread']) / t_ray:.2f}× the one-thread "
          f"local rate ({slots} workers ideal: {slots}×; on a shared machine the workers also compete with others' "
          f"jobs for the cores). Ray's own cost per task (the tasks that only return a result): {overhead:.3f} s")
    projection(f"a Ray cluster of N CPU workers like one core here, batches of {args.batch}", t1, overhead,
               args.batch)


def gpu_part(args) -> None:
    if not torch.cuda.is_available():
        print("\nGPU: torchvision r3d_18 16×112² layer4 unit AM: not run: no GPU")
        return
    name = torch.cuda.get_device_name()
    model = load_model("torchvision:r3d_18", weights=None).to("cuda")  # run_batch keeps a model where it is
    jobs = specs({"layer4": 512}, args.gpu_batch * 3)
    batches = chunks(jobs, args.gpu_batch)
    settings = {"activation_max": None, "bf16": args.bf16}
    shared = pieces.shared_settings(model, settings, args.steps, token="bench-gpu")
    ray_ex = RayExecutor(num_cpus=4, threads_per_task=1,
                         runtime_env={"env_vars": {"PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'benchmarks'}",
                                                   "VIDVIS_PROGRESS": "0"}})
    # the Ray task holds a GPU (num_gpus=1): run_batch moves the model there (executors.task_device)
    ray_shared = pieces.shared_settings(load_model("torchvision:r3d_18", weights=None), settings, args.steps,
                                        token="bench-gpu")
    cases = {"local, GPU": lambda: run_all(LocalExecutor(), shared, batches),
             "Ray, 1 GPU task at a time": lambda: run_all(ray_ex, ray_shared, batches)}
    samples: dict[str, list[float]] = {}
    try:
        interleaved(cases, runs=args.runs, warmup=1, samples=samples)
    finally:
        ray_ex.close()
    tag = "bf16 autocast" if args.bf16 else "fp32"
    print(f"\nGPU ({name}): torchvision r3d_18 16×112² (random weights), {tag}, {len(jobs)} layer4 unit AM jobs, "
          f"{args.steps} steps, {len(batches)} batches of {args.gpu_batch}; warm, interleaved, median of {args.runs}")
    print(header())
    for case in cases:
        print(row(case, samples[case], len(jobs), len(batches)))
    per_batch = statistics.median(samples["local, GPU"]) / len(batches)
    overhead = max(0.0, statistics.median(samples["Ray, 1 GPU task at a time"]) / len(batches) - per_batch)
    total = 512 * len(PRESETS["anisotropic"]) + 400
    projection(f"N GPUs like this one, batches of {args.gpu_batch}; the set: layer4's 512 units × the 4-setting "
               f"sweep + 400 classes' logit AM = {total} jobs (a class job costs as a layer4 job: one full pass)",
               per_batch, overhead, args.gpu_batch, total, DEFAULT_STEPS / args.steps)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch", type=int, default=8, help="jobs per batch on the CPU")
    p.add_argument("--batches", type=int, default=6)
    p.add_argument("--gpu-batch", type=int, default=32, help="jobs per batch on the GPU")
    p.add_argument("--bf16", action="store_true", help="the GPU rows under bf16 autocast")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--no-cpu", action="store_true", help="the GPU part only")
    p.add_argument("--no-threads-row", action="store_true",
                   help="leave out the local run on every core (on a crowded machine its threads spin for minutes)")
    args = p.parse_args()
    os.environ.setdefault("VIDVIS_PROGRESS", "0")
    print(f"Atlas batches, local vs Ray; torch {torch.__version__}; Python {sys.version.split()[0]}; {machine()}")
    if not args.no_cpu:
        cpu_part(args)
    gpu_part(args)
    print(f"\nafter: {machine()}")


if __name__ == "__main__":
    main()
