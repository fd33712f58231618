"""Folding BatchNorm into the preceding convolution (Feichtenhofer et al., IJCV 2020, Sec. 4.4):
activation maximization then sees one linear map per layer instead of a conv and a separate affine."""

from __future__ import annotations

import copy

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

_PAIRS = ((nn.Conv1d, nn.BatchNorm1d), (nn.Conv2d, nn.BatchNorm2d), (nn.Conv3d, nn.BatchNorm3d))


def fold_batchnorm(model: nn.Module) -> tuple[nn.Module, int]:
    """A copy of ``model`` (eval mode) in which every BatchNorm that directly follows a convolution inside
    the same container is folded into that convolution and replaced by Identity. Returns (copy, folds)."""
    folded = copy.deepcopy(model).eval()
    count = 0
    for parent in folded.modules():
        children = list(parent.named_children())
        for (name_a, a), (name_b, b) in zip(children, children[1:]):
            if any(isinstance(a, c) and type(b) is bn for c, bn in _PAIRS) and b.track_running_stats:
                setattr(parent, name_a, fuse_conv_bn_eval(a, b))
                setattr(parent, name_b, nn.Identity())
                count += 1
    if hasattr(model, "vidvis_adapter"):
        folded.vidvis_adapter = model.vidvis_adapter
    return folded, count
