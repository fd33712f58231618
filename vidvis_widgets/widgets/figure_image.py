"""The analysis views' plots as still images, for their saved static copies (no plotly.js, no kaleido).

Draws the trace types the views use, as they were last shown: bars (response histograms), line scatters
(loss curves of the monitor and the LEAPS view) and heatmaps (the confusion matrix), with the title and axes'
ranges. It is a record of what the plot showed, not a replacement for the interactive plot.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .static import poster_font

#: plotly's default colour cycle
COLORS = ("#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880")


def _num(values) -> np.ndarray:
    try:
        return np.asarray(values if values is not None else [], np.float64).ravel()
    except (TypeError, ValueError):
        return np.zeros(0)


def _title(fig) -> str:
    t = fig.layout.title.text if fig.layout.title is not None else None
    return str(t) if t else ""


def _label(v) -> str:
    return f"{v:.3g}" if isinstance(v, (float, np.floating)) else str(v)


def figure_image(fig, width: int = 480, height: int = 300) -> np.ndarray:
    """``fig`` (a plotly figure) drawn as an H×W×3 uint8 image."""
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = poster_font(11)
    draw.text((8, 4), _title(fig)[:90], fill=(30, 30, 30), font=font)
    left, top, right, bottom = 48, 24, width - 10, height - 40
    traces = list(fig.data)
    heat = next((t for t in traces if t.type == "heatmap"), None)
    if heat is not None:
        z = np.asarray(heat.z if heat.z is not None else [[0]], np.float64)
        z = np.nan_to_num(z)
        lo, hi = float(z.min()), float(z.max())
        norm = (z - lo) / (hi - lo) if hi > lo else np.zeros_like(z)
        rgb = (255 - norm[..., None] * np.array([200, 140, 60])).clip(0, 255).astype(np.uint8)  # white → blue
        side = min(right - left, bottom - top)
        tile = Image.fromarray(rgb).resize((side, side), Image.Resampling.NEAREST)
        img.paste(tile, (left, top))
        draw.text((left, top + side + 4), f"{z.shape[0]}×{z.shape[1]}, {lo:.3g} (white) to {hi:.3g} (blue)",
                  fill=(60, 60, 60), font=font)
        return np.asarray(img)
    series = []
    for t in traces:
        y = _num(getattr(t, "y", None))
        if t.type not in ("bar", "scatter") or y.size == 0:
            continue
        xs = getattr(t, "x", None)
        series.append((t, y, list(xs) if xs is not None else list(range(y.size))))
    draw.rectangle((left, top, right, bottom), outline=(190, 190, 190))
    if not series:
        draw.text((left + 8, top + 8), "(no data shown yet)", fill=(120, 120, 120), font=font)
        return np.asarray(img)
    finite = np.concatenate([y[np.isfinite(y)] for _, y, _ in series] or [np.zeros(1)])
    lo = min(0.0, float(finite.min())) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    hi = hi if hi > lo else lo + 1.0
    yscale = lambda v: bottom - (v - lo) / (hi - lo) * (bottom - top)  # noqa: E731
    draw.text((4, top - 2), _label(hi), fill=(90, 90, 90), font=font)
    draw.text((4, bottom - 10), _label(lo), fill=(90, 90, 90), font=font)
    for k, (t, y, xs) in enumerate(series):
        color = COLORS[k % len(COLORS)]
        if t.type == "bar":
            marker = t.marker.color if t.marker is not None else None
            n = y.size
            w = (right - left) / max(n, 1)
            for i, v in enumerate(y):
                c = marker[i] if isinstance(marker, (list, tuple)) and i < len(marker) else (
                    marker if isinstance(marker, str) else color)
                if np.isfinite(v):
                    draw.rectangle((left + i * w + 1, yscale(v), left + (i + 1) * w - 2, yscale(lo)), fill=c)
            for i in (0, n - 1) if n > 1 else (0,):
                draw.text((left + i * w, bottom + 4), str(xs[i])[:14], fill=(60, 60, 60), font=font)
        else:
            x = _num(xs)
            if x.size != y.size:
                x = np.arange(y.size, dtype=np.float64)
            ok = np.isfinite(x) & np.isfinite(y)
            if ok.sum() < 1:
                continue
            x0, x1 = float(x[ok].min()), float(x[ok].max())
            span = x1 - x0 if x1 > x0 else 1.0
            pts = [(left + (a - x0) / span * (right - left), yscale(b)) for a, b in zip(x[ok], y[ok])]
            draw.line(pts, fill=color, width=2) if len(pts) > 1 else draw.point(pts, fill=color)
            name = t.name or f"trace {k}"
            draw.text((left + 8 + 110 * k, bottom + 18), f"— {name}"[:18], fill=color, font=font)
            draw.text((left, bottom + 4), _label(x0), fill=(90, 90, 90), font=font)
            draw.text((right - 30, bottom + 4), _label(x1), fill=(90, 90, 90), font=font)
    return np.asarray(img)
