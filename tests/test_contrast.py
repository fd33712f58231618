"""Contrastive views: AM, Saliency Tubes and LEAPS of logit(a), logit(b) and logit(a) − logit(b), on every
architecture of the model matrix (tests/test_model_matrix.py's small builders, random weights). Every value is
checked against the model's own logits read by the test's own forward pass: the a − b column's tube values are the
a column's minus the b column's, AM's value is the model's own difference on the input AM found, LEAPS' a − b
class term is the negated difference on its input, and its probabilities the model's own softmax."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
import torch

from vidvis_widgets.methods import logit
from vidvis_widgets.methods.contrast import ContrastResults, contrast, contrast_targets, leaps_unavailable
from vidvis_widgets.models import load_model
from vidvis_widgets.store import ResultStore

from .test_method_store import Forwards
from .test_model_matrix import ARCHS, _am_input, _build, _clips, _forward, _model_units, _native

A, B = 1, 3


@pytest.fixture(scope="module", params=ARCHS)
def model(request):
    return _build(request.param)


def _own(model, x) -> torch.Tensor:
    with torch.no_grad():
        return _forward(model, x)


def test_contrast_targets_are_each_class_and_their_difference():
    a, b, d = contrast_targets("x", 2)
    assert (a, b, d) == (logit("x"), logit(2), logit("x") - logit(2))
    assert d.classes == (("x", 1.0), (2, -1.0))


@pytest.mark.filterwarnings("ignore::vidvis_widgets.methods.core.diagnostics.DeadUnitWarning")  # random weights
def test_contrast_on_every_architecture_matches_the_models_own_logits(model):
    clips = _clips(model, 2)
    leaps_ok = leaps_unavailable(model) is None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "verifier=None")
        views = contrast(model, "action_1", B, inputs=clips, steps=2, leaps_steps=1,
                         am_settings=dict(activation_max=None, jitter=False, regularization=0),
                         leaps_settings=dict(size=_native(model), lr=1e-7, jitter=0))
    assert isinstance(views, ContrastResults) and (views.a, views.b) == ("action_1", "action_3")
    assert views.methods == (("am", "tubes", "leaps") if leaps_ok else ("am", "tubes")) and views.status == "completed"
    # tubes: one pass of the clips per target; the a − b column is the a column minus the b column, and each is the
    # model's own logit on the clips
    tv = views.values("tubes")
    z = _own(model, _model_units(clips, model)).numpy()
    np.testing.assert_allclose(tv[:2], z[:, [A, B]].T, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(tv[2], tv[0] - tv[1], atol=1e-4, rtol=1e-4)
    for i, t in enumerate(views["tubes"]):
        assert tuple(t.tubes().shape) == clips.shape[:4] and torch.isfinite(t.tubes()).all()
    # AM: each target's value on the input found is the model's own (the difference too), read by the test's pass
    am = views["am"]
    xs = [_am_input(model, r[0]) for r in am]
    stacked = [torch.cat([x[k] for x in xs]) for k in range(2)] if isinstance(xs[0], list) else torch.cat(xs)
    own = _own(model, stacked)
    want = torch.stack([own[0, A], own[1, B], own[2, A] - own[2, B]]).numpy()
    np.testing.assert_allclose(views.values("am")[:, 0], want, rtol=1e-3, atol=1e-3)
    assert all(r[0].status == "completed" and r[0].job.gamma == 0 for r in am)
    # the grid: columns a, b, a − b; a row per view (SlowFast's fastest pathway, or the video), each cell captioned
    grid = views.clip_grid()
    assert grid.cols == 3 and len(grid.clips) == len(grid.captions) == 3 * grid.rows
    assert grid.col_headers == ["action_1", "action_3", "action_1 − action_3"]
    assert grid.row_headers[0].startswith("AM ") and grid.row_headers[-1] == ("LEAPS" if leaps_ok else "tubes · clip 0")
    if not leaps_ok:
        assert "two-stream" in views.skipped["leaps"] or "priming" in views.skipped["leaps"]
        return
    # LEAPS (one step at a learning rate too small to move x*): the a − b job's class term is the negated difference
    # on its input, the probabilities the model's own softmax, the margin log p(a) − log p(b) its logit difference
    lp = [r[0] for r in views["leaps"]]
    x = torch.stack([torch.as_tensor(r.x).float() for r in lp])
    z = _own(model, x)
    for i, r in enumerate(lp):
        tol = 5e-4 * (1 + float(z[i].abs().max()))
        torch.testing.assert_close(torch.as_tensor(r.probabilities), z[i].softmax(0), atol=1e-4, rtol=1e-3)
        assert views.values("leaps")[i, 0] == pytest.approx(float(z[i, A] - z[i, B]), abs=tol * 4)
    assert lp[2].history["ce"][0] == pytest.approx(-float(z[2, A] - z[2, B]), abs=5e-4 * (1 + float(z[2].abs().max())))


def test_contrast_refuses_bad_arguments_before_any_pass():
    m = load_model("tiny_r3d")
    clips = np.zeros((1, *m.vidvis_adapter.native_shape, 3), np.uint8)
    with Forwards(m) as fw:
        for kw, match in ((dict(a=0, b=0), "two different classes"), (dict(a=0, b="nope"), "b: unknown class"),
                          (dict(a=0, b=1, methods=("am", "gradcam")), "methods must be some of"),
                          (dict(a=0, b=1, methods=("tubes",), inputs=None), "tubes need the clips"),
                          (dict(a=0, b=1, methods=("leaps",), inputs=None), "LEAPS primes the model"),
                          (dict(a=0, b=1, inputs=clips, gammas=()), "gammas must name")):
            with pytest.raises(ValueError, match=match):
                contrast(m, **{"inputs": clips, **kw})
    assert fw.n == 0
    two = load_model("tiny_two_stream")
    with pytest.raises(ValueError, match="two-stream"):
        contrast(two, 0, 1, methods="leaps", leaps_inputs=clips[0])


def test_contrast_is_stored_and_stops(tmp_path):
    """A store rerun computes nothing; a Stop set before the call keeps AM's starts and runs nothing after it."""
    m = load_model("tiny_two_stream")
    from vidvis_widgets.data import SyntheticActions

    data = SyntheticActions("test", samples_per_class=1).arrays(range(2))
    store = ResultStore(tmp_path)
    seen = []
    with pytest.warns(UserWarning, match="leaves LEAPS out"):
        first = contrast(m, 0, 1, inputs=data, steps=2, gammas=(10, 5), store=store, callback=seen.append)
    assert [r[0].job.gamma for r in first["am"]] == [10, 10, 10] and len(first["am"][0]) == 2
    assert {p.method for p in seen} == {"am", "tubes"} and seen[-1].phase == 1 and seen[-1].phases == 2
    with Forwards(m) as fw, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = contrast(m, 0, 1, inputs=data, steps=2, gammas=(10, 5), store=store)
    assert fw.n == 0
    np.testing.assert_array_equal(first["am"][2][1].motion, again["am"][2][1].motion)
    np.testing.assert_allclose(first.values("tubes"), again.values("tubes"), atol=1e-6)
    stop = threading.Event()
    stop.set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stopped = contrast(m, 0, 1, inputs=data, steps=50, methods=("am", "tubes"), stop=stop)
    assert stopped.status == "stopped" and stopped["am"][0][0].status == "stopped"
    assert stopped.skipped == {"tubes": "stopped before it began"}


def test_contrast_view_runs_in_the_background_with_progress_and_stop():
    from vidvis_widgets.widgets.contrast_view import ContrastView

    m = load_model("tiny_r3d")
    clips = _clips_of(m, 2)
    view = ContrastView(m, "apply_lipstick", 0, inputs=clips, steps=3, gammas=(10, 0), samples=2)
    assert view.player.col_headers == ["apply_lipstick", view.b, f"apply_lipstick − {view.b}"] and view.b != view.a
    seen = []
    view._on_progress = lambda p, show=view._on_progress: (seen.append(p), show(p))
    view.start()
    views = view.wait(60)
    assert not view.running and isinstance(views, ContrastResults) and views.status == "completed"
    assert {p.method for p in seen} == {"am", "tubes"} and view.status.value.startswith("completed in")
    # three columns × (AM per γ, tubes of two clips), each cell captioned with its value
    assert (view.player.rows, view.player.cols) == (4, 3) and len(view.player.captions) == 12
    assert view.player.row_headers == ["AM video γ=10", "AM video γ=0", "tubes · clip 0", "tubes · clip 1"]
    v = views.values("tubes")
    assert view.player.captions[6:9] == [f"{x:.2f}" for x in v[:, 0]]
    # Stop: a long run ends early with each job's best so far, and the view says so
    view = ContrastView(m, 1, 2, inputs=clips, steps=5000, methods=("am", "tubes"))
    view._on_progress = lambda p: view.stop()  # pressed at the first progress report
    view.start()
    stopped = view.wait(60)
    assert stopped.status == "stopped" and stopped["am"][0][0].status == "stopped"
    assert stopped.skipped == {"tubes": "stopped before it began"} and view.status.value.startswith("stopped")
    with pytest.raises(ValueError, match="two different classes"):
        ContrastView(m, 1, 1, inputs=clips)


def _clips_of(model, n):
    return np.random.default_rng(0).integers(0, 256, (n, *model.vidvis_adapter.native_shape, 3), dtype=np.uint8)


def test_contrast_region_energy_is_the_region_measure_of_each_column():
    """The contrast's region energy is region_energy's on each column's results (AM: all jobs in one table)."""
    from vidvis_widgets.methods.core.region_energy import region_energy
    from vidvis_widgets.methods.core.regions import box, grid_cells

    m = load_model("tiny_r3d")
    clips = _clips_of(m, 2)
    views = contrast(m, 0, 1, inputs=clips, steps=2, methods=("am", "tubes"), gammas=(5, 0))
    regions = [box(0, 0, 0.5, 1, name="left"), box(0.5, 0, 1, 1, name="right")]
    am = views.region_energy(regions)
    assert len(am.rows) == 3 * 2 * 2 and set(am.targets) == set(region_energy(views["am"][2], regions).targets) | \
        set(region_energy(views["am"][0], regions).targets) | set(region_energy(views["am"][1], regions).targets)
    for r in am.rows:  # two halves: the shares add up to 1 per job
        pair = [x["share"] for x in am.rows if (x["target"], x["gamma"]) == (r["target"], r["gamma"])]
        assert sum(pair) == pytest.approx(1, abs=1e-5)
    tubes = views.region_energy(grid_cells(2, 2), "tubes")
    d = region_energy(views["tubes"][2], grid_cells(2, 2))
    assert [x for x in tubes.rows if x["target"] in d.targets] == d.rows and len(tubes.rows) == 3 * 2 * 4
    with pytest.raises(ValueError, match="method must be 'am' or 'tubes'"):
        views.region_energy(regions, "leaps")
