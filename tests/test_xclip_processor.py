"""X-CLIP offline: ``load_model(XCLIPModel, class_names=…, processor=…)`` takes a tokenizer folder, a ``transformers``
tokenizer object or a whole processor (object or folder), with the network cut; anything else is refused with the
forms it takes (issue 42). The tokenizer is a word-level one built here with ``tokenizers`` (X-CLIP's own needs
its vocabulary files); every form gives X-CLIP's own ``logits_per_video`` for the class names."""

from __future__ import annotations

import socket

import pytest
import torch
import transformers

from vidvis_widgets.models import load_model

from .small_models import small_xclip, word_tokenizer

NAMES = ("riding a bike", "petting cats", "rowing a boat")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every connection refused: what is read comes from the folder, not the Hub."""
    def refuse(*_args, **_kw):
        raise OSError("network access in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def parts():
    torch.manual_seed(0)
    hf, tokenizer = small_xclip(), word_tokenizer(NAMES)
    x = torch.randn(2, 3, 4, 32, 32)
    texts = tokenizer(list(NAMES), padding=True, return_tensors="pt")
    with torch.no_grad():  # X-CLIP's own scores of the clips against the names' texts
        theirs = hf(input_ids=texts["input_ids"], attention_mask=texts["attention_mask"],
                    pixel_values=x.transpose(1, 2)).logits_per_video
    return hf, tokenizer, x, theirs


def _scores(model, x):
    with torch.no_grad():
        return model(x)


def test_a_tokenizer_object_or_its_folder_gives_xclips_own_scores(parts, tmp_path):
    hf, tokenizer, x, theirs = parts
    folder = tmp_path / "tokenizer"
    tokenizer.save_pretrained(folder)
    for processor in (tokenizer, str(folder), folder):
        model = load_model(hf, class_names=NAMES, processor=processor)
        torch.testing.assert_close(_scores(model, x), theirs, atol=1e-5, rtol=1e-5)
        # a tokenizer brings no image processor: the normalization of X-CLIP's checkpoints (VideoMAE's processor's)
        assert model.vidvis_adapter.mean == pytest.approx(transformers.VideoMAEImageProcessor().image_mean)


def test_a_whole_processor_object_or_folder_also_gives_its_normalization(parts, tmp_path):
    hf, tokenizer, x, theirs = parts
    images = transformers.VideoMAEImageProcessor(image_mean=[0.5, 0.4, 0.3], image_std=[0.2, 0.25, 0.3])
    processor = transformers.XCLIPProcessor(image_processor=images, tokenizer=tokenizer)
    processor.save_pretrained(tmp_path / "processor")
    for given in (processor, tmp_path / "processor"):
        model = load_model(hf, class_names=NAMES, processor=given)
        torch.testing.assert_close(_scores(model, x), theirs, atol=1e-5, rtol=1e-5)
        assert model.vidvis_adapter.mean == pytest.approx((0.5, 0.4, 0.3))
        assert model.vidvis_adapter.std == pytest.approx((0.2, 0.25, 0.3))


def test_anything_else_is_refused_naming_processor_and_its_forms(parts, tmp_path):
    hf, tokenizer, _, _ = parts
    forms = r"processor=\) an XCLIPProcessor .* a transformers tokenizer .* the path of a folder"
    with pytest.raises(ValueError, match=forms + r".*; got a function"):
        load_model(hf, class_names=NAMES, processor=lambda texts: texts)
    with pytest.raises(ValueError, match=forms + r".*; got a VideoMAEImageProcessor"):
        load_model(hf, class_names=NAMES, processor=transformers.VideoMAEImageProcessor())
    with pytest.raises(ValueError, match=r"processor='.*missing' is not a folder; X-CLIP's processor= takes an XCLIP"):
        load_model(hf, class_names=NAMES, processor=str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"processor='.*empty': the folder holds no tokenizer that transformers can"):
        load_model(hf, class_names=NAMES, processor=tmp_path / "empty")
    # a tokenizer of another vocabulary: ids past X-CLIP's text embeddings, refused before they index it
    wide = word_tokenizer([f"a{i:02d}" for i in range(40)] + list(NAMES))  # the names after 40 other words
    with pytest.raises(ValueError, match=r"processor=: the tokenizer gives token ids up to \d+, but X-CLIP's text "
                                         r"vocabulary has 16 tokens"):
        load_model(hf, class_names=NAMES, processor=wide)
