"""PyTorchVideo's X3D through load_model (by name at the paper's sizes, as an instance, from a checkpoint) and as
LEAPS' verifier, as in the paper; what LEAPS' default verifier does for a model it has none for; and SlowFast's
two pathways: prepared from one clip, and activation maximization with one input per pathway (or one video).
(Every method on X3D and SlowFast is checked in test_model_matrix.py.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorchvideo.models.x3d import create_x3d

from vidvis_widgets.methods import InversionJob, ModelInversion, unit
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
    assert r.status == "completed" and r.video.shape == (16, 64, 64, 3)  # tiny_r3d's native 16×64²
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


# -- SlowFast: two pathways at two frame rates --------------------------------------------------------------

def small_slowfast(classes: int = 5):
    """R50's stages and lateral fusions with thin stems: 2 slow and 8 fast frames (α = 4) at 64², loaded."""
    from .small_models import slowfast_net

    torch.manual_seed(0)
    return load_model(slowfast_net(classes).eval())


def _pack(x: torch.Tensor) -> list[torch.Tensor]:
    """PyTorchVideo's PackPathway (α = 4), written out: the slow pathway takes T/4 frames spread by linspace."""
    t = x.shape[2]
    return [x.index_select(2, torch.linspace(0, t - 1, t // 4).long()), x]


def test_slowfast_by_name_reads_its_pathways_and_prepares_both_from_one_clip():
    model = load_model("pytorchvideo:slowfast_r50", weights=None, num_classes=3)
    a = model.vidvis_adapter
    assert a.kind == "pathways" and a.pathways == (("slow", 4), ("fast", 1)) and a.streams == ("slow", "fast")
    assert a.native_shape == (32, 224, 224) and a.num_classes == 3 and a.logit_layer == "blocks.6.output_pool"
    small = small_slowfast()
    rgb = np.random.default_rng(0).integers(0, 256, (2, 8, 64, 64, 3), dtype=np.uint8)
    (pathways,) = small.vidvis_adapter.prepare({"rgb": rgb})
    x = (torch.as_tensor(rgb).float().permute(0, 4, 1, 2, 3) / 255 - 0.45) / 0.225
    for got, want in zip(pathways, _pack(x)):
        torch.testing.assert_close(got, want)
    assert [p.shape[2] for p in pathways] == [2, 8]


def test_slowfast_am_optimizes_one_input_per_pathway_each_bounded_and_regularized_on_its_own():
    from vidvis_widgets.methods import ActivationMaximization, AMJob, unit
    from vidvis_widgets.methods.core.regularizers import local_norm, temporal_variation

    model = small_slowfast()
    layer = model.vidvis_adapter.am_layer
    am = ActivationMaximization(model, activation_max=None, steps=40, jitter=False, regularization=10, bound=160)
    objective = repr(am.objective(AMJob(unit(layer, 3), kappa=1, gamma=5)))
    for p in ("slow", "fast"):
        assert f"energy('{p}', alpha=3)" in objective and f"tv('{p}', kappa=1, gamma=5)" in objective
    smooth, rough = am([AMJob(unit(layer, 3), kappa=1, gamma=2000), AMJob(unit(layer, 3), kappa=1, gamma=0)])
    for r in (smooth, rough):
        assert list(r.pathways) == ["slow", "fast"] and r.motion is None
        assert r.pathways["slow"].shape == (2, 64, 64, 3) and r.pathways["fast"].shape == (8, 64, 64, 3)
        for v in r.pathways.values():  # the bound B is projected onto each pathway's input (γ = 0's slow one reaches it)
            assert float(local_norm(torch.as_tensor(v).permute(3, 0, 1, 2)[None]).max()) <= 160 + 1e-3
    # γ smooths each pathway in time: both pathways change less from frame to frame under γ = 2000 than γ = 0
    for p in ("fast", "slow"):
        tv = [float(temporal_variation(torch.as_tensor(r.pathways[p]).permute(3, 0, 1, 2)[None])[0])
              for r in (smooth, rough)]
        assert tv[0] < 0.7 * tv[1], (p, tv)
    # the result's two inputs, fed back as the list SlowFast takes, give the unit the result reports
    std = torch.tensor((0.225,) * 3).view(1, 3, 1, 1, 1)
    xs = [torch.as_tensor(rough.pathways[p]).float().permute(3, 0, 1, 2)[None] / 255 / std for p in ("slow", "fast")]
    seen = {}
    handle = model.get_submodule(layer).register_forward_hook(lambda m, a, o: seen.__setitem__("x", o))
    with torch.no_grad():
        model(xs)
    handle.remove()
    assert rough.normalized_activation == pytest.approx(float(seen["x"][0, 3].sum()), rel=1e-3)
    # shown and stored: one cell per pathway, the slow one's frames held for α = 4 fast frames
    grid = rough.clip_grid()
    assert [c.num_frames for c in grid.clips] == [8, 8] and grid.captions[0].endswith("· slow")
    np.testing.assert_array_equal(grid.clips[0].frames[0], grid.clips[0].frames[3])
    again = type(rough).from_entry(rough.job, *rough.to_entry())
    np.testing.assert_array_equal(again.pathways["fast"], rough.pathways["fast"])


def test_slowfast_joint_am_optimizes_one_video_its_pathways_sample():
    from vidvis_widgets.methods import ActivationMaximization, AMJob, unit

    model = small_slowfast()
    layer = model.vidvis_adapter.am_layer
    r = ActivationMaximization(model, activation_max=None, steps=3, jitter=False, pathways="joint")(AMJob(unit(layer, 1)))[0]
    assert r.pathways is None and r.appearance.shape == (8, 64, 64, 3)
    x = torch.as_tensor(r.appearance).float().permute(3, 0, 1, 2)[None] / 255 / 0.225
    seen = {}
    handle = model.get_submodule(layer).register_forward_hook(lambda m, a, o: seen.__setitem__("x", o))
    with torch.no_grad():
        model(_pack(x))
    handle.remove()
    assert r.normalized_activation == pytest.approx(float(seen["x"][0, 1].sum()), rel=1e-3)
    with pytest.raises(ValueError, match="pathways must be 'separate' .* or 'joint'"):
        ActivationMaximization(model, pathways="both")
    with pytest.raises(ValueError, match=r"input_shape of .* a multi-pathway model, is its clip \(3, T, H, W\)"):
        ActivationMaximization(model, input_shape=((3, 2, 64, 64), (3, 8, 64, 64)))


def test_slowfast_checkpoints_stack_into_one_pass_and_give_what_each_gives_alone(tmp_path):
    from vidvis_widgets.methods.activation_maximization import filter_evolution

    paths = []
    for seed in (0, 1):
        model = small_slowfast()
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(seed)) * 0.02)
        paths.append(tmp_path / f"epoch_{seed}.pt")
        torch.save(model.state_dict(), paths[-1])
    units = [unit(model.vidvis_adapter.am_layer, 3), unit("blocks.6.output_pool", 1)]
    stacked = filter_evolution(model, units, paths, steps=3, stack=True)
    alone = filter_evolution(model, units, paths, steps=3, stack=False)
    for row_s, row_a in zip(stacked.results, alone.results):
        for s, a in zip(row_s, row_a):
            assert s.status == "completed" and list(s.pathways) == ["slow", "fast"]
            np.testing.assert_allclose(s.normalized_activation, a.normalized_activation, rtol=1e-3, atol=1e-4)
    assert stacked.results[0][0].normalized_activation != stacked.results[1][0].normalized_activation

