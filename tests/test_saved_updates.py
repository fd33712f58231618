"""A saved notebook keeps each widget's latest state, not the state it was displayed in: a later ``set_clip`` or
``fps`` change, and an optimization monitor's run, reach the output's static copies (what a saved notebook
keeps), through the output's display id; throttled, off the optimizing thread, and at the end of every run."""

from __future__ import annotations

import base64
import io
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vidvis_widgets as vv
from vidvis_widgets.widgets.serializers import from_sheet
from vidvis_widgets.widgets.static import CLIPS_MIME

from .conftest import run_notebook
from .e2e.harness import write_notebook

WIDGET = "application/vnd.jupyter.widget-view+json"
#: an AM run in a kernel, a few steps on the smallest two-stream model; â given, so no response pass runs first
AM_SETUP = """import numpy as np, vidvis_widgets as vv
from vidvis_widgets.models import load_model
from vidvis_widgets.methods import ActivationMaximization, AMJob, unit
am = ActivationMaximization(load_model("tiny_two_stream"), steps=4, activation_max={"fc8": np.ones(14)})"""
MONITOR_CELLS = [AM_SETUP, "monitor = vv.OptimizationMonitor(am, [AMJob(unit('fc8', 0))], every=2)\nmonitor",
                 "results = monitor.run()\nnp.savez('run.npz', appearance=results[0].appearance)"]


def frames_of(entry: dict) -> np.ndarray:
    sheet = np.asarray(Image.open(io.BytesIO(base64.b64decode(entry["data"]))).convert("RGB"))
    return from_sheet(sheet, entry["frames"], entry["height"], entry["width"], entry["xstride"], entry["ystride"],
                      entry["sheet_cols"])


def saved_outputs(cell) -> list[dict]:
    return [o["data"] for o in cell.outputs if CLIPS_MIME in o.get("data", {})]


def solid(colour, t=4, size=16):
    return np.broadcast_to(np.array(colour, np.uint8), (t, size, size, 3)).copy()


def min_max(a: np.ndarray) -> np.ndarray:
    """An optimized input as the papers show it: min–max over the whole input, as 0–255."""
    a = np.asarray(a, np.float64)
    return (a - a.min()) / (a.max() - a.min()) * 255


def pooled(image: np.ndarray, k: int = 4) -> np.ndarray:
    h, w = image.shape[:2]
    return image[: h - h % k, : w - w % k].reshape(h // k, k, w // k, k, -1).mean(axis=(1, 3))


def assert_monitor_copy_shows_the_run(doc: dict, appearance: np.ndarray) -> None:
    """The monitor's saved copy: its first cell is the run's best appearance input (not the grey blank it was
    displayed with), its second the motion input, and its plot has a curve (plotly's first colour)."""
    assert doc["captions"][:2] == ["fc8 c0 · appearance", "fc8 c0 · motion"], doc["captions"]
    shown = frames_of(doc["clips"][0]).astype(np.float64)[0]  # an image: one frame, H×W×3
    want = min_max(appearance)  # a two-stream model's appearance input: one H×W×3 image
    assert shown.shape == want.shape
    assert shown.std() > 20  # not a flat grey cell
    # pixel noise, JPEG-coded: the same image over 4×4 blocks (pixel by pixel JPEG keeps little of noise)
    corr = np.corrcoef(pooled(shown).ravel(), pooled(want).ravel())[0, 1]
    assert corr > 0.9, corr
    assert frames_of(doc["clips"][1]).std() > 5  # the motion input, drawn as colour
    plot = frames_of(doc["clips"][2])[0].astype(int)
    curve = (np.abs(plot - [0x63, 0x6E, 0xFA]).sum(axis=-1) < 60).sum()
    assert curve > 50, curve  # the objective's line, where "(no data shown yet)" stood


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """One kernel: a player displayed, then changed in later cells and displayed again; a monitor displayed and
    run in the foreground; another started in the background and waited for in a later cell."""
    folder = tmp_path_factory.mktemp("saved_updates")
    cells = [
        "import numpy as np, vidvis_widgets as vv\n"
        "solid = lambda c: np.broadcast_to(np.array(c, np.uint8), (4, 16, 16, 3)).copy()\n"
        "p = vv.ClipPlayer([solid((90, 90, 90)), solid((0, 0, 255))], captions=['grey', 'blue'], fps=8,"
        " image_format='png')\np",
        "p.set_clip(1, solid((255, 0, 0)), caption='red now')",
        "p.fps = 3",
        "p",
        *MONITOR_CELLS,
        "background = vv.OptimizationMonitor(am, [AMJob(unit('fc8', 0))], every=2)\nbackground",
        "background.start();",
        "_ = background.wait()\nnp.savez('background.npz', appearance=background.result[0].appearance)",
    ]
    nb = run_notebook(write_notebook(folder / "updates.ipynb", cells), folder, {})
    return nb, folder


def test_a_players_saved_copies_carry_its_later_clip_and_fps(executed):
    nb, _ = executed
    first, again = saved_outputs(nb.cells[0]), saved_outputs(nb.cells[3])
    assert len(first) == 1 and len(again) == 1
    for data in first + again:  # displayed twice: both outputs current, each still with its live view
        doc = data[CLIPS_MIME]
        assert doc["fps"] == 3.0 and doc["captions"] == ["grey", "red now"]
        np.testing.assert_array_equal(frames_of(doc["clips"][1]), solid((255, 0, 0)))  # lossless: exactly red
        np.testing.assert_array_equal(frames_of(doc["clips"][0]), solid((90, 90, 90)))
        assert WIDGET in data and '"fps": 3.0' in data["text/html"]
        poster = np.asarray(Image.open(io.BytesIO(base64.b64decode(data["image/png"]))).convert("RGB"))
        assert (np.abs(poster.astype(int) - [255, 0, 0]).sum(axis=-1) == 0).sum() >= 16 * 16  # red cell
    assert first[0][WIDGET]["model_id"] == again[0][WIDGET]["model_id"]
    # the cells that changed it show nothing of their own
    assert nb.cells[1].outputs == [] and nb.cells[2].outputs == []


def test_the_monitors_saved_copy_shows_its_run(executed):
    nb, folder = executed
    (data,) = saved_outputs(nb.cells[5])
    assert WIDGET in data
    assert_monitor_copy_shows_the_run(data[CLIPS_MIME], np.load(folder / "run.npz")["appearance"])


def test_a_background_runs_saved_copy_shows_its_end(executed):
    nb, folder = executed
    (data,) = saved_outputs(nb.cells[7])
    assert_monitor_copy_shows_the_run(data[CLIPS_MIME], np.load(folder / "background.npz")["appearance"])


# -- the mechanism, without a kernel: what is sent, when, from which thread ----------------------------------
@pytest.fixture
def sent(monkeypatch):
    """Every output sent (display or update): (time, thread, display id, data), with a short rebuild interval."""
    import IPython.display

    from vidvis_widgets.widgets import outputs as followed

    log: list[tuple[float, str, str, dict]] = []

    def record(data, raw=True, metadata=None, display_id=None):
        log.append((time.monotonic(), threading.current_thread().name, display_id, data))

    monkeypatch.setattr(IPython.display, "display", record)
    monkeypatch.setattr(IPython.display, "update_display", record)
    monkeypatch.setattr(followed, "REBUILD_EVERY", 0.4)
    return log


def test_changes_are_sent_throttled_off_the_callers_thread_and_the_last_always_lands(sent):
    from vidvis_widgets.widgets import outputs as followed

    p = vv.ClipPlayer([solid((0, 0, 0)), solid((0, 0, 0))], captions=["a", "b"], image_format="png")
    p.set_clip(0, solid((9, 9, 9)))
    assert followed.outputs_of(p) is None and sent == []  # never displayed: nothing is watched or sent
    p._ipython_display_()
    assert len(sent) == 1 and CLIPS_MIME in sent[0][3] and WIDGET in sent[0][3]
    start = time.monotonic()
    for i in range(30):  # 30 changes over about 1.5 s
        p.set_clip(1, solid((i * 8, 0, 0)), caption=f"step {i}")
        time.sleep(0.05)
    elapsed = time.monotonic() - start
    p.frame = 2  # playing is not a change of the saved copy
    deadline = time.monotonic() + 5
    while sent[-1][3][CLIPS_MIME]["captions"][1] != "step 29":  # the trailing update, at most an interval later
        assert time.monotonic() < deadline, [d[CLIPS_MIME]["captions"] for *_, d in sent]
        time.sleep(0.05)
    time.sleep(1.0)  # and nothing after it: nothing changed since
    updates = sent[1:]
    assert all(thread != threading.main_thread().name for _, thread, _, _ in updates)
    assert 2 <= len(updates) <= elapsed / 0.4 + 2, len(updates)
    gaps = np.diff([t for t, *_ in sent])
    assert gaps.min() >= 0.35, gaps  # at most one rebuild per interval
    last = updates[-1][3]
    assert last[CLIPS_MIME]["captions"][1] == "step 29" and WIDGET in last
    np.testing.assert_array_equal(frames_of(last[CLIPS_MIME]["clips"][1]), solid((29 * 8, 0, 0)))
    assert len({d for _, _, d, _ in sent}) == 1  # one display id for the widget's every output


def test_a_slow_rebuild_spaces_the_next_so_rebuilds_take_at_most_their_share(sent, monkeypatch):
    """A rebuild that takes 0.2 s is followed by the next no sooner than 0.2 / MAX_SHARE = 2 s later (not the
    0.4 s interval), so a watched run is not slowed by its saved copy; the last change still lands."""
    from vidvis_widgets.widgets import outputs as followed

    p = vv.ClipPlayer([solid((0, 0, 0))], captions=["a"], image_format="png")

    def slow_bundle():
        time.sleep(0.2)
        return p._repr_mimebundle_()

    followed.display_followed(p, slow_bundle)
    for i in range(40):  # 40 changes over about 2 s
        p.set_clip(0, solid((i * 6, 0, 0)), caption=f"step {i}")
        time.sleep(0.05)
    deadline = time.monotonic() + 10
    while sent[-1][3][CLIPS_MIME]["captions"][0] != "step 39":
        assert time.monotonic() < deadline, [d[CLIPS_MIME]["captions"] for *_, d in sent]
        time.sleep(0.05)
    gaps = np.diff([t for t, *_ in sent])
    assert gaps.min() >= 0.2 / followed.MAX_SHARE - 0.1, gaps
    assert len(sent) <= 3, len(sent)  # the display, at most one rebuild during the changes, and the last


def test_a_monitor_rebuilds_on_its_cadence_not_per_step_and_once_more_at_the_end(sent):
    from vidvis_widgets.widgets import outputs as followed
    from vidvis_widgets.methods import ActivationMaximization, AMJob, unit
    from vidvis_widgets.models import load_model

    am = ActivationMaximization(load_model("tiny_two_stream"), steps=6, activation_max={"fc8": np.ones(14)})
    monitor = vv.OptimizationMonitor(am, [AMJob(unit("fc8", 0))], every=1)
    monitor._ipython_display_()
    start = time.monotonic()
    results = monitor.run()
    elapsed = time.monotonic() - start
    outputs = followed.outputs_of(monitor)
    assert outputs.rebuilds <= elapsed / 0.4 + 2  # 6 progress updates, and the rebuilds on their cadence
    when, thread, _, data = sent[-1]
    assert thread == threading.main_thread().name and when >= start  # the run's end, sent at once
    assert_monitor_copy_shows_the_run(data[CLIPS_MIME], results[0].appearance)


def test_a_stopped_run_sends_its_best_inputs(sent):
    from vidvis_widgets.methods import ActivationMaximization, AMJob, unit
    from vidvis_widgets.models import load_model

    am = ActivationMaximization(load_model("tiny_two_stream"), steps=10_000, activation_max={"fc8": np.ones(14)})
    monitor = vv.OptimizationMonitor(am, [AMJob(unit("fc8", 0))], every=1)
    monitor._ipython_display_()
    monitor.start()
    deadline = time.monotonic() + 120
    while not (monitor.status.value.startswith("step ") and int(monitor.status.value.split()[1]) >= 3):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    monitor.stop()
    results = monitor.wait(120)
    assert results[0].status == "stopped"
    _, thread, _, data = sent[-1]
    assert thread == "vidvis-optimization"  # sent by the run as it ended, not by a later cell
    assert_monitor_copy_shows_the_run(data[CLIPS_MIME], results[0].appearance)
