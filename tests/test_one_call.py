"""One call for activation maximization and LEAPS: target=, inputs=, seeds=, and a collection of results, always.

Before, one AM job returned an AMResult and leaps() one result or a list; AM took (layer, channel) and LEAPS
target_class= and stimulus=. Every refusal here comes before any pass of the model."""

import threading

import numpy as np
import pytest

from vidvis_widgets.methods import (ActivationMaximization, AMJob, AMResults, InversionJob, InversionResults,
                                    ModelInversion, activation_maximization, activation_maximization_3d, deep_dream,
                                    leaps, logit, sweep, unit)
from vidvis_widgets.models import load_model


class Passes:
    """Counts the model's forward passes inside the block."""

    def __init__(self, model):
        self.model, self.n = model, 0

    def __enter__(self):
        self.handle = self.model.register_forward_pre_hook(lambda *_: setattr(self, "n", self.n + 1))
        return self

    def __exit__(self, *exc):
        self.handle.remove()


@pytest.fixture(scope="module")
def r3d():
    return load_model("tiny_r3d")


@pytest.fixture(scope="module")
def video(r3d):
    return np.random.default_rng(0).integers(0, 256, (*r3d.vidvis_adapter.native_shape, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def stopped():
    stop = threading.Event()
    stop.set()
    return stop


# -- activation maximization ------------------------------------------------------------------------------------
def test_am_returns_a_collection_and_makes_one_job_per_target_and_seed(r3d):
    am = ActivationMaximization(r3d, activation_max=None, steps=2)
    one = am(unit("layer3", 2))
    assert isinstance(one, AMResults) and len(one) == 1 and one[0].status == "completed"
    assert one[0].job == AMJob(unit("layer3", 2)) and one.settings["steps"] == 2
    many = am([unit("layer3", 1), "disc_left"], seeds=[3, 4], gamma=2.0, steps=1)
    head = logit(1).resolve(r3d.vidvis_adapter)  # a class by name is its logit, on the model's logit layer
    assert [r.job for r in many] == [AMJob(unit("layer3", 1), 1.0, 2.0, 3), AMJob(unit("layer3", 1), 1.0, 2.0, 4),
                                     AMJob(head, 1.0, 2.0, 3), AMJob(head, 1.0, 2.0, 4)]
    assert many[2].activation_caption.startswith("value ")  # a logit is maximized as it is, not divided by â
    assert not np.array_equal(many[0].appearance, many[1].appearance)  # each seed its own start
    # job objects carry their own setting and seed: a sweep runs as it is
    swept = am(sweep(unit("layer3", 1), "isotropic", seed=4), steps=1)
    assert [(r.job.kappa, r.job.gamma, r.job.seed) for r in swept] == [(k, k, 4) for k in (10.0, 5.0, 2.5, 1.0)]
    np.testing.assert_array_equal(swept[0].objective[:1], am(AMJob(unit("layer3", 1), 10, 10, 4), steps=1)[0].objective)


def test_the_function_is_the_class_call(r3d):
    alone = activation_maximization(r3d, unit("layer3", 2), seeds=1, steps=2, gamma=5.0, activation_max=None,
                                    progress=False)
    built = ActivationMaximization(r3d, activation_max=None, steps=2)(unit("layer3", 2), seeds=[1], gamma=5.0)
    assert isinstance(alone, AMResults) and len(alone) == 1 and alone[0].job == built[0].job
    np.testing.assert_array_equal(alone[0].appearance, built[0].appearance)
    np.testing.assert_array_equal(alone[0].objective, built[0].objective)
    assert ActivationMaximization(r3d).settings(7)["steps"] == 7 == alone[0].settings["steps"] + 5


@pytest.mark.parametrize("call, error, message", [
    (lambda am: am(unit("fc", 0), np.zeros((16, 64, 64, 3))), ValueError,
     r"activation maximization takes no inputs=: it optimizes each job's input from its seeded noise"),
    (lambda am: am(), ValueError, r"activation maximization: no target given; expected target= a target "
                                  r"\(unit\(layer, channel\), logit\(class\)"),
    (lambda am: am([]), ValueError, r"target= is an empty list"),
    (lambda am: am(unit("fc", 0), seeds=-1), ValueError,
     r"seeds must be an int ≥ 0 or a non-empty list of them, e.g. seeds=0 or seeds=\[0, 1, 2\]; got -1"),
    (lambda am: am(unit("fc", 0), seeds=[0, 1.5]), ValueError, r"seeds must be an int ≥ 0 .*; got \[0, 1.5\]"),
    (lambda am: am(unit("fc", 0), seeds="0"), ValueError, r"seeds must be an int ≥ 0"),
    (lambda am: am(unit("fc", 0), seeds=[]), ValueError, r"seeds is empty"),
    (lambda am: am([unit("fc", 0), AMJob(unit("fc", 1))]), ValueError, r"target= mixes job objects and plain targets"),
    (lambda am: am(AMJob(unit("fc", 1)), seeds=[1, 2]), ValueError, r"seeds given beside job objects"),
    (lambda am: am([AMJob(unit("fc", 1))], kappa=2.0), ValueError, r"kappa given beside job objects"),
    (lambda am: am(AMJob(("fc", 1))), TypeError, r"got the tuple \('fc', 1\) \(a unit is unit\(layer, channel\)\)"),
    # the old forms: AMJob(layer, channel) reads the layer as a class and says what a unit is
    (lambda am: am(AMJob("fc", 0)), ValueError, r"unknown class 'fc'.*'fc' is a layer: a unit is unit\('fc', channel\)"),
    (lambda am: activation_maximization(am.model, "fc", 0), ValueError, r"takes no inputs="),
    (lambda am: am(target=unit("fc", 0), seed=1), TypeError, r"unexpected keyword argument 'seed'"),
])
def test_am_refuses_a_bad_call_by_name_before_any_pass(r3d, call, error, message):
    am = ActivationMaximization(r3d, activation_max=None, steps=1)
    with Passes(r3d) as passes, pytest.raises(error, match=message):
        call(am)
    assert passes.n == 0


# -- LEAPS and its baselines ------------------------------------------------------------------------------------
def test_leaps_makes_its_jobs_from_targets_seeds_and_inputs(r3d, video, stopped):
    """Stopped in the set-up: every job comes back at once with its start, so the jobs are checked without a run."""
    inv = ModelInversion(r3d, None)
    other = video[::-1].copy()
    one = inv(2, video, seeds=[0, 1], variant="prim", stop=stopped)
    per_target = inv([1, "disc_left"], [video, other], variant="prim", stop=stopped)
    shared = inv([1, 3], video, seeds=5, variant="prim", stop=stopped)
    unprimed = inv(3, variant="deepdream", stop=stopped)
    given = inv([InversionJob(4, 1, 7, "prim"), InversionJob(5, None, 8, "am")], [video, other], stop=stopped)
    for results in (one, per_target, shared, unprimed, given):
        assert isinstance(results, InversionResults) and {r.status for r in results} == {"stopped"}
    assert [r.job for r in one] == [InversionJob(2, 0, 0, "prim"), InversionJob(2, 0, 1, "prim")]
    assert [r.job for r in per_target] == [InversionJob(1, 0, 0, "prim"), InversionJob(1, 1, 0, "prim")]
    assert [r.job for r in shared] == [InversionJob(1, 0, 5, "prim"), InversionJob(3, 0, 5, "prim")]
    assert [r.job for r in unprimed] == [InversionJob(3, None, 0, "deepdream")]
    assert [r.job for r in given] == [InversionJob(4, 1, 7, "prim"), InversionJob(5, None, 8, "am")]


def test_leaps_and_the_baselines_return_a_collection_for_one_job(r3d, video, stopped):
    settings = dict(verifier=None, variant="prim", steps=1, size=(4, 32, 32), progress=False)
    run = leaps(r3d, 2, video, stimulus_labels=[2], **settings)  # labelled: no warning that the model disagrees
    assert isinstance(run, InversionResults) and len(run) == 1 and run[0].status == "completed"
    assert run[0].job == InversionJob(2, 0, 0, "prim") and run.settings["size"] == [4, 32, 32]
    other = video[::-1].copy()  # one stimulus per target: each job is primed, and shown, with its own
    two = leaps(r3d, [2, 3], [video, other], stimulus_labels=[2, 3], **settings)
    inv = ModelInversion(r3d, None, size=(4, 32, 32))
    for r, v in zip(two, (video, other)):
        np.testing.assert_array_equal(r.stimulus, inv.to_video(inv.prepare_stimulus(v)))
    for call, variant in ((deep_dream, "deepdream"), (activation_maximization_3d, "am")):
        results = call(r3d, "disc_left", seeds=[0, 2], stop=stopped)
        assert isinstance(results, InversionResults)
        assert [r.job for r in results] == [InversionJob(1, None, s, variant) for s in (0, 2)]


@pytest.mark.parametrize("call, error, message", [
    (lambda inv, v: inv(2), ValueError, r"variant 'leaps' primes the model with a video of the target class, so it "
                                        r"needs inputs= \(a video T×H×W×3"),
    (lambda inv, v: inv([1, 2], [v]), ValueError, r"inputs gives 1 stimuli for 2 target\(s\); expected one video for "
                                                  r"every target, or a list of one per target"),
    (lambda inv, v: inv([1, 2], [v, v[0]]), ValueError, r"inputs\[1\] must be a video T×H×W×3"),
    (lambda inv, v: inv(1, v.astype(np.float32)), ValueError, r"inputs has float values in \[0, 255\]"),
    (lambda inv, v: inv(1, v, variant="leap"), ValueError, r"unknown variant 'leap'; expected one of deepdream, am"),
    (lambda inv, v: inv(InversionJob(1, 0), v, seeds=[1]), ValueError, r"LEAPS: seeds given beside job objects"),
    (lambda inv, v: inv(InversionJob(1, 0), v, variant="prim"), ValueError, r"LEAPS: variant given beside job objects"),
    (lambda inv, v: inv(InversionJob(1, 3), [v]), ValueError, r"refers to stimulus 3, but inputs gives 1"),
    (lambda inv, v: inv(InversionJob(("fc", 1))), TypeError, r"a unit is unit\(layer, channel\)"),
    (lambda inv, v: inv(1, v, seeds=-2), ValueError, r"seeds must be an int ≥ 0"),
    (lambda inv, v: leaps(inv.model, target_class=1, inputs=v), TypeError, r"unexpected keyword argument 'target_class'"),
    (lambda inv, v: leaps(inv.model, 1, stimulus=v), TypeError, r"unexpected keyword argument 'stimulus'"),
])
def test_leaps_refuses_a_bad_call_by_name_before_any_pass(r3d, video, call, error, message):
    inv = ModelInversion(r3d, None, steps=1)
    with Passes(r3d) as passes, pytest.raises(error, match=message):
        call(inv, video)
    assert passes.n == 0
