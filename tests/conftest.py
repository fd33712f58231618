"""Fixtures shared by the Python and browser tests."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
#: every shipped notebook
SHIPPED = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
#: how the test runs keep notebooks short: few optimization steps, â measured on 2 validation clips per class (a pass
#: over the whole split per checkpoint was 2/3 of the notebooks' time), a private result store
FAST = {"VIDVIS_AM_STEPS": "6", "VIDVIS_LEAPS_STEPS": "6", "VIDVIS_VAL_PER_CLASS": "2"}


#: marks every process this test run starts (kernels inherit it, through a Jupyter server or nbclient), so that a
#: kernel left running is found even when the server that started it is gone
RUN_MARK = "VIDVIS_TEST_RUN"
os.environ[RUN_MARK] = uuid.uuid4().hex
#: no progress bars in the test logs and executed notebooks (tests/test_progress.py turns them on, and tests the
#: real default without this)
os.environ.setdefault("VIDVIS_PROGRESS", "0")


def live_kernels() -> list[str]:
    """The kernels this test run started that are still alive: each running Jupyter server's ``/api/kernels``,
    and every ipykernel process that carries this run's mark."""
    import psutil

    from .e2e.harness import JupyterLab

    found = [f"{server.base}/api/kernels: {k['id']} ({k.get('execution_state')})"
             for server in list(JupyterLab.running) for k in server.kernels()]
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if any("ipykernel" in a for a in proc.info["cmdline"] or ()) and \
                    proc.environ().get(RUN_MARK) == os.environ[RUN_MARK]:
                found.append(f"pid {proc.info['pid']}: {' '.join(proc.info['cmdline'])}")
        except psutil.Error:  # it ended, or is not ours to read
            pass
    return found


@pytest.fixture(autouse=True)
def no_kernel_outlives_its_test():
    """Fails a test that leaves a notebook kernel running after its own teardown (a kernel that is ending gets a
    few seconds to go)."""
    yield
    deadline = time.monotonic() + 10
    while (left := live_kernels()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"kernels outlived the test: {left}"


@pytest.fixture(scope="session", autouse=True)
def no_kernel_outlives_the_run():
    """Fails the run if a kernel is still alive once every fixture of the session (servers included) has ended."""
    yield
    deadline = time.monotonic() + 15
    while (left := live_kernels()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"kernels outlived the test run: {left}"


def user_video_folders(folder: Path) -> dict[str, str]:
    """A user's folder of real MP4s of mixed sizes and aspect ratios (two clips per class of the test split),
    and a probe folder (the biased pair with its cue swapped), for ``your_videos.ipynb``."""
    from vidvis_widgets.data import SyntheticActions

    videos = SyntheticActions("test").write_folder(folder / "user_videos", per_class=2)
    probe = SyntheticActions("counterfactual").write_folder(folder / "user_probe", per_class=4)
    return {"VIDVIS_VIDEO_FOLDER": str(videos), "VIDVIS_PROBE_FOLDER": str(probe)}


def course_report(folder: Path) -> dict[str, str]:
    """The course notebook on the embedded models' world (no model to train for its first steps), writing its
    findings for ``tests/test_course_notebook.py``, with the AM steps its contrastive energy needs."""
    from .test_course_notebook import report_env

    return report_env(folder, None)


#: what a notebook needs in place before it runs, as environment variables it reads
PREPARE = {"your_videos.ipynb": user_video_folders, "dataset_bias.ipynb": course_report,
           # every layer and class of the atlas at few steps, on 2 of each class's 30 test clips
           "atlas.ipynb": lambda _: {"VIDVIS_ATLAS_CLIPS_PER_CLASS": "2"}}


def run_notebook(path: Path, folder: Path, env: dict[str, str], timeout: int = 900):
    """The notebook at ``path`` run top to bottom in a real kernel (nbclient, as ``jupyter nbconvert --execute``
    runs it) in ``folder`` with ``env`` added to the environment, without widget state (as JupyterLab saves a
    notebook by default); returns it executed."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=False,
                       resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


@pytest.fixture(scope="session")
def executed_notebooks(tmp_path_factory):
    """``executed(name)``: the shipped notebook run top to bottom in a real kernel (nbclient, as ``jupyter
    nbconvert --execute`` runs it) and saved, once per session; returns the saved path. The notebooks run in
    one folder, which their files land in, with a private result store. ``VIDVIS_EXECUTED_NOTEBOOKS`` names a
    folder of already executed notebooks to reuse instead (for iterating on the browser tests)."""
    import nbformat

    folder = tmp_path_factory.mktemp("executed")
    done: dict[str, Path] = {}

    reuse = os.environ.get("VIDVIS_EXECUTED_NOTEBOOKS")

    def executed(name: str) -> Path:
        if reuse and (Path(reuse) / name).exists():
            return Path(reuse) / name
        if name not in done:
            env = {**FAST, "VIDVIS_CACHE_DIR": str(folder / "cache"), **PREPARE.get(name, lambda _: {})(folder)}
            nbformat.write(run_notebook(NOTEBOOKS / name, folder, env), folder / name)
            done[name] = folder / name
        return done[name]

    return executed


@pytest.fixture(scope="module")
def one_thread():
    """A module's tests on one torch thread, the thread count restored after it: set at import instead, it would put
    every test after the module on one thread too."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
