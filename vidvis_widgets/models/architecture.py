"""Facts about a model's architecture that the methods need: its input normalization and sizes, its class
head, and how its layers lay out space and time.

A layer's output comes as N×C×T×H×W from 3D CNNs, N×T×H×W×C from Video Swin stages, and as
``(tokens N×L×C, (T, H, W))`` from MViT blocks; :func:`layer_layout` tells the probe (:mod:`.probe`) which,
so the methods never special-case an architecture.
"""

from __future__ import annotations

import torch
from torch import nn

from .info import KINETICS_MEAN, KINETICS_STD


def channels_last(model: nn.Module) -> bool:
    """Whether the model's space-time layers put channels last (Video Swin)."""
    import torchvision.models.video as tvv

    info = getattr(model, "vidvis_info", None)
    if info is not None and info.layout == "channels_last":
        return True
    return isinstance(model, tvv.SwinTransformer3d)


def fixed_input_size(model: nn.Module) -> tuple[int, int, int] | None:
    """The input size (T, H, W) a model requires, if it requires one (MViT's attention pools fixed token grids)."""
    import torchvision.models.video as tvv

    if isinstance(model, tvv.MViT):
        info = getattr(model, "vidvis_info", None)
        return (info.num_frames, *info.size) if info is not None else (16, 224, 224)
    return None


def native_size(model: nn.Module) -> tuple[int, int, int] | None:
    """The input size (T, H, W) the model was trained at, where known."""
    info = getattr(model, "vidvis_info", None)
    return (info.num_frames, *info.size) if info is not None else fixed_input_size(model)


def normalization(model: nn.Module, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """The per-channel (mean, std) the model's RGB input is normalized with (Kinetics' when unknown)."""
    info = getattr(model, "vidvis_info", None)
    mean, std = (info.mean, info.std) if info is not None else (KINETICS_MEAN, KINETICS_STD)
    return torch.tensor(mean, device=device), torch.tensor(std, device=device)


def final_linear(model: nn.Module) -> str:
    """The name of the model's last linear layer: its class logits."""
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not names:
        raise ValueError(f"{type(model).__name__} has no linear classifier layer to take as the class logits")
    return names[-1]


#: Video Swin's layers that emit channels-first maps: the patch embedding's convolution and the final pool
_SWIN_CHANNELS_FIRST = ("patch_embed.proj", "avgpool")


def layer_layout(model: nn.Module):
    """How each named layer of ``model`` lays out its output, as the probe takes it (``Probe(layout=...)``):
    channels last for Video Swin's stages (N×T×H×W×C), channels first otherwise."""
    from .probe import LayerLayout, default_layout

    if not channels_last(model):
        return default_layout
    return lambda name: LayerLayout(channels_last=name not in _SWIN_CHANNELS_FIRST)
