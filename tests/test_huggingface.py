"""Hugging Face video classifiers through load_model: token grids and orders, normalization against the image
processors' own preprocessing, loading a saved checkpoint folder offline, and the errors a user meets.
(Every method on them is checked in test_model_matrix.py.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers

from vidvis_widgets.methods import AMJob, unit, ActivationMaximization, SaliencyTubes
from vidvis_widgets.models import list_layers, load_model
from vidvis_widgets.models.probe import Probe

CLASSES = ("bikes", "cats", "rowing")
COMMON = dict(image_size=32, num_frames=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
              intermediate_size=64, id2label=dict(enumerate(CLASSES)), label2id={c: i for i, c in enumerate(CLASSES)})


def hf_model(kind: str):
    torch.manual_seed(0)
    if kind == "videomae":
        return transformers.VideoMAEForVideoClassification(transformers.VideoMAEConfig(patch_size=8, tubelet_size=2,
                                                                                       **COMMON)).eval()
    if kind == "timesformer":
        return transformers.TimesformerForVideoClassification(transformers.TimesformerConfig(patch_size=8,
                                                                                             **COMMON)).eval()
    return transformers.VivitForVideoClassification(transformers.VivitConfig(tubelet_size=[2, 8, 8], **COMMON)).eval()


KINDS = ["videomae", "timesformer", "vivit"]
#: the frame in a token's tubelet that a pixel in frame 5 lands in: VideoMAE and ViViT embed 2-frame tubelets
TIME_OF_FRAME_5 = {"videomae": 2, "timesformer": 5, "vivit": 2}


@pytest.mark.parametrize("kind", KINDS)
def test_a_patch_changed_in_one_frame_shows_at_its_own_time_and_place_in_the_maps(kind):
    model = load_model(hf_model(kind))
    adapter = model.vidvis_adapter
    assert adapter.class_names == CLASSES and adapter.native_shape == (8, 32, 32)
    x = torch.randn(1, 3, 8, 32, 32)
    y = x.clone()
    y[:, :, 5, 16:24, 24:32] += 1  # frame 5, patch row 2, patch column 3
    embeddings = next(n for n in adapter.layer_names if n.endswith("embeddings"))
    with Probe(model, [embeddings]) as probe, torch.no_grad():
        model(x)
        before = probe.outputs[embeddings].clone()
        model(y)
        after = probe.outputs[embeddings]
    changed = torch.nonzero((after - before).abs().sum(1)[0] > 1e-5).tolist()
    assert changed == [[TIME_OF_FRAME_5[kind], 2, 3]]  # TimeSformer's tokens run time-fastest; the others slowest


@pytest.mark.parametrize("kind", KINDS)
def test_normalization_equals_the_image_processors_own_preprocessing(kind):
    model = load_model(hf_model(kind))
    processor = (transformers.VivitImageProcessor if kind == "vivit" else transformers.VideoMAEImageProcessor)()
    clip = np.random.default_rng(1).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    theirs = processor(list(clip), do_resize=False, do_center_crop=False, return_tensors="pt")["pixel_values"]
    ours = model.vidvis_adapter.normalize(torch.as_tensor(clip).permute(3, 0, 1, 2)[None])  # N×3×T×H×W
    torch.testing.assert_close(ours.transpose(1, 2), theirs, atol=1e-5, rtol=1e-5)
    with torch.no_grad():  # and the wrapped model gives the Hugging Face model's logits on its own pixel_values
        torch.testing.assert_close(model(ours), model.hf(pixel_values=theirs).logits, atol=1e-5, rtol=1e-5)


def test_list_layers_reads_encoder_layers_as_space_time_maps_and_the_head_as_classes():
    model = load_model(hf_model("timesformer"))
    table = {r.name: r.output_shape for r in list_layers(model, (3, 8, 32, 32))}
    assert table["timesformer.encoder.layer.0"] == (32, 8, 4, 4)  # C × T × H × W after the class token
    assert table["classifier"] == (3,)


def test_a_saved_checkpoint_folder_loads_offline_with_its_processors_normalization(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hf = hf_model("videomae")
    hf.save_pretrained(tmp_path)
    transformers.VideoMAEImageProcessor(image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]) \
        .save_pretrained(tmp_path)
    model = load_model(f"hf:{tmp_path}")
    adapter = model.vidvis_adapter
    assert adapter.class_names == CLASSES and adapter.name == f"hf:{tmp_path}"
    np.testing.assert_allclose(adapter.mean, (0.485, 0.456, 0.406))
    np.testing.assert_allclose(adapter.std, (0.229, 0.224, 0.225))
    x = torch.randn(2, 3, 8, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x), hf(pixel_values=x.transpose(1, 2)).logits)
    # without a saved processor: the model type's defaults
    bare = tmp_path / "bare"
    hf.save_pretrained(bare)
    assert load_model(f"hf:{bare}").vidvis_adapter.mean == transformers.VideoMAEImageProcessor().image_mean


def test_the_wrapper_shares_the_models_parameters_modes_and_names():
    hf = hf_model("vivit")
    model = load_model(hf)
    assert {n for n, _ in model.named_parameters()} == {n for n, _ in hf.named_parameters()}
    assert all(a is b for a, b in zip(model.parameters(), hf.parameters()))
    model.train()
    assert hf.training and hf.vivit.training
    model.eval()
    assert not hf.training
    model.to(torch.float64)
    assert next(hf.parameters()).dtype == torch.float64


def test_methods_refuse_an_unwrapped_hugging_face_model_and_say_how_to_load_it():
    with pytest.raises(TypeError, match=r"VideoMAEForVideoClassification is a Hugging Face video classifier.*"
                                        r"load_model\(model\)"):
        ActivationMaximization(hf_model("videomae"))
    with pytest.raises(TypeError, match="pass it through vidvis_widgets.models.load_model"):
        SaliencyTubes(hf_model("vivit"))
    model = load_model(hf_model("videomae"))
    with pytest.raises(ValueError, match=r"takes clips N×3×T×H×W .*got shape \(1, 8, 3, 32, 32\)"):
        model(torch.zeros(1, 8, 3, 32, 32))
    with pytest.raises(ValueError, match="processor is for Hugging Face video classifiers; Linear is not one"):
        load_model(torch.nn.Linear(2, 2), processor=transformers.VideoMAEImageProcessor())
    with pytest.raises(ValueError, match=r"channel 32 out of range for layer 'videomae.encoder.layer.1', which has 32"):
        ActivationMaximization(model, activation_max=None, steps=1)(AMJob(unit("videomae.encoder.layer.1", 32)))[0]


def test_filter_evolution_stacks_hugging_face_checkpoints_as_it_runs_them_one_by_one(tmp_path):
    from vidvis_widgets.methods.activation_maximization import filter_evolution

    paths = []
    for seed in (0, 1):
        model = load_model(hf_model("timesformer"))
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(seed)) * 0.02)
        paths.append(tmp_path / f"epoch_{seed}.pt")
        torch.save(model.state_dict(), paths[-1])
    units = [unit("timesformer.encoder.layer.1", 3), unit("classifier", "cats")]
    stacked = filter_evolution(model, units, paths, steps=3, stack=True)
    alone = filter_evolution(model, units, paths, steps=3, stack=False)
    for row_s, row_a in zip(stacked.results, alone.results):
        for s, a in zip(row_s, row_a):
            assert s.status == "completed"
            np.testing.assert_allclose(s.normalized_activation, a.normalized_activation, rtol=1e-3, atol=1e-4)
    # the two checkpoints differ, and so do their results
    assert stacked.results[0][0].normalized_activation != stacked.results[0][1].normalized_activation


# -- X-CLIP: a video-text model made a classifier over named classes ------------------------------------------

def _xclip_parts():
    from .small_models import small_xclip, word_tokenizer

    torch.manual_seed(0)
    names = ("riding a bike", "petting cats", "rowing a boat")
    return small_xclip(), names, word_tokenizer(names)


def test_xclip_scores_the_class_names_as_its_own_forward_scores_those_texts():
    hf, names, tokenizer = _xclip_parts()
    model = load_model(hf, class_names=names, processor=tokenizer)
    adapter = model.vidvis_adapter
    assert adapter.class_names == names and adapter.native_shape == (4, 32, 32) and adapter.token_grid == (4, 4, 4)
    x = torch.randn(2, 3, 4, 32, 32)
    texts = tokenizer(list(names), padding=True, return_tensors="pt")
    with torch.no_grad():  # X-CLIP's own logits_per_video for the same texts, text tower run per call
        theirs = hf(input_ids=texts["input_ids"], attention_mask=texts["attention_mask"],
                    pixel_values=x.transpose(1, 2)).logits_per_video
        torch.testing.assert_close(model(x), theirs, atol=1e-5, rtol=1e-5)
    # its frame encoder's layers are maps with the frames on the batch axis: a patch changed in frame 2 shows at
    # frame 2 of the clip, and only for the clip it is in
    y = x.clone()
    y[1, :, 2, 16:24, 8:16] += 1  # clip 1, frame 2, patch row 2, patch column 1
    with Probe(model, ["vision_model.embeddings"]) as probe, torch.no_grad():
        model(x)
        before = probe.outputs["vision_model.embeddings"].clone()
        model(y)
        after = probe.outputs["vision_model.embeddings"]
    assert before.shape == (2, 32, 4, 4, 4)
    assert torch.nonzero((after - before).abs().sum(1) > 1e-5).tolist() == [[1, 2, 2, 1]]


def test_xclip_without_its_class_names_or_tokenizer_is_refused_with_what_to_give():
    hf, names, tokenizer = _xclip_parts()
    with pytest.raises(TypeError, match=r"XCLIPModel compares videos with texts .*load_model\(model, class_names="):
        ActivationMaximization(hf)
    with pytest.raises(ValueError, match=r"give load_model\(\.\.\., class_names=\[\.\.\.\]\)"):
        load_model(hf)
    with pytest.raises(ValueError, match=r"needs its tokenizer .* processor="):
        load_model(hf, class_names=names)
