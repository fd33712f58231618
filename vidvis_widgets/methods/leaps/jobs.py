"""LEAPS' jobs: the classes and targets a call asks for, resolved against the model; a call's jobs (targets × seeds)
and their checks before any work; and what each job optimizes, its variant's loss (:data:`~.terms.VARIANTS`) and
the objective it maximizes, the loss negated.

:class:`InversionJobs` is a part of :class:`~.inversion.ModelInversion`: it reads the inversion's ``model``,
``adapter``, ``verifier``, ``class_names``, ``size``, ``r``, ``tv_weight`` and ``l2_weight``, its verifier's
BatchNorm layers, and the memory estimate's probe (the number of classes of a model that does not name them).
"""

from __future__ import annotations

import numpy as np

from ...models.layers import submodule
from ..core.calls import make_jobs
from ..core.objectives import Loss, Objective
from ..core.targets import Target
from .inputs import check_stimulus
from .results import TABLE_ROWS, InversionJob
from .terms import TERMS, VARIANTS, job_objective, term_weights
from .verifier import warn_without_verifier, without_feat

#: what ``target=`` takes, for the errors
EXPECTED = "a class index or name, a target (logit(c), their sums), a list of them, or InversionJob values"


class InversionJobs:
    """A call's jobs, resolved and checked, and what each optimizes (a part of :class:`~.inversion.ModelInversion`)."""

    # -- classes and targets ---------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        if self.class_names is not None:
            return len(self.class_names)
        return self._probe(verifier=False)[1]

    def class_index(self, cls, check_range: bool = True) -> int:
        """A class given by index or by one of the model's class names, as an index; a clear error (listing
        the valid names) for an unknown one. ``check_range=False`` leaves an index unchecked against the
        number of classes, which a model without class names tells only when it runs."""
        unnamed = not self.adapter.class_names  # a module whose head the adapter cannot count: run it to tell
        n = self.num_classes if check_range and unnamed and not isinstance(cls, str) else None
        return self.adapter.class_index(cls, num_classes=n, check_range=check_range)

    def resolve_target(self, target, check_range: bool = True):
        """A job's target with its classes as indices: a class (:meth:`class_index`), or a :class:`Target` resolved
        against the model's adapter (its units' layers checked to exist)."""
        if not isinstance(target, Target):
            return self.class_index(target, check_range)
        t = target.resolve(self.adapter, f"InversionJob target {target!r}")
        for layer in t.unit_layers():
            submodule(self.model, layer)
        for c, _ in t.classes:
            self.class_index(c, check_range)
        return t

    def _main_class(self, target) -> int | None:
        return target.main_class if isinstance(target, Target) else target

    def jobs(self, target, inputs, seeds=0, variant: str = "leaps") -> tuple[list[InversionJob], list[np.ndarray]]:
        """A call's jobs and its stimuli, checked before any work (see :meth:`__call__`)."""
        if variant not in TABLE_ROWS:
            raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(TABLE_ROWS)}")
        listed = isinstance(inputs, (list, tuple))
        videos = list(inputs) if listed else [] if inputs is None else [inputs]
        stimuli = [check_stimulus(v, f"inputs[{i}]" if listed else "inputs") for i, v in enumerate(videos)]
        n = len(target) if isinstance(target, (list, tuple)) else 1
        if listed and not any(isinstance(t, InversionJob) for t in (target if isinstance(target, (list, tuple))
                                                                     else [target])) and len(stimuli) != n:
            raise ValueError(f"inputs gives {len(stimuli)} stimuli for {n} target(s); expected one video for every "
                             "target, or a list of one per target")

        def make(i, t, seed):
            return InversionJob(t, (i if listed else 0) if stimuli else None, seed, variant)

        jobs, _ = make_jobs(target, seeds, InversionJob, make, "LEAPS", EXPECTED, variant=(variant, "leaps"))
        for j in jobs:
            if j.variant in VARIANTS and term_weights(self.loss(j.variant, full=True))["prim"] and j.stimulus is None:
                raise ValueError(f"variant {j.variant!r} primes the model with a video of the target class, so it "
                                 "needs inputs= (a video T×H×W×3, uint8 or float in [0, 1], or one per target)")
            if j.stimulus is not None and not 0 <= j.stimulus < len(stimuli):
                raise ValueError(f"job {j} refers to stimulus {j.stimulus}, but inputs gives {len(stimuli)}")
        return jobs, stimuli

    def _check(self, jobs: list[InversionJob]) -> None:
        if self.verifier is None:
            warn_without_verifier({v: self.loss(v, full=True) for v in VARIANTS}, [j.variant for j in jobs])
        for j in jobs:
            terms = term_weights(self.loss(j.variant)) if j.variant in VARIANTS else dict.fromkeys(TERMS, 0.0)
            low = self.adapter.min_shape  # the 3D AM baseline runs the model on x* itself, not resampled
            if j.variant == "am" and low is not None and any(s < m for s, m in zip(self.size, low)):
                raise ValueError(f"variant 'am' runs {self.adapter.name} on x* as it is, and it takes no less than "
                                 f"{'×'.join(map(str, low))} (T×H×W); size={self.size} is below that: give size= "
                                 "at least that, or leave it None")
            if terms["feat"]:
                if not self._bns:
                    raise ValueError(f"the verifier {type(self.verifier).__name__} has no BatchNorm layers with "
                                     "running statistics, and R_feat (eq. 3) compares against exactly those; "
                                     "use a verifier with BatchNorm (the default tiny_verifier, or an X3D as the "
                                     "paper does)")

    def class_label(self, c: int) -> str:
        """Class ``c`` as captions show it: its index and, where the model names its classes, its name."""
        return f"{c} ({self.class_names[c]})" if self.class_names is not None and c < len(self.class_names) else str(c)

    def loss(self, variant: str, full: bool = False) -> Loss:
        """The loss a variant minimizes, with this inversion's r and DeepDream weights: for ``"leaps"``,
        ``ce() + prim() + r * (coh() + feat())``, eq. 4 (printable: ``repr(inv.loss("leaps"))``); without a verifier,
        less R_feat (``full``: with it all the same)."""
        if variant not in VARIANTS:
            raise ValueError(f"variant {variant!r} has no loss of its own; those with one: {', '.join(VARIANTS)}")
        loss = VARIANTS[variant](r=self.r, tv_weight=self.tv_weight, l2_weight=self.l2_weight)
        return loss if self.verifier is not None or full else without_feat(loss)

    def objective(self, job: InversionJob) -> Objective:
        """What ``job`` maximizes: its variant's :meth:`loss` negated, with the job's class in L_CE, or its target's
        value in L_CE's place (:func:`~.terms.job_objective`); printable, e.g. ``-1·ce('video', class=3) -
        1·prim('video') - 0.01·coh('video') - 0.01·feat('video')``."""
        return job_objective(self.loss(job.variant), job.target)
