"""The exported atlas site in Chromium from file://, with the network refused: home → a layer's grid → a unit →
one of its top clips, which plays; the back button walks the pages back; no user string becomes markup. The click
path runs on the tiny built atlas (tests/atlas_fixture.py); the exact checks (grid order, sprite pixels, hostile
names, a missing page) on a stand-in atlas whose pages and media are known (tests/atlas_fake.py)."""

from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import quote

import numpy as np
import pytest

from vidvis_widgets.atlas.export import export_site

from ..atlas_fake import HOSTILE, FakeAtlas, _colour
from ..atlas_fixture import tiny_atlas
from .harness import ARTIFACTS, pixels

pytestmark = pytest.mark.e2e

READY = '[data-testid="atlas-page"][data-page="{}"][data-state="ready"]'


@contextmanager
def offline_site(browser, site, shot: str):
    """A page showing ``site``/index.html from file://; every request that is not a file fails and is recorded, as
    are page errors and console errors, which must be none at the end."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    blocked: list[str] = []
    context.route("**/*", lambda route: (blocked.append(route.request.url), route.abort())
                  if not route.request.url.startswith(("file:", "blob:", "data:")) else route.continue_())
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.goto((site / "index.html").as_uri())
    try:
        yield page, problems
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
    finally:
        context.close()
    assert problems == [] and blocked == [], (problems, blocked)


def play_top_clip(page, index: int) -> None:
    """Clicks top clip ``index``; its video on the stage decodes, advances and paints more than a flat box."""
    page.locator(f'[data-testid="atlas-top-clips"] [data-atlas-clip-index="{index}"]').click()
    videos = page.locator('[data-testid="atlas-top-clips-stage"] video')
    videos.first.wait_for()
    assert page.locator('[data-testid="atlas-top-clips-stage"]').get_attribute("data-playing") == str(index)
    for k in range(videos.count()):
        video = videos.nth(k).element_handle()
        page.wait_for_function("v => v.readyState >= 2 && v.currentTime > 0", arg=video, timeout=15_000)
        t0 = video.evaluate("v => v.currentTime")
        page.wait_for_function("([v, t]) => v.currentTime !== t", arg=[video, t0], timeout=5_000)
        px = pixels(videos.nth(k))
        assert px.max() - px.min() > 40, k


def test_site_of_the_tiny_atlas_clicks_layer_unit_top_clip_and_back(browser, tmp_path_factory):
    atlas = tiny_atlas(tmp_path_factory)
    site = export_site(atlas, tmp_path_factory.mktemp("site") / "atlas")
    layer = "conv5_fusion"
    page_data = atlas.layer_page(layer)
    with offline_site(browser, site, "atlas_site_tiny") as (page, _):
        page.locator(f'[data-atlas-layer="{layer}"]').click()
        page.wait_for_selector(f"{READY.format('layer')} [data-testid=atlas-grid]")
        assert page.evaluate("location.hash") == f"#/layer/{layer}"
        cells = page.locator("[data-atlas-unit]").evaluate_all("els => els.map(e => Number(e.dataset.atlasUnit))")
        assert cells == [u["unit"] for u in page_data["units"]]  # the page's order: most class-selective first
        assert page.locator(".vv-atlas-thumb").count() == 2 * len(cells)  # appearance and motion side by side
        px = pixels(page.locator(".vv-atlas-thumb").first)
        assert px.max() - px.min() > 40  # the sprite cell is drawn

        unit = cells[0]
        page.locator(f'[data-atlas-unit="{unit}"]').click()
        page.wait_for_selector(READY.format("unit"))
        assert page.evaluate("location.hash") == f"#/unit/{layer}/{unit}"
        unit_page = atlas.unit_page(layer, unit)
        assert page.locator("[data-atlas-sweep]").count() == len(unit_page["sweep"])
        assert page.locator('[data-testid="atlas-histogram"] rect').count() == len(unit_page["histogram"]["classes"])
        play_top_clip(page, unit_page["top_clips"][0]["index"])

        page.go_back()
        page.wait_for_selector(f"{READY.format('layer')} [data-atlas-unit]")
        page.go_back()
        page.wait_for_selector(f"{READY.format('home')} [data-atlas-layer]")
        assert page.evaluate("location.hash") in ("", "#/")
        page.go_forward()
        page.wait_for_selector(f"{READY.format('layer')} [data-atlas-unit]")
        page.reload()  # the hash is a link to the page: opened afresh, the site shows it
        page.wait_for_selector(f"{READY.format('layer')} [data-atlas-unit]")
        assert page.locator("h2").text_content() == layer


def test_site_grid_order_sprites_hostile_names_and_a_missing_page(browser, tmp_path):
    site = export_site(FakeAtlas(units=6), tmp_path / "site")
    layer = "conv1<b>"
    with offline_site(browser, site, "atlas_site_fake") as (page, problems):
        page.wait_for_selector("[data-atlas-class]")
        assert page.title() == f"{HOSTILE} · vidvis atlas"
        assert page.locator(".vv-atlas-title").text_content() == HOSTILE
        page.locator(f'[data-atlas-layer="{layer}"]').click()
        page.wait_for_selector(f"{READY.format('layer')} [data-testid=atlas-grid]")
        assert page.evaluate("location.hash") == f"#/layer/{quote(layer, safe='')}"
        # ordered by class selectivity, highest first; each cell draws its own cell of each stream's sprite
        units = [int(u) for u in page.locator("[data-atlas-unit]").evaluate_all("els => els.map(e => e.dataset.atlasUnit)")]
        assert units == sorted(range(6), key=lambda u: -FakeAtlas.selectivity(u))
        for stream, offset in (("appearance", 0), ("motion", 999)):
            px = pixels(page.locator(f'[data-atlas-unit="{units[1]}"] .vv-atlas-thumb[data-stream="{stream}"]'))
            centre = px[px.shape[0] // 2, px.shape[1] // 2]
            assert np.abs(centre - _colour(units[1] + offset)).max() <= 3, (stream, centre)

        page.locator(f'[data-atlas-unit="{units[0]}"]').click()
        page.wait_for_selector(READY.format("unit"))
        assert page.locator("h2").text_content() == f"{layer} · unit {units[0]}"
        sheet = page.locator('[data-testid="atlas-sweep"] [data-atlas-clip][data-frames="4"]').first
        seen = set()
        for _ in range(8):  # a frame sheet plays: the frame it shows moves on
            seen.add(sheet.get_attribute("data-frame"))
            page.wait_for_timeout(80)
        assert len(seen) >= 3, seen
        play_top_clip(page, 11)

        page.evaluate(f"location.hash = '#/class/' + encodeURIComponent({HOSTILE!r})")
        page.wait_for_selector(READY.format("class"))
        assert page.locator("h2").text_content() == HOSTILE
        assert page.locator('[data-testid="atlas-leaps"] [data-atlas-clip]').count() == 2
        assert page.locator('[data-testid="atlas-confusions"] [data-atlas-class]').text_content() == "class2"
        page.locator('[data-testid="atlas-misclassified"] [data-atlas-clip-index="21"]').click()
        page.wait_for_function("() => { const v = document.querySelector("
                               "'[data-testid=\"atlas-misclassified-stage\"] video'); return v && v.currentTime > 0; }",
                               timeout=15_000)
        # a page the export lacks says so, instead of failing silently
        (site / "data" / "unit-0-2.js").unlink()
        page.evaluate(f"location.hash = '#/unit/' + encodeURIComponent({layer!r}) + '/2'")
        page.wait_for_selector('[data-testid="atlas-error"]')
        assert "unit-0-2.js is missing" in page.locator('[data-testid="atlas-error"]').text_content()
        assert problems == ["console: Failed to load resource: net::ERR_FILE_NOT_FOUND"]  # that file, and only it
        problems.clear()
        assert page.evaluate("() => window.__pwned") is None
