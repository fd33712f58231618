"""The one-pass response statistics against every activation computed in full."""

import numpy as np
import pytest
import torch

from vidvis_widgets.data.synthetic import SyntheticActions
from vidvis_widgets.methods.activation_maximization.response_statistics import response_statistics
from vidvis_widgets.models import load_model

LAYERS = ("conv5_fusion", "fc8")


@pytest.fixture(scope="module")
def model():
    return load_model("tiny_two_stream")


@pytest.fixture(scope="module")
def small():
    return SyntheticActions("val", samples_per_class=3)


def full_responses(model, arrays):
    """Every activation of every video at once, reduced the slow, obvious way."""
    info = model.vidvis_adapter
    out = {}
    hooks = [dict(model.named_modules())[l].register_forward_hook(
        lambda m, i, o, l=l: out.__setitem__(l, o.detach())) for l in LAYERS]
    with torch.no_grad():
        model(*info.prepare(arrays))
    for h in hooks:
        h.remove()
    # the symmetric two-stream net runs its four views on the batch axis, the clips themselves first
    n = len(arrays["label"])
    return {l: (a if a.dim() == 2 else a.amax(dim=(2, 3)))[:n].numpy() for l, a in out.items()}


def test_one_pass_matches_full_activations(model, small):
    arrays = small.arrays()
    full = full_responses(model, arrays)
    labels = arrays["label"]
    # batch 5 does not divide 42 videos, so running maxima and top-k cross uneven batch edges
    stats = response_statistics(model, small, LAYERS, batch_size=5, top_k=4, class_top_k=2, num_workers=2)
    assert stats.num_videos == len(labels) and stats.class_counts.tolist() == [3] * 14
    for l in LAYERS:
        r = full[l]
        np.testing.assert_allclose(stats.activation_max[l], r.max(0), rtol=1e-5, atol=1e-5)
        per_class = np.stack([r[labels == k].max(0) for k in range(14)])
        np.testing.assert_allclose(stats.class_max[l], per_class, rtol=1e-5, atol=1e-5)
        order = np.argsort(-r, axis=0, kind="stable")[:4]
        np.testing.assert_allclose(stats.top_values[l], np.take_along_axis(r, order, 0), rtol=1e-5, atol=1e-5)
        # positions may differ only between exactly tied responses
        picked = np.take_along_axis(r, stats.top_indices[l], 0)
        np.testing.assert_allclose(picked, stats.top_values[l], rtol=1e-5, atol=1e-5)
        for k in range(14):  # per class: the class's own best two videos, across batch edges
            rows = np.flatnonzero(labels == k)
            best = rows[np.argsort(-r[rows], axis=0, kind="stable")[:2]]
            np.testing.assert_allclose(stats.class_top_values[l][k], np.take_along_axis(r, best, 0), rtol=1e-5,
                                       atol=1e-5)
            assert set(np.unique(stats.class_top_indices[l][k])) <= set(rows)
    unit = int(np.argmax(full["fc8"][:, 1]))
    assert [i for i, _ in stats.class_top_videos("fc8", 1, "disc_left")][0] == unit
    assert stats.top_videos("fc8", 1)[0][0] == unit
    assert stats.unit_class_max("fc8", 1).shape == (14,)


def test_worker_processes_and_in_memory_arrays_agree(model, small):
    a = response_statistics(model, small, "fc7", batch_size=8, num_workers=2)
    b = response_statistics(model, small.arrays(), "fc7", batch_size=8)
    np.testing.assert_array_equal(a.class_max["fc7"], b.class_max["fc7"])
    np.testing.assert_array_equal(a.top_indices["fc7"], b.top_indices["fc7"])


def test_sum_reduction_is_the_activation_maximization_quantity(model, small):
    arrays = small.arrays(range(6))
    stats = response_statistics(model, arrays, "conv5_fusion", reduce="sum")
    out = {}
    h = model.conv5_fusion.register_forward_hook(lambda m, i, o: out.__setitem__("a", o))
    with torch.no_grad():
        model(*model.vidvis_adapter.prepare(arrays))
    h.remove()
    np.testing.assert_allclose(stats.activation_max["conv5_fusion"], out["a"][:6].sum((2, 3)).max(0).values.numpy(),
                               rtol=1e-5)


def test_classes_without_videos_are_nan_and_asking_for_them_says_so(model):
    probe = SyntheticActions("counterfactual", samples_per_class=2)
    stats = response_statistics(model, probe, "fc8", num_workers=0)
    present = stats.class_counts > 0
    assert present.sum() == 2 and np.isnan(stats.class_max["fc8"][~present]).all()
    with pytest.raises(ValueError, match="has no videos"):
        stats.class_index("disc_right")
    assert stats.class_index("apply_lipstick") == 13


def test_bad_input_is_named(model, small):
    arrays = small.arrays(range(4))
    with pytest.raises(ValueError, match="outside the model's 14 classes"):
        response_statistics(model, {**arrays, "label": np.array([0, 1, 14, 2])}, "fc8")
    with pytest.raises(ValueError, match="empty"):
        response_statistics(model, {k: v[:0] for k, v in arrays.items()}, "fc8")
    with pytest.raises(ValueError, match="unknown layer"):
        response_statistics(model, arrays, "conv9")
    with pytest.raises(ValueError, match="do not match the model's"):
        response_statistics(load_model("tiny_two_stream", weights=None), _Renamed(small), "fc8")
    stats = response_statistics(model, arrays, "fc8")
    with pytest.raises(IndexError, match="has 14 units"):
        stats.top_videos("fc8", 20)


class _Renamed:
    def __init__(self, ds):
        self.ds, self.classes = ds, tuple(reversed(ds.classes))

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        return self.ds[i]


def test_stored_statistics_are_reused_not_recomputed(model, small, tmp_path, monkeypatch):
    import importlib

    module = importlib.import_module("vidvis_widgets.methods.activation_maximization.response_statistics")
    from vidvis_widgets.store import ResultStore

    store = ResultStore(tmp_path)
    first = response_statistics(model, small, LAYERS, store=store, num_workers=0)
    calls = []
    real_batches = module.batches
    monkeypatch.setattr(module, "batches", lambda *a, **k: calls.append(1) or real_batches(*a, **k))
    again = response_statistics(model, small, LAYERS, store=store, num_workers=0)
    assert calls == [] and again.layers == first.layers and again.classes == first.classes
    for l in LAYERS:
        np.testing.assert_array_equal(again.class_max[l], first.class_max[l])
        np.testing.assert_array_equal(again.top_indices[l], first.top_indices[l])
    response_statistics(model, small, LAYERS, store=store, num_workers=0, top_k=3)  # other settings: a new pass
    assert calls == [1] and len(store) == 2


def test_float_rgb_in_0_1_gives_the_statistics_of_uint8(model, small):
    """The same clips as uint8 0–255 and as floats in [0, 1], batched (N×T×H×W×3) or one clip (T×H×W×3)."""
    arrays = small.arrays(range(0, 42, 3))
    as_float = {**arrays, "rgb": arrays["rgb"].astype(np.float32) / 255}
    for m, layers in ((model, LAYERS), (load_model("tiny_r3d"), ("layer4", "fc"))):
        ints = response_statistics(m, arrays, layers, batch_size=5)
        floats = response_statistics(m, as_float, layers, batch_size=5)
        for l in layers:
            np.testing.assert_allclose(floats.activation_max[l], ints.activation_max[l], rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(floats.class_max[l], ints.class_max[l], rtol=1e-5, atol=1e-5)
        info = m.vidvis_adapter
        for batch in (arrays, as_float):
            one = {"rgb": batch["rgb"][4], "flow": batch["flow"][4]}
            for a, b in zip(info.prepare(one), info.prepare(arrays)):
                torch.testing.assert_close(a[0], b[4], rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match=r"rgb has float values in \[0, 255\]; expected N×T×H×W×3 .*float in "
                                         r"\[0, 1\] \(divide 0–255 floats by 255"):
        response_statistics(model, {**arrays, "rgb": arrays["rgb"].astype(np.float32)}, "fc8")
    with pytest.raises(ValueError, match=r"rgb must be N×T×H×W×3 \(or one clip T×H×W×3\), channels last, uint8 "
                                         r"\(0–255\) or float in \[0, 1\]; got shape \(14, 16, 3, 64, 64\)"):
        response_statistics(model, {**arrays, "rgb": arrays["rgb"].transpose(0, 1, 4, 2, 3)}, "fc8")


def test_non_finite_flow_or_rgb_names_the_video(model, small):
    arrays = small.arrays(range(6))
    flow = arrays["flow"].copy()
    flow[3, 8, 0, 10, 10] = np.nan  # inside the motion stream's 10-frame window
    # batches of 2: video 3 is the second of the second batch, so the message must count across batches
    with pytest.raises(ValueError, match=r"flow of video 3 contains NaN or infinite values"):
        response_statistics(model, {**arrays, "flow": flow}, LAYERS, batch_size=2)
    rgb = arrays["rgb"].astype(np.float32) / 255
    rgb[5, 8, 1, 1, 0] = np.inf
    with pytest.raises(ValueError, match=r"rgb of video 5 contains NaN or infinite values"):
        response_statistics(load_model("tiny_r3d"), {**arrays, "rgb": rgb}, "fc", batch_size=2)
