"""The batched optimization loop every input-space method here runs: one forward and backward pass
for N jobs per step, weights frozen, no host synchronization except every ``every`` steps.

Stopping (an Event set from a Stop button), interrupting the kernel, or a job's objective turning
NaN or infinite all end with each job's best input so far; a job that diverges is frozen at its
best input and the step it diverged at is reported.

Each job's best input, its score and what ``score`` asks to keep of the pass (``parts["keep"]``: a unit's
value, the logits) are updated on the device in every step, so a Stop or a Ctrl-C needs no further forward
pass: it is answered after the forward pass of the step it lands in (the backward pass, which would only
prepare an input nobody evaluates, is skipped), and the results are built from what the steps measured. Only a
run that took every step is judged once more on its un-jittered inputs (:attr:`LoopOutcome.judged`). A batch
whose jobs have all diverged ends at the step the device reports it (at once on a CPU), without a host sync.
"""

from __future__ import annotations

import contextlib
import math
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ...models.adapter import adapter_of
from ...models.run_control import stop_status
from ...models.probe import Layout, Probe, final_relu


@contextlib.contextmanager
def capture(model: nn.Module, layers, pre_activation=(), layout: Layout | None = None
            ) -> Iterator[dict[str, torch.Tensor]]:
    """Records the named layers on every forward pass, as N×C×T×H×W or N×C (a :class:`~..models.probe.Probe`'s
    ``outputs``). For names in ``pre_activation`` it records the input of the layer's final ReLU instead: the
    same unit before rectification."""
    with Probe(model, sorted(set(layers)), pre_activation=pre_activation, layout=layout) as probe:
        yield probe.outputs


def pre_activation_layers(model: nn.Module, layers, inputs: tuple) -> set[str]:
    """The layers whose output is exactly their final ReLU applied to that ReLU's input, checked on one
    forward pass: for these the loop can climb the unit's pre-rectification value, which has a gradient
    even where the unit is off (as it is for most units on a random start)."""
    layers = sorted(set(layers))
    with torch.no_grad(), Probe(model, layers) as post, Probe(model, layers, pre_activation=layers) as pre:
        adapter_of(model).forward(model, inputs)
    return {l for l in layers if l in pre.outputs and pre[l].shape == post[l].shape
            and final_relu(model.get_submodule(l)) is not None and torch.equal(pre[l].clamp_min(0), post[l])}


def roll_per_job(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Circularly shifts job n of x (N×…×H×W) by (dy[n], dx[n]) pixels, all jobs in one gather per axis."""
    N, H, W = x.shape[0], x.shape[-2], x.shape[-1]
    lead = (1,) * (x.dim() - 3)
    iy = (torch.arange(H, device=x.device)[None] - dy[:, None]) % H
    x = torch.gather(x, -2, iy.view(N, *lead, H, 1).expand_as(x))
    ix = (torch.arange(W, device=x.device)[None] - dx[:, None]) % W
    return torch.gather(x, -1, ix.view(N, *lead, 1, W).expand_as(x))


@dataclass
class Snapshot:
    """What a progress callback sees every ``every`` steps (copied to the host)."""

    step: int
    steps: int
    history: dict[str, np.ndarray]  # each scored part ("total", …): steps so far × N
    streams: dict[str, np.ndarray]  # current inputs, N×D×T×H×W
    best_score: np.ndarray  # (N,)

    @property
    def total(self) -> np.ndarray:
        return self.history["total"]


#: :attr:`LoopOutcome.values_from` of a judged run
JUDGED = "a final pass on the returned input"


@dataclass
class LoopOutcome:
    best: dict[str, torch.Tensor]
    best_score: np.ndarray
    best_step: np.ndarray  # the step whose input is returned; ``steps_run`` for the final input
    history: dict[str, np.ndarray]  # every scored part, "total" included: steps_run × N
    steps_run: int
    status: str  # "completed" | "stopped" | "interrupted" | "diverged"
    diverged_at: np.ndarray  # (N,), −1 where the job stayed finite
    extra: dict = field(default_factory=dict)
    #: ``parts["keep"]`` of the pass that scored each job's returned input (N×… per name); empty when no step ran
    kept: dict[str, torch.Tensor] = field(default_factory=dict)
    #: whether the returned inputs were judged on a final un-jittered pass (a run that took every step); after a
    #: Stop, a Ctrl-C or a batch that all diverged, ``kept`` comes from the best step's (jittered) pass instead
    judged: bool = False

    def measured(self, name: str, measure: Callable[[], torch.Tensor]) -> torch.Tensor | None:
        """Each job's ``name`` on its returned input: ``measure()``, a pass on those inputs, after a judged run;
        else, with no further pass, what the pass of the job's best step kept; ``None`` when no step ran. A
        Ctrl-C during ``measure`` falls back to the kept values and makes the run "interrupted"."""
        if self.judged:
            try:
                return measure()
            except KeyboardInterrupt:
                self.status, self.judged = "interrupted", False
        return self.kept.get(name)

    @property
    def values_from(self) -> str:
        """Where the results' final values come from, as a result's settings say it."""
        if self.judged:
            return JUDGED
        return "the best step's pass (jittered)" if self.kept else "not measured (no step ran)"

    def job_status(self, i: int, status: str | None = None) -> dict:
        """Job ``i``'s ``best_step``, ``status`` and ``diverged_at`` (an :class:`~.result.OptimizedResult`'s
        fields): "diverged" for a job that did, else how the run ended (``status`` overrides it), where another
        job's divergence counts as "completed" for this one."""
        diverged = int(self.diverged_at[i]) >= 0
        run = (status or self.status).replace("diverged", "completed")
        return dict(best_step=int(self.best_step[i]), status="diverged" if diverged else run,
                    diverged_at=int(self.diverged_at[i]) if diverged else None)


def autocast(device: torch.device, bf16: bool) -> torch.autocast:
    """bfloat16 autocast of a model's forward pass on ``device`` when ``bf16`` (every method's ``bf16=``); a
    no-op context otherwise. A new context each call: one may be entered once."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bool(bf16))


#: ``score(moved, xs)``: the inputs as the model sees them this step (jittered) and as optimized → each
#: job's terms as (N,) tensors, with the objective under "total"
Score = Callable[[Mapping[str, torch.Tensor], Mapping[str, torch.Tensor]], dict]


def cosine_lr(lr: float, lr_end: float, step: int, steps: int) -> float:
    """``lr`` decayed along a half cosine to ``lr_end``·``lr`` at the last step."""
    return lr * (lr_end + (1 - lr_end) * 0.5 * (1 + math.cos(math.pi * step / steps)))


def run_batched(score: Score, init: Mapping[str, torch.Tensor], *, steps: int, lr: float, lr_end: float = 0.1,
                maximize: bool = True, shifts: torch.Tensor | None = None,
                project: Callable[[dict[str, torch.Tensor]], None] | None = None,
                stop: threading.Event | None = None, callback: Callable[[Snapshot], None] | None = None,
                every: int = 25, lr_scale: Mapping[str, float] | None = None, bar=None) -> LoopOutcome:
    """Optimizes the inputs ``init`` (name → N×D×T×H×W on the device) for ``score``'s "total", maximized or
    minimized; each job keeps its own best input. ``shifts``: steps×N×2 pixel jitter (dy, dx) per job;
    ``project``: applied in place to the inputs after every step (a hard bound, a valid pixel range);
    ``lr`` (× ``lr_scale[name]`` per stream) decays along a cosine to ``lr_end``·``lr``. Run the model
    inside ``score`` with its weights frozen (see :func:`frozen`). ``bar``: a progress bar
    (:class:`~.progress.Bar`) counted once per step taken, on the host."""
    device = next(iter(init.values())).device
    n = next(iter(init.values())).shape[0]
    sign = 1.0 if maximize else -1.0
    xs = {k: v.detach().clone().requires_grad_(True) for k, v in init.items()}
    scales = {k: (lr_scale or {}).get(k, 1.0) for k in xs}
    opt = torch.optim.Adam([{"params": [v], "scale": scales[k]} for k, v in xs.items()], lr=lr)
    hist: dict[str, torch.Tensor] = {}
    best = {k: v.detach().clone() for k, v in xs.items()}
    kept: dict[str, torch.Tensor] = {}
    best_score = torch.full((n,), -math.inf, device=device)  # sign × total: higher is better
    best_step = torch.full((n,), -1, dtype=torch.long, device=device)
    diverged_at = torch.full((n,), -1, dtype=torch.long, device=device)
    all_diverged = DeviceFlag(device)
    status, done = "completed", 0

    def snapshot(done: int) -> Snapshot:
        return Snapshot(done, steps, {k: v[:done].cpu().numpy() for k, v in hist.items()},
                        {k: v.detach().float().cpu().numpy() for k, v in xs.items()}, sign * best_score.cpu().numpy())

    try:
        for step in range(steps):
            if stop is not None and stop.is_set():
                status = stop_status(stop)
                break
            for group in opt.param_groups:
                group["lr"] = group["scale"] * cosine_lr(lr, lr_end, step, steps)
            moved = xs if shifts is None else {k: roll_per_job(v, shifts[step, :, 0], shifts[step, :, 1])
                                               for k, v in xs.items()}
            parts = dict(score(moved, xs))
            keep = parts.pop("keep", {})
            goal = sign * parts["total"].float()
            finite = torch.isfinite(goal)
            for k, v in parts.items():
                if k not in hist:
                    hist[k] = torch.full((steps, n), float("nan"), device=device)
                hist[k][step] = v.detach().float()
            with torch.no_grad():
                diverged_at.copy_(torch.where(~finite & (diverged_at < 0), step, diverged_at))
                improved = finite & (goal > best_score)
                best_score.copy_(torch.where(improved, goal, best_score))
                best_step.copy_(torch.where(improved, step, best_step))
                for k, v in xs.items():
                    best[k] = torch.where(_rows(improved, v), v.detach(), best[k])
                for k, v in keep.items():
                    v = v.detach()
                    kept[k] = torch.where(_rows(improved, v), v, kept.get(k, torch.full_like(v, float("nan"))))
            done = step + 1
            if bar is not None:
                bar.update(1)
            # this step's input is scored and kept: a Stop or Ctrl-C that came during its pass ends the run here,
            # and so does a batch that has all diverged (seen without waiting for the device)
            if stop is not None and stop.is_set():
                status = stop_status(stop)
                break
            if all_diverged.seen(diverged_at >= 0):
                status = "diverged"
                break
            opt.zero_grad(set_to_none=True)
            (-torch.where(finite, goal, torch.zeros_like(goal)).sum()).backward()
            opt.step()
            with torch.no_grad():
                if project is not None:
                    project(xs)
                alive = (diverged_at < 0).view(-1, 1, 1, 1, 1)
                for k, v in xs.items():
                    v.copy_(torch.where(alive, v, best[k]))
            if done % every == 0 or done == steps:
                if callback is not None:
                    callback(snapshot(done))
                if bool((diverged_at >= 0).all()):  # the only per-`every` host sync
                    status = "diverged"
                    break
    except KeyboardInterrupt:
        status = "interrupted"
    if status == "completed" and bool((diverged_at >= 0).any()):
        status = "diverged"
    final, judged = best, False
    if done == steps and status in ("completed", "diverged") and not bool((diverged_at >= 0).all()):
        final, best_step, kept, judged, status = _judge(score, sign, best, xs, kept, best_step, diverged_at, done,
                                                        stop, status)
    best_step = best_step.clamp_min(0)  # a job that never improved holds its start, the input of step 0
    return LoopOutcome(final, sign * best_score.cpu().numpy(), best_step.cpu().numpy(),
                       {k: v[:done].cpu().numpy() for k, v in hist.items()}, done, status, diverged_at.cpu().numpy(),
                       kept=kept, judged=judged)


def _rows(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """An (N,) mask shaped to select whole rows of ``like`` (N×…)."""
    return mask.view(-1, *([1] * (like.dim() - 1)))


def _judge(score: Score, sign: float, best, xs, kept, best_step, diverged_at, done: int, stop, status: str):
    """After the last step: the best step was judged on one step's (jittered) view, which is noisy; judged on
    the inputs themselves, the last input may be better. Skipped when a Stop or Ctrl-C comes first (the best
    step's input and values stand)."""
    judged = []
    try:
        for c in (best, xs):
            if stop is not None and stop.is_set():
                return best, best_step, kept, False, status
            with torch.no_grad():
                parts = dict(score(c, c))
            judged.append((torch.nan_to_num(sign * parts["total"].float(), nan=-math.inf), parts.get("keep", {})))
    except KeyboardInterrupt:  # interrupted while judging: keep the best step's inputs
        return best, best_step, kept, False, "interrupted"
    (first, keep_best), (last, keep_last) = judged
    take_last = (last > first) & (diverged_at < 0)
    final = {k: torch.where(_rows(take_last, v), xs[k].detach(), v).detach() for k, v in best.items()}
    kept = {k: torch.where(_rows(take_last, v), keep_last[k].detach(), v.detach()) for k, v in keep_best.items()}
    return final, torch.where(take_last, done, best_step), kept, True, status


class DeviceFlag:
    """Whether an (N,) bool tensor on the device is all true, read without waiting for the device: on a GPU the
    value is copied to pinned host memory behind an event and read once the event has passed (a step or two
    late, never a sync); on a CPU it is read at once."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.host = torch.zeros((), dtype=torch.bool, pin_memory=self.cuda)
        self.event = None

    def seen(self, mask: torch.Tensor) -> bool:
        if not self.cuda:
            return bool(mask.all())
        if self.event is not None and not self.event.query():
            return False
        if self.event is not None and bool(self.host):
            return True
        self.host.copy_(mask.all(), non_blocking=True)
        self.event = torch.cuda.Event()
        self.event.record()
        return False


def seeded_starts(seeds: Sequence[int], shapes: Mapping[str, tuple], scales: Mapping[str, float], device, *,
                  steps: int | None = None, shift_ranges: Sequence[tuple[int, int]] | None = None,
                  quanta: Sequence[int | tuple[int, int]] | None = None, settle: float | None = None
                  ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
    """Each job's random start and jitter, drawn from its own seed only, so a batch equals its jobs run alone.

    Returns the starts (per stream, N×shape, N(0, scale²)) and, when ``steps`` and ``shift_ranges`` are
    given, the jitter: steps×N×2 integer shifts, job i's in ``[lo, hi)`` of ``shift_ranges[i]``, counted in
    steps of ``quanta[i]`` pixels, one or (dy, dx) (1 by default; a token model's patch moves whole tokens).
    ``settle``: the fraction of the run over which the range shrinks linearly to nothing, so the steps after it
    see the input as it is returned (None: the full range throughout)."""
    starts: dict[str, list[torch.Tensor]] = {k: [] for k in shapes}
    shifts = []
    for i, seed in enumerate(seeds):
        g = torch.Generator().manual_seed(int(seed))
        for k, shape in shapes.items():
            starts[k].append(torch.randn(tuple(shape), generator=g) * scales[k])
        if steps is not None and shift_ranges is not None:
            lo, hi = shift_ranges[i]
            if settle is None:
                s = torch.randint(lo, hi, (steps, 2), generator=g)
            else:  # uniform over the range scaled by 1 − step/(settle·steps), rounded toward zero
                left = (1 - torch.arange(steps, dtype=torch.float64) / max(settle * steps, 1e-9)).clamp_min(0)
                s = torch.trunc((lo + torch.rand((steps, 2), generator=g, dtype=torch.float64) * (hi - lo))
                                * left[:, None]).long()
            shifts.append(s * torch.as_tensor(1 if quanta is None else quanta[i]).long())
    return ({k: torch.stack(v).to(device) for k, v in starts.items()},
            torch.stack(shifts, 1).to(device) if shifts else None)
