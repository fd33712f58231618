"""The output people most want to keep: an optimization monitor's, after its run. Executed in a real kernel and
saved, the notebook opens in JupyterLab with no kernel, and the monitor's saved copy shows the run's inputs
(pixels that vary, not the grey blanks it was displayed with) and its objective curve."""

from __future__ import annotations

import nbformat
import pytest

from ..conftest import run_notebook
from ..test_saved_updates import MONITOR_CELLS
from .harness import ARTIFACTS, JupyterLab, pixel_spread, write_notebook

pytestmark = pytest.mark.e2e

READY = ".vv-clips-output .vv-player[data-ready='true']"


@pytest.fixture(scope="module")
def kernelless(tmp_path_factory):
    """A JupyterLab that starts no kernel, serving the notebook whose monitor ran (executed by nbclient)."""
    folder = tmp_path_factory.mktemp("saved_monitor")
    nb = run_notebook(write_notebook(folder / "src.ipynb", MONITOR_CELLS), folder, {})
    root = folder / "served"
    root.mkdir()
    nbformat.write(nb, root / "monitor.ipynb")
    server = JupyterLab(root, starts_kernel=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()  # ends its kernels (none was started) and the server


def test_the_saved_monitor_shows_its_runs_inputs_without_a_kernel(kernelless, page):
    page.goto(kernelless.url("monitor.ipynb"))
    page.wait_for_selector(READY, timeout=60_000)
    assert page.evaluate("() => { const s = window.jupyterapp.shell.currentWidget.sessionContext.session;"
                         " return s && s.kernel ? s.kernel.name : null; }") is None
    assert kernelless.kernels() == []
    player = page.locator(READY).first
    player.scroll_into_view_if_needed()
    assert player.locator("canvas").count() == 3  # appearance, motion, and the objective plot as an image
    captions = player.locator("figcaption").all_text_contents()
    assert captions[:3] == ["fc8 c0 · appearance", "fc8 c0 · motion", "objective (eq. 1)"], captions
    appearance, motion, plot = pixel_spread(page, 0, None)
    # the run's optimized inputs (noise-like, full range after min–max), not the flat grey cells shown before it
    assert appearance > 100 and motion > 20, (appearance, motion)
    # the plot's line in plotly's first colour: the curve, where "(no data shown yet)" stood before the run
    line = page.evaluate("""() => { const c = document.querySelectorAll('.vv-player')[0].querySelectorAll('canvas')[2];
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 0; i < d.length; i += 4)
            if (Math.abs(d[i] - 0x63) + Math.abs(d[i + 1] - 0x6e) + Math.abs(d[i + 2] - 0xfa) < 60) n++;
        return n; }""")
    assert line > 50, line
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "saved_monitor_no_kernel.png"))
