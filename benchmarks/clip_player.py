"""ClipPlayer: payload size, time to first frame and playback rate in a real JupyterLab.

Run from the repository root after the README's set-up:
    .venv/bin/python benchmarks/clip_player.py

Clips are 16 frames of 112×112 moving, textured squares (the same for every size, so
rows compare). Time to first frame is measured in the browser, from the moment the
notebook is asked to run the cell to the moment every canvas of that player has drawn:
it includes Python encoding, the comm message, image decoding and the first draw.
Playback rate is frame advances per second of the shared clock, with every cell
redrawn on each advance, measured over 3 s in headless Chromium, at fps=30 and at
fps=120 (more than the display's animation-frame rate: the ceiling).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.harness import JupyterLab, NotebookPage, chromium, write_notebook  # noqa: E402
from vidvis_widgets.media.clips import as_clip  # noqa: E402
from vidvis_widgets.media.samples import moving_square  # noqa: E402
from vidvis_widgets.widgets.serializers import encode_clips, payload_bytes  # noqa: E402

SIZES = (1, 16, 64)
SETUP = """
from vidvis_widgets import ClipPlayer
from vidvis_widgets.media.samples import moving_square
clips = [moving_square(16, 112, velocity=(k % 5 - 2, k % 3 - 1), seed=k)[0] for k in range(64)]
"""

RUN_CELL = """
async ([index, count]) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  const cell = panel.content.widgets[index];
  panel.content.activeCellIndex = index;
  const t0 = performance.now();
  void app.commands.execute('notebook:run-cell');
  return await new Promise((resolve, reject) => {
    const poll = () => {
      const root = cell.node.querySelector('.vv-player');
      if (root && root.dataset.ready === 'true' && root.querySelectorAll('canvas').length === count) {
        const stats = root.parentElement.__vvPlayer.stats;
        resolve({ total: performance.now() - t0, decode: stats.decodeMs });
      } else if (performance.now() - t0 > 60000) reject(new Error('no first frame in 60 s'));
      else requestAnimationFrame(poll);
    };
    poll();
  });
}
"""

MEASURE_PLAYBACK = """
async ([index, ms]) => {
  const cell = window.jupyterapp.shell.currentWidget.content.widgets[index];
  const stats = cell.node.querySelector('.vv-player').parentElement.__vvPlayer.stats;
  let rafs = 0, alive = true;
  const count = () => { rafs++; if (alive) requestAnimationFrame(count); };
  requestAnimationFrame(count);
  const a = { ...stats }, t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  alive = false;
  const dt = (performance.now() - t0) / 1000;
  return { fps: (stats.frameAdvances - a.frameAdvances) / dt, raf: rafs / dt,
           drawMsPerFrame: (stats.drawMs - a.drawMs) / Math.max(1, stats.frameAdvances - a.frameAdvances) };
}
"""


def python_side() -> dict[int, tuple[int, float]]:
    clips = [as_clip(moving_square(16, 112, velocity=(k % 5 - 2, k % 3 - 1), seed=k)[0]) for k in range(64)]
    out = {}
    for n in SIZES:
        t0 = time.perf_counter()
        payload = encode_clips(clips[:n])
        out[n] = (payload_bytes(payload), (time.perf_counter() - t0) * 1000)
    return out


def browser_side(target_fps: float = 30.0) -> dict[int, dict]:
    cells = [SETUP] + [f"w{n} = ClipPlayer(clips[:{n}], fps={target_fps}, zoom=1)\nw{n}" for n in SIZES]
    root = Path(tempfile.mkdtemp(prefix="vv-bench-"))
    lab = JupyterLab(root)
    lab.start()
    try:
        write_notebook(root / "bench.ipynb", cells)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            nb = NotebookPage(page, lab, "bench.ipynb")
            nb.open()
            nb.execute(SETUP)  # warm imports so the timed cells measure the widget, not numpy/torch imports
            results = {}
            for i, n in enumerate(SIZES, start=1):
                first = page.evaluate(RUN_CELL, [i, n])
                page.wait_for_timeout(500)
                play = page.evaluate(MEASURE_PLAYBACK, [i, 3000])
                nb.execute(f"w{n}.fps = 120")  # asks for more than the display gives: the ceiling
                page.wait_for_timeout(300)
                ceiling = page.evaluate(MEASURE_PLAYBACK, [i, 3000])
                play["max_fps"] = ceiling["fps"]
                page.evaluate("(i) => { const c = window.jupyterapp.shell.currentWidget.content.widgets[i];"
                              " c.node.querySelector('.vv-play').click(); }", i)  # pause: one player at a time
                results[n] = {**first, **play}
            return results
    finally:
        lab.stop()


def main() -> None:
    py = python_side()
    br = browser_side()
    raw = 16 * 112 * 112 * 3
    print("ClipPlayer, clips of 16×112×112, JPEG q90, headless Chromium (software rendering)")
    print(f"{'clips':>5} | {'payload':>10} | {'vs raw':>6} | {'encode':>8} | {'first frame':>11} | "
          f"{'decode':>8} | {'play fps @30':>12} | {'max fps':>7} | {'rAF/s':>6} | {'draw/frame':>10}")
    print("-" * 108)
    for n in SIZES:
        size, enc = py[n]
        b = br[n]
        print(f"{n:>5} | {size / 1024:>7.1f} kB | {raw * n / size:>5.0f}× | {enc:>5.1f} ms | {b['total']:>8.0f} ms | "
              f"{b['decode']:>5.1f} ms | {b['fps']:>12.1f} | {b['max_fps']:>7.1f} | {b['raf']:>6.1f} | {b['drawMsPerFrame']:>7.2f} ms")
    print("\nTargets: 64 clips play at ≥ 30 fps; 16 clips show their first frame in < 1 s.")


if __name__ == "__main__":
    main()
