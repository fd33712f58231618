"""What a model expects and calls things: the metadata every loaded model carries."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)


@dataclass(frozen=True)
class ModelInfo:
    """``kind``: ``"two_stream"`` (forward(rgb, flow)) or ``"clip"`` (forward(clip N×3×T×H×W))."""

    name: str
    kind: str
    class_names: tuple[str, ...]
    num_frames: int
    size: tuple[int, int]
    mean: tuple[float, float, float] = KINETICS_MEAN
    std: tuple[float, float, float] = KINETICS_STD
    #: two-stream only: flow fields stacked on the motion input, and the divisor applied to pixel flow
    flow_frames: int = 0
    flow_scale: float = 1.0
    layer_names: tuple[str, ...] = field(default=())
    weights: str = "random"
    #: how the model's space-time layers lay out their outputs: "channels_first" (N×C×T×H×W, 3D CNNs, MViT's
    #: tokens as the probe reads them) or "channels_last" (N×T×H×W×C, Video Swin)
    layout: str = "channels_first"

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def rgb_frame(self) -> int:
        """The frame the appearance stream sees: the centre of the clip."""
        return self.num_frames // 2

    @property
    def flow_window(self) -> slice:
        start = self.num_frames // 2 - self.flow_frames // 2
        return slice(start, start + self.flow_frames)

    def to_dict(self) -> dict:
        return asdict(self)

    def normalize_rgb(self, rgb: torch.Tensor) -> torch.Tensor:
        """…×3×(T×)H×W RGB, integers on 0–255 or floats in [0, 1], → normalized float, channel axis 1."""
        shape = (1, 3) + (1,) * (rgb.dim() - 2)
        mean = torch.tensor(self.mean, device=rgb.device).view(shape)
        std = torch.tensor(self.std, device=rgb.device).view(shape)
        x = rgb.float() if rgb.is_floating_point() else rgb.float() / 255.0
        return (x - mean) / std

    def prepare(self, batch: dict, device: torch.device | str = "cpu", first: int = 0) -> tuple[torch.Tensor, ...]:
        """Model inputs from dataset arrays: ``rgb`` N×T×H×W×3 (or one clip T×H×W×3), uint8 on 0–255 or float
        in [0, 1], and for a two-stream model ``flow`` N×T×2×H×W (or T×2×H×W) in pixels. Both must be finite;
        ``first``: the dataset position of the batch's first video, which errors name."""
        rgb = np.asarray(batch["rgb"])
        if rgb.ndim == 4:
            rgb = rgb[None]
        if rgb.ndim != 5 or rgb.shape[-1] != 3:
            raise ValueError(f"rgb must be N×T×H×W×3 (or one clip T×H×W×3), channels last; got shape {rgb.shape}")
        if tuple(rgb.shape[2:4]) != tuple(self.size) or rgb.shape[1] < self.num_frames:
            raise ValueError(f"{self.name} expects clips of ≥{self.num_frames} frames at {self.size[0]}×{self.size[1]}, "
                             f"got {rgb.shape[1]} frames at {rgb.shape[2]}×{rgb.shape[3]}")
        rgb = rgb[:, : self.num_frames]
        _check_rgb(rgb, first)
        rgb = torch.as_tensor(rgb).to(device)
        if self.kind == "clip":
            return (self.normalize_rgb(rgb.permute(0, 4, 1, 2, 3)),)
        if batch.get("flow") is None:
            raise ValueError(f"{self.name} is a two-stream model: the batch needs 'flow' N×T×2×H×W beside 'rgb'")
        flow = np.asarray(batch["flow"])
        if flow.ndim == 4:
            flow = flow[None]
        if flow.ndim != 5 or flow.shape[2] != 2 or flow.shape[0] != rgb.shape[0] or flow.shape[1] < self.num_frames:
            raise ValueError(f"flow must be N×T×2×H×W with T ≥ {self.num_frames} beside rgb {tuple(rgb.shape)}; "
                             f"got shape {flow.shape}")
        flow = flow[:, self.flow_window]
        _check_finite("flow", flow, first)
        stack = torch.as_tensor(flow).to(device).float().flatten(1, 2) / self.flow_scale
        return self.normalize_rgb(rgb[:, self.rgb_frame].permute(0, 3, 1, 2)), stack


#: how far float RGB may stray outside [0, 1] (rounding) before it is taken for another range
_RANGE_TOLERANCE = 1e-3


def _check_finite(name: str, a: np.ndarray, first: int) -> None:
    if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
        bad = np.flatnonzero(~np.isfinite(a.reshape(len(a), -1)).all(1))
        raise ValueError(f"{name} of video {first + int(bad[0])} contains NaN or infinite values "
                         f"({len(bad)} of the batch's {len(a)} videos do); {name} must be finite")


def _check_rgb(rgb: np.ndarray, first: int) -> None:
    """uint8 on 0–255, other integers on 0–255, floats in [0, 1]: the ranges normalize_rgb tells apart by dtype."""
    if rgb.dtype == np.bool_ or not (np.issubdtype(rgb.dtype, np.integer) or np.issubdtype(rgb.dtype, np.floating)):
        raise TypeError(f"rgb has dtype {rgb.dtype}; expected uint8 (0–255) or float in [0, 1]")
    if rgb.dtype == np.uint8 or rgb.size == 0:
        return
    _check_finite("rgb", rgb, first)
    lo, hi = rgb.min(), rgb.max()
    if np.issubdtype(rgb.dtype, np.integer) and (lo < 0 or hi > 255):
        raise ValueError(f"rgb holds integers in [{lo}, {hi}]; expected uint8 0–255 or floats in [0, 1]")
    if np.issubdtype(rgb.dtype, np.floating) and (lo < -_RANGE_TOLERANCE or hi > 1 + _RANGE_TOLERANCE):
        raise ValueError(f"rgb holds floats in [{float(lo):.4g}, {float(hi):.4g}]; float RGB is read as [0, 1]: pass "
                         "uint8 0–255, or scale the floats to [0, 1] (e.g. divide 0–255 values by 255)")
