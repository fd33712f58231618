"""The shipped notebooks run top to bottom in JupyterLab and show their widgets."""

import shutil

import pytest

from .harness import REPO, NotebookPage

pytestmark = pytest.mark.e2e


def test_quickstart_runs_and_shows_its_players(lab, page):
    shutil.copy(REPO / "notebooks" / "quickstart.ipynb", lab.root / "quickstart.ipynb")
    nb = NotebookPage(page, lab, "quickstart.ipynb")
    nb.open()
    nb.run_all()
    page.wait_for_function("() => document.querySelectorAll('.vv-player[data-ready=\"true\"]').length === 3",
                           timeout=90_000)
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
                           " === 'idle'", timeout=60_000)
    page.wait_for_timeout(500)
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    assert page.locator(".jp-OutputArea .jp-RenderedText:has-text('Traceback')").count() == 0
    counts = page.evaluate("() => Array.from(document.querySelectorAll('.vv-player')).map((p) => p.querySelectorAll('canvas').length)")
    assert counts == [28, 16, 2]  # the 14 classes with their flow, the direction grid, the rotations
    # with a kernel the live widget shows, once: its saved copies (vidvis grid, HTML, poster) stay in the file
    # (the extension keeps each saved copy's host, hidden, under the live view it swapped in)
    assert page.locator(".vv-clips-output:visible, .vv-static-host:visible, .jp-OutputArea-output img:visible").count() == 0
    shows = page.evaluate("() => Array.from(document.querySelectorAll('.vv-saved-widget-view')).map((v) => v.dataset.vvShows)")
    assert shows == ["live", "live", "live"], shows
    # every player plays, including one whose clip was replaced while it was still decoding its first set
    playing = page.evaluate("() => Array.from(document.querySelectorAll('.vv-player')).map((p) => p.dataset.playing)")
    assert playing == ["true", "true", "true"]
    # the dataset and model cards rendered as markdown tables
    assert page.locator(".jp-RenderedMarkdown table").count() >= 2
    assert (lab.root / "quickstart-output" / "directions.html").exists()
    assert (lab.root / "quickstart-output" / "directions.mp4").stat().st_size > 1000
    nb.screenshot("quickstart_end")
    # scroll with JupyterLab's own API: its windowed notebook lays cells out lazily, so a plain DOM scroll can
    # land on a blank stretch; then wait until the class grid is really the topmost thing at its centre
    page.evaluate("""async () => { const nb = window.jupyterapp.shell.currentWidget.content;
        const i = nb.widgets.findIndex((c) => c.node.querySelector('.vv-player'));
        await nb.scrollToItem(i, 'start'); }""")
    page.wait_for_function("""() => { const r = document.querySelector('.vv-player').getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + Math.min(r.height, 400) / 2);
        return r.top >= 0 && r.top < innerHeight && hit !== null && hit.closest('.vv-player') !== null; }""",
                           timeout=30_000)
    nb.screenshot("quickstart_classes")
    assert not page.page_errors
