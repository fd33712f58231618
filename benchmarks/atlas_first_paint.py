"""AtlasView: first paint of a 1,000-unit layer grid in a real JupyterLab (headless Chromium).

Run from the repository root after the README's set-up:
    .venv/bin/python benchmarks/atlas_first_paint.py [--store DIR] [--runs 5]

The atlas is real: build_atlas on a small random-weight model whose first layer is a 1,000-channel Conv3d
(units="all", one (κ, γ) setting, AM at steps=1 so that the build is cheap; its thumbnails are noise-like, the
worst case for the sprite's PNG size). The build takes about 4 minutes on the 2-core CPU; ``--store DIR`` keeps
the built store, and a rerun with it recomputes nothing.

Each run opens the atlas afresh in its own notebook cell (``open_atlas(store).show()``: a new reader in the kernel
and a new view with nothing cached) and measures, in the page, from the click on the layer's link to:
  page   the layer page's reply came (JSON over the comm, with the sprite's PNG bytes as binary buffers),
  sprite the sprite's bytes were there (with the page; later only if it had to be asked for on its own),
  grid   the grid's 1,000 cells are in the page,
  layout every cell is laid out,
  decode every sprite image of the grid is decoded,
  paint  the frame after that: two requestAnimationFrame callbacks, so the frame with the grid has been painted.
"open" is from asking the notebook to run the cell to the atlas's home page (the manifest only) shown.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.harness import JupyterLab, NotebookPage, chromium, write_notebook  # noqa: E402

UNITS = 1000
LAYER = "0"

RUN_CELL = """
async ([index]) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  const cell = panel.content.widgets[index];
  panel.content.activeCellIndex = index;
  const t0 = performance.now();
  void app.commands.execute('notebook:run-cell');
  return await new Promise((resolve, reject) => {
    const poll = () => {
      if (cell.node.querySelector('.vv-atlas-view [data-testid="atlas-page"][data-page="home"][data-state="ready"]')) {
        resolve(performance.now() - t0);
      } else if (performance.now() - t0 > 120000) reject(new Error('the atlas did not open in 120 s'));
      else requestAnimationFrame(poll);
    };
    poll();
  });
}
"""

FIRST_PAINT = """
async ([index, layer]) => {
  const cell = window.jupyterapp.shell.currentWidget.content.widgets[index];
  const host = cell.node.querySelector('.vv-atlas-view');
  host.scrollIntoView();
  const link = host.querySelector(`[data-atlas-layer="${CSS.escape(layer)}"]`);
  const ready = () => host.querySelector('[data-testid="atlas-page"][data-state="ready"] [data-testid="atlas-grid"]');
  const t0 = performance.now();
  link.click();
  const grid = ready() || await new Promise((resolve) => {
    const obs = new MutationObserver(() => { const g = ready(); if (g) { obs.disconnect(); resolve(g); } });
    obs.observe(host, { subtree: true, childList: true, attributes: true });
  });
  const tGrid = performance.now();
  const cells = grid.querySelectorAll('[data-atlas-unit]');
  cells[cells.length - 1].getBoundingClientRect(); // every cell laid out
  const tLayout = performance.now();
  const urls = new Set(Array.from(cells[0].querySelectorAll('.vv-atlas-thumb'))
    .map((t) => getComputedStyle(t).backgroundImage.slice(5, -2)));
  await Promise.all([...urls].map((u) => { const img = new Image(); img.src = u; return img.decode(); }));
  const tDecode = performance.now();
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const tPaint = performance.now();
  // when the replies came (marks the widget's source leaves): the layer page, then the last sprite
  const replies = (what) => performance.getEntriesByName(`vv-atlas-reply:${what}`).filter((m) => m.startTime >= t0)
    .map((m) => m.startTime - t0);
  const media = replies("media");
  const page = replies("layer")[0];
  return { cells: cells.length, sprites: urls.size, page, sprite: media.length ? media[media.length - 1] : page,
           grid: tGrid - t0, layout: tLayout - t0, decode: tDecode - t0, paint: tPaint - t0 };
}
"""


def build(store: Path):
    import torch
    from torch import nn

    from vidvis_widgets.atlas import build_atlas
    from vidvis_widgets.data import SyntheticActions
    from vidvis_widgets.models import load_model

    torch.set_num_threads(2)
    data = SyntheticActions("val", samples_per_class=1)
    torch.manual_seed(0)  # the same weights every time, so a kept store is reused
    net = nn.Sequential(nn.Conv3d(3, UNITS, (3, 8, 8), stride=(2, 8, 8), padding=(1, 0, 0)), nn.ReLU(),
                        nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(UNITS, len(data.classes)))
    model = load_model(net, num_frames=8, size=64, class_names=list(data.classes))
    t = time.perf_counter()
    atlas = build_atlas(model, data, layers=[LAYER], units="all", classes=None, gamma=[(1.0, 0.0)], steps=1,
                        store=store, batch_size=50, progress=False)
    return atlas, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, default=None, help="keep the built atlas's store here (reused if built)")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if args.runs < 3:
        ap.error("--runs must be ≥ 3 (the median of at least three)")
    store = args.store or Path(tempfile.mkdtemp(prefix="atlas_first_paint_"))
    atlas, build_s = build(store)
    page = atlas.layer_page(LAYER)
    assert len(page["units"]) == UNITS, len(page["units"])
    sprite_bytes = sum(len(atlas.media(s["ref"])[0]) for s in page["sprites"])
    page_bytes = len(json.dumps(page))
    print(f"atlas: {atlas!r}; build (or reuse) {build_s:.1f} s; layer page {page_bytes / 1e3:.0f} kB JSON, "
          f"sprite{'s' if len(page['sprites']) > 1 else ''} {sprite_bytes / 1e6:.2f} MB PNG "
          f"({page['sprites'][0]['cell_width']}×{page['sprites'][0]['cell_height']} cells)")

    root = Path(tempfile.mkdtemp(prefix="atlas_first_paint_lab_"))
    cells = [f"from vidvis_widgets.atlas import open_atlas\nopen_atlas({str(store)!r}).show()"] * args.runs
    write_notebook(root / "first_paint.ipynb", cells)
    lab = JupyterLab(root)
    lab.start()
    rows = []
    try:
        with chromium() as browser:
            p = browser.new_page(viewport={"width": 1400, "height": 1000})
            nb = NotebookPage(p, lab, "first_paint.ipynb")
            nb.open()
            for k in range(args.runs):
                opened = p.evaluate(RUN_CELL, [k])
                r = p.evaluate(FIRST_PAINT, [k, LAYER])
                assert r["cells"] == UNITS, r
                rows.append({"open": opened, **r})
    finally:
        lab.stop()

    print(f"\nAtlasView, {UNITS}-unit layer grid, JupyterLab in headless Chromium (ms from the click on the layer)")
    keys = ("open", "page", "sprite", "grid", "layout", "decode", "paint")
    print(f"{'run':>6}" + "".join(f"{key:>8}" for key in keys))
    for k, r in enumerate(rows):
        print(f"{k + 1:>6}" + "".join(f"{r[key]:8.0f}" for key in keys))
    med = {key: statistics.median(r[key] for r in rows) for key in keys}
    print(f"{'median':>6}" + "".join(f"{med[key]:8.0f}" for key in keys))
    verdict = "meets" if med["paint"] < 1000 else "MISSES"
    print(f"\nfirst paint of the {UNITS}-unit grid: median {med['paint']:.0f} ms over {len(rows)} runs "
          f"({verdict} the < 1 s target)")


if __name__ == "__main__":
    main()
