"""SyntheticActions: determinism, exact flow, masks, splits, the planted bias, bad input."""

import numpy as np
import pytest

from vidvis_widgets.data import BIASED_PAIR, CLASS_NAMES, SyntheticActions


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
    assert [s.name for s in ds.specs if s.spurious_cue] == list(BIASED_PAIR)


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


def test_bias_probe_swaps_only_the_spurious_cue():
    test, probe = SyntheticActions("test"), SyntheticActions("bias_probe")
    assert set(probe.labels) == {CLASS_NAMES.index(c) for c in BIASED_PAIR}

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
        for k in ("rgb", "mask", "label"):
            np.testing.assert_array_equal(batch[k][row], one[k])
        np.testing.assert_allclose(batch["flow"][row], one["flow"], atol=2e-3 * max(1, np.abs(one["flow"]).max()))


def test_bad_input():
    with pytest.raises(ValueError, match="unknown split 'training'; expected one of train, val, test, bias_probe"):
        SyntheticActions("training")
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
