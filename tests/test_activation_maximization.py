"""Activation maximization on the embedded two-stream model: what the papers report, checked."""

import dataclasses
import threading

import numpy as np
import pytest
import torch
from torch import nn

from vidvis_widgets import OptimizationMonitor, RegularizerSweep
from vidvis_widgets.data.synthetic import CLASS_NAMES, CLASSES
from vidvis_widgets.methods import ActivationMaximization, AMJob, unit, sweep, temporal_variation
from vidvis_widgets.models import load_model
from vidvis_widgets.models.folding import fold_batchnorm

# evenly spaced, not hand-picked: 16 fusion channels, 8 units of fc6 and of fc7, 8 class logits, among the
# units that fire on some validation clip (for a unit that never does, a/â is undefined). 40 units: at 20 one
# unit is 5 points of the 90% criterion
PICKS = {"conv5_fusion": 16, "fc6": 8, "fc7": 8, "fc8": 8}


def evenly_spaced_live_units(am):
    maxima = am.activation_max(list(PICKS))
    units = []
    for layer, k in PICKS.items():
        live = np.flatnonzero(maxima[layer] > 0)
        units += [(layer, int(live[i])) for i in np.linspace(0, len(live) - 1, k).round().astype(int)]
    return units


GAMMAS = (10.0, 5.0, 1.0, 0.0)
DIRECTIONS = {spec.name: spec.direction for spec, _ in CLASSES if spec.direction is not None}


@pytest.fixture(scope="module")
def model():
    return load_model("tiny_two_stream")


@pytest.fixture(scope="module")
def am(model):
    return ActivationMaximization(model)


@pytest.fixture(scope="module")
def runs(am):
    """Everything the quality tests look at, as one batch: the units, a γ sweep, and the logits of the classes
    that a motion direction defines, under every γ of the anisotropic preset from two random starts."""
    units = evenly_spaced_live_units(am)
    jobs = [AMJob(unit(l, c), seed=i) for i, (l, c) in enumerate(units)]
    jobs += sweep(unit("conv5_fusion", 7), "anisotropic", seed=99)
    jobs += [AMJob(unit("fc8", CLASS_NAMES.index(name)), 1.0, g, seed=s) for name in DIRECTIONS for g in GAMMAS for s in (0, 1)]
    out = am(jobs)
    n = len(units)
    return {"units": out[:n], "sweep": out[n:n + len(GAMMAS)], "directions": out[n + len(GAMMAS):]}


def test_most_units_are_excited_beyond_every_validation_clip(runs):
    values = [r.normalized_activation for r in runs["units"]]
    assert all(r.activation_max_source == "validation set" for r in runs["units"])
    assert len(values) == sum(PICKS.values())
    assert np.mean(np.asarray(values) >= 1.0) >= 0.9, {r.title: round(v, 2) for r, v in zip(runs["units"], values)}


def test_temporal_variation_of_motion_falls_as_gamma_rises(runs):
    tv = [float(temporal_variation(torch.tensor(r.motion).transpose(0, 1)[None])[0]) for r in runs["sweep"]]
    assert [r.job.gamma for r in runs["sweep"]] == list(GAMMAS)
    assert all(a < b for a, b in zip(tv, tv[1:])), tv


def test_class_logit_motion_flows_in_the_class_direction(runs):
    """For every class defined by a motion direction, the motion input found for its logit has a mean flow
    direction within 45° of the class's (image axes: 0° right, 90° down)."""
    assert sorted(DIRECTIONS) == ["disc_left", "disc_right", "square_down", "triangle_down"]
    errors = {}
    for r in runs["directions"]:
        u, v = r.motion.mean(axis=(0, 2, 3))
        name = CLASS_NAMES[r.job.target.single_unit()[1]]
        errors[f"{name} γ={r.job.gamma:g} start {r.job.seed}"] = abs(
            (np.degrees(np.arctan2(v, u)) - DIRECTIONS[name] + 180) % 360 - 180)
    assert len(errors) == len(DIRECTIONS) * len(GAMMAS) * 2
    assert max(errors.values()) <= 45, {k: round(float(e), 1) for k, e in errors.items()}


def test_result_records_history_and_settings(runs):
    r = runs["units"][0]
    steps = r.settings["steps"]
    assert r.activation.shape == r.objective.shape == (steps,)
    assert r.appearance.shape == (64, 64, 3) and r.motion.shape == (10, 2, 64, 64)
    assert r.settings["bound"] == 160 and r.settings["alpha"] == 3 and "objective" in r.settings
    assert np.abs(r.motion * 6.375).reshape(10, 2, -1).transpose(0, 2, 1).__pow__(2).sum(-1).max() <= 160.0 ** 2 + 1e-2
    assert r.status == "completed" and 0 <= r.best_step <= steps


def test_batched_run_equals_jobs_run_alone(model):
    am = ActivationMaximization(model, steps=6)
    jobs = [AMJob(unit("conv5_fusion", 3), 1.0, 5.0, seed=1), AMJob(unit("fc8", 2), 1.0, 0.0, seed=2)]
    together = am(jobs)
    for job, r in zip(jobs, together):
        (alone,) = am(job)
        np.testing.assert_allclose(alone.motion, r.motion, rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(alone.appearance, r.appearance, rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(alone.objective, r.objective, rtol=1e-4, atol=1e-9)


def test_weights_stay_frozen_and_untouched(model):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [p.requires_grad for p in model.parameters()]
    ActivationMaximization(model, steps=3)(AMJob(unit("fc8", 0)))[0]
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert flags == [p.requires_grad for p in model.parameters()] and not model.training


def test_stop_keeps_the_best_result_so_far(model):
    stop = threading.Event()
    seen = []

    def callback(snap):
        seen.append(snap.step)
        if snap.step >= 10:
            stop.set()

    r = ActivationMaximization(model, steps=400)(AMJob(unit("fc8", 1)), callback=callback, every=5, stop=stop)[0]
    assert r.status == "stopped" and r.settings["steps"] == 10 and seen == [5, 10]
    assert r.best_step in (int(np.nanargmax(r.objective)), 10) and np.isfinite(r.motion).all()


def test_interrupt_keeps_the_best_result_so_far(model):
    def callback(snap):
        if snap.step >= 8:
            raise KeyboardInterrupt

    r = ActivationMaximization(model, steps=400)(AMJob(unit("fc8", 1)), callback=callback, every=4)[0]
    assert r.status == "interrupted" and r.settings["steps"] == 8 and np.isfinite(r.appearance).all()


def test_nan_stops_the_job_reports_the_step_and_keeps_a_finite_input():
    class Exploding(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv3d(3, 4, 3, padding=1)
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            return self.conv(x * float("nan") if self.calls > 5 else x)

    m = Exploding()
    am = ActivationMaximization(m, input_shape=(3, 4, 16, 16), steps=50)
    with pytest.warns(RuntimeWarning, match=r"NaN or infinite .* at step 4"):
        r = am(AMJob(unit("conv", 1)))[0]
    # call 1 lists the target layer; steps 0–3 are calls 2–5; step 4 is the first NaN
    assert r.status == "diverged" and r.diverged_at == 4 and np.isfinite(r.appearance).all()


def test_bad_input_errors(model):
    am = ActivationMaximization(model, steps=2)
    with pytest.raises(ValueError, match=r"unknown layer 'conv5_fusoin'.*did you mean conv5_fusion"):
        am(AMJob(unit("conv5_fusoin", 0)))[0]
    with pytest.raises(ValueError, match=r"channel 64 out of range for layer 'conv5_fusion', which has 64 channels"):
        am(AMJob(unit("conv5_fusion", 64)))[0]
    with pytest.raises(ValueError, match="single-stream model, but input_shape gives 2 input"):
        ActivationMaximization(load_model("tiny_r3d"), input_shape=((3, 64, 64), (20, 64, 64)))
    with pytest.raises(ValueError, match="not a two-stream model"):
        ActivationMaximization(nn.Conv3d(3, 4, 3), input_shape=((3, 64, 64), (20, 64, 64)))
    small = ActivationMaximization(load_model("tiny_r3d"), input_shape=(3, 16, 4, 4), activation_max=None)
    with pytest.raises(ValueError, match=r"too small for layer 'layer4'"):
        small(AMJob(unit("layer4", 0)))[0]


@pytest.mark.parametrize("make, message", [
    (lambda m: AMJob(unit("fc8", 0), gamma=float("nan")), r"AMJob gamma \(temporal TV weight\) must be a finite number ≥ 0, got nan"),
    (lambda m: AMJob(unit("fc8", 0), kappa=-1.0), r"AMJob kappa \(spatial TV weight\) must be a finite number ≥ 0, got -1"),
    (lambda m: AMJob(unit("fc8", 1.5)), r"unit's channel must be an index ≥ 0 or a class name, got 1.5"),
    (lambda m: ActivationMaximization(m, activation_max=None)(unit("fc8", 0), np.zeros((8, 64, 64, 3))),
     r"activation maximization takes no inputs=: it optimizes each job's input from its seeded noise"),
    (lambda m: ActivationMaximization(m, activation_max=None)([AMJob(unit("fc8", 0))], gamma=5.0),
     r"activation maximization: gamma given beside job objects, which carry their own"),
    (lambda m: ActivationMaximization(m, activation_max=None)([unit("fc8", 0), AMJob(unit("fc8", 1))]),
     r"activation maximization: target= mixes job objects and plain targets"),
    (lambda m: ActivationMaximization(m, activation_max=None)(unit("fc8", 0), seeds=[0, 1.5]),
     r"seeds must be an int ≥ 0 or a non-empty list of them, e.g. seeds=0 or seeds=\[0, 1, 2\]; got \[0, 1.5\]"),
    (lambda m: ActivationMaximization(m, activation_max=None)(unit("fc8", 0), seeds=[]), r"seeds is empty"),
    (lambda m: ActivationMaximization(m, activation_max=None)(), r"activation maximization: no target given"),
    (lambda m: ActivationMaximization(m, bound=0), r"bound must be a finite number > 0, got 0"),
    (lambda m: ActivationMaximization(m, lr=float("inf")), r"lr must be a finite number > 0, got inf"),
    (lambda m: ActivationMaximization(m, regularization=-0.1), r"regularization must be a finite number ≥ 0"),
    # steps=0 used to fall back to the default 300 silently
    (lambda m: ActivationMaximization(m, activation_max=None)(AMJob(unit("fc8", 0)), steps=0)[0], r"steps must be an integer ≥ 1, got 0"),
    (lambda m: ActivationMaximization(m, activation_max=None)(AMJob(unit("fc8", 0)), steps=2, every=0)[0], r"every must be an integer ≥ 1"),
])
def test_bad_settings_fail_where_given_by_name(model, make, message):
    with pytest.raises(ValueError, match=message):
        make(model)


def test_single_stream_3d_models_optimize_one_video():
    r3d = load_model("tiny_r3d")
    r = ActivationMaximization(r3d, steps=30)(AMJob(unit("fc", 0), 1.0, 1.0))[0]
    assert r.motion is None and r.appearance.shape == (16, 64, 64, 3)
    assert r.objective[-1] > r.objective[0] and r.activation_max_source == "validation set"
    assert r.activation_caption == f"a/â {r.normalized_activation:.2f}"
    never_fires = dataclasses.replace(r, activation_max=0.0, normalized_activation=float("nan"))
    assert never_fires.activation_caption == "a/â undefined (â = 0)"


def test_monitor_names_each_jobs_best_activation(model):
    monitor = OptimizationMonitor(ActivationMaximization(model, steps=4), [AMJob(unit("fc8", 0)), AMJob(unit("fc8", 1))], every=2)
    results = monitor.run()
    assert [r.status for r in results] == ["completed", "completed"]
    expected = "; ".join(f"fc8 c{i} {r.activation_caption}" for i, r in enumerate(results))
    assert monitor.status.value.endswith("best: " + expected), monitor.status.value
    assert monitor.status.value.startswith("completed after 4 steps")


def test_monitor_wraps_many_jobs_into_rows_of_whole_jobs(model):
    jobs = [AMJob(unit("fc8", c)) for c in range(5)]
    monitor = OptimizationMonitor(ActivationMaximization(model, steps=2), jobs, every=1, show=5)
    # two streams per job, three jobs to a row of six cells: 10 cells in 2 rows, not one row of 10
    assert (monitor.player.rows, monitor.player.cols) == (2, 6)
    monitor.run()
    assert (monitor.player.rows, monitor.player.cols) == (2, 6)
    assert monitor.player.captions[:3] == ["fc8 c0 · appearance", "fc8 c0 · motion", "fc8 c1 · appearance"]


def test_unknown_models_use_unit_maxima_and_say_so():
    tv_model = load_model("torchvision:r3d_18", weights=None)
    am = ActivationMaximization(tv_model, input_shape=(3, 4, 32, 32), steps=3)
    r = am(AMJob(unit("layer2", 5)))[0]
    assert r.activation_max == 1.0 and "unknown" in r.activation_max_source
    # a raw activation must not be captioned as a ratio in the grids
    assert r.activation_caption == f"a {r.normalized_activation:.2f} (â unknown)"
    grid = RegularizerSweep([r] * 4)
    assert grid.captions == [f"a {r.normalized_activation:.2f} (â unknown)"] * 4  # single-stream: no appearance column


def test_batchnorm_folding_keeps_the_function(model):
    folded, n = fold_batchnorm(model)
    assert n == 2 * 13 + 1 and not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    rgb, flow = torch.randn(2, 3, 64, 64), torch.randn(2, 20, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(folded(rgb, flow), model(rgb, flow), rtol=1e-4, atol=1e-4)
    r = ActivationMaximization(model, fold_bn=True, steps=3)(AMJob(unit("fc8", 0)))[0]
    assert r.settings["fold_bn"]
