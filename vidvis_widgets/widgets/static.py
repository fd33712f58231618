"""Static copies of a clip grid, saved in a notebook beside the live widget, so results outlive the kernel.

Every ClipPlayer output (and so every result's ``show()``) carries, under a size budget:

- ``application/vnd.vidvis.clips.v1+json``: the grid, self-contained (each clip one base64 image sheet). The
  JupyterLab extension shipped in the wheel renders it, declared safe, so a saved, untrusted notebook with no
  kernel plays it; it ranks below the live widget, so with a kernel the widget shows, once.
- ``text/html``: the same grid with a small inline player, for nbconvert's HTML (offline: no widget manager,
  no CDN) and other viewers that run a page's scripts; where none run, it shows the poster;
- ``image/png``: a poster, the grid's first frame with its captions, for viewers that only show images.

:func:`static_outputs` chooses ``"full"`` (all three), ``"poster"`` (the PNG only) or ``"none"``, and the
budget: a grid over it is downscaled, then shortened, and says so under the player.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import math
import os
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .. import _frontend
from ..media.clips import Clip
from ..media.grid import grid_shape
from .serializers import encode_clip

CLIPS_MIME = "application/vnd.vidvis.clips.v1+json"
MODES = ("full", "poster", "none")
#: the default budget for one output's static parts (the grid twice, as JSON and as HTML, plus the poster)
DEFAULT_BUDGET = 2 * 1024 * 1024
#: a poster is at most this wide; larger grids are scaled down to it
POSTER_WIDTH = 1200
#: a poster larger than this as a true-colour PNG is saved with a 256-colour palette
POSTER_BYTES = 256 * 1024


@dataclass
class StaticOptions:
    mode: str = "full"
    budget: int = DEFAULT_BUDGET


def _from_environment() -> StaticOptions:
    """``VIDVIS_STATIC`` (full / poster / none) and ``VIDVIS_STATIC_BUDGET`` (bytes) set the defaults, e.g. for a
    notebook executed by nbconvert or nbclient."""
    mode = os.environ.get("VIDVIS_STATIC", "full")
    budget = os.environ.get("VIDVIS_STATIC_BUDGET", str(DEFAULT_BUDGET))
    try:
        budget = int(budget)
    except ValueError:
        raise ValueError(f"VIDVIS_STATIC_BUDGET must be a number of bytes, got {budget!r}") from None
    _check(mode, budget)
    return StaticOptions(mode, budget)


def poster_font(size: int = 12):
    """DejaVu Sans where it is installed (it has â, γ, ×), else Pillow's own font."""
    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _check(mode: str, budget: int) -> None:
    if mode not in MODES:
        raise ValueError(f"static_outputs mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 64 * 1024:
        raise ValueError(f"static_outputs budget must be a number of bytes ≥ 65536 (64 KiB), got {budget!r}")


_options = _from_environment()


@contextlib.contextmanager
def _restoring(previous: StaticOptions) -> Iterator[StaticOptions]:
    try:
        yield _options
    finally:
        _options.mode, _options.budget = previous.mode, previous.budget


def static_outputs(mode: str | None = None, budget: int | None = None):
    """Sets what every clip grid saves beside its live widget: ``mode`` ``"full"`` (the vidvis mimetype,
    offline HTML and a PNG poster), ``"poster"`` (the PNG only) or ``"none"``; ``budget``: bytes per output
    for the static parts (default 2 MiB), over which a grid is downscaled, then shortened, with a note.
    Returns the previous settings; also a context manager that restores them on exit."""
    previous = StaticOptions(_options.mode, _options.budget)
    mode = _options.mode if mode is None else mode
    budget = _options.budget if budget is None else budget
    _check(mode, budget)
    _options.mode, _options.budget = mode, int(budget)
    return _restoring(previous)


# -- the grid as data -------------------------------------------------------------------------------------
def _resized(clip: Clip, scale: float, frames: int) -> Clip:
    f = clip.frames[:frames]
    if scale < 1:
        h, w = max(1, round(clip.height * scale)), max(1, round(clip.width * scale))
        f = np.stack([np.asarray(Image.fromarray(x).resize((w, h), Image.Resampling.BOX)) for x in f])
    return Clip(np.ascontiguousarray(f), clip.kind)


def _encoded(clips: Sequence[Clip | None], fmt: str, quality: int) -> list[dict | None]:
    out = []
    for c in clips:
        if c is None:
            out.append(None)
            continue
        p = encode_clip(c, fmt, quality)
        out.append({**p, "data": base64.b64encode(p["data"]).decode("ascii")})
    return out


def grid_json(clips: Sequence[Clip | None], *, captions: Sequence[str], rows: int, cols: int,
              row_headers: Sequence[str] = (), col_headers: Sequence[str] = (), fps: float = 10.0,
              loop: bool = True, zoom: float = 0.0, fmt: str = "jpeg", quality: int = 85,
              note: str | None = None) -> dict:
    """The vidvis mimetype's document for a grid (what the JupyterLab extension and the HTML player read)."""
    doc = {"version": 1, "clips": _encoded(clips, fmt, quality), "captions": [str(c) for c in captions],
           "rows": int(rows), "cols": int(cols), "row_headers": [str(h) for h in row_headers],
           "col_headers": [str(h) for h in col_headers], "fps": float(fps), "loop": bool(loop), "zoom": float(zoom)}
    if note:
        doc["note"] = note
    return doc


def script_json(data: object) -> str:
    """JSON that is safe inside <script>: no '<', '>' or '&' can close the tag or open markup."""
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


#: what a viewer that runs no scripts shows above the poster (and what it reads out)
POSTER_ALT = "vidvis clips: the first frame of a saved clip grid; it plays where JavaScript runs"


def grid_html(doc: dict, poster: bytes | None = None) -> str:
    """A self-contained HTML fragment that plays ``doc`` with no kernel, widget manager or network. Until its
    script runs, and where scripts cannot run (a sanitizing viewer, JupyterLab without the extension), it shows
    the ``poster`` PNG as a data-URI image, which sanitizers keep."""
    runtime = _frontend.read_asset("static_player.js").replace("</script", "<\\/script")
    if poster:
        still = (f'<img class="vv-static-poster" alt="{POSTER_ALT}" title="{POSTER_ALT}" '
                 f'src="data:image/png;base64,{base64.b64encode(poster).decode("ascii")}">')
    else:
        still = POSTER_ALT
    return (f'<div class="vv-static-host">{still}</div>'
            f'<script type="{CLIPS_MIME}">{script_json(doc)}</script><script>{runtime}</script>')


# -- the poster -------------------------------------------------------------------------------------------
def poster_png(clips: Sequence[Clip | None], *, captions: Sequence[str], rows: int, cols: int,
               row_headers: Sequence[str] = (), col_headers: Sequence[str] = (), note: str | None = None) -> bytes:
    """The grid's first frame as one PNG, each cell with its caption, headers above and beside."""
    # each clip at its own size, small ones enlarged (as the player's auto zoom does); each column as wide and
    # each row as tall as its largest cell
    zooms = [None if c is None else max(1, min(4, 128 // max(c.height, c.width))) for c in clips]
    sizes = [(0, 0) if c is None else (c.height * z, c.width * z) for c, z in zip(clips, zooms)]
    font = poster_font(12)
    line, pad = 16, 6
    col_w = [max([sizes[r * cols + k][1] for r in range(rows) if r * cols + k < len(clips)] + [24])
             for k in range(cols)]
    row_h = [max([sizes[r * cols + k][0] for k in range(cols) if r * cols + k < len(clips)] + [8])
             for r in range(rows)]
    left = (max((int(font.getlength(str(h))) for h in row_headers), default=0) + pad) if row_headers else 0
    top = line + pad if col_headers else 0
    xs = [left + sum(col_w[:k]) + k * pad for k in range(cols)]
    ys = [top + sum(row_h[:r]) + r * (line + pad) for r in range(rows)]
    width = xs[-1] + col_w[-1] + pad
    height = ys[-1] + row_h[-1] + line + pad + (line + pad if note else 0)
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    for k, h in enumerate(col_headers):
        draw.text((xs[k], 2), str(h), fill=(40, 40, 40), font=font)
    for r, h in enumerate(row_headers):
        draw.text((2, ys[r] + row_h[r] // 2 - 6), str(h), fill=(40, 40, 40), font=font)
    for i, c in enumerate(clips):
        r, k = divmod(i, cols)
        x, y = xs[k], ys[r]
        if c is not None:
            z = zooms[i]
            img.paste(Image.fromarray(c.frames[0]).resize((c.width * z, c.height * z), Image.Resampling.NEAREST), (x, y))
        cap = str(captions[i]) if i < len(captions) else ""
        while cap and font.getlength(cap) > max(col_w[k], 60) and len(cap) > 1:
            cap = cap[:-2] + "…"
        draw.text((x, y + row_h[r] + 2), cap, fill=(60, 60, 60), font=font)
    if note:
        draw.text((2, height - line), note, fill=(120, 60, 0), font=font)
    if img.width > POSTER_WIDTH:
        img = img.resize((POSTER_WIDTH, round(img.height * POSTER_WIDTH / img.width)), Image.Resampling.BOX)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    if buf.tell() > POSTER_BYTES:  # a large poster of optimized (noisy) images: 256 colours, about 2.4× smaller
        buf = io.BytesIO()
        img.quantize(256, method=Image.Quantize.FASTOCTREE).save(buf, "PNG", optimize=True)
    return buf.getvalue()


# -- the static parts of one output ----------------------------------------------------------------------
def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 1024:.0f} KiB"


def static_bundle(clips: Sequence[Clip | None], *, captions: Sequence[str] | None = None, rows: int | None = None,
                  cols: int | None = None, row_headers: Sequence[str] = (), col_headers: Sequence[str] = (),
                  fps: float = 10.0, loop: bool = True, zoom: float = 0.0, fmt: str = "jpeg", quality: int = 85,
                  mode: str | None = None, budget: int | None = None,
                  encoded: Sequence[dict | None] | None = None) -> dict[str, object]:
    """The static mimetypes of one grid under the current :func:`static_outputs` settings (or ``mode`` and
    ``budget`` given here). ``encoded``: the clips as the live widget already encoded them (its payload),
    reused when the grid fits the budget as it is."""
    mode = _options.mode if mode is None else mode
    budget = _options.budget if budget is None else budget
    _check(mode, budget)
    present = [c for c in clips if c is not None]
    if mode == "none" or not present:
        return {}
    rows, cols = grid_shape(len(clips), rows, cols)
    captions = list(captions) if captions is not None else [""] * len(clips)
    layout = dict(captions=captions, rows=rows, cols=cols, row_headers=row_headers, col_headers=col_headers)
    poster = poster_png(clips, **layout)
    if mode == "poster":
        return {"image/png": base64.b64encode(poster).decode("ascii")}
    fmt = "png" if fmt == "png" else "jpeg"  # webp is not every browser's; PNG stays lossless
    runtime = len(_frontend.read_asset("static_player.js"))
    frames = max(c.num_frames for c in present)
    scale, length, tried = 1.0, frames, []
    while True:
        small = [None if c is None else _resized(c, scale, length) for c in clips]
        reuse = encoded is not None and (scale, length) == (1.0, frames)
        doc = grid_json([] if reuse else small, **layout, fps=fps, loop=loop, zoom=zoom, fmt=fmt, quality=quality)
        if reuse:  # the widget's own sheets, as they are
            doc["clips"] = [None if p is None else {**p, "data": base64.b64encode(bytes(p["data"])).decode("ascii")}
                            for p in encoded]
        size = 2 * len(script_json(doc)) + runtime + 2 * math.ceil(len(poster) * 4 / 3)  # the poster: PNG and HTML
        tried.append(size)
        if size <= budget:
            break
        smallest = min(min(c.height, c.width) for c in small if c is not None)
        if scale > 0.25 and smallest * 0.5 >= 16:
            scale /= 2
        elif length > 8:
            length = max(8, length // 2)
        else:  # even 8 frames at a quarter size do not fit: the poster alone
            note = (f"vidvis: the static copy of this grid ({_mb(tried[0])}) does not fit the {_mb(budget)} budget "
                    "even downscaled and shortened; only this poster is saved. Raise it with "
                    "vidvis_widgets.static_outputs(budget=...).")
            return {"image/png": base64.b64encode(poster_png(clips, **layout, note=note)).decode("ascii")}
    if (scale, length) != (1.0, frames):
        parts = ([f"downscaled to {scale:g}×"] if scale < 1 else []) + \
                ([f"shortened to its first {length} of {frames} frames"] if length < frames else [])
        note = (f"Saved copy {' and '.join(parts)} to fit the {_mb(budget)} budget per output "
                f"(it was {_mb(tried[0])}); with a kernel the live player shows everything. "
                "vidvis_widgets.static_outputs(budget=...) sets the budget.")
        doc["note"] = note
    return {CLIPS_MIME: doc, "text/html": grid_html(doc, poster), "image/png": base64.b64encode(poster).decode("ascii")}
