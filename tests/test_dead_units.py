"""Dead units are reported: a unit whose gradient at the input is below what Adam resolves, and a saliency map that
is all zeros, each raise a DeadUnitWarning that names the unit and says what to try.

The dead case is torchvision's S3D with random weights as torchvision initializes it (BatchNorm statistics at
their defaults), where the activations shrink about 30× per block: built by the model matrix's builder, whose
calibrated BatchNorm statistics are reset here. The healthy case is the matrix's small r3d, whose statistics are
measured on random clips as training leaves them; it must not warn.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from vidvis_widgets.methods import AMJob, unit, ActivationMaximization, SaliencyTubes
from vidvis_widgets.methods.core.diagnostics import ADAM_EPS, DeadUnitWarning

from .test_model_matrix import K, _build, _clips, _stats


@pytest.fixture(scope="module")
def s3d():
    model = _build("s3d")
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()  # torchvision's initial statistics: every block shrinks the signal
    return model


@pytest.fixture(scope="module")
def r3d():
    return _build("r3d")


def _dead(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, DeadUnitWarning)]


def test_am_warns_when_the_units_gradient_is_below_adams_eps(s3d):
    layer = s3d.vidvis_adapter.am_layer  # the default mid-level unit
    am = ActivationMaximization(s3d, steps=1)  # the first step measures the gradient
    with pytest.warns(DeadUnitWarning) as record:
        r = am(AMJob(unit(layer, 3)))[0]
    (message,) = _dead(record)
    assert message.startswith(f"{layer} c3") and "below what Adam can resolve (eps 1e-08)" in message
    assert "val_data=" in message and "earlier layer" in message  # what to try
    # measured through the model alone: the regularizers' own gradient (TV's, ~2e-9 here) is not counted
    assert 0 < r.settings["input_gradient"] < ADAM_EPS / 1000
    assert r.settings["dead_unit"] == message and r.status == "completed"
    assert f"{r.settings['input_gradient']:.2g}" in message


def test_tube_maps_that_are_all_zeros_warn_and_the_others_do_not(s3d):
    result = SaliencyTubes(s3d)(inputs=_clips(s3d, 1), top_k=K)
    empty = []
    for c in range(K):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            tube = result.tubes(target=c)
        is_empty = not bool(result.maps(target=c).abs().amax() > 0)
        empty.append(is_empty)
        found = _dead(record)
        assert bool(found) == is_empty, (c, found)
        assert float(tube.amax()) == (0.0 if is_empty else 1.0)
        if is_empty:
            (message,) = found
            assert f"all zeros for clip 0 (action_{c})" in message and "raises the class score" in message
            assert "Try the predicted class" in message
    assert any(empty) and not all(empty)  # this S3D's logits barely depend on the clip: most classes get nothing


def test_a_healthy_model_does_not_warn_and_the_gradient_is_the_units_own(r3d):
    adapter = r3d.vidvis_adapter
    am = ActivationMaximization(r3d, steps=1, jitter=False)
    job = AMJob(unit(adapter.logit_layer, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeadUnitWarning)
        results = am([AMJob(unit(adapter.am_layer, 2)), job])
        tubes = SaliencyTubes(r3d)(inputs=_clips(r3d, 2))
        tubes.tubes()
    assert all(r.settings["dead_unit"] is None for r in results)
    with pytest.warns(DeadUnitWarning, match=r"for clip 0 \(action_\d\), clip 1 .*the threshold τ keeps no channel"):
        assert float(tubes.tubes(threshold=float(tubes.head_weights.max()) + 1).amax()) == 0
    # the test's own gradient of the objective's unit term, a/(ρ²â), at the run's start input (one step: the only
    # backward pass), in the optimizer's units (mean-subtracted 0–255 RGB)
    start = am.unstarted([job])[0].appearance
    x = torch.as_tensor(start).float().permute(3, 0, 1, 2)[None].requires_grad_(True)
    _, std = _stats(r3d)
    (weight,) = [t.weight for t in am.objective(job).terms if t.op == "unit"]
    (weight * r3d(x / 255 / std)[0, 1]).backward()
    own = float(x.grad.abs().max())
    assert own > ADAM_EPS and results[1].settings["input_gradient"] == pytest.approx(own, rel=1e-3)
