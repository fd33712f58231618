"""The same units optimized on every checkpoint of a training run (IJCV 2020, Fig. 9): how what a unit
wants to see forms over the epochs."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from torch import nn

from ...models.checkpoints import CheckpointMismatch, embedded_checkpoints, load_state, read_checkpoint
from ...models.run_control import Stopped, ctrl_c_stops, ended
from ...checks import number
from ...models.registry import is_embedded
from ..core.progress import wanted
from ..core.calls import make_jobs
from .am import ActivationMaximization, AMJob, AMResults
from .results import ResolvedJob


@dataclass
class FilterEvolution:
    """``results[e]``: the AM results of ``jobs`` on checkpoint ``labels[e]``, in job order."""

    labels: list[str]
    jobs: list[AMJob]
    results: list[AMResults]


def checkpoint_models(model: nn.Module, checkpoints: Sequence[str | Path] | None = None) -> tuple[list[str], list[nn.Module]]:
    """(labels, models): ``model``'s architecture with each checkpoint's weights, all read and checked before
    any is used. ``checkpoints``: paths, or ``None`` for an embedded model's shipped per-epoch checkpoints."""
    info = getattr(model, "vidvis_adapter", None)
    if checkpoints is None:
        name = info.name if info is not None else None
        checkpoints = embedded_checkpoints(name) if name else []
        if not checkpoints:
            raise ValueError(f"{name or type(model).__name__} has no embedded per-epoch checkpoints; pass "
                             "checkpoints=[path, ...] (files saved from this architecture's state_dict)")
    paths = [Path(p) for p in checkpoints]
    if not paths:
        raise ValueError("no checkpoints given; expected a list of checkpoint files")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} of {len(paths)} checkpoint files do not exist: {', '.join(missing)}")
    labels, models = [], []
    for p in paths:
        state, meta = read_checkpoint(p)
        m = copy.deepcopy(model)
        try:
            load_state(m, state, f"checkpoint {p}")
        except CheckpointMismatch as err:
            raise CheckpointMismatch(f"{err} (every checkpoint must come from the same architecture as the model "
                                     "given)") from None
        if info is not None:  # â then comes from this checkpoint's own validation responses
            m.vidvis_adapter = dataclasses.replace(info, weights=str(p))
        labels.append(f"epoch {meta['epoch']}" if "epoch" in meta else p.stem)
        models.append(m.eval())
    return labels, models


def filter_evolution(model: nn.Module, target, checkpoints=None, *, seeds=0, kappa: float = 1.0, gamma: float = 5.0,
                     steps: int | None = None, store=None, callback=None, stop=None, stack: bool | str = "auto",
                     progress: bool | None = None, **am_kwargs) -> FilterEvolution:
    """Runs activation maximization for ``target`` on every checkpoint: the jobs an :class:`ActivationMaximization`
    call makes of it (a target such as ``unit("conv5_fusion", 3)``, a class, a list of them, each from every seed of
    ``seeds`` with the setting ``kappa``, ``gamma``; or :class:`AMJob` values), the same on each checkpoint.

    ``stack``: run every checkpoint's jobs as one batch through the checkpoints stacked into one model
    (:class:`~.stacked.StackedCheckpoints`), or (``False``) each checkpoint as its own batch. ``"auto"``
    stacks on a GPU, where one batched kernel per layer replaces one launch per checkpoint; on the CPU
    vmap's grouped convolutions gain nothing over separate batches (4 checkpoints × 2 units, 20 steps, 2
    cores: 9.3 s stacked vs 7.0 s on the plain two-stream model; 5.2 s vs 5.4 s, â given, on the symmetric one).
    ``am_kwargs`` go to :class:`ActivationMaximization` (the same for every checkpoint); ``store``
    keeps every result, so a re-run loads them. ``callback`` sees all checkpoints' jobs, checkpoint-major.
    ``progress``: a bar over the steps (one per checkpoint when they run one after another), as
    :class:`ActivationMaximization` takes it."""
    show = wanted(progress, callback)
    jobs, _ = make_jobs(target, seeds, AMJob, lambda i, t, s: AMJob(t, kappa, gamma, s), "filter_evolution",
                        "a unit (unit(layer, channel)), a class, a list of them, or AMJob values",
                        kappa=(kappa, 1.0), gamma=(gamma, 5.0))
    labels, models = checkpoint_models(model, checkpoints)
    if "val_data" not in am_kwargs and am_kwargs.get("activation_max", "auto") == "auto" and is_embedded(models[0]):
        import numpy as np

        from ...data.synthetic import SyntheticActions

        am_kwargs["val_data"] = SyntheticActions("val").arrays(flow_dtype=np.float16)  # drawn once, not per epoch
    ams = [ActivationMaximization(m, store=store, **am_kwargs) for m in models]
    steps = number("steps", steps, low=1, integer=True, default=ams[0].steps)
    jobs = ams[0].resolve(jobs)  # layer and class names, checked before anything is measured
    with ctrl_c_stops(stop) as halt:  # from here on a Ctrl-C is a Stop with status "interrupted"
        try:
            # the layer table belongs to the architecture: list_layers caches it, so every checkpoint after the
            # first reuses the first one's
            for am in ams:
                am.measure(jobs, halt)
        except (Stopped, KeyboardInterrupt) as err:  # every checkpoint's jobs keep their start inputs
            return FilterEvolution(labels, [j.job for j in jobs], [am.unstarted(jobs, ended(err)) for am in ams])
        if stack == "auto":
            stack = ams[0].device.type == "cuda"
        if stack and len(models) > 1 and not _all_stored(ams, jobs, steps):
            results = _run_stacked(ams, jobs, steps, callback, halt, show)
        else:
            results = []
            for am in ams:
                results.append(am(jobs, steps=steps, callback=callback, stop=halt, progress=show))
                if halt.is_set():
                    break
    return FilterEvolution(labels[: len(results)], [j.job for j in jobs], results)


def _all_stored(ams: list[ActivationMaximization], jobs: list[ResolvedJob], steps: int) -> bool:
    return ams[0].store is not None and all(r is not None for am in ams for r in am.stored(jobs, steps))


def _run_stacked(ams: list[ActivationMaximization], jobs: list[ResolvedJob], steps: int, callback, stop, progress=False):
    """All checkpoints' jobs in one loop: each job's objective carries its own checkpoint's â."""
    from ..core.stacked import StackedCheckpoints

    first = ams[0]
    for j in jobs:
        first.check(j)
    layers = {j.layer for j in jobs}
    pre = first.pre_activation(layers)
    model = StackedCheckpoints([am.model for am in ams], layers, pre).to(first.device)
    objectives = [am.objective(j) for am in ams for j in jobs]
    outcome = first.optimize(model, [j for _ in ams for j in jobs], objectives, steps, callback, 25, stop, pre,
                             progress=progress)
    n = len(jobs)
    results = []
    for e, am in enumerate(ams):
        part = _slice(outcome, slice(e * n, (e + 1) * n))
        rs = am.finish(jobs, part)
        if am.store is not None:
            am.keep(jobs, rs, steps)
        results.append(rs)
    return results


def _slice(outcome, rows: slice):
    from ..core.loop import LoopOutcome

    diverged = outcome.diverged_at[rows]
    status = outcome.status
    if status == "diverged" and not (diverged >= 0).any():
        status = "completed"
    return LoopOutcome({k: v[rows] for k, v in outcome.best.items()}, outcome.best_score[rows],
                       outcome.best_step[rows], {k: v[:, rows] for k, v in outcome.history.items()},
                       outcome.steps_run, status, diverged, kept={k: v[rows] for k, v in outcome.kept.items()},
                       judged=outcome.judged)
