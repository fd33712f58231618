"""Saliency maps brought to the clip's frames and pixels: separable cubic upsampling, and min–max scaling over
a clip (Saliency Tubes' eq. 2 and the localization benchmark's maps)."""

from __future__ import annotations

import functools
from typing import Sequence

import torch
import torch.nn.functional as F


@functools.lru_cache(maxsize=64)
def _cubic_matrix(n_in: int, n_out: int, device: str) -> torch.Tensor:
    """The n_out×n_in matrix of PyTorch's cubic convolution along one axis (Keys, a = −0.75, clamped borders):
    interpolation is linear, so interpolating the identity's rows gives its columns."""
    eye = torch.eye(n_in).view(n_in, 1, 1, n_in)
    cols = F.interpolate(eye, size=(1, n_out), mode="bicubic", align_corners=False).view(n_in, n_out)
    return cols.T.contiguous().to(device)


def cubic_upsample(maps: torch.Tensor, size: Sequence[int], *, floor_at_min: bool = False) -> torch.Tensor:
    """N×T'×H'×W' maps → N×T×H×W by cubic convolution, separably along each axis, on their device.

    Three small matrix products rather than ``F.interpolate``: the 2D bicubic kernel run over the time axis
    would spend four taps on an axis that keeps its size, and this way a tube costs a few % of a forward pass.
    ``floor_at_min``: no value below each map's own minimum. The cubic kernel's negative lobes undershoot
    beside a peak, and min–max scaling would map that undershoot to 0 and lift every quiet position with it
    (the test masks averaged to tiny_r3d's 4×8×8 grid keep 11% of their energy on the objects unfloored, 36%
    floored). The overshoot above the maximum stays: it only rescales, and a clamp there would flatten the
    peak into a plateau for the pointing game."""
    out = _cubic_upsample(maps, size)
    if not floor_at_min:
        return out
    return torch.maximum(out, maps.flatten(1).float().amin(1).view(-1, 1, 1, 1), out=out)  # in place: no extra copy


def _cubic_upsample(maps: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    n, t, h, w = maps.shape
    T, H, W = (int(s) for s in size)
    dev = str(maps.device)
    x = maps.float()
    if w != W:
        x = x @ _cubic_matrix(w, W, dev).T
    if h != H:
        x = _cubic_matrix(h, H, dev) @ x
    if t != T:
        x = (_cubic_matrix(t, T, dev) @ x.reshape(n, t, H * W)).reshape(n, T, H, W)
    return x


def normalize_over_clip(tubes: torch.Tensor, support: torch.Tensor | None = None) -> torch.Tensor:
    """Min–max scaled over each clip's frames (those in ``support``, a (T,) mask, where given; the others
    are 0): N×T×H×W in [0, 1]. A constant clip is all 0."""
    flat = tubes.flatten(1) if support is None else tubes[:, support].flatten(1)
    lo = flat.amin(1).view(-1, 1, 1, 1)
    span = (flat.amax(1).view(-1, 1, 1, 1) - lo)
    out = torch.where(span > 1e-12, (tubes - lo) / span.clamp_min(1e-12), torch.zeros_like(tubes)).clamp(0, 1)
    return out if support is None else out * support.view(1, -1, 1, 1)
