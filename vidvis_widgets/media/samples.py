"""Small clips with exactly known motion, for the quickstart, tests and benchmarks."""

from __future__ import annotations

import numpy as np


def moving_square(
    num_frames: int = 16,
    size: int = 64,
    velocity: tuple[float, float] = (2.0, 0.0),
    side: int | None = None,
    color: tuple[int, int, int] = (230, 60, 40),
    background: tuple[int, int, int] = (20, 30, 60),
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A square translating at ``velocity`` (dx, dy) pixels per frame, wrapping around the frame.

    Returns ``(rgb, flow)``: T×H×W×3 uint8 frames and the exact T×2×H×W forward flow
    (frame t to t+1: ``velocity`` on the square, zero elsewhere). ``seed`` adds mild texture noise.
    """
    side = side or max(4, size // 4)
    rng = np.random.default_rng(seed)
    rgb = np.empty((num_frames, size, size, 3), np.uint8)
    flow = np.zeros((num_frames, 2, size, size), np.float32)
    yy, xx = np.mgrid[0:size, 0:size]
    for t in range(num_frames):
        x0 = (size // 2 - side // 2 + velocity[0] * t) % size
        y0 = (size // 2 - side // 2 + velocity[1] * t) % size
        inside = (((xx - x0) % size) < side) & (((yy - y0) % size) < side)
        frame = np.empty((size, size, 3), np.float32)
        frame[:] = background
        frame[inside] = color
        if seed is not None:
            frame += rng.normal(0, 6, frame.shape)
        rgb[t] = np.clip(frame, 0, 255).astype(np.uint8)
        flow[t, 0][inside] = velocity[0]
        flow[t, 1][inside] = velocity[1]
    return rgb, flow


def rotating_flow(num_frames: int = 8, size: int = 32, clockwise: bool = True, speed: float = 0.1) -> np.ndarray:
    """T×2×H×W flow of a rigid rotation about the frame centre (image y points down)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) - (size - 1) / 2
    sign = 1.0 if clockwise else -1.0
    u, v = -sign * speed * yy, sign * speed * xx
    return np.broadcast_to(np.stack([u, v])[None], (num_frames, 2, size, size)).copy()
