"""Two-stream spatiotemporally regularized activation maximization (Feichtenhofer et al., CVPR 2018;
IJCV 2020, Sec. 3).

    x* = argmax_x  ⟨a_l(x), e_c⟩ / (ρ_l² â_{l,c})  −  Σ_streams [λ_B R_B(x) + λ_TV R_TV(x; κ, γ)]

with R_B the local energy norm under a hard bound B (eq. 2) and R_TV the spatiotemporal variation
(eq. 3). Defaults are the paper's: B = 160, α = 3, V = B/6.5, λ_B = 1/(HWB^α), λ_TV = 1/(HWV²) on
appearance and 10× that on motion; Adam with a decaying learning rate; jitter up to the layer's stride
(whole patches on a token model), its range settling to nothing over the first 75% of the run.
Streams are optimized in the 8-bit units those defaults are stated in (see :mod:`vidvis_widgets.models.streams`).
"""

from __future__ import annotations

import threading
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ...models.adapter import adapter_of
from ...models.layers import read_at_first_run
from ...models.run_control import Stopped, check_stop, ctrl_c_stops, device_of, ended, frozen
from ...models.probe import Probe
from ...checks import number
from ..core.cache import Cached
from ..core.calls import make_jobs
from ..core.diagnostics import InputGradient, flag_dead_units
from ..core.loop import LoopOutcome, Snapshot, autocast, pre_activation_layers, run_batched, seeded_starts
from ..core.objectives import BatchedObjective, JobUnits, Objective, energy, tv
from ..core.targets import job_settings, target_values, unit
from ..core.progress import count, progress_bar, wanted
from ..core.regularizers import project_to_bound
from ...models.streams import InputStreams
from .geometry import LayerGeometry
from .normalization import ActivationMaxima
from .results import NOT_MEASURED, PRESETS, TARGET_VALUE, UNKNOWN_MAX, AMJob, AMResult, AMResults, ResolvedJob, sweep

__all__ = ["ActivationMaximization", "activation_maximization", "AMJob", "AMResult", "AMResults", "PRESETS", "sweep"]

#: what ``target=`` takes, for the errors
EXPECTED = ("a target (unit(layer, channel), logit(class), their sums), a class index or name, a list of them, or "
            "AMJob values")


class ActivationMaximization:
    """Activation maximization on a model: build once, call with targets (or jobs); every call returns
    :class:`AMResults`.

        am = ActivationMaximization(load_model("tiny_two_stream"))
        results = am(unit("conv5_fusion", 4), gamma=5)              # one job: results[0]
        results = am([unit("fc8", 0), "apply_lipstick"], seeds=[0, 1])  # 2 targets × 2 seeds, one batch
        results = am(sweep(unit("fc8", 0)) + sweep(unit("fc8", 1)))  # the papers' (κ, γ) sweeps as AMJobs

    ``activation_max``: â per layer, ``"auto"`` (a response pass over ``val_data``, by default the embedded
    val split for the embedded models, else 1), a dict layer → (C,) array, or ``None`` (1); a non-finite â
    for a job's unit is refused, naming the unit. ``val_data``: a dict of arrays or a map-style dataset, as
    :func:`~vidvis_widgets.methods.response_statistics` takes. ``input_shape`` for models without
    ``vidvis_adapter``.

    A multi-pathway model (PyTorchVideo's SlowFast) is the two-stream case generalized: with
    ``pathways="separate"`` (the default) each pathway gets its own input at its own frame rate, bounded and
    regularized on its own with the job's (κ, γ), as the papers treat appearance and motion; ``"joint"``
    optimizes one video that the pathways sample, as they sample a real clip.

    ``regularization`` scales every λ: the papers pick this trade-off so the terms weigh alike, and we
    measured 0.1 (on top of the 1/ρ² that puts the regularizers on the unit term's scale) to let ≥ 90% of
    the embedded model's fusion and fc units pass their validation maximum; at 1 the inputs are smoother
    and weaker. ``lr`` and ``init_scale`` are in units of the model's normalized input per stream (one
    RGB std, one flow_scale of flow): Adam steps of 0.5 decaying to 0.05, from N(0, 1) noise.

    ``store``: a :class:`~vidvis_widgets.store.ResultStore`, its folder's path or ``True`` (the default one). Each job's
    completed result is kept under the model's weights, the job, â and every setting; a later call loads
    the stored jobs and optimizes only the rest. Stopped or interrupted runs are not stored.
    """

    #: the fraction of a run over which the jitter's range shrinks linearly to nothing, so the last steps climb the
    #: input as it is returned (None: the full range throughout); see the README's "Jitter" for the measurement
    jitter_settle: float | None = 0.75
    #: on a model with a token grid, jitter in whole patches (else in pixels, as on a conv net)
    jitter_in_patches: bool = True

    def __init__(self, model: nn.Module, *, input_shape=None, bound: float = 160.0, alpha: float = 3.0,
                 steps: int = 300, lr: float = 0.5, lr_end: float = 0.1, jitter: bool = True,
                 regularization: float = 0.1, motion_tv_factor: float = 10.0, fold_bn: bool = False,
                 bf16: bool = False, device: torch.device | str | None = None, activation_max="auto",
                 val_data=None, init_scale: float = 1.0, store=None, pathways: str = "separate"):
        self.init_scale = number("init_scale", init_scale, low=0, strict=True)
        bound, alpha = number("bound", bound, low=0, strict=True), number("alpha", alpha, low=1)
        steps = number("steps", steps, low=1, integer=True)
        lr, lr_end = number("lr", lr, low=0, strict=True), number("lr_end", lr_end, low=0, strict=True)
        regularization = number("regularization", regularization, low=0)
        motion_tv_factor = number("motion_tv_factor", motion_tv_factor, low=0)
        self.streams = InputStreams.of(model, input_shape, pathways)
        if fold_bn:
            from ...models.folding import fold_batchnorm

            model, _ = fold_batchnorm(model)
        self.device = device_of(model, device)
        self.model = model.to(self.device)
        self.cache = Cached(store, self.model, "activation_maximization")
        self.store = self.cache.store
        self.bound, self.alpha, self.steps, self.lr, self.lr_end = bound, alpha, steps, lr, lr_end
        self.jitter, self.regularization, self.motion_tv_factor = jitter, regularization, motion_tv_factor
        self.fold_bn, self.bf16 = fold_bn, bf16
        self.adapter = adapter_of(model)
        self.layout = self.adapter.layer_layout
        self.geometry = LayerGeometry(self.model, self.streams, self.adapter)  # the layer table, ρ, jitter
        self.maxima = ActivationMaxima(self.model, self.geometry, activation_max, val_data, self.device)  # â

    # -- layers ------------------------------------------------------------------------------------
    def layers(self, stop: threading.Event | None = None):
        """The model's whole layer table (output shape, receptive field, stride), cached. ``stop``: an Event
        that ends the work with :class:`~vidvis_widgets.models.run_control.Stopped` within a layer."""
        return self.geometry.layers(stop)

    def resolve(self, jobs: Sequence[AMJob]) -> list[ResolvedJob]:
        """The jobs on this model (see :meth:`.geometry.LayerGeometry.resolve`), checked without measuring anything:
        a misspelt layer or class is reported at once, with the close matches."""
        return self.geometry.resolve(jobs)

    @staticmethod
    def _reads(job: AMJob) -> set[str]:
        """The layers a job's unit or target reads, and its ρ/jitter layer."""
        return {job.layer} | (job.target.layers() if job.target is not None else set())

    @staticmethod
    def read_out(job: AMJob) -> Objective:
        """What the job maximizes, before its normalization and regularizers: its unit, or its target."""
        return job.target if job.target is not None else unit(job.layer, job.channel)

    def _read_outs(self, jobs: Sequence[AMJob]):
        """Each job's read-out (its unit's a, or its target's value) from one pass's recorded layers: (N,)."""
        if all(j.target is None for j in jobs):  # units alone: index tensors made once
            return JobUnits([j.layer for j in jobs], [j.channel for j in jobs], self.device)
        objectives = [self.read_out(j) for j in jobs]
        return lambda acts, rectified=frozenset(): target_values(objectives, acts, rectified, self.device)

    def measure(self, jobs: Sequence[AMJob], stop: threading.Event | None = None) -> None:
        """Everything the jobs need before their first step, checked: the layer table (receptive fields,
        strides) and â. ``stop`` ends it with :class:`~vidvis_widgets.models.run_control.Stopped` within a layer of
        the measurement or a batch of the â pass; nothing half-measured is kept."""
        jobs = self.resolve(jobs)
        check_stop(stop)
        self.maxima.check_given(jobs)  # given â first: it needs no measurement
        self.geometry.fetch_rows(sorted(set().union(*map(self._reads, jobs))), stop)  # one pass, up to the last of them
        for j in jobs:
            self.check(j)
        units = [j for j in jobs if j.target is None]  # a target's value is not normalized: no â
        self.activation_max(sorted({j.layer for j in units}), stop=stop)
        for j in units:
            self.maxima.a_hat(j)

    def check(self, job: AMJob) -> None:
        """A job's unit checked against its layer's real channel count (an error naming both); a target's
        read-outs against their layers' shapes."""
        self.geometry.check(job)

    # -- normalization â ------------------------------------------------------------------------------
    def activation_max(self, layers: Sequence[str], stop: threading.Event | None = None) -> dict[str, np.ndarray]:
        """â per layer: each channel's largest activation (summed over locations) on the validation data.
        ``stop``: ends the pass over the validation data with :class:`~vidvis_widgets.models.run_control.Stopped`."""
        return self.maxima.of(layers, stop)


    # -- the objective of eq. 1 ----------------------------------------------------------------------
    def lambdas(self, trade_off: float = 1.0) -> dict[str, tuple[float, float]]:
        """(λ_B, λ_TV) per stream: 1/(HWB^α) and 1/(HWV²), V = B/6.5; motion's TV weight × 10; all × trade_off."""
        H, W = self.streams.size
        v = self.bound / 6.5
        out = {}
        for s in self.streams.names:
            lam_b = trade_off / (H * W * self.bound ** self.alpha)
            lam_tv = trade_off / (H * W * v * v) * (self.motion_tv_factor if s == "motion" else 1.0)
            out[s] = (lam_b, lam_tv)
        return out

    def objective(self, job: AMJob | ResolvedJob) -> Objective:
        """Eq. 1 for ``job`` as a composable :class:`Objective` (printable, and what the loop maximizes)."""
        (job,) = self.resolve([job])
        self.check(job)
        a_hat = self.maxima.a_hat(job)
        a_hat = a_hat if a_hat is not None and a_hat > 0 else 1.0
        rho2 = self.geometry.rho(job.layer) ** 2
        obj = self.read_out(job) / (rho2 * a_hat)
        # the papers pick the trade-off λ_r so the terms weigh alike: at a = â the unit term is 1/ρ², while
        # λ_B R_B and λ_TV R_TV are per-pixel averages of order 1, so the regularizers share the 1/ρ²
        trade_off = self.regularization / rho2
        for s, (lam_b, lam_tv) in self.lambdas(trade_off).items():
            # the job's (κ, γ) for every input with time (a multi-pathway model's each pathway on its own); a
            # two-stream model's appearance is one frame, regularized spatially
            k, g = (1.0, 0.0) if s == "appearance" else (job.kappa, job.gamma)
            obj = obj - lam_b * energy(s, self.alpha) - lam_tv * tv(s, k, g)
        return obj

    # -- running -------------------------------------------------------------------------------------
    def __call__(self, target=None, inputs=None, *, seeds=0, steps: int | None = None,
                 stop: threading.Event | None = None, callback: Callable[[Snapshot], None] | None = None,
                 every: int = 25, progress: bool | None = None, kappa: float = 1.0, gamma: float = 0.0) -> AMResults:
        """Maximizes ``target`` from noise, all its jobs as one batch; returns :class:`AMResults`, one
        :class:`AMResult` per job in job order, always (one job gives a collection of one).

        ``target``: a target (``unit(layer, channel)``, ``logit(c)`` and their sums, see :class:`AMJob`), a class
        index or name (its logit), or a list of them, each run from every seed of ``seeds`` (an int or a list of them)
        under one regularizer setting, ``kappa`` and ``gamma``: one job per target and seed, targets first. Or
        :class:`AMJob` values, one or a list (``sweep(unit("fc8", 3))``), which carry their own setting and seed.
        ``inputs``: AM takes none (it starts from each job's seeded noise) and refuses them.

        ``stop`` (an Event) or Ctrl-C end the run within a second in every phase, the layer measurement and the
        pass for â included: each job then has a result with status "stopped" or "interrupted", holding its
        best input so far (its start input when no step ran). ``callback`` sees a :class:`Snapshot` every ``every``
        steps. ``progress``: a bar over the steps (tqdm.auto); None (default) shows one unless a ``callback`` is
        given or ``VIDVIS_PROGRESS=0`` (see :mod:`~vidvis_widgets.methods.core.progress`)."""
        no_inputs(inputs)
        job_list, _ = make_jobs(target, seeds, (AMJob, ResolvedJob), lambda i, t, s: AMJob(t, kappa, gamma, s),
                                "activation maximization", EXPECTED, kappa=(kappa, 1.0), gamma=(gamma, 0.0))
        steps = number("steps", steps, low=1, integer=True, default=self.steps)
        every = number("every", every, low=1, integer=True)
        show = wanted(progress, callback)
        job_list = self.resolve(job_list)
        with ctrl_c_stops(stop) as halt:  # from here on a Ctrl-C is a Stop with status "interrupted"
            try:
                self.measure(job_list, halt)
            except (Stopped, KeyboardInterrupt) as err:
                return self.unstarted(job_list, ended(err))
            return self._run_stored(job_list, steps, callback, every, halt, show)

    def unstarted(self, jobs: Sequence[AMJob | ResolvedJob], status: str = "stopped") -> AMResults:
        """Results for jobs that never took a step: each job's start input, no history, â not measured."""
        jobs = self.resolve(jobs)
        init, _ = self._starts(jobs, None)
        return AMResults(AMResult(
            job=j.job, **self._display(init, i), activation=np.zeros(0), objective=np.zeros(0),
            normalized_activation=None, activation_max=None, activation_max_source=NOT_MEASURED,
            best_step=0, status=status, diverged_at=None, settings={**self.settings(0), "job": job_settings(j.job)})
            for i, j in enumerate(jobs))

    def _store_params(self, job: ResolvedJob, steps: int) -> dict:
        a_hat = self.maxima.a_hat(job)
        return {"job": job_settings(job.job), "steps": steps, "a_hat": a_hat, "a_hat_source": self.maxima.source,
                "shapes": [list(s.shape) for s in self.streams.specs], "bound": self.bound, "alpha": self.alpha,
                "lr": self.lr, "lr_end": self.lr_end, "jitter": self.jitter, "jitter_settle": self.jitter_settle,
                "jitter_in_patches": self.jitter_in_patches, "regularization": self.regularization,
                "motion_tv_factor": self.motion_tv_factor, "fold_bn": self.fold_bn, "bf16": self.bf16,
                "init_scale": self.init_scale}

    def stored(self, jobs: list[ResolvedJob], steps: int) -> list[AMResult | None]:
        """Each (resolved) job's stored result, ``None`` where the store has none."""
        for j in jobs:
            self.check(j)
        return self.cache.lookup(jobs, key=lambda j: self._store_params(j, steps), decode=_decode)

    def keep(self, jobs: list[ResolvedJob], results: list[AMResult], steps: int) -> None:
        """Stores the results that are their (resolved) job's answer: completed or diverged, not stopped."""
        self.cache.keep(jobs, results, key=lambda j: self._store_params(j, steps), encode=AMResult.to_entry)

    def _run_stored(self, jobs: list[ResolvedJob], steps: int, callback, every: int, stop, progress=False) -> AMResults:
        return AMResults(self.cache(jobs, lambda todo: self._run(todo, steps, callback, every, stop, progress),
                                    key=lambda j: self._store_params(j, steps), encode=AMResult.to_entry, decode=_decode))

    def _run(self, job_list: list[AMJob], steps: int, callback, every: int, stop, progress=False) -> AMResults:
        outcome = self.optimize(self.model, job_list, [self.objective(j) for j in job_list], steps, callback,
                                 every, stop, progress=progress)
        return self.finish(job_list, outcome)

    def pre_activation(self, layers) -> set[str]:
        """The layers whose units the loop takes before their final ReLU (see :func:`pre_activation_layers`)."""
        init, _ = self._starts([ResolvedJob(AMJob(unit(next(iter(layers)), 0)), next(iter(layers)), 0)], None)
        with frozen(self.model):
            return pre_activation_layers(self.model, set(layers), self.streams.model_inputs(init))

    def optimize(self, model: nn.Module, job_list: list[AMJob], objectives: list[Objective], steps: int, callback,
                  every: int, stop, pre: set[str] | None = None, progress: bool = False) -> LoopOutcome:
        """The loop for ``job_list`` on ``model``: this model, or several checkpoints of it stacked into one
        (see :mod:`.stacked`), whose jobs then carry each checkpoint's own â in their objectives."""
        try:
            check_stop(stop)
            init, shifts = self._starts(job_list, steps)
            # on the model itself every layer is asked for before its final ReLU: the probe takes the ReLU's input
            # only where the layer's output is that ReLU's output, so no pass is spent finding those layers (a
            # checkpoint stack rebuilds the ReLU in its taps and is given the checked set)
            pre = {l for j in job_list for l in ({j.layer} if j.target is None else j.target.unit_layers())} \
                if pre is None else pre
            objective = BatchedObjective(objectives, self.device)
        except (Stopped, KeyboardInterrupt) as err:  # before the first step: every job keeps its start
            init, _ = self._starts(job_list, None)
            n = len(job_list)
            return LoopOutcome(init, np.full(n, -np.inf), np.zeros(n, np.int64),
                               {"total": np.zeros((0, n)), "unit": np.zeros((0, n))}, 0, ended(err),
                               np.full(n, -1))
        bounds = {s: torch.full((len(job_list),), self.bound, device=self.device) for s in self.streams.names}
        layers = set().union(*(o.layers() for o in objectives))
        streams, device, bf16 = self.streams, self.device, self.bf16
        units = self._read_outs(job_list)  # a (or a target's value) for the results
        grads = InputGradient(len(job_list), device)  # each job's largest gradient at the input, for dead units

        # the model run may be a stack of checkpoints, whose adapter says how its taps lay out the layers
        run = self.adapter if model is self.model else adapter_of(model)
        layout = run.layer_layout
        with frozen(model), Probe(model, layers, pre_activation=pre, layout=layout) as probe, \
                progress_bar(steps, f"activation maximization ({count(len(job_list), 'job')})", progress) as bar:
            acts = probe.outputs
            # the pass ends at the last target layer: what follows it computes nothing the objective reads (after
            # the class-logit layer nothing is left to save, and the whole pass runs, the model's own hooks too)
            cut = (model is self.model and self.adapter.logit_layer not in layers
                   and all(read_at_first_run(model, name) for name in layers))

            def score(moved, xs):
                with autocast(device, bf16):
                    probe.run(lambda: run.forward(model, streams.model_inputs(grads.watch(moved))), cut=cut)
                return {**objective(acts, xs), "keep": {"unit": units(acts, probe.rectified)}}

            def project(xs):
                for k, b in bounds.items():
                    xs[k].copy_(project_to_bound(xs[k], b))

            outcome = run_batched(score, init, steps=steps, lr=self.lr, lr_end=self.lr_end, shifts=shifts,
                                  project=project, stop=stop, callback=callback, every=every, bar=bar,
                                  lr_scale={k: self.streams.unit_scale(k) for k in self.streams.names})
        outcome.extra["input_gradient"] = grads.max
        return outcome

    def finish(self, job_list: list[AMJob], outcome: LoopOutcome) -> AMResults:
        """The loop's outcome for ``job_list`` as results (warning for diverged jobs)."""
        results = self._results(job_list, outcome)
        flag_dead_units(results, outcome.extra.get("input_gradient"))  # a DeadUnitWarning and settings["dead_unit"]
        if outcome.status == "diverged":
            import warnings

            bad = [f"{r.title} at step {r.diverged_at}" for r in results if r.diverged_at is not None]
            warnings.warn("objective became NaN or infinite for " + "; ".join(bad)
                          + ": those jobs stopped there and keep their last best finite input", RuntimeWarning,
                          stacklevel=3)
        return results

    def _starts(self, jobs: list[AMJob], steps: int | None) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        """Each job's random start and jitter from its own seed, so a batch equals its jobs run alone; the
        starts alone (no layer table needed) when ``steps`` is None."""
        specs = self.streams.specs
        jitter = [self.geometry.jitter(j.layer, self.jitter_in_patches) for j in jobs] if self.jitter and steps is not None else None
        return seeded_starts([j.seed for j in jobs], {s.name: s.shape for s in specs},
                             {s.name: self.init_scale * self.streams.unit_scale(s.name) for s in specs}, self.device,
                             steps=steps, shift_ranges=jitter and [(0, r) for r, _ in jitter],
                             quanta=jitter and [q for _, q in jitter], settle=self.jitter_settle)

    def _display(self, streams: dict[str, torch.Tensor], i: int) -> dict:
        """Job ``i``'s inputs as an AMResult holds them: ``appearance`` and ``motion`` (None for one stream); for
        a multi-pathway model ``pathways``, each pathway's video, with the first as ``appearance``."""
        return self.streams.display(streams, i)

    def settings(self, steps: int | None = None) -> dict:
        """Every setting of a run of ``steps`` steps (default: this instance's ``steps``), as results record them."""
        return {"bound": self.bound, "alpha": self.alpha, "steps": self.steps if steps is None else steps, "lr": self.lr, "lr_end": self.lr_end,
                "jitter": self.jitter, "regularization": self.regularization, "motion_tv_factor": self.motion_tv_factor,
                "lambdas": self.lambdas(), "fold_bn": self.fold_bn, "bf16": self.bf16, "device": str(self.device)}

    def _results(self, jobs: list[AMJob], outcome: LoopOutcome) -> AMResults:
        maxima = self.activation_max(sorted({j.layer for j in jobs if j.target is None}))
        layers = sorted(set().union(*(self.read_out(j).layers() for j in jobs)))

        def measure():  # a on the returned inputs, un-jittered, after the ReLU
            with frozen(self.model), Probe(self.model, layers, layout=self.layout) as probe, torch.no_grad():
                self.adapter.forward(self.model, self.streams.model_inputs(outcome.best))
                return self._read_outs(jobs)(probe.outputs)
        # after a Stop, a Ctrl-C or a batch that all diverged: a as the best step measured it, no further pass
        finals, status = outcome.measured("unit", measure), outcome.status
        finals = finals.cpu().numpy() if finals is not None else [None] * len(jobs)
        known = self.maxima.source != UNKNOWN_MAX
        a_hat = np.array([float(maxima[j.layer][j.channel]) if known and j.target is None else 1.0 for j in jobs],
                         np.float64)
        # the history holds a/(ρ²â') with â' = â where positive, else 1 (see objective()); report a/â'
        scale = np.array([self.geometry.rho(j.layer) ** 2 for j in jobs])
        settings = {**self.settings(outcome.steps_run), "final_values": outcome.values_from}
        empty = np.zeros((0, len(jobs)))  # a run interrupted before its first step and its judging has no parts
        unit_history, total = outcome.history.get("unit", empty), outcome.history.get("total", empty)
        out = AMResults()
        for i, j in enumerate(jobs):
            out.append(AMResult(
                job=j.job, **self._display(outcome.best, i), activation=unit_history[:, i] * scale[i],
                objective=total[:, i],
                normalized_activation=None if finals[i] is None else float(finals[i] / a_hat[i]) if a_hat[i] > 0
                else float("nan"),
                activation_max=float(a_hat[i]),
                activation_max_source=TARGET_VALUE if j.target is not None else self.maxima.source if a_hat[i] > 0 else
                f"{self.maxima.source}: the unit never fires there (â = {a_hat[i]:g}), so a/â is undefined",
                **outcome.job_status(i, status),
                settings={**settings, "objective": repr(self.objective(j)), "job": job_settings(j.job)}))
        return out


def activation_maximization(model: nn.Module, target=None, inputs=None, *, seeds=0, steps: int | None = None,
                            stop=None, callback=None, every: int = 25, device=None, bf16: bool = False, store=None,
                            progress=None, kappa: float = 1.0, gamma: float = 0.0, **settings) -> AMResults:
    """``ActivationMaximization(model, device=, bf16=, store=, **settings)(target, seeds=, kappa=, gamma=, ...)``:
    every target from every seed under one regularizer setting, one batch; returns :class:`AMResults`, always."""
    no_inputs(inputs)
    am = ActivationMaximization(model, device=device, bf16=bf16, store=store, **settings)
    return am(target, seeds=seeds, steps=steps, stop=stop, callback=callback, every=every, progress=progress,
              kappa=kappa, gamma=gamma)


def no_inputs(inputs) -> None:
    """AM's refusal of ``inputs=``, before any work."""
    if inputs is not None:
        raise ValueError("activation maximization takes no inputs=: it optimizes each job's input from its seeded "
                         "noise; give what to maximize as target= (and seeds= for the starts)")


def _decode(job: ResolvedJob, arrays: dict, meta: dict) -> AMResult:
    """A stored entry as the result of the (resolved) job it was found for."""
    return AMResult.from_entry(job.job, arrays, meta)
