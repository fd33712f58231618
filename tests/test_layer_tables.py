"""Layer tables from one forward pass: derived receptive fields against measured ones, the probe's layouts of
torchvision's video transformers, and names refused before anything runs."""

import time

import pytest
import torch

from vidvis_widgets.methods.activation_maximization.am import ActivationMaximization, AMJob, unit
from vidvis_widgets.models import list_layers, load_model
from vidvis_widgets.models.layers import measured_fields


@pytest.mark.parametrize("name, shape, layers", [
    ("tiny_r3d", (3, 16, 64, 64), ["stem", "layer1", "layer2.0", "layer3"]),
    ("tiny_verifier", (3, 16, 64, 64), ["block1.temporal", "block1", "block2"]),  # residual sums
    ("torchvision:r3d_18", (3, 8, 32, 32), ["stem", "layer1.0.conv1", "layer1", "layer2.0.downsample", "layer2"]),
])
def test_derived_fields_equal_the_measured_ones(name, shape, layers):
    model = load_model(name, weights=None)
    table = {r.name: r for r in list_layers(model, shape)}
    measured = measured_fields(model, shape, layers)
    compared = 0
    for layer in layers:
        rf, stride, truncated = measured[layer]
        if not truncated:
            assert (table[layer].receptive_field, table[layer].stride) == (rf, stride), layer
            compared += 1
    assert compared >= len(layers) - 1


def test_r3d_18_table_is_derived_in_one_pass():
    model = load_model("torchvision:r3d_18", weights=None)
    t = time.perf_counter()
    table = {r.name: r for r in list_layers(model, (3, 16, 112, 112))}
    assert time.perf_counter() - t < 15  # was ~110 s (target 5 s on a free 2-core CPU)
    assert all(r.receptive_field is not None for r in table.values())
    # stem: 3×7×7 stride 1×2×2; layer1: two blocks of two 3×3×3 convs at jump 2 (spatial), 1 (time)
    assert table["stem"].receptive_field == (3, 7, 7) and table["stem"].stride == (1, 2, 2)
    assert table["layer1"].receptive_field == (11, 23, 23) and table["layer4"].stride == (8, 16, 16)
    assert table["layer4"].output_shape == (512, 2, 7, 7)


def test_unknown_layers_are_refused_before_anything_runs():
    model = load_model("torchvision:r3d_18", weights=None)
    t = time.perf_counter()
    with pytest.raises(ValueError, match=r"unknown layer 'layer5' in VideoResNet; did you mean layer"):
        list_layers(model, (3, 16, 112, 112), layers=["layer1", "layer5"])
    assert time.perf_counter() - t < 0.5


def test_s3d_lists_its_layers_at_its_native_input():
    # the linearized copy's average pools refused this input; every field here is derived
    table = {r.name: r for r in list_layers(load_model("torchvision:s3d", weights=None), (3, 16, 224, 224))}
    assert table["features.15"].output_shape == (1024, 2, 7, 7) and table["features.15"].stride == (8, 32, 32)
    assert all(r.receptive_field is not None for r in table.values() if len(r.output_shape) > 1)


@pytest.fixture(scope="module")
def swin():
    return load_model("torchvision:swin3d_t", weights=None)


def test_swin_layers_are_read_channels_last(swin):
    table = {r.name: r for r in list_layers(swin, (3, 8, 64, 64))}
    # stage 3 of Video Swin-T: 384 channels on a T/2 × H/16 × W/16 grid (C = 8 was T)
    assert table["features.4"].output_shape == (384, 4, 4, 4)
    assert table["patch_embed.proj"].output_shape == (96, 4, 16, 16)
    assert table["avgpool"].output_shape == (768, 1, 1, 1)


def test_swin_am_indexes_channels_and_refuses_past_the_real_count(swin):
    am = ActivationMaximization(swin, input_shape=(3, 8, 64, 64), activation_max=None, steps=2)
    with pytest.raises(ValueError, match=r"channel 400 out of range for layer 'features.4', which has 384 channels"):
        am(AMJob(unit("features.4", 400)))[0]
    r = am(AMJob(unit("features.4", 300)), steps=2)[0]
    video = torch.as_tensor(r.appearance).permute(3, 0, 1, 2)[None]  # T×H×W×3 → 1×3×T×H×W, paper units
    with torch.no_grad():  # the stages run by hand: features.4's output is N×T×H×W×C
        out = swin.features[:5](swin.pos_drop(swin.patch_embed(*am.streams.model_inputs({"video": video}))))
    # channel 300 (the last axis), summed over positions: what the result reports
    assert r.normalized_activation == pytest.approx(float(out[0, ..., 300].sum()), rel=1e-4)


def test_mvit_lists_its_blocks_and_am_takes_their_names():
    mvit = load_model("torchvision:mvit_v2_s", weights=None)
    table = {r.name: r for r in list_layers(mvit, (3, 16, 224, 224))}  # one forward pass (~15 s on 2 cores)
    assert table["blocks.3"].output_shape == (384, 8, 14, 14) and table["blocks.15"].output_shape == (768, 8, 7, 7)
    am = ActivationMaximization(mvit, activation_max=None)  # the same table, cached: no second pass
    t = time.perf_counter()
    am.measure([AMJob(unit("blocks.3", 383))])
    with pytest.raises(ValueError, match=r"channel 384 out of range for layer 'blocks.3', which has 384 channels"):
        am.measure([AMJob(unit("blocks.3", 384))])
    assert time.perf_counter() - t < 2
