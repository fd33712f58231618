"""LEAPS calls that must not fail silently or late: class names, stimulus ranges, sizes and weights that torch
would reject deep inside, two-stream networks, requests that cannot fit in memory, Stop and Ctrl-C before the
loop, and one result per job whatever happens."""

from __future__ import annotations

import _thread
import contextlib
import signal as signal_module
import threading
import time

import numpy as np
import pytest
import torch

from vidvis_widgets._memory import saved_activation_bytes
from vidvis_widgets.data.synthetic import SyntheticActions
from vidvis_widgets.methods.leaps.evaluation import evaluate_inversion
from vidvis_widgets.methods.leaps.inversion import (InversionJob, ModelInversion, activation_maximization_3d, deep_dream,
                                          leaps)
from vidvis_widgets.models.run_control import frozen
from vidvis_widgets.models import load_model


@pytest.fixture(scope="module")
def models():
    m, v = load_model("tiny_r3d"), load_model("tiny_verifier")
    ModelInversion(m, v)  # the first one imports torchvision's video models: not what the timed tests time
    return m, v


@pytest.fixture(scope="module")
def val():
    return SyntheticActions("val").arrays()


def stimulus(val, cls):
    return val["rgb"][int(np.flatnonzero(val["label"] == cls)[0])]


def leaps_start(seed: int, size=(16, 64, 64)) -> np.ndarray:
    """The start LEAPS draws for a job (ModelInversion's init_scale 0.1 × N(0, 1) from the job's seed)."""
    return (0.1 * torch.randn((3, *size), generator=torch.Generator().manual_seed(seed))).numpy()


def am_start(model, seed: int, size=(16, 64, 64)) -> np.ndarray:
    """The start the AM baseline draws: N(0, 1) in units of 255 × the mean input std, seeded by the job, seen by
    the model as x / (255 std) per channel."""
    std = torch.tensor(model.vidvis_adapter.std).view(3, 1, 1, 1)
    v = torch.randn((3, *size), generator=torch.Generator().manual_seed(seed)) * float((255 * std).mean())
    return (v / (255 * std)).numpy()


# -- class names ---------------------------------------------------------------------------------------------
def test_a_class_name_is_taken_wherever_a_class_index_is(models, val):
    m, v = models
    names = m.vidvis_adapter.class_names
    stop = threading.Event()
    stop.set()  # resolution happens before anything runs: the jobs come back with their start and their index
    r = leaps(m, "disc_left", stimulus(val, 1), verifier=v, stop=stop)[0]
    assert r.job.target == names.index("disc_left") == 1 and r.status == "stopped"
    assert deep_dream(m, "cello", stop=stop)[0].job.target == 8
    assert activation_maximization_3d(m, "violin", stop=stop)[0].job.target == 9
    res = ModelInversion(m, v)([InversionJob("shaving", 0), InversionJob(3, None, 1, "deepdream")],
                               [stimulus(val, 11)], stop=stop, stimulus_labels=["shaving"])
    assert [r.job.target for r in res] == [11, 3]
    # and they run
    table, results = evaluate_inversion(m, v, classes=["disc_left", "cello"], methods=["deepdream"], steps=1)
    assert [r.job.target for r in results] == [1, 8] and table["stimuli"]["top1_m"] == 1.0


def test_an_unknown_class_name_lists_the_valid_ones(models, val):
    m, v = models
    t = time.perf_counter()
    with pytest.raises(ValueError, match=r"unknown class 'disc_up'.*disc_right, disc_left, bar_clockwise"):
        leaps(m, "disc_up", stimulus(val, 1), verifier=v)[0]
    assert time.perf_counter() - t < 2
    with pytest.raises(ValueError, match="unknown class 'viola'.*cello, violin"):
        evaluate_inversion(m, v, classes=["viola"], steps=1)
    with pytest.raises(ValueError, match="class 'cello' is given by name, but Sequential carries no class names"):
        leaps(torch.nn.Sequential(m.stem), "cello", None, verifier=None, variant="deepdream", layers=["0"], size=(8, 64, 64))[0]


# -- stimuli ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, message", [
    (lambda s: s.astype(np.float32), r"inputs has float values in \[\d+, 2\d\d\]; expected a video T×H×W×3, "
                                     r"channels last, uint8 \(0–255\) or float in \[0, 1\] \(divide 0–255 floats by 255"),
    (lambda s: np.where(np.arange(s.size).reshape(s.shape) == 5, np.nan, s / 255.0),
     r"inputs contains 1 NaN or infinite value\(s\)"),
    (lambda s: np.full(s.shape, np.inf), r"inputs contains \d+ NaN or infinite"),
    (lambda s: s.astype(np.int64), r"inputs has dtype int64; expected .*uint8 \(0–255\).*astype\(np.uint8\)"),
    (lambda s: s / 255.0 - 0.5, r"inputs has float values in \[-0\.\d+, 0\.\d+\]"),
])
def test_a_stimulus_outside_the_documented_forms_is_refused_by_name(models, val, make, message):
    """Before: 0–255 floats were taken as [0, 1] values, so the normalized stimulus reached 1099."""
    m, v = models
    t = time.perf_counter()
    with pytest.raises(ValueError, match=message):
        leaps(m, 4, make(stimulus(val, 4)), verifier=v, steps=1)[0]
    assert time.perf_counter() - t < 2  # before any pass


def test_float_stimuli_in_0_1_equal_their_uint8_form(models, val):
    m, v = models
    inv = ModelInversion(m, v)
    s = stimulus(val, 4)
    a, b = inv.prepare_stimulus(s), inv.prepare_stimulus(s / 255.0)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
    assert float(a.abs().max()) < 10  # normalized units, not 0–255 ones divided by a std
    with pytest.raises(ValueError, match="the stimulus has float values in"):
        inv.prepare_stimulus(s.astype(np.float64))


# -- settings torch would reject deep inside ---------------------------------------------------------------------
@pytest.mark.parametrize("size, message", [
    ((8, 0, 64), r"size H must be an integer ≥ 1, got 0"),
    ((-2, 64, 64), r"size T must be an integer ≥ 1, got -2"),
    ((8, 64.5, 64), r"size H must be an integer ≥ 1, got 64.5"),
    ((64, 64), r"size must be \(T, H, W\), three positive integers; got \(64, 64\)"),
    ("64", r"size must be \(T, H, W\)"),
])
def test_bad_sizes_are_refused_by_name(models, size, message):
    m, v = models
    with pytest.raises(ValueError, match=message):
        ModelInversion(m, v, size=size)


def test_a_size_too_small_for_the_network_is_refused_before_the_loop():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv3d(3, 4, (1, 5, 5)), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool3d(1),
                              torch.nn.Flatten(), torch.nn.Linear(4, 3))
    with pytest.raises(ValueError, match=r"the inverted model Sequential cannot run on x\* of size=\(2, 3, 3\) "
                                         r"\(T, H, W\), not even on a probe of 2×3×3: .*Kernel size"):
        deep_dream(net, 1, layers=["0"], size=(2, 3, 3), steps=1)[0]
    r = deep_dream(net, 1, layers=["0"], size=(2, 5, 5), steps=1)[0]  # the smallest size it takes
    assert r.x.shape == (3, 2, 5, 5)


@pytest.mark.parametrize("weights, message", [
    ([0.5, 1.0], r"priming_weights must be one number or one per priming layer \(5: stem, layer1, layer2, layer3, "
                 r"layer4\); got 2"),
    ([0.5, 1.0, 1.0, 1.0, 0.0], r"priming_weights\[4\] must be a finite number > 0, got 0"),
    ("1", r"priming_weights\[0\] must be a finite number > 0, got '1'"),
    (1.5, r"priming weights λ_l must lie in \(0, 1\]"),
])
def test_priming_weights_of_the_wrong_length_or_value(models, weights, message):
    m, v = models
    with pytest.raises(ValueError, match=message):
        ModelInversion(m, v, priming_weights=weights)
    assert ModelInversion(m, v, priming_weights=[0.2, 0.4, 0.6, 0.8, 1.0]).priming_weights.tolist() == \
        pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])


def test_a_two_stream_network_is_refused_as_verifier_or_as_inverted_model(models, val):
    """Before: the verifier failed after 7.5 s of set-up with "forward() missing 'flow'"."""
    m, v = models
    two = load_model("tiny_two_stream")
    t = time.perf_counter()
    with pytest.raises(ValueError, match=r"the verifier tiny_two_stream is a two-stream model.*one clip N×3×T×H×W"):
        leaps(m, 4, stimulus(val, 4), verifier=two, steps=1)[0]
    with pytest.raises(ValueError, match=r"the inverted model tiny_two_stream is a two-stream model"):
        leaps(two, 4, stimulus(val, 4), verifier=v, steps=1)[0]
    with pytest.raises(ValueError, match="the verifier tiny_two_stream is a two-stream model"):
        ModelInversion(m, "tiny_two_stream")
    assert time.perf_counter() - t < 2


# -- memory ----------------------------------------------------------------------------------------------------
def test_a_size_that_cannot_fit_is_refused_at_once_with_the_estimate_and_what_is_available(models, val):
    """Before: size=(64, 4096, 4096) was allocated until the kernel's OOM killer ended the process at 20.6 GB."""
    m, v = models
    t = time.perf_counter()
    with pytest.raises(MemoryError, match=r"needs about (\d+\.\d) (GB|TB) on cpu, but (\d+\.\d) ([kMGT]B) is "
                                          r"available; refused before allocating anything") as err:
        leaps(m, 4, stimulus(val, 4), verifier=v, size=(64, 4096, 4096), steps=1)[0]
    assert time.perf_counter() - t < 3
    assert "size=(64, 4096, 4096)" in str(err.value) and isinstance(err.value, ValueError)
    # the inputs alone: 7 copies (x*, its gradient, Adam's two moments, the best, the jittered view, the final
    # pick) of 3 × 64 × 4096² float32s are 90 GB
    need = ModelInversion(m, v, size=(64, 4096, 4096)).memory_needed([InversionJob(4, 0)], 1, 2000, 250)
    assert need > 7 * 4 * 3 * 64 * 4096 ** 2
    # an ordinary call still runs
    r = leaps(m, 4, stimulus(val, 4), verifier=v, steps=1)[0]
    assert r.status == "completed" and r.x.shape == (3, 16, 64, 64)


def test_activation_estimate_scales_from_the_probe_to_the_full_size(models):
    """The probe (x*'s frames at 32²) scaled by the pixel ratio against a direct measurement at the full size."""
    m, _ = models
    size = (8, 128, 128)
    inv = ModelInversion(m, None, size=size)
    estimate = inv._probe(verifier=False)[0]
    x = torch.zeros(1, 3, *size, requires_grad=True)
    with frozen(m):
        direct = saved_activation_bytes(lambda: m(x))
    weights = sum(p.numel() * p.element_size() for p in [*m.parameters(), *m.buffers()])
    assert 0.85 < estimate / (direct - weights) < 1.15


# -- Stop and Ctrl-C before the loop -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def slow_setup():
    """r3d_18 (random weights) at 8×112² with four stimuli: a set-up (probe, stimulus pass) of seconds."""
    torch.manual_seed(0)
    model = load_model("torchvision:r3d_18", weights=None)
    rng = np.random.default_rng(0)
    stimuli = [rng.integers(0, 255, (8, 112, 112, 3), dtype=np.uint8) for _ in range(4)]
    jobs = [InversionJob(c, i, 10 + i, "prim") for i, c in enumerate((5, 6, 7, 8))]
    return ModelInversion(model, None, size=(8, 112, 112)), stimuli, jobs


def _expect_starts(results, jobs, status):
    assert [r.job for r in results] == jobs and all(r.status == status for r in results)
    for r, j in zip(results, jobs):
        np.testing.assert_array_equal(r.x, leaps_start(j.seed, (8, 112, 112)))
        assert r.settings["steps"] == 0 and len(r.history["total"]) == 0 and r.predicted is None
        assert r.stimulus is None or r.stimulus.shape == (8, 112, 112, 3)


@contextlib.contextmanager
def signal_at_call(k: int, signal: str, stop: threading.Event | None = None):
    """Sends a Stop (sets ``stop``) or a Ctrl-C from inside the k-th module call (counted over every model) made
    in the block, so it lands at that point however fast the machine is; yields the list its send time goes to."""
    calls, sent = [0], []

    def hook(_module, _inputs):
        calls[0] += 1
        if calls[0] == k:
            sent.append(time.perf_counter())
            stop.set() if signal == "stop" else _thread.interrupt_main()

    handle = torch.nn.modules.module.register_module_forward_pre_hook(hook)
    try:
        yield sent
    finally:
        handle.remove()


@pytest.mark.parametrize("signal, status", [("stop", "stopped"), ("interrupt", "interrupted")])
def test_stop_and_ctrl_c_during_set_up_are_answered_within_a_second_with_every_jobs_start(slow_setup, signal,
                                                                                         status):
    """Sent from the first module call: r3d_18's first layer in the set-up's first pass."""
    inv, stimuli, jobs = slow_setup
    stop = threading.Event()
    with signal_at_call(1, signal, stop) as sent:
        results = inv(jobs, stimuli, steps=50, stop=stop, stimulus_labels=[5, 6, 7, 8])
        after = time.perf_counter() - sent[0]
    assert after < 1.0, f"answered {after:.2f} s after the {signal}"
    _expect_starts(results, jobs, status)


def test_a_ctrl_c_anywhere_in_the_call_returns_one_result_per_job_and_never_raises(models, val):
    """Before: a Ctrl-C landing between the set-up's handler and the loop's (a few lines of Python) escaped
    the call as a KeyboardInterrupt, losing every result; CI hit it. Now a Ctrl-C is a flag every phase checks:
    sent at 12 points spread over a whole call (set-up, both batches' loops, the judging, the final pass)."""
    m, v = models
    jobs = [InversionJob(4, 0, 0), InversionJob(5, None, 1, "am")]
    before = signal_module.getsignal(signal_module.SIGINT)  # the default handler; SIG_IGN when run in the background
    ModelInversion(m, v)(jobs, [stimulus(val, 4)], steps=3)  # fills the caches: the count below is a steady call's
    calls = [0]
    handle = torch.nn.modules.module.register_module_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    try:
        full = ModelInversion(m, v)(jobs, [stimulus(val, 4)], steps=3)
    finally:
        handle.remove()
    assert [r.status for r in full] == ["completed"] * 2
    for k in np.linspace(1, calls[0], 12).astype(int):
        with signal_at_call(int(k), "interrupt") as sent:
            results = ModelInversion(m, v)(jobs, [stimulus(val, 4)], steps=3)
        assert sent, k
        assert [r.job for r in results] == jobs, k
        for r in results:  # ended early, or every step had run when the Ctrl-C came
            assert r.status == "interrupted" or (r.status == "completed" and r.settings["steps"] == 3), (k, r)
        if k == 1:  # in the set-up: every job keeps its start
            assert [r.settings["steps"] for r in results] == [0, 0]
    assert signal_module.getsignal(signal_module.SIGINT) is before  # restored


def test_stop_set_before_the_call_returns_at_once(models, val):
    m, v = models
    stop = threading.Event()
    stop.set()
    t = time.perf_counter()
    r = ModelInversion(m, v)([InversionJob(4, 0, 3), InversionJob(5, None, 4, "am")], [stimulus(val, 4)], stop=stop)
    assert time.perf_counter() - t < 1.0
    assert [x.status for x in r] == ["stopped", "stopped"]
    np.testing.assert_array_equal(r[0].x, leaps_start(3))
    np.testing.assert_allclose(r[1].x, am_start(m, 4), rtol=1e-6)
    assert r[0].stimulus is None or r[0].stimulus.shape == (16, 64, 64, 3)


# -- one result per job ------------------------------------------------------------------------------------------
def test_stopped_midway_every_job_has_a_result_in_job_order(models, val):
    """Before: leaps, am and deepdream jobs stopped midway gave 2 results for 3 jobs."""
    m, v = models
    stop = threading.Event()

    def cb(snap):
        if snap.step >= 2:
            stop.set()

    jobs = [InversionJob(4, 0, 0), InversionJob(4, None, 1, "am"), InversionJob(6, None, 2, "deepdream")]
    res = ModelInversion(m, v)(jobs, [stimulus(val, 4)], steps=50, every=1, callback=cb, stop=stop)
    assert [r.job for r in res] == jobs
    assert [r.status for r in res] == ["stopped"] * 3
    assert [r.settings["steps"] for r in res] == [2, 0, 2]
    np.testing.assert_allclose(res[1].x, am_start(m, 1), rtol=1e-6)  # the AM job never ran: its start
    assert res[1].predicted is None and res[0].predicted is not None
    assert "not run" in repr(res[1])
