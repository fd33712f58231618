"""The probe: the one place that registers hooks on a model.

Every method reads layers through it. A :class:`Probe` records the named layers' outputs on every forward
pass and hands them back in one form, whatever the module emits:

- N×C×T×H×W space-time maps from 3D CNNs, as they are;
- N×T×H×W×C from channels-last stages (Video Swin), permuted;
- ``(tokens N×L×C, (T, H, W))`` from MViT blocks, and bare token sequences N×L×C with a known token grid
  (Hugging Face video transformers), reshaped to N×C×T×H×W after dropping leading class tokens;
- N×C×H×W maps of 2D layers (the two-stream net's) as N×C×1×H×W: one time step;
- N×C vectors (pooled features, logits), as they are; tuples, by their first tensor;
- of a layer that carries several views of its input on the batch axis (the symmetric two-stream net), the
  input's own rows only.

Where a method needs them it also records a layer's pre-activation (the input of its final ReLU, the same unit
before rectification) and the inputs of BatchNorm layers (LEAPS' feature-statistics regularizer).
:func:`each_module` runs a callback on every module's output (or input) for whole-model passes such as
measuring a layer table or checking a Stop button between layers.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterable, Iterator

import torch
from torch import nn

from .adapter import LayerLayout, Layout, adapter_of, register_bypass


def default_layout(_name: str) -> LayerLayout:
    """Every layer as its module emits it (channels first); a probe on a model takes its adapter's layout."""
    return LayerLayout()


def first_tensor(out: Any) -> Any:
    """A module's output without its wrappers: the first tensor of a tuple, list or ``.last_hidden_state``-style
    object (Hugging Face ``ModelOutput`` is a tuple-like mapping)."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)) and out:
        return first_tensor(out[0])
    if hasattr(out, "to_tuple"):
        return first_tensor(out.to_tuple())
    return out


def first_view(x: torch.Tensor, views: int) -> torch.Tensor:
    """The rows of the input itself, where a layer carries ``views`` views of it one after another on the
    batch axis (G·N rows, the input first)."""
    return x[: x.shape[0] // views] if views > 1 else x


def as_maps(out: Any, layout: LayerLayout = LayerLayout()) -> torch.Tensor:
    """A layer's output as N×C×T×H×W (space-time layers) or N×C (vectors); see the module docstring.

    A ValueError says what came out when it is neither."""
    return first_view(_as_maps(out, layout), layout.views)


def _as_maps(out: Any, layout: LayerLayout) -> torch.Tensor:
    if (isinstance(out, (tuple, list)) and len(out) == 2 and isinstance(out[0], torch.Tensor)
            and isinstance(out[1], (tuple, list)) and len(out[1]) == 3):
        tokens, grid = out  # MViT: (tokens with a leading class token, (T, H, W))
        return tokens_to_maps(tokens, tuple(int(g) for g in grid))
    x = first_tensor(out)
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"expected a tensor, a tuple holding one, or a transformer's tokens; got {type(out).__name__}")
    if x.dim() == 5:
        return x.permute(0, 4, 1, 2, 3) if layout.channels_last else x
    if x.dim() == 4:
        return x.unsqueeze(2)
    if x.dim() == 3 and layout.grid is not None:
        return tokens_to_maps(x, layout.grid, layout.order)
    if x.dim() == 2:
        return x
    raise ValueError(f"expected space-time maps N×C×T×H×W, N×T×H×W×C, 2D maps N×C×H×W, tokens N×L×C with a known "
                     f"T×H×W grid, or vectors N×C; got a tensor of shape {tuple(x.shape)}")


def tokens_to_maps(tokens: torch.Tensor, grid: tuple[int, int, int], order: str = "thw") -> torch.Tensor:
    """N×L×C tokens on a T×H×W grid (after L − T·H·W leading class tokens) as N×C×T×H×W. ``order``: ``"thw"``
    when time runs slowest along the sequence, ``"hwt"`` when it runs fastest (TimeSformer), ``"frames"`` when
    each frame is its own sequence of class tokens and H·W patches, N·T of them on the batch axis (X-CLIP)."""
    t, h, w = grid
    n, length, c = tokens.shape
    if order == "frames":
        if n % t or length < h * w:
            raise ValueError(f"{n} sequences of {length} tokens are not clips of {t} frames of {h}×{w} patches")
        return tokens[:, length - h * w:].reshape(n // t, t, h, w, c).permute(0, 4, 1, 2, 3)
    if length < t * h * w:
        raise ValueError(f"{length} tokens cannot fill a {t}×{h}×{w} grid ({t * h * w} positions)")
    patches = tokens[:, length - t * h * w:].transpose(1, 2)
    if order == "hwt":
        return patches.reshape(n, c, h, w, t).permute(0, 1, 4, 2, 3)
    return patches.reshape(n, c, t, h, w)


def as_leaf(out: Any) -> Any:
    """``out`` with its first tensor detached and requiring a gradient, in ``out``'s structure (a tensor, or a
    tuple or list led by a tensor, such as an MViT block's ``(tokens, thw)``)."""
    if isinstance(out, torch.Tensor):
        return out.detach().requires_grad_(True)
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        items = (as_leaf(out[0]), *out[1:])
        return tuple(items) if isinstance(out, tuple) else list(items)
    raise ValueError(f"expected a tensor or a tuple led by one; got {type(out).__name__}")


def final_relu(module: nn.Module) -> nn.Module | None:
    """The module itself if it is a ReLU, else its last ReLU submodule, else None."""
    if isinstance(module, nn.ReLU):
        return module
    relus = [m for m in module.modules() if isinstance(m, nn.ReLU)]
    return relus[-1] if relus else None


def batchnorms(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every BatchNorm layer of ``model``, by name."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


class Probe:
    """Records ``layers`` of ``model`` on every forward pass while it is open (a context manager).

    ``outputs[name]``: the layer's output as N×C×T×H×W or N×C (:func:`as_maps`), or, for the names in
    ``pre_activation``, the input of the layer's final ReLU in that form (cloned, since an in-place ReLU would
    rectify it) where the layer's output is that ReLU's output; ``pre_activation`` falls back to the output
    for a layer without a final ReLU (a pooling layer, an Inception block's concatenated branches).
    ``bn_inputs[name]``: with ``batchnorm_inputs``, the input of every BatchNorm layer.
    ``raw[name]``: with ``keep_raw``, what was recorded as it came (the module's output, a tuple for an MViT
    block; the cloned pre-activation), before :func:`as_maps`.
    ``leaf``: each recorded output (not a pre-activation) is replaced, for the rest of the forward pass, by a
    detached copy that requires a gradient, so that a gradient can be taken against ``raw[name]`` (its first
    tensor, :func:`first_tensor`) with the weights frozen, and the backward pass stops at the layer instead of
    running on to the input. ``outputs[name]`` is then computed from that leaf.
    ``layout``: how each layer lays out its output (:class:`LayerLayout` by name); by default the model's
    adapter says (:func:`~.adapter.adapter_of`), so Video Swin's channels-last stages are read right
    without the caller knowing."""

    def __init__(self, model: nn.Module, layers: Iterable[str] = (), *, pre_activation: Iterable[str] = (),
                 batchnorm_inputs: bool = False, layout: Layout | None = None, keep_raw: bool = False,
                 leaf: bool = False):
        self.model = model
        layout = layout if layout is not None else adapter_of(model).layer_layout
        self.layers = tuple(dict.fromkeys(layers))
        self.pre_activation = set(pre_activation) & set(self.layers)
        self.layout, self.keep_raw = layout, keep_raw or leaf
        self.outputs: dict[str, torch.Tensor] = {}
        self.raw: dict[str, Any] = {}
        self.bn_inputs: dict[str, torch.Tensor] = {}
        self.rectified: set[str] = set()  # the layers last recorded as their final ReLU's input
        self._pending: set[str] | None = None  # the layers a cut pass (:meth:`run`) still waits for
        self._handles: list = []
        for name in self.layers:
            module = model.get_submodule(name)
            relu = final_relu(module) if name in self.pre_activation else None
            last: dict[str, Any] = {}
            if relu is not None:
                self._handles.append(relu.register_forward_pre_hook(self._pre_hook(last)))
                self._handles.append(relu.register_forward_hook(self._relu_out_hook(last)))
            self._handles.append(module.register_forward_hook(self._out_hook(name, leaf, last)))
        if batchnorm_inputs:
            for name, bn in batchnorms(model):
                self._handles.append(bn.register_forward_pre_hook(self._bn_hook(name)))

    def _record(self, name: str, out: Any) -> None:
        if self.keep_raw:
            self.raw[name] = out
        try:
            self.outputs[name] = as_maps(out, self.layout(name))
        except ValueError as e:
            raise ValueError(f"layer {name!r}: {e}") from None

    def _out_hook(self, name: str, leaf: bool, last: dict):
        def hook(_m, _inputs, out):
            if leaf:
                out = as_leaf(out)
            # the pre-activation stands for the layer only where the layer's output is its final ReLU's output
            # (a block ending in that ReLU); a concatenation of branches (an Inception block) is read as it is
            if "out" in last and first_tensor(out) is last["out"]:
                self._record(name, last["pre"])
                self.rectified.add(name)
            else:
                self._record(name, out)
                self.rectified.discard(name)
            last.clear()
            if self._pending is not None:
                self._pending.discard(name)
                if not self._pending:
                    raise _Recorded
            return out if leaf else None
        return hook

    def run(self, forward: Callable[[], Any], *, cut: bool = False) -> Any:
        """``forward()``, a forward pass of the model, and its output. With ``cut`` the pass ends as soon as every
        layer is recorded, returning None: the rest of the network computes nothing the probe reads. Only for
        layers whose output is final at their module's first run
        (:func:`~vidvis_widgets.models.layers.read_at_first_run`)."""
        if not cut or not self.layers:
            return forward()
        self._pending = set(self.layers)
        try:
            return forward()
        except _Recorded:
            return None
        finally:
            self._pending = None

    @staticmethod
    def _pre_hook(last: dict):
        def hook(_m, inputs):
            last["pre"] = inputs[0].clone()  # cloned: an in-place ReLU rectifies its input
        return hook

    @staticmethod
    def _relu_out_hook(last: dict):
        def hook(_m, _inputs, out):
            last["out"] = out
        return hook

    def _bn_hook(self, name: str):
        def hook(_m, inputs):
            self.bn_inputs[name] = inputs[0]
        return hook

    def close(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def __enter__(self) -> "Probe":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.outputs[name]


class _Recorded(BaseException):
    """Ends a cut pass (:meth:`Probe.run`) once every layer is recorded; a BaseException, so that no ``except
    Exception`` in a model's forward takes it for the model's own error."""


@contextlib.contextmanager
def each_module(model: nn.Module, fn: Callable[[str, nn.Module, tuple, Any], None], *, pre: bool = False,
                named_only: bool = True) -> Iterator[None]:
    """Calls ``fn(name, module, inputs, output)`` after every module's forward pass (``pre``: ``fn(name, module,
    inputs, None)`` before it) while open: whole-model passes such as a layer table or a Stop check per layer."""
    handles = []
    for name, module in model.named_modules():
        if named_only and not name:
            continue
        if pre:
            handles.append(module.register_forward_pre_hook(lambda m, a, name=name: fn(name, m, a, None)))
        else:
            handles.append(module.register_forward_hook(lambda m, a, o, name=name: fn(name, m, a, o)))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def _skip(_module: nn.Module, inputs: tuple, _output: Any) -> Any:
    return inputs[0]


@contextlib.contextmanager
def bypassed(model: nn.Module, name: str | None) -> Iterator[None]:
    """While open, module ``name`` of ``model`` returns its input: a head's Softmax, which the adapter's ``call``
    skips to read the logits (X3D's output pool then averages logits, not probabilities). Nothing when ``name``
    is None."""
    if name is None:
        yield
        return
    handle = model.get_submodule(name).register_forward_hook(_skip)
    try:
        yield
    finally:
        handle.remove()


register_bypass(bypassed)  # the adapter's call skips a head's Softmax with it


def modules_that_ran(model: nn.Module, inputs: tuple, where: Callable[[str, Any], bool] | None = None) -> list[str]:
    """The named modules of ``model`` whose forward pass ran on ``inputs`` (one pass, without gradients), in the
    order they finished (a parent after its children), kept where ``where(name, output)`` holds."""
    found: list[str] = []

    def record(name: str, _m, _inputs, out) -> None:
        if where is None or where(name, out):
            found.append(name)

    with each_module(model, record), torch.no_grad():
        model(*inputs)
    return found
