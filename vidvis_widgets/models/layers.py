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

import copy
import difflib
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Hardswish, nn.LeakyReLU, nn.ELU, nn.Sigmoid, nn.Tanh,
                nn.Softplus, nn.Mish, nn.Hardsigmoid, nn.Dropout, nn.Dropout2d, nn.Dropout3d)


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


def _measure(model: nn.Module, lin: nn.Module, shapes: list[tuple[int, ...]], spatial: int) -> dict:
    inputs = [torch.ones((1, *s), requires_grad=True) for s in shapes]
    outputs: dict[str, torch.Tensor] = {}
    hooks = []
    for name, mod in lin.named_modules():
        if name:
            hooks.append(mod.register_forward_hook(
                lambda _m, _i, out, name=name: outputs.__setitem__(name, out) if isinstance(out, torch.Tensor) else None))
    try:
        lin(*inputs)
    finally:
        for h in hooks:
            h.remove()
    fields = {}
    for name, out in outputs.items():
        rf = stride = None
        if out.dim() - 2 == spatial and out.dim() >= 3:
            centre = [s // 2 for s in out.shape[2:]]
            regions = []
            for shift in (0, 1):
                pos = [min(c + shift, s - 1) for c, s in zip(centre, out.shape[2:])]
                # channel 0 alone: in a view-stacked model (TinyTwoStream, symmetric) the other channels
                # include mirrored twins, whose fields lie mirrored about the centre
                grads = torch.autograd.grad(out[(0, 0, *pos)], inputs, retain_graph=True,
                                            allow_unused=True)
                merged = sum(g.abs().sum(1, keepdim=True) if g is not None else 0 for g in grads)
                regions.append(_extent(merged, spatial))
            (f0, rf), (f1, _) = regions
            stride = tuple((b - a) if s > 1 else None for a, b, s in zip(f0, f1, out.shape[2:]))
            edge = any(a == 0 or a + r >= d for a, r, d in zip(f0, rf, shapes[0][-spatial:]))
        elif out.dim() == 2:
            rf, edge = tuple(shapes[0][-spatial:]), False
        else:
            edge = False
        fields[name] = (tuple(out.shape[1:]), rf, stride, edge)
    return fields


def list_layers(model: nn.Module, input_shape: Sequence[int] | Sequence[Sequence[int]]) -> LayerTable:
    """Every named layer with output shape (without batch), receptive field and stride on the input.

    ``input_shape``: one input without the batch axis, e.g. ``(3, 16, 112, 112)``, or a tuple of them for
    multi-input models, e.g. ``((3, 64, 64), (20, 64, 64))`` for a two-stream model (fields are then
    measured on the spatial axes the inputs share). Fields are measured on a 3× larger input where the
    model accepts one, so deep layers are not cut off by the input's border; where they still reach it,
    the table marks them "≥".
    """
    shapes = [tuple(input_shape)] if isinstance(input_shape[0], int) else [tuple(s) for s in input_shape]
    spatial = min(len(s) for s in shapes) - 1
    lin = _linearize(model)
    types = {n: type(m).__name__ for n, m in model.named_modules() if n}
    try:
        actual = _measure(model, lin, shapes, spatial)
    except Exception as err:
        raise ValueError(f"{type(model).__name__} does not run on inputs of shape {shapes}: {err}") from None
    large = actual
    # a 3× larger input keeps deep fields off the border; only where that stays cheap on a CPU
    if sum(torch.Size(s).numel() for s in shapes) <= 300_000:
        try:
            large = _measure(model, lin, [s[:-spatial] + tuple(3 * d for d in s[-spatial:]) for s in shapes],
                             spatial)
        except Exception:  # fixed-size models (e.g. positional embeddings): keep the given size
            large = actual
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
