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
    if rgb.ndim >= 4:  # only the frames the model takes are checked (a model of unknown native input takes all)
        rgb = rgb[..., : adapter.num_frames, :, :, :]
    rgb = check_frames(rgb, "rgb", batch=None, first=first)
    check_size(adapter, rgb.shape)
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


class FrameTypeError(TypeError, ValueError):
    """Frames of a dtype that holds no pixels: a TypeError, and a ValueError as the other pixel refusals are."""


_SHAPES = {True: "N×T×H×W×3", False: "a video T×H×W×3", None: "N×T×H×W×3 (or one clip T×H×W×3)"}


def frames_form(batch: bool | None = None) -> str:
    """The form :func:`check_frames` expects, in words (the end of each of its messages)."""
    return f"{_SHAPES[batch]}, channels last, uint8 (0–255) or float in [0, 1]"


def check_frames(value, name: str, *, batch: bool | None = None, integers: bool = True,
                 tolerance: float = _RANGE_TOLERANCE, first: int = 0):
    """The one check of RGB frames (Saliency Tubes' clips, LEAPS' stimuli, dataset arrays to :func:`prepare`):
    ``value`` (a numpy array or a torch tensor, kept on its device) must be N×T×H×W×3 (``batch`` True), one video
    T×H×W×3 (False) or either (None: a video is returned as a batch of one), with T, H, W ≥ 1; uint8 (0–255),
    other integers on 0–255 where ``integers``, or finite floats in [0, 1] (``tolerance`` of rounding either side).
    Returns ``value`` as an array/tensor of that shape, unconverted; anything else is refused before any work with a
    message naming ``name``, the problem and the expected form. ``first``: the batch's first video's number in the
    messages (a dataset's batches)."""
    form = frames_form(batch)
    tensor = isinstance(value, torch.Tensor)
    a = value.detach() if tensor else np.asarray(value)
    shape = tuple(a.shape)
    if a.ndim not in {True: (5,), False: (4,), None: (4, 5)}[batch] or shape[-1] != 3 or min(shape[-4:-1]) < 1:
        raise ValueError(f"{name} must be {form}; got shape {shape}")
    if batch is None and a.ndim == 4:
        a = a[None]
    if tensor:
        floating = a.is_floating_point()
        integer = not floating and not a.is_complex() and a.dtype != torch.bool
        uint8 = a.dtype == torch.uint8
    else:
        floating, integer = np.issubdtype(a.dtype, np.floating), np.issubdtype(a.dtype, np.integer)
        uint8 = a.dtype == np.uint8
    dtype = str(a.dtype).replace("torch.", "")
    if not (floating or integer) or (integer and not uint8 and not integers):
        hint = " (for 0–255 integers use .astype(np.uint8))" if integer else ""
        raise FrameTypeError(f"{name} has dtype {dtype}; expected {form}{hint}")
    if uint8 or (a.numel() if tensor else a.size) == 0:
        return a
    if floating:
        finite = torch.isfinite(a) if tensor else np.isfinite(a)
        if not bool(finite.all()):
            if a.ndim == 5:
                ok = finite.reshape(len(a), -1).all(1)
                bad = np.flatnonzero(~(ok.cpu().numpy() if tensor else ok))
                where = f" of video {first + int(bad[0])}"
                count = f" ({len(bad)} of the batch's {len(a)} videos do)"
                raise ValueError(f"{name}{where} contains NaN or infinite values{count}; expected {form}")
            bad = int(finite.numel() - finite.sum()) if tensor else int(finite.size - np.count_nonzero(finite))
            raise ValueError(f"{name} contains {bad} NaN or infinite value(s); expected {form}")
    lo, hi = float(a.min()), float(a.max())
    if integer and (lo < 0 or hi > 255):
        raise ValueError(f"{name} has integer values in [{lo:g}, {hi:g}]; expected {form}")
    if floating and (lo < -tolerance or hi > 1 + tolerance):
        raise ValueError(f"{name} has float values in [{lo:.4g}, {hi:.4g}]; expected {form} (divide 0–255 floats "
                         "by 255, or pass them as uint8)")
    return a


def check_finite(name: str, a: np.ndarray, first: int) -> None:
    """Flow N×T×2×H×W (or any float batch) finite, naming the first video that is not."""
    if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
        bad = np.flatnonzero(~np.isfinite(a.reshape(len(a), -1)).all(1))
        raise ValueError(f"{name} of video {first + int(bad[0])} contains NaN or infinite values "
                         f"({len(bad)} of the batch's {len(a)} videos do); {name} must be finite")


def frames_to_uint8(frames: torch.Tensor) -> torch.Tensor:
    """Frames :func:`check_frames` passed → uint8 on their device: integers as they are, floats in [0, 1] rounded
    from x · 255 in float32 (as :func:`~vidvis_widgets.media.clips.rgb_to_uint8` does)."""
    if frames.dtype == torch.uint8:
        return frames
    if not frames.is_floating_point():
        return frames.to(torch.uint8)
    return (frames.float() * 255.0).round_().clamp_(0, 255).to(torch.uint8)
