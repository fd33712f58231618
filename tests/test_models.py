"""Embedded models: shipped per-epoch checkpoints, their measured quality, loading, layer tables."""

import numpy as np
import pytest
import torch

from vidvis_widgets.data import BIASED_PAIR, CLASS_NAMES, NEAR_DUPLICATE_PAIR, SyntheticActions
from vidvis_widgets.models import CheckpointMismatch, embedded_checkpoints, load_model
from vidvis_widgets.models.checkpoints import save_checkpoint
from vidvis_widgets.models.evaluation import confusion_matrix, most_confused_pairs, predict
from vidvis_widgets.models.layers import list_layers

EMBEDDED = ("tiny_two_stream", "tiny_r3d", "tiny_verifier")


@pytest.fixture(scope="module")
def splits():
    return {s: SyntheticActions(s).arrays() for s in ("test", "bias_probe")}


@pytest.fixture(scope="module")
def results(splits):
    out = {}
    for name in EMBEDDED:
        model = load_model(name)
        test = predict(model, splits["test"]).argmax(1)
        probe = predict(model, splits["bias_probe"]).argmax(1)
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
    biased = np.isin(splits["test"]["label"], [CLASS_NAMES.index(c) for c in BIASED_PAIR])
    on_test = (test[biased] == splits["test"]["label"][biased]).mean()
    on_probe = (probe == splits["bias_probe"]["label"]).mean()
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
    info = model.vidvis_info
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
    assert model.vidvis_info.num_frames == 16 and not model.training
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
    assert table["conv5_fusion"].output_shape == (64, 4, 4) and table["conv5_fusion"].stride == (16, 16)
    assert table["fc8"].output_shape == (14,)


def test_layer_table_for_a_3d_model():
    table = {r.name: r for r in list_layers(load_model("tiny_r3d", weights=None), (3, 16, 64, 64))}
    assert table["layer4"].output_shape == (64, 4, 8, 8) and table["layer4"].stride == (4, 8, 8)
    assert table["stem"].receptive_field == (3, 3, 3)
