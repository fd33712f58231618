"""The probe's contract on real models with random weights: every layer comes back as N×C×T×H×W or N×C,
whatever the module emits, checked against an independent computation of the same layer."""

import pytest
import torch
from torch import nn
from torchvision.models.video import mvit, r3d_18, swin3d_t

from vidvis_widgets.methods.core.loop import capture, pre_activation_layers
from vidvis_widgets.models.probe import LayerLayout, Probe, as_maps, each_module, modules_that_ran


@pytest.fixture(scope="module")
def r3d():
    torch.manual_seed(0)
    return r3d_18(weights=None).eval()


def tiny_mvit() -> nn.Module:
    """torchvision's MViT with two small blocks: 4×32×32 → a 2×8×8 token grid, then 2×4×4 after a pooled query."""
    blocks = [mvit.MSBlockConfig(1, 8, 8, [3, 3, 3], [3, 3, 3], [1, 1, 1], [1, 2, 2]),
              mvit.MSBlockConfig(2, 8, 16, [3, 3, 3], [3, 3, 3], [1, 2, 2], [1, 1, 1])]
    torch.manual_seed(0)
    return mvit.MViT(spatial_size=(32, 32), temporal_size=4, block_setting=blocks, residual_pool=True,
                     residual_with_cls_embed=False, rel_pos_embed=True, proj_after_attn=True, num_classes=5).eval()


class ConvBnRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Conv3d(3, 6, 3, padding=1), nn.BatchNorm3d(6), nn.ReLU(inplace=True))
        self.unused = nn.Conv3d(6, 6, 1)
        self.head = nn.Sequential(nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(6, 4))

    def forward(self, x):
        return self.head(self.block(x))


def test_3d_cnn_maps_come_as_they_are(r3d):
    x = torch.randn(1, 3, 8, 56, 56)
    with torch.no_grad(), Probe(r3d, ["layer3", "fc"]) as probe:
        logits = r3d(x)
        manual = r3d.layer3(r3d.layer2(r3d.layer1(r3d.stem(x))))
    assert probe["layer3"].shape == (1, 256, 2, 7, 7)
    assert torch.equal(probe["layer3"], manual)
    assert probe["fc"].shape == (1, 400) and torch.equal(probe["fc"], logits)  # N×C vectors as they are


def test_swin_channels_last_stage_is_permuted():
    torch.manual_seed(0)
    model = swin3d_t(weights=None).eval()
    x = torch.randn(1, 3, 8, 64, 64)
    layout = lambda name: LayerLayout(channels_last=name.startswith("features"))  # noqa: E731
    with torch.no_grad(), Probe(model, ["features.4"], layout=layout, keep_raw=True) as probe:
        model(x)
    raw = probe.raw["features.4"]
    assert raw.shape == (1, 4, 4, 4, 384)  # N×T×H×W×C as the stage emits it
    assert probe["features.4"].shape == (1, 384, 4, 4, 4)
    assert torch.equal(probe["features.4"], raw.permute(0, 4, 1, 2, 3))
    assert as_maps(raw).shape[1] == 4  # read channels-first, the "channels" would be time


def test_mvit_block_tuples_become_maps_without_the_class_token():
    model = tiny_mvit()
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad(), Probe(model, ["blocks.0", "blocks.1"], keep_raw=True) as probe:
        model(x)
    for name, grid, c in (("blocks.0", (2, 8, 8), 8), ("blocks.1", (2, 4, 4), 16)):
        tokens, thw = probe.raw[name]
        assert tuple(thw) == grid and tokens.shape == (2, 1 + 2 * grid[1] * grid[2], c)  # a class token leads
        manual = tokens[:, 1:].permute(0, 2, 1).reshape(2, c, *grid)
        assert probe[name].shape == (2, c, *grid)
        assert torch.equal(probe[name], manual)


def test_bare_token_sequence_with_a_grid():
    tokens = torch.randn(2, 1 + 2 * 3 * 4, 5)  # a class token, then a 2×3×4 grid of 5-channel tokens
    maps = as_maps(tokens, LayerLayout(grid=(2, 3, 4)))
    assert maps.shape == (2, 5, 2, 3, 4)
    assert torch.equal(maps[1, :, 1, 2, 3], tokens[1, 1 + (1 * 3 + 2) * 4 + 3])
    with pytest.raises(ValueError, match=r"known T×H×W grid.*\(2, 25, 5\)"):
        as_maps(tokens)
    with pytest.raises(ValueError, match="25 tokens cannot fill a 2×4×4 grid"):
        as_maps(tokens, LayerLayout(grid=(2, 4, 4)))


def test_2d_maps_get_one_time_step_and_bad_layers_are_named():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(2))
    x = torch.randn(2, 3, 6, 6)
    with torch.no_grad(), capture(model, ["0"]) as acts:
        out = model[0](x)
        model(x)
    assert acts["0"].shape == (2, 4, 1, 4, 4) and torch.equal(acts["0"][:, :, 0], out)
    with pytest.raises(ValueError, match="layer '1':.*shape \\(2, 4, 16\\)"), Probe(model, ["1"]):
        model(x)


def test_pre_activation_is_the_final_relus_input_and_stays_unrectified():
    torch.manual_seed(0)
    model = ConvBnRelu().eval()
    x = torch.randn(2, 3, 4, 8, 8)
    with torch.no_grad():
        bn_out = model.block[1](model.block[0](x))  # the final ReLU's input, computed by hand
        with Probe(model, ["block"], pre_activation=["block"]) as pre, Probe(model, ["block"]) as post:
            model(x)
    assert (bn_out < 0).any()
    assert torch.equal(pre["block"], bn_out)  # the in-place ReLU did not rectify what was kept
    assert torch.equal(post["block"], bn_out.clamp_min(0))
    assert pre_activation_layers(model, ["block"], (x,)) == {"block"}


def test_gradients_flow_to_the_input_through_recorded_outputs():
    torch.manual_seed(0)
    model = ConvBnRelu().eval().requires_grad_(False)
    x = torch.randn(1, 3, 4, 8, 8, requires_grad=True)
    with capture(model, ["block"], pre_activation=["block"]) as acts:
        model(x)
        acts["block"][:, 2].sum().backward()
    expected, = torch.autograd.grad(model.block[1](model.block[0](x))[:, 2].sum(), x)
    assert x.grad.abs().amax() > 0 and torch.allclose(x.grad, expected)


def test_leaf_takes_gradients_at_the_layer_and_stops_there(r3d):
    x = torch.randn(1, 3, 8, 56, 56, requires_grad=True)
    r3d.requires_grad_(False)
    with Probe(r3d, ["layer4"], leaf=True) as probe:
        logits = r3d(x)
    g, below = torch.autograd.grad(logits[0, 3], [probe.raw["layer4"], x], allow_unused=True)
    # by hand: layer4's output → pool → fc, so ∂logit/∂a is the fc row spread over the positions
    a = probe["layer4"]
    expected = r3d.fc.weight[3].view(1, -1, 1, 1, 1).expand_as(a) / a[0, 0].numel()
    assert torch.allclose(g, expected, atol=1e-7)
    assert below is None  # the pass below the layer is not part of the graph
    r3d.requires_grad_(True)


def test_batchnorm_inputs_are_recorded():
    torch.manual_seed(0)
    model = ConvBnRelu().eval()
    x = torch.randn(2, 3, 4, 8, 8)
    with torch.no_grad(), Probe(model, batchnorm_inputs=True) as probe:
        model(x)
        conv_out = model.block[0](x)
    assert list(probe.bn_inputs) == ["block.1"]
    assert torch.equal(probe.bn_inputs["block.1"], conv_out)


def test_hooks_are_removed_on_exit():
    torch.manual_seed(0)
    model = ConvBnRelu().eval()
    with torch.no_grad(), Probe(model, ["block", "head"], pre_activation=["block"], batchnorm_inputs=True) as probe:
        model(torch.randn(1, 3, 4, 8, 8))
    kept = {k: v.clone() for k, v in probe.outputs.items()}
    with torch.no_grad():
        model(torch.randn(1, 3, 4, 8, 8))
    assert all(torch.equal(probe[k], v) for k, v in kept.items())
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_modules_that_ran_in_finishing_order():
    model = ConvBnRelu().eval()
    ran = modules_that_ran(model, (torch.randn(1, 3, 4, 8, 8),))
    assert "unused" not in ran
    assert ran == ["block.0", "block.1", "block.2", "block", "head.0", "head.1", "head.2", "head"]
    five_d = modules_that_ran(model, (torch.randn(1, 3, 4, 8, 8),), lambda _n, out: out.dim() == 5)
    assert five_d == ["block.0", "block.1", "block.2", "block", "head.0"]
    seen = []
    with each_module(model, lambda name, *_: seen.append(name)):
        pass
    assert seen == [] and not any(m._forward_hooks for m in model.modules())
