"""list_layers: every layer of a model with its output shape, receptive field and stride on the input.

Finding the right layer name is users' most common difficulty with peer tools, so the table here is the
papers' Table 1 for any model. One forward pass gives every layer's output shape and, where they can be
derived, its receptive field and stride (:mod:`.receptive_fields`); the fields that cannot be derived are
measured by input gradients for the layers asked about only. Results are cached per architecture and input
shape.
"""

from __future__ import annotations

import difflib
import numbers
import threading
from dataclasses import dataclass
from typing import Sequence

from torch import nn

from .probe import Layout
from .receptive_fields import measure_fields, trace
from .run_control import Stopped, check_stop


def submodule(model: nn.Module, name: str) -> nn.Module:
    """``model.get_submodule(name)``, with the closest names suggested when there is no such layer."""
    try:
        return model.get_submodule(name)
    except AttributeError:
        raise _unknown(model, name) from None


def _unknown(model: nn.Module, name: str) -> ValueError:
    close = difflib.get_close_matches(name, [n for n, _ in model.named_modules() if n], n=4, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return ValueError(f"unknown layer {name!r} in {type(model).__name__}{hint}")


@dataclass(frozen=True)
class LayerInfo:
    name: str
    type: str
    output_shape: tuple[int, ...]
    #: extent on the input per input dimension (T, H, W or H, W); None where the layer has no such axes
    receptive_field: tuple[int, ...] | None
    stride: tuple[int, ...] | None
    #: the field reaches past the measured input on some axis, so it is at least this large
    truncated: bool = False


_COLUMNS = ("layer", "type", "output", "receptive field", "stride")


class LayerTable(list):
    def rows(self) -> list[tuple[str, ...]]:
        def fmt(t):
            return "×".join(map(str, t)) if t else "–"

        return [(r.name, r.type, fmt(r.output_shape), ("≥" if r.truncated else "") + fmt(r.receptive_field),
                 fmt(r.stride)) for r in self]

    def __str__(self) -> str:
        rows = [_COLUMNS, *self.rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows)

    def names(self) -> list[str]:
        return [r.name for r in self]

    def _repr_html_(self) -> str:
        import html

        head = "".join(f"<th>{h}</th>" for h in _COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in self.rows())
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pathway_shapes(model: nn.Module, shapes: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """A multi-pathway model's clip shape (3, T, H, W) as its pathways' shapes, each at its frame stride."""
    from .adapter import adapter_of

    adapter = adapter_of(model)
    if adapter.kind != "pathways" or len(shapes) != 1 or len(shapes[0]) != 4:
        return shapes
    c, t, h, w = shapes[0]
    return [(c, max(1, t // stride), h, w) for _, stride in adapter.pathways]


# -- the table --------------------------------------------------------------------------------------------

def _shapes(input_shape) -> list[tuple[int, ...]]:
    """``input_shape`` as a list of shapes, or a ValueError that says what is wrong with it."""
    expected = ("expected one input's shape without the batch axis, e.g. (3, 16, 112, 112), or a tuple of them "
                "for a multi-input model, e.g. ((3, 64, 64), (20, 64, 64))")

    def is_int(v) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    def is_seq(v) -> bool:
        return isinstance(v, Sequence) and not isinstance(v, (str, bytes))

    if not is_seq(input_shape) or len(input_shape) == 0:
        raise ValueError(f"input_shape {input_shape!r} is {'empty' if is_seq(input_shape) else 'not a shape'}; "
                         f"{expected}")
    shapes = [input_shape] if all(is_int(d) for d in input_shape) else list(input_shape)
    for s in shapes:
        if not is_seq(s) or not all(is_int(d) for d in s):
            raise ValueError(f"input_shape {input_shape!r}: {s!r} is not a shape of integers; {expected}")
        if len(s) < 2:
            raise ValueError(f"input_shape {input_shape!r}: {tuple(s)} has no spatial axis (a channel axis and at "
                             f"least one more are needed); {expected}")
        if min(s) < 1:
            raise ValueError(f"input_shape {input_shape!r}: sizes must be ≥ 1, got {tuple(s)}; {expected}")
    return [tuple(int(d) for d in s) for s in shapes]


#: per architecture and input: the traced rows, the rows of passes that ended at the layers asked for, and the
#: fields measured so far
_TRACES: dict[tuple, dict] = {}
_PARTIAL: dict[tuple, dict] = {}
_MEASURED: dict[tuple, dict] = {}


def clear_layer_caches() -> None:
    """Forgets every cached layer table and measured field, so the next listing runs its passes again (a
    benchmark timing a cold start, a test that needs the table pass to run)."""
    _TRACES.clear()
    _PARTIAL.clear()
    _MEASURED.clear()


def read_at_first_run(model: nn.Module, name: str) -> bool:
    """Whether layer ``name``'s output is final once its module has run: a block (a module with children) or a
    layer with weights of its own, which a forward pass runs once. A parameter-free leaf (an activation, a
    pooling, a dropout) may be called again later in the pass, as a shared ``self.relu`` is, and is then read
    at its last run; passes that end early (:func:`layer_rows`, AM's steps) end only after layers of the first
    kind."""
    module = submodule(model, name)
    return next(module.children(), None) is not None or next(module.parameters(recurse=False), None) is not None


def _key(model: nn.Module, shapes) -> tuple:
    return (type(model).__name__, tuple(shapes), tuple(n for n, _ in model.named_modules()),
            tuple((k, tuple(v.shape)) for k, v in model.state_dict().items()))


def _layout_of(model: nn.Module, layout: Layout | None) -> Layout:
    if layout is not None:
        return layout
    from .adapter import adapter_of

    return adapter_of(model).layer_layout


def list_layers(model: nn.Module, input_shape: Sequence[int] | Sequence[Sequence[int]] | None = None, *,
                layers: Sequence[str] | None = None, measure: bool | None = None, layout: Layout | None = None,
                stop: threading.Event | None = None) -> LayerTable:
    """Every named layer (or the ``layers`` named) with output shape (without batch, read N×C×T×H×W or N×C
    whatever the module emits), receptive field and stride on the input.

    ``input_shape``: one input without the batch axis, e.g. ``(3, 16, 112, 112)``, or a tuple of them for
    multi-input models, e.g. ``((3, 64, 64), (20, 64, 64))`` for a two-stream model (fields are then on the
    spatial axes the inputs share); by default the adapter's native input. A shape whose channels or rank the
    model does not take is refused with the expected form. Shapes and derivable fields come from one forward pass; fields that cannot
    be derived (attention, operations no module performs) are measured by input gradients for the ``layers``
    named, or for every layer with ``measure=True`` (slow on large transformers); otherwise they show "–". A
    measured field that reaches past the input is marked "≥". ``layout``: how layers lay out their outputs (the model's own,
    e.g. channels-last for Video Swin, when None). ``stop``: an Event that ends the work with
    :class:`Stopped` within one layer of being set. Unknown names are refused before anything runs.
    """
    shapes, layers, spatial, layout, key = _request(model, input_shape, layers, layout, stop)
    rows = _TRACES.get(key)
    if rows is None:
        rows = _traced(model, shapes, spatial, layout, stop, key)
    return _table(model, shapes, spatial, layout, stop, key, rows, layers, measure)


def _request(model: nn.Module, input_shape, layers, layout, stop):
    """A table request checked before anything runs: the pathways' input shapes, the layer names (unique, each
    a submodule; None: all), the spatial rank, the layout and the trace's cache key."""
    from .inputs import input_shapes

    shapes = _pathway_shapes(model, input_shapes(model, None if input_shape is None else _shapes(input_shape)))
    if layers is not None:
        layers = list(dict.fromkeys([layers] if isinstance(layers, str) else layers))
        for name in layers:
            if not isinstance(name, str) or not name:
                raise ValueError(f"layers must be layer names (non-empty str), got {name!r}")
            submodule(model, name)
    layout = _layout_of(model, layout)
    check_stop(stop)
    return shapes, layers, min(len(s) for s in shapes) - 1, layout, _key(model, shapes)


def _traced(model: nn.Module, shapes, spatial: int, layout: Layout, stop, key, until: set[str] | None = None
            ) -> dict:
    """The traced rows (cached), of the whole pass or, with ``until``, of the pass up to those layers."""
    try:
        rows, complete = trace(model, shapes, spatial, layout, stop, until)
    except Stopped:
        raise
    except Exception as err:
        raise ValueError(f"{type(model).__name__} does not run on inputs of shape {shapes}: {err}") from None
    if complete:
        _TRACES[key] = rows
    else:
        _PARTIAL.setdefault(key, {}).update({n: r for n, r in rows.items() if read_at_first_run(model, n)})
    return rows


def layer_rows(model: nn.Module, input_shape, names: Sequence[str], *, layout: Layout | None = None,
               stop: threading.Event | None = None) -> LayerTable:
    """The rows of ``names`` alone, as ``list_layers(model, input_shape, layers=names, measure=False)`` gives
    them, from a pass that ends once those layers have run (where each is :func:`read_at_first_run`; else the
    whole pass): what AM needs before its first step, for the price of the network up to its target."""
    shapes, names, spatial, layout, key = _request(model, input_shape, names, layout, stop)
    rows = _TRACES.get(key)
    if rows is None:
        rows = _PARTIAL.get(key, {})
        if not all(n in rows for n in names):
            early = all(read_at_first_run(model, n) for n in names)
            rows = _traced(model, shapes, spatial, layout, stop, key, set(names) if early else None)
    return _table(model, shapes, spatial, layout, stop, key, rows, names, False)


def _table(model: nn.Module, shapes, spatial: int, layout: Layout, stop, key, rows: dict, layers, measure
           ) -> LayerTable:
    wanted = list(rows) if layers is None else list(dict.fromkeys(layers))
    missing = [n for n in wanted if n not in rows]
    if missing and layers is not None:
        raise ValueError(f"layer {missing[0]!r} of {type(model).__name__} gives no tensor output the probe can read "
                         "as maps N×C×T×H×W or vectors N×C")
    measured = _MEASURED.setdefault(key, {})
    todo = {n for n in wanted if rows[n][2] is None and len(rows[n][1]) - 1 == spatial and n not in measured}
    if todo and (measure if measure is not None else layers is not None):
        measured.update(measure_fields(model, shapes, spatial, todo, {n: rows[n][1] for n in todo}, layout, stop))
    table = LayerTable()
    for name in wanted:
        typ, out_shape, f = rows[name]
        rf = stride = None
        truncated = False
        if len(out_shape) == 1:
            rf = tuple(shapes[0][-spatial:])
        elif f is not None:
            rf, stride = f.size, f.jump
        elif name in measured:
            rf, stride, truncated = measured[name]
        table.append(LayerInfo(name, typ, out_shape, rf, stride, truncated))
    return table


def deepest_stride(model: nn.Module, input_shape, *, layout: Layout | None = None) -> int:
    """The largest spatial stride (H, W) of any layer: a vector layer's jitter range. From the traced pass
    (derived strides, else the input-to-output size ratio), measuring nothing."""
    table = list_layers(model, input_shape, measure=False, layout=layout)
    shapes = _pathway_shapes(model, _shapes(input_shape))
    best = 1
    for r in table:
        if r.stride:
            best = max(best, *r.stride[-2:])
        elif len(r.output_shape) >= 3:
            best = max(best, *(max(1, round(d / o)) for d, o in zip(shapes[0][-2:], r.output_shape[-2:])))
    return best


def measured_fields(model: nn.Module, input_shape, layers: Sequence[str], *, layout: Layout | None = None,
                    stop: threading.Event | None = None) -> dict[str, tuple]:
    """name → (receptive field, stride, truncated) of the space-time ``layers``, measured by input gradients on
    the linearized copy (the fallback :func:`list_layers` uses where fields cannot be derived), never cached:
    an independent check of the derived fields."""
    shapes = _pathway_shapes(model, _shapes(input_shape))
    for name in layers:
        submodule(model, name)
    spatial = min(len(s) for s in shapes) - 1
    table = list_layers(model, input_shape, layers=layers, measure=False, layout=layout, stop=stop)
    return measure_fields(model, shapes, spatial, set(layers), {r.name: r.output_shape for r in table},
                          _layout_of(model, layout), stop)
