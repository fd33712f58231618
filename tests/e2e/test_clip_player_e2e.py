"""ClipPlayer in a real JupyterLab in headless Chromium: pixels, sync both ways, errors."""

import pytest

pytestmark = pytest.mark.e2e

SETUP = """
import numpy as np
from vidvis_widgets import ClipPlayer
from vidvis_widgets.media.samples import moving_square
rgb, flow = moving_square(16, 32, velocity=(2, 0), side=8)
w = ClipPlayer([rgb, flow, rgb[0]], captions=["rgb <b>not bold</b>", "flow", "appearance"],
               image_format="png", fps=8)
w
"""

RED = [230, 60, 40]


def expected_square(frame):
    """Columns of the square in frame t of moving_square(16, 32, velocity=(2, 0), side=8), which wraps."""
    return sorted((12 + 2 * frame + k) % 32 for k in range(8))

READ = """
([index, xs, y]) => {
  const root = document.querySelector('.vv-player');
  const canvas = root.querySelectorAll('canvas')[index];
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  return { frame: Number(root.dataset.frame), pixels: xs.map((x) => Array.from(data.slice((y * canvas.width + x) * 4, (y * canvas.width + x) * 4 + 3))) };
}
"""


def read(nb, index=0, xs=(0,), y=16):
    return nb.page.evaluate(READ, [index, list(xs), y])


def square_at(nb):
    """(frame shown, the red columns of the canvas' row 16), read in one go so they agree."""
    state = read(nb, 0, xs=list(range(32)))
    return state["frame"], [x for x, p in enumerate(state["pixels"]) if p == RED]


def wait_frame(nb, frame):
    nb.page.wait_for_function(f"() => document.querySelector('.vv-player').dataset.frame === '{frame}'",
                              timeout=10_000)


def test_clip_player_in_jupyterlab(open_notebook):
    nb = open_notebook("clip_player.ipynb", [SETUP])
    nb.run_all()
    page = nb.page
    page.wait_for_selector('.vv-player[data-ready="true"]', timeout=60_000)
    assert page.locator(".vv-player canvas").count() == 3
    assert page.locator(".vv-badge-flow").count() == 1 and page.locator(".vv-badge-image").count() == 1

    # captions are text, never markup
    caption = page.locator(".vv-cell figcaption").first
    assert caption.text_content() == "rgb <b>not bold</b>"
    assert caption.locator("b").count() == 0

    # playing: the frame advances and every shown frame has the square where that frame puts it
    seen = set()
    for _ in range(12):
        frame, columns = square_at(nb)
        seen.add(frame)
        assert columns == expected_square(frame), (frame, columns)
        page.wait_for_timeout(130)
    assert len(seen) >= 4, seen
    nb.screenshot("clip_player_playing")

    # pause on the page reaches Python
    page.locator(".vv-player .vv-play").click()
    page.wait_for_selector('.vv-player[data-playing="false"]')
    shown = int(page.locator(".vv-player").get_attribute("data-frame"))
    nb.wait_value("[w.playing, w.frame]", [False, shown])
    assert square_at(nb)[0] == shown  # still on the same frame

    # scrubbing shows the chosen frame and reaches Python
    page.evaluate("() => { const s = document.querySelector('.vv-scrub'); s.value = '5';"
                  " s.dispatchEvent(new Event('input', { bubbles: true })); }")
    wait_frame(nb, 5)
    assert square_at(nb) == (5, expected_square(5))
    assert read(nb, 1, xs=[2], y=2)["pixels"][0] != [0, 0, 0]  # the flow clip drew too
    nb.screenshot("clip_player_scrubbed")
    nb.wait_value("w.frame", 5)

    # keyboard: step forward
    page.locator(".vv-player").focus()
    page.keyboard.press("ArrowRight")
    wait_frame(nb, 6)
    nb.wait_value("w.frame", 6)
    assert square_at(nb) == (6, expected_square(6))

    # Python changes reach the page: a seek, then new clips in place
    nb.execute("w.frame = 2")
    wait_frame(nb, 2)
    assert square_at(nb) == (2, expected_square(2))
    nb.execute("green, _ = moving_square(8, 32, velocity=(0, 0), side=8, color=(0, 255, 0)); "
               "w.set_clips([green, green], captions=['g1', 'g2'])")
    page.wait_for_function("() => document.querySelectorAll('.vv-player canvas').length === 2", timeout=10_000)
    assert read(nb, 0, xs=[15], y=15)["pixels"][0] == [0, 255, 0]
    assert page.locator(".vv-cell figcaption").first.text_content() == "g1"
    nb.screenshot("clip_player_updated")

    # a payload that cannot be decoded shows an error in the cell, never a blank one
    nb.execute("bad = dict(w._clips[0]); bad['data'] = b'definitely not a png'; w._clips = [bad, w._clips[1]]")
    page.wait_for_selector(".vv-player .vv-error:not([hidden])", timeout=10_000)
    assert "could not be decoded" in page.locator(".vv-error").text_content()
    nb.screenshot("clip_player_error")
    assert not page.page_errors


def test_64_clip_grid_draws_every_cell(open_notebook):
    nb = open_notebook("grid64.ipynb", ["""
import numpy as np
from vidvis_widgets import ClipPlayer
from vidvis_widgets.media.samples import moving_square
clips = [moving_square(16, 112, velocity=(k % 5 - 2, k % 3 - 1), seed=k,
                       color=(40 + 3 * k, 255 - 3 * k, 128))[0] for k in range(64)]
w = ClipPlayer(clips, rows=8, cols=8, captions=[f"clip {k}" for k in range(64)],
               row_headers=[f"row {r}" for r in range(8)], col_headers=[f"col {c}" for c in range(8)], zoom=1)
w
"""])
    nb.run_all()
    page = nb.page
    page.wait_for_selector('.vv-player[data-ready="true"]', timeout=60_000)
    # every cell shows its own square colour at the centre on the first frame
    page.locator('.vv-play').click()
    centres = page.evaluate("""() => Array.from(document.querySelectorAll('.vv-player canvas')).map((c) => {
        const d = c.getContext('2d').getImageData(56, 56, 1, 1).data; return [d[0], d[1], d[2]]; })""")
    assert len(centres) == 64
    for k, (r, g, _) in enumerate(centres):
        assert abs(r - (40 + 3 * k)) < 40 and abs(g - (255 - 3 * k)) < 40, (k, centres[k])
    assert page.locator(".vv-row-header").count() == 8 and page.locator(".vv-col-header").count() == 8
    nb.screenshot("clip_player_grid64")
    assert not page.page_errors
