"""Atlas unit selection and argument checks: default layers, class selectivity, the receptive-field counts of the
IJCV paper's Figs. 16/19 on a model we did not design (a torchvision VideoResNet built small), and bad input refused
before any work, naming the argument."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.models.video import resnet

from vidvis_widgets.atlas import build_atlas, default_layers, selectivity
from vidvis_widgets.atlas.plan import check_presets, check_units, plan_layers, receptive_count, select
from vidvis_widgets.models import load_model
from vidvis_widgets.models.adapter import describe
from vidvis_widgets.store import ResultStore

from .atlas_fixture import tiny_data


@pytest.fixture(scope="module")
def two_stream():
    return load_model("tiny_two_stream")


@pytest.fixture(scope="module")
def video_resnet():
    """torchvision's R3D with one block per stage and a 5-class head, at 8×32² (random weights)."""
    torch.manual_seed(0)
    model = resnet.VideoResNet(resnet.BasicBlock, [resnet.Conv3DSimple] * 4, [1, 1, 1, 1], resnet.BasicStem,
                               num_classes=5)
    model.vidvis_adapter = describe(model, num_frames=8, size=(32, 32), class_names=tuple(f"a{i}" for i in range(5)))
    return model.eval()


def test_default_layers_are_the_blocks_worth_showing(two_stream, video_resnet):
    stream = ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3", "conv4_1", "conv4_2",
              "conv4_3", "conv5_1", "conv5_2", "conv5_3"]
    assert default_layers(two_stream) == ([f"appearance.{c}" for c in stream] + [f"motion.{c}" for c in stream]
                                          + ["conv5_fusion", "fc6", "fc7", "fc8"])
    # residual blocks whole (not their convs), the stem, the head
    assert default_layers(video_resnet) == ["stem", "layer1.0", "layer2.0", "layer3.0", "layer4.0", "fc"]


def test_selectivity_of_histograms():
    assert selectivity([0, 0, 4, 0]) == pytest.approx(1.0)  # one class only
    assert selectivity([2, 2, 2, 2]) == pytest.approx(0.0)  # every class alike
    assert selectivity([0, 0, 0, 0]) == 0.0  # never fires
    # top 3, others mean (1 + 0 + 2)/3 = 1: (3 - 1)/(3 + 1)
    assert selectivity([1, -5, 3, 2]) == pytest.approx(0.5)
    assert selectivity([np.nan, 1.0, 3.0]) == pytest.approx((3 - 0.5) / 3.5)


def test_receptive_counts_fall_with_the_field_on_a_video_resnet(video_resnet):
    plans = plan_layers(video_resnet, None, ("receptive", 8.0), [0, 1, 2, 3, 4])
    fields = {p.name: p.receptive_field for p in plans}
    assert fields["stem"] == [3, 7, 7] and fields["layer4.0"] == [49, 99, 99]
    # the most selective units are the ones shown: give each layer a known order
    rng = np.random.default_rng(0)
    sel = {p.name: rng.random(p.channels) for p in plans}
    select(plans, 32.0, sel)
    counts = {p.name: len(p.units) for p in plans}
    # round(8 × 32 / spatial field side): 256/7, 256/15, 256/27, 256/51, 256/99
    assert counts == {"stem": 37, "layer1.0": 17, "layer2.0": 9, "layer3.0": 5, "layer4.0": 3, "fc": 5}
    for p in plans[:-1]:
        assert sorted(p.units) == sorted(np.argsort(-sel[p.name])[:counts[p.name]].tolist())
    assert plans[-1].kind == "classes" and plans[-1].units == [0, 1, 2, 3, 4]
    # the default density, 0.25: round(16 / 3) = 5 of conv1_1's 8; 0.5 would show all 8 (clamped); at least one
    assert receptive_count(3.0, 64, 8) == 5 and receptive_count(3.0, 64, 8, 0.5) == 8
    assert receptive_count(1000.0, 64, 8) == 1


def test_unit_rules(two_stream):
    plans = plan_layers(two_stream, ["appearance.conv1_1", "conv5_fusion"], ("selective", 3), [])
    sel = {"appearance.conv1_1": np.arange(8.0), "conv5_fusion": -np.arange(64.0)}
    select(plans, 64.0, sel)
    assert [p.units for p in plans] == [[5, 6, 7], [0, 1, 2]]
    plans = plan_layers(two_stream, ["appearance.conv1_1"], "all", [])
    select(plans, 64.0, {"appearance.conv1_1": np.zeros(8)})
    assert plans[0].units == list(range(8))
    plans = plan_layers(two_stream, None, {"conv5_fusion": [7, 3, 3]}, [2])
    select(plans, 64.0, {"conv5_fusion": np.zeros(64)})
    assert [(p.name, p.kind, p.units) for p in plans] == [("conv5_fusion", "units", [3, 7]), ("fc8", "classes", [2])]
    assert check_units(4) == ("first", 4) and check_presets("spatial") == [(1.0, 0.0)]


@pytest.mark.parametrize("kwargs, message", [
    (dict(layers=["conv9"]), r"layers: unknown layer 'conv9'"),
    (dict(layers=["conv5_fusion"], units={"conv5_fusion": [64]}), r"units\['conv5_fusion'\]: unit\(s\) \[64\] out of "
                                                                  r"range; layer 'conv5_fusion' has 64 units \(0–63\)"),
    (dict(units="some"), r"units='some' is not a unit selection; expected 'receptive'"),
    (dict(units=("selective", 0)), r"units=\('selective', 0\)"),
    (dict(units={"fc6": [1]}, layers=["fc7"]), r"units: layer\(s\) 'fc6' are not among"),
    (dict(gamma="smooth"), r"gamma='smooth' is not an activation maximization preset"),
    (dict(gamma=[(1, -1)]), r"gamma=\[\(1, -1\)\]: expected a preset name"),
    (dict(classes=["dancing"]), r"classes: 'dancing' is not one of the model's 14 classes"),
    (dict(steps=0), r"steps must be an integer ≥ 1"),
    (dict(batch_size=0), r"batch_size must be an integer ≥ 1"),
    (dict(name="../x"), r"name='../x'"),
])
def test_bad_input_is_refused_before_any_work(two_stream, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_atlas(two_stream, tiny_data(), store=tmp_path, progress=False, **kwargs)
    assert len(ResultStore(tmp_path)) == 0  # nothing computed, nothing stored
