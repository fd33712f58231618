"""SaliencyTubeView: its controls recompute tubes from the kept activations, never the model."""

import dataclasses

import numpy as np
import pytest

import vidvis_widgets as vv
from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.methods import SaliencyTubes
from vidvis_widgets.models import load_model


@pytest.fixture(scope="module")
def model():
    return load_model("tiny_r3d")


@pytest.fixture(scope="module")
def clips():
    return SyntheticActions("test").arrays([0, 30, 400])


def test_controls_update_the_tubes_without_running_the_model(model, clips):
    view = vv.SaliencyTubeView(model, clips, top_k=3)
    calls = []
    hook = model.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        assert [c for _, c in view.class_menu.options][0] == 0 and len(view.class_menu.options) == 3
        assert "p=0.99" in view.class_menu.options[0][0]
        assert view.player.captions[1] == "heat · disc_right, τ=0.000"
        view.threshold.value = -1e-9  # what the browser's slider sends back for 0 after snapping to its steps
        assert view.player.captions[1] == "heat · disc_right, τ=0.000"
        first = view.player.clips[1].frames.copy()
        view.class_menu.value = view.class_menu.options[1][1]
        assert not np.array_equal(view.player.clips[1].frames, first)
        w = view.result.channel_weights(view.class_menu.value)[0]
        assert view.threshold.min == pytest.approx(float(w.min())) and view.threshold.max == pytest.approx(float(w.max()))
        view.threshold.value = float(w.max())  # only the strongest channel passes
        assert "1 of 64 channels" in view.status.value
        view.mode.value = "feature"
        assert view.threshold.disabled and not view.feature.disabled
        top = view.feature.options[0][1]
        assert view.player.captions[1] == f"heat · feature #{top}"
        view.clip_menu.value = 2
        assert view.class_menu.options[0][0].startswith("apply_lipstick")
    finally:
        hook.remove()
    assert not calls
    np.testing.assert_array_equal(view.player.clips[0].frames, clips["rgb"][2])


def test_class_names_reach_the_page_escaped(model, clips):
    result = SaliencyTubes(model)(inputs=clips)
    names = list(result.class_names)
    names[0] = "<img src=x onerror=alert(1)>"
    view = vv.SaliencyTubeView(dataclasses.replace(result, class_names=tuple(names)))
    assert "<img" not in view.status.value and "&lt;img" in view.status.value


def test_bad_arguments(model, clips):
    with pytest.raises(ValueError, match="pass the clips"):
        vv.SaliencyTubeView(model)
    with pytest.raises(IndexError, match="out of range for 3 clips"):
        vv.SaliencyTubeView(model, clips, index=3)


def test_the_threshold_slider_follows_the_forms_units_and_default(model, clips):
    """The gradient form's τ is in α's units and defaults to every channel (Grad-CAM): the slider starts at its
    left end, shows the published tube, and reads out in steps that α's small units can resolve; CAM starts at 0."""
    view = vv.SaliencyTubeView(model, clips, method="grad", top_k=3)
    r, s = view.result, view.threshold
    cls = view.class_menu.value
    a = r.select([0]).channel_weights(cls)[0]
    assert s.min == pytest.approx(float(a.min())) and s.max == pytest.approx(float(a.max()))
    assert s.value == s.min and "64 of 64 channels" in view.status.value
    assert view.player.captions[1] == "heat · disc_right, all channels"
    np.testing.assert_array_equal(view.player.clips[1].frames, r.select([0]).heat(cls)[0])
    assert s.step == pytest.approx((s.max - s.min) / 200)
    assert 10 ** -int(s.readout_format[1:-1]) <= s.step  # the readout resolves a step
    assert "α" in s.tooltip
    s.value = 0.0
    assert f"{int((a >= 0).sum())} of 64 channels" in view.status.value
    np.testing.assert_array_equal(view.player.clips[1].frames, r.select([0]).heat(cls, 0.0)[0])
    s.value = s.min  # back to the left end: every channel again
    assert "64 of 64 channels" in view.status.value
    cam = vv.SaliencyTubeView(model, clips, top_k=3)
    assert cam.result.method == "cam" and cam.threshold.value == 0.0 and "y ≥ τ" in cam.threshold.tooltip
