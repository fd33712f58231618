"""The text/html copy shows the poster where no script runs (a sanitizing viewer, JupyterLab without the
extension), and the poster's second copy counts against the size budget."""

from __future__ import annotations

import base64
import html.parser
import io

import numpy as np
from PIL import Image

from vidvis_widgets.media.clips import Clip
from vidvis_widgets.widgets.static import CLIPS_MIME, script_json, static_bundle


class _Images(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.images: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))


def _bar_clips(n=2, t=6, size=32):
    clips = []
    for k in range(n):
        f = np.zeros((t, size, size, 3), np.uint8)
        f[np.arange(t), :, (np.arange(t) * 4 + k) % size] = (255, 80 * k, 0)
        clips.append(Clip(f, "rgb"))
    return clips


def test_the_html_copy_shows_the_poster_as_an_image_before_any_script():
    data = static_bundle(_bar_clips(), captions=["right", "left"])
    parser = _Images()
    before_script = data["text/html"].split("<script", 1)[0]  # what a viewer that strips scripts keeps
    parser.feed(before_script)
    (img,) = parser.images
    assert img["src"] == "data:image/png;base64," + data["image/png"]  # the same poster as the image/png copy
    assert "plays where JavaScript runs" in img["alt"]
    poster = np.asarray(Image.open(io.BytesIO(base64.b64decode(data["image/png"]))).convert("RGB"))
    assert poster[..., 0].max() == 255 and poster.std() > 10  # a picture (the bars), not a blank


def test_the_budget_counts_the_poster_in_the_html_copy_too():
    rng = np.random.default_rng(1)
    noisy = [Clip(rng.integers(0, 256, (24, 96, 96, 3), dtype=np.uint8), "rgb") for _ in range(4)]
    budget = 512 * 1024
    data = static_bundle(noisy, budget=budget)
    assert CLIPS_MIME in data
    size = len(script_json(data[CLIPS_MIME])) + len(data["text/html"]) + len(data["image/png"])
    assert size <= budget, size  # everything the output saves, the poster twice included
