"""Clips to compact binary payloads for the front ends.

Each clip travels as one compressed image (a "sheet" with every frame on a
grid) and a few integers. The browser decodes it natively with
createImageBitmap and cuts frames out with drawImage, so 64 clips of 16 frames
at 112×112 cost 64 small images instead of ~38 MB of raw pixels, and no message
approaches Jupyter's 10 MB websocket limit.
"""

from __future__ import annotations

import io
import math
import warnings
from typing import Literal, Sequence

import numpy as np
from PIL import Image

from ..media.clips import Clip

ImageFormat = Literal["jpeg", "png", "webp"]
FORMATS: tuple[str, ...] = ("jpeg", "png", "webp")

# Jupyter drops websocket messages over 10 MB; keep every state message well below.
MAX_PAYLOAD_BYTES = 8 * 1024 * 1024
# lossy codecs code 16×16 macroblocks (4:2:0 chroma); aligned tiles keep frames from bleeding into each other
_ALIGN = {"jpeg": 16, "webp": 16, "png": 1}
_FALLBACK_QUALITIES = (75, 60, 45, 30)


class PayloadTooLarge(ValueError):
    pass


def _round_up(n: int, k: int) -> int:
    return -(-n // k) * k


def sheet_geometry(num_frames: int, height: int, width: int, fmt: str) -> tuple[int, int, int]:
    """(xstride, ystride, sheet_cols): a near-square sheet, far from codec dimension limits."""
    xs, ys = _round_up(width, _ALIGN[fmt]), _round_up(height, _ALIGN[fmt])
    cols = max(1, min(num_frames, round(math.sqrt(num_frames * ys / xs))))
    return xs, ys, cols


def to_sheet(frames: np.ndarray, xstride: int, ystride: int, sheet_cols: int) -> np.ndarray:
    t, h, w, _ = frames.shape
    rows = -(-t // sheet_cols)
    # edge padding, not black, so lossy blocks at tile borders see the frame's own colours
    tiles = np.pad(frames, ((0, rows * sheet_cols - t), (0, ystride - h), (0, xstride - w), (0, 0)), mode="edge")
    return tiles.reshape(rows, sheet_cols, ystride, xstride, 3).transpose(0, 2, 1, 3, 4).reshape(
        rows * ystride, sheet_cols * xstride, 3
    )


def from_sheet(sheet: np.ndarray, num_frames: int, height: int, width: int, xstride: int, ystride: int,
               sheet_cols: int) -> np.ndarray:
    """Inverse of :func:`to_sheet` (what the browser does with drawImage)."""
    frames = []
    for t in range(num_frames):
        r, c = divmod(t, sheet_cols)
        frames.append(sheet[r * ystride : r * ystride + height, c * xstride : c * xstride + width])
    return np.stack(frames)


def encode_image(pixels: np.ndarray, fmt: str, quality: int) -> bytes:
    buf = io.BytesIO()
    img = Image.fromarray(pixels)
    if fmt == "jpeg":
        img.save(buf, format="JPEG", quality=quality)
    elif fmt == "webp":
        img.save(buf, format="WEBP", quality=quality, method=4)
    elif fmt == "png":
        img.save(buf, format="PNG", compress_level=3)
    else:
        raise ValueError(f"image format {fmt!r} is not supported; expected one of {', '.join(FORMATS)}")
    return buf.getvalue()


def encode_clip(clip: Clip, fmt: ImageFormat = "jpeg", quality: int = 90) -> dict:
    """The payload dict the front end's ``parseClip`` reads; ``data`` becomes a binary buffer."""
    if fmt not in FORMATS:
        raise ValueError(f"image format {fmt!r} is not supported; expected one of {', '.join(FORMATS)}")
    t, h, w, _ = clip.frames.shape
    xs, ys, cols = sheet_geometry(t, h, w, fmt)
    data = encode_image(to_sheet(clip.frames, xs, ys, cols), fmt, quality)
    return {
        "kind": clip.kind,
        "format": fmt,
        "width": w,
        "height": h,
        "frames": t,
        "xstride": xs,
        "ystride": ys,
        "sheet_cols": cols,
        "data": data,
    }


def payload_bytes(payload: Sequence[dict | None]) -> int:
    return sum(len(p["data"]) for p in payload if p is not None)


def encode_clips(
    clips: Sequence[Clip | None], fmt: ImageFormat = "jpeg", quality: int = 90, budget: int = MAX_PAYLOAD_BYTES
) -> list[dict | None]:
    """Encodes every clip; lowers lossy quality (with a warning) until the whole set fits ``budget``."""
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must be between 1 and 100, got {quality}")
    qualities = [int(quality)] + ([q for q in _FALLBACK_QUALITIES if q < quality] if fmt != "png" else [])
    sizes = []
    for q in qualities:
        payload = [None if c is None else encode_clip(c, fmt, q) for c in clips]
        sizes.append(payload_bytes(payload))
        if sizes[-1] <= budget:
            if q != quality:
                warnings.warn(
                    f"clips encoded at {fmt} quality {quality} were {sizes[0] / 1e6:.1f} MB, over the "
                    f"{budget / 1e6:.1f} MB message budget; re-encoded at quality {q} ({sizes[-1] / 1e6:.1f} MB)",
                    stacklevel=3,
                )
            return payload
    raise PayloadTooLarge(
        f"the clips encode to {sizes[-1] / 1e6:.1f} MB even at {fmt} quality {qualities[-1]}, over the {budget / 1e6:.1f} MB "
        "limit for one widget message (Jupyter drops websocket messages over 10 MB); show fewer or smaller clips, "
        "or use image_format='jpeg' or 'webp'"
    )
