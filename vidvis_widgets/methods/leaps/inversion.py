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
it on the stimulus every step); x* is synthesized at the model's native input by default (the paper's is
8 × 224² for every model, interpolated to a fixed-size model's input).

Baselines with the same call: 3D DeepDream (cross-entropy plus total-variation and l2 priors) as the
``"deepdream"`` variant, and 3D AM (the two-stream AM issue's single-stream method on the class logit)
as ``"am"`` (:mod:`.baselines`); the ablation rows of the paper's Table 3 are the variants ``"prim"``,
``"prim+coh"`` and ``"prim+feat"``. A call's jobs, their checks and what each optimizes are in :mod:`.jobs`, the
stimuli's and x*'s video I/O in :mod:`.stimuli`, the memory estimate in :mod:`.memory`.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from dataclasses import replace
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .terms import EVALUATORS, TERMS, VARIANTS, batchnorm_layers, pooling, spacetime, term_weights
from ...models.adapter import adapter_of
from ...models.probe import Probe
from ...models.layers import submodule
from ...models.run_control import Stopped, check_stop, ctrl_c_stops, device_of, ended, frozen, stop_status, stoppable
from ...checks import number
from ..core.cache import Cached, content_hash
from ..core.loop import LoopOutcome, Snapshot, autocast, run_batched, seeded_starts
from ..core.objectives import BatchedObjective
from ..core.targets import Target, job_settings
from ..core.progress import count, progress_bar, wanted
from .baselines import AMBaseline
from .jobs import InversionJobs
from .inputs import check_priming_weights, check_size, default_size, single_stream
from .memory import MemoryEstimate
from .results import ROW_NAMES, TABLE_ROWS, InversionJob, InversionResult, InversionResults
from .stimuli import StimulusIO
from .verifier import default_verifier

__all__ = ["ModelInversion", "leaps", "deep_dream", "activation_maximization_3d", "InversionJob", "InversionResult",
           "InversionResults", "ROW_NAMES", "TABLE_ROWS", "VARIANTS"]

class ModelInversion(InversionJobs, StimulusIO, MemoryEstimate, AMBaseline):
    """Model inversion on a video model: build once, call with targets and their stimuli (or jobs); every call
    returns :class:`InversionResults`.

        inv = ModelInversion(load_model("tiny_r3d"), verifier=load_model("tiny_verifier"))
        results = inv(3, video, seeds=range(4))             # class 3 primed by a video, 4 seeds: 4 results
        results = inv([InversionJob(3, 0, seed=0, variant="prim"), InversionJob(5, 1)], [video3, video5])

    ``verifier``: the network S of R_feat, with BatchNorm layers: ``"auto"`` (the default) picks one trained on
    the model's data (the embedded ``tiny_verifier`` for the embedded models) or says what to pass (the paper
    uses X3D-S: ``load_model("pytorchvideo:x3d_s", weights=...)``); ``None`` runs without R_feat (a variant that uses
    it leaves it out, and a warning says so). ``layers``: the priming layers Λ (default: the stages of the
    known architectures), the last of which is R_coh's layer L (or the deepest one that still has two
    temporal positions, where the last has pooled time away); ``priming_weights``: λ_l, one per layer or
    one for all, 0 < λ ≤ 1. ``r``: the regularizer scale of eq. 4. ``size``: (T, H, W) of x*; default
    the model's native input from its adapter (:func:`default_size`; the paper's is 8 × 224² for every model),
    so the model sees x* as it is; a model whose native input is unknown needs ``size=``. A ``size=`` other
    than a fixed-size model's own is interpolated to it, as the paper does, and the verifier always sees x* at
    its own size, where its BatchNorm statistics were gathered; every result's ``settings["size"]`` records
    x*'s size. ``lr``: Adam's, decayed along a cosine to 0.
    ``feature_pooling``: ``"batch"`` (R_feat's statistics over all the jobs of a variant in the call, so
    a batch spanning the classes is held to the dataset's statistics as a whole) or ``"video"`` (each video
    to them alone, so a batch gives exactly what its jobs give alone).
    ``store``: a :class:`~vidvis_widgets.store.ResultStore`, its folder's path, or ``True`` (the default one), as for
    activation maximization: each job's answer is kept under both networks' weights, the job, its stimulus's
    content and every setting; a later call loads it instead of optimizing. With ``feature_pooling="batch"``
    a job's answer depends on its batch-mates, so it is kept for, and found by, the same batch of jobs.
    """

    def __init__(self, model: nn.Module, verifier: nn.Module | str | None = "auto", *,
                 layers: Sequence[str] | None = None, priming_weights: float | Sequence[float] = 1.0,
                 r: float = 0.01, delta: float = 1.0, lr: float = 0.2, steps: int = 2000, size=None,
                 tv_weight: float = 0.1, l2_weight: float = 0.01, bf16: bool = False,
                 device: torch.device | str | None = None, am_gamma: float = 1.0, init_scale: float = 0.1,
                 jitter: int | None = None, feature_pooling: str = "batch", store=None):
        from ...models.registry import load_model

        if feature_pooling not in ("batch", "video"):
            raise ValueError(f"feature_pooling must be 'batch' or 'video', got {feature_pooling!r}")
        self.feature_pooling = feature_pooling
        single_stream(model, "inverted model")
        if isinstance(verifier, str) and verifier == "auto":
            verifier = default_verifier(adapter_of(model))
        if isinstance(verifier, str):
            verifier = load_model(verifier)
        if verifier is not None:
            single_stream(verifier, "verifier")

        self.device = device_of(model, device)
        self.model = model.to(self.device)
        self.verifier = verifier.to(self.device) if verifier is not None else None
        self.adapter = adapter_of(model)
        self.verifier_adapter = adapter_of(verifier) if verifier is not None else None
        if layers is None and not self.adapter.priming_layers:
            raise ValueError(f"no default priming layers for {self.adapter.name}; pass layers=[...] with the names "
                             "of space-time layers, last one deepest (vidvis_widgets.models.list_layers lists them)")
        self.layers = list(layers) if layers is not None else list(self.adapter.priming_layers)
        for name in self.layers:
            submodule(model, name)
        self.priming_weights = check_priming_weights(priming_weights, self.layers)
        self.r, self.delta = number("r", r, low=0), number("delta", delta, low=0)
        self.lr, self.steps = number("lr", lr, low=0, strict=True), number("steps", steps, low=1, integer=True)
        self.init_scale = number("init_scale", init_scale, low=0, strict=True)
        self._jitter = number("jitter", jitter, low=0, integer=True, default=None)
        self.tv_weight, self.l2_weight = number("tv_weight", tv_weight, low=0), number("l2_weight", l2_weight, low=0)
        self.bf16, self.am_gamma = bf16, number("am_gamma", am_gamma, low=0)
        info = getattr(model, "vidvis_adapter", None)
        self.class_names = tuple(info.class_names) if info is not None else None
        self.size = check_size(size) if size is not None else default_size(self.adapter)
        self.mean = torch.tensor(self.adapter.mean, device=self.device)
        self.std = torch.tensor(self.adapter.std, device=self.device)
        self.model_size = self.adapter.native_shape if self.adapter.fixed_size else None
        # the verifier sees every video at the size it was trained at
        self.verifier_size = self.verifier_adapter.native_shape if self.verifier is not None else None
        self._bns = batchnorm_layers(self.verifier) if self.verifier is not None else []
        self.cache = Cached(store, self.model, "leaps")

    # -- running --------------------------------------------------------------------------------------
    def __call__(self, target=None, inputs=None, *, seeds=0, steps: int | None = None,
                 stop: threading.Event | None = None, callback: Callable[[Snapshot], None] | None = None,
                 every: int = 25, progress: bool | None = None, stage_every: int | None = None,
                 stimulus_labels: Sequence[int] | None = None, variant: str = "leaps") -> InversionResults:
        """Synthesizes a video for every job; returns :class:`InversionResults`, one :class:`InversionResult` per
        job in job order, always (one job gives a collection of one).

        ``target``: a class (an index or one of the model's class names), any target (``logit("a") - logit("b")``,
        see :class:`InversionJob`), or a list of them, each run from every seed of ``seeds`` (an int or a list of
        them) as ``variant`` (``"leaps"``, its ablations, ``"deepdream"`` or ``"am"``): one job per target and seed,
        targets first. ``inputs``: the priming stimuli, each a video T×H×W×3 (uint8, or float in [0, 1]): one for
        every target, or a list of one per target. Or ``target`` is :class:`InversionJob` values, one or a list,
        which carry their own seed and variant and name their stimulus by its number in ``inputs`` (a video, or a
        list of them). ``stimulus_labels``: the stimuli's classes, checked against the jobs' targets (else the
        model's prediction on each stimulus is). ``stage_every``: keep the video every so many steps (default: 8
        stages over the run).

        Every variant but ``"am"`` runs in one batch (the inverted model and the verifier run once per step for all
        of them), the ``"am"`` jobs in a second batch. Before anything large is allocated, the memory the call needs
        is estimated (:meth:`memory_needed`) and a call that cannot fit is refused. ``stop`` (an Event) or Ctrl-C
        end the call in any phase: during the set-up (the probe, the stimuli, their pass) within a layer, with every
        job's start (status "stopped" or "interrupted", no steps, no probabilities); in a loop after the pass of the
        step it lands in (no further pass), with each job's best so far. ``callback`` sees a :class:`Snapshot`
        every ``every`` steps.

        ``progress``: a bar over the steps of each batch (tqdm.auto: a widget in a notebook, text in a terminal);
        None (the default) shows one unless a ``callback`` is given (a widget shows its own progress) or the
        environment variable ``VIDVIS_PROGRESS`` is 0 (see :mod:`~vidvis_widgets.methods.core.progress`)."""
        jobs, stimuli = self.jobs(target, inputs, seeds, variant)
        steps = number("steps", steps, low=1, integer=True, default=self.steps)
        every = number("every", every, low=1, integer=True)
        show = wanted(progress, callback)
        stage_every = number("stage_every", stage_every, low=1, integer=True, default=max(1, steps // 8))
        jobs = [replace(j, target=self.resolve_target(j.target, check_range=False)) for j in jobs]
        with ctrl_c_stops(stop) as stop:  # from here on a Ctrl-C is a Stop with status "interrupted"
            return InversionResults(self.cache(
                jobs, lambda todo: self._call(todo, stimuli, steps, callback, every, stop, stage_every, stimulus_labels,
                                              show),
                key=self._store_key(stimuli, steps, stage_every), encode=InversionResult.to_entry, decode=InversionResult.from_entry,
                together=self.feature_pooling == "batch"))

    def _store_key(self, stimuli: list[np.ndarray], steps: int, stage_every: int) -> Callable[[InversionJob], dict]:
        """What decides a job's answer: every setting, the job, its stimulus's content and the verifier's weights
        (with R_feat pooled over the batch, the store keys each job by its batch-mates too)."""
        if self.cache.store is None:
            return lambda j: {}
        from ...store import weights_hash

        base = {**self.settings(), "steps": steps, "stage_every": stage_every,
                "verifier_weights": weights_hash(self.verifier) if self.verifier is not None else None}
        hashes = [content_hash(v) for v in stimuli]
        return lambda j: {**base, "job": job_settings(j),
                          "stimulus": hashes[j.stimulus] if j.stimulus is not None and j.stimulus < len(hashes) else None}

    def _call(self, jobs, stimuli, steps, callback, every, stop, stage_every, stimulus_labels,
              progress: bool = False) -> InversionResults:
        labels = None
        if stimulus_labels is not None:
            labels = [self.class_index(c, check_range=False) for c in stimulus_labels]
            if len(labels) != len(stimuli):
                raise ValueError(f"stimulus_labels gives {len(labels)} classes for {len(stimuli)} stimuli")
        prepared: list[torch.Tensor] = []
        try:  # set-up: Stop (within a layer of any pass) and Ctrl-C end it at once, with every job's start
            with stoppable(self.model, stop), stoppable(self.verifier, stop) if self.verifier is not None else \
                    contextlib.nullcontext():
                for c in [j.target for j in jobs] + (labels or []):
                    self.resolve_target(c)  # in range (a model without class names runs a small probe to tell)
                self._check(jobs)
                self.check_memory(jobs, len(stimuli), steps, stage_every)
                for i, v in enumerate(stimuli):
                    check_stop(stop)
                    prepared.append(self.prepare_stimulus(v, f"stimulus {i}"))
                predicted, means_v = self._stimulus_pass(prepared)
                check_stop(stop)
        except (Stopped, KeyboardInterrupt) as err:
            return InversionResults(self._unrun(jobs, ended(err), prepared))
        self._warn_stimulus_classes(jobs, predicted, labels)
        out: list[InversionResult | None] = [None] * len(jobs)
        am = [i for i, j in enumerate(jobs) if j.variant == "am"]
        rest = [i for i, j in enumerate(jobs) if j.variant != "am"]
        status = None  # how the first batch ended, if it ended early
        if rest:
            for i, r in zip(rest, self._run([jobs[i] for i in rest], prepared, means_v, steps, callback, every, stop,
                                            stage_every, progress)):
                out[i] = r
                status = r.status if r.status in ("stopped", "interrupted") else status
        if am and status is None and not (stop is not None and stop.is_set()):
            for i, r in zip(am, self._run_am([jobs[i] for i in am], prepared, steps, stop, stage_every,
                                             progress=progress)):
                out[i] = r
        elif am:  # stopped or interrupted before the AM batch began: each AM job keeps its start
            for i, r in zip(am, self._run_am([jobs[i] for i in am], prepared, steps, stop, stage_every,
                                             unstarted=status or stop_status(stop))):
                out[i] = r
        return InversionResults(out)

    def _unrun(self, jobs: list[InversionJob], status: str, prepared: list[torch.Tensor]) -> list[InversionResult]:
        """Results for jobs that never ran (stopped or interrupted before their loop): each job's start, no
        steps, no probabilities."""
        am = [j for j in jobs if j.variant == "am"]
        from_am = iter(self._run_am(am, prepared, 1, None, 1, unstarted=status) if am else [])
        settings = self.settings()
        out = []
        for j in jobs:
            if j.variant == "am":
                out.append(next(from_am))
                continue
            x = self._starts([j], 1)[0][0]
            stim = prepared[j.stimulus] if j.stimulus is not None and j.stimulus < len(prepared) else None
            out.append(InversionResult(
                job=j, video=self.to_video(x), x=x.float().cpu().numpy(),
                stimulus=self.to_video(stim) if stim is not None else None,
                history={k: np.empty(0, np.float32) for k in ("total",) + TERMS},
                stages=[], probabilities=self._no_probabilities(), best_step=0, status=status,
                diverged_at=None, settings={**settings, "steps": 0, "job": job_settings(j)}))
        return out

    def _no_probabilities(self) -> np.ndarray:
        """The probabilities of a job with no pass on its returned input (stopped before its first step): none."""
        return np.zeros(0, np.float32)

    @contextlib.contextmanager
    def _taps(self, verifier: bool, extra: Sequence[str] = ()):
        """Probes the priming layers (N×C×T×H×W whatever the architecture emits), and ``extra`` layers (the units of
        the jobs' targets), and with ``verifier`` the inputs of the verifier's BatchNorm layers, on every pass."""
        with contextlib.ExitStack() as stack:
            feats = stack.enter_context(Probe(self.model, list(dict.fromkeys([*self.layers, *extra])),
                                              layout=self.adapter.layer_layout))
            bns = stack.enter_context(Probe(self.verifier, batchnorm_inputs=True)) if verifier else None
            yield feats, (bns.bn_inputs if bns is not None else {})

    @property
    def jitter(self) -> int:
        """The largest random shift (pixels) of x* each step: DeepInversion's (30 px at 224, [64]), scaled to
        the synthesized size."""
        return self._jitter if self._jitter is not None else max(1, round(min(self.size[1:]) * 30 / 224))

    def _starts(self, jobs: list[InversionJob], steps: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Each job's noise start and jitter from its own seed, so a batch equals its jobs run alone."""
        starts, shifts = seeded_starts([j.seed for j in jobs], {"video": (3, *self.size)}, {"video": self.init_scale},
                                       self.device, steps=steps,
                                       shift_ranges=[(-self.jitter, self.jitter + 1)] * len(jobs) if self.jitter else None)
        return starts["video"], shifts

    def _run(self, jobs, prepared, stimulus_means, steps, callback, every, stop,
             stage_every, progress: bool = False) -> list[InversionResult]:
        # every job's objective, evaluated by the one machinery: terms with their per-job weights in one pass
        objective = BatchedObjective([self.objective(j) for j in jobs], self.device, evaluators=EVALUATORS)
        uses_feat = "feat" in objective.ops
        # a target's history under "ce" is its negated value, where a class's is its cross-entropy
        is_class = torch.tensor([not isinstance(j.target, Target) for j in jobs], device=self.device)
        w_ce = torch.tensor([term_weights(self.loss(j.variant))["ce"] for j in jobs], device=self.device)
        extra = sorted(set().union(*(j.target.unit_layers() for j in jobs if isinstance(j.target, Target))))
        lam = torch.tensor(self.priming_weights, device=self.device)
        lo = ((0 - self.mean) / self.std).view(1, 3, 1, 1, 1)
        hi = ((1 - self.mean) / self.std).view(1, 3, 1, 1, 1)
        index = torch.tensor([j.stimulus if j.stimulus is not None else 0 for j in jobs], device=self.device)
        means_v = [m[index] for m in stimulus_means]  # each job's stimulus's μ(z_l(v))
        pool = pooling([j.variant if self.feature_pooling == "batch" else i for i, j in enumerate(jobs)],
                       self.device)
        stages: list[tuple[int, torch.Tensor]] = []
        verifier = frozen(self.verifier) if self.verifier is not None else contextlib.nullcontext()
        with self._taps(uses_feat, extra) as (feats, bn_inputs), frozen(self.model), verifier, \
                progress_bar(steps, f"LEAPS ({count(len(jobs), 'job')})", progress) as bar:

            def score(moved, xs):
                x = moved["video"]
                with autocast(self.device, self.bf16):
                    logits = self.model_logits(x)
                context = {"logits": logits, "features": [spacetime(feats[n]) for n in self.layers],  # N×C×T×S
                           "stimulus_means": means_v, "priming_weights": lam, "delta": self.delta}
                if uses_feat:
                    with autocast(self.device, self.bf16):
                        self.verifier_logits(x)
                    context.update(bn_inputs=[bn_inputs[n] for n, _ in self._bns], bns=[bn for _, bn in self._bns],
                                   pool=pool)
                read = {**{n: feats[n] for n in extra}, self.adapter.logit_layer: logits}
                sums, values = objective.evaluate(read, {"video": x}, **context)
                zero = torch.zeros_like(sums["total"])
                parts = {t: zero for t in TERMS} | {slot.op: v for slot, v in values if slot.op in TERMS}
                parts["ce"] = torch.where(is_class, parts["ce"], -sums["unit"] / w_ce)
                # the history keeps eq. 4's loss L, the objective negated, which the loop therefore minimizes
                parts["total"] = -sums["total"]
                parts["keep"] = {"p": logits.detach().float().softmax(1)}  # the results' probabilities
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
                                  every=_gcd_every(every, stage_every), bar=bar)
            with torch.no_grad(), autocast(self.device, self.bf16):  # a pass only after a run that took every step
                probs = outcome.measured("p", lambda: self.model_logits(outcome.best["video"]).float().softmax(1))
        return self._results(jobs, outcome, prepared, stages, probs)

    def _results(self, jobs, outcome: LoopOutcome, prepared, stages, probs) -> list[InversionResult]:
        settings, out = {**self.settings(), "final_values": outcome.values_from}, []
        history = {k: np.zeros((0, len(jobs)), np.float32) for k in ("total",) + TERMS} | outcome.history
        for i, j in enumerate(jobs):
            x = outcome.best["video"][i]
            out.append(InversionResult(
                job=j, video=self.to_video(x), x=x.detach().float().cpu().numpy(),
                stimulus=self.to_video(prepared[j.stimulus]) if j.stimulus is not None else None,
                history={k: v[:, i] for k, v in history.items()},
                stages=[(s, self.to_video(v[i])) for s, v in stages],
                probabilities=self._no_probabilities() if probs is None else probs[i].cpu().numpy(),
                **outcome.job_status(i),
                settings={**settings, "steps": outcome.steps_run, "job": job_settings(j),
                          "loss": repr(self.loss(j.variant))}))
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
                "init_scale": self.init_scale, "jitter": self.jitter, "am_gamma": self.am_gamma,
                "model_size": list(self.model_size) if self.model_size else None}



def leaps(model: nn.Module, target=None, inputs=None, *, seeds=0, steps: int | None = None, stop=None,
          callback=None, every: int = 25, device=None, bf16: bool = False, store=None, progress: bool | None = None,
          verifier: nn.Module | str | None = "auto", variant: str = "leaps", stage_every: int | None = None,
          stimulus_labels=None, **settings) -> InversionResults:
    """LEAPS on ``model``: ``ModelInversion(model, verifier, device=, bf16=, store=, **settings)(target, inputs,
    seeds=, variant=, ...)``, one synthesized video per target (a class index or name, any target, or a list of them)
    and seed, each primed by ``inputs``: a video T×H×W×3, uint8 or float in [0, 1], or one per target. Returns
    :class:`InversionResults`, always. ``settings`` configure :class:`ModelInversion` (``r``, ``layers``,
    ``priming_weights``, ``size`` (default: the model's native input), ``lr`` …)."""
    inv = ModelInversion(model, verifier, device=device, bf16=bf16, store=store, **settings)
    return inv(target, inputs, seeds=seeds, steps=steps, stop=stop, callback=callback, every=every,
               progress=progress, stage_every=stage_every, stimulus_labels=stimulus_labels, variant=variant)


def deep_dream(model: nn.Module, target=None, inputs=None, *, seeds=0, verifier=None, **kw):
    """The 3D DeepDream baseline: cross-entropy plus total-variation and l2 priors, from noise, not primed (``inputs``,
    if given, are shown beside the results); :func:`~.inversion.leaps`' call with ``variant="deepdream"``, returning
    :class:`~.results.InversionResults`."""
    return leaps(model, target, inputs, seeds=seeds, verifier=verifier, variant="deepdream", **kw)


def activation_maximization_3d(model: nn.Module, target=None, inputs=None, *, seeds=0, verifier=None, **kw):
    """The 3D AM baseline: the class logit (or target) maximized with the AM method's spatiotemporal regularizers;
    :func:`~.inversion.leaps`' call with ``variant="am"``, returning :class:`~.results.InversionResults`."""
    return leaps(model, target, inputs, seeds=seeds, verifier=verifier, variant="am", **kw)


def _gcd_every(every: int, stage_every: int) -> int:
    import math

    return math.gcd(max(1, every), max(1, stage_every))
