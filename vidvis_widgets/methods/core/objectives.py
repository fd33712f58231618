"""Objectives as small composable values, evaluated for a whole batch of jobs at once.

    objective = unit("conv5_fusion", 4) / (rho ** 2 * a_hat) - lam_b * energy("motion") - lam_tv * tv("motion", 1, 5)

reads like eq. 1 of Feichtenhofer et al. Each job in a batch has its own objective; terms of the same
operation on the same layer or stream are evaluated for all jobs in one vectorized call, with each job's
weight (0 where the job lacks the term) and parameters stacked into tensors. The model read-outs (``unit``,
``logit``: :mod:`.targets`) are targets; the regularizers (``energy``, ``tv``) act on the input streams.

One sign convention: an :class:`Objective` is maximized. What a paper writes as a loss, to be minimized (LEAPS'
eq. 4, :mod:`~vidvis_widgets.methods.leaps.terms`), is a :class:`Loss`, whose negation is its objective: a loss
enters an objective as a negated term (``target - loss``; ``target + loss`` is refused). A method with terms of
its own gives their evaluators to :class:`BatchedObjective`, which evaluates them with the same slots, weights
and sums as AM's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import torch

from .regularizers import energy_norm, total_variation


@dataclass(frozen=True)
class Term:
    op: str  # "unit" | "unit_at" | "logit" (read-outs, :data:`READOUTS`) | "energy" | "tv" | a method's own
    target: str  # a layer name for read-outs ("" for a logit not yet resolved), a stream name for regularizers
    weight: float
    params: tuple[tuple[str, float], ...]

    def __str__(self) -> str:
        args = ", ".join([repr(self.target)] + [f"{k}={v!r}" if isinstance(v, str) else f"{k}={v:g}"
                                                for k, v in self.params])
        return f"{self.weight:.3g}·{self.op}({args})"


class Objective:
    """A weighted sum of terms, to be maximized."""

    def __init__(self, terms: Sequence[Term] = ()):
        self.terms = tuple(terms)

    def _scaled(self, s: float) -> "Objective":
        return type(self)(tuple(Term(t.op, t.target, t.weight * s, t.params) for t in self.terms))

    def __add__(self, other: "Objective") -> "Objective":
        if isinstance(other, (int, float)) and other == 0:  # sum() starts from 0
            return self
        if not isinstance(other, Objective):
            return NotImplemented
        if isinstance(self, Loss) != isinstance(other, Loss):
            loss, objective = (self, other) if isinstance(self, Loss) else (other, self)
            raise TypeError(f"a loss ({loss!r}) is minimized and an objective ({objective!r}) maximized: add -loss, "
                            "the objective the loss stands for")
        # a sum of targets is a target; with a regularizer in it, an objective
        return (type(self) if type(other) is type(self) else Objective)(self.terms + other.terms)

    __radd__ = __add__

    def __sub__(self, other: "Objective") -> "Objective":
        return self + (-other)

    def __neg__(self) -> "Objective":
        return self._scaled(-1.0)

    def __mul__(self, s: float) -> "Objective":
        if not isinstance(s, (int, float)):
            return NotImplemented
        return self._scaled(float(s))

    __rmul__ = __mul__

    def __truediv__(self, s: float) -> "Objective":
        return self._scaled(1.0 / float(s))

    def layers(self) -> set[str]:
        return {t.target for t in self.terms if t.op in READOUTS}

    def streams(self) -> set[str]:
        return {t.target for t in self.terms if t.op not in READOUTS}

    def without_zeros(self) -> "Objective":
        """The objective less its terms of weight 0 (terms nothing weighs, which a batch need not evaluate)."""
        return type(self)(tuple(t for t in self.terms if t.weight != 0))

    def __repr__(self) -> str:
        return " + ".join(map(str, self.terms)).replace("+ -", "- ") or "0"


class Loss(Objective):
    """A weighted sum of terms to be minimized, as a paper writes its loss (``ce() + prim() + r * coh()``); its
    negation ``-loss`` is the :class:`Objective` it stands for, which the machinery maximizes, so an objective
    takes a loss as ``target - loss``. A loss adds to a loss; added to an objective it is refused (negate it
    first), so no sign is ever guessed."""

    def __neg__(self) -> Objective:
        return Objective(self._scaled(-1.0).terms)

    def __sub__(self, other: "Loss") -> "Loss":
        return self + (-1.0 * other)  # a loss less a loss; less an objective, refused by __add__


#: the operations that read the model (a target's), as opposed to the regularizers on its input
READOUTS = ("unit", "unit_at", "logit")


def energy(stream: str, alpha: float = 3.0) -> Objective:
    """N_B(x) of eq. 2 on one input stream; the hard bound B is a projection the optimizer applies."""
    return Objective([Term("energy", stream, 1.0, (("alpha", float(alpha)),))])


def tv(stream: str, kappa: float = 1.0, gamma: float = 0.0) -> Objective:
    """R_TV(x; κ, γ) of eq. 3 on one input stream."""
    return Objective([Term("tv", stream, 1.0, (("kappa", float(kappa)), ("gamma", float(gamma))))])


@dataclass
class Slot:
    """One term of a batch's objectives: its operation and layer or stream, each job's weight (0 where the job lacks
    it) and each job's parameters, (N,) tensors."""

    op: str
    target: str
    weight: torch.Tensor  # (N,)
    params: dict[str, torch.Tensor]  # name -> (N,)


@dataclass
class TermInputs:
    """What one pass gives the terms of a batch: the recorded layers (N×C×… by name), the input streams
    (N×D×T×H×W by name), the layers recorded before their final ReLU, and ``context``: what a method's own
    terms read besides (LEAPS: the logits, the priming features, the verifier's BatchNorm inputs)."""

    acts: Mapping[str, torch.Tensor]
    streams: Mapping[str, torch.Tensor]
    rectified: frozenset = frozenset()
    context: Mapping[str, Any] = field(default_factory=dict)


#: an evaluator: a slot's value for every job of the batch, (N,), unweighted
Evaluator = Callable[[Slot, TermInputs], torch.Tensor]

#: parameters that index (a channel, a position, a class), kept as integers
INDEX_PARAMS = ("channel", "t", "y", "x", "class")


class BatchedObjective:
    """The objectives of N jobs compiled into per-operation slots of stacked weights and parameters.
    ``evaluators``: a method's own operations (op → :data:`Evaluator`), beside the read-outs and AM's regularizers."""

    def __init__(self, objectives: Sequence[Objective], device: torch.device | str = "cpu",
                 evaluators: Mapping[str, Evaluator] | None = None):
        for obj in objectives:
            if isinstance(obj, Loss):
                raise TypeError(f"{obj!r} is a loss, to be minimized; objectives are maximized: give -loss")
        self.evaluators = {**_EVALUATORS, **(evaluators or {})}
        n = len(objectives)
        self.size = n
        rows: dict[tuple, dict[int, Term]] = defaultdict(dict)
        for j, obj in enumerate(objectives):
            seen: dict[tuple, int] = defaultdict(int)
            for t in obj.terms:
                key = (t.op, t.target)
                rows[key + (seen[key],)][j] = t  # a second unit on the same layer gets its own slot
                seen[key] += 1
        self.slots: list[Slot] = []
        for (op, target, _), by_job in rows.items():
            if op not in self.evaluators:
                raise ValueError(f"no evaluator for the term {op!r}; known: {', '.join(self.evaluators)}")
            names = [k for k, _ in next(iter(by_job.values())).params]
            weight = torch.zeros(n, dtype=torch.float64)
            params = {k: torch.zeros(n, dtype=torch.float64) for k in names}
            for j, t in by_job.items():
                weight[j] = t.weight
                for k, v in t.params:
                    params[k][j] = v
            self.slots.append(Slot(op, target, weight.float().to(device),
                                   {k: v.to(torch.long if k in INDEX_PARAMS else torch.float32).to(device)
                                    for k, v in params.items()}))

    @property
    def ops(self) -> set[str]:
        """The operations some job of the batch has (what a pass must provide for)."""
        return {s.op for s in self.slots}

    def __call__(self, activations: Mapping[str, torch.Tensor], streams: Mapping[str, torch.Tensor],
                 rectified=frozenset(), **context) -> dict:
        """{"unit", "energy", "tv", "total"}: per-job sums (N,) of the weighted terms of each operation, every
        read-out (unit, logit) under "unit", and a method's own operations each under its name; "total" is their
        sum, the objective. ``rectified``: layers recorded before their final ReLU whose units are read after it
        (by default a unit climbs its pre-activation). ``context``: what a method's own terms read
        (:class:`TermInputs`)."""
        return self.evaluate(activations, streams, rectified, **context)[0]

    def evaluate(self, activations: Mapping[str, torch.Tensor], streams: Mapping[str, torch.Tensor],
                 rectified=frozenset(), **context) -> tuple[dict, list[tuple[Slot, torch.Tensor]]]:
        """(the weighted sums of :meth:`__call__`, each slot with its unweighted value (N,)): a method whose jobs
        hold each operation once reads its terms' own values from the second (LEAPS' history)."""
        inputs = TermInputs(activations, streams, frozenset(rectified), context)
        parts: dict[str, torch.Tensor] = {}
        values = []
        for slot in self.slots:
            value = self.evaluators[slot.op](slot, inputs)
            values.append((slot, value))
            group = "unit" if slot.op in READOUTS else slot.op
            parts[group] = parts.get(group, 0) + slot.weight * value
        first = next(iter(activations.values()), None)
        if first is None:
            first = next(iter(streams.values()))
        zero = torch.zeros(self.size, device=first.device)
        out = {k: parts.get(k, zero) for k in ("unit", "energy", "tv")}
        out["total"] = out["unit"] + out["energy"] + out["tv"]
        for group, v in parts.items():  # a method's own operations, in the order its terms come
            if group not in out:
                out[group] = v
                out["total"] = out["total"] + v
        return out, values


def unit_values(act: torch.Tensor, channel: torch.Tensor, rows: torch.Tensor | None = None,
                rectify: bool = False) -> torch.Tensor:
    """Each job's channel of ``act`` (N×C×…; job ``i`` reads row ``rows[i]``, by default row i), summed over all
    locations, in float32: (N,). ``rectify``: after a ReLU (the probe recorded that ReLU's input). Only the
    picked channels are copied, never the layer."""
    rows = torch.arange(act.shape[0], device=act.device) if rows is None else rows
    picked = act[rows, channel].float()
    picked = picked.clamp_min(0) if rectify else picked
    return picked.flatten(1).sum(1) if picked.dim() > 1 else picked


def _unit(slot: Slot, p: TermInputs) -> torch.Tensor:
    return unit_values(p.acts[slot.target], slot.params["channel"], rectify=slot.target in p.rectified)


def _unit_at(slot: Slot, p: TermInputs) -> torch.Tensor:
    """Each job's channel at its (t, y, x) position of the layer's N×C×T×H×W maps."""
    act = p.acts[slot.target]
    rows = torch.arange(act.shape[0], device=act.device)
    q = slot.params
    v = act[rows, q["channel"], q["t"], q["y"], q["x"]].float()
    return v.clamp_min(0) if slot.target in p.rectified else v


def _logit(slot: Slot, p: TermInputs) -> torch.Tensor:
    """Each job's class logit as the model reports it: the logit layer's channel, averaged over any positions
    (a convolutional head's maps, which the model's own pool averages)."""
    act = p.acts[slot.target]
    picked = act[torch.arange(act.shape[0], device=act.device), slot.params["channel"]].float()
    return picked.flatten(1).mean(1) if picked.dim() > 1 else picked


def _energy(slot: Slot, p: TermInputs) -> torch.Tensor:
    return energy_norm(p.streams[slot.target], slot.params["alpha"])


def _tv(slot: Slot, p: TermInputs) -> torch.Tensor:
    return total_variation(p.streams[slot.target], slot.params["kappa"], slot.params["gamma"])


_EVALUATORS: dict[str, Evaluator] = {"unit": _unit, "unit_at": _unit_at, "logit": _logit, "energy": _energy,
                                     "tv": _tv}


class JobUnits:
    """Each job's own unit (:func:`unit_values`) on its own layer, read from one pass's recorded layers as an
    (N,) tensor: the raw activation a, after the layer's final ReLU where the probe recorded that ReLU's input
    (its ``rectified`` layers). The index tensors are made once, so a step reads them with no host copy."""

    def __init__(self, layers: Sequence[str], channels: Sequence[int], device: torch.device | str = "cpu"):
        self.size = len(layers)
        rows = {l: [i for i, m in enumerate(layers) if m == l] for l in dict.fromkeys(layers)}
        self.rows = {l: torch.tensor(r, device=device) for l, r in rows.items()}
        self.channels = {l: torch.tensor([int(channels[i]) for i in r], device=device) for l, r in rows.items()}

    def __call__(self, acts: Mapping[str, torch.Tensor], rectified=frozenset()) -> torch.Tensor:
        out = torch.empty(self.size, device=next(iter(self.channels.values())).device)
        for l, rows in self.rows.items():
            out[rows] = unit_values(acts[l], self.channels[l], rows, rectify=l in rectified)
        return out
