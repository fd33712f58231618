"""Saliency Tubes: eqs. 1-2 against a direct implementation and the logits, the gradient form against CAM where
they must agree, recomputation without the model, renderings, exports and bad input."""

import importlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage

from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.io import read_video
from vidvis_widgets.media.tube_render import colormap
from vidvis_widgets.media.interpolation import cubic_upsample, normalize_over_clip
from vidvis_widgets.methods.saliency_tubes.tubes import SaliencyTubes, saliency_tubes
from vidvis_widgets.models import load_model
from vidvis_widgets.models.layers import submodule


@pytest.fixture(scope="module")
def r3d():
    return load_model("tiny_r3d")


@pytest.fixture(scope="module")
def clips():
    return SyntheticActions("test").arrays(range(0, 420, 30))  # one clip of each class


@pytest.fixture(scope="module")
def result(r3d, clips):
    return saliency_tubes(r3d, inputs=clips)


def test_cam_maps_match_a_direct_implementation_of_eqs_1_and_2(r3d, clips, result):
    acts = {}
    h = r3d.layer4.register_forward_hook(lambda _m, _i, o: acts.__setitem__("x", o.detach().numpy()))
    with torch.no_grad():
        r3d(*r3d.vidvis_adapter.prepare(clips))
    h.remove()
    x, y = acts["x"], r3d.fc.weight.detach().numpy()
    tau = float(np.median(y))
    for n, cls in enumerate(result.predicted.tolist()):
        direct = np.zeros(x.shape[2:], np.float32)
        for j in range(x.shape[1]):  # eq. 1 per channel, eq. 2 summed over those passing τ
            if y[cls, j] >= tau:
                direct += y[cls, j] * x[n, j]
        np.testing.assert_allclose(result.maps(threshold=tau)[n].numpy(), direct, rtol=1e-4, atol=1e-5)
    assert result.method == "cam" and result.layer == "layer4" and result.activations.shape[1:] == (64, 4, 8, 8)


def test_the_unthresholded_map_splits_the_logit_over_space_and_time(r3d, result):
    t = result.targets
    logit_minus_bias = result.logits[torch.arange(len(t)), t] - r3d.fc.bias.detach()[t]
    mean_map = result.maps(threshold=-np.inf).mean((1, 2, 3))
    torch.testing.assert_close(mean_map, logit_minus_bias, rtol=1e-5, atol=1e-4)
    # and the per-channel contributions sum to it too
    torch.testing.assert_close(result.contributions().sum(1), logit_minus_bias, rtol=1e-5, atol=1e-4)


def test_tubes_predict_the_test_clips_and_are_normalized_over_the_whole_clip(clips, result):
    assert (result.predicted.numpy() == clips["label"]).all()
    tubes = result.tubes()
    assert tubes.shape == (14, 16, 64, 64)
    flat = tubes.flatten(1)
    torch.testing.assert_close(flat.amax(1), torch.ones(14))
    torch.testing.assert_close(flat.amin(1), torch.zeros(14))
    per_frame_peak = tubes.amax((2, 3))
    assert (per_frame_peak < 0.9).any(), "every frame reaching 1 would mean per-frame normalization"


def test_normalization_keeps_quiet_frames_dark():
    x = torch.zeros(1, 4, 8, 8)
    x[0, 0] = 0.1
    x[0, 0, 0, 0] = 0.2
    x[0, 3, 4, 4] = 2.0
    out = normalize_over_clip(x)
    assert float(out[0, 0].max()) == pytest.approx(0.1) and float(out[0, 3].max()) == 1.0
    assert float(normalize_over_clip(torch.ones(1, 2, 3, 3)).abs().max()) == 0.0  # constant: no evidence anywhere


def test_threshold_selects_channels_and_a_threshold_above_every_weight_gives_an_empty_tube(result):
    w = result.channel_weights()
    kept = [int(result.kept_channels(threshold=t)[0]) for t in (-1.0, 0.0, 0.1, 0.3)]
    assert kept == sorted(kept, reverse=True) and kept[0] == 64
    assert kept[1] == int((w[0] >= 0).sum())
    empty = result.tubes(threshold=float(w.max()) + 1)
    assert float(empty.abs().max()) == 0.0


def test_changing_class_threshold_or_feature_does_not_run_the_model(r3d, clips):
    r = SaliencyTubes(r3d)(inputs=clips)
    calls = []
    h = r3d.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        a = r.tubes(target="disc_left")
        b = r.tubes(target=5, threshold=0.2)
        f = r.tubes(feature=7)
        r.heat(target=[3] * 14)
    finally:
        h.remove()
    assert not calls
    assert not torch.allclose(a, b)
    expected = normalize_over_clip(cubic_upsample(r.activations[:, 7], (16, 64, 64), floor_at_min=True))
    torch.testing.assert_close(f, expected)  # per-feature tube: one re-scaled activation map (Fig. 1b)


def test_gradient_form_on_a_pool_linear_head_is_cam_rectified(clips):
    """For a global-average-pool → linear head, ∂logit_i/∂a_j is y_ij / (T'H'W') everywhere, so α = y / (T'H'W'):
    by default (every channel) the gradient form is ReLU of CAM's un-thresholded map / (T'H'W'), and at the same
    channels (τ = 0 in both forms, or τ_α = τ_y / (T'H'W')) the two forms give the same tubes."""
    torch.manual_seed(0)
    for model in (load_model("tiny_r3d"), load_model("torchvision:r3d_18", weights=None)):
        sub = {"rgb": clips["rgb"][:3]}
        cam = saliency_tubes(model, inputs=sub, method="cam")
        grad = saliency_tubes(model, inputs=sub, method="grad", top_k=2)
        assert grad.method == "grad" and grad.grad_weights.shape[:2] == (3, 2)
        cells = cam.activations[0, 0].numel()
        torch.testing.assert_close(grad.channel_weights(), cam.channel_weights() / cells, atol=1e-7, rtol=1e-4)
        scale = float(cam.maps(threshold=-np.inf).abs().max()) / cells
        torch.testing.assert_close(grad.maps(), cam.maps(threshold=-np.inf).clamp_min(0) / cells, atol=1e-5 * scale,
                                   rtol=1e-4)
        torch.testing.assert_close(grad.tubes(threshold=0.0), cam.tubes(threshold=0.0), atol=1e-4, rtol=1e-4)
        tau = float(cam.channel_weights()[0].quantile(0.75))  # > 0: the map stays non-negative, the ReLU is moot
        assert tau > 0 and int(grad.kept_channels(threshold=tau / cells)[0]) == int(cam.kept_channels(threshold=tau)[0])
        torch.testing.assert_close(grad.tubes(threshold=tau / cells), cam.tubes(threshold=tau), atol=1e-4, rtol=1e-4)


def _captum_inputs(model, frames):
    """The model's input as the package prepares it: uint8 → [0, 1] → the model's mean and std."""
    from vidvis_widgets.models.adapter import adapter_of

    mean, std = (torch.tensor(v) for v in (adapter_of(model).mean, adapter_of(model).std))
    x = torch.from_numpy(np.ascontiguousarray(frames)).float().permute(0, 4, 1, 2, 3) / 255
    return (x - mean.view(1, 3, 1, 1, 1)) / std.view(1, 3, 1, 1, 1)


def test_gradient_form_is_captums_layer_grad_cam_before_upsampling(r3d, clips):
    """Grad-CAM as published (Selvaraju et al.): α_j = the space-time mean of ∂logit/∂a_j over every channel, then
    ReLU(Σ α_j a_j) — an independent implementation, Captum's LayerGradCam, gives the same map."""
    from captum.attr import LayerGradCam
    from torchvision.models.video import r3d_18

    torch.manual_seed(0)
    frames = torch.randint(0, 256, (1, 8, 112, 112, 3), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    cases = [(r3d_18().eval(), frames.numpy(), "layer4", [3])]
    cases += [(r3d, clips["rgb"][::2], layer, clips["label"][::2].tolist()) for layer in ("layer2", "layer3")]
    for model, x, layer, target in cases:
        ours = SaliencyTubes(model, method="grad", layer=layer)(inputs=x, target=target)
        assert (ours.kept_channels() == ours.activations.shape[1]).all()  # the default: every channel
        theirs = LayerGradCam(model, submodule(model, layer)).attribute(_captum_inputs(model, x), target=target,
                                                                         relu_attributions=True)
        theirs = theirs[:, 0].detach()
        got = ours.maps()
        assert got.shape == theirs.shape
        for n in range(len(got)):
            r = np.corrcoef(got[n].flatten().double(), theirs[n].flatten().double())[0, 1]
            assert r >= 0.999, (layer, n, r)
        torch.testing.assert_close(got, theirs, rtol=1e-4, atol=1e-5 * float(theirs.abs().max()))
        assert float(got.min()) == 0.0  # the ReLU


def test_threshold_units_and_default_per_form(r3d, clips, result):
    """τ is absolute in each form's weights: y (CAM, eq. 1; default 0, the channels that raise the score) and α
    (gradient form; default None = every channel). The same number selects different channels in the two."""
    grad = saliency_tubes(r3d, inputs=clips, method="grad", top_k=1)
    assert result.threshold is None and grad.threshold is None
    assert result.resolved_threshold() == 0.0 and grad.resolved_threshold() == -np.inf
    y, a = result.channel_weights(), grad.channel_weights()
    assert result.kept_channels().tolist() == (y >= 0).sum(1).tolist()
    assert grad.kept_channels().tolist() == [64] * 14
    assert grad.kept_channels(threshold=0.0).tolist() == (a >= 0).sum(1).tolist()
    tau = float(a.median())
    kept = grad.maps(threshold=tau)
    direct = torch.einsum("nc,ncthw->nthw", torch.where(a >= tau, a, 0), grad.activations).clamp_min(0)
    torch.testing.assert_close(kept, direct)
    # a τ set at the call is kept as the result's default
    at = saliency_tubes(r3d, inputs=clips["rgb"][:2], method="grad", threshold=tau, top_k=1)
    assert at.threshold == tau and at.resolved_threshold() == tau
    torch.testing.assert_close(at.maps(), grad.select([0, 1]).maps(threshold=tau))
    for bad in ("0.1", True, float("nan")):
        with pytest.raises(ValueError, match="threshold must be"):
            saliency_tubes(r3d, inputs=clips["rgb"][:1], threshold=bad)
        with pytest.raises(ValueError, match="threshold must be"):
            result.tubes(threshold=bad)


def test_a_batch_gives_the_tubes_of_its_clips_run_alone(r3d, clips, result):
    tuber = SaliencyTubes(r3d, batch_size=4)
    batched = tuber(inputs=clips).tubes()
    torch.testing.assert_close(batched, result.tubes(), atol=1e-5, rtol=1e-4)
    for n in (0, 9):
        alone = tuber(inputs=clips["rgb"][n]).tubes()[0]
        torch.testing.assert_close(alone, result.tubes()[n], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("method", ["cam", "grad"])
def test_one_target_per_clip_spans_several_batches(r3d, clips, result, method):
    """Each batch of 4 gets its own clips' classes (the gradient form once got the whole list, and refused it)."""
    labels = clips["label"].tolist()
    batched = SaliencyTubes(r3d, method=method, batch_size=4)(inputs=clips, target=labels)
    assert batched.targets.tolist() == labels
    # τ = 0 in both forms: the same channels on tiny_r3d's pool → linear head (by default the gradient form keeps all)
    torch.testing.assert_close(batched.tubes(threshold=0.0), result.tubes(labels, threshold=0.0), atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="13 targets for 14 clips"):
        SaliencyTubes(r3d, method=method, batch_size=4)(inputs=clips, target=labels[:-1])


def test_the_reused_input_buffer_never_changes_a_kept_result(r3d, clips, result):
    tuber = SaliencyTubes(r3d, batch_size=8)  # 14 clips: a full batch of 8, then 6 in the same buffer
    first = tuber(inputs=clips)
    kept = first.activations.clone(), first.logits.clone()
    tuber(inputs={k: v[::-1].copy() for k, v in clips.items()})  # other clips in each slot of the buffer
    torch.testing.assert_close(first.activations, kept[0], atol=0, rtol=0)
    torch.testing.assert_close(first.logits, kept[1], atol=0, rtol=0)
    torch.testing.assert_close(first.logits, result.logits, atol=1e-4, rtol=1e-4)
    # a layer that passes its input through would hand back the buffer itself; it gets a copy
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Conv3d(3, 4, 3), torch.nn.AdaptiveAvgPool3d(1),
                                torch.nn.Flatten(), torch.nn.Linear(4, 2))
    passthrough = SaliencyTubes(model, method="grad", layer="0")
    a = passthrough(inputs=clips["rgb"][:2])
    before = a.activations.clone()
    passthrough(inputs=clips["rgb"][2:4])
    torch.testing.assert_close(a.activations, before, atol=0, rtol=0)


def test_top_k_tubes_and_scores(result):
    tubes, classes, probs = result.top_k_tubes(3)
    assert tubes.shape == (14, 3, 16, 64, 64) and classes.shape == (14, 3)
    assert (probs[:, :-1] >= probs[:, 1:]).all() and (classes[:, 0] == result.predicted).all()
    torch.testing.assert_close(tubes[:, 1], result.tubes(classes[:, 1]))
    top = result.top_k(2)[0]
    assert top[0][1] == "disc_right" and top[0][2] > top[1][2]


def test_cubic_upsampling_keeps_constants_follows_ramps_and_matches_scipys_spline():
    const = cubic_upsample(torch.full((1, 4, 8, 8), 0.7), (16, 64, 64))
    torch.testing.assert_close(const, torch.full((1, 16, 64, 64), 0.7))
    t, h, w = torch.meshgrid(torch.arange(4.0), torch.arange(8.0), torch.arange(8.0), indexing="ij")
    ramp = (0.5 * t + 0.25 * h - 0.125 * w)[None]
    up = cubic_upsample(ramp, (16, 64, 64))[0]
    # output sample k sits at input coordinate (k + 0.5) / scale − 0.5 (align_corners=False)
    ct, ch, cw = ((torch.arange(n) + 0.5) / s - 0.5 for n, s in ((16, 4), (64, 8), (64, 8)))
    truth = 0.5 * ct[:, None, None] + 0.25 * ch[None, :, None] - 0.125 * cw[None, None, :]
    inner = (slice(6, -6), slice(12, -12), slice(12, -12))  # away from the clamped borders
    # PyTorch's cubic convolution (Keys, a = −0.75) reproduces constants exactly and ramps to within a few %
    assert float((up[inner] - truth[inner]).abs().max()) < 0.03 * float(truth.max() - truth.min())
    # the matrix form is PyTorch's bicubic kernel, along space and along time
    rand = torch.rand(2, 4, 8, 8)
    spatial = F.interpolate(rand.reshape(8, 1, 8, 8), size=(64, 48), mode="bicubic", align_corners=False)
    torch.testing.assert_close(cubic_upsample(rand, (4, 64, 48)), spatial.reshape(2, 4, 64, 48), atol=1e-5, rtol=0)
    temporal = F.interpolate(rand[:, None, :, :1, 0], size=(13, 1), mode="bicubic", align_corners=False)
    torch.testing.assert_close(cubic_upsample(rand[:, :, :1, :1], (13, 1, 1)), temporal[:, 0, :, :, None],
                               atol=1e-5, rtol=0)
    rng = np.random.default_rng(0)
    low = ndimage.gaussian_filter(rng.random((4, 8, 8)), 1.0).astype(np.float32)
    ours = cubic_upsample(torch.from_numpy(low)[None], (16, 64, 64))[0].numpy()
    spline = ndimage.zoom(low, (4, 8, 8), order=3, grid_mode=True, mode="grid-mirror")
    assert np.corrcoef(ours.ravel(), spline.ravel())[0, 1] > 0.99
    assert np.abs(ours - spline).max() < 0.05 * np.ptp(spline)
    # the reference code's own call, zoom(cam, (2, 32, 32)), puts the corner samples on the corners (grid_mode=False):
    # the same spline on another grid, which correlates less (0.980 on this map; 0.9994 on the half-pixel grid)
    corners = ndimage.zoom(low, (4, 8, 8))
    assert 0.975 < np.corrcoef(ours.ravel(), corners.ravel())[0, 1] < 0.985
    assert 0.10 * np.ptp(corners) < np.abs(ours - corners).max() < 0.20 * np.ptp(corners)


def test_tubes_are_the_map_interpolated_floored_at_its_minimum_and_min_max_scaled_over_the_clip(result):
    """What the module docstring says: not rectified and divided by the maximum, but floored at the map's minimum
    and min–max scaled; a map with negative values (CAM with every channel) has its minimum at 0, not its zeros."""
    st = importlib.import_module("vidvis_widgets.methods.saliency_tubes.tubes")  # the package's name is the function

    m = result.maps(threshold=-np.inf)
    assert float(m.min()) < 0 < float(m.max())
    up = cubic_upsample(m, (16, 64, 64))
    up = torch.maximum(up, m.flatten(1).amin(1).view(-1, 1, 1, 1))
    lo, hi = up.flatten(1).amin(1).view(-1, 1, 1, 1), up.flatten(1).amax(1).view(-1, 1, 1, 1)
    torch.testing.assert_close(result.tubes(threshold=-np.inf), (up - lo) / (hi - lo))
    rectified = up.clamp_min(0) / hi
    assert float((result.tubes(threshold=-np.inf) - rectified).abs().max()) > 0.1
    doc = " ".join(st.__doc__.split())
    assert "divided by its maximum" not in doc and "min–max scaled" in doc and "floored at" in doc


def test_tubes_are_floored_at_the_maps_minimum_so_quiet_positions_stay_at_zero():
    """Cubic convolution undershoots beside a peak; unfloored, min–max scaling would map that undershoot to 0
    and lift every quiet position above it."""
    peak = torch.zeros(1, 4, 8, 8)
    peak[0, 1, 3, 4] = 1.0
    free = cubic_upsample(peak, (16, 64, 64))
    floored = cubic_upsample(peak, (16, 64, 64), floor_at_min=True)
    assert float(free.min()) < -0.05 and float(floored.min()) == 0.0
    torch.testing.assert_close(floored, free.clamp_min(0))
    far = (slice(None), slice(None), slice(48, None), slice(None))  # beyond the kernel's two cells
    assert float(normalize_over_clip(floored)[far].abs().max()) == 0.0
    assert float(normalize_over_clip(free)[far].min()) > 0.05
    twice = torch.cat([peak, 3 * peak - 1])  # each map is floored at its own minimum
    assert cubic_upsample(twice, (16, 64, 64), floor_at_min=True).amin((1, 2, 3)).tolist() == [0.0, -1.0]


def test_transformers_and_s3d_go_through_the_gradient_form_with_tokens_back_in_space_time(clips):
    torch.manual_seed(0)
    one = clips["rgb"][:1]
    mvit = saliency_tubes(load_model("torchvision:mvit_v2_s", weights=None), inputs=one, top_k=1)
    assert mvit.method == "grad" and mvit.layer == "blocks.14" and mvit.activations.shape[2:] == (8, 7, 7)
    s3d = saliency_tubes(load_model("torchvision:s3d", weights=None), inputs=one, top_k=1)
    assert s3d.method == "grad" and s3d.layer == "features"
    swin = load_model("torchvision:swin3d_t", weights=None)
    grad = saliency_tubes(swin, inputs=one, method="grad", top_k=1)
    assert grad.layer == "norm" and grad.activations.shape[1:] == (768, 8, 7, 7)  # clips resized to its 224²
    # Swin's head is norm → pool → linear, so its gradient weights are the head's, spread evenly: Grad-CAM is the
    # rectified CAM map over every channel, and at the same channels (τ = 0 in both forms) the maps are the same
    # wherever they are positive (LayerNorm's output is signed, so the ReLU bites)
    cam = saliency_tubes(swin, inputs=one, method="cam")
    cells = cam.activations[0, 0].numel()
    for tau in (-np.inf, 0.0):
        full = cam.maps(threshold=tau).clamp_min(0) / cells
        torch.testing.assert_close(grad.maps(threshold=None if tau < 0 else tau), full, rtol=1e-4,
                                   atol=1e-4 * float(full.max()))
    for r in (mvit, s3d, grad):
        t = r.tubes()
        assert t.shape == (1, 16, 64, 64) and torch.isfinite(t).all() and float(t.max()) == pytest.approx(1.0)


def test_two_stream_tubes_cover_the_frames_the_streams_see(clips):
    model = load_model("tiny_two_stream")
    r = saliency_tubes(model, inputs={"rgb": clips["rgb"][:2], "flow": clips["flow"][:2]})
    info = model.vidvis_adapter
    assert r.method == "grad" and r.layer == "conv5_fusion"
    seen = np.zeros(16, bool)
    seen[info.flow_window] = True
    energy = r.frame_energy()[0].numpy()
    assert (energy[~seen] == 0).all() and (energy[seen] > 0).all()
    with pytest.raises(ValueError, match="needs optical flow"):
        saliency_tubes(model, inputs=clips["rgb"][:2])


def test_renderings_blend_the_colormap_and_use_saliency_as_alpha(result):
    frames = result.frames.numpy().astype(float)
    s = result.tubes().numpy()
    heat, focus = result.heat(alpha=0.5), result.focus(floor=0.1)
    lut = colormap("Turbo").astype(float)
    n, t, y, x = np.unravel_index(np.argmax(s[0]), s[0].shape) and (0, *np.unravel_index(np.argmax(s[0]), s[0].shape))
    np.testing.assert_allclose(heat[n, t, y, x], 0.5 * frames[n, t, y, x] + 0.5 * lut[255], atol=1)
    np.testing.assert_allclose(focus[n, t, y, x], frames[n, t, y, x], atol=1)
    z = np.argwhere(s[0] == 0)[0]
    np.testing.assert_allclose(focus[0, z[0], z[1], z[2]], 0.1 * frames[0, z[0], z[1], z[2]], atol=1)
    np.testing.assert_allclose(heat[0, z[0], z[1], z[2]], 0.5 * frames[0, z[0], z[1], z[2]] + 0.5 * lut[0], atol=1)


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_tubes_export_as_video(tmp_path, result, suffix):
    path = result.save_video(tmp_path / f"tube{suffix}", index=2, view="both")
    video = read_video(path)
    assert video.shape == (16, 64, 3 * 64 + 2 * 2, 3)  # clip, heat, focus with 2-pixel gaps
    tol = 6 if suffix == ".mp4" else 10  # 4:2:0 H.264 on noisy frames; GIF quantizes to a 256-colour palette
    assert np.abs(result.heat()[2].astype(int) - result.frames[2].numpy()).mean() > 3 * tol  # the tiles differ
    for k, expected in enumerate([result.frames[2].numpy(), result.heat()[2], result.focus()[2]]):
        got = video[:, :, k * 66:k * 66 + 64].astype(int)
        assert np.abs(got - expected.astype(int)).mean() < tol


def test_bad_input_gets_clear_errors(r3d, clips, result):
    with pytest.raises(ValueError, match="out of range: the model has 14 classes"):
        result.tubes(target=14)
    with pytest.raises(ValueError, match="out of range: tiny_r3d has 14 classes"):
        saliency_tubes(r3d, inputs=clips["rgb"][:1], target=20)
    with pytest.raises(ValueError, match="unknown class 'juggling'"):
        result.tubes(target="juggling")
    with pytest.raises(ValueError, match="at least 16 frames; got 8"):
        saliency_tubes(r3d, inputs=clips["rgb"][:1, :8])
    with pytest.raises(ValueError, match="without temporal and spatial dimensions"):
        saliency_tubes(r3d, inputs=clips["rgb"][:1], layer="fc", method="grad")
    with pytest.raises(ValueError, match="unknown layer 'layer5'"):
        SaliencyTubes(r3d, layer="layer5")
    with pytest.raises(ValueError, match="method='grad'"):
        SaliencyTubes(load_model("torchvision:s3d", weights=None), method="cam")
    with pytest.raises(ValueError, match="method='grad'"):  # a layer the head does not pool: not the CAM form
        saliency_tubes(r3d, inputs=clips["rgb"][:1], layer="layer3", method="cam")
    with pytest.raises(ValueError, match=r"T×H×W×3"):
        saliency_tubes(r3d, inputs=np.zeros((16, 3, 64, 64), np.uint8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        saliency_tubes(r3d, inputs=np.full((16, 64, 64, 3), 255.0, np.float32))
    with pytest.raises(ValueError, match=r"top_k must be an integer ≥ 1, got 0"):
        saliency_tubes(r3d, inputs=clips["rgb"][:1], top_k=0)
    with pytest.raises(ValueError, match=r"batch_size must be an integer ≥ 1, got 0"):
        SaliencyTubes(r3d, batch_size=0)
    with pytest.raises(ValueError, match="not computed"):
        saliency_tubes(r3d, inputs=clips["rgb"][:1], method="grad", top_k=1).tubes(target=13)
