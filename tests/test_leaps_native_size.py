"""LEAPS synthesizes x* at the model's native input, read from its adapter, on models built from their own
libraries (torchvision's r3d_18, a Hugging Face VideoMAE, PyTorchVideo's X3D): before, x* was 8×224² whatever the
model took (8 frames at the model's size below 112²), and was resampled, silently, to the input of a fixed-size
model. A module whose native input is unknown is refused by name (size=) before any work."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from torch import nn
from torchvision.models.video import r3d_18

from vidvis_widgets.methods import InversionJob, ModelInversion, leaps
from vidvis_widgets.models import load_model

from .test_pytorchvideo import small_x3d

K = 3


def _r3d_18():
    """torchvision's r3d_18 (its own blocks and widths, random weights) used at 4 frames of 32², as a user's
    model trained at that input says through load_model."""
    torch.manual_seed(0)
    return load_model(r3d_18(num_classes=K).eval(), num_frames=4, size=32)


def _videomae():
    """A tiny VideoMAE that takes 16 frames of 48² (tubelets of 2 frames, 8² patches), loaded as a user's."""
    torch.manual_seed(0)
    config = transformers.VideoMAEConfig(image_size=48, patch_size=8, num_frames=16, tubelet_size=2, hidden_size=32,
                                         num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                                         num_labels=K)
    return load_model(transformers.VideoMAEForVideoClassification(config).eval())


def _x3d():
    """PyTorchVideo's X3D (create_x3d, its own head without an activation): 4 frames of 64², fixed by its pool."""
    return load_model(small_x3d(K).eval())


BUILDERS = {"r3d_18": (_r3d_18, (4, 32, 32)), "videomae": (_videomae, (16, 48, 48)), "x3d": (_x3d, (4, 64, 64))}


@pytest.mark.parametrize("arch", list(BUILDERS))
def test_x_star_is_synthesized_and_seen_at_the_models_native_input(arch):
    build, native = BUILDERS[arch]
    model = build()
    assert model.vidvis_adapter.native_shape == native  # what the library's model says it takes
    inv = ModelInversion(model, None, steps=2)
    assert inv.size == native  # before: (8, 32, 32), (8, 48, 48), (8, 64, 64)
    stimulus = np.random.default_rng(0).integers(0, 256, (10, 40, 56, 3), dtype=np.uint8)  # another size: resampled
    jobs = [InversionJob(1, stimulus=0, seed=0, variant="prim+coh")]
    inv.memory_needed(jobs, 1, 2, 1)  # the memory estimate's probe (≤ 32², measured once) is no synthesis call
    seen = []
    hook = model.register_forward_pre_hook(lambda _m, args: seen.append(tuple(args[0].shape[2:])))
    try:
        res = inv(jobs, [stimulus], stimulus_labels=[1])
    finally:
        hook.remove()
    assert seen and set(seen) == {native}, seen  # every call of the model: the stimulus pass, the steps, the final
    for r in res:
        assert r.status == "completed" and r.x.shape == (3, *native) and r.video.shape == (*native, 3)
        assert r.settings["size"] == list(native)
    assert res[0].stimulus.shape == (*native, 3)


def test_torchvisions_r3d_18_at_its_own_input_defaults_to_16_frames_of_112():
    """The issue's numbers: a stock r3d_18 takes 16×112² (x* was 8×224², 4× the pixels it sees)."""
    assert ModelInversion(r3d_18(num_classes=K), None).size == (16, 112, 112)


def test_a_module_of_unknown_native_input_is_refused_naming_size_and_runs_with_it():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv3d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv3d(4, 4, 3, padding=1), nn.ReLU(),
                        nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(4, K))
    with pytest.raises(ValueError, match=r"LEAPS' default size needs the input frames and size of Sequential.*"
                                         r"load_model\(model, num_frames=T, size=S\).*give size=\(T, H, W\)"):
        leaps(net, 1, None, verifier=None, variant="deepdream", layers=["1", "3"], steps=1)[0]
    r = leaps(net, 1, None, verifier=None, variant="deepdream", layers=["1", "3"], steps=1, size=(4, 16, 16))[0]
    assert r.x.shape == (3, 4, 16, 16) and r.settings["size"] == [4, 16, 16]
    # a size the user gives is kept, also below the native one: a fixed-size model sees x* resampled to its own
    assert ModelInversion(_x3d(), None, size=(2, 32, 32)).size == (2, 32, 32)
