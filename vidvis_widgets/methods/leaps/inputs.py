"""What LEAPS takes as input, checked before any work: stimulus videos, the inverted model and the verifier (one
clip each), the priming weights λ_l, and x*'s size (by default the model's native input, :func:`default_size`)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ...checks import number
from ...models.pixels import check_frames
from ...models.streams import check_one_clip


def check_stimulus(video, name: str = "the stimulus") -> np.ndarray:
    """A stimulus as a T×H×W×3 array, uint8 (0–255) or float in [0, 1]; anything else (another shape, another
    dtype, floats outside [0, 1] such as 0–255 floats, NaN or infinity) is refused, naming ``name``."""
    if isinstance(video, torch.Tensor):
        video = video.detach().cpu()
        video = (video.float() if video.is_floating_point() else video).numpy()
    # LEAPS keeps its stricter ranges: no integers but uint8, floats in [0, 1] exactly
    return check_frames(np.asarray(video), name, batch=False, integers=False, tolerance=0.0)


def single_stream(network: nn.Module, role: str) -> None:
    """LEAPS feeds one clip N×3×T×H×W: a network that takes another input (a two-stream model, by its adapter's
    facts) is refused before any work (:func:`~vidvis_widgets.models.streams.check_one_clip`)."""
    check_one_clip(network, role)


def check_priming_weights(weights, layers: list[str]) -> np.ndarray:
    """λ_l: one number for all priming layers or one per layer, each in (0, 1]."""
    values = list(weights) if isinstance(weights, (list, tuple, np.ndarray, torch.Tensor)) else [weights]
    if len(values) not in (1, len(layers)):
        raise ValueError(f"priming_weights must be one number or one per priming layer ({len(layers)}: "
                         f"{', '.join(layers)}); got {len(values)}")
    w = np.array([number(f"priming_weights[{i}]", float(v) if isinstance(v, (np.floating, torch.Tensor)) else v,
                         low=0, strict=True) for i, v in enumerate(values)], np.float32)
    if not (w <= 1).all():
        raise ValueError(f"priming weights λ_l must lie in (0, 1] (eq. 1); got {w.tolist()}")
    return np.broadcast_to(w, (len(layers),)).copy()


def default_size(adapter) -> tuple[int, int, int]:
    """x*'s default (T, H, W): the model's native input from its adapter (r3d_18 16×112², X3D-S 13×160², SlowFast
    R50 32×224², a Hugging Face model its config's frames and size), raised to the least it takes where that is
    more. A model whose native input is unknown (a bare module of unknown architecture) is refused, naming size=:
    synthesizing at a guessed size would run it at an input it may never have seen."""
    native = adapter.native_or_raise("LEAPS' default size", "give size=(T, H, W), the frames and pixels to synthesize "
                                     "x* at (the paper's is size=(8, 224, 224))")
    low = adapter.min_shape or native  # a model that takes no less than its own minimum
    return tuple(max(n, m) for n, m in zip(native, low))


def check_size(size) -> tuple[int, int, int]:
    """x*'s (T, H, W), each a positive integer."""
    if isinstance(size, (str, bytes)) or not hasattr(size, "__len__") or len(size) != 3:
        raise ValueError(f"size must be (T, H, W), three positive integers; got {size!r}")
    return tuple(number(f"size {axis}", v, low=1, integer=True) for axis, v in zip("THW", size))
