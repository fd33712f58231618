"""The input shapes a model's layers are listed at: its adapter's native input by default, and a given shape checked
against the inputs the adapter (or, for a bare module, its first convolution) says the model takes, so that a wrong
channel count or rank is refused with the expected form before the model runs, not inside torch."""

from __future__ import annotations

from torch import nn

from .adapter import ModelAdapter, adapter_of


def _form(adapter: ModelAdapter, model: nn.Module) -> tuple[list[tuple[int | None, int]], str] | None:
    """[(channels or None, rank) per input] the model takes and the form in words, or None where unknown."""
    if adapter.kind == "two_stream":
        flow = 2 * adapter.flow_frames if adapter.flow_frames else None
        return [(3, 3), (flow, 3)], f"((3, H, W), ({flow or '2L'}, H, W)): the RGB frame and the stacked flow"
    if adapter.kind == "pathways" or adapter.native_shape is not None:
        return [(3, 4)], "(3, T, H, W): one RGB clip" + (f", which the pathways ({', '.join(adapter.streams)}) "
                                                       "sample" if adapter.kind == "pathways" else "")
    first = next((m for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d))), None)
    if first is None:
        return None
    dims = len(first.kernel_size)
    axes = ("T", "H", "W")[3 - dims:] if dims <= 3 else ()
    return [(first.in_channels, dims + 1)], (f"({first.in_channels}, {', '.join(axes)}): its first convolution "
                                             f"is a {type(first).__name__} on {first.in_channels} channels")


def input_shapes(model: nn.Module, shapes: list[tuple[int, ...]] | None) -> list[tuple[int, ...]]:
    """``shapes`` (one per ``forward`` input, without the batch axis) checked against what the model takes, or
    the adapter's native input where they are None."""
    adapter = adapter_of(model)
    if shapes is None:
        native = adapter.input_shapes()
        if native is None:
            adapter.native_or_raise("list_layers without input_shape", "pass input_shape=(3, T, H, W)")
        return native
    form = _form(adapter, model)
    if form is None:
        return shapes
    wanted, words = form
    example = adapter.input_shapes()
    expected = f"expected {words}" + (f", e.g. its native {_text(example)}" if example else "")
    if adapter.kind == "pathways" and len(shapes) == len(adapter.pathways):
        wanted = wanted * len(shapes)  # one clip per pathway, each at its own frames
    if len(shapes) != len(wanted):
        raise ValueError(f"input_shape {_text(shapes)} gives {len(shapes)} input(s), but {adapter.name} takes "
                         f"{len(wanted)}; {expected}")
    for i, (shape, (channels, rank)) in enumerate(zip(shapes, wanted)):
        which = f" (input {i + 1})" if len(shapes) > 1 else ""
        if len(shape) != rank:
            raise ValueError(f"input_shape {_text(shapes)}{which} has {len(shape)} axes, but {adapter.name} takes "
                             f"{rank} (channels first, without the batch axis); {expected}")
        if channels is not None and shape[0] != channels:
            raise ValueError(f"input_shape {_text(shapes)}{which} has {shape[0]} channels, but {adapter.name} takes "
                             f"{channels}; {expected}")
    return shapes


def _text(shapes: list[tuple[int, ...]]) -> str:
    return str(tuple(shapes[0]) if len(shapes) == 1 else tuple(tuple(s) for s in shapes))
