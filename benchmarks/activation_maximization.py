"""Activation maximization throughput: batched loop vs the straightforward eager loop.

    .venv/bin/python benchmarks/activation_maximization.py [--steps 20] [--batches 1,8,32,64]

Prints steps per second (one step = one forward and backward pass for every job in the batch) and
jobs·steps per second, on the CPU with the embedded two-stream model and, when a GPU is present, on the
GPU with the embedded model and torchvision r3d_18 (16×112×112, random weights) in fp32 and bf16, with
achieved TFLOP/s against the GPU's bf16 peak. The baseline is the straightforward loop: one job at a
time, weights not frozen, the loss read back to the host every step. Both run in the same process.
"""

from __future__ import annotations

import argparse
import time

import torch

from vidvis_widgets.methods import ActivationMaximization, AMJob
from vidvis_widgets.models import load_model

BF16_PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}  # dense bf16 tensor-core peaks


def jobs(n: int, layer: str, channels: int) -> list[AMJob]:
    return [AMJob(layer, i % channels, 1.0, (10, 5, 1, 0)[i % 4], seed=i) for i in range(n)]


def batched_rate(am: ActivationMaximization, n: int, layer: str, channels: int, steps: int) -> float:
    am(jobs(n, layer, channels), steps=2)  # warm-up: caches â, kernels
    sync(am.device)
    t0 = time.perf_counter()
    am(jobs(n, layer, channels), steps=steps)
    sync(am.device)
    return steps / (time.perf_counter() - t0)


def naive_rate(am: ActivationMaximization, n: int, layer: str, steps: int) -> float:
    """One job at a time, weights trainable, loss.item() every step: what a first attempt looks like."""
    model, streams = am.model, am.streams
    model.requires_grad_(True)
    obj_layer = model.get_submodule(layer)
    t0 = time.perf_counter()
    for j in range(n):
        xs = {s.name: torch.randn((1, *s.shape), device=am.device, requires_grad=True) for s in streams.specs}
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
    sync(am.device)
    model.requires_grad_(False)
    return steps * n / (time.perf_counter() - t0)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def flops_per_job_step(am: ActivationMaximization) -> float:
    """Forward FLOPs of one job from torch's counter, ×3 for forward + backward to the input."""
    from torch.utils.flop_counter import FlopCounterMode

    x = {s.name: torch.zeros((1, *s.shape), device=am.device) for s in am.streams.specs}
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        am.model(*am.streams.model_inputs(x))
    return 3.0 * counter.get_total_flops()


def table(title: str, am: ActivationMaximization, layer: str, channels: int, batches, steps: int,
          naive_jobs: int) -> None:
    flops = flops_per_job_step(am)
    print(f"\n{title}")
    print(f"{'batch':>5} | {'steps/s':>8} | {'job·steps/s':>11} | {'TFLOP/s':>8} | {'× naive':>7}")
    print("-" * 52)
    naive = naive_rate(am, naive_jobs, layer, max(3, steps // 4))
    for n in batches:
        rate = batched_rate(am, n, layer, channels, steps)
        print(f"{n:>5} | {rate:>8.2f} | {rate * n:>11.1f} | {rate * n * flops / 1e12:>8.3f} | "
              f"{rate * n / naive:>7.1f}")
    print(f"naive | {'':>8} | {naive:>11.1f} | {naive * flops / 1e12:>8.3f} | {1.0:>7.1f}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batches", default="1,8,32,64")
    args = p.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    print(f"AM throughput, {args.steps} steps per measurement; torch {torch.__version__}")
    two = load_model("tiny_two_stream")
    table("CPU, embedded tiny_two_stream (appearance 3×64×64 + motion 20×64×64), fp32, target conv5_fusion",
          ActivationMaximization(two, device="cpu"), "conv5_fusion", 64, batches, args.steps, 2)
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name()
        peak = next((v for k, v in BF16_PEAK_TFLOPS.items() if k in name), None)
        print(f"\nGPU: {name}; bf16 dense peak {peak or '?'} TFLOP/s")
        for bf16 in (False, True):
            tag = "bf16 autocast" if bf16 else "fp32"
            table(f"GPU, embedded tiny_two_stream, {tag}", ActivationMaximization(
                load_model("tiny_two_stream"), device="cuda", bf16=bf16), "conv5_fusion", 64, batches, args.steps, 4)
            r3d = load_model("torchvision:r3d_18", weights=None)
            table(f"GPU, torchvision r3d_18 16×112×112 (random weights), {tag}", ActivationMaximization(
                r3d, device="cuda", bf16=bf16, activation_max=None), "layer4", 512, batches, args.steps, 4)


if __name__ == "__main__":
    main()
