"""A real JupyterLab server on localhost driven by Debian's headless Chromium.

Used by the end-to-end tests and by the benchmarks, so both measure the same
path a user's notebook takes: kernel → comm message → anywidget view → canvas.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_notebook(path: Path, cells: list[str]) -> Path:
    nb = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
             "source": src}
            for i, src in enumerate(cells)
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


class JupyterLab:
    """``jupyter lab`` on 127.0.0.1 with a private token, settings and workspace folder."""

    #: the servers started and not yet stopped, so that the tests can check that no kernel outlives its test
    running: "set[JupyterLab]" = set()

    def __init__(self, root: Path, *, starts_kernel: bool = True, app: str = "jupyterlab"):
        self.root = root
        self.starts_kernel, self.app = starts_kernel, app
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.log_path = root / "jupyter.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> None:
        state = self.root / ".jupyter-state"
        for sub in ("settings", "workspaces", "runtime", "config"):
            (state / sub).mkdir(parents=True, exist_ok=True)
        # no news toast over the page, and no reaching out for news
        notify = state / "settings" / "@jupyterlab" / "apputils-extension"
        notify.mkdir(parents=True, exist_ok=True)
        (notify / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(state / "runtime"), JUPYTER_CONFIG_DIR=str(state / "config"),
                   JUPYTER_PLATFORM_DIRS="1", PYTHONUNBUFFERED="1")
        app = "LabApp" if self.app == "jupyterlab" else "JupyterNotebookApp"
        cmd = [
            sys.executable, "-m", self.app, "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}", "--ServerApp.allow_root=True",
            "--ServerApp.open_browser=False", f"--{app}.expose_app_in_browser=True",
            f"--{app}.user_settings_dir={state / 'settings'}", f"--{app}.workspaces_dir={state / 'workspaces'}",
            f"--LabServerApp.notebook_starts_kernel={self.starts_kernel}",
        ]
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=open(self.log_path, "w"),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=2) as r:
                    if r.status == 200:
                        JupyterLab.running.add(self)
                        return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(f"jupyter lab did not answer in {timeout}s:\n{self.log_path.read_text()[-3000:]}")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, notebook: str) -> str:
        if self.app == "notebook":
            return f"{self.base}/notebooks/{notebook}?token={self.token}"
        return f"{self.base}/lab/tree/{notebook}?token={self.token}&reset"

    def api(self, method: str, path: str, timeout: float = 30):
        """The server's REST API (``/api/...``) with the token; returns the decoded JSON answer or None."""
        request = urllib.request.Request(f"{self.base}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as r:
            body = r.read()
        return json.loads(body) if body else None

    def kernels(self) -> list[dict]:
        """The kernels the server holds now (``GET /api/kernels``)."""
        return self.api("GET", "/api/kernels")

    def shutdown_kernels(self, timeout: float = 30) -> None:
        """Ends every session and kernel of the server through its REST API and waits until none is left."""
        deadline = time.monotonic() + timeout
        for session in self.api("GET", "/api/sessions"):
            self._delete(f"/api/sessions/{session['id']}")
        while (kernels := self.kernels()) and time.monotonic() < deadline:
            for kernel in kernels:
                self._delete(f"/api/kernels/{kernel['id']}")
        if kernels:
            raise AssertionError(f"kernels still running after {timeout} s: {kernels}")

    def _delete(self, path: str) -> None:
        try:
            self.api("DELETE", path)
        except urllib.error.HTTPError as e:  # it ended on its own in the meantime
            if e.code != 404:
                raise

    def stop(self) -> None:
        """Shuts the kernels down, then the server; kills what of it is still there after 15 s."""
        JupyterLab.running.discard(self)
        if self.proc and self.proc.poll() is None:
            try:
                self.shutdown_kernels()
            except (OSError, AssertionError):
                pass  # the server is ended below anyway, and its kernels with it
            children = _descendants(self.proc.pid)
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
            for child in children:  # a kernel the server could not end is not left running
                try:
                    child.kill()
                except Exception:  # noqa: BLE001 - it is gone already
                    pass


def _descendants(pid: int) -> list:
    try:
        import psutil

        return psutil.Process(pid).children(recursive=True)
    except Exception:  # noqa: BLE001 - no psutil, or the process is gone
        return []


@contextmanager
def chromium() -> Iterator:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (bash .ci/setup test does)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


_EXECUTE_JS = """
async (code) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session.kernel;
  const future = kernel.requestExecute({ code, store_history: false });
  let out = "", err = null;
  future.onIOPub = (msg) => {
    const t = msg.header.msg_type;
    if (t === "stream") out += msg.content.text;
    if (t === "error") err = msg.content.ename + ": " + msg.content.evalue;
  };
  await future.done;
  return { out, err };
}
"""


class NotebookPage:
    """A notebook open in JupyterLab, with helpers to run code in its kernel and read widget views."""

    def __init__(self, page, lab: JupyterLab, notebook: str):
        self.page = page
        self.lab = lab
        self.notebook = notebook

    def open(self) -> None:
        page = self.page
        page.goto(self.lab.url(self.notebook))
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                               " && window.jupyterapp.shell.currentWidget.sessionContext", timeout=60_000)
        self.accept_dialogs()
        page.wait_for_function(
            "() => { const s = window.jupyterapp.shell.currentWidget.sessionContext;"
            " return s.session && s.session.kernel && s.session.kernel.connectionStatus === 'connected'"
            " && s.session.kernel.status === 'idle'; }",
            timeout=90_000,
        )

    def shutdown_kernel(self) -> None:
        """Ends this notebook's session and its kernel through the server's REST API."""
        for session in self.lab.api("GET", "/api/sessions"):
            if session.get("path") == self.notebook:
                self.lab._delete(f"/api/sessions/{session['id']}")

    def accept_dialogs(self) -> None:
        # a fresh JupyterLab may ask which kernel to use; accept its default
        accept = self.page.locator(".jp-Dialog .jp-mod-accept")
        for _ in range(5):
            if accept.count() and accept.first.is_visible():
                accept.first.click()
                self.page.wait_for_timeout(300)
            else:
                break

    def run_all(self) -> None:
        self.accept_dialogs()
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

    def execute(self, code: str) -> str:
        """Runs code in the notebook's kernel; returns its printed output, raises on a Python error."""
        result = self.page.evaluate(_EXECUTE_JS, code)
        if result["err"]:
            raise AssertionError(f"kernel error running {code!r}: {result['err']}")
        return result["out"]

    def python_value(self, expr: str):
        return json.loads(self.execute(f"import json as _j; print(_j.dumps({expr}))").strip().splitlines()[-1])

    def wait_value(self, expr: str, want, timeout_s: float = 30) -> None:
        """Polls ``expr`` in the kernel until it equals ``want``: what the page sends reaches Python asynchronously."""
        deadline = time.monotonic() + timeout_s
        while (value := self.python_value(expr)) != want:
            if time.monotonic() > deadline:
                raise AssertionError(f"{expr} never became {want!r} in {timeout_s} s; last {value!r}")
            self.page.wait_for_timeout(200)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


# the range of one colour channel per canvas of a player: a cell that decoded real frames is not flat
_PIXEL_SPREAD = """([player, channels]) => Array.from(document.querySelectorAll('.vv-player')[player]
    .querySelectorAll('canvas')).map((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    return Math.max(...channels.map((channel) => {
        let lo = 255, hi = 0;
        for (let i = channel; i < d.length; i += 4) { lo = Math.min(lo, d[i]); hi = Math.max(hi, d[i]); }
        return hi - lo; })); })"""


def pixel_spread(page, player: int, channel: int | None) -> list[int]:
    """Per canvas of the ``player``-th clip player: the range of one colour channel, or with ``channel=None``
    the widest range of the three (flat cells give 0 either way)."""
    return page.evaluate(_PIXEL_SPREAD, [player, [0, 1, 2] if channel is None else [channel]])


def assert_inside_output(element) -> None:
    """``element`` (a Playwright locator) ends inside the notebook output that holds it: a wide widget has to
    wrap its parts below each other, not run past the output's right edge."""
    box = element.bounding_box()
    output = element.locator("xpath=ancestor::div[contains(concat(' ', @class, ' '), ' jp-OutputArea-output ')]")
    area = output.first.bounding_box()
    assert box["x"] + box["width"] <= area["x"] + area["width"], (box, area)


def pixels(locator):
    """What ``locator`` shows on the page now, as an H×W×3 int array (a screenshot of it, decoded)."""
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB")).astype(int)

