"""AM before its first step: one pass for the target's row of the layer table and the step's own pass, both ending
at the target layer, so the network after it (the head, the class-logit layer) never runs before the first step;
counted, not timed, on models not designed here (PyTorchVideo's SlowFast and torchvision's S3D, the model matrix's
small builds). The steps' histories are the same as with passes that run the whole network."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from torch.utils.flop_counter import FlopCounterMode

import torch

from vidvis_widgets.methods import ActivationMaximization, AMJob, unit
from vidvis_widgets.methods.activation_maximization import am as am_module
from vidvis_widgets.models.layers import clear_layer_caches

from .test_model_matrix import _build


@pytest.fixture(scope="module", params=["slowfast", "s3d"])
def model(request):
    return _build(request.param)


def _forward_flops(model, am) -> int:
    x = {s.name: torch.randn(1, *s.shape) for s in am.streams.specs}
    with FlopCounterMode(display=False) as flops, torch.no_grad():
        model(*am.streams.model_inputs(x))
    return flops.get_total_flops()


def test_nothing_after_the_target_runs_before_the_first_step(model):
    adapter = model.vidvis_adapter
    head = model.get_submodule(adapter.logit_layer)
    counts = {"passes": 0, "head": 0}

    def count(key):
        def hook(*_):
            counts[key] += 1
        return hook

    clear_layer_caches()  # a first call: the target's row is not known yet
    am = ActivationMaximization(model)
    one_pass = _forward_flops(model, am)
    stop, seen = threading.Event(), []
    flops = FlopCounterMode(display=False)

    def callback(_snapshot):
        seen.append({**counts, "flops": flops.get_total_flops()})
        stop.set()

    handles = [model.register_forward_pre_hook(count("passes")), head.register_forward_pre_hook(count("head"))]
    try:
        with flops:
            r = am(AMJob(unit(adapter.am_layer, 0)), steps=3, every=1, callback=callback, stop=stop)[0]
    finally:
        for h in handles:
            h.remove()
    assert r.status == "stopped" and len(r.activation) == 1 and len(seen) == 1
    # the table pass for the row and the first step's pass, neither reaching the head (before: both ran it)
    assert seen[0]["passes"] == 2 and seen[0]["head"] == 0
    # the table pass, the step's forward and its backward to the input: under 3 forward passes of compute
    assert seen[0]["flops"] <= 3 * one_pass


def test_cut_passes_give_the_histories_of_whole_passes(model, monkeypatch):
    adapter = model.vidvis_adapter
    jobs = [AMJob(unit(adapter.am_layer, 0)), AMJob(unit(adapter.am_layer, 1), gamma=1.0, seed=1)]
    cut = ActivationMaximization(model, steps=3)(jobs)
    monkeypatch.setattr(am_module, "read_at_first_run", lambda *_: False)  # every step's pass runs to the end
    whole = ActivationMaximization(model, steps=3)(jobs)
    for a, b in zip(cut, whole):
        np.testing.assert_array_equal(a.activation, b.activation)
        np.testing.assert_array_equal(a.objective, b.objective)
        np.testing.assert_array_equal(a.appearance, b.appearance)
        assert a.normalized_activation == b.normalized_activation
