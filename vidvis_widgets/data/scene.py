"""A tiny vectorized renderer whose optical flow and masks are exact.

Objects are shapes with a per-frame position and angle. Every pixel an object
covers at frame t moves to ``p[t+1] + R(a[t+1]) R(-a[t]) (x - p[t])`` at t+1, so
the forward flow is known in closed form, not estimated. Later objects occlude
earlier ones in colour, flow and mask alike.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

class Shape:
    """An inside-test in object coordinates plus ``extent``, a radius that bounds it, so that drawing only
    touches the pixels the object can reach (a few hundred, not the whole frame)."""

    def __init__(self, inside: Callable[[np.ndarray, np.ndarray], np.ndarray], extent: float):
        self.inside, self.extent = inside, float(extent)

    def __call__(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self.inside(u, v)


def disc(r: float) -> Shape:
    return Shape(lambda u, v: u * u + v * v <= r * r, r)


def box(half_w: float, half_h: float) -> Shape:
    return Shape(lambda u, v: (np.abs(u) <= half_w) & (np.abs(v) <= half_h), np.hypot(half_w, half_h))


def diamond(r: float) -> Shape:
    return Shape(lambda u, v: np.abs(u) + np.abs(v) <= r, r)


def triangle(r: float) -> Shape:
    """Apex up (negative v), base down."""
    return Shape(lambda u, v: (v <= r * 0.6) & (np.abs(u) <= (v + r) * 0.55), np.hypot(0.88 * r, r))


def shifted(shape: Shape, du: float, dv: float) -> Shape:
    return Shape(lambda u, v: shape(u - du, v - dv), shape.extent + np.hypot(du, dv))


class Scene:
    """Renders into ``rgb`` (T×S×S×3, int16 while drawing so noise cannot wrap), ``flow`` (T×2×S×S), ``mask``
    (T×S×S) and ``parts`` (R×T×S×S, one mask per name in ``part_names``: where that part is visible). ``flow`` and
    the masks may be zero-filled views into a caller's batch, so that no clip is copied after it is drawn."""

    def __init__(self, num_frames: int, size: int, background: np.ndarray, flow: np.ndarray | None = None,
                 mask: np.ndarray | None = None, parts: np.ndarray | None = None,
                 part_names: tuple[str, ...] = ()):
        self.T, self.S = num_frames, size
        self.rgb = np.empty((num_frames, size, size, 3), np.int16)
        self.rgb[:] = np.rint(background)
        self.flow = np.zeros((num_frames, 2, size, size), np.float32) if flow is None else flow
        self.mask = np.zeros((num_frames, size, size), bool) if mask is None else mask
        self.part_names = tuple(part_names)
        self.parts = np.zeros((len(self.part_names), num_frames, size, size), bool) if parts is None else parts
        grid = np.arange(size, dtype=np.float32) + 0.5
        self._x, self._y = grid[None, None, :], grid[None, :, None]

    def _window(self, centres: np.ndarray, extent: float) -> slice:
        lo = int(np.floor(centres.min() - extent - 1))
        hi = int(np.ceil(centres.max() + extent + 1))
        return slice(min(max(lo, 0), self.S), min(max(hi, 0), self.S))

    def draw(self, shape: Shape, colour, pos: np.ndarray, angle: np.ndarray | float = 0.0,
             carries_class: bool = False, part: str | None = None, frames: np.ndarray | None = None) -> None:
        """``pos``: (T+1)×2 positions (x, y), one more than frames so the last frame has a flow too.
        ``carries_class``: the object is the class's intended cue (``mask``); ``part``: the name in
        ``part_names`` whose mask it draws into (a later object hides an earlier one in every mask).
        ``frames``: T bools, the frames the object is in (all by default); where it is not, nothing of it is drawn:
        no colour, no flow, no mask."""
        if part is not None and part not in self.part_names:
            raise ValueError(f"part {part!r} is not one of this scene's part_names {self.part_names}")
        T = self.T
        angle = np.broadcast_to(np.asarray(angle, np.float32), (T + 1,))
        px, py = pos[:T, 0, None, None], pos[:T, 1, None, None]
        ys, xs = self._window(pos[:T, 1], shape.extent), self._window(pos[:T, 0], shape.extent)
        if ys.start == ys.stop or xs.start == xs.stop:
            return
        gx, gy = self._x[:, :, xs], self._y[:, ys, :]
        c, s = np.cos(angle[:T])[:, None, None], np.sin(angle[:T])[:, None, None]
        dx, dy = gx - px, gy - py
        u, v = c * dx + s * dy, -s * dx + c * dy  # object coordinates at t
        inside = shape(u, v)
        if frames is not None:
            inside = inside & np.asarray(frames, bool)[:, None, None]
        c1, s1 = np.cos(angle[1:])[:, None, None], np.sin(angle[1:])[:, None, None]
        fx = pos[1:, 0, None, None] + c1 * u - s1 * v - gx
        fy = pos[1:, 1, None, None] + s1 * u + c1 * v - gy
        self.rgb[:, ys, xs][inside] = np.rint(np.asarray(colour, np.float32))
        self.flow[:, 0, ys, xs][inside] = fx[inside]
        self.flow[:, 1, ys, xs][inside] = fy[inside]
        self.mask[:, ys, xs][inside] = carries_class
        for r, name in enumerate(self.part_names):
            self.parts[r, :, ys, xs][inside] = name == part

    def finish(self, rng: np.random.Generator, noise: int = 7, out: np.ndarray | None = None) -> tuple:
        # uniform sensor noise in [-noise, noise] (σ ≈ 4.3 for 7): integer draws are 3× cheaper than normals
        rgb = self.rgb
        rgb += rng.integers(-noise, noise + 1, rgb.shape, dtype=np.int8)
        np.clip(rgb, 0, 255, out=rgb)
        if out is None:
            out = np.empty(rgb.shape, np.uint8)
        out[:] = rgb
        return out, self.flow, self.mask, self.parts


def linear(p0, v, T: int) -> np.ndarray:
    t = np.arange(T + 1, dtype=np.float32)[:, None]
    return np.asarray(p0, np.float32)[None] + t * np.asarray(v, np.float32)[None]


def bounce(p0, v, T: int, lo: float, hi: float) -> np.ndarray:
    """Linear motion reflected at the walls [lo, hi] (a triangle wave per axis)."""
    raw = linear(p0, v, T) - lo
    span = hi - lo
    m = np.mod(raw, 2 * span)
    return lo + np.where(m > span, 2 * span - m, m)


def oscillate(centre, axis_angle: float, amplitude: float, period: float, phase: float, T: int) -> np.ndarray:
    t = np.arange(T + 1, dtype=np.float32)
    d = amplitude * np.sin(2 * np.pi * t / period + phase)
    return np.asarray(centre, np.float32)[None] + d[:, None] * np.array([np.cos(axis_angle), np.sin(axis_angle)],
                                                                         np.float32)[None]


def smooth_background(rng: np.random.Generator, size: int, base, spread: float = 25.0) -> np.ndarray:
    """Low-frequency colour texture: a 4×4 random grid bilinearly upsampled."""
    coarse = np.asarray(base, np.float32)[None, None] + rng.normal(0, spread, (4, 4, 3)).astype(np.float32)
    idx = np.linspace(0, 3, size, dtype=np.float32)
    i0 = np.floor(idx).astype(int).clip(0, 2)
    w = (idx - i0)[:, None]
    rows = coarse[i0] * (1 - w[..., None]) + coarse[i0 + 1] * w[..., None]
    cols = rows[:, i0] * (1 - w[None, :, :]) + rows[:, i0 + 1] * w[None, :, :]
    return np.clip(cols, 0, 255)
