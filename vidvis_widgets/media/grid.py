"""Grid geometry shared by the widgets and by video export."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .clips import Clip


#: cells in a row of six 128 px clips fit a notebook's output column; longer sequences wrap into more rows
ROW_CELLS = 6


def grid_shape(count: int, rows: int | None = None, cols: int | None = None) -> tuple[int, int]:
    """(rows, cols) for ``count`` cells; errors if the grid is too small or has an empty row/column."""
    for label, v in (("rows", rows), ("cols", cols)):
        if v is not None and (not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1):
            raise ValueError(f"{label} must be a positive integer, got {v!r}")
    if rows is None and cols is None:
        cols = count if count <= ROW_CELLS else math.ceil(math.sqrt(count))
    if rows is None:
        rows = math.ceil(count / cols)
    if cols is None:
        cols = math.ceil(count / rows)
    rows, cols = int(rows), int(cols)
    if rows * cols < count:
        raise ValueError(f"a {rows}×{cols} grid has {rows * cols} cells, too few for {count} clips; "
                         "give rows and cols with rows × cols ≥ number of clips (use None for empty cells)")
    if (rows - 1) * cols >= count or cols > count:
        raise ValueError(f"a {rows}×{cols} grid leaves a whole row or column empty for {count} clips; "
                         "give rows and cols that fit the number of clips (use None for intentionally empty cells)")
    return rows, cols


def tile_clips(
    clips: Sequence[Clip | None], rows: int | None = None, cols: int | None = None, pad: int = 2, background: int = 255
) -> np.ndarray:
    """One T×H×W×3 uint8 video of clips on a grid; shorter clips hold their last frame, as in the player."""
    present = [c for c in clips if c is not None]
    rows, cols = grid_shape(len(clips), rows, cols)
    h = max(c.height for c in present)
    w = max(c.width for c in present)
    t = max(c.num_frames for c in present)
    out = np.full((t, rows * h + (rows - 1) * pad, cols * w + (cols - 1) * pad, 3), background, np.uint8)
    for i, c in enumerate(clips):
        if c is None:
            continue
        r, k = divmod(i, cols)
        y, x = r * (h + pad), k * (w + pad)
        idx = np.minimum(np.arange(t), c.num_frames - 1)
        out[:, y : y + c.height, x : x + c.width] = c.frames[idx]
    return out
