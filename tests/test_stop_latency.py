"""Stop and Ctrl-C end AM and LEAPS right after the forward pass of the step they land in: no further forward pass
(no judging pass, no pass for the results), every job with its best input and a defined value; a job stopped before
its first step reports a documented sentinel, not NaN; a batch whose jobs have all diverged ends at the step it
diverged. Forward passes are counted, not timed, so the tests hold on a loaded machine (benchmarks/stop_latency.py
times them on the large models)."""

from __future__ import annotations

import _thread
import contextlib
import threading
import time

import numpy as np
import pytest
import torch
from torch import nn

from vidvis_widgets.data.synthetic import SyntheticActions
from vidvis_widgets.methods import ActivationMaximization, AMJob, unit
from vidvis_widgets.methods.core.loop import JUDGED
from vidvis_widgets.methods.leaps.inversion import InversionJob, ModelInversion
from vidvis_widgets.models import load_model

TINY = (3, 4, 16, 16)
FROM_STEPS = "the best step's pass (jittered)"


@pytest.fixture(scope="module")
def r3d():
    return load_model("tiny_r3d")


@pytest.fixture(scope="module")
def am(r3d):
    am = ActivationMaximization(r3d, input_shape=TINY, activation_max=None, steps=40)
    am([AMJob(unit("layer3", 2)), AMJob(unit("fc", 1))], steps=1)  # the layer table is measured: later passes are the loop's
    return am


@pytest.fixture(scope="module")
def leaps_setup(r3d):
    v = load_model("tiny_verifier")
    val = SyntheticActions("val").arrays()
    stim = val["rgb"][int(np.flatnonzero(val["label"] == 4)[0])]
    return ModelInversion(r3d, v), [stim], (r3d, v)


@contextlib.contextmanager
def counted(*models, at=None, k: int = 0):
    """Counts the forward passes of ``models`` (their top-level calls); ``at(n)`` runs inside the k-th pass."""
    calls = [0]

    def hook(_m, _inputs):
        calls[0] += 1
        if at is not None and calls[0] == k:
            at(calls[0])

    handles = [m.register_forward_pre_hook(hook) for m in models]
    try:
        yield calls
    finally:
        for h in handles:
            h.remove()


def signaller(kind: str, stop: threading.Event, sent: list, calls: list):
    """A Stop or a Ctrl-C, noting how many passes had begun when it was sent."""
    def send(*_):
        sent.append(calls[0])
        stop.set() if kind == "stop" else _thread.interrupt_main()
    return send


STATUS = {"stop": "stopped", "interrupt": "interrupted"}


@pytest.mark.parametrize("kind", ["stop", "interrupt"])
def test_am_stop_and_ctrl_c_from_the_callback_make_no_further_pass(am, r3d, kind):
    jobs = [AMJob(unit("layer3", 2), seed=0), AMJob(unit("fc", 1), seed=5)]
    stop, sent = threading.Event(), []
    with counted(r3d) as calls:
        send = signaller(kind, stop, sent, calls)
        res = am(jobs, callback=lambda s: send() if s.step == 3 else None, every=1, stop=stop)
        time.sleep(0.05)  # a Ctrl-C not yet delivered would land here, outside the call
    assert sent == [3] and calls[0] == 3, f"{calls[0] - 3} forward passes after the {kind}"
    for r in res:
        assert r.status == STATUS[kind] and r.settings["steps"] == 3
        assert r.settings["final_values"] == FROM_STEPS and np.isfinite(r.appearance).all()
        assert r.best_step == int(np.argmax(r.objective))  # the best step's input, judged as the steps judged it
    # â = 1 here, so a/â is a: on fc (no ReLU) it is the unit the best step's pass measured; on layer3 the loop
    # climbed the pre-activation, and the result reports it after the block's final ReLU (never smaller)
    fc, conv = res[1], res[0]
    np.testing.assert_allclose(fc.normalized_activation, fc.activation[fc.best_step], rtol=1e-5)
    assert conv.normalized_activation >= conv.activation[conv.best_step] - 1e-4


def test_am_stop_from_another_thread_during_a_slow_pass_ends_with_that_pass(am, r3d):
    """A Stop pressed while a (slow) forward pass runs: the run ends after that pass, with no backward pass and no
    further forward pass."""
    stop, sent, go = threading.Event(), [], threading.Event()
    slow = r3d.register_forward_hook(lambda *_: time.sleep(0.3) if go.is_set() else None)

    def press():
        go.wait()
        time.sleep(0.1)  # inside the slowed pass
        stop.set()

    presser = threading.Thread(target=press)
    presser.start()
    try:
        with counted(r3d, at=lambda n: (sent.append(n), go.set()), k=4) as calls:
            r = am(AMJob(unit("fc", 1), seed=2), stop=stop)[0]
    finally:
        slow.remove()
        presser.join()
    assert sent == [4] and calls[0] == 4, f"{calls[0] - 4} forward passes after the Stop"
    assert r.status == "stopped" and r.settings["steps"] == 4 and len(r.objective) == 4
    assert np.isfinite(r.normalized_activation) and r.best_step == int(np.argmax(r.objective))


def test_am_stopped_before_its_first_step_reports_a_sentinel_not_nan(am):
    stop = threading.Event()
    stop.set()
    r = am(AMJob(unit("fc", 1), seed=3), stop=stop)[0]
    assert r.status == "stopped" and r.settings["steps"] == 0
    assert r.normalized_activation is None  # not measured: no pass ran on its input (was NaN)
    assert "not measured" in repr(r) and r.activation_caption == "stopped before the first step"


def test_am_stopped_in_its_first_pass_reports_that_pass(am, r3d):
    stop = threading.Event()
    with counted(r3d, at=lambda n: stop.set(), k=1) as calls:
        r = am(AMJob(unit("fc", 1), seed=3), stop=stop)[0]
    assert calls[0] == 1 and r.settings["steps"] == 1 and r.best_step == 0
    assert np.isfinite(r.normalized_activation)
    np.testing.assert_allclose(r.normalized_activation, r.activation[0], rtol=1e-5)


class Exploding(nn.Module):
    """A small 3D conv net whose output turns NaN from the given forward pass on (for every job at once)."""

    def __init__(self, after: int):
        super().__init__()
        self.conv = nn.Conv3d(3, 4, 3, padding=1)
        self.after, self.calls = after, 0

    def forward(self, x):
        self.calls += 1
        return self.conv(x * float("nan") if self.calls > self.after else x)


def test_a_batch_that_has_all_diverged_ends_at_once():
    m = Exploding(after=6)
    am = ActivationMaximization(m, input_shape=TINY, steps=100, activation_max=None)
    # call 1 lists the target layer; steps 0–4 are calls 2–6; step 5 (call 7) is the first NaN for both jobs
    with pytest.warns(RuntimeWarning, match=r"NaN or infinite .* at step 5"):
        res = am([AMJob(unit("conv", 1), seed=0), AMJob(unit("conv", 2), seed=1)], every=50)
    assert m.calls == 7, f"{m.calls - 7} forward passes after the whole batch diverged"
    for r in res:
        assert r.status == "diverged" and r.diverged_at == 5 and r.settings["steps"] == 6
        assert np.isfinite(r.appearance).all() and np.isfinite(r.normalized_activation)


@pytest.mark.parametrize("kind", ["stop", "interrupt"])
def test_leaps_stop_and_ctrl_c_from_the_callback_make_no_further_pass(leaps_setup, kind):
    inv, stimuli, nets = leaps_setup
    jobs = [InversionJob(4, 0, 0), InversionJob(6, None, 2, "deepdream"), InversionJob(4, None, 1, "am")]
    inv(jobs[:2], stimuli, steps=1)  # the probes and stimulus statistics are measured: later passes are the loop's
    stop, sent = threading.Event(), []
    with counted(*nets) as calls:
        send = signaller(kind, stop, sent, calls)
        res = inv(jobs, stimuli, steps=40, every=1, stop=stop,
                  callback=lambda s: send() if s.step == 2 and not sent else None)
        time.sleep(0.05)
    assert len(sent) == 1 and calls[0] == sent[0], f"{calls[0] - sent[0]} forward passes after the {kind}"
    assert [r.status for r in res] == [STATUS[kind]] * 3 and [r.settings["steps"] for r in res] == [2, 2, 0]
    for r in res[:2]:
        assert r.settings["final_values"] == FROM_STEPS and np.isfinite(r.x).all()
        p = r.probabilities
        assert p.shape == (len(inv.class_names),) and np.isfinite(p).all() and abs(p.sum() - 1) < 1e-4 and r.predicted is not None
        assert r.best_step == int(np.argmin(r.history["total"]))
    assert res[2].predicted is None and not np.isnan(res[2].probabilities).any()  # the AM job never ran


def test_leaps_stopped_before_its_first_step_reports_no_probabilities_not_nan(leaps_setup):
    inv, stimuli, _ = leaps_setup
    stop = threading.Event()
    stop.set()
    for r in inv([InversionJob(4, 0, 0), InversionJob(4, None, 1, "am")], stimuli, stop=stop):
        assert r.status == "stopped" and r.settings["steps"] == 0 and r.predicted is None
        assert r.probabilities.size == 0  # the sentinel: no pass ran on its input (was NaN per class)
        assert "not run" in repr(r)


def test_a_completed_run_is_still_judged_on_a_final_pass(leaps_setup, am):
    inv, stimuli, _ = leaps_setup
    r = inv(InversionJob(4, 0, 0), stimuli, steps=2)[0]
    assert r.status == "completed" and r.settings["final_values"] == JUDGED
    with torch.no_grad():
        p = inv.model_logits(torch.as_tensor(r.x)[None]).float().softmax(1)[0].numpy()
    np.testing.assert_allclose(r.probabilities, p, atol=1e-5)
    assert am(AMJob(unit("fc", 1)), steps=2)[0].settings["final_values"] == JUDGED
