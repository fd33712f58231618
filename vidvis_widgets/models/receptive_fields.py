"""Receptive fields and strides of a model's layers on its input, for the layer table (:mod:`.layers`).

One forward pass of the model itself (through :func:`~.probe.each_module`, :func:`trace`) gives every layer's
output shape, read as N×C×T×H×W or N×C by the probe, and derives the receptive field and stride along the way:
each convolution or pooling composes with the field of its input (rf += (k − 1)·dilation·jump, jump *= stride),
elementwise layers keep it, and a block whose output is computed from its children (a residual sum, an Inception
concatenation) takes the union of their fields.

Where that derivation cannot apply (attention, or any layer fed by an operation it cannot see), the field
is measured for the layers asked about only (:func:`measure_fields`): on a copy of the model made linear and
positive (activations removed, max pools turned into linear pools of the same geometry, weights set to positive
constants, normalization made the identity), the input gradient of one output unit is non-zero exactly on the
inputs that unit sees, and moving the unit by one position moves that region by the layer's stride.
"""

from __future__ import annotations

import copy
import math
import threading
import weakref
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .probe import Layout, as_maps, each_module, first_tensor, first_view
from .run_control import Stopped, check_stop, device_of

_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Hardswish, nn.LeakyReLU, nn.ELU, nn.Sigmoid, nn.Tanh,
                nn.Softplus, nn.Mish, nn.Hardsigmoid, nn.Dropout, nn.Dropout2d, nn.Dropout3d)
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_MAX_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
_POOLS = _MAX_POOLS + (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
_ADAPTIVE = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d,
             nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
#: modules whose output has the receptive field of their input (per-position maps)
_SAME_FIELD = _ACTIVATIONS + (nn.Identity, nn.modules.batchnorm._BatchNorm)


# -- derived fields ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Field:
    """Per input axis: the field's size, the step between neighbouring units (jump), and where unit 0's field
    starts on the input (negative where it reaches into the padding)."""

    size: tuple[int, ...]
    jump: tuple[int, ...]
    start: tuple[int, ...]

    def union(self, other: "_Field") -> "_Field | None":
        if self.jump != other.jump:
            return None
        start = tuple(map(min, self.start, other.start))
        end = tuple(max(a + r, b + q) for a, r, b, q in zip(self.start, self.size, other.start, other.size))
        return _Field(tuple(e - s for s, e in zip(start, end)), self.jump, start)


def _per_axis(v, n: int) -> tuple[int, ...]:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _through(f: _Field, kernel, stride, padding, dilation) -> _Field:
    return _Field(tuple(r + (k - 1) * d * j for r, k, d, j in zip(f.size, kernel, dilation, f.jump)),
                  tuple(j * s for j, s in zip(f.jump, stride)),
                  tuple(a - p * j for a, p, j in zip(f.start, padding, f.jump)))


def _leaf_field(mod: nn.Module, f: _Field, in_size, out_size) -> _Field | None:
    """The field of a leaf module's output from its input's, where the module's geometry is known."""
    n = len(f.size)
    if isinstance(mod, _SAME_FIELD):
        return f if tuple(in_size) == tuple(out_size) else None
    if isinstance(mod, _CONVS + _POOLS):
        if len(in_size) != n:
            return None
        k = _per_axis(mod.kernel_size, n)
        s = _per_axis(mod.stride if mod.stride is not None else mod.kernel_size, n)
        d = _per_axis(getattr(mod, "dilation", 1), n)
        p = mod.padding
        if isinstance(p, str):  # 'valid' or 'same' (stride 1)
            p = tuple((dd * (kk - 1)) // 2 for kk, dd in zip(k, d)) if p == "same" else (0,) * n
        return _through(f, k, s, _per_axis(p, n), d)
    if isinstance(mod, _ADAPTIVE) and all(i % o == 0 for i, o in zip(in_size, out_size)):
        k = tuple(i // o for i, o in zip(in_size, out_size))
        return _through(f, k, k, (0,) * n, (1,) * n)
    return None


def _forward(model: nn.Module, inputs: list[torch.Tensor]):
    """``model`` on one tensor per input shape, passed as its adapter says (a multi-pathway model takes a list)."""
    from .adapter import adapter_of

    return model(*adapter_of(model).forward_args(inputs))


def _maps(out, layout) -> torch.Tensor | None:
    """A layer's output as the table shows it: N×C×T×H×W or N×C as the probe reads it, 2D maps N×C×H×W as they
    are, else its first tensor as it is; None without one."""
    x = first_tensor(out)
    if isinstance(x, torch.Tensor) and x.dim() == 4:
        return first_view(x, layout.views)
    try:
        return as_maps(out, layout)
    except ValueError:
        return x if isinstance(x, torch.Tensor) else None


def _storage(t: torch.Tensor) -> int:
    """The identity of ``t``'s storage, shared by its views, unique while that storage lives."""
    return t.untyped_storage()._cdata


class _Done(BaseException):
    """Ends a table pass once the rows asked for are recorded (a BaseException, so no ``except Exception`` in a
    model's forward takes it for the model's own error)."""


def _union(parts: list) -> _Field | None:
    if not parts or any(f is None for f in parts):
        return None
    out = parts[0]
    for f in parts[1:]:
        out = out.union(f) if out is not None else None
    return out


def trace(model: nn.Module, shapes: list[tuple[int, ...]], spatial: int, layout: Layout,
          stop: threading.Event | None, until: set[str] | None = None
          ) -> tuple[dict[str, tuple[str, tuple[int, ...], _Field | None]], bool]:
    """One forward pass: name → (type, output shape without batch, derived field or None) for every named
    layer with a tensor output, and whether the pass ran to its end. With ``until``, the pass ends as soon as
    the layers named there have run: the rows of the layers before them are the whole pass's rows.

    A tensor's field is known when a layer with a known field produced it (views share its storage). A tensor
    made by an operation no module performs (a residual sum, a concatenation) inside a module's forward is a
    function of that module's inputs and its children's outputs so far, so it takes the union of their fields
    of the same size; unknown where any of those is unknown or their strides differ."""
    device = device_of(model)
    inputs = [torch.zeros((1, *s), device=device) for s in shapes]
    known: dict[int, tuple[tuple[int, ...], _Field]] = {}  # storage → (spatial size, field)
    for x in inputs:
        known[_storage(x)] = (tuple(x.shape[-spatial:]), _Field((1,) * spatial, (1,) * spatial, (0,) * spatial))
    # a recorded storage is forgotten when it is freed, so a later tensor that reuses its memory is not taken
    # for it; outputs are not kept alive (keeping them all cost a large model a fresh page per activation)
    finalizers: list[weakref.finalize] = []
    rows: dict[str, tuple[str, tuple[int, ...], _Field | None]] = {}
    pending = set(until) if until else None
    seen: dict[str, list] = {}  # module → (size, field) of its inputs and of its children's outputs so far
    leaves = {n for n, m in model.named_modules() if not any(True for _ in m.children())}

    def field_of(t) -> _Field | None:
        hit = known.get(_storage(t))
        return hit[1] if hit is not None and hit[0] == tuple(t.shape[2:]) else None

    def context(name: str, size: tuple[int, ...]) -> _Field | None:
        return _union([f for sz, f in seen.get(name, []) if sz == size])

    def enter(name: str, _mod, args: tuple, _out) -> None:
        check_stop(stop)
        parent = name.rpartition(".")[0] if name else None
        here = []
        for a in args:
            if isinstance(a, torch.Tensor) and a.dim() == 2 + spatial:
                size = tuple(a.shape[2:])
                f = field_of(a)
                if f is None and parent is not None:
                    f = context(parent, size)
                here.append((size, f))
        seen[name] = here

    def remember(t: torch.Tensor, size: tuple[int, ...], f: _Field) -> None:
        storage = t.untyped_storage()
        key = storage._cdata
        if key not in known:
            finalizers.append(weakref.finalize(storage, known.pop, key, None))
        known[key] = (size, f)

    def record(name: str, mod: nn.Module, args: tuple, out) -> None:
        maps = _maps(out, layout(name))
        if maps is None:
            _reached(name)
            return
        f = None
        if maps.dim() == 2 + spatial:
            size = tuple(maps.shape[2:])
            f = field_of(maps)
            if f is None and name in leaves:
                x = next((a for a in args if isinstance(a, torch.Tensor) and a.dim() == 2 + spatial), None)
                fin = seen[name][0][1] if seen.get(name) else None
                f = _leaf_field(mod, fin, x.shape[2:], size) if x is not None and fin is not None else None
            elif f is None:
                f = context(name, size)
            if f is not None:
                remember(maps, size, f)
            seen.setdefault(name.rpartition(".")[0], []).append((size, f))
        rows[name] = (type(mod).__name__, tuple(maps.shape[1:]), f)
        _reached(name)

    def _reached(name: str) -> None:
        if pending is not None and name in pending:
            pending.discard(name)
            if not pending:
                raise _Done

    complete = True
    try:
        with torch.no_grad(), each_module(model, enter, pre=True, named_only=False), each_module(model, record):
            _forward(model, inputs)
    except _Done:
        complete = False
    finally:
        for fin in finalizers:
            fin.detach()
    return rows, complete


# -- measured fields (the fallback) -----------------------------------------------------------------------

class _LinearPool(nn.Module):
    """A max pool made linear: the sum over each window of the max pool's own geometry (padding, dilation,
    ceil mode), so it accepts exactly the inputs the max pool accepts."""

    def __init__(self, pool: nn.Module, n: int):
        super().__init__()
        self.pool, self.n = pool, n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, p = self.n, self.pool
        k, s = _per_axis(p.kernel_size, n), _per_axis(p.stride if p.stride is not None else p.kernel_size, n)
        d, pad = _per_axis(p.dilation, n), _per_axis(p.padding, n)
        out = p(x.detach()).shape[2:]
        # pad each axis so the window positions of the (ceil-mode) max pool all fit
        need = [(o - 1) * st + dd * (kk - 1) + 1 for o, st, dd, kk in zip(out, s, d, k)]
        extra = [max(0, nd - (i + 2 * pp)) for nd, i, pp in zip(need, x.shape[2:], pad)]
        padding = []
        for pp, e in zip(reversed(pad), reversed(extra)):
            padding += [pp, pp + e]
        y = F.pad(x, padding)
        conv = (F.conv1d, F.conv2d, F.conv3d)[n - 1]
        c = x.shape[1]
        weight = torch.full((c, 1, *k), 1.0 / math.prod(k), dtype=x.dtype, device=x.device)
        return conv(y, weight, stride=s, dilation=d, groups=c)[(..., *(slice(0, o) for o in out))]


def _linearize(model: nn.Module) -> nn.Module:
    m = copy.deepcopy(model).float().cpu().eval()
    for parent in list(m.modules()):
        for child_name, child in list(parent.named_children()):
            new = None
            if isinstance(child, _ACTIVATIONS):
                new = nn.Identity()
            elif isinstance(child, _MAX_POOLS):
                new = _LinearPool(child, _MAX_POOLS.index(type(child)) + 1)
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


def _gradient_fields(lin: nn.Module, shapes: list[tuple[int, ...]], spatial: int, only, layout: Layout,
                     stop: threading.Event | None = None) -> dict:
    """name → (field, stride, edge) for the names in ``only``, measured by input gradients on ``lin``."""
    inputs = [torch.ones((1, *s), requires_grad=True) for s in shapes]
    outputs: dict[str, torch.Tensor] = {}

    def record(name, _mod, _args, out):
        check_stop(stop)
        if name in only:
            maps = _maps(out, layout(name))
            if maps is not None:
                outputs[name] = maps

    with each_module(lin, record):
        _forward(lin, inputs)
    fields = {}
    for name, out in outputs.items():
        rf = stride = None
        edge = False
        if out.dim() - 2 == spatial:
            centre = [s // 2 for s in out.shape[2:]]
            regions = []
            for shift in (0, 1):
                check_stop(stop)
                pos = [min(c + shift, s - 1) for c, s in zip(centre, out.shape[2:])]
                # channel 0 of the first clip: every unit of a channel has the same field
                grads = torch.autograd.grad(out[(0, 0, *pos)], inputs, retain_graph=True, allow_unused=True)
                merged = sum(g.abs().sum(1, keepdim=True) if g is not None else 0 for g in grads)
                regions.append(_extent(merged, spatial))
            (f0, rf), (f1, _) = regions
            stride = tuple((b - a) if s > 1 else None for a, b, s in zip(f0, f1, out.shape[2:]))
            edge = any(a == 0 or a + r >= d for a, r, d in zip(f0, rf, shapes[0][-spatial:]))
        fields[name] = (rf, stride, edge)
    return fields


def measure_fields(model: nn.Module, shapes, spatial: int, names: set[str], out_shapes: dict, layout: Layout,
                   stop) -> dict:
    """name → (field, stride, truncated) measured for ``names``; a 3× larger input keeps deep fields off the
    border where that stays cheap."""
    lin = _linearize(model)
    actual = _gradient_fields(lin, shapes, spatial, names, layout, stop)
    again = {n for n, (rf, stride, edge) in actual.items() if rf is not None and (edge or None in stride)}
    large = {}
    if again and sum(torch.Size(s).numel() for s in shapes) <= 300_000:
        try:
            large = _gradient_fields(lin, [s[:-spatial] + tuple(3 * d for d in s[-spatial:]) for s in shapes],
                                     spatial, again, layout, stop)
        except Stopped:
            raise
        except Exception:  # fixed-size models (e.g. positional embeddings): keep the given size
            large = {}
    out = {}
    for name, (rf, stride, edge) in actual.items():
        if rf is None:
            continue
        if name in large and large[name][0] is not None:
            rf, big_stride, edge = large[name]
            stride = tuple(b if b is not None else a for a, b in zip(stride, big_stride))
        if edge:  # a clipped field shifts unevenly: the size ratio is the stride of same-padded layers
            stride = tuple(max(1, round(d / o)) for d, o in zip(shapes[0][-spatial:], out_shapes[name][1:]))
        out[name] = (rf, tuple(s or 0 for s in stride), bool(edge))
    return out
