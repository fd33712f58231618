"""Pixels into model input: the one path from frames (N×T×H×W×3, uint8 on 0–255 or float in [0, 1], and a two-stream
model's flow N×T×2×H×W in pixels) to a model's ``forward`` arguments, with the checks on dataset arrays. The adapter's
:meth:`~.adapter.ModelAdapter.pixel_args`, :meth:`~.adapter.ModelAdapter.pixel_input` and
:meth:`~.adapter.ModelAdapter.prepare` are these functions; methods (Saliency Tubes, LEAPS' stimuli, evaluation,
training) all reach the model through them."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

#: how far float RGB may stray outside [0, 1] (rounding) before it is taken for another range
_RANGE_TOLERANCE = 1e-3


def pixel_input(adapter, rgb: torch.Tensor, device=None, size: tuple[int, int, int] | None = None,
                out: torch.Tensor | None = None) -> torch.Tensor:
    """Frames N×T×H×W×3 (uint8 0–255, or float in [0, 1]) → the model's normalized N×3×T×H×W on ``device``, at
    ``size`` (T, H, W), or by the model's rule where None: a fixed-size model takes its native T×H×W, any other
    its native H×W at the clip's own frames (a model of unknown native input the clip as it is).

    The pixels are resampled in [0, 1] and then normalized, (x − mean) / std, as :meth:`~.adapter.ModelAdapter.
    normalize` does. ``out``: a float N×3×T×H×W tensor to write into, reused across calls (Saliency Tubes' batches):
    then one copy into it and one fused affine pass, x · 1/(255·std) − mean/std, as many passes fewer (separate
    divide, subtract and divide passes cost a sixth of a small model's forward pass on a CPU), within 5e-7 of the
    three-step values, and resampled after."""
    device = torch.device(device) if device is not None else rgb.device
    if size is None:
        native, fixed = adapter.native_shape, adapter.fixed_size
        size = None if native is None else native if fixed else (rgb.shape[1], *native[1:])
    resize = size is not None and tuple(rgb.shape[1:4]) != tuple(size)
    mean, std = adapter.stats(device)
    if out is not None:
        out.copy_(rgb.to(device).permute(0, 4, 1, 2, 3))
        torch.addcmul(-mean / std, out, 1 / (std * 255.0 if not rgb.is_floating_point() else std), out=out)
        return F.interpolate(out, size=tuple(size), mode="trilinear", align_corners=False) if resize else out
    x = rgb.to(device).permute(0, 4, 1, 2, 3)
    x = x.float() if x.is_floating_point() else x.float() / 255.0
    if resize:
        x = F.interpolate(x, size=tuple(size), mode="trilinear", align_corners=False)
    return (x - mean) / std


def two_stream_args(adapter, rgb: torch.Tensor, flow: torch.Tensor | None, device=None) -> tuple:
    """A two-stream model's inputs from N×T×H×W×3 frames and N×T×2×H×W flow (pixels): the appearance frame (the
    clip's centre) normalized, and the flow window stacked as 2L channels divided by ``flow_scale``."""
    if flow is None:
        raise ValueError(f"{adapter.name} is a two-stream model and needs optical flow: pass a dict with 'rgb' "
                         "N×T×H×W×3 and 'flow' N×T×2×H×W (SyntheticActions(...).arrays() gives one; "
                         "vidvis_widgets.media.flow estimates flow for your own videos)")
    check_size(adapter, rgb.shape)
    if flow.dim() != 5 or flow.shape[2] != 2 or flow.shape[0] != rgb.shape[0] or flow.shape[1] < adapter.num_frames:
        raise ValueError(f"flow must be N×T×2×H×W with T ≥ {adapter.num_frames} beside rgb {tuple(rgb.shape)}; "
                         f"got shape {tuple(flow.shape)}")
    device = torch.device(device) if device is not None else rgb.device
    frame = pixel_input(adapter, rgb[:, adapter.rgb_frame, None], device, size=(1, *rgb.shape[2:4]))[:, :, 0]
    stack = flow[:, adapter.flow_window].to(device).float().flatten(1, 2) / adapter.flow_scale
    return adapter.forward_args([frame, stack])


def check_size(adapter, shape) -> None:
    """Frames N×T×H×W×3 at the model's native H×W with at least its native frames, where it has a native input."""
    if adapter.native_shape is not None and (tuple(shape[2:4]) != tuple(adapter.size)
                                             or shape[1] < adapter.num_frames):
        raise ValueError(f"{adapter.name} expects clips of ≥{adapter.num_frames} frames at {adapter.size[0]}×"
                         f"{adapter.size[1]}, got {shape[1]} frames at {shape[2]}×{shape[3]}")


def prepare(adapter, batch: dict, device="cpu", first: int = 0) -> tuple:
    """Model inputs (``forward`` arguments) from dataset arrays, checked: see :meth:`~.adapter.ModelAdapter.prepare`."""
    rgb = np.asarray(batch["rgb"])
    if rgb.ndim == 4:
        rgb = rgb[None]
    if rgb.ndim != 5 or rgb.shape[-1] != 3:
        raise ValueError(f"rgb must be N×T×H×W×3 (or one clip T×H×W×3), channels last; got shape {rgb.shape}")
    check_size(adapter, rgb.shape)
    rgb = rgb[:, : adapter.num_frames]  # a model of unknown native input takes the clips as they are
    check_rgb(rgb, first)
    flow = batch.get("flow")
    if flow is not None and adapter.uses_flow:
        flow = np.asarray(flow)
        if flow.ndim == 4:
            flow = flow[None]
        if flow.ndim == 5 and flow.shape[2] == 2 and flow.shape[1] >= adapter.num_frames:
            check_finite("flow", flow[:, adapter.flow_window], first)
        flow = torch.as_tensor(flow)
    return pixel_args(adapter, torch.as_tensor(rgb), flow, device)


def pixel_args(adapter, rgb: torch.Tensor, flow: torch.Tensor | None = None, device=None,
               out: torch.Tensor | None = None) -> tuple:
    """Frames N×T×H×W×3 (and a two-stream model's flow) → the model's ``forward`` arguments (:func:`pixel_input`'s
    rule, the pathways split, the streams passed as the adapter passes them)."""
    if adapter.uses_flow:
        return two_stream_args(adapter, rgb, flow, device)
    return adapter.clip_args(pixel_input(adapter, rgb, device, out=out))


def check_finite(name: str, a: np.ndarray, first: int) -> None:
    if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
        bad = np.flatnonzero(~np.isfinite(a.reshape(len(a), -1)).all(1))
        raise ValueError(f"{name} of video {first + int(bad[0])} contains NaN or infinite values "
                         f"({len(bad)} of the batch's {len(a)} videos do); {name} must be finite")


def check_rgb(rgb: np.ndarray, first: int) -> None:
    """uint8 on 0–255, other integers on 0–255, floats in [0, 1]: the ranges normalize_rgb tells apart by dtype."""
    if rgb.dtype == np.bool_ or not (np.issubdtype(rgb.dtype, np.integer) or np.issubdtype(rgb.dtype, np.floating)):
        raise TypeError(f"rgb has dtype {rgb.dtype}; expected uint8 (0–255) or float in [0, 1]")
    if rgb.dtype == np.uint8 or rgb.size == 0:
        return
    check_finite("rgb", rgb, first)
    lo, hi = rgb.min(), rgb.max()
    if np.issubdtype(rgb.dtype, np.integer) and (lo < 0 or hi > 255):
        raise ValueError(f"rgb holds integers in [{lo}, {hi}]; expected uint8 0–255 or floats in [0, 1]")
    if np.issubdtype(rgb.dtype, np.floating) and (lo < -_RANGE_TOLERANCE or hi > 1 + _RANGE_TOLERANCE):
        raise ValueError(f"rgb holds floats in [{float(lo):.4g}, {float(hi):.4g}]; float RGB is read as [0, 1]: pass "
                         "uint8 0–255, or scale the floats to [0, 1] (e.g. divide 0–255 values by 255)")
