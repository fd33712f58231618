"""list_layers: every layer of a model with its output shape, receptive field and stride on the input.

Finding the right layer name is users' most common difficulty with peer tools, so the table here is the
papers' Table 1 for any model. One forward pass of the model itself (through :func:`~.probe.each_module`)
gives every layer's output shape, read as N×C×T×H×W or N×C by the probe, and derives the receptive field
and stride along the way: each convolution or pooling composes with the field of its input
(rf += (k − 1)·dilation·jump, jump *= stride), elementwise layers keep it, and a block whose output is
computed from its children (a residual sum, an Inception concatenation) takes the union of their fields.

Where that derivation cannot apply (attention, or any layer fed by an operation it cannot see), the field
is measured for the layers asked about only: on a copy of the model made linear and positive (activations
removed, max pools turned into linear pools of the same geometry, weights set to positive constants,
normalization made the identity), the input gradient of one output unit is non-zero exactly on the inputs
that unit sees, and moving the unit by one position moves that region by the layer's stride. Results are
cached per architecture and input shape.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import math
import numbers
import signal
import threading
import weakref
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .probe import Layout, as_maps, each_module, first_tensor, first_view

_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Hardswish, nn.LeakyReLU, nn.ELU, nn.Sigmoid, nn.Tanh,
                nn.Softplus, nn.Mish, nn.Hardsigmoid, nn.Dropout, nn.Dropout2d, nn.Dropout3d)
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_MAX_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
_POOLS = _MAX_POOLS + (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
_ADAPTIVE = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d,
             nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
#: modules whose output has the receptive field of their input (per-position maps)
_SAME_FIELD = _ACTIVATIONS + (nn.Identity, nn.modules.batchnorm._BatchNorm)


class Stopped(Exception):
    """A measurement ended early because its stop event was set (see :func:`check_stop`); ``status`` is
    "interrupted" when the stop was a Ctrl-C (see :class:`Halt`), else "stopped"."""

    def __init__(self, status: str = "stopped"):
        super().__init__(status)
        self.status = status


class Halt:
    """A Stop or a Ctrl-C as one flag that every phase of a run checks, so both are answered the same way at
    the next check wherever they arrive (a KeyboardInterrupt raised between two phases' handlers would escape
    the call). ``is_set()`` once the user's ``stop`` event is set or SIGINT arrived under :func:`ctrl_c_stops`;
    ``status`` says which."""

    def __init__(self, stop: threading.Event | None = None):
        self.stop, self.interrupted = stop, False

    def is_set(self) -> bool:
        return self.interrupted or (self.stop is not None and self.stop.is_set())

    @property
    def status(self) -> str:
        return "interrupted" if self.interrupted else "stopped"


def stop_status(stop) -> str:
    """The status of a run that ended because ``stop`` was set: "interrupted" for a Ctrl-C, else "stopped"."""
    return stop.status if isinstance(stop, Halt) else "stopped"


def ended(err: BaseException) -> str:
    """The status of a run ended by ``err``: a :class:`Stopped` (a Stop, or a Ctrl-C under :func:`ctrl_c_stops`)
    or a KeyboardInterrupt (a Ctrl-C elsewhere, or the second one)."""
    return err.status if isinstance(err, Stopped) else "interrupted"


@contextlib.contextmanager
def ctrl_c_stops(stop: threading.Event | None) -> Iterator[Halt]:
    """Yields a :class:`Halt` over ``stop``. In the main thread, a Ctrl-C (SIGINT: Jupyter's interrupt
    button too) sets it instead of raising, so the run ends at its next check with the results so far; a
    second Ctrl-C raises KeyboardInterrupt as usual, for a pass that will not end. Elsewhere (a background
    thread, where no Ctrl-C reaches the run) the Halt is ``stop`` alone. Nested calls share the outer Halt."""
    if isinstance(stop, Halt):
        yield stop
        return
    halt = Halt(stop)

    def on_sigint(_signum, _frame):
        if halt.interrupted:
            raise KeyboardInterrupt
        halt.interrupted = True

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread
        yield halt
        return
    try:
        yield halt
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)


def check_stop(stop: threading.Event | Halt | None) -> None:
    """Raises :class:`Stopped` when ``stop`` is set: the check the measurement loops make between steps."""
    if stop is not None and stop.is_set():
        raise Stopped(stop_status(stop))


@contextlib.contextmanager
def stoppable(model: nn.Module, stop: threading.Event | None) -> Iterator[nn.Module]:
    """Every submodule checks ``stop`` before it runs, so a long forward pass ends within one layer of a Stop
    (and a pending Ctrl-C is raised there too, since Python runs between the layers)."""
    if stop is None:
        yield model
        return
    with each_module(model, lambda *_: check_stop(stop), pre=True, named_only=False):
        yield model


@contextlib.contextmanager
def frozen(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and no weight gradients for the duration; the model's own flags are restored after."""
    # only the flags that change are set and restored: a model already in eval mode (as a loaded one is) costs
    # two walks over its modules and parameters, not a write per module
    grads = [p for p in model.parameters() if p.requires_grad]
    modes = [m for m in model.modules() if m.training]
    for p in grads:
        p.requires_grad_(False)
    if modes:
        model.eval()
    try:
        yield model
    finally:
        for p in grads:
            p.requires_grad_(True)
        for m in modes:
            m.training = True


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


def _pathway_shapes(model: nn.Module, shapes: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """A multi-pathway model's clip shape (3, T, H, W) as its pathways' shapes, each at its frame stride."""
    from .adapter import adapter_of

    adapter = adapter_of(model)
    if adapter.kind != "pathways" or len(shapes) != 1 or len(shapes[0]) != 4:
        return shapes
    c, t, h, w = shapes[0]
    return [(c, max(1, t // stride), h, w) for _, stride in adapter.pathways]


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


def _trace(model: nn.Module, shapes: list[tuple[int, ...]], spatial: int, layout: Layout,
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


def _measure(lin: nn.Module, shapes: list[tuple[int, ...]], spatial: int, only, layout: Layout,
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


def _measured(model: nn.Module, shapes, spatial: int, names: set[str], out_shapes: dict, layout: Layout,
              stop) -> dict:
    """name → (field, stride, truncated) measured for ``names``; a 3× larger input keeps deep fields off the
    border where that stays cheap."""
    lin = _linearize(model)
    actual = _measure(lin, shapes, spatial, names, layout, stop)
    again = {n for n, (rf, stride, edge) in actual.items() if rf is not None and (edge or None in stride)}
    large = {}
    if again and sum(torch.Size(s).numel() for s in shapes) <= 300_000:
        try:
            large = _measure(lin, [s[:-spatial] + tuple(3 * d for d in s[-spatial:]) for s in shapes], spatial,
                             again, layout, stop)
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
        rows, complete = _trace(model, shapes, spatial, layout, stop, until)
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
        measured.update(_measured(model, shapes, spatial, todo, {n: rows[n][1] for n in todo}, layout, stop))
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
    return _measured(model, shapes, spatial, set(layers), {r.name: r.output_shape for r in table},
                     _layout_of(model, layout), stop)
