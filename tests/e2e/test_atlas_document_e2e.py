"""The atlas document in a real JupyterLab: an exported atlas's atlas.vvatlas opens in a tab with the atlas browser
(the file type's default viewer, as a double click in the file browser opens it), reading the export's data/ and
media/ through the server: home → a layer's grid → a unit → a top clip, which plays."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from vidvis_widgets.atlas.export import export_site

from ..atlas_fixture import tiny_atlas
from .harness import ARTIFACTS, REPO, JupyterLab, pixels

pytestmark = pytest.mark.e2e

FOLDER = "my atlas"  # a space in the path: the files URL is encoded part by part


def tree_lab(tmp_path_factory, name: str) -> JupyterLab:
    """A JupyterLab that loads the extension as built in this tree (vidvis_widgets/labextension), ahead of any
    installed copy, so a rebuilt front end is what the tests see."""
    base = tmp_path_factory.mktemp(name)
    built = REPO / "vidvis_widgets" / "labextension"
    assert (built / "package.json").exists(), "build the front end first (npm run build)"
    (base / "path" / "labextensions").mkdir(parents=True)
    (base / "path" / "labextensions" / "vidvis-widgets").symlink_to(built)
    (base / "root").mkdir()
    server = JupyterLab(base / "root")
    saved = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(base / "path")  # the server (and its kernels) read it at start
    try:
        server.start()
    finally:
        os.environ.pop("JUPYTER_PATH") if saved is None else os.environ.__setitem__("JUPYTER_PATH", saved)
    return server


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = tree_lab(tmp_path_factory, "atlas-document")
    yield server
    server.stop()


def _open(page, lab, path: str) -> None:
    page.goto(lab.url(path))
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget", timeout=60_000)


def test_atlas_file_opens_as_a_document_layer_unit_top_clip(lab, page, tmp_path_factory):
    atlas = tiny_atlas(tmp_path_factory)
    site = export_site(atlas, lab.root / FOLDER / "site")
    path = f"{FOLDER}/site/atlas.vvatlas"
    _open(page, lab, path)
    doc = page.locator(".vv-atlas-document")
    doc.locator("[data-atlas-layer]").first.wait_for(timeout=60_000)
    # the atlas's default viewer is ours, and the tab is the file's
    assert page.evaluate("() => window.jupyterapp.docRegistry.defaultWidgetFactory('x/atlas.vvatlas').name") == \
        "vidvis atlas"
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.context.path") == path
    assert doc.locator(".vv-atlas-title").text_content() == atlas.manifest()["name"]

    layer = "conv5_fusion"
    doc.locator(f'[data-atlas-layer="{layer}"]').click()
    doc.locator('[data-testid="atlas-page"][data-state="ready"] [data-testid="atlas-grid"]').wait_for()
    layer_page = atlas.layer_page(layer)
    units = [int(u) for u in doc.locator("[data-atlas-unit]").evaluate_all("els => els.map(e => e.dataset.atlasUnit)")]
    assert units == [c["unit"] for c in layer_page["units"]]
    # the sprite came through the server's files and paints each unit's own cell
    sprite = layer_page["sprites"][0]
    cell = next(c["cell"] for c in layer_page["units"] if c["unit"] == units[-1])
    sheet = np.asarray(Image.open(site / "media" / sprite["ref"]).convert("RGB")).astype(int)
    w, h = sprite["cell_width"], sprite["cell_height"]
    r, c = divmod(cell, sprite["columns"])
    want = sheet[r * h:(r + 1) * h, c * w:(c + 1) * w]
    thumb = doc.locator(f'[data-atlas-unit="{units[-1]}"] .vv-atlas-thumb[data-stream="{sprite["stream"]}"]')
    got = pixels(thumb)  # a pixel wider where the element sits at a fractional position
    diff = min(np.abs(got[dy:dy + h, dx:dx + w] - want).mean() for dy in (0, 1) for dx in (0, 1)
               if got[dy:dy + h, dx:dx + w].shape == want.shape)
    assert diff < 4, diff
    blob = page.evaluate("t => getComputedStyle(t).backgroundImage.slice(5, -2)", thumb.element_handle())
    assert blob.startswith("blob:")

    doc.locator(f'[data-atlas-unit="{units[0]}"]').click()
    doc.locator('[data-testid="atlas-page"][data-page="unit"][data-state="ready"]').wait_for()
    assert doc.locator("h2").text_content() == f"{layer} · unit {units[0]}"
    top = atlas.unit_page(layer, units[0])["top_clips"][0]
    doc.locator(f'[data-testid="atlas-top-clips"] [data-atlas-clip-index="{top["index"]}"]').click()
    ref = top["clip"]["appearance"]["ref"]
    video = doc.locator(f'[data-testid="atlas-top-clips-stage"] video[data-atlas-clip="{ref}"]')
    video.wait_for()
    page.wait_for_function("v => v.readyState >= 2 && v.currentTime > 0", arg=video.element_handle(), timeout=15_000)
    px = pixels(video)
    assert px.max() - px.min() > 60, px.max() - px.min()  # the clip paints, not a blank box
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "atlas_document.png"), full_page=True)

    # a piece the export lacks: the page says which file is missing
    i = [info["name"] for info in atlas.manifest()["layers"]].index(layer)
    (site / "data" / f"unit-{i}-{units[1]}.json").unlink()
    page.evaluate("([l, u]) => document.querySelector('.vv-atlas-document').__vvAtlas.navigate("
                  "{page: 'unit', layer: l, unit: u})", [layer, units[1]])
    error = doc.locator('[data-testid="atlas-error"]')
    error.wait_for()
    assert f"{FOLDER}/site/data/unit-{i}-{units[1]}.json is missing" in error.text_content()

    # closing the tab releases the media it loaded
    assert page.evaluate("u => fetch(u).then(() => 'read', () => 'gone')", blob) == "read"
    page.evaluate("() => window.jupyterapp.shell.currentWidget.close()")
    doc.wait_for(state="detached")
    assert page.evaluate("u => fetch(u).then(() => 'read', () => 'gone')", blob) == "gone"
    assert not page.page_errors, page.page_errors


def test_a_file_that_is_not_an_atlas_says_so(lab, page):
    (lab.root / "bad.vvatlas").write_text('{"format": "something-else", "version": 1}')
    page.goto(f"{lab.base}/lab?token={lab.token}&reset")
    # opened as a user does: a double click in the file browser
    page.locator(".jp-DirListing-itemText", has_text="bad.vvatlas").dblclick(timeout=60_000)
    error = page.locator(".vv-atlas-document .vv-atlas-error")
    error.wait_for(timeout=60_000)
    assert 'format is "something-else", expected "vidvis-atlas"' in error.text_content()
