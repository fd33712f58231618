"""The occlusion numbers of interventions against Captum's: ``Occlusion`` over grid cells and ``FeatureAblation``
with a feature mask of region ids, on the same regions, to 1e-5 — on a one-stream model with a library's default
head (torchvision's VideoResNet, from the model matrix's builder) and on the two-stream model (tuple inputs, the
regions ablated in both streams at once)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import FeatureAblation, Occlusion

from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.data.bias import plan_bias
from vidvis_widgets.methods.core import regions as R
from vidvis_widgets.methods.interventions import Interventions, occlude
from vidvis_widgets.models import load_model

from .test_model_matrix import _build, _clips


#: this module's passes on one thread (batches of different sizes then sum alike); the rest of the run keeps its own
pytestmark = pytest.mark.usefixtures("one_thread")


TOL = 1e-5


@pytest.fixture(scope="module")
def r3d():
    return _build("r3d")  # 8 frames of 32², 5 classes, torchvision's stem → stages → pool → fc


def _forward(model):
    adapter = model.vidvis_adapter
    return lambda *args: adapter.call(model, args)


def _drops(res, v: int) -> torch.Tensor:
    """Each clip's logit drop under variant v, N×K: what Captum attributes to the variant's region."""
    return torch.as_tensor(res.before - res.after[:, v])


def test_occlude_over_grid_cells_equals_captums_occlusion(r3d):
    rgb = _clips(r3d, n=2, seed=3)
    fill = (128, 64, 200)
    res = Interventions(r3d)(inputs={"rgb": rgb, "label": np.zeros(2, np.int64)}, regions=R.grid_cells(4, 4),
                             edits=occlude(fill), exemplars=0)
    adapter = r3d.vidvis_adapter
    x, = adapter.pixel_args(torch.as_tensor(rgb), None, "cpu")
    mean, std = adapter.stats("cpu")
    base = ((torch.tensor(fill).view(1, 3, 1, 1, 1) / 255.0 - mean) / std).expand_as(x).contiguous()
    occ = Occlusion(_forward(r3d))
    t = x.shape[2]
    for k in (0, adapter.num_classes - 1):  # two classes' logits (Captum attributes one target per pass)
        attr = occ.attribute(x, sliding_window_shapes=(3, t, 8, 8), strides=(3, t, 8, 8), baselines=base, target=k,
                             perturbations_per_eval=16)
        for v in range(16):  # cell r<i> c<j> is rows 8i–8i+7, columns 8j–8j+7
            i, j = divmod(v, 4)
            cell = attr[:, :, :, 8 * i:8 * i + 8, 8 * j:8 * j + 8]
            want = _drops(res, v)[:, k].view(2, 1, 1, 1, 1).float()
            torch.testing.assert_close(cell, want.expand_as(cell), atol=TOL, rtol=0)
    assert (res.before != res.after.max(1)).any()  # the cells did move the logits


def test_occlude_over_any_regions_equals_captums_feature_ablation(r3d):
    rgb = _clips(r3d, n=2, seed=4)
    t, h, w = r3d.vidvis_adapter.native_shape
    ids = np.full((t, h, w), 3)
    ids[:, 3:20, 2:14] = 0  # a box
    for f in range(t):  # a box moving right
        ids[f, 2:10, 16 + f:24 + f] = 1
    blob = np.random.default_rng(0).random((t, h, w)) < 0.2
    ids[blob & (ids == 3)] = 2  # scattered pixels, changing every frame
    regions = [R.box(2, 3, 14, 20, "box", size=(h, w)), R.track([(16 + f, 2, 24 + f, 10) for f in range(t)], "track",
                                                                  size=(h, w)), R.mask(ids == 2, "blob")]
    for r, name in enumerate(("box", "track", "blob")):  # the regions are those ids
        assert np.array_equal(regions[r].masks(1, t, h, w)[0], ids == r), name
    res = Interventions(r3d)(inputs={"rgb": rgb, "label": np.zeros(2, np.int64)}, regions=regions, edits="occlude",
                             exemplars=0)
    adapter = r3d.vidvis_adapter
    x, = adapter.pixel_args(torch.as_tensor(rgb), None, "cpu")
    colour = torch.as_tensor(rgb).float().div(255).mean((1, 2, 3))  # each clip's mean colour
    mean, std = adapter.stats("cpu")
    base = ((colour.view(2, 3, 1, 1, 1) - mean) / std).expand_as(x).contiguous()
    fa = FeatureAblation(_forward(r3d))
    mask = torch.as_tensor(ids)[None, None]
    for k in range(adapter.num_classes):
        attr = fa.attribute(x, baselines=base, target=k, feature_mask=mask, perturbations_per_eval=4)
        for r in range(3):
            got = attr[:, 0][:, torch.as_tensor(ids == r)]  # N × pixels of the region
            torch.testing.assert_close(got, _drops(res, r)[:, k:k + 1].float().expand_as(got), atol=TOL, rtol=0)


def test_two_stream_occlusion_equals_feature_ablation_of_both_streams():
    model = load_model("tiny_two_stream")
    adapter = model.vidvis_adapter
    ds = SyntheticActions("test")
    names = ds.classes
    pair = plan_bias(None).pair  # a face pair: its clips have every named part
    pick = [int(np.flatnonzero(ds.labels == names.index(c))[0]) for c in pair]
    a = ds.arrays(pick)
    parts = ds.region_names[:2]
    first, second = (a["region_masks"][:, ds.region_names.index(p)] for p in parts)
    ids = np.full(first.shape, 3)  # N×T×H×W: 0 and 1 two named parts, 2 the class object, 3 the rest
    ids[a["mask"]] = 2
    ids[second] = 1
    ids[first] = 0
    assert all((ids == r).any() for r in range(3))
    regions = [R.mask(ids == r, name) for r, name in enumerate((*parts, "object"))] + R.grid_cells(2, 2)
    res = Interventions(model)(inputs=a, regions=regions, edits=occlude((0, 0, 0)), exemplars=0)
    window, frame = adapter.flow_window, adapter.rgb_frame
    fa = FeatureAblation(_forward(model))
    mean, std = adapter.stats("cpu")
    for n in range(2):  # Captum's feature masks are shared by a batch: one clip at a time
        rgb_in, flow_in = adapter.pixel_args(torch.as_tensor(a["rgb"][n:n + 1]), torch.as_tensor(a["flow"][n:n + 1]), "cpu")
        black = ((0 - mean[:, :, 0]) / std[:, :, 0]).expand_as(rgb_in).contiguous()
        own = torch.as_tensor(ids[n])
        cells = torch.as_tensor(np.repeat(np.repeat(np.arange(4).reshape(2, 2), 32, 0), 32, 1))
        for masks, first in (((own[frame][None, None], own[window].repeat_interleave(2, 0)[None]), 0),
                             ((cells[None, None], cells[None, None].expand(1, flow_in.shape[1], 64, 64)), 3)):
            for k in (names.index(pair[0]), names.index(pair[1])):
                attr_rgb, attr_flow = fa.attribute((rgb_in, flow_in), baselines=(black, 0.0), target=k,
                                                   feature_mask=masks, perturbations_per_eval=4)
                for r in range(int(masks[0].max()) + 1 if first == 3 else 3):
                    want = float(_drops(res, first + r)[n, k])
                    for attr, m in ((attr_rgb, masks[0]), (attr_flow, masks[1])):
                        got = attr[0][(m[0] == r).expand_as(attr[0])]
                        if len(got):
                            torch.testing.assert_close(got, torch.full_like(got, want), atol=TOL, rtol=0)
    assert np.abs(res.before[:, None] - res.after).max() > 0.1  # the regions do move the logits
