"""One caching wrapper for every method: LEAPS and Saliency Tubes results are stored and loaded as AM's are,
keyed by what decides them, and a stored answer is never returned for a different question."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

from vidvis_widgets.data.synthetic import SyntheticActions
from vidvis_widgets.methods.leaps.inversion import InversionJob, ModelInversion
from vidvis_widgets.methods.saliency_tubes.tubes import SaliencyTubes
from vidvis_widgets.models import load_model
from vidvis_widgets.store import ResultStore


@pytest.fixture(scope="module")
def models():
    return load_model("tiny_r3d"), load_model("tiny_verifier")


@pytest.fixture(scope="module")
def val():
    return SyntheticActions("val").arrays()


class Forwards:
    """Counts a model's forward passes (a test's own hook, independent of the package's probe)."""

    def __init__(self, model):
        self.n = 0
        self.handle = model.register_forward_pre_hook(lambda *_: setattr(self, "n", self.n + 1))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.remove()


def _stimuli(val, classes):
    return [val["rgb"][int(np.flatnonzero(val["label"] == c)[0])] for c in classes]


def _same_inversion(a, b):
    assert a.job == b.job and a.status == b.status and a.best_step == b.best_step
    np.testing.assert_array_equal(a.video, b.video)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.probabilities, b.probabilities)
    assert a.history.keys() == b.history.keys() and all(np.array_equal(a.history[k], b.history[k]) for k in a.history)
    assert [s for s, _ in a.stages] == [s for s, _ in b.stages]
    assert all(np.array_equal(u, v) for (_, u), (_, v) in zip(a.stages, b.stages))
    assert (a.stimulus is None) == (b.stimulus is None)


def test_leaps_results_load_from_the_store_for_the_same_batch_only(models, val, tmp_path):
    m, v = models
    store = ResultStore(tmp_path)
    stim = _stimuli(val, (3, 8))
    jobs = [InversionJob(3, 0, 0), InversionJob(8, 1, 1, "prim+feat"), InversionJob(5, None, 2, "am")]
    inv = ModelInversion(m, v, store=store)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = inv(jobs, stim, steps=4, stimulus_labels=[3, 8])
        assert len(store) == 3
        with Forwards(m) as fw:
            again = ModelInversion(m, v, store=store)(jobs, stim, steps=4, stimulus_labels=[3, 8])
        assert fw.n == 0  # every job loaded, nothing ran
        for a, b in zip(first, again):
            _same_inversion(a, b)
        # R_feat pooled over the batch: one job alone is another question, and runs
        with Forwards(m) as fw:
            inv([jobs[0]], stim, steps=4, stimulus_labels=[3, 8])
        assert fw.n > 0
        # another stimulus, or another step count, is another question too
        with Forwards(m) as fw:
            inv(jobs, [stim[0][::-1].copy(), stim[1]], steps=4, stimulus_labels=[3, 8])
        assert fw.n > 0


def test_leaps_per_video_pooling_loads_each_job_on_its_own(models, val, tmp_path):
    m, v = models
    store = ResultStore(tmp_path)
    stim = _stimuli(val, (3, 8))
    jobs = [InversionJob(3, 0, 0, "prim+feat"), InversionJob(8, 1, 1, "prim+feat")]
    inv = ModelInversion(m, v, feature_pooling="video", store=store)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        both = inv(jobs, stim, steps=4, stimulus_labels=[3, 8])
        with Forwards(m) as fw:
            one = inv([jobs[1]], stim, steps=4, stimulus_labels=[3, 8])
    assert fw.n == 0
    _same_inversion(both[1], one[0])


def test_a_stopped_leaps_run_is_not_stored(models, val, tmp_path):
    m, v = models
    store = ResultStore(tmp_path)
    stop = threading.Event()
    stop.set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = ModelInversion(m, v, store=store)([InversionJob(3, 0, 0)], _stimuli(val, (3,)), steps=4, stop=stop)[0]
    assert r.status == "stopped" and len(store) == 0


def test_saliency_tubes_load_from_the_store_and_recompute_every_rendering(models, val, tmp_path):
    m, _ = models
    store = ResultStore(tmp_path)
    clips = {"rgb": val["rgb"][:6]}
    first = SaliencyTubes(m, store=store)(inputs=clips, top_k=2)
    assert len(store) == 1
    with Forwards(m) as fw:
        again = SaliencyTubes(m, store=store)(inputs=clips, top_k=2)
    assert fw.n == 0
    for k in ("frames", "activations", "logits", "targets"):
        np.testing.assert_array_equal(getattr(first, k).cpu().numpy(), getattr(again, k).cpu().numpy())
    assert (again.method, again.layer, again.class_names) == (first.method, first.layer, first.class_names)
    # any class and τ, from the stored maps (which lie in memory in another layout, so sums run in another order)
    np.testing.assert_allclose(first.tubes(4).cpu().numpy(), again.tubes(4).cpu().numpy(), atol=1e-5)
    np.testing.assert_allclose(first.tubes(None, 0.1).cpu().numpy(), again.tubes(None, 0.1).cpu().numpy(), atol=1e-5)
    assert np.abs(first.heat(target=4).astype(int) - again.heat(target=4)).max() <= 2
    # other clips, another target or another top-k: the model runs
    for kw in ({"clips": {"rgb": val["rgb"][1:7]}}, {"target": 3}, {"top_k": 3}):
        with Forwards(m) as fw:
            SaliencyTubes(m, store=store)(inputs=kw.pop("clips", clips), **kw)
        assert fw.n > 0, kw
    # the gradient form stores its per-class weights too
    g = SaliencyTubes(m, method="grad", store=store)(inputs=clips, top_k=2)
    with Forwards(m) as fw:
        g2 = SaliencyTubes(m, method="grad", store=store)(inputs=clips, top_k=2)
    assert fw.n == 0
    np.testing.assert_array_equal(g.grad_weights.cpu().numpy(), g2.grad_weights.cpu().numpy())
    np.testing.assert_allclose(g.tubes().cpu().numpy(), g2.tubes().cpu().numpy(), atol=1e-5)
