"""ConfusionPairView never optimizes in the caller's thread: constructing it shows the matrix and clips and returns
(no model forward in the caller's thread, however many steps), a pick runs the logits' AM in the background with
"step k / n" in the status, another pick stops the running pair (its best inputs kept) and starts the next, and
Stop keeps the best result so far. Its three rankings list what the ranking functions return."""

from __future__ import annotations

import threading
import time

import pytest

from vidvis_widgets import ConfusionPairView
from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.methods import ActivationMaximization
from vidvis_widgets.models import evaluate, load_model
from vidvis_widgets.models.rankings import frame_vs_temporal_pairs, over_confident_pairs


@pytest.fixture(scope="module")
def model():
    return load_model("tiny_two_stream", weights=3)  # an early epoch: several confused pairs


@pytest.fixture(scope="module")
def data():
    return SyntheticActions("test", samples_per_class=4)


@pytest.fixture(scope="module")
def ev(model, data):
    return evaluate(model, data)


@pytest.fixture
def forwards(model):
    """The threads each forward of the model ran in."""
    seen: list[str] = []
    handle = model.register_forward_hook(lambda *_: seen.append(threading.current_thread().name))
    yield seen
    handle.remove()


def view_of(model, data, ev, **kw):
    kw = {"steps": 5000, "gammas": (10.0, 0.0), "every": 1, **kw}
    return ConfusionPairView(model, data, evaluation=ev, am=ActivationMaximization(model, activation_max=None), **kw)


def wait_for(check, timeout=60.0):
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_constructing_runs_no_model_pass_and_a_pick_starts_the_am_in_the_background(model, data, ev, forwards):
    view = view_of(model, data, ev, autostart=False)
    assert forwards == [] and not view.running and view.am_results is None
    assert view.status.value.startswith("top-1") and view.clip_player.clips[0] is not None
    assert view.pair_menu.value is None and view.pair_menu.options  # nothing picked, a list to pick from
    time.sleep(0.3)
    assert forwards == []  # and nothing started behind its back
    a, b = view.pair_menu.options[0][1]
    view.pair_menu.value = (a, b)  # as a click in the list does
    assert view.pair == (a, b) and view.running
    wait_for(lambda: "step" in view.status.value)
    assert f"/ 5000" in view.status.value
    assert set(forwards) == {"vidvis-confusion-pair"}  # every AM pass in the view's thread
    view.stop()
    results = view.wait()
    assert not view.running and view.am_pair == (a, b) and results is view.am_results
    assert [r.status for r in results] == ["stopped"] * 4 and 0 < results[0].settings["steps"] < 5000
    assert view.am_player.row_headers == [a, b] and "stopped after" in view.status.value


def test_autostart_returns_at_once_and_another_pick_stops_the_running_pair(model, data, ev, forwards):
    view = view_of(model, data, ev)  # autostart: the top pair starts in the background
    assert "MainThread" not in forwards and view.running
    first = view.pair
    assert first == view.pair_menu.options[0][1] == view.pair_menu.value
    wait_for(lambda: "step" in view.status.value)
    second = view.pair_menu.options[1][1]
    view.show_pair(*second)
    # the first run has ended, keeping its best inputs so far; the second runs
    assert view.am_pair == first and view.am_results[0].status == "stopped"
    assert 0 < view.am_results[0].settings["steps"] < 5000
    assert view.pair == second and view.running and view.pair_menu.value == second
    view.show_pair(*second)  # the same pair again: the run goes on
    assert view.running
    wait_for(lambda: f"{second[1]}</b>: step" in view.status.value)
    view.stop()
    view.wait()
    assert view.am_pair == second and view.am_results[0].status == "stopped"
    assert "MainThread" not in forwards


def test_the_ranking_toggle_lists_each_ranking(model, data, ev):
    ev_2d = evaluate(load_model("tiny_frame2d"), data)
    view = view_of(model, data, ev, evaluation_2d=ev_2d, rank="over-confident", autostart=False, pairs=5)
    c = ev.classes
    names = lambda ranked: [(c[a], c[b]) for a, b, *_ in ranked]  # noqa: E731
    assert [v for _, v in view.pair_menu.options] == names(over_confident_pairs(ev, 5))
    view.rank.value = "2d-vs-3d"
    assert [v for _, v in view.pair_menu.options] == names(frame_vs_temporal_pairs(ev_2d, ev, 5))
    assert view.pair_menu.options and "2D" in view.pair_menu.options[0][0]
    view.rank.value = "confused"
    assert [v for _, v in view.pair_menu.options] == names(ev.most_confused(5))
    assert view.pair_menu.value is None and not view.running  # refilling the list starts nothing
    view.show_pair(*view.pair_menu.options[0][1])
    view.rank.value = "over-confident"  # the pair stays picked where the other list has it, and runs on
    assert view.running and view.pair_menu.value == (view.pair if view.pair in names(over_confident_pairs(ev, 5))
                                                     else None)
    view.stop()
    view.wait()


def test_bad_arguments_are_refused_before_any_work(model, data, ev):
    with pytest.raises(ValueError, match="rank must be one of 'confused', 'over-confident', '2d-vs-3d'"):
        view_of(model, data, ev, rank="shortcut")
    with pytest.raises(ValueError, match="evaluation_2d=<its Evaluation on the same dataset> or model_2d"):
        view_of(model, data, ev, rank="2d-vs-3d")
    with pytest.raises(ValueError, match="every must be a positive int"):
        view_of(model, data, ev, every=0)
    with pytest.raises(ValueError, match="evaluation_2d covers 28 videos but the dataset has 56"):
        view_of(model, data, ev, evaluation_2d=evaluate(model, SyntheticActions("test", samples_per_class=2)))


class Counter:
    """A BackgroundRun whose run counts until stopped (or up to ``limit``) and records how each run ended."""

    def __init__(self):
        from vidvis_widgets.widgets.background_run import BackgroundRun

        class Run(BackgroundRun):
            def _on_progress(self, _snap):
                pass

        self.run = Run()
        self.run._init_controls("stop counting")
        self.ended: list[tuple[int, int]] = []
        self.started = threading.Event()
        self.run._call, self.run._finished = self._call, lambda result, _s: self.ended.append(result)

    def _call(self, _callback, stop):
        run_id, n = len(self.ended), 0
        self.started.set()
        while not stop.is_set() and n < 10**6:
            n += 1
            time.sleep(0.001)
        return run_id, n


def test_background_run_restart_ends_the_running_one_first():
    c = Counter()
    c.run.halt()  # nothing running: nothing to do
    c.run.start()
    c.started.wait(10)
    c.started.clear()
    c.run.restart()
    assert c.run.error is None and len(c.ended) == 1 and c.ended[0][0] == 0 and c.ended[0][1] < 10**6  # stopped, its result kept
    assert c.run.running
    c.started.wait(10)
    with pytest.raises(RuntimeError, match="already running"):
        c.run.start()
    c.run.halt(timeout=10)
    assert not c.run.running and c.ended[1][0] == 1 and c.run.result == c.ended[1] and c.run.error is None
