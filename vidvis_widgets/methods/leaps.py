"""LEAPS model inversion (Stergiou & Deligiannis, ICCV 2023, Sec. 3) and its baselines, batched.

    L(x*, v, y) = L_CE(x*, y) + L_prim(x*, v) + r (R_coh(x*) + R_feat(x*))            (eq. 4)

x* is a video optimized from noise so that the inverted model m classifies it as y (L_CE), its
space-time mean features at the priming layers match those of a stimulus video v of class y under the
Jaccard vector similarity (L_prim, eq. 1), its features at the last priming layer change little between
consecutive temporal positions and by at least δ otherwise (R_coh, eq. 2), and the feature statistics it
causes in a separate verifier network S match S's BatchNorm running statistics (R_feat, eq. 3).

Where this follows the paper and the public reference code does not:
- the priming distance is 1 − JVS, not an l1 distance;
- the verifier is a separate network (default: the embedded ``tiny_verifier``), never the inverted model;
- R_coh is added to the loss (the reference subtracts it) and is taken at the last priming layer only;
- every priming layer counts (the reference counts only the last hooked one);
- the colour range is kept by clamping each colour channel to its valid range (the reference clamps
  along the wrong axis).
Our own choices: R_coh's l1 distance is a per-element mean so that δ = 1 is meaningful on any layer
(see :func:`.inversion_terms.temporal_coherence`); R_feat's statistics are pooled over the videos of a
batch, as DeepInversion's and the reference's are, but only among jobs of the same variant, so that the
rows of an evaluation do not regularize each other (``feature_pooling="video"`` takes each video's own);
the stimulus's features are computed once, so the inverted model runs once per step (the reference runs
it on the stimulus every step).

Baselines with the same call: 3D DeepDream (cross-entropy plus total-variation and l2 priors) as the
``"deepdream"`` variant, and 3D AM (the two-stream AM issue's single-stream method on the class logit)
as ``"am"``; the ablation rows of the paper's Table 3 are the variants ``"prim"``, ``"prim+coh"`` and
``"prim+feat"``.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import warnings
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .inversion_terms import (batchnorm_layers, feature_statistics, l2_norm, pooling, priming_loss,
                              space_time_mean, spacetime, temporal_coherence, total_variation_l2)
from ..models.architecture import channels_last, final_linear, fixed_input_size, native_size, normalization
from ..models.layers import device_of, submodule
from ._checks import number
from .loop import LoopOutcome, Snapshot, frozen, run_batched

#: which terms of eq. 4 each variant uses: (L_CE, L_prim, R_coh, R_feat, TV, l2), as on/off weights
#: (R_coh and R_feat are then scaled by r, TV and l2 by the DeepDream weights)
VARIANTS: dict[str, tuple[int, int, int, int, int, int]] = {
    "deepdream": (1, 0, 0, 0, 1, 1),
    "prim": (1, 1, 0, 0, 0, 0),
    "prim+coh": (1, 1, 1, 0, 0, 0),
    "prim+feat": (1, 1, 0, 1, 0, 0),
    "leaps": (1, 1, 1, 1, 0, 0),
}
#: the rows of the paper's Tables 1 and 3, in their order
TABLE_ROWS = ("deepdream", "am", "prim", "prim+coh", "prim+feat", "leaps")
ROW_NAMES = {"deepdream": "3D DeepDream", "am": "3D AM", "prim": "LEAPS (L_prim)",
             "prim+coh": "LEAPS (L_prim + R_coh)", "prim+feat": "LEAPS (L_prim + R_feat)", "leaps": "LEAPS (full)"}
_TERMS = ("ce", "prim", "coh", "feat", "tv", "l2")


@dataclass(frozen=True)
class InversionJob:
    """One video to synthesize: class ``target``, primed by stimulus number ``stimulus`` of the stimuli
    given with the call (``None`` for the variants without priming), from random start ``seed``."""

    target: int
    stimulus: int | None = None
    seed: int = 0
    variant: str = "leaps"

    @property
    def title(self) -> str:
        s = f" · stimulus {self.stimulus}" if self.stimulus is not None else ""
        return f"class {self.target}{s} · seed {self.seed} · {ROW_NAMES.get(self.variant, self.variant)}"


@dataclass
class InversionResult:
    """One synthesized video. ``video``: T×H×W×3 uint8 in the colours the model sees (its normalization
    undone, clamped to 0–255); ``x``: the optimized input itself, 3×T×H×W in the model's normalized units
    (what the evaluation feeds the networks); ``stimulus``: the priming video as synthesized-size uint8;
    ``history``: every loss term per step; ``stages``: (step, video) every ``stage_every`` steps, as in
    the paper's Fig. 8; ``probabilities``: the inverted model's softmax on the result."""

    job: InversionJob
    video: np.ndarray
    x: np.ndarray
    stimulus: np.ndarray | None
    history: dict[str, np.ndarray]
    stages: list[tuple[int, np.ndarray]]
    probabilities: np.ndarray
    best_step: int
    status: str
    diverged_at: int | None
    settings: dict = field(default_factory=dict)

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def title(self) -> str:
        return self.job.title

    def clips(self) -> list:
        from ..media.clips import as_clip

        return ([as_clip(self.stimulus, layout="THWC")] if self.stimulus is not None else []) + \
            [as_clip(self.video, layout="THWC")]

    def show(self, **kw):
        from ..widgets.clip_player import ClipPlayer

        captions = (["stimulus"] if self.stimulus is not None else []) + [self.title]
        return ClipPlayer(self.clips(), captions=captions, **kw)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.show()._repr_mimebundle_(include=include, exclude=exclude)

    def __repr__(self) -> str:
        return (f"InversionResult({self.title}: predicted {self.predicted} "
                f"(p = {self.probabilities[self.job.target]:.2f} for the target), best at step {self.best_step}, "
                f"{self.status})")


class InversionResults(list):
    """The results of a batch of jobs, in job order."""

    def show(self, cols: int | None = None, **kw):
        from ..widgets.clip_player import ClipPlayer

        clips, captions = [], []
        for r in self:
            clips.append(r.clips()[-1])
            captions.append(r.title)
        return ClipPlayer(clips, captions=captions, cols=cols or min(4, max(1, len(clips))), **kw)


class ModelInversion:
    """Model inversion on a video model: build once, call with jobs and their stimuli.

        inv = ModelInversion(load_model("tiny_r3d"), verifier=load_model("tiny_verifier"))
        results = inv([InversionJob(3, stimulus=0, seed=s) for s in range(4)], stimuli=[video])

    ``verifier``: the network S of R_feat, with BatchNorm layers (default: the embedded ``tiny_verifier``;
    ``None`` for the variants without R_feat). ``layers``: the priming layers Λ (default: the stages of the
    known architectures), the last of which is R_coh's layer L (or the deepest one that still has two
    temporal positions, where the last has pooled time away); ``priming_weights``: λ_l, one per layer or
    one for all, 0 < λ ≤ 1. ``r``: the regularizer scale of eq. 4. ``size``: (T, H, W) of x*; default
    8 × 224² (the paper's), or 8 frames at the model's own size for the embedded models; a model with a
    fixed input size sees x* interpolated to it, as the paper does, and the verifier always sees it at its
    own size, where its BatchNorm statistics were gathered. ``lr``: Adam's, decayed along a cosine to 0.
    ``feature_pooling``: ``"batch"`` (R_feat's statistics over all the jobs of a variant in the call, so
    a batch spanning the classes is held to the dataset's statistics as a whole) or ``"video"`` (each video
    to them alone, so a batch gives exactly what its jobs give alone).
    """

    def __init__(self, model: nn.Module, verifier: nn.Module | str | None = "tiny_verifier", *,
                 layers: Sequence[str] | None = None, priming_weights: float | Sequence[float] = 1.0,
                 r: float = 0.01, delta: float = 1.0, lr: float = 0.2, steps: int = 2000, size=None,
                 tv_weight: float = 0.1, l2_weight: float = 0.01, bf16: bool = False,
                 device: torch.device | str | None = None, am_gamma: float = 1.0, init_scale: float = 0.1,
                 jitter: int | None = None, feature_pooling: str = "batch"):
        from ..models.registry import load_model

        if feature_pooling not in ("batch", "video"):
            raise ValueError(f"feature_pooling must be 'batch' or 'video', got {feature_pooling!r}")
        self.feature_pooling = feature_pooling

        self.device = device_of(model, device)
        self.model = model.to(self.device)
        if isinstance(verifier, str):
            verifier = load_model(verifier)
        self.verifier = verifier.to(self.device) if verifier is not None else None
        self.layers = list(layers) if layers is not None else default_layers(model)
        for name in self.layers:
            submodule(model, name)
        w = np.broadcast_to(np.asarray(priming_weights, np.float32), (len(self.layers),)).copy()
        if not ((w > 0) & (w <= 1)).all():
            raise ValueError(f"priming weights λ_l must lie in (0, 1] (eq. 1); got {w.tolist()}")
        self.priming_weights = w
        self.r, self.delta = number("r", r, low=0), number("delta", delta, low=0)
        self.lr, self.steps = number("lr", lr, low=0, strict=True), number("steps", steps, low=1, integer=True)
        self.init_scale = number("init_scale", init_scale, low=0, strict=True)
        self._jitter = number("jitter", jitter, low=0, integer=True, default=None)
        self.tv_weight, self.l2_weight = number("tv_weight", tv_weight, low=0), number("l2_weight", l2_weight, low=0)
        self.bf16, self.am_gamma = bf16, number("am_gamma", am_gamma, low=0)
        info = getattr(model, "vidvis_info", None)
        self.class_names = tuple(info.class_names) if info is not None else None
        self.size = tuple(size) if size is not None else _default_size(model)
        if len(self.size) != 3:
            raise ValueError(f"size must be (T, H, W), got {size!r}")
        self.mean, self.std = normalization(model, self.device)
        self.model_size = fixed_input_size(model)
        self.verifier_size = native_size(self.verifier) if self.verifier is not None else None
        if self.verifier is not None:  # the model's normalized units → the verifier's, as one affine map
            vmean, vstd = normalization(self.verifier, self.device)
            self._to_verifier = ((self.std / vstd).view(1, 3, 1, 1, 1), ((self.mean - vmean) / vstd).view(1, 3, 1, 1, 1))
        self._bns = batchnorm_layers(self.verifier) if self.verifier is not None else []
        self._channels_last = channels_last(model)

    # -- inputs ---------------------------------------------------------------------------------------
    @functools.cached_property
    def num_classes(self) -> int:
        if self.class_names is not None:
            return len(self.class_names)
        with torch.no_grad(), frozen(self.model):
            return int(self.model_logits(torch.zeros(1, 3, *self.size, device=self.device)).shape[1])

    def prepare_stimulus(self, video) -> torch.Tensor:
        """A stimulus video (T×H×W×3, uint8 or float in [0, 1]) resampled to x*'s size, in the model's
        normalized units: 3×T×H×W."""
        t = torch.as_tensor(np.asarray(video))
        if t.dim() != 4 or t.shape[-1] != 3 or min(t.shape[:3]) < 1:
            raise ValueError(f"a stimulus must be a video T×H×W×3 (uint8, or float in [0, 1]); got shape "
                             f"{tuple(t.shape)}")
        pix = t.float() / 255.0 if t.dtype == torch.uint8 else t.float()
        pix = pix.permute(3, 0, 1, 2)[None].to(self.device)
        pix = F.interpolate(pix, size=self.size, mode="trilinear", align_corners=False)[0]
        return (pix - self.mean.view(3, 1, 1, 1)) / self.std.view(3, 1, 1, 1)

    def to_video(self, x: torch.Tensor) -> np.ndarray:
        """Normalized 3×T×H×W → T×H×W×3 uint8."""
        pix = x.detach().float().to(self.device) * self.std.view(3, 1, 1, 1) + self.mean.view(3, 1, 1, 1)
        return (pix.clamp(0, 1) * 255).round().byte().permute(1, 2, 3, 0).cpu().numpy()

    def model_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The inverted model on N×3×T×H×W videos in its normalized units (interpolated to a fixed input size)."""
        if self.model_size is not None and tuple(x.shape[2:]) != self.model_size:
            x = F.interpolate(x, size=self.model_size, mode="trilinear", align_corners=False)
        return self.model(x)

    def verifier_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The verifier on the same videos, renormalized to its units and resampled to its trained size."""
        scale, shift = self._to_verifier
        v = x * scale + shift
        if self.verifier_size is not None and tuple(v.shape[2:]) != self.verifier_size:
            v = F.interpolate(v, size=self.verifier_size, mode="trilinear", align_corners=False)
        return self.verifier(v)

    # -- running --------------------------------------------------------------------------------------
    def __call__(self, jobs, stimuli: Sequence | None = None, *, steps: int | None = None,
                 callback: Callable[[Snapshot], None] | None = None, every: int = 25,
                 stop: threading.Event | None = None, stage_every: int | None = None,
                 stimulus_labels: Sequence[int] | None = None) -> InversionResults:
        """Runs the jobs: every variant but ``"am"`` in one batch (the inverted model and the verifier run
        once per step for all of them), the ``"am"`` jobs in a second batch. ``stimuli``: the priming
        videos the jobs' ``stimulus`` numbers refer to; ``stimulus_labels``: their classes, checked against
        the jobs' targets (else the model's prediction on each stimulus is). ``stage_every``: keep the
        video every so many steps (default: 8 stages over the run)."""
        jobs = [jobs] if isinstance(jobs, InversionJob) else list(jobs)
        if not jobs:
            raise ValueError("no jobs given; expected InversionJob(target, stimulus, seed, variant) values")
        steps = number("steps", steps, low=1, integer=True, default=self.steps)
        every = number("every", every, low=1, integer=True)
        stage_every = number("stage_every", stage_every, low=1, integer=True, default=max(1, steps // 8))
        stimuli = list(stimuli) if stimuli is not None else []
        prepared = [self.prepare_stimulus(v) for v in stimuli]
        predicted, means_v = self._stimulus_pass(prepared)
        self._check(jobs, len(prepared), predicted, stimulus_labels)
        out: list[InversionResult | None] = [None] * len(jobs)
        am = [i for i, j in enumerate(jobs) if j.variant == "am"]
        rest = [i for i, j in enumerate(jobs) if j.variant != "am"]
        if rest:
            for i, r in zip(rest, self._run([jobs[i] for i in rest], prepared, means_v, steps, callback, every, stop,
                                            stage_every)):
                out[i] = r
        if am and not (stop is not None and stop.is_set()):
            for i, r in zip(am, self._run_am([jobs[i] for i in am], prepared, steps, stop, stage_every)):
                out[i] = r
        return InversionResults(r for r in out if r is not None)

    @property
    def _amp(self) -> dict:
        return dict(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    @contextlib.contextmanager
    def _taps(self, verifier: bool):
        """Records the priming layers' outputs (and, with ``verifier``, the inputs of the verifier's BatchNorm
        layers) on every forward pass."""
        feats: dict[str, object] = {}
        bn_inputs: dict[str, torch.Tensor] = {}
        hooks = [submodule(self.model, n).register_forward_hook(lambda _m, _i, o, n=n: feats.__setitem__(n, o))
                 for n in self.layers]
        if verifier:
            hooks += [bn.register_forward_pre_hook(lambda _m, i, n=n: bn_inputs.__setitem__(n, i[0]))
                      for n, bn in self._bns]
        try:
            yield feats, bn_inputs
        finally:
            for h in hooks:
                h.remove()

    def _stimulus_pass(self, prepared: list[torch.Tensor]) -> tuple[list[int], list[torch.Tensor]]:
        """One forward pass over the stimuli, before the loop: the model's class for each (for the class check)
        and μ(z_l(v)) per priming layer, (stimuli, C_l)."""
        if not prepared:
            return [], []
        with self._taps(verifier=False) as (feats, _), torch.no_grad(), frozen(self.model), torch.autocast(**self._amp):
            logits = self.model_logits(torch.stack(prepared))
            means = [space_time_mean(spacetime(feats[n], self._channels_last)) for n in self.layers]
        return logits.argmax(1).tolist(), means

    def _check(self, jobs: list[InversionJob], n_stimuli: int, predicted: list[int], labels) -> None:
        n_cls = self.num_classes
        for j in jobs:
            if j.variant not in TABLE_ROWS:
                raise ValueError(f"unknown variant {j.variant!r}; expected one of {', '.join(TABLE_ROWS)}")
            terms = dict(zip(_TERMS, VARIANTS.get(j.variant, (0,) * len(_TERMS))))
            if not 0 <= j.target < n_cls:
                raise ValueError(f"class index {j.target} out of range: the model has {n_cls} classes (0…{n_cls - 1})")
            if terms["prim"] and j.stimulus is None:
                raise ValueError(f"variant {j.variant!r} primes the model, so job {j} needs a stimulus number")
            if j.stimulus is not None and not 0 <= j.stimulus < n_stimuli:
                raise ValueError(f"job {j} refers to stimulus {j.stimulus}, but {n_stimuli} stimuli were given")
            if terms["feat"]:
                if self.verifier is None:
                    raise ValueError(f"variant {j.variant!r} uses R_feat, which needs a verifier network")
                if not self._bns:
                    raise ValueError(f"the verifier {type(self.verifier).__name__} has no BatchNorm layers with "
                                     "running statistics, and R_feat (eq. 3) compares against exactly those; "
                                     "use a verifier with BatchNorm (the default tiny_verifier, or an X3D as the "
                                     "paper does)")
        for j in jobs:
            if j.stimulus is not None:
                cls = labels[j.stimulus] if labels is not None else predicted[j.stimulus]
            if j.stimulus is not None and cls != j.target:
                how = "is labelled" if labels is not None else "is classified by the model as"
                warnings.warn(f"stimulus {j.stimulus} {how} class {self._name(cls)}, not the target "
                              f"{self._name(j.target)}: LEAPS primes with a video of the target class",
                              UserWarning, stacklevel=4)

    def _name(self, c: int) -> str:
        return f"{c} ({self.class_names[c]})" if self.class_names is not None and c < len(self.class_names) else str(c)

    def _weights(self, jobs: list[InversionJob]) -> dict[str, torch.Tensor]:
        scale = {"coh": self.r, "feat": self.r, "tv": self.tv_weight, "l2": self.l2_weight}
        w = np.array([VARIANTS[j.variant] for j in jobs], np.float32)
        return {t: torch.tensor(w[:, i] * scale.get(t, 1.0), device=self.device) for i, t in enumerate(_TERMS)}

    @property
    def jitter(self) -> int:
        """The largest random shift (pixels) of x* each step: DeepInversion's (30 px at 224, [64]), scaled to
        the synthesized size."""
        return self._jitter if self._jitter is not None else max(1, round(min(self.size[1:]) * 30 / 224))

    def _starts(self, jobs: list[InversionJob], steps: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Each job's noise start and jitter from its own seed, so a batch equals its jobs run alone."""
        starts, shifts = [], []
        for j in jobs:
            g = torch.Generator().manual_seed(j.seed)
            starts.append(self.init_scale * torch.randn((3, *self.size), generator=g))
            shifts.append(torch.randint(-self.jitter, self.jitter + 1, (steps, 2), generator=g))
        return (torch.stack(starts).to(self.device),
                torch.stack(shifts, 1).to(self.device) if self.jitter > 0 else None)

    def _run(self, jobs, prepared, stimulus_means, steps, callback, every, stop,
             stage_every) -> list[InversionResult]:
        weights = self._weights(jobs)
        targets = torch.tensor([j.target for j in jobs], device=self.device)
        lam = torch.tensor(self.priming_weights, device=self.device)
        use = {t: bool((w != 0).any()) for t, w in weights.items()}
        lo = ((0 - self.mean) / self.std).view(1, 3, 1, 1, 1)
        hi = ((1 - self.mean) / self.std).view(1, 3, 1, 1, 1)
        amp = self._amp
        index = torch.tensor([j.stimulus if j.stimulus is not None else 0 for j in jobs], device=self.device)
        means_v = [m[index] for m in stimulus_means]  # each job's stimulus's μ(z_l(v))
        pool = pooling([j.variant if self.feature_pooling == "batch" else i for i, j in enumerate(jobs)],
                       self.device)
        stages: list[tuple[int, torch.Tensor]] = []
        verifier = frozen(self.verifier) if self.verifier is not None else contextlib.nullcontext()
        with self._taps(use["feat"]) as (feats, bn_inputs), frozen(self.model), verifier:

            def score(moved, xs):
                x = moved["video"]
                with torch.autocast(**amp):
                    logits = self.model_logits(x)
                z = [spacetime(feats[n], self._channels_last) for n in self.layers]
                parts = {"ce": F.cross_entropy(logits.float(), targets, reduction="none")}
                zero = parts["ce"] * 0
                parts["prim"] = priming_loss([space_time_mean(f) for f in z], means_v, lam) if use["prim"] else zero
                # the last layer that still has time in it (a 3D ResNet at 8 frames pools it away by layer4)
                deepest = next((f for f in reversed(z) if f.shape[2] >= 2), z[-1])
                parts["coh"] = temporal_coherence(deepest, self.delta) if use["coh"] else zero
                if use["feat"]:
                    with torch.autocast(**amp):
                        self.verifier_logits(x)
                    parts["feat"] = feature_statistics([bn_inputs[n] for n, _ in self._bns],
                                                       [bn for _, bn in self._bns], pool)
                else:
                    parts["feat"] = zero
                parts["tv"] = total_variation_l2(x) if use["tv"] else zero
                parts["l2"] = l2_norm(x) if use["l2"] else zero
                parts["total"] = sum(weights[t] * parts[t] for t in _TERMS)
                return parts

            def project(xs):  # keep every colour channel inside its valid pixel range
                xs["video"].copy_(torch.maximum(torch.minimum(xs["video"], hi), lo))

            def on_progress(snap: Snapshot):
                if snap.step % stage_every == 0 or snap.step == snap.steps:
                    stages.append((snap.step, torch.from_numpy(snap.streams["video"])))
                if callback is not None:
                    callback(snap)

            init, shifts = self._starts(jobs, steps)
            outcome = run_batched(score, {"video": init}, steps=steps, lr=self.lr, lr_end=0.0, shifts=shifts,
                                  maximize=False, project=project, stop=stop, callback=on_progress,
                                  every=_gcd_every(every, stage_every))
            with torch.no_grad(), torch.autocast(**amp):
                probs = self.model_logits(outcome.best["video"]).float().softmax(1).cpu().numpy()
        return self._results(jobs, outcome, prepared, stages, probs)

    def _results(self, jobs, outcome: LoopOutcome, prepared, stages, probs) -> list[InversionResult]:
        settings = self.settings()
        out = []
        for i, j in enumerate(jobs):
            x = outcome.best["video"][i]
            out.append(InversionResult(
                job=j, video=self.to_video(x), x=x.detach().float().cpu().numpy(),
                stimulus=self.to_video(prepared[j.stimulus]) if j.stimulus is not None else None,
                history={k: v[:, i] for k, v in outcome.history.items()},
                stages=[(s, self.to_video(v[i])) for s, v in stages],
                probabilities=probs[i], best_step=int(outcome.best_step[i]),
                status="diverged" if outcome.diverged_at[i] >= 0 else outcome.status.replace("diverged", "completed"),
                diverged_at=int(outcome.diverged_at[i]) if outcome.diverged_at[i] >= 0 else None,
                settings={**settings, "steps": outcome.steps_run, "job": asdict(j)}))
        bad = [f"{r.title} at step {r.diverged_at}" for r in out if r.diverged_at is not None]
        if bad:
            warnings.warn("the loss became NaN or infinite for " + "; ".join(bad) + ": those videos stopped there "
                          "and keep their last finite state", RuntimeWarning, stacklevel=4)
        return out

    def settings(self) -> dict:
        return {"layers": self.layers, "priming_weights": self.priming_weights.tolist(), "r": self.r,
                "delta": self.delta, "lr": self.lr, "feature_pooling": self.feature_pooling,
                "size": list(self.size), "tv_weight": self.tv_weight,
                "l2_weight": self.l2_weight, "bf16": self.bf16, "device": str(self.device),
                "verifier": type(self.verifier).__name__ if self.verifier is not None else None,
                "model_size": list(self.model_size) if self.model_size else None}

    # -- the 3D AM baseline -------------------------------------------------------------------------------
    def _run_am(self, jobs, prepared, steps, stop, stage_every) -> list[InversionResult]:
        """3D AM on the class logit (the two-stream AM method on a single-stream model), at x*'s size."""
        from .activation_maximization import ActivationMaximization, AMJob

        head = final_linear(self.model)
        am = ActivationMaximization(self.model, input_shape=(3, *self.size), steps=steps, bf16=self.bf16,
                                    device=self.device)
        stages: list[tuple[int, np.ndarray]] = []

        def on_progress(snap):
            stages.append((snap.step, snap.streams["video"]))

        res = am([AMJob(head, j.target, 1.0, self.am_gamma, j.seed) for j in jobs], steps=steps, stop=stop,
                 every=stage_every, callback=on_progress)
        to_model = lambda a: am.streams.model_inputs({"video": torch.as_tensor(a).to(self.device)})[0]  # noqa: E731
        xs = to_model(np.stack([r.appearance.transpose(3, 0, 1, 2) for r in res]))
        with torch.no_grad(), frozen(self.model):
            probs = self.model_logits(xs).float().softmax(1).cpu().numpy()
        out = []
        for i, (j, r) in enumerate(zip(jobs, res)):
            out.append(InversionResult(
                job=j, video=self.to_video(xs[i]), x=xs[i].float().cpu().numpy(),
                stimulus=self.to_video(prepared[j.stimulus]) if j.stimulus is not None else None,
                history={"total": -r.objective, "activation": r.activation},
                stages=[(s, self.to_video(to_model(v[i:i + 1])[0])) for s, v in stages],
                probabilities=probs[i], best_step=r.best_step, status=r.status, diverged_at=r.diverged_at,
                settings={**r.settings, "size": list(self.size), "job": asdict(j), "am_layer": head}))
        return out


def leaps(model: nn.Module, target_class: int | Sequence[int], stimulus, verifier: nn.Module | str | None = "tiny_verifier",
          *, seeds: Sequence[int] = (0,), variant: str = "leaps", steps: int | None = None, callback=None,
          stop=None, every: int = 25, stage_every: int | None = None, **kw):
    """LEAPS on ``model``: one synthesized video per (class, seed), each primed by ``stimulus``, a video
    T×H×W×3 (or one per class). Returns an :class:`InversionResult` for one class and one seed, else
    :class:`InversionResults`. Keyword arguments configure :class:`ModelInversion` (``r``, ``layers``,
    ``priming_weights``, ``size``, ``lr``, ``bf16`` …)."""
    classes = [target_class] if np.ndim(target_class) == 0 else list(target_class)
    stimuli = _as_stimuli(stimulus, len(classes))
    inv = ModelInversion(model, verifier, **kw)
    jobs = [InversionJob(int(c), i if stimuli else None, int(s), variant) for i, c in enumerate(classes)
            for s in seeds]
    res = inv(jobs, stimuli, steps=steps, callback=callback, stop=stop, every=every, stage_every=stage_every)
    return res[0] if len(res) == 1 else res


def deep_dream(model: nn.Module, target_class, *, seeds: Sequence[int] = (0,), **kw):
    """The 3D DeepDream baseline: cross-entropy plus total-variation and l2 priors, from noise, no stimulus."""
    return leaps(model, target_class, None, kw.pop("verifier", None), seeds=seeds, variant="deepdream", **kw)


def activation_maximization_3d(model: nn.Module, target_class, *, seeds: Sequence[int] = (0,), **kw):
    """The 3D AM baseline: the class logit maximized with the AM method's spatiotemporal regularizers."""
    return leaps(model, target_class, None, kw.pop("verifier", None), seeds=seeds, variant="am", **kw)


# -- model facts --------------------------------------------------------------------------------------------
def default_layers(model: nn.Module) -> list[str]:
    """The priming layers Λ of the known architectures: their stages, last one deepest."""
    import torchvision.models.video as tvv

    children = dict(model.named_children())
    if all(f"layer{i}" in children for i in range(1, 5)):  # torchvision ResNets, the embedded tiny_r3d
        return ["stem"] + [f"layer{i}" for i in range(1, 5)]
    if all(f"block{i}" in children for i in range(1, 4)):  # the embedded tiny_verifier
        return ["stem", "block1", "block2", "block3"]
    if isinstance(model, tvv.MViT):
        n = len(model.blocks)
        return [f"blocks.{i}" for i in sorted({n // 4 - 1, n // 2 - 1, 3 * n // 4 - 1, n - 1})]
    if isinstance(model, tvv.SwinTransformer3d):
        return [f"features.{i}" for i in range(0, len(model.features), 2)]
    if isinstance(model, tvv.S3D):
        return ["features.3", "features.7", "features.13", "features.15"]
    raise ValueError(f"no default priming layers for {type(model).__name__}; pass layers=[...] with the names of "
                     "space-time layers, last one deepest (vidvis_widgets.models.list_layers lists them)")


def _default_size(model: nn.Module) -> tuple[int, int, int]:
    from ..models.registry import EMBEDDED

    info = getattr(model, "vidvis_info", None)
    if info is not None and info.name in EMBEDDED:
        return (8, *info.size)
    return (8, 224, 224)


def _gcd_every(every: int, stage_every: int) -> int:
    import math

    return math.gcd(max(1, every), max(1, stage_every))


def _as_stimuli(stimulus, n: int) -> list:
    if stimulus is None:
        return []
    if isinstance(stimulus, (list, tuple)):
        if len(stimulus) != n:
            raise ValueError(f"give one stimulus for all classes or one per class; got {len(stimulus)} for {n} classes")
        return list(stimulus)
    return [stimulus] * n

