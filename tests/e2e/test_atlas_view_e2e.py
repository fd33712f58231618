"""AtlasView in a real JupyterLab: a notebook cell reopens the tiny built atlas (no model) and shows it; a click
on a layer, a unit, then a top clip loads each piece from the kernel (only what is shown), the clip paints, a missing piece shows the kernel's error, and
the kernel stays usable; closing the view releases its blob: URLs."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ..atlas_fixture import tiny_atlas
from .harness import NotebookPage, pixels, write_notebook
from .test_atlas_document_e2e import tree_lab

pytestmark = pytest.mark.e2e

LAYER = "conv5_fusion"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = tree_lab(tmp_path_factory, "atlas-view")
    yield server
    server.stop()


def test_atlas_view_layer_unit_top_clip(lab, page, tmp_path_factory):
    atlas = tiny_atlas(tmp_path_factory)  # built here once; the kernel only reopens it, with no model
    cell = ("from vidvis_widgets.atlas import open_atlas\n"
            f"atlas = open_atlas({str(atlas.store.root)!r})\n"
            "view = atlas.show()\nview")
    write_notebook(lab.root / "atlas_view.ipynb", [cell])
    nb = NotebookPage(page, lab, "atlas_view.ipynb")
    nb.open()
    nb.run_all()
    view = page.locator(".vv-atlas-view")
    view.locator(f'[data-atlas-layer="{LAYER}"]').wait_for(timeout=90_000)
    assert view.locator(".vv-atlas-title").text_content() == atlas.manifest()["name"]
    assert nb.python_value("view.requests_served") == []  # nothing but the manifest so far

    view.locator(f'[data-atlas-layer="{LAYER}"]').click()
    view.locator('[data-testid="atlas-page"][data-state="ready"] [data-testid="atlas-grid"]').wait_for()
    layer_page = atlas.layer_page(LAYER)
    units = [int(u) for u in view.locator("[data-atlas-unit]").evaluate_all("els => els.map(e => e.dataset.atlasUnit)")]
    assert units == [c["unit"] for c in layer_page["units"]]
    # each thumbnail paints its own cell of the layer's sprite, as the reader stored it
    for k, sprite in enumerate(layer_page["sprites"]):
        cell = next(c["cell"] for c in layer_page["units"] if c["unit"] == units[-1])
        sheet = np.asarray(Image.open(io.BytesIO(atlas.media(sprite["ref"])[0])).convert("RGB")).astype(int)
        w, h = sprite["cell_width"], sprite["cell_height"]
        r, c = divmod(cell, sprite["columns"])
        want = sheet[r * h:(r + 1) * h, c * w:(c + 1) * w]
        thumb = view.locator(f'[data-atlas-unit="{units[-1]}"] .vv-atlas-thumb[data-stream="{sprite["stream"]}"]')
        got = pixels(thumb)  # a pixel wider where the element sits at a fractional position
        diff = min(np.abs(got[dy:dy + h, dx:dx + w] - want).mean() for dy in (0, 1) for dx in (0, 1)
                   if got[dy:dy + h, dx:dx + w].shape == want.shape)
        assert diff < 4, (sprite["stream"], diff)
    blob = page.evaluate("t => getComputedStyle(t).backgroundImage.slice(5, -2)", thumb.element_handle())
    assert blob.startswith("blob:")

    view.locator(f'[data-atlas-unit="{units[0]}"]').click()
    view.locator('[data-testid="atlas-page"][data-page="unit"][data-state="ready"]').wait_for()
    top = atlas.unit_page(LAYER, units[0])["top_clips"][0]
    view.locator(f'[data-testid="atlas-top-clips"] [data-atlas-clip-index="{top["index"]}"]').click()
    ref = top["clip"]["appearance"]["ref"]
    video = view.locator(f'[data-testid="atlas-top-clips-stage"] video[data-atlas-clip="{ref}"]')
    video.wait_for()
    page.wait_for_function("v => v.readyState >= 2 && v.currentTime > 0", arg=video.element_handle(), timeout=15_000)
    px = pixels(video)
    assert px.max() - px.min() > 60, px.max() - px.min()  # the clip paints, not a blank box
    nb.screenshot("atlas_view_unit")

    # the kernel was asked for the layer, its sprites, the one unit and its media: no other unit, no class
    served = nb.python_value("view.requests_served")
    assert served[:3] == [["layer", LAYER]] + [["media", s["ref"]] for s in layer_page["sprites"]]
    assert [k for w, k in served if w == "unit"] == [[LAYER, units[0]]]
    assert {w for w, _ in served} == {"layer", "unit", "media"} and ["media", ref] in served

    # a piece the atlas does not hold: the page shows the reader's error, and the kernel goes on
    page.evaluate("([l]) => document.querySelector('.vv-atlas-view').__vvAtlas.navigate("
                  "{page: 'unit', layer: l, unit: 63})", [LAYER])
    error = view.locator('[data-testid="atlas-error"]')
    error.wait_for()
    assert f"KeyError: unit 63 of layer '{LAYER}' is not in atlas" in error.text_content()
    assert nb.execute("print(6 * 7)").strip() == "42"
    nb.screenshot("atlas_view")

    # closing the widget releases the media it loaded
    assert page.evaluate("u => fetch(u).then(() => 'read', () => 'gone')", blob) == "read"
    nb.execute("view.close()")
    view.wait_for(state="detached", timeout=30_000)
    assert page.evaluate("u => fetch(u).then(() => 'read', () => 'gone')", blob) == "gone"
    assert not page.page_errors, page.page_errors
