"""Targets: what a method is asked about, as small composable values.

    target = logit("apply_lipstick") - logit("apply_eye_makeup")
    target = unit("layer3", 4) + 0.5 * unit("layer4", 7, position=(1, 2, 2))

A target is a weighted sum of model read-outs: a unit (a layer's channel, summed over its positions, or at one
(t, y, x) position of the layer's N×C×T×H×W maps as the probe reads them) or a class logit (by index or by one of
the adapter's class names). Activation maximization and LEAPS maximize it; Saliency Tubes map its gradient. It
is an :class:`~.objectives.Objective` made only of read-outs, so the same batched machinery evaluates it, and a
target minus regularizers is an objective: ``target / rho2 - lam * tv("video", 1, 5)``.

A target is resolved against a model's adapter (:meth:`Target.resolve`) before it runs: class names become
indices (the one resolver, :func:`resolve_class`), a logit reads the adapter's logit layer. Evaluated on a pass's
recorded layers (:func:`target_values`) it gives one value per row: a unit's channel summed over positions (or at
its position), a logit as the model reports it (the logit layer's channel averaged over any positions it has).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Mapping, Sequence

import torch

from ...models.classes import class_index
from .objectives import READOUTS, BatchedObjective, Objective, Term


@dataclass(frozen=True, eq=True)
class Target(Objective):
    """A weighted sum of read-outs (``unit``, ``unit_at``, ``logit`` terms); arithmetic as an Objective's: ``a - b``,
    ``a + b``, ``w * a``, ``a / w``, ``-a``, ``sum([...])``."""

    terms: tuple[Term, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "terms", tuple(self.terms))
        for t in self.terms:
            if t.op not in READOUTS:
                raise ValueError(f"a target holds model read-outs ({', '.join(READOUTS)}), not {t.op!r}")
        if not self.terms:
            raise ValueError("a target needs at least one unit or logit")

    def __repr__(self) -> str:
        parts = []
        for t in self.terms:
            p = dict(t.params)
            if t.op == "logit":
                s = f"logit({p['channel']!r})"
            else:
                pos = f", position=({p['t']}, {p['y']}, {p['x']})" if t.op == "unit_at" else ""
                s = f"unit({t.target!r}, {p['channel']!r}{pos})"
            w = t.weight
            sign = "-" if w < 0 else "+"
            parts.append((sign, s if abs(w) == 1 else f"{abs(w):g}·{s}"))
        text = " ".join(f"{sign} {s}" for sign, s in parts)
        return text[2:] if text.startswith("+ ") else "-" + text[2:]

    @property
    def classes(self) -> tuple[tuple[int | str, float], ...]:
        """The logits the target reads, as (class, weight) pairs."""
        return tuple((dict(t.params)["channel"], t.weight) for t in self.terms if t.op == "logit")

    @property
    def main_class(self) -> int | str | None:
        """The class the target weighs most (its largest positive logit weight), or None."""
        best = max(((w, c) for c, w in self.classes if w > 0), default=None, key=lambda p: p[0])
        return best[1] if best is not None else None

    @property
    def reads_units(self) -> bool:
        return any(t.op != "logit" for t in self.terms)

    def single_unit(self) -> tuple[str, int | str] | None:
        """(layer, channel) when the target is one unit summed over positions with weight 1, else None."""
        if len(self.terms) == 1 and self.terms[0].op == "unit" and self.terms[0].weight == 1:
            return self.terms[0].target, dict(self.terms[0].params)["channel"]
        return None

    def single_class(self) -> int | str | None:
        """The class when the target is one logit with weight 1, else None."""
        if len(self.terms) == 1 and self.terms[0].op == "logit" and self.terms[0].weight == 1:
            return dict(self.terms[0].params)["channel"]
        return None

    def resolve(self, adapter, what: str = "target") -> "Target":
        """The target on ``adapter``'s model: class names turned into indices, logits reading its logit layer, a
        unit's channel given by class name (on the logit layer only) too. A clear error names ``what``."""
        out = []
        for t in self.terms:
            p = dict(t.params)
            layer = t.target
            if t.op == "logit":
                if not adapter.logit_layer:
                    raise ValueError(f"{what} {self!r} reads a class logit, but {adapter.name} has no logit layer")
                layer = adapter.logit_layer
                p["channel"] = resolve_class(adapter, p["channel"], what)
            elif isinstance(p["channel"], str):
                if layer != adapter.logit_layer:
                    raise ValueError(f"{what} {self!r}: a class name selects a unit only on the class-logit layer "
                                     f"({adapter.logit_layer!r}); on {layer!r} give the channel index")
                p["channel"] = resolve_class(adapter, p["channel"], what)
            out.append(Term(t.op, layer, t.weight, tuple(p.items())))
        return Target(tuple(out))

    def layers(self) -> set[str]:
        return {t.target for t in self.terms}

    def to_json(self) -> list:
        """The target as JSON-able lists, for store keys and saved results (:meth:`from_json` reads it back)."""
        return [[t.op, t.target, t.weight, [list(p) for p in t.params]] for t in self.terms]

    @classmethod
    def from_json(cls, terms: list) -> "Target":
        return cls(tuple(Term(k, l, float(w), tuple((n, v) for n, v in p)) for k, l, w, p in terms))

    def unit_layers(self) -> set[str]:
        """The layers of the target's units (not its logits)."""
        return {t.target for t in self.terms if t.op != "logit"}

    def check(self, shapes: Mapping[str, tuple[int, ...]], what: str = "target") -> None:
        """Every read-out checked against its layer's output shape (C, or C×T×H×W, without the batch axis)."""
        for t in self.terms:
            p = dict(t.params)
            shape = tuple(shapes[t.target])
            c = shape[0] if shape else 0
            if not 0 <= p["channel"] < c:
                kind = "class" if t.op == "logit" else "channel"
                raise ValueError(f"{what} {self!r}: {kind} {p['channel']} out of range for layer {t.target!r}, which "
                                 f"has {c} channels (0…{c - 1})")
            if t.op == "unit_at":
                grid = shape[1:]
                pos = (p["t"], p["y"], p["x"])
                if len(grid) != 3 or not all(0 <= i < n for i, n in zip(pos, grid)):
                    raise ValueError(f"{what} {self!r}: position {pos} is outside layer {t.target!r}'s "
                                     f"{'×'.join(map(str, grid)) or 'vector'} positions (T×H×W)")


def unit(layer: str, channel: int | str, position: tuple[int, int, int] | None = None) -> Target:
    """⟨a_l(x), e_c⟩: channel ``channel`` of layer ``layer``, summed over all its positions (a conv unit) or taken
    as is (an fc unit); with ``position`` (t, y, x), the channel at that one position of the layer's T×H×W maps.
    ``channel`` may be a class name on the model's class-logit layer."""
    if not isinstance(layer, str) or not layer:
        raise ValueError(f"unit's layer must be a layer name (a non-empty str), got {layer!r}")
    channel = _channel(channel, "unit's channel")
    if position is None:
        return Target((Term("unit", layer, 1.0, (("channel", channel),)),))
    try:
        t, y, x = (int(i) for i in position)
        ok = len(position) == 3 and all(int(i) == i and i >= 0 for i in position)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"unit's position must be (t, y, x), three indices ≥ 0 into the layer's T×H×W maps; got "
                         f"{position!r}")
    return Target((Term("unit_at", layer, 1.0, (("channel", channel), ("t", t), ("y", y), ("x", x))),))


def logit(cls: int | str) -> Target:
    """The model's logit for class ``cls`` (an index, or one of the adapter's class names), as the model reports it."""
    return Target((Term("logit", "", 1.0, (("channel", _channel(cls, "logit's class")),)),))


def as_target(value, what: str = "target") -> Target:
    """A target from what a method accepts: a :class:`Target`, a class index or name (its logit), or a
    (layer, channel) pair (a unit)."""
    if isinstance(value, Target):
        return value
    if isinstance(value, Objective):
        raise TypeError(f"{what} must be model read-outs (unit, logit and their sums); {value!r} has regularizer terms")
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return unit(*value)
    if isinstance(value, str) or _is_index(value):
        return logit(value)
    raise TypeError(f"{what} must be a target (logit(c), unit(layer, channel), or their sums and multiples), a class "
                    f"index or name, or a (layer, channel) pair; got {value!r}")


def resolve_class(adapter, cls, what: str = "class") -> int:
    """A class given by index or by one of ``adapter``'s class names, as an index, checked against its classes."""
    try:
        return class_index(adapter.class_names, cls, adapter.name)
    except ValueError as err:
        raise ValueError(f"{what}: {err}") from None


def target_values(targets: Sequence[Objective], acts: Mapping[str, torch.Tensor], rectified=frozenset(),
                  device: torch.device | str | None = None) -> torch.Tensor:
    """Row i's value of ``targets[i]`` (resolved) on a pass's recorded layers (N×C×T×H×W or N×C): (N,) float32.
    ``rectified``: layers the probe recorded before their final ReLU, whose units are read after it."""
    device = device if device is not None else next(iter(acts.values())).device
    return BatchedObjective(list(targets), device)(acts, {}, rectified=rectified)["unit"]


#: how stored results and store keys name a term's fields: a term's ``op`` is written under "kind", the name they
#: have always had, so a store written before finds its keys and its results' settings read the same
STORED_TERM_FIELDS = {"op": "kind"}


def job_settings(job) -> dict:
    """A job (a dataclass) as its results' ``settings["job"]`` and the store's keys keep it: ``dataclasses.asdict``,
    with each term of its target written ``{"kind", "target", "weight", "params"}`` (:data:`STORED_TERM_FIELDS`)."""
    term_fields = [f.name for f in fields(Term)]

    def as_dict(pairs):
        names = [k for k, _ in pairs]
        return {(STORED_TERM_FIELDS.get(k, k) if names == term_fields else k): v for k, v in pairs}

    return asdict(job, dict_factory=as_dict)


def _is_index(v) -> bool:
    try:
        import numpy as np

        return not isinstance(v, bool) and isinstance(v, (int, np.integer))
    except ImportError:  # pragma: no cover
        return isinstance(v, int) and not isinstance(v, bool)


def _channel(c, what: str):
    if isinstance(c, str) and c:
        return c
    if _is_index(c) and c >= 0:
        return int(c)
    raise ValueError(f"{what} must be an index ≥ 0 or a class name, got {c!r}")
