"""Two-stream spatiotemporally regularized activation maximization (Feichtenhofer et al., CVPR 2018;
IJCV 2020, Sec. 3).

    x* = argmax_x  ⟨a_l(x), e_c⟩ / (ρ_l² â_{l,c})  −  Σ_streams [λ_B R_B(x) + λ_TV R_TV(x; κ, γ)]

with R_B the local energy norm under a hard bound B (eq. 2) and R_TV the spatiotemporal variation
(eq. 3). Defaults are the paper's: B = 160, α = 3, V = B/6.5, λ_B = 1/(HWB^α), λ_TV = 1/(HWV²) on
appearance and 10× that on motion; Adam with a decaying learning rate; jitter up to the layer's stride
(whole patches on a token model), its range settling to nothing over the first 75% of the run.
Streams are optimized in the 8-bit units those defaults are stated in (see :mod:`.streams`).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import threading
from dataclasses import asdict
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ...data.loading import class_index
from ...models.adapter import adapter_of
from ...models.layers import read_at_first_run
from ...models.run_control import Stopped, check_stop, ctrl_c_stops, device_of, ended, frozen
from ...models.probe import Probe
from ...checks import number
from ...models.registry import is_embedded
from ..core.cache import Cached
from ..core.diagnostics import InputGradient, flag_dead_units
from ..core.loop import LoopOutcome, Snapshot, autocast, pre_activation_layers, run_batched, seeded_starts
from ..core.objectives import BatchedObjective, JobUnits, Objective, energy, tv
from ..core.targets import target_values, unit
from ..core.progress import count, progress_bar, wanted
from ..core.regularizers import project_to_bound
from ..core.streams import InputStreams
from .results import NOT_MEASURED, PRESETS, TARGET_VALUE, UNKNOWN_MAX, AMJob, AMResult, AMResults, as_job, sweep

__all__ = ["ActivationMaximization", "activation_maximization", "AMJob", "AMResult", "AMResults", "PRESETS",
           "as_job", "sweep"]

class ActivationMaximization:
    """Activation maximization on a model: build once, call with jobs.

        am = ActivationMaximization(load_model("tiny_two_stream"))
        result = am(AMJob("conv5_fusion", 4, gamma=5))
        results = am(sweep("fc8", 0) + sweep("fc8", 1))   # one batch, one forward/backward per step

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
        self._activation_max = activation_max
        self._val_data = val_data
        self._maxima: dict[str, np.ndarray] = {}
        self._max_source = UNKNOWN_MAX
        self._layer_table = None
        self._rows: dict = {}
        self.adapter = adapter_of(model)
        self.layout = self.adapter.layer_layout

    # -- layers ------------------------------------------------------------------------------------
    def _input_shape(self):
        shapes = [(s.shape[0] * s.shape[1], *s.shape[2:]) if self.streams.kind == "two_stream" else s.shape
                  for s in self.streams.specs]
        return shapes[0] if len(shapes) == 1 else tuple(shapes)

    def layers(self, stop: threading.Event | None = None):
        """The model's whole layer table (output shape, receptive field, stride), cached. ``stop``: an Event
        that ends the work with :class:`~vidvis_widgets.models.run_control.Stopped` within a layer."""
        if self._layer_table is None:
            from ...models.layers import list_layers

            self._layer_table = list_layers(self.model, self._input_shape(), layout=self.layout, stop=stop)
        return self._layer_table

    def _unknown_layer(self, name: str, names) -> ValueError:
        close = difflib.get_close_matches(name, list(names), n=4, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return ValueError(f"unknown layer {name!r} in {type(self.model).__name__}{hint} "
                          "(vidvis_widgets.models.list_layers(model, input_shape) lists every layer)")

    def _layer(self, name: str, stop: threading.Event | None = None):
        """``name``'s row of the layer table: its output shape from one (cached) forward pass, and the field and
        stride where they derive from the modules' geometry (nothing is measured for AM)."""
        if name not in self._rows:
            self._fetch_rows([name], stop)
        return self._rows[name]

    def _fetch_rows(self, names: Sequence[str], stop: threading.Event | None = None) -> None:
        """The rows of ``names`` not known yet, all from one pass that ends once they have run
        (:func:`~vidvis_widgets.models.layers.layer_rows`); with the class-logit layer among them, from the whole
        table, which that layer's jitter range (the deepest stride) reads anyway."""
        from ...models.layers import layer_rows, list_layers

        names = [n for n in dict.fromkeys(names) if n not in self._rows]
        if not names:
            return
        modules = dict(self.model.named_modules())
        for name in names:
            if name not in modules or not name:
                raise self._unknown_layer(name, [n for n in modules if n])
        if self.adapter.logit_layer in names:
            rows = list_layers(self.model, self._input_shape(), layers=names, measure=False, layout=self.layout,
                               stop=stop)
        else:
            rows = layer_rows(self.model, self._input_shape(), names, layout=self.layout, stop=stop)
        self._rows.update((r.name, r) for r in rows)

    def resolve(self, jobs: Sequence[AMJob]) -> list[AMJob]:
        """The jobs with their layer names checked and class names turned into channel indices, without
        measuring anything: a misspelt layer or class is reported at once, with the close matches."""
        names = [n for n, _ in self.model.named_modules() if n]
        known = set(names)
        out = []
        for j in jobs:
            if j.target is not None:  # class names to indices; ρ and jitter from the deepest layer it reads
                t = j.target.resolve(self.adapter, f"AMJob target {j.target!r}")
                for layer in t.layers():
                    if layer not in known:
                        raise self._unknown_layer(layer, names)
                j = dataclasses.replace(j, target=t, layer=j.layer or max(t.layers(), key=names.index))
            if j.layer not in known:
                raise self._unknown_layer(j.layer, names)
            out.append(dataclasses.replace(j, channel=self._class_channel(j)) if isinstance(j.channel, str) else j)
        return out

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

    def _class_channel(self, job: AMJob) -> int:
        info = getattr(self.model, "vidvis_adapter", None)
        if info is None:
            raise ValueError(f"AMJob({job.layer!r}, {job.channel!r}) names a class, but {type(self.model).__name__} "
                             "carries no vidvis_adapter with class names; give the channel index")
        head = self.adapter.logit_layer
        if job.layer != head:
            raise ValueError(f"AMJob({job.layer!r}, {job.channel!r}): a class name selects a unit only on the "
                             f"class-logit layer ({head!r}, the model's last linear layer); on {job.layer!r} give "
                             "the channel index")
        try:
            return class_index(tuple(info.class_names), job.channel)
        except ValueError as err:
            raise ValueError(f"AMJob({job.layer!r}, {job.channel!r}): {err}") from None

    def measure(self, jobs: Sequence[AMJob], stop: threading.Event | None = None) -> None:
        """Everything the jobs need before their first step, checked: the layer table (receptive fields,
        strides) and â. ``stop`` ends it with :class:`~vidvis_widgets.models.run_control.Stopped` within a layer of
        the measurement or a batch of the â pass; nothing half-measured is kept."""
        jobs = self.resolve(jobs)
        check_stop(stop)
        self._check_given(jobs)  # given â first: it needs no measurement
        self._fetch_rows(sorted(set().union(*map(self._reads, jobs))), stop)  # one pass, up to the last of them
        for j in jobs:
            self.check(j)
        units = [j for j in jobs if j.target is None]  # a target's value is not normalized: no â
        self.activation_max(sorted({j.layer for j in units}), stop=stop)
        for j in units:
            self._a_hat(j)

    def check(self, job: AMJob) -> None:
        """A job's unit checked against its layer's real channel count (an error naming both); a target's
        read-outs against their layers' shapes."""
        if job.target is not None:
            job.target.check({l: self._layer(l).output_shape for l in job.target.layers()},
                             f"AMJob target {job.target!r}")
        info = self._layer(job.layer)
        channels = info.output_shape[0] if info.output_shape else 0
        if job.target is None and not 0 <= job.channel < channels:
            raise ValueError(f"channel {job.channel} out of range for layer {job.layer!r}, which has {channels} "
                             f"channels (0…{channels - 1})")
        spatial = info.output_shape[-2:] if info.output_shape and len(info.output_shape) >= 3 else None
        # a class-logit layer may be a 1×1×1 convolution (S3D's head): its units are class scores, not maps
        if spatial is not None and min(spatial) < 2 and job.layer != self.adapter.logit_layer:
            H, W = self.streams.size
            need = [2 * max(1, round(d / o)) if o else 2 * d for d, o in zip((H, W), spatial)]
            raise ValueError(f"input {H}×{W} is too small for layer {job.layer!r}: its output is "
                             f"{'×'.join(map(str, spatial))} (receptive field {info.receptive_field}), so its units "
                             f"have no locations to sum over and jitter moves nothing; use an input of at least "
                             f"{need[0]}×{need[1]}")

    def _stride(self, layer: str) -> int:
        info = self._layer(layer)
        if info.stride:
            return max(info.stride[-2:])
        if len(info.output_shape) >= 3:  # not derivable (attention): the input-to-output size ratio
            return max(max(1, round(d / o)) for d, o in zip(self.streams.size, info.output_shape[-2:]))
        # fc layers: every preceding downsampling accumulated (the deepest spatial stride)
        from ...models.layers import deepest_stride

        return deepest_stride(self.model, self._input_shape(), layout=self.layout)

    def _jitter(self, layer: str) -> tuple[int, tuple[int, int]]:
        """Jitter range and step: shifts are multiples of the step (px, (dy, dx)) below range × step. The
        range is the layer's accumulated stride, at most a seventh of the input side: VGG-16's deepest stride,
        32, is a seventh of the papers' 224 px; on a small input the full stride of a deep layer would move the
        input by half its width, which is no longer sub-stride interpolation. On a model that cuts its input
        into patches (the adapter's token grid) a shift within a patch re-cuts every token, so the step is the
        patch and the range at least two patches: the tokens move on their grid."""
        pixels = max(1, min(self._stride(layer), min(self.streams.size) // 7))
        patch = self._patch() if self.jitter_in_patches else (1, 1)
        if patch == (1, 1):
            return pixels, patch
        return max(2, math.ceil(pixels / max(patch))), patch

    def _patch(self) -> tuple[int, int]:
        """The input pixels (H, W) of one token of the adapter's token grid; (1, 1) without one."""
        grid = self.adapter.token_grid
        H, W = self.streams.size
        if grid is None or H % grid[1] or W % grid[2]:
            return 1, 1
        return H // grid[1], W // grid[2]

    def _rho(self, layer: str) -> float:
        """ρ_l of eq. 1: the side of the layer's receptive field (IJCV 2020 §3), not capped: a field may pass the
        input, as the papers' does (VGG-16's fc layers: 404 px at 224). Vector layers (fc) and fields that do
        not derive (attention) take the input's side."""
        info = self._layer(layer)
        rf = info.receptive_field or self.streams.size
        return float(max(rf[-2:]))

    # -- normalization â ------------------------------------------------------------------------------
    def activation_max(self, layers: Sequence[str], stop: threading.Event | None = None) -> dict[str, np.ndarray]:
        """â per layer: each channel's largest activation (summed over locations) on the validation data.
        ``stop``: ends the pass over the validation data with :class:`~vidvis_widgets.models.run_control.Stopped`."""
        missing = [l for l in set(layers) if l not in self._maxima]
        if missing:
            given = self._activation_max
            if isinstance(given, dict):
                for l in missing:
                    a = self._given(l)
                    channels = self._layer(l).output_shape[0]
                    if len(a) != channels:
                        raise ValueError(f"activation_max[{l!r}] has {len(a)} entries; layer {l!r} has {channels} "
                                         "channels, so expected one maximum per channel")
                    self._maxima[l] = a
                self._max_source = "given"
            elif given == "auto" and (self._val_data is not None or is_embedded(self.model)):
                self._maxima.update(self._response_pass(missing, stop))
                self._max_source = "validation set"
            elif given in ("auto", None):
                for l in missing:
                    self._maxima[l] = np.ones(self._layer(l).output_shape[0], np.float32)
            else:
                raise ValueError("activation_max must be 'auto', None or a dict layer → per-channel maxima")
        return {l: self._maxima[l] for l in layers}

    def _response_pass(self, layers: Sequence[str], stop: threading.Event | None = None) -> dict[str, np.ndarray]:
        from .response_statistics import response_statistics

        data = self._val_data
        if data is None:
            data = _ValSplit()
        elif isinstance(data, dict) and "label" not in data:  # â needs no labels
            data = {**data, "label": np.zeros(len(data["rgb"]), np.int64)}
        # summed over locations: the quantity the unit term of eq. 1 maximizes for a conv unit
        stats = response_statistics(self.model, data, layers, reduce="sum", device=self.device, num_workers=0,
                                    stop=stop)
        return stats.activation_max

    def _given(self, layer: str) -> np.ndarray:
        """The given â of ``layer`` as a 1-D float array, or a clear error."""
        if layer not in self._activation_max:
            raise ValueError(f"activation_max has no entry for layer {layer!r}; it gives "
                             f"{', '.join(map(repr, self._activation_max)) or 'none'}")
        try:
            a = np.asarray(self._activation_max[layer], np.float32)
        except (TypeError, ValueError):
            a = None
        if a is None or a.ndim != 1:
            raise ValueError(f"activation_max[{layer!r}] must be one number per channel (a 1-D array), got "
                             f"{self._activation_max[layer]!r:.80}")
        return a

    def _check_given(self, jobs: Sequence[AMJob]) -> None:
        """Given â, checked for the jobs' units before anything is measured."""
        if not isinstance(self._activation_max, dict):
            return
        for j in (j for j in jobs if j.target is None):
            a = self._given(j.layer)
            if j.channel >= len(a):
                raise ValueError(f"activation_max[{j.layer!r}] has {len(a)} entries, none for {j.unit}")
            if not math.isfinite(float(a[j.channel])):
                raise ValueError(f"activation_max[{j.layer!r}][{j.channel}], the â of {j.unit}, is {a[j.channel]}; "
                                 "â must be finite (the unit's largest response on validation data)")

    def _a_hat(self, job: AMJob) -> float | None:
        """The job's â, refused when it is not finite (a/â and the objective would be NaN); None for a target."""
        if job.target is not None:
            return None
        a = float(self.activation_max([job.layer])[job.layer][job.channel])
        if not math.isfinite(a):
            raise ValueError(f"the â of {job.unit} ({self._max_source}) is {a}; â must be finite. The unit's "
                             "responses on the validation data are not finite: check the model and the data, or "
                             "give activation_max=")
        return a

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

    def objective(self, job: AMJob) -> Objective:
        """Eq. 1 for ``job`` as a composable :class:`Objective` (printable, and what the loop maximizes)."""
        self.check(job)
        a_hat = self._a_hat(job)
        a_hat = a_hat if a_hat is not None and a_hat > 0 else 1.0
        rho2 = self._rho(job.layer) ** 2
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
    def __call__(self, jobs=None, *, target=None, steps: int | None = None,
                 callback: Callable[[Snapshot], None] | None = None, every: int = 25,
                 stop: threading.Event | None = None, progress: bool | None = None):
        """Runs the jobs as one batch. ``jobs``: an :class:`AMJob`, a (layer, channel) pair, or a list of
        them; returns an :class:`AMResult` for one job, else :class:`AMResults` in job order. ``target`` instead
        of jobs: one job maximizing that target (``am(target=logit("a") - logit("b"))``: see :class:`AMJob`).

        ``stop`` (an Event) or Ctrl-C end the run within a second in every phase, the layer measurement and the
        pass for â included: each job then has a result with status "stopped" or "interrupted", holding its
        best input so far (its start input when no step ran). ``progress``: a bar over the steps (tqdm.auto);
        None (default) shows one unless a ``callback`` is given or ``VIDVIS_PROGRESS=0`` (see
        :mod:`~vidvis_widgets.methods.core.progress`)."""
        if target is not None:
            if jobs is not None:
                raise ValueError("give jobs or target=, not both (a job's own target is AMJob(target=...))")
            jobs = AMJob(target=target)
        if jobs is None:
            raise ValueError("no jobs given; expected an AMJob, a (layer, channel) pair, a list of them, or target=")
        single = isinstance(jobs, AMJob) or (isinstance(jobs, tuple) and len(jobs) == 2 and isinstance(jobs[0], str))
        job_list = [as_job(j) for j in ([jobs] if single else list(jobs))]
        if not job_list:
            raise ValueError("no jobs given; expected an AMJob, a (layer, channel) pair or a list of them")
        steps = number("steps", steps, low=1, integer=True, default=self.steps)
        every = number("every", every, low=1, integer=True)
        show = wanted(progress, callback)
        job_list = self.resolve(job_list)
        with ctrl_c_stops(stop) as halt:  # from here on a Ctrl-C is a Stop with status "interrupted"
            try:
                self.measure(job_list, halt)
            except (Stopped, KeyboardInterrupt) as err:
                results = self.unstarted(job_list, ended(err))
            else:
                results = self._run_stored(job_list, steps, callback, every, halt, show)
        return results[0] if single else results

    def unstarted(self, jobs: Sequence[AMJob], status: str = "stopped") -> AMResults:
        """Results for jobs that never took a step: each job's start input, no history, â not measured."""
        init, _ = self._starts(list(jobs), None)
        return AMResults(AMResult(
            job=j, **self._display(init, i), activation=np.zeros(0), objective=np.zeros(0),
            normalized_activation=None, activation_max=None, activation_max_source=NOT_MEASURED,
            best_step=0, status=status, diverged_at=None, settings={**self._settings(0), "job": asdict(j)})
            for i, j in enumerate(jobs))

    def _store_params(self, job: AMJob, steps: int) -> dict:
        a_hat = self._a_hat(job)
        return {"job": asdict(job), "steps": steps, "a_hat": a_hat, "a_hat_source": self._max_source,
                "shapes": [list(s.shape) for s in self.streams.specs], "bound": self.bound, "alpha": self.alpha,
                "lr": self.lr, "lr_end": self.lr_end, "jitter": self.jitter, "jitter_settle": self.jitter_settle,
                "jitter_in_patches": self.jitter_in_patches, "regularization": self.regularization,
                "motion_tv_factor": self.motion_tv_factor, "fold_bn": self.fold_bn, "bf16": self.bf16,
                "init_scale": self.init_scale}

    def stored(self, jobs: list[AMJob], steps: int) -> list[AMResult | None]:
        """Each job's stored result, ``None`` where the store has none."""
        for j in jobs:
            self.check(j)
        return self.cache.lookup(jobs, key=lambda j: self._store_params(j, steps), decode=AMResult.from_entry)

    def keep(self, results: list[AMResult], steps: int) -> None:
        """Stores the results that are their job's answer: completed or diverged, not stopped."""
        self.cache.keep([r.job for r in results], results, key=lambda j: self._store_params(j, steps),
                        encode=AMResult.to_entry)

    def _run_stored(self, jobs: list[AMJob], steps: int, callback, every: int, stop, progress=False) -> AMResults:
        return AMResults(self.cache(jobs, lambda todo: self._run(todo, steps, callback, every, stop, progress),
                                    key=lambda j: self._store_params(j, steps), encode=AMResult.to_entry, decode=AMResult.from_entry))

    def _run(self, job_list: list[AMJob], steps: int, callback, every: int, stop, progress=False) -> AMResults:
        outcome = self.optimize(self.model, job_list, [self.objective(j) for j in job_list], steps, callback,
                                 every, stop, progress=progress)
        return self.finish(job_list, outcome)

    def pre_activation(self, layers) -> set[str]:
        """The layers whose units the loop takes before their final ReLU (see :func:`pre_activation_layers`)."""
        init, _ = self._starts([AMJob(next(iter(layers)), 0)], None)
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
        layout = self.layout if model is self.model else adapter_of(model).layer_layout
        with frozen(model), Probe(model, layers, pre_activation=pre, layout=layout) as probe, \
                progress_bar(steps, f"activation maximization ({count(len(job_list), 'job')})", progress) as bar:
            acts = probe.outputs
            # the pass ends at the last target layer: what follows it computes nothing the objective reads (after
            # the class-logit layer nothing is left to save, and the whole pass runs, the model's own hooks too)
            cut = (model is self.model and self.adapter.logit_layer not in layers
                   and all(read_at_first_run(model, name) for name in layers))

            def score(moved, xs):
                with autocast(device, bf16):
                    probe.run(lambda: model(*streams.model_inputs(grads.watch(moved))), cut=cut)
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
        jitter = [self._jitter(j.layer) for j in jobs] if self.jitter and steps is not None else None
        return seeded_starts([j.seed for j in jobs], {s.name: s.shape for s in specs},
                             {s.name: self.init_scale * self.streams.unit_scale(s.name) for s in specs}, self.device,
                             steps=steps, shift_ranges=jitter and [(0, r) for r, _ in jitter],
                             quanta=jitter and [q for _, q in jitter], settle=self.jitter_settle)

    def _display(self, streams: dict[str, torch.Tensor], i: int) -> dict:
        """Job ``i``'s inputs as an AMResult holds them: ``appearance`` and ``motion`` (None for one stream); for
        a multi-pathway model ``pathways``, each pathway's video, with the first as ``appearance``."""
        shown = {k: self.streams.to_display(k, v[i]) for k, v in streams.items()}
        if self.streams.kind == "pathways" and not self.streams.joint:
            pathways = {s: shown[s] for s in self.streams.names}
            return {"appearance": pathways[self.streams.names[0]], "motion": None, "pathways": pathways}
        appearance = shown.get("appearance", shown.get("video"))
        return {"appearance": appearance[0] if self.streams.kind == "two_stream" else appearance,
                "motion": shown.get("motion")}

    def _settings(self, steps_run: int) -> dict:
        return {"bound": self.bound, "alpha": self.alpha, "steps": steps_run, "lr": self.lr, "lr_end": self.lr_end,
                "jitter": self.jitter, "regularization": self.regularization, "motion_tv_factor": self.motion_tv_factor,
                "lambdas": self.lambdas(), "fold_bn": self.fold_bn, "bf16": self.bf16, "device": str(self.device)}

    def _results(self, jobs: list[AMJob], outcome: LoopOutcome) -> AMResults:
        maxima = self.activation_max(sorted({j.layer for j in jobs if j.target is None}))
        layers = sorted(set().union(*(self.read_out(j).layers() for j in jobs)))

        def measure():  # a on the returned inputs, un-jittered, after the ReLU
            with frozen(self.model), Probe(self.model, layers, layout=self.layout) as probe, torch.no_grad():
                self.model(*self.streams.model_inputs(outcome.best))
                return self._read_outs(jobs)(probe.outputs)
        # after a Stop, a Ctrl-C or a batch that all diverged: a as the best step measured it, no further pass
        finals, status = outcome.measured("unit", measure), outcome.status
        finals = finals.cpu().numpy() if finals is not None else [None] * len(jobs)
        known = self._max_source != UNKNOWN_MAX
        a_hat = np.array([float(maxima[j.layer][j.channel]) if known and j.target is None else 1.0 for j in jobs],
                         np.float64)
        # the history holds a/(ρ²â') with â' = â where positive, else 1 (see objective()); report a/â'
        scale = np.array([self._rho(j.layer) ** 2 for j in jobs])
        settings = {**self._settings(outcome.steps_run), "final_values": outcome.values_from}
        empty = np.zeros((0, len(jobs)))  # a run interrupted before its first step and its judging has no parts
        unit_history, total = outcome.history.get("unit", empty), outcome.history.get("total", empty)
        out = AMResults()
        for i, j in enumerate(jobs):
            out.append(AMResult(
                job=j, **self._display(outcome.best, i), activation=unit_history[:, i] * scale[i],
                objective=total[:, i],
                normalized_activation=None if finals[i] is None else float(finals[i] / a_hat[i]) if a_hat[i] > 0
                else float("nan"),
                activation_max=float(a_hat[i]),
                activation_max_source=TARGET_VALUE if j.target is not None else self._max_source if a_hat[i] > 0 else
                f"{self._max_source}: the unit never fires there (â = {a_hat[i]:g}), so a/â is undefined",
                **outcome.job_status(i, status),
                settings={**settings, "objective": repr(self.objective(j)), "job": asdict(j)}))
        return out


def activation_maximization(model: nn.Module, layer: str | None = None, channel: int | str | None = None, *,
                            target=None, kappa: float = 1.0, gamma: float = 0.0, seed: int = 0,
                            steps: int | None = None, callback=None, stop=None, progress=None, **kw) -> AMResult:
    """One unit (or ``target=``), one setting:
    ``ActivationMaximization(model, **kw)(AMJob(layer, channel, kappa, gamma, seed, target))``."""
    am = ActivationMaximization(model, **kw)
    return am(AMJob(layer, channel, kappa, gamma, seed, target), steps=steps, callback=callback, stop=stop,
              progress=progress)


class _ValSplit(torch.utils.data.Dataset):
    """The embedded val split, drawn a batch at a time (so a Stop is answered while it is drawn), its flow
    rounded to float16 as ``SyntheticActions("val").arrays(flow_dtype=np.float16)`` gives it."""

    def __init__(self):
        from ...data.synthetic import SyntheticActions

        self.data = SyntheticActions("val")

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> dict:
        item = self.data[i]
        return {"rgb": item["rgb"], "flow": item["flow"].astype(np.float16), "label": item["label"]}
