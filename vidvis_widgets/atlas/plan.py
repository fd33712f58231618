"""What an atlas shows: its layers, the units of each, the classes and the regularizer presets, checked before any
long work.

Default layers are every layer worth a page: walking the module tree from the model down, a module that holds one
weighted layer (a conv or a linear, with its norm and activation) is one layer, as are a block with a forward of
its own that holds several (a residual block, an Inception block, a transformer block); plain containers
(``nn.Sequential``, ``nn.ModuleList``) are walked into. For the embedded two-stream net these are the ConvReLU
blocks of both streams, conv5_fusion, fc6, fc7 and fc8; for a torchvision VideoResNet its stem and residual blocks
and its fc. The model's logit layer is the class layer: its "units" are the classes.

Unit selection per layer (``units=``):

- ``"receptive"`` (default): a count that falls with the receptive field, as in the IJCV paper's Figs. 16 and 19
  ("the number of filters shown at each layer inversely proportional to its receptive field"):
  ``round(density × input side / receptive-field side)``, clamped to [1, channels], where a side is the geometric
  mean of the spatial extents and ``density`` is :data:`RECEPTIVE_DENSITY` (or ``("receptive", density)``). A layer
  whose field is unknown or spans the whole input (an fc layer) takes the largest field of the table. The units
  shown are the layer's most class-selective ones.
- ``"all"``; an int ``N`` or ``("first", N)``: the first N; ``("selective", N)``: the N most class-selective;
  a dict ``{layer: [unit ids]}``: those units (its layers are the atlas's layers when ``layers`` is None).

Class selectivity of a unit is read off its response histogram (the per-class maximum of its peak response over
the dataset, as the IJCV paper's histograms show it): ``(top − mean of the others) / (top + mean of the others)``
on the bars clipped at 0, in [0, 1]; 0 for a unit that never fires.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
from torch import nn

from ..methods.activation_maximization.results import PRESETS

#: units per layer under ``units="receptive"``: round(RECEPTIVE_DENSITY × input side / field side). 0.25 gives the
#: embedded two-stream net 43 units over its 29 unit layers (5, 3, 2, then 1 a layer, in each stream), 172 AM jobs
#: under the 4-setting sweep and 56 for its 14 classes' sweeps: 228 jobs, which at the ~2.4 s a job measured quiet at
#: 300 steps on 2 cores keep the whole atlas under 15 minutes there (benchmarks/atlas_build.py; 0.5 gives 59 units,
#: 292 jobs, which took 28.5 min on the shared, loaded machine)
RECEPTIVE_DENSITY = 0.25

UNITS_FORMS = ("'receptive', ('receptive', density), 'all', an int N ≥ 1 (the first N), ('first', N), "
               "('selective', N), or a dict layer → [unit ids]")

_WEIGHTED = (nn.modules.conv._ConvNd, nn.Linear)
_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _weighted(module: nn.Module) -> int:
    return sum(isinstance(m, _WEIGHTED) for m in module.modules())


def default_layers(model: nn.Module) -> list[str]:
    """Every layer worth showing, in the model's module order (see the module's docstring); the logit layer last
    when the walk did not reach it."""
    from ..models.adapter import adapter_of

    out: list[str] = []

    def walk(module: nn.Module, prefix: str, root: bool) -> None:
        n = _weighted(module)
        if n == 0:
            return
        if not root and (n == 1 or not isinstance(module, _CONTAINERS)):
            out.append(prefix)
            return
        for name, child in module.named_children():
            walk(child, f"{prefix}.{name}" if prefix else name, False)

    walk(model, "", True)
    logit = adapter_of(model).logit_layer
    if logit and logit not in out:
        out = [l for l in out if not logit.startswith(l + ".")] + [logit]
    return out


def selectivity(bars: np.ndarray) -> float:
    """Class selectivity of one unit from its histogram bars (K,): see the module's docstring."""
    h = np.clip(np.nan_to_num(np.asarray(bars, np.float64), nan=0.0), 0, None)
    if len(h) < 2 or h.max() <= 0:
        return 0.0
    k = int(h.argmax())
    rest = float(np.delete(h, k).mean())
    return float((h[k] - rest) / (h[k] + rest))


def receptive_count(field_side: float, input_side: float, channels: int, density: float = RECEPTIVE_DENSITY) -> int:
    """Units shown for a layer whose receptive field has side ``field_side`` on an input of side ``input_side``."""
    return int(min(channels, max(1, round(density * input_side / max(field_side, 1.0)))))


def side(extent) -> float | None:
    """Geometric mean of the spatial (last two) extents of a field or an input shape."""
    if not extent:
        return None
    s = [float(v) for v in extent[-2:]]
    return math.sqrt(s[0] * s[1]) if len(s) == 2 else s[0]


@dataclass
class LayerPlan:
    name: str
    kind: str  # "units" | "classes"
    channels: int
    receptive_field: list[int] | None
    stride: list[int] | None
    rule: tuple  # ("ids", [...]) | ("first", N) | ("selective", N) | ("all",) | ("receptive", density)
    units: list[int] = field(default_factory=list)  # filled by select()

    def info(self) -> dict:
        return {"name": self.name, "kind": self.kind, "channels": self.channels,
                "receptive_field": self.receptive_field, "stride": self.stride, "units": list(self.units)}


def check_units(units) -> tuple | dict:
    """``units=`` as a rule tuple, or a dict layer → rule; a clear error for any other form."""
    def positive(n) -> bool:
        return isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1

    if isinstance(units, str):
        if units == "receptive":
            return ("receptive", RECEPTIVE_DENSITY)
        if units == "all":
            return ("all",)
    elif positive(units):
        return ("first", int(units))
    elif isinstance(units, tuple) and len(units) == 2 and units[0] in ("first", "selective") and positive(units[1]):
        return (units[0], int(units[1]))
    elif isinstance(units, tuple) and len(units) == 2 and units[0] == "receptive" and isinstance(
            units[1], numbers.Real) and not isinstance(units[1], bool) and math.isfinite(units[1]) and units[1] > 0:
        return ("receptive", float(units[1]))
    elif isinstance(units, dict) and units:
        out = {}
        for layer, ids in units.items():
            if not isinstance(layer, str):
                raise ValueError(f"units: dict keys must be layer names (str), got {layer!r}; expected {UNITS_FORMS}")
            if isinstance(ids, (list, tuple, range)) and ids and all(
                    isinstance(i, numbers.Integral) and not isinstance(i, bool) for i in ids):
                out[layer] = ("ids", sorted(dict.fromkeys(int(i) for i in ids)))
            else:
                out[layer] = check_units(ids)
        return out
    raise ValueError(f"units={units!r} is not a unit selection; expected {UNITS_FORMS}")


def check_presets(gamma) -> list[tuple[float, float]]:
    """``gamma=``: an AM preset name (``PRESETS``) or a non-empty list of (kappa, gamma) pairs, each ≥ 0."""
    if isinstance(gamma, str):
        if gamma not in PRESETS:
            raise ValueError(f"gamma={gamma!r} is not an activation maximization preset; expected one of "
                             f"{', '.join(PRESETS)} or a list of (kappa, gamma) pairs")
        return [tuple(map(float, p)) for p in PRESETS[gamma]]
    try:
        pairs = [(float(k), float(g)) for k, g in gamma]
    except (TypeError, ValueError):
        pairs = None
    if not pairs or any(not (math.isfinite(v) and v >= 0) for p in pairs for v in p):
        raise ValueError(f"gamma={gamma!r}: expected a preset name ({', '.join(PRESETS)}) or a non-empty list of "
                         "(kappa, gamma) pairs of finite numbers ≥ 0")
    return list(dict.fromkeys(pairs))


def check_classes(classes, names: tuple[str, ...]) -> list[int]:
    """``classes=``: True (all), None/False (none) or a list of class names or indices."""
    if classes is True:
        return list(range(len(names)))
    if classes is None or classes is False:
        return []
    if isinstance(classes, (str, numbers.Integral)) or not hasattr(classes, "__iter__"):
        raise ValueError(f"classes={classes!r}: expected True (all), None (none) or a list of class names or indices")
    out = []
    for c in classes:
        if isinstance(c, str) and c in names:
            out.append(names.index(c))
        elif isinstance(c, numbers.Integral) and not isinstance(c, bool) and 0 <= c < len(names):
            out.append(int(c))
        else:
            raise ValueError(f"classes: {c!r} is not one of the model's {len(names)} classes; expected a name "
                             f"({', '.join(names[:5])}{', …' if len(names) > 5 else ''}) or an index "
                             f"0–{len(names) - 1}")
    return list(dict.fromkeys(out))


def plan_layers(model: nn.Module, layers, units, classes: list[int]) -> list[LayerPlan]:
    """The atlas's layers with their rules, checked against the model's layer table (names, unit ranges); the class
    layer (the logit layer) last, with the classes as its units. No unit is chosen yet (see :func:`select`)."""
    from ..models.adapter import adapter_of
    from ..models.layers import list_layers, submodule

    adapter = adapter_of(model)
    rule = check_units(units)
    if layers is None:
        layers = list(rule) if isinstance(rule, dict) else default_layers(model)
        if isinstance(rule, dict) and classes and adapter.logit_layer and adapter.logit_layer not in layers:
            layers.append(adapter.logit_layer)
    elif layers == "all":
        layers = default_layers(model)
    elif isinstance(layers, str):
        layers = [layers]
    if not isinstance(layers, (list, tuple)) or not layers or not all(isinstance(l, str) and l for l in layers):
        raise ValueError(f"layers={layers!r}: expected None or 'all' (every layer worth showing) or a list of layer "
                         "names")
    layers = list(dict.fromkeys(layers))
    for l in layers:
        try:
            submodule(model, l)
        except ValueError as e:
            raise ValueError(f"layers: {e}") from None
    if isinstance(rule, dict):
        extra = [l for l in rule if l not in layers]
        if extra:
            raise ValueError(f"units: layer(s) {', '.join(map(repr, extra))} are not among the atlas's layers "
                             f"({', '.join(layers)})")
    logit = adapter.logit_layer
    if not classes and logit in layers:
        layers.remove(logit)
    table = {r.name: r for r in list_layers(model, layers=layers)}
    out = []
    for l in layers:
        row = table[l]
        channels = int(row.output_shape[0]) if row.output_shape else 1
        kind = "classes" if l == logit else "units"
        r = (rule.get(l, ("receptive", RECEPTIVE_DENSITY)) if isinstance(rule, dict) else rule)
        if kind == "units" and r[0] == "ids":
            bad = [u for u in r[1] if not 0 <= u < channels]
            if bad:
                raise ValueError(f"units[{l!r}]: unit(s) {bad} out of range; layer {l!r} has {channels} units "
                                 f"(0–{channels - 1})")
        out.append(LayerPlan(l, kind, channels, list(row.receptive_field) if row.receptive_field else None,
                             list(row.stride) if row.stride else None, r))
        if kind == "classes":
            out[-1].units = list(classes)
    units_layers = [p for p in out if p.kind == "units"]
    return units_layers + [p for p in out if p.kind == "classes"]


def select(plans: list[LayerPlan], input_side: float, selectivities: dict[str, np.ndarray]) -> None:
    """Chooses each unit layer's units by its rule; ``selectivities``: layer → (C,) class selectivity."""
    sides = [side(p.receptive_field) for p in plans if p.receptive_field and p.stride]
    largest = max(sides + [input_side])
    for p in plans:
        if p.kind != "units":
            continue
        order = list(np.argsort(-np.asarray(selectivities[p.name]), kind="stable"))
        r = p.rule
        if r[0] == "ids":
            p.units = list(r[1])
        elif r[0] == "all":
            p.units = list(range(p.channels))
        elif r[0] == "first":
            p.units = list(range(min(r[1], p.channels)))
        elif r[0] == "selective":
            p.units = sorted(int(u) for u in order[:r[1]])
        else:
            s = side(p.receptive_field) if p.receptive_field and p.stride else None
            n = receptive_count(s if s is not None and s < largest else largest, input_side, p.channels, r[1])
            p.units = sorted(int(u) for u in order[:n])
