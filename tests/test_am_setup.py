"""Activation maximization before its first step: names checked at once, â refused when not finite, class
names as logit channels, Stop and Ctrl-C answered within a second in the layer measurement and the â pass,
and the results grid for a few single-stream results. Short runs on tiny_r3d (measured at 32×32)."""

import _thread
import signal
import threading
import time

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from vidvis_widgets.data.synthetic import CLASS_NAMES, SyntheticActions
from vidvis_widgets.methods import ActivationMaximization, AMJob, unit, AMResults
from vidvis_widgets.models import load_model
from vidvis_widgets.models.layers import clear_layer_caches

SHAPE = (3, 16, 32, 32)  # a small input keeps the layer measurement short
TINY = (3, 4, 16, 16)  # smaller still, for instances that only need to reach the pass for â


@pytest.fixture(scope="module")
def r3d():
    return load_model("tiny_r3d")


@pytest.fixture(scope="module")
def val():
    return SyntheticActions("val", samples_per_class=1).arrays(flow_dtype=np.float16)


@pytest.fixture(scope="module")
def am(r3d, val):
    return ActivationMaximization(r3d, input_shape=SHAPE, val_data=val, steps=2)


def start_input(am, seed=0):
    """The job's start, drawn as documented: N(0, 1) in normalized input units, from the job's seed."""
    g = torch.Generator().manual_seed(seed)
    shape = am.streams.specs[0].shape
    x = torch.randn(shape, generator=g) * am.init_scale * am.streams.unit_scale("video")
    return x.permute(1, 2, 3, 0).numpy()


def test_unknown_layer_is_reported_before_any_measurement():
    am = ActivationMaximization(load_model("tiny_two_stream"))  # measuring its layers takes minutes on a CPU
    t = time.perf_counter()
    with pytest.raises(ValueError, match=r"unknown layer 'conv5_fusoin' in TinyTwoStream; did you mean conv5_fusion"):
        am(AMJob(unit("conv5_fusoin", 0)))[0]
    assert time.perf_counter() - t < 2.0


def test_non_finite_given_maximum_is_refused_naming_the_unit(r3d):
    maxima = np.ones(14, np.float32)
    maxima[3] = np.nan
    am = ActivationMaximization(r3d, input_shape=SHAPE, activation_max={"fc": maxima}, steps=2)
    t = time.perf_counter()
    with pytest.raises(ValueError, match=r"the â of fc c3, is nan; â must be finite"):
        am(AMJob(unit("fc", 3)))[0]
    assert time.perf_counter() - t < 2.0  # refused before the layer measurement
    with pytest.raises(ValueError, match=r"activation_max\['fc'\] has 14 entries, none for fc c20"):
        am(AMJob(unit("fc", 20)))[0]


def test_non_finite_measured_maximum_is_refused_naming_the_unit(r3d, val):
    broken = load_model("tiny_r3d")
    with torch.no_grad():
        broken.fc.weight[5] = float("inf")  # unit 5 of fc responds with ±inf or NaN to every clip
    am = ActivationMaximization(broken, input_shape=TINY, val_data=val, steps=2)
    with pytest.raises(ValueError, match=r"the â of fc c5 \(validation set\) is (nan|inf); â must be finite"):
        am(AMJob(unit("fc", 5)))[0]


@pytest.mark.parametrize("make, error, message", [
    (lambda: AMJob(unit("fc", "x")), None, None),  # a class name is checked against the model when the run starts
    (lambda: AMJob(unit("fc", 1.5)), ValueError, r"unit's channel must be an index ≥ 0 or a class name, got 1.5"),
    (lambda: AMJob(unit("fc", None)), ValueError, r"unit's channel must be an index ≥ 0 or a class name, got None"),
    (lambda: AMJob(unit("fc", "")), ValueError, r"unit's channel must be an index ≥ 0 or a class name, got ''"),
    (lambda: AMJob(unit(3, 0)), ValueError, r"unit's layer must be a layer name \(a non-empty str\), got 3"),
    (lambda: AMJob(("fc", 1)), TypeError, r"AMJob target must be .*; got the tuple \('fc', 1\) \(a unit is "
                                          r"unit\(layer, channel\)\)"),
    (lambda: AMJob(1.5), TypeError, r"AMJob target must be a target .*got 1.5"),
    (lambda: AMJob(unit("fc", 0), seed=-1), ValueError, r"AMJob seed must be an integer ≥ 0, got -1"),
])
def test_job_fields_are_named(make, error, message):
    if error is None:
        assert make().target.single_unit() == ("fc", "x")
    else:
        with pytest.raises(error, match=message):
            make()


def test_class_names_select_class_logits(am):
    k = CLASS_NAMES.index("disc_left")
    assert [r.job for r in am.resolve([AMJob(unit("fc", "disc_left"), gamma=1.0)])] == [AMJob(unit("fc", k), gamma=1.0)]
    with pytest.raises(ValueError, match=r"AMJob target unit\('fc', 'x'\): unknown class 'x'; expected an index 0–13 or one of "
                                         r"disc_right, disc_left"):
        am(AMJob(unit("fc", "x")))[0]
    with pytest.raises(ValueError, match=r"a class name selects a unit only on the class-logit layer \('fc'"):
        am(AMJob(unit("layer4", "disc_left")))[0]
    by_name, by_index = am([unit("fc", "disc_left"), unit("fc", k)])
    assert by_name.job == by_index.job == AMJob(unit("fc", k))
    np.testing.assert_array_equal(by_name.objective, by_index.objective)
    assert by_name.status == "completed" and len(by_name.objective) == 2


@pytest.mark.parametrize("count", [1, 2, 3])
def test_results_grid_for_a_few_single_stream_results(am, count):
    results = am([AMJob(unit("fc", c)) for c in range(count)], steps=1)
    player = results.show()
    assert (player.rows, player.cols) == (1, count) and len(player.clips) == count
    assert player.captions == [f"fc c{c} κ=1 γ=0 · appearance" for c in range(count)]
    assert (AMResults(results * 2).show().rows, AMResults(results * 2).show().cols) == ((1, 2 * count) if count < 3
                                                                                       else (2, 4))


# -- Stop and Ctrl-C before the first step ---------------------------------------------------------------------
def check_unstarted(am, r, status, seed=0):
    assert r.status == status and r.settings["steps"] == 0 and r.activation.shape == r.objective.shape == (0,)
    assert r.activation_caption == f"{status} before the first step"
    np.testing.assert_allclose(r.appearance, start_input(am, seed), rtol=1e-6, atol=1e-4)


def test_a_stop_set_before_the_call_returns_the_start_inputs(r3d):
    am = ActivationMaximization(r3d, input_shape=SHAPE)
    stop = threading.Event()
    stop.set()
    t = time.perf_counter()
    results = am([AMJob(unit("layer4", 3), seed=0), AMJob(unit("fc", 1), seed=5)], stop=stop)
    assert time.perf_counter() - t < 1.0 and len(results) == 2
    check_unstarted(am, results[0], "stopped", 0)
    check_unstarted(am, results[1], "stopped", 5)


@pytest.mark.parametrize("signal, status", [("stop", "stopped"), ("interrupt", "interrupted")])
def test_stop_and_ctrl_c_during_the_layer_measurement(signal, status):
    # the signal is sent from inside the first forward pass of the call, the target rows' table pass, so it lands
    # there however fast that pass is (a timer once did this, when the table took minutes); the tables are
    # cached per architecture, so earlier tests' tables are forgotten first, or the first pass would be a step's
    clear_layer_caches()
    model = load_model("tiny_two_stream")
    stop, sent = threading.Event(), []

    def send(_module, _inputs):
        if not sent:
            sent.append(time.perf_counter())
            stop.set() if signal == "stop" else _thread.interrupt_main()

    handle = model.register_forward_pre_hook(send)
    try:
        am = ActivationMaximization(model, activation_max=None)
        results = am([AMJob(unit("conv5_fusion", 7)), AMJob(unit("fc8", 2), seed=1)], stop=stop)
        after = time.perf_counter() - sent[0]
    finally:
        handle.remove()
    assert after < 1.0, f"answered {after:.2f} s after the {signal}"
    assert [r.status for r in results] == [status, status]
    assert results[1].appearance.shape == (64, 64, 3) and results[1].motion.shape == (10, 2, 64, 64)
    assert results[1].activation_caption == f"{status} before the first step"


class FirstDraw(Dataset):
    """Validation clips that call ``on_first`` when the pass draws its first clip: the â pass has begun."""

    def __init__(self, arrays, on_first):
        self.arrays, self.on_first, self.started = arrays, on_first, False

    def __len__(self):
        return len(self.arrays["label"])

    def __getitem__(self, i):
        if not self.started:
            self.started = True
            self.on_first()
        return {k: self.arrays[k][i] for k in ("rgb", "label")}


@pytest.fixture(scope="module")
def val_split():
    return SyntheticActions("val").arrays(flow_dtype=np.float16)  # 224 clips: 7 batches of the pass


@pytest.mark.parametrize("signal, status", [("stop", "stopped"), ("interrupt", "interrupted")])
def test_stop_and_ctrl_c_during_the_activation_maximum_pass(r3d, val_split, signal, status):
    sent, stop = [], threading.Event()

    def send():
        sent.append(time.perf_counter())
        stop.set() if signal == "stop" else _thread.interrupt_main()

    data = FirstDraw(val_split, send)  # sent when the pass draws its first clip: the pass has begun
    am = ActivationMaximization(r3d, input_shape=TINY, val_data=data)
    r = am(AMJob(unit("layer3", 2)), stop=stop)[0]
    after = time.perf_counter() - sent[0]
    assert after < 1.0, f"answered {after:.2f} s after the {signal}"
    check_unstarted(am, r, status)


def test_a_ctrl_c_anywhere_in_the_call_returns_a_result_per_job_and_never_raises(am):
    """A Ctrl-C sent from inside each module call of a whole call (layer measurement, â, loop, judging, final
    pass) always ends in one result per job, and the SIGINT handler the call installs is taken down again."""
    jobs = [AMJob(unit("layer4", 3), seed=0), AMJob(unit("fc", 1), seed=5)]
    before = signal.getsignal(signal.SIGINT)  # Python's default handler; SIG_IGN when started in the background
    am(jobs, steps=3)  # fills the caches: the count below is a steady call's
    calls = [0]
    handle = torch.nn.modules.module.register_module_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    try:
        assert [r.status for r in am(jobs, steps=3)] == ["completed"] * 2
    finally:
        handle.remove()
    for k in range(1, calls[0] + 1):  # every module call of the call
        sent = []

        def send(_module, _inputs, k=k):
            sent.append(1)
            if len(sent) == k:
                _thread.interrupt_main()

        handle = torch.nn.modules.module.register_module_forward_pre_hook(send)
        try:
            results = am(jobs, steps=3)
        finally:
            handle.remove()
        assert len(sent) >= k and [r.job for r in results] == jobs, k
        for r in results:
            assert r.status == "interrupted" or (r.status == "completed" and r.settings["steps"] == 3), (k, r)
        if k == 1:  # with the caches filled the first module call is the first step's forward: it ends there
            assert [(r.status, r.settings["steps"]) for r in results] == [("interrupted", 1)] * 2
    assert signal.getsignal(signal.SIGINT) is before  # restored
