"""Optical flow rendered as colour, the papers' way or on a colour wheel."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .layouts import infer_layout, to_numpy, to_thwc

FlowMode = Literal["paper", "hsv"]


def _flow_thw2(flow: Any, layout: str | None) -> tuple[np.ndarray, bool]:

    a = to_numpy(flow, "flow")
    lay = (layout or infer_layout(a.shape, "flow")).upper()
    a = to_thwc(a, lay, "flow")
    if a.shape[-1] != 2:
        raise ValueError(f"flow: expected 2 channels (horizontal, vertical), got {a.shape[-1]} in layout {lay}")
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"flow: expected a float array of pixel displacements, got {a.dtype}")
    if not np.isfinite(a).all():
        raise ValueError(f"flow: contains {int((~np.isfinite(a)).sum())} NaN or infinite values; flow must be finite")
    return a.astype(np.float32, copy=False), "T" not in lay


def _minmax(c: np.ndarray) -> np.ndarray:
    lo, hi = float(c.min()), float(c.max())
    # a constant channel carries no contrast; mid-grey says "no variation" rather than "extreme"
    return (c - lo) / (hi - lo) if hi > lo else np.full_like(c, 0.5)


def flow_to_rgb(flow: Any, mode: FlowMode = "paper", layout: str | None = None) -> np.ndarray:
    """Renders optical flow as uint8 RGB frames.

    ``flow``: T×2×H×W, T×H×W×2, 2×T×H×W, or one field as 2×H×W / H×W×2 (numpy or torch;
    channel 0 is horizontal displacement, positive to the right, channel 1 vertical, positive down).

    ``mode="paper"``: red = horizontal, green = vertical, blue = magnitude, each min–max scaled over the
    whole sequence (Feichtenhofer et al., IJCV 2020, Sec. 3.5 and Fig. 1), so the frames of one clip are
    comparable and the full range of motion is visible. A constant channel renders as mid-grey (0.5).

    ``mode="hsv"``: the Middlebury colour wheel (hue = direction, saturation = magnitude, white = still)
    via :func:`torchvision.utils.flow_to_image`, normalized by the largest magnitude in the whole sequence.

    Returns T×H×W×3 uint8 (H×W×3 for a single field).
    """
    a, single = _flow_thw2(flow, layout)
    if mode == "paper":
        u, v = a[..., 0], a[..., 1]
        rgb = np.stack([_minmax(u), _minmax(v), _minmax(np.hypot(u, v))], axis=-1)
        out = np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
    elif mode == "hsv":
        import torch
        from torchvision.utils import flow_to_image

        t = torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))
        out = flow_to_image(t).permute(0, 2, 3, 1).numpy()
    else:
        raise ValueError(f"flow mode {mode!r} is not known; expected 'paper' or 'hsv'")
    return out[0] if single else out
