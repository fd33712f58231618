"""Results outlive the kernel: every shipped notebook, executed and saved, is opened the ways a student would.

- JupyterLab with no kernel, untrusted: every clip grid renders through the extension's MIME renderer and plays;
- nbconvert's HTML, opened with the network blocked: every grid plays;
- Notebook 7, with no kernel: every grid renders and plays;
- an exported ``.vidvis.json`` opens as a document in a JupyterLab tab.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import nbformat
import numpy as np
import pytest

from ..conftest import SHIPPED
from .harness import ARTIFACTS, JupyterLab

pytestmark = pytest.mark.e2e

CLIPS = "application/vnd.vidvis.clips.v1+json"
READY = ".vv-player[data-ready='true']"


def clip_outputs(path) -> int:
    nb = nbformat.read(path, as_version=4)
    return sum(CLIPS in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


@pytest.fixture(scope="module")
def saved(executed_notebooks, tmp_path_factory):
    """The executed notebooks in one folder, with how many clip grids each holds."""
    folder = tmp_path_factory.mktemp("saved")
    counts = {}
    for name in SHIPPED:
        shutil.copy(executed_notebooks(name), folder / name)
        counts[name] = clip_outputs(folder / name)
        assert counts[name] >= 1, name
    return folder, counts


def _server(saved, tmp_path_factory, app: str):
    folder, _ = saved
    root = tmp_path_factory.mktemp(app)
    for name in SHIPPED:
        shutil.copy(folder / name, root / name)
    server = JupyterLab(root, starts_kernel=False, app=app)
    server.start()
    return server


@pytest.fixture(scope="module")
def kernelless_lab(saved, tmp_path_factory):
    server = _server(saved, tmp_path_factory, "jupyterlab")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def kernelless_notebook7(saved, tmp_path_factory):
    server = _server(saved, tmp_path_factory, "notebook")
    yield server
    server.stop()


_SCROLL_ALL = """async () => { const nb = window.jupyterapp.shell.currentWidget.content;
    for (let i = 0; i < nb.widgets.length; i++) { await nb.scrollToItem(i, 'start'); } }"""

# A player plays when it reports playing and shows more than one frame index while sampled for 1.5 s. One look
# before and one after a wait is not enough: a late timer on a busy machine lands a 10-frame loop at 10 fps back on
# the frame it started from.
_PLAYING = """async (selector) => { const ps = Array.from(document.querySelectorAll(selector))
        .filter((p) => Number((p.querySelector('.vv-frame-label')?.textContent ?? '0 / 1').split('/')[1]) > 1);
    const seen = ps.map(() => new Set()), playing = ps.map(() => true);
    for (let k = 0; k < 30; k++) {
        ps.forEach((p, i) => { seen[i].add(p.dataset.frame); playing[i] = playing[i] && p.dataset.playing === 'true'; });
        await new Promise((r) => setTimeout(r, 50));
    }
    return ps.map((p, i) => playing[i] && seen[i].size > 1); }"""


def _assert_all_play(page, selector: str, expected: int, name: str) -> None:
    page.wait_for_function(f"() => document.querySelectorAll({json.dumps(selector)}).length >= {expected}",
                           timeout=60_000)
    assert page.locator(selector).count() == expected, name
    moving = page.evaluate(_PLAYING, selector)
    assert moving and all(moving), (name, moving)  # every grid with more than one frame advances on its own
    assert page.locator(".vv-player[data-ready='error']").count() == 0


@pytest.mark.parametrize("name", SHIPPED)
def test_jupyterlab_without_a_kernel_plays_every_saved_grid(name, kernelless_lab, saved, page):
    expected = saved[1][name]
    page.goto(kernelless_lab.url(name))
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.context.isReady", timeout=60_000)
    page.wait_for_timeout(1000)
    state = page.evaluate("""() => { const w = window.jupyterapp.shell.currentWidget;
        const s = w.sessionContext.session;
        return { kernel: s && s.kernel ? s.kernel.name : null,
                 trusted: w.content.widgets.filter((c) => c.model.type === 'code' && c.model.trusted).length }; }""")
    assert state == {"kernel": None, "trusted": 0}  # no kernel, and an untrusted notebook
    page.evaluate(_SCROLL_ALL)
    _assert_all_play(page, f".vv-clips-output {READY}", expected, name)
    # the saved widget views are not what shows: the extension's renderer drew every grid, once per output
    assert page.locator(".jp-OutputArea-output.vv-clips-output").count() == expected
    assert page.get_by_text("ClipPlayer object at").count() == 0
    # JupyterLab itself reports one error for a notebook opened without a session; nothing else may fail
    assert [e for e in page.page_errors if "reading 'kernel'" not in e] == []
    if name == "quickstart.ipynb":
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator(f".vv-clips-output {READY}").first.scroll_into_view_if_needed()  # a saved player, playing
        page.screenshot(path=str(ARTIFACTS / "saved_quickstart_no_kernel.png"))


@pytest.mark.parametrize("name", SHIPPED)
def test_nbconvert_html_plays_every_grid_offline(name, saved, browser, tmp_path):
    folder, counts = saved
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(folder / name),
                    "--output-dir", str(tmp_path)], check=True, capture_output=True, timeout=300)
    html = tmp_path / name.replace(".ipynb", ".html")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    reached: list[str] = []

    def offline(route):
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            reached.append(url)
            route.abort()

    context.route("**/*", offline)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(html.as_uri())
    _assert_all_play(page, READY, counts[name], name)
    # nbconvert's own template still asks for require.js and MathJax; nothing of ours reaches out
    assert all("cdnjs.cloudflare.com" in u for u in reached), reached
    assert not errors, errors
    context.close()


@pytest.mark.parametrize("name", SHIPPED)
def test_notebook_7_without_a_kernel_plays_every_saved_grid(name, kernelless_notebook7, saved, page):
    page.goto(kernelless_notebook7.url(name))
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    page.wait_for_timeout(1000)
    page.evaluate("""async () => { const nb = document.querySelector('.jp-Notebook');
        for (const c of nb.querySelectorAll('.jp-Cell')) { c.scrollIntoView(); await new Promise((r) => setTimeout(r, 30)); } }""")
    _assert_all_play(page, f".vv-clips-output {READY}", saved[1][name], name)


def test_an_exported_results_file_opens_in_a_jupyterlab_tab(kernelless_lab, page):
    import vidvis_widgets as vv

    frames = np.zeros((6, 24, 24, 3), np.uint8)
    frames[np.arange(6), :, np.arange(6) * 4] = 255  # a white bar moving right
    vv.save_clips(vv.ClipPlayer([frames, frames[::-1]], captions=["right", "left <b>"]),
                  kernelless_lab.root / "bars.vidvis.json")
    page.goto(kernelless_lab.url("bars.vidvis.json"))
    page.wait_for_selector(f".jp-MainAreaWidget .vv-clips-output {READY}", timeout=60_000)
    assert page.locator(".vv-clips-output figcaption").all_text_contents()[:2] == \
        ["right", "left <b>"]
    assert page.evaluate(_PLAYING, f".vv-clips-output {READY}") == [True]
