"""The atlas document in a real JupyterLab: an exported atlas's atlas.vvatlas opens in a tab with the atlas browser
(the file type's default viewer, as a double click in the file browser opens it), reading the export's data/ and
media/ through the server: home → a layer's grid → a unit → a top clip, which plays."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from vidvis_widgets.atlas.export import export_site

from ..atlas_fake import HOSTILE, FakeAtlas, _colour
from .harness import ARTIFACTS, REPO, JupyterLab

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


def _pixels(locator) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB")).astype(int)


def _open(page, lab, path: str) -> None:
    page.goto(lab.url(path))
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget", timeout=60_000)


def test_atlas_file_opens_as_a_document_layer_unit_top_clip(lab, page):
    site = export_site(FakeAtlas(units=6), lab.root / FOLDER / "site")
    path = f"{FOLDER}/site/atlas.vvatlas"
    _open(page, lab, path)
    doc = page.locator(".vv-atlas-document")
    doc.locator("[data-atlas-layer]").first.wait_for(timeout=60_000)
    # the atlas's default viewer is ours, and the tab is the file's
    assert page.evaluate("() => window.jupyterapp.docRegistry.defaultWidgetFactory('x/atlas.vvatlas').name") == \
        "vidvis atlas"
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.context.path") == path
    assert doc.locator(".vv-atlas-title").text_content() == HOSTILE  # a name is text, never markup

    layer = "conv1<b>"
    doc.locator(f'[data-atlas-layer="{layer}"]').click()
    doc.locator('[data-testid="atlas-page"][data-state="ready"] [data-testid="atlas-grid"]').wait_for()
    units = [int(u) for u in doc.locator("[data-atlas-unit]").evaluate_all("els => els.map(e => e.dataset.atlasUnit)")]
    assert units == sorted(range(6), key=lambda u: -FakeAtlas.selectivity(u))
    # the sprite came through the server's files and paints each unit's own cell
    thumb = doc.locator(f'[data-atlas-unit="{units[1]}"] .vv-atlas-thumb[data-stream="appearance"]')
    page.wait_for_function("t => getComputedStyle(t).backgroundImage.startsWith('url(\"blob:')",
                           arg=thumb.element_handle())
    px = _pixels(thumb)
    centre = px[px.shape[0] // 2, px.shape[1] // 2]
    assert np.abs(centre - _colour(units[1])).max() <= 3, (centre, _colour(units[1]))
    sprite = page.evaluate("t => getComputedStyle(t).backgroundImage.slice(5, -2)", thumb.element_handle())

    doc.locator(f'[data-atlas-unit="{units[0]}"]').click()
    doc.locator('[data-testid="atlas-page"][data-page="unit"][data-state="ready"]').wait_for()
    assert doc.locator("h2").text_content() == f"{layer} · unit {units[0]}"
    doc.locator('[data-testid="atlas-top-clips"] [data-atlas-clip-index="11"]').click()
    video = doc.locator('[data-testid="atlas-top-clips-stage"] video[data-atlas-clip="clip-11.webm"]')
    video.wait_for()
    page.wait_for_function("v => v.readyState >= 2 && v.currentTime > 0", arg=video.element_handle(), timeout=15_000)
    px = _pixels(video)
    assert px.max() - px.min() > 100  # the clip (a bright square on a dark field) paints, not a blank box

    # a piece the export lacks: the page says which file is missing
    (site / "data" / "unit-0-2.json").unlink()
    page.evaluate("([l]) => document.querySelector('.vv-atlas-document').__vvAtlas.navigate("
                  "{page: 'unit', layer: l, unit: 2})", [layer])
    error = doc.locator('[data-testid="atlas-error"]')
    error.wait_for()
    assert f"{FOLDER}/site/data/unit-0-2.json is missing" in error.text_content()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "atlas_document.png"), full_page=True)
    assert page.evaluate("() => window.__pwned") is None
    # closing the tab releases the media it loaded
    assert page.evaluate("u => fetch(u).then(() => 'read', () => 'gone')", sprite) == "read"
    page.evaluate("() => window.jupyterapp.shell.currentWidget.close()")
    doc.wait_for(state="detached")
    assert page.evaluate("u => fetch(u).then(() => 'read', () => 'gone')", sprite) == "gone"
    assert not page.page_errors, page.page_errors


def test_a_file_that_is_not_an_atlas_says_so(lab, page):
    (lab.root / "bad.vvatlas").write_text('{"format": "something-else", "version": 1}')
    page.goto(f"{lab.base}/lab?token={lab.token}&reset")
    # opened as a user does: a double click in the file browser
    page.locator(".jp-DirListing-itemText", has_text="bad.vvatlas").dblclick(timeout=60_000)
    error = page.locator(".vv-atlas-document .vv-atlas-error")
    error.wait_for(timeout=60_000)
    assert 'format is "something-else", expected "vidvis-atlas"' in error.text_content()
