"""Grad-CAM++ (Chattopadhay et al., WACV 2018) over space and time. With g = ∂(score)/∂a_j at each position of
T'×H'×W' and the closed form of the paper's eq. 19 (an exponential score, so higher derivatives are powers of
g), α = g² / (2g² + Σ_{T'H'W'} a_j · g³ + ε), zero where g = 0, and the channel weight is w_j = Σ_{T'H'W'} α ·
ReLU(g). The map is ReLU(Σ_j w_j a_j). ε = 1e-6 and the sum of activations over the whole map are as in
pytorch-grad-cam's ``GradCAMPlusPlus`` (on a 3D layer its sums run over T'×H'×W'); the tubes equal its maps before
upsampling (tested against its formula). τ is in w's units and by default keeps every channel."""

from __future__ import annotations

import torch

from .base import Attribution, register


class GradCAMPlusPlus(Attribution):
    name = "gradcam++"
    title = "Grad-CAM++ tubes"
    threshold_help = ("τ in w's units (Σ over T'×H'×W' of α·ReLU(gradient)): channels with w ≥ τ are summed, "
                      "then rectified")
    eps = 1e-6

    def channel_weights(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        g = gradients
        g2 = g * g
        total = activations.sum((2, 3, 4), keepdim=True)
        alpha = g2 / (2 * g2 + total * g2 * g + self.eps)
        alpha = torch.where(g != 0, alpha, torch.zeros_like(alpha))
        return (alpha * g.clamp_min(0)).sum((2, 3, 4))


register(GradCAMPlusPlus(), "grad++")
