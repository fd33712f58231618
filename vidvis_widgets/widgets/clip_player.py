"""ClipPlayer: many RGB / optical-flow clips on one synced grid."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import anywidget
import traitlets

from .. import _frontend
from ..media.clips import Clip, as_clip, as_clip_list, warn_mixed_lengths
from ..media.flow import FlowMode
from ..media.grid import grid_shape
from .static import static_bundle
from .serializers import FORMATS, MAX_MESSAGE_BYTES, ImageFormat, encode_clips, qualities, replace_clip


class ClipPlayer(anywidget.AnyWidget):
    """Plays clips in sync on a grid, with a caption per clip and optional row / column headers.

    ``clips``: one clip, a 5-D batch, or a list of clips (``None`` leaves a cell empty). Each clip is
    RGB (T×H×W×3 uint8, float in [0, 1], T×3×H×W or 3×T×H×W), a single image (H×W×3 or 3×H×W, shown
    beside the clips, e.g. a two-stream model's appearance input), or optical flow with 2 channels in
    the same layouts, rendered by :func:`vidvis_widgets.flow_to_rgb` with ``flow_mode``.

    All clips play from one clock. Clips shorter than the longest hold their last frame (a warning says
    so when lengths differ); single images always show. ``rescale=True`` min–max scales every clip over
    its whole sequence, as the papers display optimized inputs.

    Frames travel as one compressed image per clip (``image_format`` 'jpeg', 'webp' or lossless 'png').
    The whole synced state (clips, captions, headers, settings) must fit one message of
    ``message_budget`` bytes; a lossy set over it is re-encoded at lower quality with a warning, and one that
    still does not fit is refused with :class:`~vidvis_widgets.widgets.serializers.PayloadTooLarge`, which
    says what would fit. ``set_clip`` is held to the same budget.
    Keyboard, with the player focused: space / k play–pause, ← → step, Home / End, l loop, + / − zoom.
    """

    #: bytes the whole synced state may take in one message (see serializers.MAX_MESSAGE_BYTES)
    message_budget: int = MAX_MESSAGE_BYTES

    _esm = _frontend.esm("clip_player.js")
    _css = _frontend.css("clip_player.css")

    _clips = traitlets.List(traitlets.Dict(allow_none=True)).tag(sync=True)
    captions = traitlets.List(traitlets.Unicode()).tag(sync=True)
    rows = traitlets.Int(1).tag(sync=True)
    cols = traitlets.Int(1).tag(sync=True)
    row_headers = traitlets.List(traitlets.Unicode()).tag(sync=True)
    col_headers = traitlets.List(traitlets.Unicode()).tag(sync=True)
    playing = traitlets.Bool(True).tag(sync=True)
    loop = traitlets.Bool(True).tag(sync=True)
    fps = traitlets.Float(10.0).tag(sync=True)
    frame = traitlets.Int(0).tag(sync=True)
    zoom = traitlets.Float(0.0, help="CSS pixels per clip pixel; 0 picks an integer zoom").tag(sync=True)

    def __init__(
        self,
        clips: Any,
        *,
        captions: Sequence[str] | None = None,
        rows: int | None = None,
        cols: int | None = None,
        row_headers: Sequence[str] | None = None,
        col_headers: Sequence[str] | None = None,
        layout: str | Sequence[str | None] | None = None,
        flow_mode: FlowMode = "paper",
        rescale: bool = False,
        image_format: ImageFormat = "jpeg",
        quality: int = 90,
        **kwargs: Any,
    ) -> None:
        if image_format not in FORMATS:
            raise ValueError(f"image_format {image_format!r} is not supported; expected one of {', '.join(FORMATS)}")
        qualities(image_format, quality)  # a bad quality fails here, before any clip is converted
        self._encoding = {"fmt": image_format, "quality": quality}
        self._convert = {"flow_mode": flow_mode, "rescale": rescale}
        self._clip_objs: list[Clip | None] = []
        super().__init__(**kwargs)
        self.set_clips(
            clips, captions=captions, rows=rows, cols=cols, row_headers=row_headers, col_headers=col_headers,
            layout=layout,
        )

    @property
    def clips(self) -> list[Clip | None]:
        """The clips as shown (T×H×W×3 uint8), ``None`` for empty cells."""
        return list(self._clip_objs)

    @property
    def image_format(self) -> str:
        """How the frames travel: 'jpeg', 'webp' or 'png'."""
        return self._encoding["fmt"]

    @property
    def payload(self) -> list[dict | None]:
        """The clips as sent to the front end: one encoded image sheet and its geometry per cell."""
        return list(self._clips)

    @property
    def num_frames(self) -> int:
        """Length of the shared timeline: the longest clip."""
        return max(c.num_frames for c in self._clip_objs if c is not None)

    def set_clips(
        self,
        clips: Any,
        *,
        captions: Sequence[str] | None = None,
        rows: int | None = None,
        cols: int | None = None,
        row_headers: Sequence[str] | None = None,
        col_headers: Sequence[str] | None = None,
        layout: str | Sequence[str | None] | None = None,
    ) -> None:
        """Replaces every clip in place (one message to the front end); the view keeps its frame and settings."""
        objs = as_clip_list(clips, layout=layout, **self._convert)
        n = len(objs)
        rows, cols = grid_shape(n, rows, cols)
        captions = [str(c) for c in captions] if captions is not None else [""] * n
        if len(captions) != n:
            raise ValueError(f"{len(captions)} captions for {n} clips; give one caption per clip (\"\" for none)")
        row_headers = [str(h) for h in row_headers] if row_headers is not None else []
        col_headers = [str(h) for h in col_headers] if col_headers is not None else []
        if row_headers and len(row_headers) != rows:
            raise ValueError(f"{len(row_headers)} row headers for {rows} rows; give one per row or none")
        if col_headers and len(col_headers) != cols:
            raise ValueError(f"{len(col_headers)} column headers for {cols} columns; give one per column or none")
        warn_mixed_lengths(objs)
        payload = encode_clips(objs, **self._encoding, budget=self.message_budget, state=self._state_with(
            captions=captions, rows=rows, cols=cols, row_headers=row_headers, col_headers=col_headers))
        self._clip_objs = objs
        with self.hold_sync():
            self._clips = payload
            self.captions = captions
            self.rows, self.cols = rows, cols
            self.row_headers, self.col_headers = row_headers, col_headers
            if self.frame >= self.num_frames:
                self.frame = self.num_frames - 1

    def set_clip(self, index: int, clip: Any, caption: str | None = None, layout: str | None = None) -> None:
        """Replaces one cell's clip (e.g. a live optimization's current input); other cells are not re-encoded."""
        n = len(self._clip_objs)
        if not -n <= index < n:
            raise IndexError(f"clip index {index} is out of range for {n} cells")
        index %= n
        obj = as_clip(clip, layout=layout, name=f"clip {index}", **self._convert)
        others = self._clip_objs[:index] + [obj] + self._clip_objs[index + 1 :]
        warn_mixed_lengths(others)
        captions = list(self.captions)
        if caption is not None:
            captions[index] = str(caption)
        payload = replace_clip(self._clips, others, index, **self._encoding, budget=self.message_budget,
                               state=self._state_with(captions=captions))
        self._clip_objs = others
        with self.hold_sync():
            self._clips = payload
            self.captions = captions

    def _state_with(self, **changes: Any) -> dict:
        """Every synced trait as it will be after ``changes``: the budget covers the whole state, because a
        reconnecting or newly opened page receives all of it in one message."""
        return {**self.get_state(), **changes}

    @traitlets.validate("fps")
    def _valid_fps(self, proposal: dict) -> float:
        fps = float(proposal["value"])
        if not 0 < fps <= 120:
            raise traitlets.TraitError(f"fps must be in (0, 120], got {fps}")
        return fps

    @traitlets.validate("zoom")
    def _valid_zoom(self, proposal: dict) -> float:
        zoom = float(proposal["value"])
        if not 0 <= zoom <= 32:
            raise traitlets.TraitError(f"zoom must be 0 (auto) or a scale up to 32, got {zoom}")
        return zoom

    @traitlets.validate("frame")
    def _valid_frame(self, proposal: dict) -> int:
        frame = int(proposal["value"])
        if self._clip_objs and not 0 <= frame < self.num_frames:
            raise traitlets.TraitError(f"frame {frame} is out of range; the clips have frames 0..{self.num_frames - 1}")
        return frame

    def _repr_mimebundle_(self, **kwargs: Any):
        """The live widget's view (ipywidgets' bundle) and, beside it, its static copies (:mod:`.static`): the
        vidvis mimetype, offline HTML and a PNG poster."""
        live = super()._repr_mimebundle_(**kwargs)
        if live is None:
            return None
        data, metadata = live if isinstance(live, tuple) else (live, {})
        data = {**data, **static_bundle(self.clips, captions=self.captions, rows=self.rows, cols=self.cols,
                                        row_headers=self.row_headers, col_headers=self.col_headers, fps=self.fps,
                                        loop=self.loop, zoom=self.zoom, fmt=self.image_format,
                                        encoded=self.payload if self.image_format != "webp" else None)}
        return data, metadata

    def _ipython_display_(self) -> None:
        """Displayed in a notebook, the output's saved copy follows the player (see :mod:`.outputs`)."""
        from .outputs import display_followed

        display_followed(self, self._repr_mimebundle_)

    def __repr__(self) -> str:
        caps = [c for c in self.captions if c]
        shown = "; ".join(caps[:4]) + ("; …" if len(caps) > 4 else "")
        n = sum(c is not None for c in self._clip_objs)
        return (f"ClipPlayer({n} clips on a {self.rows}×{self.cols} grid, "
                f"{self.num_frames if n else 0} frames at {self.fps:g} fps{': ' + shown if shown else ''})")

    def to_html(self, path: str | Path, title: str = "vidvis-widgets clips") -> Path:
        """Writes a standalone page that plays these clips in any browser, offline, without a kernel."""
        from .export import write_standalone_html

        return write_standalone_html([self], path, title=title)
