"""The one place a clip grid becomes a widget: results, views and the player itself display through here.

Methods return results that describe themselves as :class:`~vidvis_widgets.media.grid.ClipGrid` data and
never import widgets; importing this module registers :func:`player` as the renderer that turns those
grids into a :class:`ClipPlayer` (``result.show()``, and a result's notebook output)."""

from __future__ import annotations

from typing import Any

import inspect
import json
from pathlib import Path

from plotly.basedatatypes import BaseFigure

from .._atomic import atomic_path, check_target
from ..media.clips import as_clip
from ..media.grid import GRID_FIELDS, ClipGrid, grid_shape, register_renderer
from .clip_player import ClipPlayer
from .figure_image import figure_image
from .outputs import display_followed
from .static import grid_json, static_bundle

#: what a ClipPlayer takes besides the grid: its constructor's options and its synced settings
OPTIONS = frozenset(
    {n for n, p in inspect.signature(ClipPlayer.__init__).parameters.items() if p.kind is p.KEYWORD_ONLY}
    | {n for n in ClipPlayer.class_trait_names(sync=True) if not n.startswith("_")}) - GRID_FIELDS


def player(grid: ClipGrid, **options: Any) -> ClipPlayer:
    """A ClipPlayer showing ``grid``; ``options`` are ClipPlayer's (``image_format``, ``zoom``, ``playing``, …)."""
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise TypeError(f"unknown display option(s) {', '.join(map(repr, unknown))}; expected ClipGrid fields "
                        f"({', '.join(sorted(GRID_FIELDS))}), the object's own clip_grid arguments, or ClipPlayer's "
                        f"options ({', '.join(sorted(OPTIONS))})")
    if grid.fps is not None:
        options.setdefault("fps", grid.fps)
    return ClipPlayer(grid.clips, captions=grid.captions, rows=grid.rows, cols=grid.cols,
                      row_headers=grid.row_headers, col_headers=grid.col_headers, **options)


register_renderer(player)


def _parts(widget, found: list) -> list:
    """The players and plots inside a view, in reading order."""
    if isinstance(widget, ClipPlayer):
        found.append(widget)
    elif isinstance(widget, BaseFigure):
        found.append(widget)
    else:
        for child in getattr(widget, "children", ()):
            _parts(child, found)
    return found


def view_grid(view) -> ClipGrid:
    """What a view shows, as one grid: each plot as an image, each player's clips on its own rows."""
    rows: list[tuple[list, list[str]]] = []
    fps = None
    for part in _parts(view, []):
        if isinstance(part, ClipPlayer):
            fps = fps or part.fps
            clips, caps = part.clips, list(part.captions)
            for r in range(part.rows):
                cut = slice(r * part.cols, (r + 1) * part.cols)
                if any(c is not None for c in clips[cut]):
                    rows.append((clips[cut], caps[cut]))
        else:
            title = part.layout.title.text if part.layout.title is not None and part.layout.title.text else "plot"
            rows.append(([as_clip(figure_image(part), layout="HWC")], [str(title)]))
    cols = max((len(c) for c, _ in rows), default=1)
    clips = [c for cells, _ in rows for c in list(cells) + [None] * (cols - len(cells))]
    captions = [t for _, caps in rows for t in list(caps) + [""] * (cols - len(caps))]
    return ClipGrid(clips, captions=captions, rows=len(rows), cols=cols, fps=fps)


def view_mimebundle(view, live):
    """An analysis view's notebook output: the live view and, beside it, a static copy of what it shows."""
    if live is None:
        return None
    data, metadata = live if isinstance(live, tuple) else (live, {})
    grid = view_grid(view)
    if grid.clips:
        data = {**data, **static_bundle(grid.clips, captions=grid.captions, rows=grid.rows, cols=grid.cols,
                                        fps=grid.fps or 10.0)}
    return data, metadata


class SavedView:
    """Mixin for the analysis views (boxes of plots and players): their notebook output carries, beside the
    live view, a static copy of its plots (as images) and clips, kept current as they change (:mod:`.outputs`)."""

    def _repr_mimebundle_(self, **kwargs):
        return view_mimebundle(self, super()._repr_mimebundle_(**kwargs))

    def _ipython_display_(self) -> None:
        """Displayed in a notebook, the output's saved copy follows the view (see :mod:`.outputs`)."""
        display_followed(self, self._repr_mimebundle_)


def save_clips(obj, path: str | Path, *, image_format: str = "jpeg", quality: int = 90) -> Path:
    """Writes what ``obj`` shows (a ClipPlayer, a result, anything with ``clip_grid()``, or an analysis view)
    to ``path``, a ``.vidvis.json`` file: the whole grid, self-contained. JupyterLab opens it in a tab with
    the extension's player, with no kernel; written atomically."""
    path = Path(path)
    if not path.name.endswith(".vidvis.json"):
        raise ValueError(f"path must end in .vidvis.json (the file type JupyterLab opens with the vidvis player), "
                         f"got {str(path)!r}")
    if image_format not in ("jpeg", "png"):
        raise ValueError(f"image_format must be 'jpeg' or 'png', got {image_format!r}")
    check_target(path, "path")  # a folder there, or a file above it: refused before the clips are encoded
    if isinstance(obj, ClipPlayer):
        grid = ClipGrid(obj.clips, captions=list(obj.captions), rows=obj.rows, cols=obj.cols,
                        row_headers=list(obj.row_headers), col_headers=list(obj.col_headers), fps=obj.fps)
    elif hasattr(obj, "clip_grid"):  # a result describes itself as a grid: no player needs building
        grid = obj.clip_grid()
    elif hasattr(obj, "children"):
        grid = view_grid(obj)
    else:
        raise TypeError(f"save_clips takes a ClipPlayer, a result with clip_grid(), or an analysis view; "
                        f"got {type(obj).__name__}")
    rows, cols = grid_shape(len(grid.clips), grid.rows, grid.cols)  # a result's grid may leave them to the player
    doc = grid_json(grid.clips, captions=grid.captions or [""] * len(grid.clips), rows=rows, cols=cols,
                    row_headers=grid.row_headers or (), col_headers=grid.col_headers or (), fps=grid.fps or 10.0,
                    fmt=image_format, quality=quality)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(doc), encoding="utf-8")
    return path
