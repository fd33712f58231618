"""Array layouts of clips and images: which axis holds the channels, and reordering to T×H×W×C.

Shared by :mod:`.clips` and :mod:`.flow`, so that every clip and flow field is read the same way.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

Layout = Literal["THWC", "TCHW", "CTHW", "HWC", "CHW"]

LAYOUTS: tuple[str, ...] = ("THWC", "TCHW", "CTHW", "HWC", "CHW")
ACCEPTED = (
    "RGB as T×H×W×3, T×3×H×W or 3×T×H×W (uint8 0–255 or float in [0, 1]), a single image as H×W×3 or 3×H×W, "
    "or optical flow with 2 channels in the same layouts (float)"
)


def to_numpy(x: Any, name: str) -> np.ndarray:
    """A numpy view of a numpy array or torch tensor (any device, any grad state)."""
    if isinstance(x, np.ndarray):
        return x
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        torch = None
    if torch is not None and isinstance(x, torch.Tensor):
        t = x.detach()
        if t.dtype in (torch.bfloat16, torch.float16):
            t = t.float()
        return t.cpu().numpy()
    raise TypeError(f"{name}: expected a numpy array or torch tensor ({ACCEPTED}), got {type(x).__name__}")


def infer_layout(shape: tuple[int, ...], name: str = "clip") -> str:
    """The layout of a 3-D image or 4-D clip, found from where the 2 or 3 channels are."""
    # a video 2 or 3 pixels wide is implausible, so channels-last wins whenever the last axis fits
    if len(shape) == 4:
        candidates = ["THWC"] if shape[3] in (2, 3) else [
            lay for lay, axis in (("TCHW", 1), ("CTHW", 0)) if shape[axis] in (2, 3)
        ]
    elif len(shape) == 3:
        candidates = ["HWC"] if shape[2] in (2, 3) else (["CHW"] if shape[0] in (2, 3) else [])
    else:
        raise ValueError(f"{name}: expected a 4-D clip or 3-D image ({ACCEPTED}), got shape {tuple(shape)}")
    if not candidates:
        raise ValueError(
            f"{name}: no axis of shape {tuple(shape)} has 3 (RGB) or 2 (optical flow) channels; expected {ACCEPTED}"
        )
    if len(candidates) > 1:
        raise ValueError(
            f"{name}: shape {tuple(shape)} is ambiguous, it could be {' or '.join(candidates)}; "
            f"pass layout= one of {', '.join(candidates)}"
        )
    return candidates[0]


def to_thwc(a: np.ndarray, layout: str | None, name: str) -> np.ndarray:
    """Reorders any accepted layout to T×H×W×C (a single image becomes a 1-frame clip)."""
    layout = (layout or infer_layout(a.shape, name)).upper()
    if layout not in LAYOUTS:
        raise ValueError(f"{name}: unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    if a.ndim != len(layout):
        raise ValueError(f"{name}: layout {layout} needs a {len(layout)}-D array, got shape {tuple(a.shape)}")
    order = [layout.index(ax) for ax in "THWC" if ax in layout]
    out = np.transpose(a, order)
    if "T" not in layout:
        out = out[None]
    if out.shape[-1] not in (2, 3):
        raise ValueError(f"{name}: layout {layout} puts {out.shape[-1]} channels last; expected 3 (RGB) or 2 (flow)")
    if min(out.shape[:3]) == 0:
        raise ValueError(f"{name}: clip is empty (T×H×W = {'×'.join(map(str, out.shape[:3]))})")
    return out
