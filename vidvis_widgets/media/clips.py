"""Canonical clips from the array layouts users have at hand.

A :class:`Clip` is always ``T x H x W x 3`` uint8 RGB; optical flow is rendered
to RGB on the way in (see :func:`vidvis_widgets.flow_to_rgb`). Everything that
displays or writes video goes through :func:`as_clip`, so the accepted forms and
the error messages are the same everywhere.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Sequence

import numpy as np

from .flow import FlowMode, flow_to_rgb
from .layouts import ACCEPTED, infer_layout, to_numpy, to_thwc

Kind = Literal["rgb", "flow", "image"]

# float inputs that are a rounding error outside [0, 1] are clipped rather than rejected
_RANGE_TOLERANCE = 1e-3


@dataclass(frozen=True, eq=False)
class Clip:
    """``frames``: T×H×W×3 uint8; ``kind``: what the frames show."""

    frames: np.ndarray
    kind: Kind

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])


def _check_finite(a: np.ndarray, name: str) -> None:
    if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
        nan, inf = int(np.isnan(a).sum()), int(np.isinf(a).sum())
        raise ValueError(f"{name}: contains {nan} NaN and {inf} infinite values; clips must be finite")


def rgb_to_uint8(a: np.ndarray, name: str, rescale: bool = False) -> np.ndarray:
    """uint8 passes through; other integers must lie in 0–255; floats in [0, 1] unless ``rescale``."""
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise TypeError(f"{name}: dtype {a.dtype} is not a clip dtype; expected uint8 0–255 or float in [0, 1]")
    if a.dtype == np.uint8 and not rescale:
        return np.ascontiguousarray(a)
    _check_finite(a, name)
    if rescale:
        a = a.astype(np.float32)
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) / (hi - lo) if hi > lo else np.full_like(a, 0.5)
    elif np.issubdtype(a.dtype, np.integer):
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi > 255:
            raise ValueError(f"{name}: integer values span [{lo}, {hi}]; expected uint8 0–255 or float in [0, 1]")
        return a.astype(np.uint8)
    else:
        lo, hi = float(a.min()), float(a.max())
        if lo < -_RANGE_TOLERANCE or hi > 1.0 + _RANGE_TOLERANCE:
            raise ValueError(
                f"{name}: float values span [{lo:.4g}, {hi:.4g}]; expected floats in [0, 1] or uint8 0–255 "
                "(pass rescale=True to min–max scale the whole clip, as the papers display optimized inputs)"
            )
    return np.clip(np.rint(a.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)


def as_clip(
    x: Any,
    *,
    layout: str | None = None,
    flow_mode: FlowMode = "paper",
    rescale: bool = False,
    name: str = "clip",
) -> Clip:
    """One clip from an array or tensor; 2-channel inputs are optical flow and are rendered to RGB."""
    if isinstance(x, Clip):
        return x
    a = to_thwc(to_numpy(x, name), layout, name)
    single_image = a.shape[0] == 1 and (layout or infer_layout(np.shape(x), name)).upper() in ("HWC", "CHW")
    if a.shape[-1] == 2:
        if not np.issubdtype(a.dtype, np.floating):
            raise TypeError(f"{name}: optical flow must be float (pixels per frame), got {a.dtype}")
        _check_finite(a, name)
        return Clip(flow_to_rgb(a, mode=flow_mode, layout="THWC"), "flow")
    return Clip(rgb_to_uint8(a, name, rescale=rescale), "image" if single_image else "rgb")


def as_clip_list(
    clips: Any,
    *,
    layout: str | Sequence[str | None] | None = None,
    flow_mode: FlowMode = "paper",
    rescale: bool = False,
) -> list[Clip | None]:
    """A list of clips from one clip, a 5-D batch (N clips), or a sequence; ``None`` keeps a cell empty."""
    if clips is None:
        raise ValueError(f"no clips given; expected a clip or a list of clips ({ACCEPTED})")
    items: list[Any]
    if isinstance(clips, Clip):
        items = [clips]
    elif isinstance(clips, (list, tuple)):
        items = list(clips)
    else:
        arr_ndim = getattr(clips, "ndim", None)
        if arr_ndim == 5:
            items = list(clips)
        elif arr_ndim in (3, 4):
            items = [clips]
        else:
            to_numpy(clips, "clips")  # raises the type error for non-arrays
            raise ValueError(f"clips: expected a clip, a 5-D batch or a list of clips, got shape {tuple(clips.shape)}")
    if not items:
        raise ValueError(f"no clips given: the list is empty; expected at least one clip ({ACCEPTED})")
    layouts = list(layout) if isinstance(layout, (list, tuple)) else [layout] * len(items)
    if len(layouts) != len(items):
        raise ValueError(f"{len(layouts)} layouts given for {len(items)} clips; give one layout or one per clip")
    out = [
        None if c is None else as_clip(c, layout=lay, flow_mode=flow_mode, rescale=rescale, name=f"clip {i}")
        for i, (c, lay) in enumerate(zip(items, layouts))
    ]
    if all(c is None for c in out):
        raise ValueError("every clip is None; expected at least one clip to show")
    return out


def on_one_clock(videos: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Videos sampled at frame rates that divide the fastest's (T×… arrays, e.g. SlowFast's pathways), each frame
    held for T_max / T frames, so all play for T_max frames on one clock: frame k of a video α times slower
    covers frames kα … kα + α − 1 of the fastest."""
    longest = max(len(v) for v in videos)
    return [np.repeat(v, max(1, longest // len(v)), axis=0) for v in videos]


def warn_mixed_lengths(clips: Iterable[Clip | None]) -> None:
    lengths = sorted({c.num_frames for c in clips if c is not None and c.kind != "image"})
    if len(lengths) > 1:
        warnings.warn(
            f"clips have different lengths {lengths}: all play from one clock for {lengths[-1]} frames, "
            "and shorter clips hold their last frame once they end",
            stacklevel=3,
        )
