"""The two-stream AM regularizers (Feichtenhofer et al., IJCV 2020, eqs. 2 and 3), batched.

Every function takes a stream as N×D×T×H×W: N jobs, D channels (3 colours or 2 flow components),
T frames (1 for a single appearance image). Each returns one value per job, so jobs with different
settings share one forward and backward pass. Per-job settings are tensors of shape (N,) or scalars.
"""

from __future__ import annotations

import torch


def _per_job(value, x: torch.Tensor) -> torch.Tensor:
    v = torch.as_tensor(value, dtype=x.dtype, device=x.device)
    return v.reshape(-1, *([1] * (x.dim() - 1))) if v.dim() else v


def local_norm(x: torch.Tensor) -> torch.Tensor:
    """‖x(i, j, k, ·)‖ over the channel axis d: N×T×H×W."""
    return x.square().sum(1).sqrt()


def energy_norm(x: torch.Tensor, alpha=3.0) -> torch.Tensor:
    """N_B(x) = Σ_ijk (Σ_d x(i,j,k,d)²)^(α/2): the finite part of R_B (eq. 2). Returns (N,)."""
    sq = x.square().sum(1)
    # (sq + tiny)^(α/2): the gradient of ‖x‖^α at 0 is 0 for α > 1, but pow's backward there is 0·inf
    return (sq + torch.finfo(x.dtype).tiny).pow(_per_job(alpha, sq) / 2).flatten(1).sum(1)


def project_to_bound(x: torch.Tensor, bound) -> torch.Tensor:
    """The hard part of R_B: every local vector x(i,j,k,·) longer than B is scaled back onto ‖·‖ = B.
    Returns a new tensor; ``bound`` is a scalar or (N,)."""
    b = _per_job(bound, x[:, :1])
    scale = (b / local_norm(x).unsqueeze(1).clamp_min(1e-12)).clamp(max=1.0)
    return x * scale


def total_variation(x: torch.Tensor, kappa=1.0, gamma=0.0) -> torch.Tensor:
    """R_TV(x; κ, γ) = Σ_ijkd κ((∇_x x)² + (∇_y x)²) + γ(∇_t x)² (eq. 3), with forward differences;
    the temporal term vanishes for a single frame. Returns (N,)."""
    spatial = (x[..., :, 1:] - x[..., :, :-1]).square().flatten(1).sum(1) \
        + (x[..., 1:, :] - x[..., :-1, :]).square().flatten(1).sum(1)
    temporal = (x[:, :, 1:] - x[:, :, :-1]).square().flatten(1).sum(1) if x.shape[2] > 1 else torch.zeros_like(spatial)
    k = torch.as_tensor(kappa, dtype=x.dtype, device=x.device)
    g = torch.as_tensor(gamma, dtype=x.dtype, device=x.device)
    return k * spatial + g * temporal


def temporal_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean |∇_t x| per job: how fast an input changes from frame to frame. Returns (N,)."""
    if x.shape[2] < 2:
        return torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    return (x[:, :, 1:] - x[:, :, :-1]).abs().flatten(1).mean(1)
