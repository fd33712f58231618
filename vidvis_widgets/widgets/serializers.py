"""Clips to compact binary payloads for the front ends.

Each clip travels as one compressed image (a "sheet" with every frame on a
grid) and a few integers. The browser decodes it natively with
createImageBitmap and cuts frames out with drawImage, so 64 clips of 16 frames
at 112×112 cost 64 small images instead of ~38 MB of raw pixels. The whole
widget state, captions and headers included, is held to MAX_MESSAGE_BYTES
(see the measured limits beside it).
"""

from __future__ import annotations

import io
import json
import math
import warnings
from typing import Any, Callable, Literal, Mapping, Sequence

import numpy as np
from PIL import Image

from ..media.clips import Clip
from ..checks import number

ImageFormat = Literal["jpeg", "png", "webp"]
FORMATS: tuple[str, ...] = ("jpeg", "png", "webp")

# Message limits measured by benchmarks/message_limits.py in JupyterLab 4.6.6 (jupyter_server 2.21.1, tornado 6.6.1,
# pyzmq 27.3) in headless Chromium 156:
# - browser → kernel: a websocket message over 10 MiB (10,485,760 B) is refused. tornado's WebSocketHandler closes
#   the connection ("message too big", 1009) when a frame it reads exceeds `websocket_max_message_size`, default
#   10 * 1024 * 1024 (tornado/websocket.py); jupyter_server keeps the default. JupyterLab reconnects and the message
#   is lost. The player sends only frame / playing / settings changes, under 1 kB.
# - kernel → browser: no limit found. States of 8 MiB to 1 GiB (the largest tried) all arrived intact: tornado checks
#   only what it reads, ZMQ's MAXMSGSIZE is -1, jupyter_server's IOPub rate limit counts only stream output.
#   What grows is time: 0.5–1.3 s for 32 MiB, 9–14 s for 512 MiB, 15–37 s for 1 GiB on a shared 2-core machine.
# So the budget is one of time, not of the protocol: the whole synced state, which every set_clip re-sends and a
# page that reconnects receives in one message, stays at most 32 MiB, about a second to arrive.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
BUDGET_ORIGIN = "the player's budget, about 1 s of transfer; Jupyter itself delivered up to 1 GiB to the browser"
# header, parent header, metadata, comm id and websocket framing of one comm message: ~0.5 kB in the measured
# websocket messages (tests/e2e/test_message_limits_e2e.py); 2 kB leaves room for longer ids and names
ENVELOPE_BYTES = 2048
# lossy codecs code 16×16 macroblocks (4:2:0 chroma); aligned tiles keep frames from bleeding into each other
_ALIGN = {"jpeg": 16, "webp": 16, "png": 1}
_FALLBACK_QUALITIES = (75, 60, 45, 30)
#: the largest image side each codec writes: libjpeg's JPEG_MAX_DIMENSION, WebP's 14-bit sizes, PNG's 31-bit ones
MAX_SIDE = {"jpeg": 65500, "webp": 16383, "png": 2 ** 31 - 1}


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


def check_encodable(clip: Clip, fmt: str, name: str = "a clip") -> None:
    """Refuses, before anything is encoded, a clip whose image sheet is larger than ``fmt``'s codec writes,
    naming the clip (``name``), its shape and what would fit."""
    t, h, w, _ = clip.frames.shape

    def sheet(f: str) -> tuple[int, int]:
        xs, ys, cols = sheet_geometry(t, h, w, f)
        return -(-t // cols) * ys, cols * xs

    sheet_h, sheet_w = sheet(fmt)
    if max(sheet_h, sheet_w) <= MAX_SIDE[fmt]:
        return
    frames = f"{t} frame{'s' * (t != 1)} of {h}×{w}"
    fix = "resize it" if max(h, w) > MAX_SIDE[fmt] else "give it fewer frames or smaller ones"
    others = [f for f in FORMATS if f != fmt and max(sheet(f)) <= MAX_SIDE[f]]
    raise ValueError(f"{name} ({frames}, shape {tuple(clip.frames.shape)}) travels as one {sheet_h}×{sheet_w} image, "
                     f"but {fmt.upper()} images take at most {MAX_SIDE[fmt]} pixels a side: {fix}"
                     + (f", or pass image_format={others[0]!r}" if others else ""))


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


def encode_clip(clip: Clip, fmt: ImageFormat = "jpeg", quality: int = 90, name: str = "a clip") -> dict:
    """The payload dict the front end's ``parseClip`` reads; ``data`` becomes a binary buffer. A clip too large for
    the codec is refused, naming it as ``name``."""
    if fmt not in FORMATS:
        raise ValueError(f"image format {fmt!r} is not supported; expected one of {', '.join(FORMATS)}")
    check_encodable(clip, fmt, name)
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
    """Bytes of the clips' compressed images alone."""
    return sum(len(p["data"]) for p in payload if p is not None)


def _without_buffers(value: Any, path: list, paths: list, sizes: list) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        paths.append(path)
        sizes.append(memoryview(value).nbytes)
        return None
    if isinstance(value, Mapping):
        return {k: _without_buffers(v, [*path, k], paths, sizes) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_without_buffers(v, [*path, i], paths, sizes) for i, v in enumerate(value)]
    return value


def state_message_bytes(state: Mapping[str, Any]) -> int:
    """Bytes on the wire of one widget message carrying ``state``: its JSON (captions, headers, every synced
    trait, the buffer paths) as Jupyter packs it, its binary buffers, and :data:`ENVELOPE_BYTES`."""
    paths: list = []
    sizes: list = []
    content = {"method": "update", "state": _without_buffers(state, [], paths, sizes), "buffer_paths": paths}
    packed = json.dumps(content, ensure_ascii=False, default=str).encode("utf8", errors="surrogateescape")
    return len(packed) + sum(sizes) + ENVELOPE_BYTES + 8 * len(sizes)


def qualities(fmt: str, quality: Any) -> list[int]:
    """The requested quality (checked: an integer in [1, 100]), then the lossy fallbacks below it."""
    quality = number("quality", quality, low=1, integer=True)
    if quality > 100:
        raise ValueError(f"quality must be an integer between 1 and 100, got {quality}")
    if fmt not in FORMATS:
        raise ValueError(f"image format {fmt!r} is not supported; expected one of {', '.join(FORMATS)}")
    return [quality] + ([q for q in _FALLBACK_QUALITIES if q < quality] if fmt != "png" else [])


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _advice(clips: Sequence[Clip | None], own: int, room: int, fixed: int, fmt: str, lowest: int,
            index: int | None) -> str:
    """What would make ``clips`` (``own`` bytes at the lowest quality tried) fit in ``room`` bytes, next to the
    ``fixed`` bytes of everything else in the state."""
    shown = [c for c in clips if c is not None]
    share = room / max(own, 1)
    tips = []
    if index is None and len(shown) > 1:
        tips.append(f"fewer clips (about {max(1, int(len(shown) * share))} of these {len(shown)} fit)")
    frames = max(c.num_frames for c in shown)
    if frames > 1 and int(frames * share) >= 1:
        tips.append(f"shorter clips (about {int(frames * share)} of {frames} frames)")
    k = max(2, math.ceil(1 / math.sqrt(share)))
    tips.append(f"frames {k}× smaller on each side (clip[:, ::{k}, ::{k}] for T×H×W×3; zoom={k} shows them at "
                "the same size on screen)")
    if fmt == "png":
        tips.append("a lossy image_format='jpeg' or 'webp' (several times smaller than PNG)")
    elif lowest > 5:
        tips.append(f"quality below {lowest}")
    if fixed > min(own - room, room / 4):  # shedding them alone would fit, or they are a large share
        what = "captions, headers and settings" if index is None else "other clips, captions and headers"
        tips.append(f"shorter captions and headers (the {what} take {_mb(fixed)})")
    return "; ".join(tips)


def _encode_within(encode: Callable[[int], list], base: list, clips: Sequence[Clip | None], fmt: str,
                   quality: Any, budget: int, state: Mapping[str, Any] | None, index: int | None) -> list[dict | None]:
    """Runs ``encode(quality)`` at the requested quality, then at lower lossy ones (with a warning), until the
    whole widget state (``state`` with the encoded clips as ``_clips``) fits ``budget``; else PayloadTooLarge.
    ``base`` is the payload without the clips being encoded, checked first so a hopeless case fails at once."""
    tried = qualities(fmt, quality)
    state = dict(state or {})
    what, verb = ("the clips", "make") if index is None else (f"clip {index}", "makes")
    limit = f"the {_mb(budget)} limit for one widget message ({BUDGET_ORIGIN})"
    fixed = state_message_bytes({**state, "_clips": base})
    if fixed > budget:
        rest = "captions, headers and other widget state" if index is None else "other clips, captions and headers"
        raise PayloadTooLarge(f"the {rest} alone are {_mb(fixed)}, over {limit}, before {what}; shorten the "
                              "captions and headers" + ("" if index is None else ", or show fewer clips"))
    sizes = []
    for q in tried:
        payload = encode(q)
        sizes.append(state_message_bytes({**state, "_clips": payload}))
        if sizes[-1] <= budget:
            if q != tried[0]:
                warnings.warn(
                    f"{what} at {fmt} quality {tried[0]} {verb} the widget state {_mb(sizes[0])}, over the "
                    f"{_mb(budget)} message budget; re-encoded at quality {q} ({_mb(sizes[-1])})",
                    stacklevel=4,
                )
            return payload
    own = sizes[-1] - fixed
    at = f"as {fmt}" if fmt == "png" else f"even at {fmt} quality {tried[-1]}"
    rest = "" if index is None else f"; the other clips, captions and headers take {_mb(fixed)}"
    raise PayloadTooLarge(
        f"{what} {verb} the widget state {_mb(sizes[-1])} {at}, over {limit}{rest}. To fit, use "
        + _advice(clips if index is None else [clips[index]], own, budget - fixed, fixed, fmt, tried[-1], index)
    )


def encode_clips(
    clips: Sequence[Clip | None], fmt: ImageFormat = "jpeg", quality: int = 90, budget: int = MAX_MESSAGE_BYTES,
    state: Mapping[str, Any] | None = None,
) -> list[dict | None]:
    """Encodes every clip; lowers lossy quality (with a warning) until the whole widget state fits ``budget``.

    ``state`` is the rest of the widget's synced state (captions, headers, settings), which travels in the same
    message as the clips and counts against the same budget."""
    for i, c in enumerate(clips):  # every clip checked before any is encoded
        if c is not None:
            check_encodable(c, fmt, f"clip {i}")
    return _encode_within(lambda q: [None if c is None else encode_clip(c, fmt, q) for c in clips],
                          [None] * len(clips), clips, fmt, quality, budget, state, None)


def replace_clip(
    payload: Sequence[dict | None], clips: Sequence[Clip | None], index: int, fmt: ImageFormat = "jpeg",
    quality: int = 90, budget: int = MAX_MESSAGE_BYTES, state: Mapping[str, Any] | None = None,
) -> list[dict | None]:
    """``payload`` with only clip ``index`` (``clips[index]``) re-encoded, at lower quality (with a warning) if the
    whole resulting widget state would exceed ``budget``; the other clips keep their encoding."""
    def encode(q: int | None) -> list[dict | None]:
        return [*payload[:index], None if q is None else encode_clip(clips[index], fmt, q, f"clip {index}"),
                *payload[index + 1:]]

    return _encode_within(encode, encode(None), clips, fmt, quality, budget, state, index)
