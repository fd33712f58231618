"""Heat and focus renderings of saliency over video frames (Stergiou et al., ICIP 2019, Fig. 2), on the
device the tubes are on.

A heat tube blends a colormap of the saliency with the frames, half and half, as the paper's reference
code does; a focus tube uses the saliency as the frames' alpha over black, with a small floor so that
the scene stays legible where the model does not look.
"""

from __future__ import annotations

import functools

import numpy as np
import torch


@functools.lru_cache(maxsize=16)
def colormap(name: str = "Turbo") -> np.ndarray:
    """A 256×3 uint8 lookup table sampled from a plotly colorscale (``"Turbo"``, ``"Jet"``, ``"Inferno"`` …)."""
    from plotly.colors import get_colorscale, sample_colorscale, unlabel_rgb

    try:
        scale = get_colorscale(name)
    except Exception as err:  # plotly raises PlotlyError for unknown names
        raise ValueError(f"unknown colormap {name!r}: {err}") from None
    colours = sample_colorscale(scale, list(np.linspace(0, 1, 256)), colortype="rgb")
    return np.rint(np.array([unlabel_rgb(c) for c in colours], np.float64)).clip(0, 255).astype(np.uint8)


def _check(frames: torch.Tensor, saliency: torch.Tensor) -> None:
    if frames.dim() != 5 or frames.shape[-1] != 3 or tuple(saliency.shape) != tuple(frames.shape[:4]):
        raise ValueError(f"expected frames N×T×H×W×3 and saliency N×T×H×W of the same N, T, H, W; got "
                         f"{tuple(frames.shape)} and {tuple(saliency.shape)}")


def heat_tube(frames: torch.Tensor, saliency: torch.Tensor, name: str = "Turbo", alpha: float = 0.5) -> torch.Tensor:
    """Frames N×T×H×W×3 uint8 and saliency N×T×H×W in [0, 1] → the colormap blended in with weight ``alpha``."""
    _check(frames, saliency)
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    lut = torch.as_tensor(colormap(name), device=saliency.device).float()
    heat = lut[(saliency.clamp(0, 1) * 255).round().long()]
    out = (1 - alpha) * frames.to(saliency.device).float() + alpha * heat
    return out.round().clamp(0, 255).to(torch.uint8)


def focus_tube(frames: torch.Tensor, saliency: torch.Tensor, floor: float = 20 / 255) -> torch.Tensor:
    """Frames N×T×H×W×3 uint8 with the saliency (N×T×H×W in [0, 1]) as their alpha over black; ``floor`` is
    the least alpha, 20/255 as in the reference code."""
    _check(frames, saliency)
    if not 0 <= floor <= 1:
        raise ValueError(f"floor must lie in [0, 1], got {floor}")
    a = floor + (1 - floor) * saliency.clamp(0, 1)
    return (frames.to(saliency.device).float() * a[..., None]).round().clamp(0, 255).to(torch.uint8)
