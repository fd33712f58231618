"""CAM, the form of Saliency Tubes' eqs. 1–2: for a head that is global average pooling of the layer followed
by a linear layer, channel j of class i is weighed by the linear weight y_{i,j}; τ is in y's units and defaults
to 0 (the channels whose weight raises the class score); the sum is not rectified. The head is checked on the
logits, not assumed (see :mod:`..tubes`)."""

from __future__ import annotations

import torch
from torch import nn

from ....models.layers import submodule
from .base import Attribution, LayerRun, register


def not_cam(why: str) -> str:
    return (f"the CAM form of Saliency Tubes needs a head that is global average pooling of the last convolution "
            f"followed by a linear layer; {why}. Use method='grad' (the gradient-weighted form), which works on "
            "any model")


def linear_head(model: nn.Module, adapter) -> nn.Linear:
    """The model's linear classifier (the adapter's logit layer), or a ValueError saying CAM cannot apply."""
    head = adapter.logit_layer
    if head is None or not isinstance(submodule(model, head), nn.Linear):
        raise ValueError(not_cam(f"{type(model).__name__} has no linear classifier"))
    return submodule(model, head)


class CAM(Attribution):
    name = "cam"
    title = "Saliency Tubes (CAM, eqs. 1–2)"
    default_threshold = 0.0
    rectifies = False
    every_class = True
    threshold_help = "τ in the linear weights' units (eq. 1): channels with y ≥ τ are summed"

    def check_model(self, model: nn.Module, adapter) -> None:
        linear_head(model, adapter)

    def why_not(self, run: LayerRun) -> str | None:
        """None if logits = mean(acts) · Wᵀ + b (the head is pool → linear on this layer), else why not."""
        try:
            head = linear_head(run.model, run.adapter)
        except ValueError:
            return not_cam(f"{type(run.model).__name__} has no linear classifier")
        acts, logits = run.activations.detach(), run.logits.detach()
        if head.in_features != acts.shape[1]:
            return not_cam(f"its last linear layer takes {head.in_features} features, but layer {run.layer!r} has "
                           f"{acts.shape[1]} channels")
        pooled = acts.mean((2, 3, 4)) @ head.weight.detach().float().T
        if head.bias is not None:
            pooled = pooled + head.bias.detach().float()
        if run.target is not None and run.target.reads_units:
            return not_cam(f"the target {run.target!r} reads units, which have no linear-head weights")
        err = (pooled - logits).abs().max()
        tol = 1e-3 * (1 + logits.abs().max()) * (20 if run.bf16 else 1)
        if not bool(err <= tol):
            return not_cam(f"{run.model_name}'s logits differ from average pooling of layer {run.layer!r} followed by "
                           f"its linear layer by up to {float(err):.3g}")
        return None

    def head_weights(self, run: LayerRun) -> torch.Tensor:
        return linear_head(run.model, run.adapter).weight.detach().float()


register(CAM())
