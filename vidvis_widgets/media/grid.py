"""Clip grids as data: their geometry (shared by the widgets and by video export), the :class:`ClipGrid` a
result turns into, and the :class:`Displayable` base that shows one through the registered renderer."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable, Sequence

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


@dataclass
class ClipGrid:
    """What a displayable object shows, as data: clips on a grid with their captions and headers.

    ``clips``: anything :func:`~vidvis_widgets.media.clips.as_clip` takes (or ``None`` for an empty cell);
    ``fps``: the playback rate (``None``: the player's default). Methods build grids; one place in
    ``widgets/`` turns a grid into a player and into a notebook output."""

    clips: list
    captions: list[str] | None = None
    rows: int | None = None
    cols: int | None = None
    row_headers: list[str] | None = None
    col_headers: list[str] | None = None
    fps: float | None = None

    def replace(self, **changes) -> "ClipGrid":
        return dataclasses.replace(self, **changes)


#: the grid's own fields; ``show(**kw)`` applies these to the grid and hands the rest to the player
GRID_FIELDS = frozenset(f.name for f in dataclasses.fields(ClipGrid))

_renderer: Callable | None = None


def register_renderer(render: Callable) -> None:
    """Sets what turns a :class:`ClipGrid` into a displayable player (``widgets/`` registers the ClipPlayer)."""
    global _renderer
    _renderer = render


def render(grid: ClipGrid, **player_options):
    if _renderer is None:
        raise RuntimeError("no clip renderer is registered; import vidvis_widgets (its widgets register one)")
    return _renderer(grid, **player_options)


class Displayable:
    """An object that shows itself as a clip grid: subclasses give :meth:`clip_grid`.

    ``show(*args, **kw)``: ``kw`` naming a :class:`ClipGrid` field (``rows``, ``cols``, ``captions``, ``fps``,
    …) changes the grid, any other player option (``image_format``, ``zoom``, …) goes to the player, and the
    rest to :meth:`clip_grid`. In a notebook the object displays as :meth:`show` does with no arguments."""

    def clip_grid(self, *args, **kw) -> ClipGrid:  # pragma: no cover - the interface
        raise NotImplementedError

    def show(self, *args, **kw):
        import inspect

        grid_kw = {k: kw.pop(k) for k in list(kw) if k in GRID_FIELDS}
        params = inspect.signature(self.clip_grid).parameters
        own = {k: kw.pop(k) for k in list(kw) if k in params}
        grid = self.clip_grid(*args, **own)
        return render(grid.replace(**{k: v for k, v in grid_kw.items()}), **kw)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.show()._repr_mimebundle_(include=include, exclude=exclude)

    def _ipython_display_(self) -> None:  # displayed by IPython as its player is, which keeps its output current
        from IPython.display import display

        display(self.show())
