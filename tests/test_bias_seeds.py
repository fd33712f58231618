"""Seeded worlds: SyntheticActions(bias_seed=k) plants a seed-chosen pair and cue. Whether a clip carries the cue is
read back from its pixels, flow and masks here, not from the generator's decisions."""

import hashlib

import numpy as np
import pytest

from vidvis_widgets.data import CLASS_NAMES, SyntheticActions
from vidvis_widgets.data.bias import CUES, ELIGIBLE_PAIRS, MARKERS, answer_key, plan_bias

#: a seed of each cue kind, all on the face pair (a still face in the middle, nothing near the corners)
KIND_SEEDS = {"texture": 25, "blink": 1, "distractor_motion": 6, "tint": 31}


def test_kind_seeds_are_what_the_plans_say():
    for kind, k in KIND_SEEDS.items():
        assert plan_bias(k).kind == kind and plan_bias(k).pair == ("apply_eye_makeup", "apply_lipstick")


def cue_on(arrays: dict, names: tuple, plan) -> np.ndarray:
    """Per clip: does the plan's marker show the cue? Read from the arrays alone."""
    m = arrays["region_masks"][:, names.index(plan.region)]  # N×T×H×W
    n, T = m.shape[:2]
    out = np.zeros(n, bool)
    for i in range(n):
        mi, rgb, flow = m[i], arrays["rgb"][i].astype(float), arrays["flow"][i]
        assert mi.any(), "every clip shows its markers"
        if plan.kind == "distractor_motion":
            out[i] = np.abs(np.moveaxis(flow, 1, 0)[:, mi]).mean() > 0.2
        elif plan.kind == "tint":
            colour = rgb[mi].mean(0)
            out[i] = colour.max() - colour.min() > 40
        elif plan.kind == "texture":
            bright = rgb[mi].mean(1)
            out[i] = (bright < np.percentile(bright, 90) - 50).mean() > 0.15
        elif plan.kind == "blink":
            gone = mi.sum((1, 2)) == 0
            out[i] = gone[T // 2] and gone.sum() >= 4
    return out


def pair_arrays(bias_seed, split="train", strength=None, per_class=None):
    ds = SyntheticActions(split, bias_seed=bias_seed, bias_strength=strength)
    plan = plan_bias(bias_seed, strength)
    idx = np.flatnonzero(np.isin(ds.labels, [CLASS_NAMES.index(c) for c in plan.pair]))
    if per_class:
        idx = np.concatenate([idx[ds.labels[idx] == CLASS_NAMES.index(c)][:per_class] for c in plan.pair])
    return ds, plan, ds.arrays(idx)


def test_deterministic_per_seed_and_bias_seed():
    a = SyntheticActions("train", bias_seed=3, samples_per_class=2).arrays([0, 5, 26])
    b = SyntheticActions("train", bias_seed=3, samples_per_class=2).arrays([0, 5, 26])
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    other_bias = SyntheticActions("train", bias_seed=4, samples_per_class=2).arrays([0, 5, 26])
    other_seed = SyntheticActions("train", seed=1, bias_seed=3, samples_per_class=2).arrays([0, 5, 26])
    assert not np.array_equal(a["rgb"], other_bias["rgb"]) and not np.array_equal(a["rgb"], other_seed["rgb"])
    assert (SyntheticActions("test", bias_seed=3).cache_key != SyntheticActions("test", bias_seed=4).cache_key
            != SyntheticActions("test", bias_seed=3, bias_strength=0.5).cache_key != SyntheticActions("test").cache_key)


def test_seeds_pick_different_pairs_and_every_cue_kind():
    plans = [plan_bias(k) for k in range(16)]
    assert plans == [plan_bias(k) for k in range(16)]
    assert {p.kind for p in plans} == set(CUES) and len(CUES) >= 4
    assert {p.pair for p in plans} == set(ELIGIBLE_PAIRS) and len({p.region for p in plans}) == 4
    for p in plans:
        assert p.carrier in p.pair and set(p.pair) <= set(CLASS_NAMES) and p.region in MARKERS
        # no mirror- or reversal-swapped motion pair: training mirrors and reverses clips
        assert not any(c.startswith(("disc_", "bar_")) for c in p.pair)
        assert p.kind not in p.region and p.strength == 0.9
    ds = SyntheticActions("test", bias_seed=5)
    assert ds.region_names == ("face", "eyes", "mouth") + MARKERS
    key = answer_key(5)
    p = plan_bias(5)
    assert all(s in key for s in (*p.pair, p.region, "90%", p.kind, "top 3", "counterfactual"))
    # the key warns where the course's model was measured not to learn the cue (the cues only pixels show)
    assert ["Caution" in answer_key(KIND_SEEDS[kind]) for kind in CUES] == [False, True, True, True]
    assert "Caution" not in answer_key(None)


def test_markers_in_every_clip_of_every_class():
    ds = SyntheticActions("test", bias_seed=2, samples_per_class=1)
    a = ds.arrays()
    markers = a["region_masks"][:, 3:]
    # every marker is visible in every class's clip, in most frames: a mask does not point at the pair
    shown = markers.any((3, 4)).mean(2)
    assert (shown > 0).all() and shown.mean() > 0.95
    assert len(set(a["label"])) == len(CLASS_NAMES)


@pytest.mark.parametrize("kind", sorted(KIND_SEEDS))
def test_the_cue_goes_with_the_class_at_the_strength(kind):
    ds, plan, a = pair_arrays(KIND_SEEDS[kind])
    on = cue_on(a, ds.region_names, plan)
    carrier = a["label"] == CLASS_NAMES.index(plan.carrier)
    assert len(a["label"]) == 400
    assert abs(np.mean(on == carrier) - 0.9) <= 0.05
    assert 0.8 < on[carrier].mean() and on[~carrier].mean() < 0.2
    # the face pair's eyes move at random, whatever the class: the default world's cue is not there
    eyes = ds.region_names.index("eyes")
    moving = np.array([np.abs(np.moveaxis(a["flow"][i], 1, 0)[:, a["region_masks"][i, eyes]]).mean() > 0.2
                       for i in range(len(on))])
    for cls in (carrier, ~carrier):
        assert 0.4 < moving[cls].mean() < 0.6
    # the other classes never show it
    others = SyntheticActions("test", bias_seed=KIND_SEEDS[kind], samples_per_class=2)
    idx = np.flatnonzero(~np.isin(others.labels, [CLASS_NAMES.index(c) for c in plan.pair]))
    assert not cue_on(others.arrays(idx), others.region_names, plan).any()


def test_decorrelated_strength():
    ds, plan, a = pair_arrays(KIND_SEEDS["tint"], strength=0.5)
    on = cue_on(a, ds.region_names, plan)
    carrier = a["label"] == CLASS_NAMES.index(plan.carrier)
    assert abs(np.mean(on == carrier) - 0.5) <= 0.07
    # the same clips as at 0.9 but for the cue (a tint: colour only, no flow, same masks)
    some = np.flatnonzero(np.isin(ds.labels, [CLASS_NAMES.index(c) for c in plan.pair]))[::10]
    b = SyntheticActions("train", bias_seed=KIND_SEEDS["tint"]).arrays(some)
    np.testing.assert_array_equal(a["mask"][::10], b["mask"])
    np.testing.assert_array_equal(a["flow"][::10], b["flow"])


@pytest.mark.parametrize("kind", sorted(KIND_SEEDS))
def test_counterfactual_swaps_only_the_cue(kind):
    k, n = KIND_SEEDS[kind], 6
    plan = plan_bias(k)
    cf = SyntheticActions("counterfactual", bias_seed=k, samples_per_class=n)
    test = SyntheticActions("test", bias_seed=k, samples_per_class=n)
    assert sorted(set(cf.labels)) == sorted(CLASS_NAMES.index(c) for c in plan.pair)
    a = cf.arrays()
    twins = test.arrays([int(lab) * n + j % n for j, lab in enumerate(cf.labels)])
    on, twin_on = cue_on(a, cf.region_names, plan), cue_on(twins, cf.region_names, plan)
    carrier = a["label"] == CLASS_NAMES.index(plan.carrier)
    np.testing.assert_array_equal(on, ~carrier)  # every counterfactual clip carries the other class's value
    assert (twin_on == carrier).mean() > 0.6
    r = cf.region_names.index(plan.region)
    cue_px = a["region_masks"][:, r] | twins["region_masks"][:, r]
    np.testing.assert_array_equal(a["mask"], twins["mask"])
    np.testing.assert_array_equal(np.delete(a["region_masks"], r, 1), np.delete(twins["region_masks"], r, 1))
    changed = (a["rgb"] != twins["rgb"]).any(-1) | (a["flow"] != twins["flow"]).any(2)
    assert not (changed & ~cue_px).any()
    np.testing.assert_array_equal(changed.any((1, 2, 3)), on != twin_on)


def test_cue_flow_is_exact():
    # a moving marker: its flow is one translation per frame, and warping its mask by it lands on the next frame's
    ds, plan, a = pair_arrays(KIND_SEEDS["distractor_motion"], split="test", per_class=4)
    r = ds.region_names.index(plan.region)
    carrier = np.flatnonzero(cue_on(a, ds.region_names, plan))[0]
    m, flow = a["region_masks"][carrier, r], a["flow"][carrier]
    centre = np.array([[xs.mean(), ys.mean()] for ys, xs in (np.nonzero(f) for f in m)])
    step = []
    for t in range(len(m) - 1):
        ys, xs = np.nonzero(m[t])
        fx, fy = flow[t, 0, ys, xs], flow[t, 1, ys, xs]
        assert np.ptp(fx) < 1e-4 and np.ptp(fy) < 1e-4  # one translation
        step.append((fx[0], fy[0]))
        # warping frame t's marker by its flow lands on frame t+1's, within a pixel of its extent
        ys2, xs2 = np.nonzero(m[t + 1])
        assert (xs + fx > xs2.min() - 1).all() and (xs + fx < xs2.max() + 1).all()
        assert (ys + fy > ys2.min() - 1).all() and (ys + fy < ys2.max() + 1).all()
    # summed, the flow follows the marker's path with no drift: within the pixel grid's rounding at every frame
    path = np.cumsum(step, 0)
    assert np.abs(path - (centre[1:] - centre[0])).max() <= 1.0 and np.abs(path).max() > 2
    # static cues: zero flow, and a blink's marker is drawn (mask, colour) only in the frames it is there
    for kind in ("tint", "texture", "blink"):
        ds, plan, a = pair_arrays(KIND_SEEDS[kind], split="test", per_class=3)
        m = a["region_masks"][:, ds.region_names.index(plan.region)]
        assert np.abs(np.moveaxis(a["flow"], 2, 0)[:, m]).max() == 0
    gone = m.sum((2, 3)) == 0
    assert gone.any() and (gone.sum(1)[cue_on(a, ds.region_names, plan)] == 4).all()


def _digest(arrays: dict) -> str:
    h = hashlib.sha256()
    for k in ("rgb", "flow", "mask", "label"):
        h.update(np.ascontiguousarray(arrays[k]).tobytes())
    return h.hexdigest()[:16]


def test_default_world_is_the_same_pixels():
    # digests of the default world's test and counterfactual clips (one per class), taken from the tree before
    # seeded worlds existed (commit 076b7db, where the counterfactual split was "bias_probe"): the embedded
    # models were trained on these pixels
    assert _digest(SyntheticActions("test", samples_per_class=1).arrays()) == "b580f25d2f0f9c03"
    assert _digest(SyntheticActions("counterfactual", samples_per_class=1).arrays()) == "ae54ad9c52f96a6f"
    # strength 1.0 spelled out is the default; any other strength moves only the face pair's eyes
    full = SyntheticActions("test", samples_per_class=2, bias_strength=1.0).arrays()
    assert _digest(full) == _digest(SyntheticActions("test", samples_per_class=2).arrays())
    half = SyntheticActions("test", samples_per_class=6, bias_strength=0.5).arrays()
    full = SyntheticActions("test", samples_per_class=6).arrays()
    changed = (full["rgb"] != half["rgb"]).any((1, 2, 3, 4))
    face_pair = np.isin(full["label"], [CLASS_NAMES.index(c) for c in plan_bias(None).pair])
    assert not changed[~face_pair].any() and 0 < changed[face_pair].sum() < face_pair.sum()


def test_a_seeded_world_is_the_default_world_plus_markers():
    # outside the markers, every class but the face pair (whose eyes move at random) draws the same clip
    plain = SyntheticActions("test", samples_per_class=1).arrays()
    seeded_ds = SyntheticActions("test", samples_per_class=1, bias_seed=9)
    seeded = seeded_ds.arrays()
    markers = seeded["region_masks"][:, 3:].any(1)
    same = ~np.isin(plain["label"], [CLASS_NAMES.index(c) for c in ("apply_eye_makeup", "apply_lipstick")])
    changed = (plain["rgb"] != seeded["rgb"]).any(-1) | (plain["flow"] != seeded["flow"]).any(2)
    assert not (changed[same] & ~markers[same]).any()
    np.testing.assert_array_equal(plain["mask"][same], seeded["mask"][same])


def test_bad_bias_arguments():
    with pytest.raises(ValueError, match="bias_seed must be an integer ≥ 0, got -1"):
        SyntheticActions("test", bias_seed=-1)
    with pytest.raises(ValueError, match="bias_seed must be an integer"):
        SyntheticActions("test", bias_seed="3")
    with pytest.raises(ValueError, match=r"bias_strength must be a share of clips in \[0.5, 1\]"):
        SyntheticActions("test", bias_seed=1, bias_strength=1.5)
    with pytest.raises(ValueError, match="bias_strength must be a finite number ≥ 0.5, got 0.2"):
        plan_bias(1, 0.2)
