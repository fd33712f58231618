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

    def normalize_rgb(self, rgb_uint8: torch.Tensor) -> torch.Tensor:
        """…×3×(T×)H×W uint8 → normalized float, channel axis 1."""
        shape = (1, 3) + (1,) * (rgb_uint8.dim() - 2)
        mean = torch.tensor(self.mean, device=rgb_uint8.device).view(shape)
        std = torch.tensor(self.std, device=rgb_uint8.device).view(shape)
        return (rgb_uint8.float() / 255.0 - mean) / std

    def prepare(self, batch: dict, device: torch.device | str = "cpu") -> tuple[torch.Tensor, ...]:
        """Model inputs from dataset arrays (``rgb`` N×T×H×W×3 uint8, ``flow`` N×T×2×H×W)."""
        rgb = torch.as_tensor(np.asarray(batch["rgb"])).to(device)
        if rgb.dim() == 4:
            rgb = rgb[None]
        if tuple(rgb.shape[2:4]) != tuple(self.size) or rgb.shape[1] < self.num_frames:
            raise ValueError(f"{self.name} expects clips of ≥{self.num_frames} frames at {self.size[0]}×{self.size[1]}, "
                             f"got {rgb.shape[1]} frames at {rgb.shape[2]}×{rgb.shape[3]}")
        rgb = rgb[:, : self.num_frames]
        if self.kind == "clip":
            return (self.normalize_rgb(rgb.permute(0, 4, 1, 2, 3)),)
        flow = torch.as_tensor(np.asarray(batch["flow"])).to(device).float()
        if flow.dim() == 4:
            flow = flow[None]
        stack = flow[:, self.flow_window].flatten(1, 2) / self.flow_scale
        return self.normalize_rgb(rgb[:, self.rgb_frame].permute(0, 3, 1, 2)), stack
