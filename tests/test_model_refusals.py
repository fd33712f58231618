"""What load_model and the layer listing refuse, and what they now serve (issue 41, "Models we claim, inputs we
refuse"): models without a class head or of another modality, a user's bare 3D CNN with and without its native
input, a forward that returns (logits, features), a Hugging Face id that cannot be found, and the messages for
weights, empty checkpoints and layer-table shapes."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
import transformers
from torch import nn

from tests.small_models import not_video_classifiers
from vidvis_widgets.methods import AMJob, unit, ActivationMaximization, SaliencyTubes, response_statistics
from vidvis_widgets.methods import leaps
from vidvis_widgets.models import evaluate, list_layers, load_model


def cnn3d(classes: int = 5) -> nn.Sequential:
    """A user's own 3D CNN: a plain nn.Sequential that takes clips of any size."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv3d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv3d(8, 8, 3, stride=2, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(8, classes)).eval()


class WithFeatures(nn.Module):
    """A bare model whose forward returns (logits, features)."""

    def __init__(self):
        super().__init__()
        self.net = cnn3d()

    def forward(self, x):
        return self.net(x), self.net[:4](x).mean((2, 3, 4))


def clips(n: int = 2, t: int = 8, s: int = 32) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, t, s, s, 3), dtype=np.uint8)


# -- 1. models load_model cannot serve -----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["VideoMAEModel", "VideoMAEForPreTraining", "ViTForImageClassification",
                                  "BertForSequenceClassification"])
def test_models_without_a_video_class_head_are_refused_at_load_and_by_the_methods(name):
    model = not_video_classifiers()[name]
    for call in (lambda: load_model(model), lambda: SaliencyTubes(model), lambda: ActivationMaximization(model)):
        with pytest.raises(TypeError) as err:
            call()
        text = str(err.value)
        assert name in text and "ForVideoClassification" in text and "XCLIPModel with class_names" in text
    assert ("no classification head" in text) == name.startswith("VideoMAE")


def test_a_saved_checkpoint_without_a_class_head_is_refused_before_its_weights_load(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    not_video_classifiers()["VideoMAEModel"].save_pretrained(tmp_path / "encoder")
    with pytest.raises(TypeError, match=r"VideoMAEModel checkpoint, without a trained classification head"):
        load_model(f"hf:{tmp_path / 'encoder'}")  # AutoModelForVideoClassification would add a random head
    not_video_classifiers()["ViTForImageClassification"].save_pretrained(tmp_path / "vit")
    with pytest.raises(TypeError, match=r"'vit' model .*not a video classifier"):
        load_model(f"hf:{tmp_path / 'vit'}")


# -- 2. a user's own 3D CNN ----------------------------------------------------------------------------------
def test_a_bare_3d_cnn_runs_tubes_at_the_clips_size_and_am_says_how_to_give_its_input():
    model = load_model(cnn3d())
    x = clips()
    tubes = SaliencyTubes(model)(inputs=x)
    with torch.no_grad():
        expected = model(model.vidvis_adapter.normalize(torch.as_tensor(x).permute(0, 4, 1, 2, 3)))
    assert tuple(tubes.frames.shape) == (2, 8, 32, 32, 3)  # the clips as given: its native input is unknown
    torch.testing.assert_close(tubes.logits, expected, rtol=1e-4, atol=1e-5)
    for call in (lambda: ActivationMaximization(model), lambda: list_layers(model)):
        with pytest.raises(ValueError, match=r"load_model\(model, num_frames=16, size=112\)"):
            call()
    assert len(list_layers(model, (3, 8, 32, 32)).names()) == 7  # a given shape still works


def test_load_model_takes_the_adapter_fields_describe_takes_for_any_instance():
    model = load_model(cnn3d(), num_frames=8, size=32, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), am_layer="2",
                       tube_layer="2", class_names=list("abcde"))
    a = model.vidvis_adapter
    assert (a.native_shape, a.mean, a.std, a.am_layer, a.tube_layer) == ((8, 32, 32), (0.5,) * 3, (0.25,) * 3, "2", "2")
    assert a.class_names == tuple("abcde")
    assert load_model(cnn3d(), num_frames=4, size=(32, 48)).vidvis_adapter.native_shape == (4, 32, 48)
    result = ActivationMaximization(model)(AMJob(unit("2", 1)), steps=2)[0]  # the native input now drives AM
    assert result.appearance.shape[:3] == (8, 32, 32), result.appearance.shape
    rows = {r.name: r for r in list_layers(model)}  # the native input is list_layers' default
    assert rows["2"].output_shape == (8, 4, 16, 16)
    for kw, pattern in [(dict(am_layer="nope"), r"'nope'"), (dict(colour=1), r"unexpected keyword 'colour'"),
                        (dict(size=(1, 2, 3)), r"size must be an int or \(height, width\)"),
                        (dict(std=(1, 0, 1)), r"std"), (dict(weights="w.pt"), r"weights=.*load_state_dict")]:
        with pytest.raises((TypeError, ValueError), match=pattern):
            load_model(cnn3d(), **kw)


def test_a_hugging_face_instance_takes_its_own_input_and_refuses_another():
    config = transformers.VideoMAEConfig(image_size=32, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32,
                                         num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, num_labels=3)
    hf = transformers.VideoMAEForVideoClassification(config).eval()
    assert load_model(hf, num_frames=4, size=32, am_layer="videomae.encoder.layer.0").vidvis_adapter.am_layer == \
        "videomae.encoder.layer.0"
    with pytest.raises(ValueError, match=r"num_frames=16, but VideoMAEForVideoClassification takes only its config's 4"):
        load_model(hf, num_frames=16)


# -- 3. a forward that returns (logits, features) ------------------------------------------------------------
def test_every_method_reads_the_logits_of_a_forward_that_returns_a_tuple():
    model = load_model(WithFeatures(), num_frames=8, size=32)
    x = clips(4)
    units = model.vidvis_adapter.normalize(torch.as_tensor(x).permute(0, 4, 1, 2, 3))
    with torch.no_grad():
        logits = model(units)[0]
    tubes = SaliencyTubes(model)(inputs=x)
    torch.testing.assert_close(tubes.logits, logits, rtol=1e-4, atol=1e-5)
    data = {"rgb": x, "label": np.array([0, 1, 2, 3])}
    np.testing.assert_allclose(evaluate(model, data).logits, logits.numpy(), rtol=1e-4, atol=1e-5)
    assert response_statistics(model, data, ["net.6"]).activation_max["net.6"].shape == (5,)
    am = ActivationMaximization(model)(AMJob(unit("net.6", 2)), steps=2)[0]
    assert np.isfinite(am.activation).all()
    out = leaps(model, 1, x[0], verifier=None, variant="prim+coh", layers=["net.1", "net.3"], steps=1,
                size=(8, 32, 32))[0]
    assert out.video.shape[:3] == (8, 32, 32) and np.isfinite(out.probabilities).all()


# -- 4. a Hugging Face id that cannot be found ---------------------------------------------------------------
def test_an_unknown_hub_id_offline_is_named_at_once(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(FileNotFoundError) as err:
        load_model("hf:no-such-org/x")
    assert time.perf_counter() - start < 3  # transformers' own lookup retried the network for 23–39 s
    text = str(err.value)
    assert "hf:no-such-org/x" in text and "not in the Hugging Face cache" in text and "HF_HUB_OFFLINE" in text
    with pytest.raises(FileNotFoundError, match=r"no local folder .*nowhere.*looked up locally"):
        load_model("hf:/nowhere/saved-model")


def test_an_unknown_hub_id_online_says_whether_the_hub_was_asked_or_could_not_be_reached(monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import RepositoryNotFoundError

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    asked = []

    def missing(repo_id, **kw):
        asked.append(repo_id)
        err = RepositoryNotFoundError.__new__(RepositoryNotFoundError)
        Exception.__init__(err, "404 Client Error: Repository Not Found")
        raise err

    def unreachable(repo_id, **kw):
        asked.append(repo_id)
        raise ConnectionError("[Errno -2] Name or service not known")

    monkeypatch.setattr(huggingface_hub, "model_info", missing)
    with pytest.raises(FileNotFoundError, match=r"hf:no-such-org/x could not be found on the Hugging Face Hub "
                                                 r"\(looked up online"):
        load_model("hf:no-such-org/x")
    monkeypatch.setattr(huggingface_hub, "model_info", unreachable)
    with pytest.raises(FileNotFoundError, match=r"hf:no-such-org/x could not be looked up.*could not be reached "
                                                 r"\(ConnectionError"):
        load_model("hf:no-such-org/x")
    assert asked == ["no-such-org/x"] * 2  # one lookup of the id the user named, nothing else


# -- 5. messages -------------------------------------------------------------------------------------------
def test_weights_given_as_a_module_are_named_by_type_not_printed():
    for name in ("tiny_r3d", "torchvision:r3d_18", "pytorchvideo:x3d_xs"):
        with pytest.raises((TypeError, ValueError)) as err:
            load_model(name, weights=cnn3d())
        text = str(err.value)
        assert "an nn.Module (Sequential" in text and "Conv3d(" not in text and len(text) < 500, text


def test_an_empty_checkpoint_says_it_is_empty_with_its_path(tmp_path):
    empty = tmp_path / "weights.pt"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=rf"checkpoint {empty} is empty \(0 bytes\)"):
        load_model("tiny_r3d", weights=empty)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x80")
    with pytest.raises(ValueError, match=r"cannot be read as weights: \S"):
        load_model("tiny_r3d", weights=garbage)


def test_list_layers_refuses_a_shape_of_the_wrong_channels_rank_or_count_with_the_expected_form():
    r3d, two = load_model("tiny_r3d", weights=None), load_model("tiny_two_stream", weights=None)
    cases = [(r3d, (4, 16, 64, 64), r"has 4 channels, but tiny_r3d takes 3; expected \(3, T, H, W\).*\(3, 16, 64, 64\)"),
             (r3d, (3, 64, 64), r"has 3 axes, but tiny_r3d takes 4"),
             (two, (3, 16, 64, 64), r"gives 1 input\(s\), but tiny_two_stream takes 2; expected \(\(3, H, W\), \(20, H, W\)\)"),
             (two, ((3, 64, 64), (18, 64, 64)), r"\(input 2\) has 18 channels, but tiny_two_stream takes 20"),
             (load_model(cnn3d()), (1, 8, 32, 32), r"has 1 channels, but Sequential takes 3.*Conv3d on 3 channels")]
    for model, shape, pattern in cases:
        with pytest.raises(ValueError, match=pattern):
            list_layers(model, shape)


# -- 6. list_layers' default shape -------------------------------------------------------------------------
def test_list_layers_defaults_to_the_adapters_native_input():
    r3d, two = load_model("tiny_r3d", weights=None), load_model("tiny_two_stream", weights=None)
    assert list_layers(r3d).rows() == list_layers(r3d, (3, 16, 64, 64)).rows()
    assert list_layers(two).rows() == list_layers(two, ((3, 64, 64), (20, 64, 64))).rows()
