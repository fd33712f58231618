"""The atlas's media: clips as files a browser plays (one frame as PNG, several as VP9 WebM, which Debian's
Chromium plays where it has no H.264), the grid thumbnails as one PNG sprite sheet per stream, and dataset clips
read as uint8 frames for the store."""

from __future__ import annotations

import io
import math
import re
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

#: what a media ref may be: also its file name under media/ in an export
REF = re.compile(r"[A-Za-z0-9_.-]+")
#: the largest side of a grid thumbnail
THUMB = 64
FPS = 8.0


def check_ref(ref) -> str:
    if not isinstance(ref, str) or not REF.fullmatch(ref) or ref.startswith("."):
        raise ValueError(f"media ref {ref!r} is not one of the atlas's refs (letters, digits, '_', '.', '-')")
    return ref


def ext(frames: np.ndarray) -> tuple[str, str]:
    """(suffix, MIME) a clip of these frames is encoded as."""
    return (".png", "image/png") if len(frames) == 1 else (".webm", "video/webm")


def encode(frames: np.ndarray, fps: float = FPS) -> tuple[bytes, str]:
    """T×H×W×3 uint8 frames as (bytes, MIME): one frame a PNG, several a VP9 WebM."""
    frames = np.ascontiguousarray(frames, np.uint8)
    if len(frames) == 1:
        return png(frames[0]), "image/png"
    from ..io import write_video

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.webm"
        write_video(path, frames, fps=fps, quality=32)
        return path.read_bytes(), "video/webm"


def png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, np.uint8)).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def clip_info(ref: str, frames: np.ndarray, fps: float = FPS) -> dict:
    """An ``AtlasClip`` for frames stored under ``ref`` (its suffix already chosen by :func:`ext`)."""
    t, h, w = frames.shape[:3]
    out = {"ref": ref, "mime": ext(frames)[1], "width": int(w), "height": int(h), "frames": int(t)}
    if t > 1:
        out["fps"] = fps
    return out


def thumbnail(frames: np.ndarray, side: int = THUMB) -> np.ndarray:
    """A still for the grid: the clip's middle frame, scaled down to at most ``side`` pixels a side."""
    f = np.asarray(frames[len(frames) // 2], np.uint8)
    h, w = f.shape[:2]
    s = min(1.0, side / max(h, w))
    if s < 1:
        f = np.asarray(Image.fromarray(f).resize((max(1, round(w * s)), max(1, round(h * s))), Image.BILINEAR))
    return f


def sprite(cells: list[np.ndarray]) -> tuple[np.ndarray, int, int, int]:
    """Thumbnails (each H×W×3, padded to the largest) on one sheet, row-major: (sheet, columns, cell w, cell h)."""
    ch = max(c.shape[0] for c in cells)
    cw = max(c.shape[1] for c in cells)
    cols = max(1, min(len(cells), math.ceil(math.sqrt(len(cells)))))
    rows = math.ceil(len(cells) / cols)
    sheet = np.zeros((rows * ch, cols * cw, 3), np.uint8)
    for i, c in enumerate(cells):
        y, x = (i // cols) * ch, (i % cols) * cw
        sheet[y:y + c.shape[0], x:x + c.shape[1]] = c
    return sheet, cols, cw, ch


def as_uint8_rgb(rgb) -> np.ndarray:
    """A dataset clip's T×H×W×3 RGB (uint8 on 0–255 or float on [0, 1]) as uint8."""
    a = np.asarray(rgb)
    if a.dtype == np.uint8:
        return a
    return (np.clip(a.astype(np.float32), 0, 1) * 255).round().astype(np.uint8)


def dataset_item(data, index: int) -> dict:
    """Item ``index`` of a map-style dataset of dicts or of a dict of stacked arrays."""
    if isinstance(data, dict):
        return {k: v[index] for k, v in data.items() if k in ("rgb", "flow", "label")}
    return data[int(index)]


def dataset_labels(data) -> np.ndarray:
    """Every item's label, without rendering clips where the dataset can say them."""
    if isinstance(data, dict):
        return np.asarray(data["label"])
    labels = getattr(data, "labels", None)
    if labels is not None:
        return np.asarray(labels)
    return np.asarray([data[i]["label"] for i in range(len(data))])


def clip_arrays(item: dict) -> dict[str, np.ndarray]:
    """A dataset item as the store keeps it for the browser: ``rgb`` frames and, where it has flow, ``flow``
    rendered as the papers show it, both T×H×W×3 uint8."""
    from ..media.flow import flow_to_rgb

    out = {"rgb": as_uint8_rgb(item["rgb"])}
    if item.get("flow") is not None:
        out["flow"] = flow_to_rgb(np.asarray(item["flow"], np.float32), mode="paper", layout="TCHW")
    return out
