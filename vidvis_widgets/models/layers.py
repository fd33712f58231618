"""list_layers: every layer of a model with its output shape, receptive field and stride on the input.

Finding the right layer name is users' most common difficulty with peer tools, so the
table here is the papers' Table 1 for any model. Receptive fields are measured, not
derived from a per-architecture formula: on a copy of the model made linear and
positive (activations removed, max pools turned into average pools, weights set to
positive constants, normalization made the identity), the input gradient of one
output unit is non-zero exactly on the inputs that unit sees. Moving the unit by one
position moves that region by the layer's stride.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import numbers
import threading
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
from torch import nn

_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Hardswish, nn.LeakyReLU, nn.ELU, nn.Sigmoid, nn.Tanh,
                nn.Softplus, nn.Mish, nn.Hardsigmoid, nn.Dropout, nn.Dropout2d, nn.Dropout3d)


class Stopped(Exception):
    """A measurement ended early because its stop event was set (see :func:`check_stop`)."""


def check_stop(stop: threading.Event | None) -> None:
    """Raises :class:`Stopped` when ``stop`` is set: the check the measurement loops make between steps."""
    if stop is not None and stop.is_set():
        raise Stopped("stopped")


@contextlib.contextmanager
def stoppable(model: nn.Module, stop: threading.Event | None) -> Iterator[nn.Module]:
    """Every submodule checks ``stop`` before it runs, so a long forward pass ends within one layer of a Stop
    (and a pending Ctrl-C is raised there too, since Python runs between the layers)."""
    if stop is None:
        yield model
        return
    handles = [m.register_forward_pre_hook(lambda _m, _i: check_stop(stop)) for m in model.modules()]
    try:
        yield model
    finally:
        for h in handles:
            h.remove()


def device_of(model: nn.Module, device: torch.device | str | None = None) -> torch.device:
    """``device`` if given, else where the model's weights are (the CPU for a model without any)."""
    if device is not None:
        return torch.device(device)
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def submodule(model: nn.Module, name: str) -> nn.Module:
    """``model.get_submodule(name)``, with the closest names suggested when there is no such layer."""
    try:
        return model.get_submodule(name)
    except AttributeError:
        close = difflib.get_close_matches(name, [n for n, _ in model.named_modules() if n], n=4, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown layer {name!r} in {type(model).__name__}{hint}") from None


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


def _linearize(model: nn.Module) -> nn.Module:
    m = copy.deepcopy(model).float().cpu().eval()
    for parent in list(m.modules()):
        for child_name, child in list(parent.named_children()):
            new = None
            if isinstance(child, _ACTIVATIONS):
                new = nn.Identity()
            elif isinstance(child, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)):
                avg = {nn.MaxPool1d: nn.AvgPool1d, nn.MaxPool2d: nn.AvgPool2d, nn.MaxPool3d: nn.AvgPool3d}[type(child)]
                new = avg(child.kernel_size, child.stride, child.padding, ceil_mode=child.ceil_mode)
            elif isinstance(child, (nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)):
                new = (nn.AdaptiveAvgPool2d if isinstance(child, nn.AdaptiveMaxPool2d) else nn.AdaptiveAvgPool3d)(
                    child.output_size)
            if new is not None:
                setattr(parent, child_name, new)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                mod.running_mean.zero_()
                mod.running_var.fill_(1.0)
            for pname, p in mod.named_parameters(recurse=False):
                if pname == "bias" or "bias" in pname:
                    p.zero_()
                elif p.dim() >= 2:
                    p.fill_(1.0 / max(1, p[0].numel()))
                else:
                    p.fill_(1.0)
    return m


def _extent(grad: torch.Tensor, spatial_dims: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(first index, size) of the non-zero region along each of the last ``spatial_dims`` axes."""
    nz = grad.abs().sum(dim=tuple(range(grad.dim() - spatial_dims))) > 0
    firsts, sizes = [], []
    for d in range(spatial_dims):
        other = tuple(i for i in range(spatial_dims) if i != d)
        idx = torch.nonzero(nz.any(dim=other) if other else nz).flatten()
        firsts.append(int(idx[0]) if len(idx) else 0)
        sizes.append(int(idx[-1] - idx[0] + 1) if len(idx) else 0)
    return tuple(firsts), tuple(sizes)


#: modules whose output has the receptive field of their input, once linearized (a positive per-channel scale,
#: or the identity that replaced an activation or dropout)
_SAME_FIELD = (nn.Identity, nn.modules.batchnorm._BatchNorm)


def _measure(lin: nn.Module, shapes: list[tuple[int, ...]], spatial: int, only=None,
             stop: threading.Event | None = None) -> dict:
    """name → (output shape, field, stride, edge) for every named layer with a tensor output; fields and strides
    only for the names in ``only`` (all when None). A layer whose output is another layer's output, or that
    keeps its input's field (:data:`_SAME_FIELD`), takes that layer's field instead of a gradient of its own."""
    inputs = [torch.ones((1, *s), requires_grad=True) for s in shapes]
    outputs: dict[str, torch.Tensor] = {}
    source: dict[str, str] = {}  # name → the layer whose field it has
    producer: dict[int, str] = {}  # id of a recorded output → the first layer that gave it

    def record(mod, args, out, name):
        check_stop(stop)
        if not isinstance(out, torch.Tensor):
            return
        first = producer.get(id(out))
        if first is None and isinstance(mod, _SAME_FIELD) and args and isinstance(args[0], torch.Tensor):
            first = producer.get(id(args[0]))
        outputs[name] = out
        if first is not None:
            source[name] = source.get(first, first)
            producer.setdefault(id(out), name)  # a later identity on this output finds it
            return
        producer[id(out)] = name
        if out.requires_grad:  # the backward passes below check the stop at every layer they cross
            out.register_hook(lambda _g: check_stop(stop))

    hooks = [mod.register_forward_hook(lambda m, a, o, name=name: record(m, a, o, name))
             for name, mod in lin.named_modules() if name]
    try:
        lin(*inputs)
    finally:
        for h in hooks:
            h.remove()
    measured: dict[str, tuple] = {}

    def field(name: str) -> tuple:
        out = outputs[name]
        rf = stride = None
        edge = False
        if out.dim() - 2 == spatial and out.dim() >= 3:
            centre = [s // 2 for s in out.shape[2:]]
            regions = []
            for shift in (0, 1):
                check_stop(stop)
                pos = [min(c + shift, s - 1) for c, s in zip(centre, out.shape[2:])]
                # channel 0 alone: in a view-stacked model (TinyTwoStream, symmetric) the other channels
                # include mirrored twins, whose fields lie mirrored about the centre
                grads = torch.autograd.grad(out[(0, 0, *pos)], inputs, retain_graph=True, allow_unused=True)
                merged = sum(g.abs().sum(1, keepdim=True) if g is not None else 0 for g in grads)
                regions.append(_extent(merged, spatial))
            (f0, rf), (f1, _) = regions
            stride = tuple((b - a) if s > 1 else None for a, b, s in zip(f0, f1, out.shape[2:]))
            edge = any(a == 0 or a + r >= d for a, r, d in zip(f0, rf, shapes[0][-spatial:]))
        elif out.dim() == 2:
            rf = tuple(shapes[0][-spatial:])
        return rf, stride, edge

    fields = {}
    for name, out in outputs.items():
        if only is not None and name not in only:
            continue
        key = source.get(name, name)
        if key not in measured:
            measured[key] = field(key)
        fields[name] = (tuple(out.shape[1:]), *measured[key])
    return fields


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


def list_layers(model: nn.Module, input_shape: Sequence[int] | Sequence[Sequence[int]], *,
                stop: threading.Event | None = None) -> LayerTable:
    """Every named layer with output shape (without batch), receptive field and stride on the input.

    ``input_shape``: one input without the batch axis, e.g. ``(3, 16, 112, 112)``, or a tuple of them for
    multi-input models, e.g. ``((3, 64, 64), (20, 64, 64))`` for a two-stream model (fields are then
    measured on the spatial axes the inputs share). Fields reaching the input's border are measured again
    on a 3× larger input where the model accepts one, so deep layers are not cut off; where they still
    reach it, the table marks them "≥". ``stop``: an Event that ends the measurement with :class:`Stopped`
    within one layer of being set.
    """
    shapes = _shapes(input_shape)
    spatial = min(len(s) for s in shapes) - 1
    check_stop(stop)
    lin = _linearize(model)
    types = {n: type(m).__name__ for n, m in model.named_modules() if n}
    try:
        actual = _measure(lin, shapes, spatial, stop=stop)
    except Stopped:
        raise
    except Exception as err:
        raise ValueError(f"{type(model).__name__} does not run on inputs of shape {shapes}: {err}") from None
    # a 3× larger input keeps deep fields off the border; only where that stays cheap on a CPU, and only for
    # the layers whose field reached the border, or whose output was too small to show a stride
    again = {n for n, (out, rf, stride, edge) in actual.items()
             if len(out) - 1 == spatial and rf is not None and (edge or None in stride)}
    large = {}
    if again and sum(torch.Size(s).numel() for s in shapes) <= 300_000:
        try:
            large = _measure(lin, [s[:-spatial] + tuple(3 * d for d in s[-spatial:]) for s in shapes], spatial,
                             only=again, stop=stop)
        except Stopped:
            raise
        except Exception:  # fixed-size models (e.g. positional embeddings): keep the given size
            large = {}
    table = LayerTable()
    for name, (out_shape, rf, stride, edge) in actual.items():
        if name in large and large[name][1] is not None and len(out_shape) - 1 == spatial:
            _, rf, big_stride, edge = large[name]
            stride = tuple(b if b is not None else a for a, b in zip(stride, big_stride))
        if stride and edge:  # a clipped field shifts unevenly: the size ratio is the stride of same-padded layers
            stride = tuple(max(1, round(d / o)) for d, o in zip(shapes[0][-spatial:], out_shape[1:]))
        table.append(LayerInfo(name, types.get(name, "?"), out_shape, rf,
                               tuple(s or 0 for s in stride) if stride else None, bool(edge and stride)))
    return table
