"""The one place a clip grid becomes a widget: results, views and the player itself display through here.

Methods return results that describe themselves as :class:`~vidvis_widgets.media.grid.ClipGrid` data and
never import widgets; importing this module registers :func:`player` as the renderer that turns those
grids into a :class:`ClipPlayer` (``result.show()``, and a result's notebook output)."""

from __future__ import annotations

from typing import Any

import inspect

from ..media.grid import GRID_FIELDS, ClipGrid, register_renderer
from .clip_player import ClipPlayer

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
