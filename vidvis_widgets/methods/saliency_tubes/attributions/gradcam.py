"""Grad-CAM (Selvaraju et al., ICCV 2017) over space and time, the gradient-weighted form of Saliency Tubes:
α_{i,j} is the mean over T'×H'×W' of ∂(score i)/∂a_j, the map ReLU(Σ_j α_{i,j} a_j). τ is in α's units and
by default keeps every channel, as published."""

from __future__ import annotations

import torch

from .base import Attribution, register


class GradCAM(Attribution):
    name = "grad"
    title = "gradient-weighted tubes (Grad-CAM)"
    threshold_help = ("τ in α's units (the class score's gradient averaged over T'×H'×W'): channels with α ≥ τ "
                      "are summed, then rectified")

    def channel_weights(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return gradients.mean((2, 3, 4))


register(GradCAM(), "gradcam")
