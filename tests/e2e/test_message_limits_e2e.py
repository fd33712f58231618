"""ClipPlayer's message budget in a real JupyterLab in headless Chromium: the largest state the budget allows
arrives intact, the size estimate bounds the real websocket message, and what the page sends back is tiny.

The limits the budget comes from are measured by benchmarks/message_limits.py (see serializers.MAX_MESSAGE_BYTES).
"""

import pytest

pytestmark = pytest.mark.e2e

# Records the size of every websocket message to and from the kernel before JupyterLab loads
# (benchmarks/message_limits.py uses it too).
WS_SPY = """
(() => {
  const Base = window.WebSocket;
  const log = { sent: [], received: [], closes: [] };
  window.__ws = log;
  const size = (d) => (typeof d === 'string' ? new Blob([d]).size : (d.byteLength ?? d.size));
  class Spy extends Base {
    constructor(url, ...rest) {
      super(url, ...rest);
      if (!String(url).includes('/api/kernels/')) return;
      this.addEventListener('message', (e) => { log.received.push(size(e.data)); });
      this.addEventListener('close', (e) => { log.closes.push([e.code, e.reason]); });
    }
    send(data) {
      if (String(this.url).includes('/api/kernels/')) log.sent.push(size(data));
      return super.send(data);
    }
  }
  window.WebSocket = Spy;
})();
"""

# PNG of noise costs its raw size (+0.07%): fill the budget with 16-frame 256×256 clips and one shorter clip
# whose frames fill the sheet exactly (a padded sheet slot costs a whole frame).
SETUP = """
import zlib
import numpy as np
from vidvis_widgets import ClipPlayer
from vidvis_widgets.widgets.serializers import sheet_geometry, state_message_bytes

budget = ClipPlayer.message_budget
frame_bytes = 256 * 256 * 3 * 1.001
room = budget - 150_000
n = int(room // (16 * frame_bytes))
t = int((room - n * 16 * frame_bytes) // frame_bytes)
while t and -(-t // sheet_geometry(t, 256, 256, "png")[2]) * sheet_geometry(t, 256, 256, "png")[2] > t:
    t -= 1
rng = np.random.default_rng(0)
clips = [rng.integers(0, 256, (16 if i < n else t, 256, 256, 3), dtype=np.uint8) for i in range(n + (t > 0))]
w = ClipPlayer(clips, image_format="png", zoom=1, playing=False)
size = state_message_bytes(w.get_state())

def expected(frame):
    return [zlib.adler32(np.ascontiguousarray(c[min(frame, len(c) - 1)]).tobytes()) for c in clips]

w
"""

# Adler-32 of the RGB bytes of every canvas of the player, in order
CANVAS_SUMS = """() => Array.from(document.querySelectorAll('.vv-player canvas')).map((c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let a = 1, b = 0;
  for (let i = 0; i < d.length; i += 4) {
    for (let k = 0; k < 3; k++) { a = (a + d[i + k]) % 65521; b = (b + a) % 65521; }
  }
  return ((b << 16) | a) >>> 0;
})"""


def show_frame(nb, frame):
    nb.execute(f"w.frame = {frame}")
    nb.page.wait_for_function(f"() => document.querySelector('.vv-player').dataset.frame === '{frame}'",
                              timeout=10_000)


def test_the_largest_state_the_budget_allows_arrives_intact(page, open_notebook):
    page.add_init_script(WS_SPY)
    nb = open_notebook("message_limits.ipynb", [SETUP])
    nb.run_all()
    page.wait_for_selector('.vv-player[data-ready="true"]', timeout=60_000)
    budget, size, count = nb.python_value("[budget, size, len(clips)]")
    assert 0.98 * budget <= size <= budget, (size, budget)

    # the state update that carried the clips: one websocket message near the budget, within it
    received = max(page.evaluate("() => window.__ws.received"))
    assert 0.97 * budget <= received <= size, (received, size)

    # every clip decoded, every frame where it belongs: the pixels match Python's, bit for bit (PNG is lossless)
    assert page.locator(".vv-player canvas").count() == count
    assert page.locator(".vv-scrub").get_attribute("max") == "15"
    for frame in (0, 15):
        show_frame(nb, frame)
        assert page.evaluate(CANVAS_SUMS) == nb.python_value(f"expected({frame})"), frame

    # the whole state in one message (what a reconnecting page gets): the estimate bounds it from above, closely
    page.evaluate("() => { window.__ws.received = []; }")
    nb.execute("w.send_state()")
    page.wait_for_function(f"() => window.__ws.received.some((n) => n >= {0.97 * budget})", timeout=30_000)
    full = max(page.evaluate("() => window.__ws.received"))
    assert full <= size <= full + 4096, (full, size)

    # what the player sends back (play, pause, scrub, step) is tiny, and reaches Python
    page.evaluate("() => { window.__ws.sent = []; }")
    page.locator(".vv-player .vv-play").click()
    page.wait_for_selector('.vv-player[data-playing="true"]')
    page.wait_for_timeout(300)
    page.locator(".vv-player .vv-play").click()
    page.wait_for_selector('.vv-player[data-playing="false"]')
    page.evaluate("() => { const s = document.querySelector('.vv-scrub'); s.value = '5';"
                  " s.dispatchEvent(new Event('input', { bubbles: true })); }")
    page.locator(".vv-player").focus()
    page.keyboard.press("ArrowRight")
    nb.wait_value("[w.playing, w.frame]", [False, 6])  # so every message the player sent has arrived
    sent = page.evaluate("() => window.__ws.sent")
    print(f"budget {budget:,} B, estimate {size:,} B, update received {received:,} B, full state received "
          f"{full:,} B, sent back {sent}")
    assert len(sent) >= 3 and max(sent) < 1024, sent
    assert not page.evaluate("() => window.__ws.closes") and not page.page_errors
