"""Activation maximization throughput: batched loop vs the straightforward eager loop.

    .venv/bin/python benchmarks/activation_maximization.py [--steps 20] [--batches 1,8,32] [--runs 5]

Prints steps per second (one step = one forward and backward pass for every job in the batch) and
jobs·steps per second, on the CPU with the embedded two-stream model and, when a GPU is present, on the
GPU with the embedded model and torchvision r3d_18 (16×112×112, random weights) in fp32 and bf16, with
achieved TFLOP/s against the GPU's bf16 peak. The baseline is the straightforward loop: one job at a
time, weights not frozen, the loss read back to the host every step, for the same number of steps.

Both sides are timed as calls: the batched side is one ``am(jobs, steps=…)`` call as a user makes it (its
results built, its best inputs judged); the baseline is ``--naive-jobs`` jobs run one after another. All
cases of a table are warmed up once and then run interleaved (``benchmarks/timing.py``), ``--runs`` times
each in this process; the table prints each case's median and the spread of its runs.
"""

from __future__ import annotations

import argparse

import torch

from timing import interleaved, machine, spread
from vidvis_widgets.methods import ActivationMaximization, AMJob, unit
from vidvis_widgets.models import load_model

BF16_PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}  # dense bf16 tensor-core peaks


def jobs(n: int, layer: str, channels: int) -> list[AMJob]:
    return [AMJob(unit(layer, i % channels), 1.0, (10, 5, 1, 0)[i % 4], seed=i) for i in range(n)]


def batched(am: ActivationMaximization, n: int, layer: str, channels: int, steps: int):
    """One call of n jobs, as a user makes it."""
    return lambda: am(jobs(n, layer, channels), steps=steps)


def naive(am: ActivationMaximization, n: int, layer: str, steps: int):
    """One job at a time, weights trainable, loss.item() every step: what a first attempt looks like."""
    model, streams = am.model, am.streams
    obj_layer = model.get_submodule(layer)

    def run() -> None:
        model.requires_grad_(True)
        try:
            for j in range(n):
                xs = {s.name: torch.randn((1, *s.shape), device=am.device, requires_grad=True)
                      for s in streams.specs}
                opt = torch.optim.Adam(list(xs.values()), lr=1.0)
                for _ in range(steps):
                    out = {}
                    h = obj_layer.register_forward_hook(lambda _m, _i, o: out.__setitem__("a", o))
                    model(*streams.model_inputs(xs))
                    h.remove()
                    loss = -out["a"][:, j % out["a"].shape[1]].sum() + sum(v.square().mean() for v in xs.values())
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    loss.item()
        finally:
            model.requires_grad_(False)
            model.zero_grad(set_to_none=True)

    return run


def flops_per_job_step(am: ActivationMaximization) -> float:
    """Forward FLOPs of one job from torch's counter, ×3 for forward + backward to the input."""
    from torch.utils.flop_counter import FlopCounterMode

    x = {s.name: torch.zeros((1, *s.shape), device=am.device) for s in am.streams.specs}
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        am.model(*am.streams.model_inputs(x))
    return 3.0 * counter.get_total_flops()


def table(title: str, am: ActivationMaximization, layer: str, channels: int, batches, steps: int,
          naive_jobs: int, runs: int) -> None:
    flops = flops_per_job_step(am)
    cases = {"naive": naive(am, naive_jobs, layer, steps)}
    cases.update({n: batched(am, n, layer, channels, steps) for n in batches})
    samples: dict = {}
    med = interleaved(cases, runs=runs, warmup=1, samples=samples)
    naive_rate = naive_jobs * steps / med["naive"]
    print(f"\n{title}; {steps} steps a call, median of {runs} interleaved runs")
    print(f"{'batch':>5} | {'s/call':>7} | {'spread':>9} | {'steps/s':>8} | {'job·steps/s':>11} | {'TFLOP/s':>8} | "
          f"{'× naive':>7}")
    print("-" * 75)
    for n in batches:
        rate = steps / med[n]
        print(f"{n:>5} | {med[n]:>7.2f} | {spread(samples[n]):>9} | {rate:>8.2f} | {rate * n:>11.1f} | "
              f"{rate * n * flops / 1e12:>8.3f} | {rate * n / naive_rate:>7.2f}")
    print(f"naive | {med['naive']:>7.2f} | {spread(samples['naive']):>9} | {'':>8} | {naive_rate:>11.1f} | "
          f"{naive_rate * flops / 1e12:>8.3f} | {1.0:>7.2f}   ({naive_jobs} jobs one after another)")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batches", default="1,8,32")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--naive-jobs", type=int, default=2)
    args = p.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    print(f"AM throughput; torch {torch.__version__}, {torch.get_num_threads()} threads; {machine()}")
    two = load_model("tiny_two_stream")
    table("CPU, embedded tiny_two_stream (appearance 3×64×64 + motion 20×64×64), fp32, target conv5_fusion",
          ActivationMaximization(two, device="cpu"), "conv5_fusion", 64, batches, args.steps, args.naive_jobs,
          args.runs)
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name()
        peak = next((v for k, v in BF16_PEAK_TFLOPS.items() if k in name), None)
        print(f"\nGPU: {name}; bf16 dense peak {peak or '?'} TFLOP/s")
        for bf16 in (False, True):
            tag = "bf16 autocast" if bf16 else "fp32"
            table(f"GPU, embedded tiny_two_stream, {tag}", ActivationMaximization(
                load_model("tiny_two_stream"), device="cuda", bf16=bf16), "conv5_fusion", 64, batches, args.steps,
                4, args.runs)
            r3d = load_model("torchvision:r3d_18", weights=None)
            table(f"GPU, torchvision r3d_18 16×112×112 (random weights), {tag}", ActivationMaximization(
                r3d, device="cuda", bf16=bf16, activation_max=None), "layer4", 512, batches, args.steps, 4,
                args.runs)
    print(f"\nafter: {machine()}")


if __name__ == "__main__":
    main()
