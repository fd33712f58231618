"""Attribution methods are strategies (CAM, Grad-CAM, Grad-CAM++, any Captum layer attribution): Grad-CAM++ against
an independent implementation of pytorch-grad-cam's formula, a Captum LayerGradCam source against our Grad-CAM
tube, and a strategy defined here, in one class and a registration, running through the tubes, the result, the
localization benchmark and the view."""

import math

import numpy as np
import pytest
import torch

import vidvis_widgets as vv
from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.methods.saliency_tubes.attributions import (Attribution, CaptumSource, attribution_of, register,
                                                                registered)
from vidvis_widgets.methods.saliency_tubes.localization import localization_benchmark
from vidvis_widgets.methods.saliency_tubes.result import SaliencyTubeResults
from vidvis_widgets.methods.saliency_tubes.tubes import SaliencyTubes
from vidvis_widgets.models import load_model
from vidvis_widgets.models.adapter import adapter_of
from vidvis_widgets.models.layers import submodule


@pytest.fixture(scope="module")
def r3d():
    return load_model("tiny_r3d")


@pytest.fixture(scope="module")
def clips():
    return SyntheticActions("test").arrays(range(0, 420, 60))  # 7 clips, every other class


def _inputs(frames: np.ndarray, mean, std) -> torch.Tensor:
    """uint8 N×T×H×W×3 → the model's normalized N×3×T×H×W, written out here rather than taken from the package."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).float().permute(0, 4, 1, 2, 3) / 255
    return (x - torch.tensor(mean).view(1, 3, 1, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1, 1)


def _layer_and_gradient(model, layer: str, x: torch.Tensor, target: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The layer's activations and the gradient of Σ_n logit_n[target_n] at them, from a plain forward and
    backward pass (as pytorch-grad-cam's ActivationsAndGradients takes them)."""
    kept = {}

    def keep(_m, _i, out):
        kept["a"] = out
        out.register_hook(lambda g: kept.__setitem__("g", g))

    h = submodule(model, layer).register_forward_hook(keep)
    try:
        model.eval()
        logits = model(x)
        logits[torch.arange(len(target)), torch.tensor(target)].sum().backward()
    finally:
        h.remove()
        model.zero_grad(set_to_none=True)
    return kept["a"].detach().double().numpy(), kept["g"].detach().double().numpy()


def _grad_cam_plus_plus(acts: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """pytorch-grad-cam's GradCAMPlusPlus (get_cam_weights, then BaseCAM's weighted sum and ReLU) on a layer of
    N×C×T×H×W, before its resizing: its formula, written out independently in numpy because the package
    (``grad-cam``) cannot be installed offline here. Every sum over the map runs over T×H×W."""
    g2 = grads ** 2
    g3 = g2 * grads
    total = acts.sum(axis=(2, 3, 4))[:, :, None, None, None]
    aij = g2 / (2 * g2 + total * g3 + 0.000001)
    aij = np.where(grads != 0, aij, 0)
    weights = (np.maximum(grads, 0) * aij).sum(axis=(2, 3, 4))
    cam = (weights[:, :, None, None, None] * acts).sum(axis=1)
    return np.maximum(cam, 0)


def _r(a, b) -> float:
    return float(np.corrcoef(np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel())[0, 1])


def test_grad_cam_plus_plus_is_pytorch_grad_cams_before_upsampling(r3d, clips):
    from torchvision.models.video import r3d_18

    torch.manual_seed(0)
    frames = torch.randint(0, 256, (2, 8, 112, 112, 3), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    cases = [(r3d_18().eval(), frames.numpy(), "layer4", [3, 7])]
    cases += [(r3d, clips["rgb"], layer, clips["label"].tolist()) for layer in ("layer2", "layer3", "layer4")]
    for model, x, layer, target in cases:
        ours = SaliencyTubes(model, method="gradcam++", layer=layer)(inputs=x, target=target)
        assert ours.method == "gradcam++" and ours.resolved_threshold() == -math.inf
        adapter = adapter_of(model)
        acts, grads = _layer_and_gradient(model, layer, _inputs(x, adapter.mean, adapter.std), target)
        theirs = _grad_cam_plus_plus(acts, grads)
        got = ours.maps().double().numpy()
        assert got.shape == theirs.shape
        for n in range(len(got)):
            assert _r(got[n], theirs[n]) >= 0.999, (layer, n, _r(got[n], theirs[n]))
        np.testing.assert_allclose(got, theirs, rtol=1e-4, atol=1e-5 * float(np.abs(theirs).max()))
        # not Grad-CAM under another name: the weights differ from the gradient's mean
        grad = SaliencyTubes(model, method="grad", layer=layer)(inputs=x, target=target)
        assert _r(ours.channel_weights(), grad.channel_weights()) < 0.999


def test_grad_cam_plus_plus_declares_its_threshold_and_rectification(r3d, clips):
    r = SaliencyTubes(r3d, method="gradcam++")(inputs=clips, top_k=2)
    w = r.channel_weights()
    assert (r.kept_channels() == r.activations.shape[1]).all()  # the default τ: every channel
    tau = float(w.median())
    direct = torch.einsum("nc,ncthw->nthw", torch.where(w >= tau, w, 0), r.activations).clamp_min(0)
    torch.testing.assert_close(r.maps(threshold=tau), direct)
    assert float(r.maps().min()) == 0.0
    again = SaliencyTubeResults.from_entry(*r.to_entry())  # the stored name brings the declarations back
    assert again.attribution is attribution_of("gradcam++")
    torch.testing.assert_close(again.tubes(threshold=tau), r.tubes(threshold=tau))


def test_a_captum_layer_grad_cam_source_is_our_grad_cam_tube(r3d, clips):
    from captum.attr import LayerGradCam

    labels = clips["label"].tolist()
    for layer in ("layer4", "layer2"):
        ours = SaliencyTubes(r3d, method="grad", layer=layer)(inputs=clips, target=labels, top_k=2)
        captum = SaliencyTubes(r3d, method=CaptumSource(LayerGradCam, relu_attributions=True),
                               layer=layer)(inputs=clips, target=labels, top_k=2)
        assert captum.method == "captum:LayerGradCam" and captum.attribution_maps.shape[:2] == (7, 3)
        got, want = captum.maps(), ours.maps()
        for n in range(len(got)):
            assert _r(got[n], want[n]) >= 0.999, (layer, n)
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5 * float(want.abs().max()))
        torch.testing.assert_close(captum.tubes(), ours.tubes(), rtol=1e-4, atol=1e-4)  # rendered as ours are
        second = ours.top_k(2)  # another kept class, without running anything
        c = [s[1][0] for s in second]
        torch.testing.assert_close(captum.tubes(c), ours.tubes(c), rtol=1e-4, atol=1e-4)
        levels = np.abs(captum.heat().astype(int) - ours.heat().astype(int))  # the colormap's steps, where equal
        assert levels.max() <= 2 and (levels > 0).mean() < 0.01  # tubes land between two of them
    # Captum's default does not rectify: the map is Σ α_j a_j with its negative values, min–max scaled
    signed = SaliencyTubes(r3d, method=LayerGradCam)(inputs=clips, target=labels)
    ours = SaliencyTubes(r3d, method="grad")(inputs=clips, target=labels)
    direct = torch.einsum("nc,ncthw->nthw", ours.channel_weights(), ours.activations)
    torch.testing.assert_close(signed.maps(), direct, rtol=1e-4, atol=1e-5 * float(direct.abs().max()))
    assert float(signed.maps().min()) < 0
    # τ and channel weights do not apply to a source's own maps: refused before any work, and on the result
    with pytest.raises(ValueError, match="threshold does not apply to Captum's LayerGradCam"):
        SaliencyTubes(r3d, method=LayerGradCam)(inputs=clips, threshold=0.0)
    with pytest.raises(ValueError, match="gives maps, not channel weights"):
        signed.channel_weights()
    with pytest.raises(ValueError, match="drop target="):
        CaptumSource(LayerGradCam, target=0)
    again = SaliencyTubeResults.from_entry(*signed.to_entry())
    torch.testing.assert_close(again.tubes(), signed.tubes())
    assert CaptumSource(LayerGradCam).key != CaptumSource(LayerGradCam, relu_attributions=True).key
    # localized as ours are: the same energy in the mask and pointing game as our Grad-CAM tubes
    table = localization_benchmark(r3d, clips, methods=("grad", CaptumSource(LayerGradCam, relu_attributions=True)))
    ours_row, captum_row = table.rows[:2]
    assert captum_row["map"] == "Captum's LayerGradCam"
    assert captum_row["energy_in_mask"] == pytest.approx(ours_row["energy_in_mask"], rel=1e-4)
    assert captum_row["pointing"] == pytest.approx(ours_row["pointing"], abs=3 / captum_row["frames"])


def test_a_per_neuron_captum_attribution_is_summed_over_channels(r3d, clips):
    """LayerIntegratedGradients attributes every neuron of the layer; the tube sums its channels, and by IG's
    completeness the map's total is the logit at the clip minus the logit at the all-zero input."""
    from captum.attr import LayerIntegratedGradients

    x = {"rgb": clips["rgb"][:3]}
    labels = clips["label"][:3].tolist()
    r = SaliencyTubes(r3d, method=CaptumSource(LayerIntegratedGradients, n_steps=64, internal_batch_size=32))(inputs=x, target=labels, top_k=1)
    assert r.maps().shape == (3, 4, 8, 8)
    zero = r3d(torch.zeros(3, 3, 16, 64, 64)).detach()
    idx = torch.arange(3), torch.tensor(labels)
    expected = r.logits[idx] - zero[idx]
    torch.testing.assert_close(r.maps().sum((1, 2, 3)), expected, rtol=0.02, atol=0.02 * float(expected.abs().max()))


class _MeanActivation(Attribution):
    """A strategy of this test: every channel weighted by its mean activation, whatever the class."""

    name = "test-mean-activation"
    title = "mean activation"
    rectifies = False
    threshold_help = "τ in mean activation"

    def channel_weights(self, activations, gradients):
        return activations.mean((2, 3, 4))


def test_a_new_strategy_is_one_class_and_a_registration(r3d, clips):
    register(_MeanActivation())
    assert "test-mean-activation" in registered()
    r = SaliencyTubes(r3d, method="test-mean-activation")(inputs=clips, top_k=1)
    a = r.activations
    direct = torch.einsum("nc,ncthw->nthw", a.mean((2, 3, 4)), a)
    torch.testing.assert_close(r.maps(), direct)
    assert r.resolved_threshold() == -math.inf and float(r.maps().min()) >= 0  # ReLU'd activations, not rectified
    table = localization_benchmark(r3d, clips, methods=("grad", "test-mean-activation"))
    assert [row["map"] for row in table.rows][:2] == ["gradient-weighted tubes (last layer)", "mean activation"]
    view = vv.SaliencyTubeView(r)
    assert view.threshold.tooltip == "τ in mean activation" and "of 64 channels" in view.status.value
    with pytest.raises(ValueError, match="method must be one of .*'gradcam\\+\\+'.*Captum"):
        SaliencyTubes(r3d, method="gradcam+++")


def test_the_view_reads_the_declarations(r3d, clips):
    from captum.attr import LayerGradCam

    pp = vv.SaliencyTubeView(r3d, clips, method="gradcam++", top_k=2)
    assert "w's units" in pp.threshold.tooltip and pp.threshold.value == pp.threshold.min
    assert len(pp.class_menu.options) == 2  # only the kept classes
    src = vv.SaliencyTubeView(r3d, clips, method=LayerGradCam, top_k=2)
    assert src.threshold.layout.display == "none" and "Captum&#x27;s LayerGradCam" in src.status.value
    assert src.player.captions[1] == f"heat · {src.result.class_name(src.class_menu.value)}"
    np.testing.assert_array_equal(src.player.clips[1].frames, src.result.select([0]).heat(src.class_menu.value)[0])
    src.mode.value = "feature"
    top = src.feature.options[0][1]
    assert top == int(src.result.activations[0].mean((1, 2, 3)).argmax())


def test_captum_is_imported_only_when_a_captum_source_runs():
    import subprocess
    import sys

    code = ("import sys, vidvis_widgets\n"
            "from vidvis_widgets.methods.saliency_tubes.attributions import attribution_of\n"
            "r = attribution_of('captum:LayerGradCam')\n"
            "assert r.name == 'captum:LayerGradCam' and not r.has_channel_weights\n"
            "assert 'captum' not in sys.modules, 'captum imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_captum_sources_take_two_streams_and_pathways(clips):
    """A Captum source gets the forward arguments as the model takes them: the two-stream model's rgb and flow, and
    SlowFast's list of pathways (flattened for Captum and rebuilt for the model, which fills its list in place)."""
    from captum.attr import LayerGradCam

    from tests.small_models import slowfast_net

    torch.manual_seed(0)
    x = {k: v[:3] for k, v in clips.items()}
    for model, given in ((load_model("tiny_two_stream"), x), (slowfast_net(14).eval(), x["rgb"][:, :8])):
        ours = SaliencyTubes(model, method="grad")(inputs=given, top_k=1)
        theirs = SaliencyTubes(model, method=CaptumSource(LayerGradCam, relu_attributions=True))(inputs=given, top_k=1)
        want = ours.maps()
        assert float(want.abs().max()) > 0
        torch.testing.assert_close(theirs.maps(), want, rtol=1e-4, atol=1e-5 * float(want.abs().max()))
