"""PyTorchVideo's X3D through load_model (by name at the paper's sizes, as an instance, from a checkpoint) and as
LEAPS' verifier, as in the paper; and what LEAPS' default verifier does for a model it has none for.
(Every method on X3D is checked in test_model_matrix.py.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorchvideo.models.x3d import create_x3d

from vidvis_widgets.methods import InversionJob, ModelInversion
from vidvis_widgets.models import load_model
from vidvis_widgets.models.probe import batchnorms

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


def small_x3d(classes: int = 14):
    torch.manual_seed(0)
    return create_x3d(input_clip_length=4, input_crop_size=64, model_num_class=classes, width_factor=1.0,
                      depth_factor=1.0, head_activation=None)


def test_x3d_by_name_takes_the_papers_sizes_and_a_checkpoint_names_its_head(tmp_path):
    xs = load_model("pytorchvideo:x3d_xs", weights=None)
    assert xs.vidvis_adapter.native_shape == (4, 160, 160) and xs.vidvis_adapter.num_classes == 400
    assert load_model("pytorchvideo:x3d_s", weights=None, num_classes=5).vidvis_adapter.native_shape == (13, 160, 160)
    # a PyTorchVideo training checkpoint ({"model_state": ...}) of a 3-class head
    tuned = load_model("pytorchvideo:x3d_xs", weights=None, num_classes=3)
    path = tmp_path / "x3d_xs.pyth"
    torch.save({"model_state": tuned.state_dict(), "epoch": 7}, path)
    model = load_model("pytorchvideo:x3d_xs", weights=path, class_names=["bikes", "cats", "rowing"])
    assert model.vidvis_adapter.class_names == ("bikes", "cats", "rowing")
    x = torch.randn(1, 3, 4, 160, 160)
    with torch.no_grad():
        torch.testing.assert_close(model(x), tuned.eval()(x))
    with pytest.raises(ValueError, match=r"pytorchvideo:x3d_s takes only its own input, 13 frames at 160²"):
        load_model("pytorchvideo:x3d_s", weights=None, size=224)
    with pytest.raises(ValueError, match="takes weights=None .* or a local checkpoint file"):
        load_model("pytorchvideo:x3d_s")


def test_x3d_is_leaps_verifier_at_its_own_size_with_its_batchnorm_statistics():
    model = load_model("tiny_r3d")
    verifier = load_model(small_x3d())
    inv = ModelInversion(model, verifier, steps=2)
    assert inv.verifier_size == (4, 64, 64)  # its head's pool fixes its input; R_feat reads its BatchNorm inputs
    assert len(batchnorms(verifier)) > 10
    stimulus = np.random.default_rng(0).integers(0, 256, (8, 64, 64, 3), dtype=np.uint8)
    (r,) = inv([InversionJob(3, stimulus=0)], [stimulus], stimulus_labels=[3])
    assert r.status == "completed" and r.video.shape == (8, 64, 64, 3)
    # the verifier's posterior on the result: X3D on the video resampled to its 4×64², in its own normalization
    with torch.no_grad():
        v = inv.verifier_logits(torch.as_tensor(r.x)[None].float())
    assert v.shape == (1, 14) and torch.isfinite(v).all()


def test_leaps_default_verifier_is_the_embedded_one_for_embedded_models_and_named_for_others():
    assert ModelInversion(load_model("tiny_r3d"), steps=1).verifier_adapter.name == "tiny_verifier"
    r3d = load_model("torchvision:r3d_18", weights=None)
    with pytest.raises(ValueError, match=r"verifier='auto' has no verifier for torchvision:r3d_18 \(input 16×112×112\).*"
                                         r"pytorchvideo:x3d_s.*verifier=None"):
        ModelInversion(r3d)
    assert ModelInversion(r3d, None, size=(8, 112, 112)).verifier is None
