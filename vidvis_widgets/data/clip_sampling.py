"""Which frames of a video one clip takes: the clip samplers PyTorchVideo users know."""

from __future__ import annotations

import hashlib

import numpy as np

SAMPLERS = ("centre", "start", "uniform", "random")
#: other spellings taken for a sampler
ALIASES = {"center": "centre"}
DEFAULT_SAMPLER = "centre"


def check_sampler(sampler) -> str:
    """``sampler`` as one of :data:`SAMPLERS` ("center" is "centre"), or a ValueError naming the argument."""
    name = ALIASES.get(sampler, sampler) if isinstance(sampler, str) else sampler
    if name not in SAMPLERS:
        raise ValueError(f"sampler must be 'centre' (or 'center'), 'start', 'uniform' or 'random', got {sampler!r}: "
                         "'centre' (the default) takes the num_frames frames, stride apart, from the middle of each "
                         "video, 'start' from its first frame, 'uniform' spreads num_frames frames over the whole "
                         "video, 'random' takes a window at a place drawn from seed=")
    return name


def frames_needed(sampler: str, num_frames: int, stride: int, extra: int = 0) -> int:
    """How many frames a video needs for one clip: a window of ``num_frames`` (+ ``extra`` for flow) frames
    ``stride`` apart; ``uniform`` needs ``num_frames`` distinct frames, each with a frame ``extra × stride`` later."""
    if sampler == "uniform":
        return num_frames + extra * stride
    return (num_frames + extra - 1) * stride + 1


def clip_indices(sampler: str, total: int, num_frames: int, stride: int, *, extra: int = 0, seed: int = 0,
                 key: str = "") -> np.ndarray:
    """The frame numbers (``num_frames``,) of one clip of a video of ``total`` frames.

    ``start``: 0, stride, 2·stride, …; ``centre``: the same window moved to the middle of the video (any frame
    left over goes after it); ``random``: the window at a start drawn uniformly from every place it fits, by a
    generator seeded with ``seed`` and ``key`` (the video's name), so each video's clip is the same in every run
    and worker, and another seed draws another; ``uniform``: ``num_frames`` frames evenly spread from the first
    to the last, ⌊linspace(0, last, num_frames)⌋ as PyTorchVideo's ``UniformTemporalSubsample`` picks them.
    ``extra`` frames, ``stride`` apart, must follow each window (for flow: one): the last is then that much
    earlier."""
    need = frames_needed(sampler, num_frames, stride, extra)
    if total < need:
        raise ValueError(f"a video of {total} frames is too short for {num_frames} frames with stride {stride} "
                         f"({sampler!r} sampler{', with flow' if extra else ''}: needs {need})")
    if sampler == "uniform":
        last = total - 1 - extra * stride
        return np.linspace(0, last, num_frames).astype(np.int64)  # floor, as torch's .long() of linspace
    span = (num_frames - 1 + extra) * stride + 1
    if sampler == "start":
        first = 0
    elif sampler == "centre":
        first = (total - span) // 2
    elif sampler == "random":
        name = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
        first = int(np.random.default_rng([seed, name]).integers(0, total - span + 1))
    else:
        raise ValueError(f"unknown sampler {sampler!r}")
    return first + stride * np.arange(num_frames, dtype=np.int64)
