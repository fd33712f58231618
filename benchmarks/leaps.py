"""LEAPS throughput: the batched call vs the straightforward eager loop of the reference code.

    .venv/bin/python benchmarks/leaps.py [--steps 10] [--batches 1,8,32] [--runs 5]

Prints steps per second (one step = one update of every synthesis in the batch) and syntheses·steps per
second, on the CPU with the embedded tiny_r3d (inverted) and tiny_verifier at 8×64×64, and, when a GPU is
present, on the GPU with the embedded models and with torchvision r3d_18 (random weights) at 8×112×112 and
8×224×224, in fp32 and bf16. The baseline synthesizes one video at a time and, as the reference code does,
runs the inverted model twice per step (once on the stimulus, once on x*), with weights not frozen and the
loss read back every step, for the same number of steps. All cases of a table are warmed up once, then run
interleaved (``benchmarks/timing.py``), ``--runs`` times each in this process; the table prints medians and the
spread of the runs.
"""

from __future__ import annotations

import argparse
import warnings

import torch
import torch.nn.functional as F

from timing import interleaved, machine, spread
from vidvis_widgets.methods.leaps.terms import (batchnorm_layers, feature_statistics, priming_loss,
                                                    space_time_mean, spacetime, temporal_coherence)
from vidvis_widgets.methods.leaps.inversion import InversionJob, ModelInversion
from vidvis_widgets.models import load_model


def batched(inv: ModelInversion, n: int, steps: int):
    """One call of n syntheses as a user makes it, the host copy only at the end."""
    stim = [torch.randint(0, 255, (inv.size[0], *inv.size[1:], 3), dtype=torch.uint8)]
    jobs = [InversionJob(i % 10, 0, i) for i in range(n)]

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the random stimulus is labelled class 0 whatever the targets
            inv(jobs, stim, steps=steps, every=steps, stage_every=steps, stimulus_labels=[0])

    return run


def naive(inv: ModelInversion, n: int, steps: int):
    """One video at a time; the model runs on the stimulus and on x* every step; weights trainable;
    loss.item() every step."""
    model, verifier = inv.model, inv.verifier
    bns = batchnorm_layers(verifier)
    lam = torch.ones(len(inv.layers), device=inv.device)
    stim = torch.randn(1, 3, *inv.size, device=inv.device)

    def run() -> None:
        feats, bn_in = {}, {}
        hooks = [model.get_submodule(l).register_forward_hook(lambda _m, _i, o, l=l: feats.__setitem__(l, o))
                 for l in inv.layers]
        hooks += [bn.register_forward_pre_hook(lambda _m, i, k=k: bn_in.__setitem__(k, i[0])) for k, bn in bns]
        model.requires_grad_(True)
        verifier.requires_grad_(True)
        try:
            for j in range(n):
                x = torch.randn(1, 3, *inv.size, device=inv.device, requires_grad=True)
                opt = torch.optim.Adam([x], lr=inv.lr)
                for _ in range(steps):
                    model(stim)
                    mv = [space_time_mean(spacetime(feats[l])).detach() for l in inv.layers]
                    logits = model(x)
                    z = [spacetime(feats[l]) for l in inv.layers]
                    inv.verifier_logits(x)
                    loss = (F.cross_entropy(logits, torch.tensor([j % 10], device=inv.device))
                            + priming_loss([space_time_mean(f) for f in z], mv, lam)
                            + inv.r * (temporal_coherence(z[-1]) + feature_statistics([bn_in[k] for k, _ in bns],
                                                                                      [b for _, b in bns]))).sum()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    loss.item()
        finally:
            for h in hooks:
                h.remove()
            model.requires_grad_(False)
            verifier.requires_grad_(False)
            model.zero_grad(set_to_none=True)
            verifier.zero_grad(set_to_none=True)

    return run


def table(title: str, inv: ModelInversion, batches, steps: int, naive_videos: int, runs: int) -> None:
    cases = {"naive": naive(inv, naive_videos, steps)}
    cases.update({n: batched(inv, n, steps) for n in batches})
    samples: dict = {}
    med = interleaved(cases, runs=runs, warmup=1, samples=samples)
    naive_rate = naive_videos * steps / med["naive"]
    print(f"\n{title}; {steps} steps a call, median of {runs} interleaved runs")
    print(f"{'batch':>5} | {'s/call':>7} | {'spread':>9} | {'steps/s':>8} | {'videos·steps/s':>14} | {'× naive':>7}")
    print("-" * 65)
    for n in batches:
        rate = steps / med[n]
        print(f"{n:>5} | {med[n]:>7.2f} | {spread(samples[n]):>9} | {rate:>8.2f} | {rate * n:>14.1f} | "
              f"{rate * n / naive_rate:>7.2f}")
    print(f"naive | {med['naive']:>7.2f} | {spread(samples['naive']):>9} | {'':>8} | {naive_rate:>14.1f} | "
          f"{1.0:>7.2f}   ({naive_videos} videos one after another)")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batches", default="1,8,32")
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    print(f"LEAPS throughput; torch {torch.__version__}, {torch.get_num_threads()} threads; {machine()}")
    verifier = load_model("tiny_verifier")
    table("CPU, embedded tiny_r3d inverted, tiny_verifier, x* 8×64×64, fp32",
          ModelInversion(load_model("tiny_r3d"), verifier, device="cpu", size=(8, 64, 64)), batches, args.steps, 2,
          args.runs)  # 8 frames as the README's numbers were measured (the default is tiny_r3d's native 16)
    if torch.cuda.is_available():
        print(f"\nGPU: {torch.cuda.get_device_name()}")
        for bf16 in (False, True):
            tag = "bf16 autocast" if bf16 else "fp32"
            table(f"GPU, embedded tiny_r3d, 8×64×64, {tag}",
                  ModelInversion(load_model("tiny_r3d"), load_model("tiny_verifier"), device="cuda", bf16=bf16,
                                 size=(8, 64, 64)),
                  batches, args.steps, 4, args.runs)
            for side in (112, 224):
                table(f"GPU, torchvision r3d_18 (random weights), 8×{side}×{side}, {tag}",
                      ModelInversion(load_model("torchvision:r3d_18", weights=None), load_model("tiny_verifier"),
                                     device="cuda", bf16=bf16, size=(8, side, side)), batches, args.steps, 4, args.runs)
    print(f"\nafter: {machine()}")


if __name__ == "__main__":
    main()
