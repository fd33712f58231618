"""to_html pages play in the browser from a file, with no server and no kernel."""

import pytest

from vidvis_widgets import ClipPlayer
from vidvis_widgets.media.samples import moving_square

from .harness import ARTIFACTS

pytestmark = pytest.mark.e2e

HOSTILE = "</script><script>window.__pwned = 1</script><img src=x onerror='window.__pwned=2'>"


def test_standalone_page_plays_offline_and_escapes_user_text(browser, tmp_path):
    rgb, flow = moving_square(16, 32, velocity=(2, 0), side=8)
    w = ClipPlayer([rgb, flow], captions=[HOSTILE, "flow"], image_format="png", fps=12)
    path = w.to_html(tmp_path / "clips.html", title=HOSTILE)

    context = browser.new_context()
    # prove the page needs nothing from the network: refuse every non-file request
    requests = []
    context.route("**/*", lambda route: (requests.append(route.request.url), route.abort())
                  if not route.request.url.startswith(("file:", "blob:", "data:")) else route.continue_())
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_selector('.vv-player[data-ready="true"]', timeout=20_000)

    frames = set()
    for _ in range(10):
        frames.add(page.locator(".vv-player").get_attribute("data-frame"))
        page.wait_for_timeout(120)
    assert len(frames) >= 3, frames
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator(".vv-cell figcaption").first.text_content() == HOSTILE
    assert page.title() == HOSTILE
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "standalone_export.png"))
    assert not errors and not requests
    context.close()
