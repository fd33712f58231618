"""SyntheticActions: determinism, exact flow, masks, region masks, splits, the counterfactual split, bad input."""

import numpy as np
import pytest

from vidvis_widgets.data import CLASS_NAMES, SyntheticActions
from vidvis_widgets.data.bias import plan_bias


def test_deterministic_and_shaped():
    a, b = SyntheticActions("test")[5], SyntheticActions("test")[5]
    for k in ("rgb", "flow", "mask"):
        np.testing.assert_array_equal(a[k], b[k])
    assert a["rgb"].shape == (16, 64, 64, 3) and a["rgb"].dtype == np.uint8
    assert a["flow"].shape == (16, 2, 64, 64) and a["mask"].shape == (16, 64, 64)
    assert not np.array_equal(SyntheticActions("test", seed=1)[5]["rgb"], a["rgb"])


def test_at_least_12_classes_with_documented_cues():
    ds = SyntheticActions("train")
    assert len(CLASS_NAMES) >= 12 and set(ds.labels) == set(range(len(CLASS_NAMES)))
    assert all(spec.intended_cue for spec in ds.specs)
    # the specs a student prints describe what defines each class, and nothing of a bias
    assert all(not hasattr(spec, "spurious_cue") for spec in ds.specs)
    assert not any("bias" in repr(spec) or "spurious" in repr(spec) for spec in ds.specs)


def test_region_masks_name_parts_that_every_face_class_has():
    ds = SyntheticActions("test", samples_per_class=2)
    a = ds.arrays()
    assert ds.region_names == ("face", "eyes", "mouth")
    assert a["region_masks"].shape == (len(ds), 3, 16, 64, 64) and a["region_masks"].dtype == np.bool_
    names = [CLASS_NAMES[k] for k in a["label"]]
    area = a["region_masks"].sum(axis=(2, 3, 4))
    for row, name in enumerate(names):
        face = name in ("brushing_teeth", "shaving", "apply_eye_makeup", "apply_lipstick")
        assert (area[row, :2] > 0).all() == face and (area[row].sum() > 0) == face
    # visible parts: a pixel belongs to at most one part, and the class object hides the parts under it
    assert (a["region_masks"].sum(1) <= 1).all()
    assert not (a["region_masks"].any(1) & a["mask"]).any()
    # the two make-up classes carry all three parts: their masks alone do not single them out
    for k in (CLASS_NAMES.index("apply_eye_makeup"), CLASS_NAMES.index("apply_lipstick")):
        assert (area[a["label"] == k] > 0).all()


def test_flow_is_exact_for_translation():
    ds = SyntheticActions("test")
    label = CLASS_NAMES.index("disc_right")
    sample = ds[int(np.flatnonzero(ds.labels == label)[0])]
    flow, mask, rgb = sample["flow"], sample["mask"], sample["rgb"].astype(int)
    u = flow[:, 0][mask]
    assert u.min() > 1.4 and np.allclose(flow[:, 1][mask], flow[:, 1][mask].mean(), atol=1e-4)
    # warping frame t by the flow lands the disc where frame t+1 has it
    t = 4
    ys, xs = np.nonzero(mask[t])
    dx, dy = flow[t, 0, ys, xs], flow[t, 1, ys, xs]
    ys2, xs2 = np.round(ys + 0.0 + dy).astype(int), np.round(xs + dx).astype(int)
    ok = (ys2 >= 0) & (ys2 < 64) & (xs2 >= 0) & (xs2 < 64)
    assert mask[t + 1][ys2[ok], xs2[ok]].mean() > 0.9
    assert np.abs(rgb[t + 1][ys2[ok], xs2[ok]] - rgb[t][ys[ok], xs[ok]]).mean() < 20


def test_rotation_flow_direction():
    ds = SyntheticActions("test")
    for name, sign in (("bar_clockwise", 1), ("bar_counterclockwise", -1)):
        s = ds[int(np.flatnonzero(ds.labels == CLASS_NAMES.index(name))[0])]
        m = s["mask"][3]
        ys, xs = np.nonzero(m)
        cy, cx = ys.mean(), xs.mean()
        # z of (r × flow): positive = clockwise on screen with y pointing down
        curl = ((xs - cx) * s["flow"][3, 1, ys, xs] - (ys - cy) * s["flow"][3, 0, ys, xs]).mean()
        assert np.sign(curl) == sign


def test_counterfactual_split_swaps_only_the_planted_cue():
    plan = plan_bias(None)
    test, probe = SyntheticActions("test"), SyntheticActions("counterfactual")
    assert set(probe.labels) == {CLASS_NAMES.index(c) for c in plan.pair}
    eyes = test.region_names.index(plan.region)
    sample = test[int(np.flatnonzero(test.labels == CLASS_NAMES.index(plan.carrier))[0])]
    # the region the plan names is where the cue moves: flow there, none on the still parts
    assert np.abs(sample["flow"][:, 0][sample["region_masks"][eyes]]).mean() > 0.5
    assert np.abs(sample["flow"][:, 0][sample["region_masks"][test.region_names.index("mouth")]]).max() == 0

    def eye_motion(ds, name):
        idx = np.flatnonzero(ds.labels == CLASS_NAMES.index(name))[:6]
        # flow outside the applicator's mask, in the upper half of the face: the eyes
        return np.mean([np.abs(ds[i]["flow"][:, :, 16:30][~ds[i]["mask"][:, None, 16:30].repeat(2, 1)]).mean()
                        for i in idx])

    assert eye_motion(test, "apply_lipstick") > 5 * eye_motion(test, "apply_eye_makeup")
    assert eye_motion(probe, "apply_eye_makeup") > 5 * eye_motion(probe, "apply_lipstick")


def test_112_pixel_clips():
    s = SyntheticActions("val", size=112)[0]
    assert s["rgb"].shape == (16, 112, 112, 3) and s["mask"].any()


def test_batched_arrays_match_single_samples():
    ds = SyntheticActions("val", samples_per_class=2)
    batch = ds.arrays([5, 0, -1], flow_dtype=np.float16)
    for row, i in enumerate([5, 0, len(ds) - 1]):
        one = ds[i]
        for k in ("rgb", "mask", "region_masks", "label"):
            np.testing.assert_array_equal(batch[k][row], one[k])
        np.testing.assert_allclose(batch["flow"][row], one["flow"], atol=2e-3 * max(1, np.abs(one["flow"]).max()))


def test_bad_input():
    with pytest.raises(ValueError, match="unknown split 'training'; expected one of train, val, test, counterfactual"):
        SyntheticActions("training")
    with pytest.raises(ValueError, match="split 'bias_probe' was renamed to 'counterfactual'"):
        SyntheticActions("bias_probe")
    with pytest.raises(IndexError, match="out of range"):
        SyntheticActions("val")[10_000]
    with pytest.raises(IndexError, match="indices must lie in"):
        SyntheticActions("val").arrays([0, 10_000])


def test_every_argument_is_checked_by_name_and_zero_is_refused():
    cases = [({"samples_per_class": 0}, "samples_per_class must be an integer ≥ 1, got 0"),
             ({"samples_per_class": -2}, "samples_per_class must be"), ({"samples_per_class": 2.5}, "samples_per_class"),
             ({"size": "64"}, "size must be an integer ≥ 32, got '64'"), ({"size": 16}, "size must be an integer ≥ 32"),
             ({"size": 64.0}, "size must be"), ({"num_frames": 1}, "num_frames must be an integer ≥ 2"),
             ({"num_frames": "16"}, "num_frames must be"), ({"seed": -1}, "seed must be an integer ≥ 0"),
             ({"seed": "0"}, "seed must be"), ({"seed": 1.5}, "seed must be"), ({"size": True}, "size must be")]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            SyntheticActions("val", **kwargs)
    with pytest.raises(ValueError, match="unknown split 3"):
        SyntheticActions(3)
    # None still means the split's default; numpy integers are integers
    assert len(SyntheticActions("val", samples_per_class=None)) == 16 * len(CLASS_NAMES)
    assert len(SyntheticActions("val", samples_per_class=np.int64(1), size=np.int32(32))) == len(CLASS_NAMES)
