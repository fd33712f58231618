"""A model family the package has never seen, added in this file alone: a two-stream network whose ``forward`` takes
one dict {"rgb": N×3×H×W, "flow": N×2L×H×W}. One adapter (a subclass of the package's, overriding only how the
streams become ``forward`` arguments) is all it needs: activation maximization, Saliency Tubes, evaluation and LEAPS'
refusal run on it with no change to the package, and every value is checked against the model called directly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from vidvis_widgets.methods.activation_maximization import ActivationMaximization
from vidvis_widgets.methods.core.targets import logit, unit
from vidvis_widgets.methods.leaps import ModelInversion
from vidvis_widgets.methods.saliency_tubes import SaliencyTubes
from vidvis_widgets.models.adapter import ModelAdapter
from vidvis_widgets.models.evaluation import predict

FRAMES, SIZE, FLOW_FRAMES, FLOW_SCALE = 8, 32, 2, 2.0
CLASSES = ("wave", "clap", "jump", "spin", "bow")


class DictTwoStream(nn.Module):
    """Appearance and motion towers fused by concatenation, a fusion convolution, global pooling and a linear head;
    its forward takes the two streams in one dict."""

    def __init__(self):
        super().__init__()
        self.appearance = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, 2, 1), nn.ReLU())
        self.motion = nn.Sequential(nn.Conv2d(2 * FLOW_FRAMES, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, 2, 1),
                                    nn.ReLU())
        self.fusion = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, len(CLASSES))

    def forward(self, x: dict) -> torch.Tensor:
        fused = self.fusion(torch.cat([self.appearance(x["rgb"]), self.motion(x["flow"])], 1))
        return self.fc(self.pool(fused).flatten(1))


class DictStreamsAdapter(ModelAdapter):
    """The family's adapter: a two-stream model's facts, its streams passed as one dict."""

    def forward_args(self, inputs) -> tuple:
        rgb, flow = inputs
        return ({"rgb": rgb, "flow": flow},)


@pytest.fixture(scope="module")
def model() -> nn.Module:
    torch.manual_seed(0)
    m = DictTwoStream().eval()
    m.vidvis_adapter = DictStreamsAdapter(
        name="dict_two_stream", kind="two_stream", class_names=CLASSES, num_frames=FRAMES, size=(SIZE, SIZE),
        flow_frames=FLOW_FRAMES, flow_scale=FLOW_SCALE, logit_layer="fc", tube_layer="fusion", am_layer="fusion",
        layer_names=tuple(n for n, _ in m.named_modules() if n))
    return m


@pytest.fixture(scope="module")
def clips() -> dict:
    g = np.random.default_rng(0)
    return {"rgb": g.integers(0, 256, (3, FRAMES, SIZE, SIZE, 3), dtype=np.uint8),
            "flow": g.normal(0, 3, (3, FRAMES, 2, SIZE, SIZE)).astype(np.float32)}


def own_inputs(model, rgb: np.ndarray, flow: np.ndarray) -> dict:
    """The test's own preparation of clips, independent of the package: the centre frame normalized, the flow
    window stacked x, y per frame and divided by the flow scale."""
    a = model.vidvis_adapter
    mean, std = torch.tensor(a.mean).view(1, 3, 1, 1), torch.tensor(a.std).view(1, 3, 1, 1)
    frame = torch.from_numpy(rgb[:, FRAMES // 2]).permute(0, 3, 1, 2).double() / 255.0
    start = FRAMES // 2 - FLOW_FRAMES // 2
    window = torch.from_numpy(flow[:, start:start + FLOW_FRAMES]).double()
    return {"rgb": ((frame - mean) / std).float(), "flow": (window.flatten(1, 2) / FLOW_SCALE).float()}


def am_inputs(model, result) -> dict:
    """An AM result's returned streams as the model's dict: appearance in mean-subtracted 0–255 units is divided by
    255·std, the motion's flow (pixels, L×2×H×W) stacked as 2L channels and divided by the flow scale."""
    std = torch.tensor(model.vidvis_adapter.std).view(3, 1, 1)
    rgb = torch.from_numpy(np.ascontiguousarray(result.appearance)).permute(2, 0, 1) / (255.0 * std)
    flow = torch.from_numpy(np.ascontiguousarray(result.motion)).reshape(2 * FLOW_FRAMES, SIZE, SIZE) / FLOW_SCALE
    return {"rgb": rgb[None].float(), "flow": flow[None].float()}


def test_activation_maximization_on_a_unit_and_a_logit_difference(model):
    am = ActivationMaximization(model, activation_max=None, steps=4)
    assert am.streams.names == ("appearance", "motion")
    seen = {}
    hook = model.fusion.register_forward_hook(lambda _m, _i, out: seen.__setitem__("fusion", out))
    try:
        r = am(unit("fusion", 3), steps=4)[0]
        with torch.no_grad():
            model(am_inputs(model, r))
        # the unit's value on the returned input: its channel summed over every location, as the model gives it
        torch.testing.assert_close(torch.tensor(r.normalized_activation),
                                   seen["fusion"][0, 3].sum().double().float(), rtol=1e-4, atol=1e-4)
    finally:
        hook.remove()
    d = am(logit("clap") - logit("wave"), steps=4)[0]
    with torch.no_grad():
        z = model(am_inputs(model, d))[0]
    torch.testing.assert_close(torch.tensor(d.normalized_activation), z[1] - z[0], rtol=1e-4, atol=1e-4)
    assert np.isfinite(d.activation).all() and len(d.activation) == 4


def test_saliency_tubes_for_a_class_and_a_logit_difference(model, clips):
    tubes = SaliencyTubes(model, method="grad")
    with torch.no_grad():
        own = model(own_inputs(model, clips["rgb"], clips["flow"]))
    r = tubes("jump", clips)
    torch.testing.assert_close(r.logits, own, rtol=1e-4, atol=1e-5)
    assert r.layer == "fusion" and r.tubes().shape == (3, FRAMES, SIZE, SIZE)
    # the frames the two streams see: the flow window and the appearance frame
    assert r.support.tolist() == [i in (3, 4) for i in range(FRAMES)]
    d = tubes(logit("spin") - logit("bow"), clips)
    torch.testing.assert_close(d.target_values, own[:, 3] - own[:, 4], rtol=1e-4, atol=1e-5)
    # the gradient of the difference at the layer, by the test's own backward pass through the dict forward
    acts = {}
    hook = model.fusion.register_forward_hook(lambda _m, _i, out: acts.__setitem__("x", out))
    try:
        z = model(own_inputs(model, clips["rgb"], clips["flow"]))
        (g,) = torch.autograd.grad((z[:, 3] - z[:, 4]).sum(), acts["x"])
    finally:
        hook.remove()
    torch.testing.assert_close(d.target_weights, g.mean((2, 3)), rtol=1e-4, atol=1e-6)


def test_evaluation_runs_the_family_through_its_adapter(model, clips):
    with torch.no_grad():
        own = model(own_inputs(model, clips["rgb"], clips["flow"])).numpy()
    got = predict(model, {**clips, "label": np.zeros(3, np.int64)})
    np.testing.assert_allclose(got, own, rtol=1e-4, atol=1e-5)


def test_leaps_refuses_the_family_from_its_adapters_facts(model):
    with pytest.raises(ValueError, match=r"the inverted model dict_two_stream is a two-stream model.*one clip "
                                         r"N×3×T×H×W"):
        ModelInversion(model, None)
