"""The author reopens their own notebook: a small notebook, executed and saved, opened trusted (signed, as a
notebook its author saved is) and untrusted, in JupyterLab and in Notebook 7:

- with no kernel, every grid shows its saved copy, playing (not ipywidgets' "Loading widget...");
- with a fresh kernel and no re-run, still the saved copy (not "Error displaying widget: model not found");
- once the cell runs again, the live widget takes its place, once;
- a JupyterLab with the extension disabled shows the saved PNG poster from the text/html copy.

The servers load the extension as built in this tree (``vidvis_widgets/labextension``), ahead of any installed
copy, so a rebuilt front end is what these tests see.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request

import pytest

from ..conftest import run_notebook
from .harness import ARTIFACTS, REPO, JupyterLab, pixel_spread, write_notebook
from .test_saved_notebooks_e2e import _PLAYING

pytestmark = pytest.mark.e2e

CELLS = [
    "import numpy as np\nimport vidvis_widgets as vv",
    # two 8-frame clips of a red bar moving right and left over grey
    "frames = np.full((8, 32, 32, 3), 90, np.uint8)\n"
    "for t in range(8):\n    frames[t, :, 4 * t:4 * t + 4] = (255, 40, 40)\n"
    "vv.ClipPlayer([frames, frames[:, :, ::-1]], captions=['right', 'left'])",
]
SAVED = ".vv-saved-widget-view[data-vv-shows='saved'] .vv-saved-copy .vv-player[data-ready='true']"
UNTRUSTED = ".jp-OutputArea-output.vv-clips-output .vv-player[data-ready='true']"
LIVE = ".vv-saved-widget-view[data-vv-shows='live'] .vv-player[data-ready='true']"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """The executed notebook, and the private Jupyter paths the servers use: a data dir whose signature database
    trusts ``trusted.ipynb`` (not ``untrusted.ipynb``, the same file), and a path that holds this tree's build."""
    base = tmp_path_factory.mktemp("reopen")
    write_notebook(base / "src.ipynb", CELLS)
    import nbformat

    nbformat.write(run_notebook(base / "src.ipynb", base, {}), base / "executed.ipynb")
    built = REPO / "vidvis_widgets" / "labextension"
    assert (built / "package.json").exists(), "build the front end first (npm run build)"
    (base / "path" / "labextensions").mkdir(parents=True)
    (base / "path" / "labextensions" / "vidvis-widgets").symlink_to(built)
    env = {"JUPYTER_DATA_DIR": str(base / "data"), "JUPYTER_PATH": str(base / "path")}
    return base, env


def _server(folders, name: str, app: str, disabled: bool = False):
    base, env = folders
    root = base / name
    root.mkdir()
    shutil.copy(base / "executed.ipynb", root / "trusted.ipynb")
    # the same outputs; one byte of metadata apart, so that signing the one does not trust the other
    nb = json.loads((base / "executed.ipynb").read_text())
    nb["metadata"]["vidvis_test"] = "a copy nobody signed"
    (root / "untrusted.ipynb").write_text(json.dumps(nb))
    full = {**os.environ, **env}
    subprocess.run([sys.executable, "-m", "jupyter", "trust", str(root / "trusted.ipynb")], check=True, env=full,
                   capture_output=True, timeout=120)
    server = JupyterLab(root, starts_kernel=False, app=app)
    if disabled:  # `jupyter labextension disable`, in the server's own config dir only
        config = root / ".jupyter-state" / "config"
        config.mkdir(parents=True)
        subprocess.run([sys.executable, "-m", "jupyter", "labextension", "disable", "--level=user", "vidvis-widgets"],
                       check=True, env={**full, "JUPYTER_CONFIG_DIR": str(config)}, capture_output=True, timeout=120)
        assert json.loads((config / "labconfig" / "page_config.json").read_text())["disabledExtensions"] == \
            {"vidvis-widgets": True}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the server (and the kernels it starts) reads them
    try:
        server.start()
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return server


@pytest.fixture(scope="module")
def lab(folders):
    server = _server(folders, "lab", "jupyterlab")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def notebook7(folders):
    server = _server(folders, "nb7", "notebook")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lab_without_extension(folders):
    server = _server(folders, "bare", "jupyterlab", disabled=True)
    yield server
    server.stop()


def _end_kernels(server: JupyterLab) -> None:
    """Ends every session and kernel the server holds (the test started them)."""
    def call(method, path):
        req = urllib.request.Request(f"{server.base}{path}", method=method,
                                     headers={"Authorization": f"token {server.token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    for session in call("GET", "/api/sessions"):
        call("DELETE", f"/api/sessions/{session['id']}")
    for kernel in call("GET", "/api/kernels"):
        call("DELETE", f"/api/kernels/{kernel['id']}")


_STATE = """() => { const w = window.jupyterapp.shell.currentWidget; const s = w.sessionContext.session;
    const cells = w.content.widgets.filter((c) => c.model.type === 'code');
    return { kernel: s && s.kernel ? s.kernel.name : null, trusted: cells.every((c) => c.model.trusted) }; }"""

# the texts of ipywidgets' own renderer that a user could see
_WIDGET_MESSAGES = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output, .vv-saved-widget-view > *'))
    .filter((e) => e.checkVisibility() && /Loading widget|Error displaying widget/.test(e.innerText ?? ''))
    .map((e) => e.innerText.trim().slice(0, 80))"""


def _open(page, server: JupyterLab, name: str) -> None:
    page.goto(server.url(name))
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.context"
                           " && window.jupyterapp.shell.currentWidget.context.isReady", timeout=60_000)


def _assert_plays(page, selector: str, what: str) -> None:
    page.wait_for_selector(selector, timeout=60_000)
    assert page.locator(selector).count() == 1, what
    assert page.evaluate(_PLAYING, selector) == [True], what  # it advances on its own
    index = page.evaluate(f"() => Array.from(document.querySelectorAll('.vv-player'))"
                          f".indexOf(document.querySelector({json.dumps(selector)}))")
    spreads = pixel_spread(page, index, 0)
    assert len(spreads) == 2 and all(s >= 150 for s in spreads), (what, index, spreads)  # red bar over grey, drawn
    assert page.evaluate(_WIDGET_MESSAGES) == [], what


@pytest.mark.parametrize("app", ["jupyterlab", "notebook"])
@pytest.mark.parametrize("trusted", [True, False], ids=["trusted", "untrusted"])
def test_a_reopened_notebook_shows_its_saved_copy_until_the_cell_runs_again(app, trusted, lab, notebook7, page,
                                                                            request):
    server = lab if app == "jupyterlab" else notebook7
    name = "trusted.ipynb" if trusted else "untrusted.ipynb"
    tag = f"saved_reopen_{'lab' if app == 'jupyterlab' else 'nb7'}_{'trusted' if trusted else 'untrusted'}"
    saved = SAVED if trusted else UNTRUSTED
    _open(page, server, name)
    assert page.evaluate(_STATE) == {"kernel": None, "trusted": trusted}
    _assert_plays(page, saved, f"{tag}: no kernel")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{tag}_no_kernel.png"))
    try:
        # a fresh kernel, nothing re-run, and the notebook opened again with it (ipywidgets' manager only comes
        # for a kernel there at opening): the manager arrives and knows no model of the saved output
        page.evaluate("async () => { await window.jupyterapp.shell.currentWidget.sessionContext"
                      ".changeKernel({ name: 'python3' }); }")
        _open(page, server, name)
        page.wait_for_function("() => { const k = window.jupyterapp.shell.currentWidget.sessionContext.session"
                               "?.kernel; return k && k.connectionStatus === 'connected' && k.status === 'idle'; }",
                               timeout=90_000)
        if trusted:  # ipywidgets' renderer has given up on the model (hidden under the saved copy)
            page.wait_for_function("() => Array.from(document.querySelectorAll('.vv-saved-widget-view'))"
                                   ".some((v) => /model not found/.test(v.textContent))", timeout=60_000)
        else:
            page.wait_for_timeout(1500)
        _assert_plays(page, saved, f"{tag}: fresh kernel")
        page.screenshot(path=str(ARTIFACTS / f"{tag}_fresh_kernel.png"))
        # the cell runs again: the live widget takes the output's place, once
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        _assert_plays(page, LIVE, f"{tag}: re-run")
        assert page.locator(".vv-player").count() == 1  # no saved copy left beside it
        assert page.locator(".vv-saved-copy .vv-player").count() == 0
        page.screenshot(path=str(ARTIFACTS / f"{tag}_rerun.png"))
    finally:
        _end_kernels(server)
    # JupyterLab reports one error for a notebook opened without a session, and Notebook 7 one more on loading
    # its settings (both without this extension too); nothing else may fail
    assert [e for e in page.page_errors if "reading 'kernel'" not in e and "reading 'schema'" not in e] == []


def test_a_jupyterlab_without_the_extension_shows_the_saved_poster(lab_without_extension, page):
    _open(page, lab_without_extension, "untrusted.ipynb")
    img = page.locator(".jp-OutputArea-output img.vv-static-poster")
    img.wait_for(timeout=60_000)
    assert page.locator(".vv-player").count() == 0  # no player: neither the extension nor a script ran
    assert page.locator(".jp-RenderedHTMLCommon img.vv-static-poster").count() == 1  # in the sanitized text/html copy
    # the poster is drawn: the first frames of both clips, a red bar each over grey
    spread = page.evaluate("""() => { const img = document.querySelector('img.vv-static-poster');
        const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
        const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
        const d = ctx.getImageData(0, 0, c.width, c.height).data; let red = 0, grey = 0;
        for (let i = 0; i < d.length; i += 4) {
            if (d[i] > 220 && d[i + 1] < 80) red++; if (Math.abs(d[i] - 90) < 6 && Math.abs(d[i + 1] - 90) < 6) grey++; }
        return { w: c.width, h: c.height, red, grey }; }""")
    assert spread["w"] > 60 and spread["red"] > 50 and spread["grey"] > 1000, spread
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "saved_reopen_lab_without_extension.png"))


def test_a_saved_grid_with_out_of_range_numbers_plays_clamped_and_says_so(browser, tmp_path):
    """fps 1e308 and zoom 1e6 in a saved document: it plays at 120 fps at 32× (the stated clamps), not "NaN"
    frames or a 33-million-pixel-tall output, and the note under the player says what was changed."""
    import numpy as np

    from vidvis_widgets.media.clips import Clip
    from vidvis_widgets.widgets.static import grid_html, grid_json

    frames = np.full((8, 32, 32, 3), 90, np.uint8)
    for t in range(8):
        frames[t, :, 4 * t:4 * t + 4] = (255, 40, 40)
    doc = grid_json([Clip(frames, "rgb")], captions=["bar"], rows=1, cols=1)
    doc["fps"], doc["zoom"] = 1e308, 1e6
    path = tmp_path / "wild.html"
    path.write_text(f"<!doctype html><html><body>{grid_html(doc)}</body></html>", encoding="utf-8")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(path.as_uri())
        page.wait_for_selector(".vv-player[data-ready='true']", timeout=30_000)
        state = page.evaluate("""() => { const p = document.querySelector('.vv-player');
            const c = p.querySelector('canvas');
            return { label: p.querySelector('.vv-frame-label').textContent, fps: p.querySelector('.vv-fps').value,
                     zoom: p.dataset.zoom, height: c.getBoundingClientRect().height,
                     page: document.documentElement.scrollHeight,
                     note: document.querySelector('.vv-static-clamped')?.textContent ?? '' }; }""")
        assert state["fps"] == "120" and state["zoom"] == "32" and state["height"] == 32 * 32, state
        assert state["page"] < 2000, state  # the output stays a page tall
        assert "NaN" not in state["label"] and state["label"].endswith("/ 8"), state
        assert "fps 1e+308 is above 120; playing at 120 fps" in state["note"], state
        assert "zoom 1000000 is above 32; shown at 32×" in state["note"], state
        assert page.evaluate(_PLAYING, ".vv-player") == [True]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "saved_grid_clamped.png"))
    finally:
        page.close()
