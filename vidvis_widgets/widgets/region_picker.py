"""RegionPicker: draw boxes on a clip's frame with the mouse; read them back as regions."""

from __future__ import annotations

from typing import Any, Sequence

import anywidget
import traitlets

from .. import _frontend
from ..media.clips import as_clip
from ..methods.core.regions import Region, box
from .serializers import FORMATS, MAX_MESSAGE_BYTES, ImageFormat, encode_clips, qualities

_KEYS = ("x0", "y0", "x1", "y1")


def _as_box(b: Any, i: int) -> dict:
    """One synced box, checked: {"name": str, "x0", "y0", "x1", "y1": fractions of the frame}."""
    if not isinstance(b, dict) or any(k not in b for k in _KEYS):
        raise traitlets.TraitError(f"boxes[{i}] must be a dict with x0, y0, x1, y1 (fractions of the frame in [0, 1]) "
                                   f"and a name, got {b!r}")
    try:
        values = [float(b[k]) for k in _KEYS]
    except (TypeError, ValueError):
        raise traitlets.TraitError(f"boxes[{i}]: x0, y0, x1, y1 must be numbers, got {b!r}") from None
    if not all(0 <= v <= 1 for v in values):
        raise traitlets.TraitError(f"boxes[{i}]: x0, y0, x1, y1 must be fractions of the frame in [0, 1], got {values}")
    name = str(b.get("name") or f"box {i + 1}")
    try:
        box(*values, name=name)
    except ValueError as e:
        raise traitlets.TraitError(f"boxes[{i}]: {e}") from None
    return {"name": name, **dict(zip(_KEYS, values))}


class RegionPicker(anywidget.AnyWidget):
    """Shows a frame of ``clip`` (anything :class:`ClipPlayer` takes as one clip, or one image); drag on it to draw
    a box, click a box's × in the list to remove it, scrub to choose the frame.

    ``boxes`` (synced both ways): one dict per box, ``{"name", "x0", "y0", "x1", "y1"}`` in fractions of the frame
    (x from the left, y from the top). :attr:`regions` gives them as :class:`~vidvis_widgets.methods.core.regions.Region`
    values, for ``region_energy``, interventions and scans; ``add_box`` and ``clear`` edit them from Python.
    Names are shown as text, never as markup."""

    message_budget: int = MAX_MESSAGE_BYTES

    _esm = _frontend.esm("region_picker.js")
    _css = _frontend.css("region_picker.css")

    _clip = traitlets.Dict().tag(sync=True)
    frame = traitlets.Int(0).tag(sync=True)
    boxes = traitlets.List(traitlets.Dict()).tag(sync=True)
    zoom = traitlets.Float(0.0, help="CSS pixels per clip pixel; 0 fits the frame to about 320 pixels").tag(sync=True)

    def __init__(self, clip: Any, *, boxes: Sequence[dict | Region] = (), frame: int = 0, layout: str | None = None,
                 image_format: ImageFormat = "jpeg", quality: int = 90, **kwargs: Any) -> None:
        if image_format not in FORMATS:
            raise ValueError(f"image_format {image_format!r} is not supported; expected one of {', '.join(FORMATS)}")
        qualities(image_format, quality)
        self._clip_obj = as_clip(clip, layout=layout, name="clip")
        super().__init__(**kwargs)
        payload = encode_clips([self._clip_obj], image_format, quality, budget=self.message_budget,
                               state={**self.get_state(), "boxes": []})
        with self.hold_sync():
            self._clip = payload[0]
            self.frame = frame
            self.boxes = [self._from_region(b) if isinstance(b, Region) else b for b in boxes]

    @property
    def num_frames(self) -> int:
        return self._clip_obj.num_frames

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of the clip's frames."""
        return tuple(self._clip_obj.frames.shape[1:3])

    @property
    def regions(self) -> list[Region]:
        """The drawn boxes as regions, in drawing order (fractions of the frame: they fit any clip size)."""
        return [box(b["x0"], b["y0"], b["x1"], b["y1"], name=b["name"]) for b in self.boxes]

    def add_box(self, x0: float, y0: float, x1: float, y1: float, name: str | None = None) -> Region:
        """Adds a box (fractions of the frame, or pixels of the clip's frame when any value is > 1)."""
        h, w = self.size
        r = box(x0, y0, x1, y1, name=name or f"box {len(self.boxes) + 1}", size=(h, w))
        self.boxes = [*self.boxes, self._from_region(r)]
        return self.regions[-1]

    def clear(self) -> None:
        self.boxes = []

    def _from_region(self, r: Region) -> dict:
        if r.box is None:
            raise ValueError(f"boxes: the picker draws boxes; region {r.name!r} is a {r.form}")
        x0, y0, x1, y1 = r.box
        if max(r.box) > 1:  # pixels: of the region's frame, else of the clip's
            h, w = r.size or self.size
            x0, x1, y0, y1 = x0 / w, x1 / w, y0 / h, y1 / h
        return {"name": r.name, "x0": x0, "y0": y0, "x1": min(x1, 1.0), "y1": min(y1, 1.0)}

    @traitlets.validate("boxes")
    def _valid_boxes(self, proposal: dict) -> list[dict]:
        out = [_as_box(b, i) for i, b in enumerate(proposal["value"])]
        names = [b["name"] for b in out]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise traitlets.TraitError(f"boxes must have distinct names; {', '.join(map(repr, twice))} appear twice")
        return out

    @traitlets.validate("frame")
    def _valid_frame(self, proposal: dict) -> int:
        frame = int(proposal["value"])
        if not 0 <= frame < self.num_frames:
            raise traitlets.TraitError(f"frame {frame} is out of range; the clip has frames 0..{self.num_frames - 1}")
        return frame

    @traitlets.validate("zoom")
    def _valid_zoom(self, proposal: dict) -> float:
        zoom = float(proposal["value"])
        if not 0 <= zoom <= 32:
            raise traitlets.TraitError(f"zoom must be 0 (fit) or a scale up to 32, got {zoom}")
        return zoom

    def __repr__(self) -> str:
        h, w = self.size
        return f"RegionPicker({self.num_frames} frames of {h}×{w}, frame {self.frame}, {len(self.boxes)} boxes)"
