"""The exported atlas site in Chromium from file://, with the network refused: home → a layer's grid → a unit →
one of its top clips, which plays; the back button walks the pages back; no user string becomes markup."""

from __future__ import annotations

import io
from urllib.parse import quote

import numpy as np
import pytest
from PIL import Image

from vidvis_widgets.atlas.export import export_site

from ..atlas_fake import HOSTILE, FakeAtlas, _colour
from .harness import ARTIFACTS

pytestmark = pytest.mark.e2e


def _pixels(locator) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB")).astype(int)


@pytest.fixture
def site_page(browser, tmp_path):
    site = export_site(FakeAtlas(units=6), tmp_path / "site")
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    blocked: list[str] = []
    context.route("**/*", lambda route: (blocked.append(route.request.url), route.abort())
                  if not route.request.url.startswith(("file:", "blob:", "data:")) else route.continue_())
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.goto((site / "index.html").as_uri())
    yield page, site, problems
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "atlas_site.png"), full_page=True)
    context.close()
    assert problems == [] and blocked == [], (problems, blocked)


def test_site_browses_layer_unit_top_clip_offline_and_back(site_page):
    page, _site, _problems = site_page
    layer = "conv1<b>"
    page.locator(f'[data-atlas-layer="{layer}"]').click()
    page.wait_for_selector('[data-testid="atlas-page"][data-state="ready"] [data-testid="atlas-grid"]')
    assert page.evaluate("location.hash") == f"#/layer/{quote(layer, safe='')}"
    # the grid is ordered by class selectivity, highest first; each cell draws its unit's sprite cell
    units = [int(u) for u in page.locator("[data-atlas-unit]").evaluate_all("els => els.map(e => e.dataset.atlasUnit)")]
    assert units == sorted(range(6), key=lambda u: -FakeAtlas.selectivity(u))
    for stream, offset in (("appearance", 0), ("motion", 999)):
        thumb = page.locator(f'[data-atlas-unit="{units[1]}"] .vv-atlas-thumb[data-stream="{stream}"]')
        px = _pixels(thumb)
        centre = px[px.shape[0] // 2, px.shape[1] // 2]
        assert np.abs(centre - _colour(units[1] + offset)).max() <= 3, (stream, centre, _colour(units[1] + offset))

    unit = units[0]
    page.locator(f'[data-atlas-unit="{unit}"]').click()
    page.wait_for_selector('[data-testid="atlas-page"][data-page="unit"][data-state="ready"]')
    assert page.evaluate("location.hash") == f"#/unit/{quote(layer, safe='')}/{unit}"
    assert page.locator("h2").text_content() == f"{layer} · unit {unit}"
    # the γ sweep's frame sheets play: the frame each shows moves on
    sheet = page.locator('[data-testid="atlas-sweep"] [data-atlas-clip][data-frames="4"]').first
    seen = set()
    for _ in range(8):
        seen.add(sheet.get_attribute("data-frame"))
        page.wait_for_timeout(80)
    assert len(seen) >= 3, seen
    assert page.locator('[data-testid="atlas-histogram"] rect').count() == 3

    # a top clip plays on the stage when clicked
    page.locator('[data-testid="atlas-top-clips"] [data-atlas-clip-index="11"]').click()
    video = page.locator('[data-testid="atlas-top-clips-stage"] video[data-atlas-clip="clip-11.webm"]')
    video.wait_for()
    page.wait_for_function("v => v.readyState >= 2 && v.currentTime > 0", arg=video.element_handle(), timeout=15_000)
    t0 = video.evaluate("v => v.currentTime")
    page.wait_for_function("([v, t]) => v.currentTime !== t", arg=[video.element_handle(), t0], timeout=5_000)
    px = _pixels(video)
    assert px.max() - px.min() > 100  # it paints the clip (a bright square on a dark field), not a blank box

    page.go_back()
    page.wait_for_selector('[data-testid="atlas-page"][data-page="layer"][data-state="ready"] [data-atlas-unit]')
    page.go_back()
    page.wait_for_selector('[data-testid="atlas-page"][data-page="home"][data-state="ready"] [data-atlas-layer]')
    assert page.evaluate("location.hash") in ("", "#/")


def test_site_class_page_and_hostile_names_stay_text(site_page):
    page, site, problems = site_page
    page.wait_for_selector("[data-atlas-class]")
    assert page.title() == f"{HOSTILE} · vidvis atlas"
    assert page.locator(".vv-atlas-title").text_content() == HOSTILE
    page.locator("[data-testid=atlas-classes] [data-atlas-class]").nth(1).click()
    page.wait_for_selector('[data-testid="atlas-page"][data-page="class"][data-state="ready"]')
    assert page.locator("h2").text_content() == HOSTILE
    assert page.locator('[data-testid="atlas-leaps"] [data-atlas-clip]').count() == 2
    assert page.locator('[data-testid="atlas-confusions"] [data-atlas-class]').text_content() == "class2"
    page.locator('[data-testid="atlas-misclassified"] [data-atlas-clip-index="21"]').click()
    page.wait_for_function("() => { const v = document.querySelector("
                           "'[data-testid=\"atlas-misclassified-stage\"] video'); return v && v.currentTime > 0; }",
                           timeout=15_000)
    # a page the export lacks says so, instead of failing silently
    (site / "data" / "unit-0-2.js").unlink()
    page.evaluate("location.hash = '#/unit/' + encodeURIComponent('conv1<b>') + '/2'")
    page.wait_for_selector('[data-testid="atlas-error"]')
    assert "unit-0-2.js is missing" in page.locator('[data-testid="atlas-error"]').text_content()
    assert problems == ["console: Failed to load resource: net::ERR_FILE_NOT_FOUND"]  # that file, and only it
    problems.clear()
    assert page.evaluate("() => window.__pwned") is None
