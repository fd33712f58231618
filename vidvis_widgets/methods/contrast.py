"""Contrastive views: what tells class ``a`` from class ``b``, beside what each class alone wants.

    views = contrast(model, "apply_lipstick", "apply_eye_makeup", inputs=clips)
    views["am"]          # (AMResults of a, of b, of a − b), AM of each logit and of their difference
    views["tubes"]       # (SaliencyTubeResults …), the clips' tubes for each of the three targets
    views.values("tubes")  # 3 × N: logit(a), logit(b) and logit(a) − logit(b) of every clip

The three targets are :func:`contrast_targets` ``(logit(a), logit(b), logit(a) - logit(b))``; each method runs
them through the one method interface (``method(model, target, inputs, ...)``), so stores, Stop and progress
work as they do for each method alone. Nothing here knows a model's kind: LEAPS runs where the model takes one
clip (its adapter says so), and is left out, with the reason in ``views.skipped``, elsewhere.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..media.grid import ClipGrid, Displayable
from ..models.adapter import adapter_of
from ..models.streams import check_one_clip
from .activation_maximization.am import AMJob, activation_maximization
from .core.collection import Results
from .core.targets import Target, logit, resolve_class
from .leaps.inversion import InversionJob, leaps
from .saliency_tubes.tubes import saliency_tubes

__all__ = ["contrast", "contrast_targets", "ContrastResults", "ContrastProgress", "METHODS", "leaps_unavailable"]

#: the methods a contrast runs, in the order of its rows
METHODS = ("am", "tubes", "leaps")
#: the three columns of every contrast
COLUMNS = ("a", "b", "a − b")


def contrast_targets(a: int | str, b: int | str) -> list[Target]:
    """``[logit(a), logit(b), logit(a) - logit(b)]``: each class alone, and what tells ``a`` from ``b``."""
    return [logit(a), logit(b), logit(a) - logit(b)]


@dataclass
class ContrastProgress:
    """What a contrast's callback sees: the method running (``method``, its ``phase`` of ``phases``), and its
    own progress (``step`` of ``steps``: AM's and LEAPS' steps, tubes' clip batches)."""

    method: str
    phase: int
    phases: int
    step: int
    steps: int


@dataclass
class ContrastResults(Displayable):
    """Each method's results for the three targets ``(logit(a), logit(b), logit(a) - logit(b))``: ``results[m]``
    is a tuple of three :class:`~.core.collection.Results` (AM's hold one job per γ). ``skipped``: the methods
    asked for but not run, each with the reason (a model LEAPS cannot invert, a Stop before they began)."""

    a: str
    b: str
    targets: tuple[Target, Target, Target]
    results: dict[str, tuple[Results, Results, Results]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    gammas: tuple[float, ...] = (0.0,)
    class_indices: tuple[int, int] = (0, 1)

    def __getitem__(self, method: str) -> tuple[Results, Results, Results]:
        if method not in self.results:
            why = self.skipped.get(method)
            raise KeyError(f"{method!r} was not run" + (f": {why}" if why else f"; run: {', '.join(self.results)}"))
        return self.results[method]

    def __contains__(self, method: str) -> bool:
        return method in self.results

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(self.results)

    @property
    def status(self) -> str:
        """"completed", or "stopped" when a Stop ended any method early or kept one from running."""
        stopped = any(str(s).startswith("stopped") or s == "interrupted" for s in self.skipped.values())
        for trio in self.results.values():
            for r in trio:
                stopped |= _status(r) in ("stopped", "interrupted")
        return "stopped" if stopped else "completed"

    def values(self, method: str) -> np.ndarray:
        """The three targets' values, 3 × N: tubes' per clip (each as the model reports it on the clip), AM's per
        job (each target's value on the input found for it). LEAPS' results keep the model's class probabilities,
        not its logits, so for "leaps" each row is the margin ``logit(a) - logit(b)`` (= log p(a) − log p(b)) on
        the video synthesized for that target."""
        trio = self[method]
        if method == "tubes":
            out = []
            for target, r in zip(self.targets, trio):
                one = target.single_class()
                v = r.logits[:, r.class_index(one)] if one is not None else r.target_values
                out.append(v.detach().float().cpu().numpy())
            return np.stack(out)
        if method == "am":
            return np.array([[float(x.normalized_activation) if x.normalized_activation is not None else np.nan
                              for x in r] for r in trio])
        ia, ib = (self.class_indices[k] for k in (0, 1))
        with np.errstate(divide="ignore"):
            return np.array([[float(np.log(x.probabilities[ia]) - np.log(x.probabilities[ib])) for x in r]
                             for r in trio])

    def region_energy(self, regions, method: str = "am", *, density: bool = True):
        """The share and density of each column's energy inside ``regions`` (:func:`~.core.region_energy.region_energy`):
        ``method`` "am" (every job of the three targets, one table) or "tubes" (the three targets' tubes)."""
        from .core.region_energy import RegionEnergy, region_energy

        if method not in ("am", "tubes"):
            raise ValueError(f"region energy measures AM inputs and tubes; method must be 'am' or 'tubes', got {method!r}")
        trio = self[method]
        if method == "am":
            return region_energy([x for r in trio for x in r], regions, density=density)
        parts = [region_energy(r, regions, density=density) for r in trio]
        return RegionEnergy([row for p in parts for row in p.rows], parts[0].source, density)

    def clip_grid(self, samples: int = 1) -> ClipGrid:
        """The three columns (a, b, a − b) × one row per method's view: AM's inputs (a two-stream model's
        appearance, then its motion per γ; a multi-pathway model's fastest pathway per γ), the tubes' heat of the
        first ``samples`` clips, LEAPS' video; each cell captioned with its target's value."""
        clips, captions, headers = [], [], []

        def row(header: str, cells: list, caps: list) -> None:
            headers.append(header)
            clips.extend(cells)
            captions.extend(caps)

        if "am" in self.results:
            trio = self.results["am"]
            first = trio[0][0]
            if first.pathways:
                for g, k in zip(self.gammas, range(len(self.gammas))):
                    row(f"AM {first.stream_names[-1]} γ={g:g}", [r[k].clips()[-1] for r in trio],
                        [r[k].activation_caption for r in trio])
            else:
                if first.motion is not None:
                    row("AM appearance", [r[0].appearance_clip() for r in trio], [r[0].activation_caption for r in trio])
                for k, g in enumerate(self.gammas):
                    cells = [r[k].motion_clip() if first.motion is not None else r[k].appearance_clip() for r in trio]
                    row(f"AM {'motion' if first.motion is not None else 'video'} γ={g:g}", cells,
                        [r[k].activation_caption for r in trio])
        if "tubes" in self.results:
            trio, values = self.results["tubes"], self.values("tubes")
            heats = [r.heat() for r in trio]
            for i in range(min(samples, heats[0].shape[0])):
                row(f"tubes · clip {i}", [h[i] for h in heats], [f"{v:.2f}" for v in values[:, i]])
        if "leaps" in self.results:
            margins = self.values("leaps")[:, 0]
            row("LEAPS", [r[0].video for r in self.results["leaps"]],
                [f"{self.a} − {self.b}: {m:.2f}" for m in margins])
        return ClipGrid(clips, captions=captions, rows=len(headers), cols=3, row_headers=headers,
                        col_headers=[self.a, self.b, f"{self.a} − {self.b}"], fps=8.0)

    def __repr__(self) -> str:
        skipped = "".join(f"; {m} skipped: {w}" for m, w in self.skipped.items())
        return f"ContrastResults({self.a} vs {self.b}: {', '.join(self.results) or 'nothing run'}{skipped})"


def leaps_unavailable(model) -> str | None:
    """Why LEAPS cannot invert ``model`` (its adapter's facts: one clip in, priming layers), or None."""
    try:
        check_one_clip(model, "inverted model")
    except (ValueError, TypeError) as err:
        return str(err)
    if not adapter_of(model).priming_layers:
        return f"{adapter_of(model).name} names no priming layers for LEAPS"
    return None


def contrast(model, a: int | str, b: int | str, *, methods: Sequence[str] = METHODS, inputs=None,
             leaps_inputs=None, gammas: Sequence[float] = (0.0,), kappa: float = 1.0, seed: int = 0,
             steps: int | None = None, leaps_steps: int | None = None, stop: threading.Event | None = None,
             callback: Callable[[ContrastProgress], None] | None = None, every: int = 1, progress=None,
             device=None, bf16: bool = False, store=None, am_settings: dict | None = None,
             tube_settings: dict | None = None, leaps_settings: dict | None = None) -> ContrastResults:
    """AM, Saliency Tubes and LEAPS of ``logit(a)``, ``logit(b)`` and ``logit(a) - logit(b)`` on ``model``.

    ``a``, ``b``: two different classes (indices or the adapter's class names). ``methods``: some of
    ``("am", "tubes", "leaps")``, run in that order. ``inputs``: the clips for the tubes (any form Saliency Tubes
    take: N×T×H×W×3, a list, a dict with 'rgb' (and 'flow')); required for "tubes", and LEAPS' stimuli come from
    them when ``leaps_inputs`` is None (the first clip labelled ``a`` primes ``a`` and ``a − b``, the first labelled
    ``b`` primes ``b``, where a dict gives 'label'; else the first clip primes all three). ``leaps_inputs``: one
    video T×H×W×3, or three (one per target). LEAPS is skipped, its reason in ``.skipped``, on a model it cannot
    invert (a two-stream model), unless named alone. ``gammas``: AM's temporal regularizer γ, one AM job per target
    and γ in one batch (``kappa``, ``seed`` likewise); ``steps``: AM's steps, ``leaps_steps`` LEAPS'.
    ``stop``: a Stop (an Event) ends the running method as that method's Stop does (its best so far kept) and the
    methods after it are not run. ``callback``: a :class:`ContrastProgress` every ``every`` steps of each method.
    ``store``: every method's results are kept and found again, as each method's own call does.
    ``am_settings`` / ``tube_settings`` / ``leaps_settings``: more settings for each method's call."""
    methods = _check_methods(methods)
    adapter = adapter_of(model)
    ia, ib = resolve_class(adapter, a, "a"), resolve_class(adapter, b, "b")
    if ia == ib:
        raise ValueError(f"a and b must be two different classes; got class {ia} twice")
    names = adapter.class_names
    name_a, name_b = (names[ia], names[ib]) if names else (str(ia), str(ib))
    gammas = tuple(float(g) for g in gammas)
    if not gammas:
        raise ValueError("gammas must name at least one γ (e.g. (0,) or (10, 5))")
    targets = tuple(contrast_targets(a, b))
    out = ContrastResults(name_a, name_b, targets, gammas=gammas, class_indices=(ia, ib))
    if "tubes" in methods and inputs is None:
        raise ValueError("contrast's tubes need the clips to explain: pass inputs= (clips N×T×H×W×3, or a dict with "
                         "'rgb'), or leave 'tubes' out of methods=")
    if "leaps" in methods:
        why = leaps_unavailable(model)
        if why is not None:
            if tuple(methods) == ("leaps",):
                raise ValueError(f"contrast cannot run LEAPS: {why}")
            warnings.warn(f"contrast leaves LEAPS out: {why}", stacklevel=2)
            out.skipped["leaps"] = why
            methods = tuple(m for m in methods if m != "leaps")
        else:
            stimuli = _stimuli(leaps_inputs, inputs, ia, ib)
    common = dict(device=device, bf16=bf16, store=store)
    for phase, method in enumerate(methods):
        if phase and stop is not None and stop.is_set():  # the first method answers a Stop itself (its starts)
            out.skipped[method] = "stopped before it began"
            continue
        cb = None if callback is None else _relay(callback, method, phase, len(methods))
        run = dict(stop=stop, callback=cb, every=every, progress=progress)
        if method == "am":
            jobs = [AMJob(t, kappa, g, seed) for t in targets for g in gammas]
            res = activation_maximization(model, jobs, steps=steps, **run, **common, **(am_settings or {}))
            n = len(gammas)
            out.results[method] = tuple(res[i * n:(i + 1) * n] for i in range(3))
        elif method == "tubes":
            out.results[method] = tuple(saliency_tubes(model, t, inputs, **run, **common, **(tube_settings or {}))
                                        for t in targets)
        else:
            settings = {"verifier": None, **(leaps_settings or {})}
            jobs = [InversionJob(t, stimulus=i, seed=seed) for i, t in enumerate(targets)]
            with warnings.catch_warnings():  # a stimulus "not of the target" is what a contrast asks for
                warnings.filterwarnings("ignore", "stimulus .* not the target")
                res = leaps(model, jobs, stimuli, steps=leaps_steps, **run, **common, **settings)
            out.results[method] = tuple(res[i:i + 1] for i in range(3))
    return out


def _check_methods(methods) -> tuple[str, ...]:
    if isinstance(methods, str):
        methods = (methods,)
    methods = tuple(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"methods must be some of {', '.join(map(repr, METHODS))}; got {list(methods)!r}")
    return tuple(m for m in METHODS if m in methods)


def _relay(callback, method: str, phase: int, phases: int):
    def relay(snap) -> None:
        callback(ContrastProgress(method, phase, phases, int(snap.step), int(snap.steps)))

    return relay


def _stimuli(leaps_inputs, inputs, ia: int, ib: int) -> list:
    """LEAPS' three priming videos (a, b, a − b)."""
    if leaps_inputs is not None:
        videos = list(leaps_inputs) if isinstance(leaps_inputs, (list, tuple)) else [leaps_inputs]
        if np.ndim(videos[0]) == 5:  # a batch N×T×H×W×3
            videos = list(videos[0])
        if len(videos) == 1:
            videos = videos * 3
        if len(videos) != 3:
            raise ValueError(f"leaps_inputs must be one video T×H×W×3 or three (for a, b and a − b); got {len(videos)}")
        return videos
    if inputs is None:
        raise ValueError("contrast's LEAPS primes the model with a video: pass leaps_inputs= (one video T×H×W×3, or "
                         "three), or inputs= (clips), or leave 'leaps' out of methods=")
    rgb = inputs.get("rgb") if isinstance(inputs, dict) else inputs
    clips = list(rgb) if isinstance(rgb, (list, tuple)) or np.ndim(rgb) == 5 else [rgb]
    if isinstance(inputs, dict) and "label" in inputs:
        labels = np.asarray(inputs["label"])
        first = lambda k: clips[int(np.flatnonzero(labels == k)[0])] if (labels == k).any() else clips[0]  # noqa: E731
        return [first(ia), first(ib), first(ia)]
    return [clips[0]] * 3


def _status(r) -> str:
    if hasattr(r, "status") and isinstance(r.status, str):
        return r.status
    statuses = {getattr(x, "status", "completed") for x in r} if isinstance(r, list) else {"completed"}
    return "stopped" if "stopped" in statuses else "interrupted" if "interrupted" in statuses else "completed"
