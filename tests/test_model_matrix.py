"""Every method on every torchvision video architecture, through the adapter alone. (AM runs without its
regularizers here, so that its climb on the unit shows in four steps; they are tested on the embedded models.)

Each architecture is built from its own torchvision, PyTorchVideo or Hugging Face class with random weights, in the
smallest configuration that keeps it (S3D, which has no size setting, gets a head pool for 16×64² instead of its
16×224² one: its layers are torchvision's, and the stock S3D's adapter is checked to say 16×224²); the Hugging
Face models (VideoMAE, TimeSformer, ViViT, and X-CLIP over the class names, its texts embedded by a word-level
tokenizer built here) go through ``load_model(instance)`` as a user's would. SlowFast takes a
list of two pathways, which the test packs itself as PyTorchVideo's ``PackPathway`` does (α = 4); its AM result
holds one input per pathway, and the test feeds those back as they are. The methods get nothing but
the model: they ask its adapter for the layout, the logits and their default layers. Every number is checked
against the test's own forward hooks, which read the raw module outputs without the package's probe.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from torch import nn
from torchvision.models.video import S3D, mvit, resnet, swin_transformer

from vidvis_widgets.methods import AMJob, unit, ActivationMaximization, InversionJob, ModelInversion, SaliencyTubes
from vidvis_widgets.methods import response_statistics
from vidvis_widgets.models import evaluate, load_model
from vidvis_widgets.models.adapter import KINETICS_MEAN, KINETICS_STD, describe

from .small_models import slowfast_net, small_xclip, word_tokenizer

K = 5  # classes of every small head
CLASSES = tuple(f"action_{i}" for i in range(K))


def _video_resnet(convs, stem) -> nn.Module:
    return resnet.VideoResNet(resnet.BasicBlock, convs, [1, 1, 1, 1], stem, num_classes=K)


def _hugging_face(arch: str) -> nn.Module:
    """A small random-weight Hugging Face video classifier, loaded as a user loads one."""
    common = dict(image_size=32, num_frames=8, hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                  intermediate_size=64, id2label=dict(enumerate(CLASSES)), label2id={c: i for i, c in enumerate(CLASSES)})
    if arch == "videomae":
        hf = transformers.VideoMAEForVideoClassification(transformers.VideoMAEConfig(patch_size=8, tubelet_size=2,
                                                                                     **common))
    elif arch == "timesformer":
        hf = transformers.TimesformerForVideoClassification(transformers.TimesformerConfig(patch_size=8, **common))
    elif arch == "xclip":  # no class head: it scores the class names' texts, which a word-level tokenizer embeds
        return load_model(small_xclip(), class_names=CLASSES, processor=word_tokenizer(CLASSES))
    else:
        hf = transformers.VivitForVideoClassification(transformers.VivitConfig(tubelet_size=[2, 8, 8], **common))
    return load_model(hf.eval())


def _build(arch: str) -> nn.Module:
    torch.manual_seed(0)
    if arch in HF:
        return _hugging_face(arch)
    if arch == "r3d":
        model = _video_resnet([resnet.Conv3DSimple] * 4, resnet.BasicStem)
    elif arch == "mc3":
        model = _video_resnet([resnet.Conv3DSimple] + [resnet.Conv3DNoTemporal] * 3, resnet.BasicStem)
    elif arch == "r2plus1d":
        model = _video_resnet([resnet.Conv2Plus1D] * 4, resnet.R2Plus1dStem)
    elif arch == "s3d":  # its only fixed size is the head's 2×7×7 pool (T/8 × H/32 × W/32 of 16×224²): at 16×64²
        model = S3D(num_classes=K)  # the same pool of the same grid is 2×2×2, and every other layer is torchvision's
        own = describe(model)  # the stock S3D's adapter: its native input is the least its pool takes
        assert own.native_shape == own.min_shape == (16, 224, 224) and own.tube_layer == "features"
        model.avgpool = nn.AvgPool3d(kernel_size=(2, 2, 2), stride=1)
    elif arch == "mvit":
        blocks = [mvit.MSBlockConfig(1, 8, 8, [3, 3, 3], [3, 3, 3], [1, 1, 1], [1, 2, 2]),
                  mvit.MSBlockConfig(1, 8, 16, [3, 3, 3], [3, 3, 3], [1, 2, 2], [1, 1, 1]),
                  mvit.MSBlockConfig(1, 16, 16, [3, 3, 3], [3, 3, 3], [1, 1, 1], [1, 1, 1]),
                  mvit.MSBlockConfig(1, 16, 16, [3, 3, 3], [3, 3, 3], [1, 1, 1], [1, 1, 1])]
        model = mvit.MViT(spatial_size=(32, 32), temporal_size=8, block_setting=blocks, residual_pool=True,
                          residual_with_cls_embed=False, rel_pos_embed=True, proj_after_attn=True, num_classes=K)
    elif arch == "x3d":  # PyTorchVideo's builder, as a user's instance (loaded with load_model below)
        from pytorchvideo.models.x3d import create_x3d

        model = create_x3d(input_clip_length=4, input_crop_size=64, model_num_class=K, width_factor=1.0,
                           depth_factor=1.0, head_activation=None)
    elif arch == "slowfast":  # 2 slow and 8 fast frames at 64²: R50's stages and lateral fusions, thin stems
        model = slowfast_net(K)
    elif arch == "swin":
        model = swin_transformer.SwinTransformer3d(patch_size=[2, 4, 4], embed_dim=16, depths=[1, 1, 1, 1],
                                                   num_heads=[1, 1, 2, 2], window_size=[2, 4, 4], num_classes=K)
    else:
        raise AssertionError(arch)
    # random weights with BatchNorm statistics measured on random clips, as training leaves them: without them a
    # deep plain stack (S3D) shrinks its signal ~30× per block and a mid-level unit's gradient vanishes
    small = {} if arch in ("mvit", "x3d", "slowfast") else dict(num_frames=8, size=(32, 32))
    if arch == "s3d":  # a user's S3D trained at 16×64² says so, and that this is the least it takes
        small = dict(num_frames=16, size=(64, 64), min_shape=(16, 64, 64))
    t, h, w = describe(model, **small).native_shape
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.momentum = None  # a cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        _forward(model, torch.randn(2, 3, t, h, w))
    model.eval()
    # the native size of the architectures whose size is free is set to the test's small clips, as a user's
    # adapter for a model trained at that size would say (S3D's at 16×64², its head's pool made to fit); MViT's
    # follows from its positional grid (8×32²), X3D's from its head's pool (4×64²), SlowFast's from its pathways'
    # pools (8×64²)
    model.vidvis_adapter = describe(model, class_names=CLASSES, **small)
    return model


HF = ["videomae", "timesformer", "vivit", "xclip"]
ARCHS = ["r3d", "mc3", "r2plus1d", "s3d", "mvit", "swin", "x3d", "slowfast", *HF]


def _is_slowfast(model) -> bool:
    return type(model).__name__ == "Net" and type(model.blocks[0]).__name__ == "MultiPathWayWithFuse"


def _forward(model, x):
    """The model on a clip N×3×T×H×W, or on pathway inputs given as a list; a SlowFast clip is packed into its
    slow (every 4th frame, PyTorchVideo's linspace sampling) and fast pathways here, independently of the package."""
    if _is_slowfast(model) and isinstance(x, torch.Tensor):
        t = x.shape[2]
        x = [x.index_select(2, torch.linspace(0, t - 1, t // 4).long()), x]
    return model(list(x) if isinstance(x, list) else x)  # a fresh list: SlowFast's blocks overwrite it in place


@pytest.fixture(scope="module", params=ARCHS)
def model(request):
    return _build(request.param)


def _native(model) -> tuple[int, int, int]:
    return model.vidvis_adapter.native_shape


def _clips(model, n: int = 3, seed: int = 0) -> np.ndarray:
    t, h, w = _native(model)
    return np.random.default_rng(seed).integers(0, 256, (n, t, h, w, 3), dtype=np.uint8)


def _stats(model) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's normalization: Kinetics' for torchvision (written out here); a Hugging Face model's is its
    image processor's, which a separate test checks against the processor's own preprocessing."""
    a = model.vidvis_adapter
    if a.name.startswith("hf:"):
        mean, std = a.mean, a.std
    elif a.name == "Net":  # PyTorchVideo's X3D and SlowFast: their Kinetics transforms'
        mean, std = (0.45, 0.45, 0.45), (0.225, 0.225, 0.225)
    else:
        mean, std = KINETICS_MEAN, KINETICS_STD
    return torch.tensor(mean).view(1, 3, 1, 1, 1), torch.tensor(std).view(1, 3, 1, 1, 1)


def _model_units(rgb: np.ndarray, model) -> torch.Tensor:
    """N×T×H×W×3 uint8 → N×3×T×H×W model units."""
    x = torch.as_tensor(rgb).float().permute(0, 4, 1, 2, 3) / 255
    mean, std = _stats(model)
    return (x - mean) / std


def _channels_first(model, name: str, out) -> torch.Tensor:
    """The test's own reading of a raw module output as N×C×positions."""
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], (tuple, list)):
        return out[0][:, 1:].transpose(1, 2)  # an MViT block: (tokens N×(1+THW)×C, thw), class token first
    if isinstance(out, tuple):
        out = out[0]
    if isinstance(model, swin_transformer.SwinTransformer3d) and name.startswith("features"):
        return out.flatten(1, -2).transpose(1, 2)  # N×T×H×W×C
    grid = model.vidvis_adapter.token_grid
    if grid is not None and out.dim() == 3 and isinstance(model.hf, transformers.XCLIPModel):
        # X-CLIP's frame encoder: N·T sequences (clip-major), each its class token then H·W patches
        t, h, w = grid
        patches = out[:, -h * w:]
        return patches.reshape(out.shape[0] // t, t * h * w, out.shape[-1]).transpose(1, 2)
    if grid is not None and out.dim() == 3:  # Hugging Face tokens: the last T·H·W are the patches
        return out[:, -int(np.prod(grid)):].transpose(1, 2)
    return out.flatten(2) if out.dim() > 2 else out[..., None]


def _recorded(model, name: str, x: torch.Tensor) -> torch.Tensor:
    """N×C×positions of layer ``name``'s output on model input ``x``."""
    seen = {}
    handle = model.get_submodule(name).register_forward_hook(lambda m, a, o: seen.__setitem__("x", o))
    with torch.no_grad():
        _forward(model, x)
    handle.remove()
    return _channels_first(model, name, seen["x"])


def _am_input(model, result):
    """AM's appearance (T×H×W×3, mean-subtracted RGB on 0–255) back to model input 1×3×T×H×W; SlowFast's two
    pathway inputs, each so, as the list it takes."""
    _, std = _stats(model)

    def units(a):
        return torch.as_tensor(a).float().permute(3, 0, 1, 2)[None] / 255 / std

    return [units(result.pathways["slow"]), units(result.pathways["fast"])] if result.pathways else units(result.appearance)


def test_am_climbs_the_default_mid_level_unit_and_refuses_units_past_the_layer(model):
    adapter = model.vidvis_adapter
    am = ActivationMaximization(model, activation_max=None, steps=4, jitter=False, regularization=0)
    x0 = _model_units(_clips(model, 1), model)
    c = _recorded(model, adapter.am_layer, x0).shape[1]
    with pytest.raises(ValueError, match=rf"channel {c} out of range for layer '{adapter.am_layer}', which has {c}"):
        am(AMJob(unit(adapter.am_layer, c)))[0]
    r = am(AMJob(unit(adapter.am_layer, c // 2), kappa=1, gamma=1))[0]
    t, h, w = _native(model)
    if _is_slowfast(model):  # one input per pathway, each at its own frame rate
        assert r.status == "completed" and list(r.pathways) == ["slow", "fast"]
        assert r.pathways["slow"].shape == (t // 4, h, w, 3) and r.pathways["fast"].shape == (t, h, w, 3)
    else:
        assert r.status == "completed" and r.appearance.shape == (t, h, w, 3)
    assert r.normalized_activation > r.activation[0]  # the best input beats the start
    # the unit summed over positions, read by the test's hook on the result's input, is what the result reports
    own = float(_recorded(model, adapter.am_layer, _am_input(model, r))[0, c // 2].sum())
    assert r.normalized_activation == pytest.approx(own, rel=1e-3, abs=1e-3)


def test_am_on_a_class_logit_by_name(model):
    adapter = model.vidvis_adapter
    am = ActivationMaximization(model, activation_max=None, steps=4, jitter=False, regularization=0)
    r = am(AMJob(unit(adapter.logit_layer, "action_2")))[0]
    assert r.job.target.single_unit()[1] == 2 and r.normalized_activation > r.activation[0]
    x = _am_input(model, r)
    own = _recorded(model, adapter.logit_layer, x)[0, 2]
    assert r.normalized_activation == pytest.approx(float(own.sum()), rel=1e-3, abs=1e-3)
    with torch.no_grad():  # the logit layer is the class score: its mean over positions is the model's logit
        assert float(_forward(model, x)[0, 2]) == pytest.approx(float(own.mean()), rel=1e-3, abs=1e-4)


def test_inversion_runs_am_deepdream_and_leaps_in_job_order(model):
    stimulus = _clips(model, 1, seed=1)[0]
    inv = ModelInversion(model, "tiny_verifier", steps=2, size=_native(model))
    jobs = [InversionJob("action_1", variant="am"), InversionJob(3, variant="deepdream"),
            InversionJob(0, stimulus=0, variant="leaps")]
    results = inv(jobs, [stimulus], stimulus_labels=[0])
    assert [r.job.variant for r in results] == ["am", "deepdream", "leaps"]
    assert [r.job.target for r in results] == [1, 3, 0]
    for r in results:
        assert r.status == "completed" and r.video.shape == (*_native(model), 3)
        # the reported class probabilities are the model's softmax on the result's own input
        with torch.no_grad():
            p = torch.softmax(_forward(model, torch.as_tensor(r.x)[None].float()), 1)[0].numpy()
        np.testing.assert_allclose(r.probabilities, p, atol=1e-4)


def test_saliency_tubes_on_the_default_layer_follow_the_clip(model):
    clips = _clips(model, 2)
    result = SaliencyTubes(model)(inputs=clips)
    assert result.layer == model.vidvis_adapter.tube_layer
    tubes = result.tubes()
    assert tuple(tubes.shape) == clips.shape[:4]
    assert torch.isfinite(tubes).all() and float(tubes.min()) >= 0 and float(tubes.amax((1, 2, 3)).min()) > 0
    with torch.no_grad():
        logits = _forward(model, _model_units(clips, model))
    torch.testing.assert_close(result.logits.float(), logits, atol=1e-4, rtol=1e-4)


def test_response_statistics_and_evaluation_match_the_tests_own_pass(model):
    rgb = _clips(model, 4, seed=2)
    data = {"rgb": rgb, "label": np.array([0, 1, 2, 1])}
    layer = model.vidvis_adapter.am_layer
    stats = response_statistics(model, data, [layer])
    x = _model_units(rgb, model)
    own = _recorded(model, layer, x).amax(2).amax(0).numpy()  # each unit's maximum over positions and videos
    np.testing.assert_allclose(stats.activation_max[layer], own, rtol=1e-4, atol=1e-4)
    ev = evaluate(model, data)
    with torch.no_grad():
        np.testing.assert_allclose(ev.logits, _forward(model, x).numpy(), rtol=1e-4, atol=1e-4)
    assert ev.classes == CLASSES and ev.matrix.sum() == 4
