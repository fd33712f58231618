"""AtlasView in a real JupyterLab: a notebook cell shows an atlas; a click on a layer, a unit, then a top clip loads
each piece from the kernel (only what is shown), the clip paints, a missing piece shows the kernel's error, and
the kernel stays usable; closing the view releases its blob: URLs."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ..atlas_fake import HOSTILE, FakeAtlas, _colour
from .harness import REPO, NotebookPage, write_notebook
from .test_atlas_document_e2e import tree_lab

pytestmark = pytest.mark.e2e

CELL = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
import vidvis_widgets as vv
from tests.atlas_fake import FakeAtlas
atlas = FakeAtlas(units=6)
view = vv.AtlasView(atlas)
view
"""
LAYER = "conv1<b>"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = tree_lab(tmp_path_factory, "atlas-view")
    yield server
    server.stop()


def _pixels(locator) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB")).astype(int)


def test_atlas_view_layer_unit_top_clip(lab, page):
    write_notebook(lab.root / "atlas_view.ipynb", [CELL])
    nb = NotebookPage(page, lab, "atlas_view.ipynb")
    nb.open()
    nb.run_all()
    view = page.locator(".vv-atlas-view")
    view.locator(f'[data-atlas-layer="{LAYER}"]').wait_for(timeout=90_000)
    assert view.locator(".vv-atlas-title").text_content() == HOSTILE  # names are text, never markup
    assert nb.python_value("atlas.media_calls") == []  # nothing but the manifest so far
    assert nb.python_value("view.requests_served") == []

    view.locator(f'[data-atlas-layer="{LAYER}"]').click()
    view.locator('[data-testid="atlas-page"][data-state="ready"] [data-testid="atlas-grid"]').wait_for()
    units = [int(u) for u in view.locator("[data-atlas-unit]").evaluate_all("els => els.map(e => e.dataset.atlasUnit)")]
    assert units == sorted(range(6), key=lambda u: -FakeAtlas.selectivity(u))
    thumb = view.locator(f'[data-atlas-unit="{units[1]}"] .vv-atlas-thumb[data-stream="motion"]')
    px = _pixels(thumb)
    centre = px[px.shape[0] // 2, px.shape[1] // 2]
    assert np.abs(centre - _colour(units[1] + 999)).max() <= 3, (centre, _colour(units[1] + 999))
    sprite = page.evaluate("t => getComputedStyle(t).backgroundImage.slice(5, -2)", thumb.element_handle())
    assert sprite.startswith("blob:")

    view.locator(f'[data-atlas-unit="{units[0]}"]').click()
    view.locator('[data-testid="atlas-page"][data-page="unit"][data-state="ready"]').wait_for()
    view.locator('[data-testid="atlas-top-clips"] [data-atlas-clip-index="11"]').click()
    video = view.locator('[data-testid="atlas-top-clips-stage"] video[data-atlas-clip="clip-11.webm"]')
    video.wait_for()
    page.wait_for_function("v => v.readyState >= 2 && v.currentTime > 0", arg=video.element_handle(), timeout=15_000)
    px = _pixels(video)
    assert px.max() - px.min() > 100  # the clip (a bright square on a dark field) paints, not a blank box

    # the kernel was asked for the layer, its sprites, the one unit and its media: no other unit, no class
    served = nb.python_value("view.requests_served")
    assert ["layer", LAYER] in served and ["unit", [LAYER, units[0]]] in served
    assert ["media", "clip-11.webm"] in served
    assert {w for w, _ in served} == {"layer", "unit", "media"}
    assert [k for w, k in served if w == "unit"] == [[LAYER, units[0]]]

    # a piece the atlas cannot give: the page shows the kernel's error, and the kernel goes on
    page.evaluate("([l]) => document.querySelector('.vv-atlas-view').__vvAtlas.navigate("
                  "{page: 'unit', layer: l, unit: 99})", [LAYER])
    error = view.locator('[data-testid="atlas-error"]')
    error.wait_for()
    assert "KeyError: no unit 99 in conv1<b>" in error.text_content()
    assert nb.execute("print(6 * 7)").strip() == "42"

    nb.screenshot("atlas_view")
    # closing the widget releases the media it loaded
    assert page.evaluate("u => fetch(u).then(() => 'read', () => 'gone')", sprite) == "read"
    nb.execute("view.close()")
    view.wait_for(state="detached", timeout=30_000)
    assert page.evaluate("u => fetch(u).then(() => 'read', () => 'gone')", sprite) == "gone"
    assert page.evaluate("() => window.__pwned") is None
    assert not page.page_errors, page.page_errors
