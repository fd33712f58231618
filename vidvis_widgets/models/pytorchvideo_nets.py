"""What the adapter knows of PyTorchVideo's nets, read from their structure: X3D (``create_x3d``) and SlowFast
(``create_slowfast``), whose heads' pools fix their native input."""

from __future__ import annotations

from typing import Any

from torch import nn

#: PyTorchVideo's Kinetics normalization (its X3D and SlowFast transforms)
PYTORCHVIDEO_MEAN, PYTORCHVIDEO_STD = (0.45, 0.45, 0.45), (0.225, 0.225, 0.225)


def pytorchvideo_fields(model: nn.Module) -> dict[str, Any]:
    """The adapter fields of a PyTorchVideo X3D or SlowFast, or {} for any other module."""
    return x3d_fields(model) or slowfast_fields(model)


def x3d_fields(model: nn.Module) -> dict[str, Any]:
    """PyTorchVideo's X3D (``create_x3d``): a ``Net`` of blocks whose last is a head pooling with a projected
    pool. Its native input follows the head's pool kernel: T × (32·h) × (32·w)."""
    if type(model).__name__ != "Net" or not type(model).__module__.startswith("pytorchvideo"):
        return {}
    blocks = getattr(model, "blocks", None)
    head = blocks[-1] if blocks is not None and len(blocks) else None
    pool = getattr(getattr(head, "pool", None), "pool", None)
    if type(getattr(head, "pool", None)).__name__ != "ProjectedPool" or not isinstance(pool, nn.AvgPool3d):
        return {}
    t, h, w = (int(k) for k in pool.kernel_size)
    n = len(blocks)
    # the head's average pool needs the whole native input: it is also the smallest the model takes
    return dict(num_frames=t, size=(32 * h, 32 * w), fixed_size=True, min_shape=(t, 32 * h, 32 * w),
                mean=PYTORCHVIDEO_MEAN, std=PYTORCHVIDEO_STD, logit_layer=f"blocks.{n - 1}.output_pool",
                tube_layer=f"blocks.{n - 2}", am_layer=f"blocks.{n // 2}",
                priming_layers=tuple(f"blocks.{i}" for i in range(1, n - 1)))


def slowfast_fields(model: nn.Module) -> dict[str, Any]:
    """PyTorchVideo's SlowFast (``create_slowfast``): a ``Net`` whose blocks take a list of pathways, fuse the fast
    one into the slow one after each stage, and pool each pathway with its own average pool before the head.
    The pools' kernels fix the native input: the fast pathway's T frames at (32·h) × (32·w), and each pathway's
    frame stride T_fast / T_pathway. Layers named ``blocks.k`` read the slow pathway (a block's list of outputs
    by its first); ``blocks.k.multipathway_blocks.p`` read pathway p alone."""
    if type(model).__name__ != "Net" or not type(model).__module__.startswith("pytorchvideo"):
        return {}
    blocks = getattr(model, "blocks", None)
    if blocks is None or not len(blocks) or type(blocks[0]).__name__ != "MultiPathWayWithFuse":
        return {}
    pool_at = next((i for i, b in enumerate(blocks) if type(b).__name__ == "PoolConcatPathway"), None)
    pools = getattr(blocks[pool_at], "pool", None) if pool_at is not None else None
    if pools is None or not all(isinstance(p, nn.AvgPool3d) for p in pools):
        return {}
    kernels = [tuple(int(k) for k in p.kernel_size) for p in pools]
    frames = [k[0] for k in kernels]
    fastest = max(frames)
    if any(fastest % f for f in frames):
        return {}
    names = ("slow", "fast") if len(frames) == 2 else tuple(f"pathway{i}" for i in range(len(frames)))
    h, w = kernels[0][1:]
    last = pool_at - 1  # the last stage: its pathways' maps are what the head pools
    stages = range(1, pool_at)
    # each pathway's pool needs its own frames of the native clip (the slow one's T_fast / stride) at 32·h × 32·w:
    # the native input is also the smallest the model takes
    return dict(kind="pathways", pathways=tuple((n, fastest // f) for n, f in zip(names, frames)),
                num_frames=fastest, size=(32 * h, 32 * w), fixed_size=True, min_shape=(fastest, 32 * h, 32 * w),
                mean=PYTORCHVIDEO_MEAN, std=PYTORCHVIDEO_STD, logit_layer=f"blocks.{len(blocks) - 1}.output_pool",
                tube_layer=f"blocks.{last}.multipathway_blocks.0", am_layer=f"blocks.{last - 1}.multipathway_blocks.0",
                priming_layers=tuple(f"blocks.{i}.multipathway_blocks.{p}" for i in stages
                                     for p in reversed(range(len(frames)))))
