"""Activation maximization's jobs and results: a unit under a regularizer setting (:class:`AMJob`), the
papers' sweeps over (κ, γ), and what a run gives (:class:`AMResult`), as data that shows itself as clips."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...checks import number
from ...media.grid import ClipGrid, Displayable
from ..core.collection import JobResults
from ..core.result import OptimizedResult
from ..core.targets import Target, as_target

#: the papers' regularizer sweeps for the motion input, as (κ, γ) pairs
PRESETS: dict[str, tuple[tuple[float, float], ...]] = {
    "anisotropic": ((1.0, 10.0), (1.0, 5.0), (1.0, 1.0), (1.0, 0.0)),
    "isotropic": ((10.0, 10.0), (5.0, 5.0), (2.5, 2.5), (1.0, 1.0)),
    "spatial": ((1.0, 0.0),),
}


@dataclass(frozen=True)
class AMJob:
    """One target to maximize under one regularizer setting from one random start.

    ``target``: what to maximize (:mod:`~vidvis_widgets.methods.core.targets`): a unit, ``unit(layer, channel)``,
    whose activation (summed over its positions) is divided by its â as eq. 1 has it; a class index or name, which
    is that class's logit (``logit(c)``); or any sum of them, e.g. ``logit("a") - logit("b")``, whose value is
    maximized as it is (not divided by â). Class names are resolved against the model's class names when the run
    starts; a unit's channel may be a class name on the class-logit layer. ρ and the jitter come from the deepest
    layer the target reads.
    ``kappa``, ``gamma``: the motion stream's R_TV weights (the video stream's for a single-stream model);
    the appearance image of a two-stream model is a single frame, regularized spatially with κ = 1."""

    target: Target | int | str
    kappa: float = 1.0
    gamma: float = 0.0
    seed: int = 0

    def __post_init__(self):
        if isinstance(self.target, tuple):
            raise TypeError(f"AMJob target must be a target, a class index or a class name; got the tuple "
                            f"{self.target!r} (a unit is unit(layer, channel))")
        object.__setattr__(self, "target", as_target(self.target, "AMJob target"))
        number("AMJob kappa (spatial TV weight)", self.kappa, low=0)
        number("AMJob gamma (temporal TV weight)", self.gamma, low=0)
        number("AMJob seed", self.seed, low=0, integer=True)

    @property
    def unit(self) -> str:
        """"layer cN" for a unit (or "layer class_name"), else the target: how grids and legends label the job."""
        one = self.target.single_unit()
        if one is None:
            return repr(self.target)
        layer, channel = one
        return f"{layer} {channel}" if isinstance(channel, str) else f"{layer} c{channel}"


@dataclass(frozen=True)
class ResolvedJob:
    """An :class:`AMJob` on one model, as a run reads it. ``job``: the job with its target resolved (class names
    as indices, logits on the model's logit layer); ``layer``: the layer whose receptive field and stride set ρ and
    the jitter (the deepest layer the target reads). A target that is one unit summed over its positions is that
    unit, ``channel``, normalized by its â (``target`` is then None); any other target's value is maximized as it
    is (``channel`` None)."""

    job: AMJob
    layer: str
    channel: int | None = None
    target: Target | None = None

    kappa = property(lambda self: self.job.kappa)
    gamma = property(lambda self: self.job.gamma)
    seed = property(lambda self: self.job.seed)
    unit = property(lambda self: self.job.unit)


def sweep(target, preset: str = "anisotropic", seed: int = 0) -> list[AMJob]:
    """The jobs of one of the papers' regularizer sweeps for a target (a unit, ``unit(layer, channel)``, or any
    target :class:`AMJob` takes): ``anisotropic`` (κ = 1, γ ∈ {10, 5, 1, 0}), ``isotropic`` (κ = γ ∈ {10, 5, 2.5,
    1}) or ``spatial`` (γ = 0)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    return [AMJob(target, k, g, seed) for k, g in PRESETS[preset]]


#: ``activation_max_source`` when no maximum is known: â is taken as 1, so a/â is the raw activation
UNKNOWN_MAX = "unknown (â = 1)"
#: ``activation_max_source`` of a job stopped before â was measured
NOT_MEASURED = "not measured (stopped before the first step)"
#: ``activation_max_source`` of a target's job: its value is maximized and reported as it is
TARGET_VALUE = "none: a target's value, not normalized (â = 1)"


@dataclass
class AMResult(Displayable, OptimizedResult):
    """One job's outcome. ``appearance``: H×W×3 (two-stream) or T×H×W×3 (single-stream) mean-subtracted
    RGB on 0–255; ``motion``: L×2×H×W flow in pixels (two-stream only); ``pathways``: a multi-pathway model's
    (SlowFast's) inputs by pathway, slowest first, each T_p×H×W×3 like ``appearance`` (which holds the first).
    ``activation`` and ``objective``: per step, the normalized activation a/â (with jitter) and the full
    objective of eq. 1. ``normalized_activation``: a/â of the returned input, measured on a final pass after a
    run that took every step, else (a Stop, a Ctrl-C, a batch that all diverged) as the best step's pass measured
    it (``settings["final_values"]`` says which); ``None``, not measured, for a job stopped before its first
    step, whose ``activation_max`` is ``None`` too when â was not measured yet."""

    job: AMJob
    appearance: np.ndarray
    motion: np.ndarray | None
    activation: np.ndarray
    objective: np.ndarray
    normalized_activation: float | None
    activation_max: float | None
    activation_max_source: str
    pathways: dict[str, np.ndarray] | None = None

    @property
    def stream_names(self) -> tuple[str, ...]:
        """The inputs the result holds, as its clips show them in order."""
        if self.pathways:
            return tuple(self.pathways)
        return ("appearance", "motion") if self.motion is not None else ("appearance",)

    @property
    def title(self) -> str:
        return f"{self.job.unit} κ={self.job.kappa:g} γ={self.job.gamma:g}"

    @property
    def activation_caption(self) -> str:
        """The final activation as the grids caption it. A raw activation is never labelled as a ratio: with no
        â it reads "a 15.29 (â unknown)", and for a unit that never fires on the validation set a/â is undefined."""
        if self.settings.get("steps") == 0 and self.status in ("stopped", "interrupted"):
            return f"{self.status} before the first step"
        if self.activation_max_source == UNKNOWN_MAX:
            return f"a {self.normalized_activation:.2f} (â unknown)"
        if self.activation_max_source == TARGET_VALUE:
            return f"value {self.normalized_activation:.2f}"
        if not self.activation_max > 0:
            return f"a/â undefined (â = {self.activation_max:g})"
        return f"a/â {self.normalized_activation:.2f}"

    def appearance_clip(self):
        """The appearance input rendered min–max over the whole sequence, as in the papers."""
        return _rendered(self.appearance)

    def pathway_clips(self) -> list:
        """Each pathway's input rendered min–max over its own sequence, its frames held for its frame stride so
        that every pathway plays on the fast pathway's clock (slow frame k covers fast frames kα … kα + α − 1)."""
        from ...media.clips import on_one_clock

        if not self.pathways:
            raise ValueError("only a multi-pathway model's result has pathways")
        return [_rendered(v) for v in on_one_clock(list(self.pathways.values()))]

    def motion_clip(self, mode: str = "paper"):
        from ...media.clips import Clip
        from ...media.flow import flow_to_rgb

        if self.motion is None:
            raise ValueError("a single-stream model has no motion input")
        return Clip(flow_to_rgb(self.motion, mode=mode, layout="TCHW"), "flow")

    def clips(self) -> list:
        if self.pathways:
            return self.pathway_clips()
        return [self.appearance_clip()] + ([self.motion_clip()] if self.motion is not None else [])

    def clip_grid(self) -> ClipGrid:
        return ClipGrid(self.clips(), captions=[f"{self.title} · {n}" for n in self.stream_names])

    def to_entry(self) -> tuple[dict, dict]:
        """The result as a store entry: (arrays, meta)."""
        arrays = {k: getattr(self, k) for k in _ARRAYS if getattr(self, k) is not None}
        for name, v in (self.pathways or {}).items():
            arrays[_PATHWAY + name] = v
        meta = {k: getattr(self, k) for k in ("normalized_activation", "activation_max", "activation_max_source",
                                              "best_step", "status", "diverged_at", "settings")}
        return arrays, meta

    @classmethod
    def from_entry(cls, job: AMJob, arrays: dict, meta: dict) -> "AMResult":
        pathways = {k[len(_PATHWAY):]: v for k, v in arrays.items() if k.startswith(_PATHWAY)} or None
        return cls(job=job, motion=arrays.get("motion"), pathways=pathways,
                   **{k: arrays[k] for k in _ARRAYS if k != "motion"}, **meta)

    def __repr__(self) -> str:
        a = "not measured" if self.normalized_activation is None else f"{self.normalized_activation:.3g}"
        return (f"AMResult({self.title}: normalized activation {a} "
                f"(â from {self.activation_max_source}), best at step {self.best_step}, {self.status})")


class AMResults(JobResults):
    """The results of a batch of jobs, in job order (:class:`~..core.collection.Results`: ``.show()``,
    ``.save(path)``, ``.settings``, and ``vidvis_widgets.methods.load`` for a saved file)."""

    method_name = "activation_maximization"
    item_type = AMResult
    job_type = AMJob

    def clip_grid(self) -> ClipGrid:
        clips, captions = [], []
        for r in self:
            for name, clip in zip(r.stream_names, r.clips()):
                clips.append(clip)
                captions.append(f"{r.title} · {name}")
        # a result's streams side by side, up to four single-stream results to a row; fewer cells, fewer columns
        per_row = len(self[0].stream_names) if self and len(self[0].stream_names) > 1 else 4
        return ClipGrid(clips, captions=captions, cols=max(1, min(per_row, len(clips))))


_ARRAYS = ("appearance", "motion", "activation", "objective")
#: a pathway's input in a store entry: "pathway_" + its name
_PATHWAY = "pathway_"


def _rendered(a: np.ndarray):
    """Mean-subtracted RGB (H×W×3 or T×H×W×3) as a clip, min–max over the whole sequence."""
    from ...media.clips import as_clip

    lo, hi = float(a.min()), float(a.max())
    rgb = ((a - lo) / (hi - lo) * 255 if hi > lo else np.full_like(a, 128)).round().astype(np.uint8)
    return as_clip(rgb, layout="HWC" if rgb.ndim == 3 else "THWC")  # a two-stream appearance is one image
