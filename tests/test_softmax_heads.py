"""Heads that end in a Softmax are read before it (issue 42).

PyTorchVideo's ``create_x3d`` ends its head in an ``nn.Softmax`` by default (so do its hub's X3D builders), and a
user's model may end in one. The adapter reads the logits before it: class AM climbs a logit, not a probability,
the logits that the methods get are the projection's outputs (checked against the test's own hook on the linear
layer), and the gradient form of Saliency Tubes weights a class's channels by its logit's gradient (checked
against the test's own Grad-CAM), so a class other than the top one gets a tube. The head's weights are scaled up
(std 30) so that the Softmax is as sharp as a trained one's: its probabilities then cannot move by more than 1,
and their gradients for the other classes all but vanish."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorchvideo.models.x3d import create_x3d
from torch import nn

from vidvis_widgets.methods import AMJob, unit, ActivationMaximization, SaliencyTubes
from vidvis_widgets.models import load_model

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")

K = 5


def _x3d() -> nn.Module:
    """X3D with PyTorchVideo's default head (projection, Softmax, output pool) at 4×64², random weights."""
    torch.manual_seed(0)
    model = create_x3d(input_clip_length=4, input_crop_size=64, model_num_class=K, width_factor=1.0, depth_factor=1.0)
    nn.init.normal_(model.blocks[-1].proj.weight, std=30.0)
    return load_model(model.eval())


def _sequential() -> nn.Module:
    """A user's clip model whose last module is nn.Softmax(dim=1)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv3d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv3d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(16, K), nn.Softmax(dim=1))
    nn.init.normal_(model[6].weight, std=30.0)
    return load_model(model.eval(), num_frames=4, size=32)


#: each model with its linear classifier (whose outputs, averaged over positions, are the logits) and the layer the
#: test's own Grad-CAM reads
CASES = {"x3d": (_x3d, "blocks.5.proj", "blocks.4"), "sequential": (_sequential, "6", "3")}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    build, linear, layer = CASES[request.param]
    return build(), linear, layer


def _clips(model, n: int = 2) -> np.ndarray:
    t, h, w = model.vidvis_adapter.native_shape
    return np.random.default_rng(0).integers(0, 256, (n, t, h, w, 3), dtype=np.uint8)


def _units(model, clips: np.ndarray) -> torch.Tensor:
    return model.vidvis_adapter.normalize(torch.as_tensor(clips).permute(0, 4, 1, 2, 3))


def _own_logits(model, linear: str, x: torch.Tensor, layer: str | None = None) -> tuple[torch.Tensor, dict]:
    """The linear layer's outputs averaged over positions (the logits before the Softmax), read by the test's own
    hooks, with the raw output of ``layer``; the model's own output is checked to be probabilities."""
    seen = {}
    hooks = [model.get_submodule(linear).register_forward_hook(lambda m, a, o: seen.__setitem__("z", o))]
    if layer is not None:
        hooks.append(model.get_submodule(layer).register_forward_hook(lambda m, a, o: seen.__setitem__("a", o)))
    try:
        probs = model(x)
    finally:
        for h in hooks:
            h.remove()
    torch.testing.assert_close(probs.sum(1), torch.ones(len(x)))  # the head still ends in its Softmax
    z = seen["z"]
    return (z.flatten(1, -2).mean(1) if z.dim() > 2 else z), seen


def test_the_adapter_reads_logits_before_the_softmax(case):
    model, linear, _ = case
    adapter = model.vidvis_adapter
    assert adapter.logit_layer == linear and adapter.head_softmax is not None
    x = _units(model, _clips(model))
    with torch.no_grad():
        own, _ = _own_logits(model, linear, x)
        logits = adapter.call(model, adapter.model_args(x))
        torch.testing.assert_close(logits, own, atol=1e-4, rtol=1e-4)
        assert float(logits.abs().max()) > 1  # logits, not probabilities
        # the call left no hook behind: the model's own forward still gives probabilities
        torch.testing.assert_close(model(x), torch.softmax(own, 1), atol=1e-5, rtol=1e-4)


def test_class_am_climbs_the_logit(case):
    model, linear, _ = case
    am = ActivationMaximization(model, activation_max=None, steps=4, jitter=False, regularization=0)
    r = am(AMJob(unit(model.vidvis_adapter.logit_layer, "class_2")))[0]
    # a probability moves by at most 1 in all; the logit climbs by more in four steps
    assert r.normalized_activation - r.activation[0] > 1
    x = torch.as_tensor(r.appearance).float().permute(3, 0, 1, 2)[None] / 255 / torch.tensor(
        model.vidvis_adapter.std).view(1, 3, 1, 1, 1)  # AM's mean-subtracted RGB on 0–255 back to model units
    with torch.no_grad():
        own, _ = _own_logits(model, linear, x)
    assert r.normalized_activation == pytest.approx(float(own[0, 2]), rel=1e-3, abs=1e-3)


def test_grad_tubes_of_a_class_other_than_the_top_one_follow_its_logit(case):
    model, linear, layer = case
    clips = _clips(model)
    x = _units(model, clips)
    # the test's own Grad-CAM on the logits: α = mean over positions of d logit_k / d a, map = ReLU(Σ α a)
    with torch.enable_grad():
        logits, seen = _own_logits(model, linear, x, layer)
        a = seen["a"]
        own = {}
        for k in range(K):
            (g,) = torch.autograd.grad(logits[:, k].sum(), a, retain_graph=True)
            alpha = g.mean((2, 3, 4))
            own[k] = (alpha, torch.einsum("nc,ncthw->nthw", alpha, a).clamp_min(0).detach())
    top = logits.argmax(1)
    # the class other than each clip's top one whose map is strongest
    k = max((c for c in range(K) if not bool((top == c).any())), key=lambda c: float(own[c][1].amax()))
    assert float(own[k][1].amax()) > 0
    result = SaliencyTubes(model, method="grad", layer=layer)(inputs=clips, target=[k] * len(clips), top_k=1)
    torch.testing.assert_close(result.channel_weights([k] * len(clips)), own[k][0].detach(), atol=1e-5, rtol=1e-3)
    torch.testing.assert_close(result.maps([k] * len(clips)), own[k][1], atol=1e-5, rtol=1e-3)
    assert float(result.tubes([k] * len(clips)).amax((1, 2, 3)).min()) > 0


def test_head_softmax_is_an_adapter_field_that_load_model_takes_and_checks():
    model = nn.Sequential(nn.Conv3d(3, 4, 3), nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(4, K), nn.Softmax(dim=1))
    x = torch.randn(2, 3, 4, 16, 16)
    as_is = load_model(model, num_frames=4, size=16, head_softmax=None).vidvis_adapter  # read the output as it is
    assert as_is.logit_layer == "3" and as_is.head_softmax is None
    with torch.no_grad():
        torch.testing.assert_close(as_is.call(model, (x,)).sum(1), torch.ones(2))
    with pytest.raises(ValueError, match="unknown layer '9' in Sequential"):
        load_model(model, head_softmax="9")


def test_pytorchvideo_hub_x3d_and_a_slowfast_with_a_softmax_head_are_read_before_it():
    from pytorchvideo.models.hub import x3d_xs

    from vidvis_widgets.models.adapter import describe

    from .small_models import slowfast_net

    hub = describe(x3d_xs(pretrained=False))  # torch.hub's builder: create_x3d's default head
    assert (hub.logit_layer, hub.head_softmax, hub.num_classes) == ("blocks.5.proj", "blocks.5.activation", 400)
    torch.manual_seed(0)
    model = load_model(slowfast_net(K, head_activation=nn.Softmax).eval())
    adapter = model.vidvis_adapter
    assert (adapter.logit_layer, adapter.head_softmax) == ("blocks.6.proj", "blocks.6.activation")
    x = _units(model, _clips(model))
    seen = {}
    handle = model.get_submodule("blocks.6.proj").register_forward_hook(lambda m, a, o: seen.__setitem__("z", o))
    with torch.no_grad():  # fresh pathway lists for each pass: PyTorchVideo's blocks replace their items
        probs = model(*adapter.model_args(x))
        own = seen["z"].flatten(1, -2).mean(1)
        logits = adapter.call(model, adapter.model_args(x))
    handle.remove()
    torch.testing.assert_close(probs, torch.softmax(own, 1))
    torch.testing.assert_close(logits, own)
