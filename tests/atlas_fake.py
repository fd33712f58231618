"""A stand-in atlas for the static site's tests: the `Atlas` reader's methods, giving pages shaped as in
js/lib/atlas_types.ts with tiny generated media (PNG sprites and frame sheets, VP8 webm clips). Its class and layer
names are hostile HTML, so the tests also check that nothing from the data reaches the page as markup."""

from __future__ import annotations

import io
import zlib
from functools import lru_cache

import numpy as np
from PIL import Image

HOSTILE = "<img src=x onerror=\"window.__pwned=1\">&amp;"
CELL = 16


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _colour(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(40, 255, 3).astype(np.uint8)


def _square_frames(seed: int, frames: int, side: int) -> np.ndarray:
    """A bright square moving right over a dark field, its colour from ``seed``."""
    out = np.full((frames, side, side, 3), 20, np.uint8)
    for t in range(frames):
        x = (t * 3) % (side - side // 4)
        out[t, side // 3: side // 3 + side // 4, x: x + side // 4] = _colour(seed)
    return out


@lru_cache(maxsize=None)
def webm(seed: int, frames: int = 24, side: int = 32) -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="webm") as box:
        stream = box.add_stream("libvpx", rate=12)
        stream.width = stream.height = side
        stream.pix_fmt = "yuv420p"
        for f in _square_frames(seed, frames, side):
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                box.mux(packet)
        for packet in stream.encode():
            box.mux(packet)
    return buf.getvalue()


class FakeAtlas:
    """``units``: units of the one unit layer; ``classes``: class count (class 1 has a hostile name)."""

    def __init__(self, units: int = 4, classes: int = 3, name: str = HOSTILE, class_units: list[int] | None = None):
        self.name = name
        self.classes = [f"class{c}" if c != 1 else HOSTILE for c in range(classes)]
        self.unit_ids = list(range(units))
        self.layer_names = ["conv1<b>", "fc8"]
        self.media_calls: list[str] = []
        self.class_units = list(range(classes)) if class_units is None else class_units

    # -- pages --------------------------------------------------------------------------------------------
    def manifest(self) -> dict:
        return {
            "version": 1, "name": self.name, "model": "fake_two_stream", "weights": "ab" * 32,
            "streams": ["appearance", "motion"], "classes": list(self.classes),
            "layers": [
                {"name": self.layer_names[0], "kind": "units", "channels": len(self.unit_ids) + 4,
                 "receptive_field": [3, 7, 7], "stride": [1, 2, 2], "units": list(self.unit_ids)},
                {"name": self.layer_names[1], "kind": "classes", "channels": len(self.classes),
                 "receptive_field": None, "stride": None, "units": list(self.class_units)},
            ],
            "presets": [{"kappa": 1.0, "gamma": 0.1}, {"kappa": 1.0, "gamma": float("nan")}], "thumb_preset": 0,
            "has": {"leaps": True, "tubes": True, "histograms": True},
        }

    def _units(self, layer: str) -> list[int]:
        i = self.layer_names.index(layer)
        return self.unit_ids if i == 0 else self.class_units

    @staticmethod
    def selectivity(unit: int) -> float:
        return float((unit * 7) % 10) / 10  # not in unit order, so the grid's order shows

    def layer_page(self, layer: str) -> dict:
        i = self.layer_names.index(layer)
        units = self._units(layer)
        cells = [{"unit": u, "cell": k, "selectivity": self.selectivity(u), "top_class": self.classes[u % len(self.classes)],
                  "value": 0.5} for k, u in enumerate(units)]
        cells.sort(key=lambda c: -c["selectivity"])
        columns = min(32, max(1, len(units)))
        return {"layer": layer, "receptive_field": [3, 7, 7] if i == 0 else None, "stride": [1, 2, 2] if i == 0 else None,
                "sprites": [{"ref": f"sprite-{i}-{s}.png", "stream": s, "columns": columns, "cell_width": CELL,
                             "cell_height": CELL} for s in ("appearance", "motion")],
                "units": cells}

    def _sheet_input(self, key: str) -> dict:
        return {s: {"ref": f"am-{key}-{s}.png", "mime": "image/png", "width": CELL, "height": CELL, "frames": 4,
                    "fps": 8} for s in ("appearance", "motion")}

    def _video(self, index: int) -> dict:
        return {"video": {"ref": f"clip-{index}.webm", "mime": "video/webm", "width": 32, "height": 32, "frames": 24,
                          "fps": 12}}

    def unit_page(self, layer: str, unit: int) -> dict:
        i = self.layer_names.index(layer)
        if unit not in self._units(layer):
            raise KeyError(f"no unit {unit} in {layer}")
        return {"layer": layer, "unit": unit, "top_class": self.classes[unit % len(self.classes)],
                "selectivity": self.selectivity(unit),
                "sweep": [{"kappa": 1.0, "gamma": g, "value": 0.8, "input": self._sheet_input(f"{i}-{unit}-{k}")}
                          for k, g in enumerate((0.1, 1.0))],
                "histogram": {"classes": list(self.classes),
                              "values": [float(c == unit % len(self.classes)) + 0.1 * c for c in range(len(self.classes))]},
                "top_clips": [{"index": 10 + k, "label": self.classes[k % len(self.classes)], "response": 2.0 - k,
                               "clip": self._video(10 + k)} for k in range(2)],
                "tubes": [{"index": 10, "label": self.classes[0], "predicted": self.classes[1],
                           "clip": {"ref": "tube-10.webm", "mime": "video/webm", "width": 32, "height": 32, "frames": 24}}]}

    def class_page(self, cls: str) -> dict:
        c = self.classes.index(cls)
        if c not in self.class_units:
            raise KeyError(f"class {cls!r} has no page")
        return {"class": cls, "index": c, "am": [{"kappa": 1.0, "gamma": 0.1, "value": None,
                                                 "input": self._sheet_input(f"class-{c}")}],
                "leaps": self._sheet_input(f"leaps-{c}"), "accuracy": 0.5,
                "confusions": [{"class": self.classes[(c + 1) % len(self.classes)], "count": 2}],
                "misclassified": [{"index": 20 + c, "predicted": self.classes[(c + 1) % len(self.classes)],
                                   "clip": self._video(20 + c)}],
                "tubes": []}

    # -- media --------------------------------------------------------------------------------------------
    def media(self, ref: str) -> tuple[bytes, str]:
        self.media_calls.append(ref)
        if ref.endswith(".webm"):
            return webm(int(ref.split("-")[1].split(".")[0])), "video/webm"
        if ref.startswith("sprite-"):
            _, i, stream = ref[:-4].split("-")
            n = len(self.unit_ids) if i == "0" else len(self.classes)
            columns = min(32, max(1, n))
            rows = -(-n // columns)
            sheet = np.zeros((rows * CELL, columns * CELL, 3), np.uint8)
            for k in range(n):
                r, c = divmod(k, columns)
                sheet[r * CELL:(r + 1) * CELL, c * CELL:(c + 1) * CELL] = _colour(k + (0 if stream == "appearance" else 999))
            return _png(sheet), "image/png"
        if ref.startswith("am-"):
            frames = _square_frames(zlib.crc32(ref.encode()) % 1000, 4, CELL)
            return _png(np.concatenate(list(frames), axis=1)), "image/png"  # a strip of 4 frames
        raise KeyError(f"no media {ref!r}")
