"""Regions of a clip: a static mask, a box, or a box tracked over time, as one frozen value.

Every region answers one question, :meth:`Region.masks` ``(n, t, h, w)``: a bool N×T×H×W array at any clip size,
so region measures, interventions and scans never care how a region was given.

- :func:`box` ``(x0, y0, x1, y1)``: the same box on every frame. Coordinates are fractions of the frame in [0, 1]
  (x from the left, y from the top; x1, y1 exclusive) — or pixels when any value is > 1, in which case they are
  pixels of a frame of ``size=(H, W)`` (None: pixels of the frame ``masks`` is asked for). A pixel is inside when
  its centre is: the pixel box ``(2, 3, 6, 8)`` is ``frame[3:8, 2:6]``.
- :func:`track`: T×4 boxes, one per frame, linearly resampled over time to the clip's T.
- :func:`mask`: an H×W, T×H×W or N×T×H×W bool array, resampled by nearest neighbour to the clip's size.
- :func:`grid_cells`, :func:`whole_clip`, :func:`moving_parts` (connected space-time components of moving pixels).

``to_json`` / ``from_json``: a plain dict for store keys; masks are hashed, not inlined, unless ``inline=True``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Region", "box", "track", "mask", "grid_cells", "whole_clip", "moving_parts"]

_FORM = "(x0, y0, x1, y1) with x0 < x1 and y0 < y1: fractions of the frame in [0, 1], or pixels when any value is > 1"


def _check_boxes(values, arg: str) -> tuple[np.ndarray, bool]:
    """K×4 finite, non-negative boxes with x0 < x1 and y0 < y1 → (float array, in pixels?)."""
    try:
        b = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{arg} must be numbers {_FORM}, got {values!r}") from None
    if b.ndim != 2 or b.shape[1] != 4 or not len(b):
        raise ValueError(f"{arg} must be {_FORM}, got an array of shape {b.shape}")
    if not np.isfinite(b).all():
        raise ValueError(f"{arg} must be finite numbers {_FORM}, got {values!r}")
    if (b < 0).any():
        raise ValueError(f"{arg} must not be negative: expected {_FORM}, got {values!r}")
    for i, (x0, y0, x1, y1) in enumerate(b):
        at = f" at frame {i}" if len(b) > 1 else ""
        if x0 >= x1:
            raise ValueError(f"{arg}: x0 must be < x1{at}, got x0={x0:g}, x1={x1:g} (expected {_FORM})")
        if y0 >= y1:
            raise ValueError(f"{arg}: y0 must be < y1{at}, got y0={y0:g}, y1={y1:g} (expected {_FORM})")
    return b, bool((b > 1).any())


def _check_size(size, arg: str = "size") -> tuple[int, int] | None:
    if size is None:
        return None
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(s, (int, np.integer)) and s > 0 for s in size)):
        raise ValueError(f"{arg} must be (H, W), two positive ints (the frame the pixel coordinates refer to), got {size!r}")
    return int(size[0]), int(size[1])


def _nearest(src: int, dst: int) -> np.ndarray:
    """Indices into ``src`` samples for ``dst`` samples, nearest by centre."""
    return np.minimum(((np.arange(dst) + 0.5) * src / dst).astype(np.int64), src - 1)


def _digest(a: np.ndarray) -> str:
    h = hashlib.sha256(f"{a.shape}".encode())
    h.update(np.packbits(a).tobytes())
    return h.hexdigest()


@dataclass(frozen=True, eq=False)
class Region:
    """A named region: exactly one of ``mask`` (bool H×W, T×H×W or N×T×H×W), ``box`` (4 floats, see the module
    doc) or ``track`` (T×4 floats). ``size``: the (H, W) frame that pixel boxes and tracks refer to, or None.
    Make one with :func:`box`, :func:`track` or :func:`mask`; arrays are stored read-only copies."""

    name: str
    mask: np.ndarray | None = field(default=None, repr=False)
    box: tuple[float, float, float, float] | None = None
    track: np.ndarray | None = field(default=None, repr=False)
    size: tuple[int, int] | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty str, got {self.name!r}")
        given = [k for k in ("mask", "box", "track") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a Region takes exactly one of mask=, box=, track=; got {given or 'none'}")
        if self.mask is not None:
            object.__setattr__(self, "mask", _check_mask(self.mask, "mask"))
        if self.box is not None:
            b, _ = _check_boxes([self.box], "box")
            object.__setattr__(self, "box", tuple(float(v) for v in b[0]))
        if self.track is not None:
            b, _ = _check_boxes(self.track, "track")
            b.setflags(write=False)
            object.__setattr__(self, "track", b)
        object.__setattr__(self, "size", _check_size(self.size))

    @property
    def form(self) -> str:
        return "mask" if self.mask is not None else "box" if self.box is not None else "track"

    @property
    def clips(self) -> int | None:
        """How many clips the region is given for (a mask of N×T×H×W), or None: the same for any clip."""
        return int(self.mask.shape[0]) if self.mask is not None and self.mask.ndim == 4 else None

    @property
    def frames(self) -> int | None:
        """How many frames the region is given for (a T×H×W or N×T×H×W mask, a track), or None: static."""
        if self.track is not None:
            return len(self.track) if len(self.track) > 1 else None
        return int(self.mask.shape[-3]) if self.mask is not None and self.mask.ndim >= 3 else None

    def masks(self, n: int, t: int, h: int, w: int) -> np.ndarray:
        """The region as a bool N×T×H×W array for ``n`` clips of ``t`` frames of ``h``×``w`` pixels."""
        for arg, v in (("n", n), ("t", t), ("h", h), ("w", w)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{arg} must be a positive int, got {v!r}")
        if self.mask is not None:
            m = self.mask
            m = m[None] if m.ndim == 3 else m[None, None] if m.ndim == 2 else m
            if m.shape[0] not in (1, n):
                raise ValueError(f"n must match the region {self.name!r}'s mask of {m.shape[0]} clips (or the mask must "
                                 f"have one clip, or none), got n={n}")
            for axis, size in ((1, t), (2, h), (3, w)):  # resample only the axes whose size differs
                if m.shape[axis] != size:
                    m = np.take(m, _nearest(m.shape[axis], size), axis=axis)
            return np.broadcast_to(m, (n, t, h, w)).copy()
        boxes = np.array([self.box]) if self.box is not None else self.track
        pixels = bool((boxes > 1).any())
        if len(boxes) > 1 and len(boxes) != t:  # a track, linearly resampled over time
            pos = np.clip((np.arange(t) + 0.5) * len(boxes) / t - 0.5, 0, len(boxes) - 1)
            lo = np.floor(pos).astype(np.int64)
            hi = np.minimum(lo + 1, len(boxes) - 1)
            boxes = boxes[lo] + (pos - lo)[:, None] * (boxes[hi] - boxes[lo])
        if pixels:  # to fractions of the frame
            fh, fw = self.size or (h, w)
            boxes = boxes / np.array([fw, fh, fw, fh], np.float64)
        cx = (np.arange(w) + 0.5) / w
        cy = (np.arange(h) + 0.5) / h
        inx = (cx[None] >= boxes[:, 0:1]) & (cx[None] < boxes[:, 2:3])  # B×W
        iny = (cy[None] >= boxes[:, 1:2]) & (cy[None] < boxes[:, 3:4])  # B×H
        m = iny[:, :, None] & inx[:, None, :]
        m = m[np.zeros(t, np.int64)] if len(m) == 1 else m
        return np.broadcast_to(m[None], (n, t, h, w)).copy()

    def to_json(self, inline: bool = False) -> dict:
        """A plain, JSON-able dict: store keys hash masks (sha256 of shape and bits); ``inline=True`` also embeds
        the bits (base64), so :meth:`from_json` needs nothing else."""
        d: dict = {"name": self.name, "form": self.form}
        if self.size is not None:
            d["size"] = list(self.size)
        if self.box is not None:
            d["box"] = list(self.box)
        elif self.track is not None:
            d["track"] = self.track.tolist()
        else:
            d["shape"] = list(self.mask.shape)
            d["sha256"] = _digest(self.mask)
            if inline:
                d["bits"] = base64.b64encode(np.packbits(self.mask).tobytes()).decode("ascii")
        return d

    @classmethod
    def from_json(cls, data: dict | str, mask: np.ndarray | None = None) -> "Region":
        """The region of :meth:`to_json`'s dict (or its JSON text). A hashed mask needs its array as ``mask=``,
        checked against the hash."""
        d = json.loads(data) if isinstance(data, str) else dict(data)
        form, name, size = d.get("form"), d.get("name"), d.get("size")
        size = tuple(size) if size is not None else None
        if form == "box":
            return cls(name, box=tuple(d["box"]), size=size)
        if form == "track":
            return cls(name, track=np.asarray(d["track"], np.float64), size=size)
        if form != "mask":
            raise ValueError(f"data must be a dict of Region.to_json() with form 'box', 'track' or 'mask', got form={form!r}")
        shape = tuple(d["shape"])
        if mask is None:
            if "bits" not in d:
                raise ValueError(f"the region {name!r} stores only its mask's hash: pass the mask array as mask= "
                                 "(or write it with to_json(inline=True))")
            bits = np.frombuffer(base64.b64decode(d["bits"]), np.uint8)
            mask = np.unpackbits(bits, count=int(np.prod(shape))).astype(bool).reshape(shape)
        m = _check_mask(mask, "mask")
        if m.shape != shape or _digest(m) != d["sha256"]:
            raise ValueError(f"mask does not match the region {name!r}'s stored hash (shape {m.shape}, stored {shape})")
        return cls(name, mask=m, size=size)

    @property
    def key(self) -> str:
        """sha256 of :meth:`to_json`: equal regions, equal key."""
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()

    def __eq__(self, other) -> bool:
        return isinstance(other, Region) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        what = {"box": lambda: f"box={self.box}", "track": lambda: f"track of {len(self.track)} boxes",
                "mask": lambda: f"mask {'×'.join(map(str, self.mask.shape))}"}[self.form]()
        return f"Region({self.name!r}, {what}{'' if self.size is None else f', size={self.size}'})"


def _check_mask(array, arg: str) -> np.ndarray:
    a = np.asarray(array)
    if a.ndim not in (2, 3, 4) or 0 in a.shape:
        raise ValueError(f"{arg} must be a bool H×W, T×H×W or N×T×H×W array, got shape {a.shape}")
    if a.dtype != np.bool_:
        if not (np.issubdtype(a.dtype, np.number) and np.isin(a, (0, 1)).all()):
            raise ValueError(f"{arg} must be a bool array (or of 0s and 1s), got dtype {a.dtype}")
        a = a.astype(bool)
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


def box(x0: float, y0: float, x1: float, y1: float, name: str | None = None, *, size=None) -> Region:
    """The same box on every frame (see the module doc for fractions vs pixels and ``size``)."""
    b, _ = _check_boxes([(x0, y0, x1, y1)], "box")
    return Region(name or "box({:g}, {:g}, {:g}, {:g})".format(*b[0]), box=tuple(b[0]), size=size)


def track(boxes, name: str | None = None, *, size=None) -> Region:
    """T×4 boxes (x0, y0, x1, y1), one per frame, linearly resampled over time to the clip's T."""
    b, _ = _check_boxes(boxes, "boxes")
    return Region(name or f"track of {len(b)} boxes", track=b, size=size)


def mask(array, name: str | None = None) -> Region:
    """A bool H×W (every frame), T×H×W (every clip) or N×T×H×W mask, resampled by nearest to the clip's size."""
    m = _check_mask(array, "array")
    return Region(name or f"mask {'×'.join(map(str, m.shape))}", mask=m)


def grid_cells(rows: int = 4, cols: int = 4) -> list[Region]:
    """``rows`` × ``cols`` boxes tiling the frame, row by row, named ``"cell r<i> c<j>"``."""
    for arg, v in (("rows", rows), ("cols", cols)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{arg} must be a positive int, got {v!r}")
    return [Region(f"cell r{i} c{j}", box=(j / cols, i / rows, (j + 1) / cols, (i + 1) / rows))
            for i in range(rows) for j in range(cols)]


def whole_clip() -> Region:
    """Every pixel of every frame."""
    return Region("whole clip", box=(0.0, 0.0, 1.0, 1.0))


def moving_parts(flow, k: int = 4, min_px: int = 4, threshold: float | None = None) -> list[Region]:
    """The moving parts of clips: connected space-time components (faces and edges touching, frame to frame too)
    of pixels whose flow magnitude exceeds ``threshold`` (None: 5% of the largest magnitude).

    ``flow``: N×T×2×H×W or T×2×H×W. In each clip the components of at least ``min_px`` pixels are ranked by size;
    region ``i`` ("moving part i") holds each clip's i-th largest (empty where a clip has fewer). At most ``k``
    regions; masks N×T×H×W (T×H×W for one clip). A part that leaves one edge of the frame and enters at the
    other is two parts: components do not wrap."""
    from scipy import ndimage

    f = np.asarray(flow)
    if f.ndim not in (4, 5) or f.shape[-3] != 2:
        raise ValueError(f"flow must be N×T×2×H×W or T×2×H×W (two components, x then y), got shape {f.shape}")
    if not np.issubdtype(f.dtype, np.floating) or not np.isfinite(f).all():
        raise ValueError(f"flow must be finite floats, got dtype {f.dtype}")
    for arg, v in (("k", k), ("min_px", min_px)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{arg} must be a positive int, got {v!r}")
    one = f.ndim == 4
    f = f[None] if one else f
    speed = np.sqrt((f.astype(np.float32) ** 2).sum(2))  # N×T×H×W
    top = float(speed.max()) if speed.size else 0.0
    thr = 0.05 * top if threshold is None else float(threshold)
    if thr < 0 or not np.isfinite(thr):
        raise ValueError(f"threshold must be a finite number ≥ 0, got {threshold!r}")
    moving = speed > thr
    structure = np.ones((3, 3, 3), bool)
    parts = []  # per clip, its components' masks, largest first
    for clip in moving:
        labels, count = ndimage.label(clip, structure)
        sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
        order = [i + 1 for i in np.argsort(-sizes, kind="stable") if sizes[i] >= min_px][:k]
        parts.append([labels == i for i in order])
    regions = []
    for i in range(max((len(p) for p in parts), default=0)):
        m = np.stack([p[i] if i < len(p) else np.zeros(moving.shape[1:], bool) for p in parts])
        regions.append(Region(f"moving part {i + 1}", mask=m[0] if one else m))
    return regions
