"""The error for a dataset whose classes are not the model's names a call that works: executed as written, it
gives a model of the dataset's classes (a new head fine-tuned on it, or a head of their number named), which
evaluates the dataset. It named ``load_model(..., class_names=dataset.classes)``, which a 14-class head refuses."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn

import vidvis_widgets
from vidvis_widgets.data import VideoFolder
from vidvis_widgets.methods import response_statistics
from vidvis_widgets.models import evaluate, load_model
from vidvis_widgets.training import fine_tune

from .test_your_videos import shapes_folder

CALL = re.compile(r"(?:model = )?load_model\((?:[^()]|\([^()]*\))*\)|vidvis_widgets\.training\.fine_tune\(model, dataset\)")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return shapes_folder(tmp_path_factory.mktemp("mismatch") / "videos", per_class=2, frames=8)


def mismatch(model, dataset) -> str:
    with pytest.raises(ValueError, match="do not match the model's") as raised:
        evaluate(model, dataset)
    return str(raised.value)


def run(calls: list[str], dataset):
    """The error's calls executed as written, with ``dataset`` bound; the model they leave."""
    scope = {"dataset": dataset, "load_model": load_model, "vidvis_widgets": vidvis_widgets}
    for call in calls:
        if call.startswith("model = ") or call.startswith("vidvis_widgets."):
            exec(call, scope)
        else:
            scope["model"] = eval(call, scope)
    return scope["model"]


@pytest.mark.parametrize("build", [
    lambda: load_model("tiny_r3d", num_frames=8, size=32),                          # the embedded 14 classes
    lambda: load_model("torchvision:r3d_18", weights=None, num_frames=4, size=32),  # 400 random classes
])
def test_a_head_of_another_size_gets_a_new_head_that_is_fine_tuned_and_evaluates(build, folder):
    model = build()
    dataset = VideoFolder(folder, model=model, flow=None)
    assert len(dataset.classes) == 3 and dataset.classes != list(model.vidvis_adapter.class_names)
    text = mismatch(model, dataset)
    calls = CALL.findall(text)
    assert "..." not in text and len(calls) == 2 and "num_classes=len(dataset.classes)" in calls[0], text
    torch.manual_seed(0)
    tuned = run(calls, dataset)
    assert tuned.vidvis_adapter.class_names == tuple(dataset.classes)
    assert tuned.vidvis_adapter.native_shape == model.vidvis_adapter.native_shape  # at the input it was loaded at
    ev = evaluate(tuned, dataset)
    assert ev.logits.shape == (6, 3) and ev.classes == tuple(dataset.classes)
    # the same error from response statistics
    with pytest.raises(ValueError) as raised:
        response_statistics(model, dataset, [model.vidvis_adapter.am_layer])
    assert CALL.findall(str(raised.value)) == calls


def test_a_head_of_the_datasets_size_is_named_or_retrained(folder, tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "three.pt"
    torch.save(load_model("torchvision:r3d_18", weights=None, num_classes=3).state_dict(), path)
    model = load_model("torchvision:r3d_18", weights=path, num_frames=4, size=32)
    dataset = VideoFolder(folder, model=model, flow=None)
    text = mismatch(model, dataset)
    named, *retrained = CALL.findall(text)
    assert "name them" in text and len(retrained) == 2, text
    loaded = run([named], dataset)
    assert loaded.vidvis_adapter.class_names == tuple(dataset.classes)
    np.testing.assert_array_equal(evaluate(loaded, dataset).logits, evaluate(
        load_model("torchvision:r3d_18", weights=path, num_frames=4, size=32), {**_arrays(dataset)}).logits)
    assert run(retrained, dataset).vidvis_adapter.class_names == tuple(dataset.classes)


def test_a_model_that_takes_no_new_head_is_not_told_to_give_it_one(folder):
    model = load_model("tiny_two_stream")
    dataset = VideoFolder(folder, num_frames=8, size=64, flow=None)  # refused before any clip is read
    text = mismatch(model, dataset)
    assert "num_classes" not in text and "fine-tune a model of 3 classes" in text
    with pytest.raises(ValueError, match="num_classes builds a new head"):
        load_model("tiny_two_stream", num_classes=3)


def _arrays(dataset) -> dict:
    items = [dataset[i] for i in range(len(dataset))]
    return {"rgb": np.stack([it["rgb"] for it in items]), "label": np.array([it["label"] for it in items])}


def test_fine_tune_trains_the_head_alone_on_the_models_features(folder):
    """The head learns the three motions from the embedded features, which stay as they were (weights and
    batch-norm statistics); the model comes back in eval mode with its own requires_grad flags."""
    torch.manual_seed(0)
    model = load_model("tiny_r3d", num_frames=8, size=32, num_classes=3, class_names=["clapping", "jumping", "waving"])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    dataset = VideoFolder(folder, model=model, flow=None)
    history = fine_tune(model, dataset, epochs=30, progress=False)
    assert [h["epoch"] for h in history] == list(range(1, 31))
    assert history[-1]["train_loss"] < history[0]["train_loss"] / 2
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"fc.weight", "fc.bias"}
    assert not model.training and all(p.requires_grad for p in model.parameters())
    assert evaluate(model, dataset).accuracy == 1.0
    # arrays train the same head as the folder they were read from
    torch.manual_seed(0)
    again = load_model("tiny_r3d", num_frames=8, size=32, num_classes=3, class_names=["clapping", "jumping", "waving"])
    fine_tune(again, _arrays(dataset), epochs=30, progress=False)
    torch.testing.assert_close(again.fc.weight, model.fc.weight)
    with pytest.raises(ValueError, match="train must be 'head'"):
        fine_tune(model, dataset, train="backbone")


class _Doubled(nn.Module):
    """A head whose output is not the logits (they are twice it): fine_tune trains it through the model."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return 2 * self.fc(self.conv(x).mean((2, 3, 4)))


def test_fine_tune_trains_a_head_followed_by_more_layers_through_the_model():
    torch.manual_seed(0)
    model = load_model(_Doubled(), num_frames=4, size=16)
    rgb = np.zeros((8, 4, 16, 16, 3), np.uint8)
    rgb[4:] = 220  # bright clips are class 1
    conv = model.conv.weight.clone()
    history = fine_tune(model, {"rgb": rgb, "label": np.repeat([0, 1], 4)}, epochs=40, lr=0.1, progress=False)
    assert history[-1]["train_accuracy"] == 1.0 and torch.equal(model.conv.weight, conv)
    assert evaluate(model, {"rgb": rgb, "label": np.repeat([0, 1], 4)}).accuracy == 1.0


def test_num_classes_puts_a_new_head_on_a_checkpoints_features(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "three.pt"
    torch.save(load_model("torchvision:r3d_18", weights=None, num_classes=3).state_dict(), path)
    plain = load_model("torchvision:r3d_18", weights=path)
    five = load_model("torchvision:r3d_18", weights=path, num_classes=5, class_names=list("abcde"))
    assert five.fc.out_features == 5 and five.vidvis_adapter.class_names == tuple("abcde")
    torch.testing.assert_close(five.layer4[1].conv2[0].weight, plain.layer4[1].conv2[0].weight)
    # an embedded model's: its trained features, a new head; saved and loaded again, the head is its own
    tiny = load_model("tiny_r3d", num_classes=3)
    torch.testing.assert_close(tiny.layer3[0].weight, load_model("tiny_r3d").layer3[0].weight)
    torch.save(tiny.state_dict(), tmp_path / "tiny3.pt")
    again = load_model("tiny_r3d", weights=tmp_path / "tiny3.pt", class_names=["a", "b", "c"])
    torch.testing.assert_close(again.fc.weight, tiny.fc.weight)
