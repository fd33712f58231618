"""LEAPS' jobs and results: a video to synthesize (:class:`InversionJob`), the variants as the paper's table
rows, and what a run gives (:class:`InversionResult`), as data that shows itself as clips."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...checks import number
from ...media.grid import ClipGrid, Displayable
from ..core.collection import JobResults
from ..core.result import OptimizedResult
from ..core.targets import Target

#: the rows of the paper's Tables 1 and 3, in their order
TABLE_ROWS = ("deepdream", "am", "prim", "prim+coh", "prim+feat", "leaps")
ROW_NAMES = {"deepdream": "3D DeepDream", "am": "3D AM", "prim": "LEAPS (L_prim)",
             "prim+coh": "LEAPS (L_prim + R_coh)", "prim+feat": "LEAPS (L_prim + R_feat)", "leaps": "LEAPS (full)"}


@dataclass(frozen=True)
class InversionJob:
    """One video to synthesize: class ``target`` (an index, or a name of the model's classes), primed by
    stimulus number ``stimulus`` of the stimuli given with the call (``None`` for the variants without
    priming), from random start ``seed``. A call resolves a class name to its index in its results.

    ``target`` may also be any target (:mod:`~vidvis_widgets.methods.core.targets`), e.g. ``logit("a") - logit("b")``:
    the class term of the loss is then the target's negated value (minimized, so the target is maximized) where a
    class's is its cross-entropy; a target that is one logit is that class (``InversionJob(logit(3)).target == 3``).
    The priming stimulus's class check reads the class the target weighs most."""

    target: int | str | Target
    stimulus: int | None = None
    seed: int = 0
    variant: str = "leaps"

    def __post_init__(self):
        if isinstance(self.target, Target):
            one = self.target.single_class()
            object.__setattr__(self, "target", one if one is not None else self.target)
        elif isinstance(self.target, tuple):
            raise TypeError(f"InversionJob target must be a class index or name or a target; got the tuple "
                            f"{self.target!r} (a unit is unit(layer, channel))")
        if not isinstance(self.target, (str, Target)):
            number("InversionJob target (a class index or name)", self.target, low=0, integer=True)
        number("InversionJob stimulus", self.stimulus, low=0, integer=True, default=None)
        number("InversionJob seed", self.seed, low=0, integer=True)
        if self.variant not in TABLE_ROWS:
            raise ValueError(f"unknown variant {self.variant!r}; expected one of {', '.join(TABLE_ROWS)}")

    @property
    def title(self) -> str:
        s = f" · stimulus {self.stimulus}" if self.stimulus is not None else ""
        what = repr(self.target) if isinstance(self.target, Target) else f"class {self.target}"
        return f"{what}{s} · seed {self.seed} · {ROW_NAMES.get(self.variant, self.variant)}"


@dataclass
class InversionResult(Displayable, OptimizedResult):
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

    @property
    def predicted(self) -> int | None:
        """The inverted model's class for the result; ``None`` for a job stopped before it ran."""
        p = np.asarray(self.probabilities, np.float64)
        return int(np.argmax(p)) if p.size and np.isfinite(p).all() else None

    @property
    def title(self) -> str:
        return self.job.title

    def clips(self) -> list:
        from ...media.clips import as_clip

        return ([as_clip(self.stimulus, layout="THWC")] if self.stimulus is not None else []) + \
            [as_clip(self.video, layout="THWC")]

    def clip_grid(self) -> ClipGrid:
        return ClipGrid(self.clips(), captions=(["stimulus"] if self.stimulus is not None else []) + [self.title])

    def to_entry(self) -> tuple[dict, dict]:
        """The result as a store entry: (arrays, meta)."""
        arrays = {"video": self.video, "x": self.x, "probabilities": self.probabilities,
                  "stage_steps": np.array([s for s, _ in self.stages], np.int64),
                  "stage_videos": np.stack([v for _, v in self.stages]) if self.stages else
                  np.zeros((0, *self.video.shape), np.uint8),
                  **{f"history.{k}": v for k, v in self.history.items()}}
        if self.stimulus is not None:
            arrays["stimulus"] = self.stimulus
        return arrays, {"best_step": self.best_step, "status": self.status, "diverged_at": self.diverged_at,
                        "settings": self.settings}

    @classmethod
    def from_entry(cls, job: InversionJob, arrays: dict, meta: dict) -> "InversionResult":
        return cls(job=job, video=arrays["video"], x=arrays["x"], stimulus=arrays.get("stimulus"),
                   probabilities=arrays["probabilities"],
                   history={k[len("history."):]: v for k, v in arrays.items() if k.startswith("history.")},
                   stages=[(int(s), v) for s, v in zip(arrays["stage_steps"], arrays["stage_videos"])], **meta)

    def __repr__(self) -> str:
        if self.predicted is None:
            return f"InversionResult({self.title}: not run, its start only, {self.status})"
        p = "" if isinstance(self.job.target, Target) else \
            f" (p = {self.probabilities[self.job.target]:.2f} for the target)"
        return f"InversionResult({self.title}: predicted {self.predicted}{p}, best at step {self.best_step}, {self.status})"


class InversionResults(JobResults):
    """The results of a batch of jobs, in job order (:class:`~..core.collection.Results`: ``.show()``,
    ``.save(path)``, ``.settings``, and ``vidvis_widgets.methods.load`` for a saved file)."""

    method_name = "leaps"
    item_type = InversionResult
    job_type = InversionJob

    def clip_grid(self) -> ClipGrid:
        return ClipGrid([r.clips()[-1] for r in self], captions=[r.title for r in self], cols=min(4, max(1, len(self))))
