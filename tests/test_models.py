"""Embedded models: shipped per-epoch checkpoints, their measured quality, loading, layer tables."""

import numpy as np
import pytest
import torch

from vidvis_widgets.data import CLASS_NAMES, NEAR_DUPLICATE_PAIR, SyntheticActions, class_map
from vidvis_widgets.data.bias import plan_bias
from vidvis_widgets.models import CheckpointMismatch, TinyTwoStream, embedded_checkpoints, load_model
from vidvis_widgets.models.checkpoints import save_checkpoint
from vidvis_widgets.models.evaluation import confusion_matrix, most_confused_pairs, predict
from vidvis_widgets.models.layers import list_layers
from vidvis_widgets.models.probe import Probe
from vidvis_widgets.models.tiny import mirror_views, reverse_views

EMBEDDED = ("tiny_two_stream", "tiny_r3d", "tiny_verifier")


@pytest.fixture(scope="module")
def splits():
    return {s: SyntheticActions(s).arrays() for s in ("test", "counterfactual")}


@pytest.fixture(scope="module")
def results(splits):
    out = {}
    for name in EMBEDDED:
        model = load_model(name)
        test = predict(model, splits["test"]).argmax(1)
        probe = predict(model, splits["counterfactual"]).argmax(1)
        out[name] = (test, probe)
    return out


def test_every_epoch_is_shipped_and_small():
    sizes = 0
    for name in EMBEDDED:
        files = embedded_checkpoints(name)
        assert len(files) >= 6, (name, files)
        sizes += sum(f.stat().st_size for f in files)
    assert sizes < 20 * 1024 * 1024, sizes


@pytest.mark.parametrize("name", EMBEDDED)
def test_top1_on_test_split_is_at_least_90_percent(name, results, splits):
    test, _ = results[name]
    assert (test == splits["test"]["label"]).mean() >= 0.90


def test_near_duplicate_pair_is_the_two_stream_models_largest_confusion(results, splits):
    test, _ = results["tiny_two_stream"]
    cm = confusion_matrix(splits["test"]["label"], test, len(CLASS_NAMES))
    a, b, errors = most_confused_pairs(cm, 1)[0]
    assert {CLASS_NAMES[a], CLASS_NAMES[b]} == set(NEAR_DUPLICATE_PAIR) and errors > 0


@pytest.mark.parametrize("name", EMBEDDED)
def test_models_fall_for_the_planted_bias(name, results, splits):
    test, probe = results[name]
    biased = np.isin(splits["test"]["label"], [CLASS_NAMES.index(c) for c in plan_bias(None).pair])
    on_test = (test[biased] == splits["test"]["label"][biased]).mean()
    on_probe = (probe == splits["counterfactual"]["label"]).mean()
    assert on_test - on_probe >= 0.30, (on_test, on_probe)


def test_epochs_load_and_improve():
    first = load_model("tiny_two_stream", weights=1)
    last = load_model("tiny_two_stream", weights="embedded")
    assert not torch.equal(first.fc8.weight, last.fc8.weight)
    with pytest.raises(ValueError, match="no checkpoint for epoch 99; shipped epochs: 1, 2"):
        load_model("tiny_two_stream", weights=99)


def test_checkpoints_are_plain_weights():
    path = embedded_checkpoints("tiny_r3d")[-1]
    obj = torch.load(path, weights_only=True)
    assert set(obj) == {"state_dict", "meta"} and obj["meta"]["architecture"] == "tiny_r3d"


def test_other_architecture_lists_the_mismatched_keys(tmp_path):
    path = tmp_path / "verifier.pt"
    save_checkpoint(path, load_model("tiny_verifier", weights=None), {"architecture": "tiny_verifier"})
    with pytest.raises(CheckpointMismatch, match=r"missing keys: .*layer1\.0\.weight.*unexpected keys: .*block1"):
        load_model("tiny_r3d", weights=path)


def test_model_metadata_and_input_checks():
    model = load_model("tiny_two_stream")
    info = model.vidvis_adapter
    assert not model.training and info.kind == "two_stream" and info.class_names == CLASS_NAMES
    batch = SyntheticActions("val", samples_per_class=1).arrays(range(2))
    rgb, flow = info.prepare(batch)
    assert rgb.shape == (2, 3, 64, 64) and flow.shape == (2, 20, 64, 64)
    with pytest.raises(ValueError, match="expects clips of ≥16 frames at 64×64, got 16 frames at 112×112"):
        info.prepare(SyntheticActions("val", size=112, samples_per_class=1).arrays(range(1)))


def test_unknown_model_lists_known_ones():
    with pytest.raises(ValueError, match="unknown model 'tiny_r3'.*torchvision:r3d_18.*Did you mean tiny_r3d"):
        load_model("tiny_r3")


def test_torchvision_model_random_and_from_local_file(tmp_path):
    model = load_model("torchvision:r3d_18", weights=None)
    assert model.vidvis_adapter.num_frames == 16 and not model.training
    torch.save(model.state_dict(), tmp_path / "r3d.pt")
    again = load_model("torchvision:r3d_18", weights=tmp_path / "r3d.pt")
    assert torch.equal(again.fc.weight, model.fc.weight)


def test_layer_table_reproduces_the_papers_vgg_fields():
    table = {r.name: r for r in list_layers(load_model("tiny_two_stream", weights=None), ((3, 64, 64), (20, 64, 64)))}
    # IJCV 2020 Table 1 (VGG-16): receptive field and stride
    expected = {"conv1_1": (3, 1), "conv1_2": (5, 1), "pool1": (6, 2), "conv2_1": (10, 2), "conv2_2": (14, 2),
                "pool2": (16, 4), "conv3_3": (40, 4), "pool3": (44, 8), "conv4_1": (60, 8), "conv4_3": (92, 8),
                "conv5_1": (132, 16), "conv5_2": (164, 16)}
    for layer, (rf, stride) in expected.items():
        row = table[f"motion.{layer}"]
        assert row.receptive_field == (rf, rf) and row.stride == (stride, stride), (layer, row)
    # the papers' plain layers: 64 fusion units (the symmetric model's views ride on the batch axis, unlisted)
    assert table["conv5_fusion"].output_shape == (64, 4, 4) and table["conv5_fusion"].stride == (16, 16)
    assert table["fc8"].output_shape == (14,)


def test_layer_table_for_a_3d_model():
    table = {r.name: r for r in list_layers(load_model("tiny_r3d", weights=None), (3, 16, 64, 64))}
    assert table["layer4"].output_shape == (64, 4, 8, 8) and table["layer4"].stride == (4, 8, 8)
    assert table["stem"].receptive_field == (3, 3, 3)


def test_class_maps_swap_exactly_the_direction_pairs():
    mirror, reversal = class_map("mirror"), class_map("reversal")
    pairs = {("disc_right", "disc_left"), ("disc_left", "disc_right"),
             ("bar_clockwise", "bar_counterclockwise"), ("bar_counterclockwise", "bar_clockwise")}
    assert {(CLASS_NAMES[i], CLASS_NAMES[j]) for i, j in enumerate(mirror) if i != j} == pairs
    # played backwards, the square and triangle move up, which no class does
    assert {CLASS_NAMES[i] for i, j in enumerate(reversal) if j < 0} == {"square_down", "triangle_down"}
    assert {(CLASS_NAMES[i], CLASS_NAMES[j]) for i, j in enumerate(reversal) if j >= 0 and i != j} == pairs
    with pytest.raises(ValueError, match="'mirror' or 'reversal'"):
        class_map("flip")
    with pytest.raises(ValueError, match=r"mirror must map each of the 14 classes to a distinct class index, got"):
        TinyTwoStream(mirror=[0] * 14)
    with pytest.raises(ValueError, match=r"reversal must map each of the 14 classes .* or to −1 \(no class\)"):
        TinyTwoStream(reversal=[-2] + list(range(1, 14)))


def test_two_stream_model_is_symmetric_by_construction(splits):
    """Its scores equal the plain network's averaged over the clip, its mirror image, its reversal and both,
    each read off for the class its view maps onto (the square and triangle: over the clip and its mirror
    image only); so a mirrored or reversed clip gets the same scores with the mapped classes swapped, and
    every unit's twin sees the transformed clip."""
    model = load_model("tiny_two_stream")
    plain = TinyTwoStream().eval()
    plain.load_state_dict(model.state_dict())
    rgb, flow = model.vidvis_adapter.prepare({k: splits["test"][k][::15] for k in ("rgb", "flow")})
    m, r = class_map("mirror"), class_map("reversal")
    no_reversal = torch.tensor(r) < 0
    acts = []
    hook = model.motion.conv1_1.register_forward_hook(lambda _m, _i, out: acts.append(out))
    with torch.no_grad():
        scores = model(rgb, flow)
        pair = (plain(rgb, flow) + plain(*mirror_views(rgb, flow))[:, m]) / 2
        safe = [max(i, 0) for i in r]
        reversed_pair = (plain(*reverse_views(rgb, flow))[:, safe]
                         + plain(*reverse_views(*mirror_views(rgb, flow)))[:, [safe[i] for i in m]]) / 2
        torch.testing.assert_close(scores, torch.where(no_reversal, pair, (pair + reversed_pair) / 2),
                                   rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(model(*mirror_views(rgb, flow))[:, m], scores, rtol=1e-4, atol=1e-4)
        maps = ~no_reversal
        torch.testing.assert_close(model(*reverse_views(rgb, flow))[:, torch.tensor(safe)[maps]], scores[:, maps],
                                   rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(model.one_view(rgb, flow), plain(rgb, flow))
        # the probe reads each layer on the clip itself: the plain network's units, N×C
        with Probe(model, ["motion.conv1_1", "conv5_fusion"]) as probe:
            model(rgb, flow)
        with Probe(plain, ["motion.conv1_1", "conv5_fusion"]) as own:
            plain(rgb, flow)
    hook.remove()
    n, units = len(rgb), model.motion.conv1_1.conv.out_channels
    clip, mirrored = acts[0], acts[1]
    assert clip.shape[:2] == (4 * n, units)  # the four views, one after another on the batch axis
    torch.testing.assert_close(clip[n:2 * n], mirrored[:n])  # view 1 of the clip is view 0 of its mirror
    assert not torch.equal(clip[:n], clip[n:2 * n])  # the views are not copies
    for name in ("motion.conv1_1", "conv5_fusion"):
        assert probe[name].shape == own[name].shape and probe[name].shape[:2] == (n, own[name].shape[1])
        torch.testing.assert_close(probe[name], own[name])


@pytest.mark.parametrize("call, error, message", [
    (lambda: load_model(123), TypeError, r"model must be a name \(str\) or an nn.Module, got 123; known models: tiny_two_stream"),
    (lambda: load_model("tiny_r3d", num_frames=0), ValueError, r"num_frames must be an integer ≥ 1, got 0"),
    (lambda: load_model("tiny_r3d", size=-64), ValueError, r"size must be an integer ≥ 1, got -64"),
    (lambda: load_model("tiny_r3d", size="64"), ValueError, r"size must be an integer ≥ 1, got '64'"),
    (lambda: load_model("tiny_r3d", weights=True), TypeError, r"weights for tiny_r3d must be 'embedded', an epoch"),
    (lambda: load_model("tiny_r3d", weights=2.5), TypeError, r"weights for tiny_r3d must be 'embedded', an epoch"),
    (lambda: load_model("tiny_r3d", weights="epoch_last"), ValueError, r"weights 'epoch_last' names no epoch"),
    # torchvision's weight enums list their names without downloading anything
    (lambda: load_model("torchvision:r3d_18", weights="NOPE"), ValueError,
     r"unknown weights 'NOPE' for torchvision:r3d_18; .* torchvision weights name: DEFAULT, KINETICS400_V1"),
    (lambda: load_model("torchvision:r3d_18", weights=7), ValueError, r"unknown weights 7 for torchvision:r3d_18"),
])
def test_bad_load_model_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("shape, message", [
    ((), r"input_shape \(\) is empty"),
    ("3x16", r"input_shape '3x16' is not a shape"),
    ((3, 0, 64, 64), r"sizes must be ≥ 1, got \(3, 0, 64, 64\)"),
    ((3, 16, -64, 64), r"sizes must be ≥ 1, got \(3, 16, -64, 64\)"),
    (((3, 64, 64), (20, 64, -1)), r"sizes must be ≥ 1, got \(20, 64, -1\)"),
    (((3, 64, 64), ()), r"\(\) has no spatial axis"),
    ((3, 16.5, 64, 64), r"is not a shape of integers"),
])
def test_list_layers_refuses_bad_input_shapes(shape, message):
    with pytest.raises(ValueError, match=message):
        list_layers(load_model("tiny_r3d", weights=None), shape)
