"""Interventions: the edits and their flow against the generator's exact flow and an independent numpy loop, Stop,
the result store, save/load, refusals before any pass, a folder of real videos, and the three checks a student made
by hand on the embedded model (now one call each)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from scipy import ndimage

from vidvis_widgets.data import SyntheticActions, VideoFolder
from vidvis_widgets.data.bias import plan_bias
from vidvis_widgets.methods import load
from vidvis_widgets.methods.core import regions as R
from vidvis_widgets.methods.interventions import (InterventionResults, Interventions, blur, freeze, intervene,
                                                  occlude, paste)
from vidvis_widgets.models import evaluate, load_model
from vidvis_widgets.models.evaluation import predict
from vidvis_widgets.store import ResultStore

from .test_method_store import Forwards


#: this module's passes on one thread (batches of different sizes then sum alike); the rest of the run keeps its own
pytestmark = pytest.mark.usefixtures("one_thread")


#: the embedded world's face pair, the class its cue goes with, the other one, and the part where the cue is drawn
PLAN = plan_bias(None)
PAIR, CARRIER, PART = PLAN.pair, PLAN.carrier, PLAN.region
OTHER = PAIR[1] if CARRIER == PAIR[0] else PAIR[0]


@pytest.fixture(scope="module")
def two_stream():
    return load_model("tiny_two_stream")


@pytest.fixture(scope="module")
def test_split():
    return SyntheticActions("test")


@pytest.fixture(scope="module")
def pair_arrays(test_split):
    """The test split's clips of one face pair: 30 of each class."""
    names = test_split.classes
    idx = np.flatnonzero(np.isin(test_split.labels, [names.index(c) for c in PAIR]))
    return test_split.arrays(idx)


def _part(ds, arrays, name: str) -> R.Region:
    return R.mask(arrays["region_masks"][:, ds.region_names.index(name)], name)


def _moving_square(t=16, s=64):
    """A clip with a 6-px square moving right 1 px/frame inside the box x 8–40, y 8–24 (all of its path), and a disc
    moving down elsewhere, with their exact flow."""
    rgb = np.full((t, s, s, 3), 90, np.uint8)
    flow = np.zeros((t, 2, s, s), np.float32)
    yy, xx = np.mgrid[:s, :s]
    for f in range(t):
        x0 = 12 + f
        rgb[f, 12:18, x0:x0 + 6] = (240, 40, 40)
        flow[f, 0, 12:18, x0:x0 + 6] = 1.0
        disc = (yy - (30 + 1.5 * f)) ** 2 + (xx - 52) ** 2 < 16
        rgb[f][disc] = (30, 200, 60)
        flow[f, 1][disc] = 1.5
    return rgb, flow


def test_freezing_a_box_that_holds_a_moving_object_stills_its_flow_and_keeps_the_rest(two_stream):
    rgb, flow = _moving_square()
    arrays = {"rgb": rgb[None], "flow": flow[None], "label": np.array([0])}
    res = Interventions(two_stream)(inputs=arrays, regions=R.box(8, 8, 40, 24, "the square's path"),
                                    edits=freeze(), exemplars=1)
    ex = res.exemplars
    (orig, edited), (f_orig, f_edit) = ex["rgb"][0], ex["flow"][0].astype(np.float32)
    inside = np.zeros((64, 64), bool)
    inside[8:24, 8:40] = True
    assert np.array_equal(orig, rgb) and np.array_equal(f_orig, flow)
    assert np.all(f_edit[:, :, inside] == 0) and flow[:, :, inside].any()  # the square stands still
    assert np.array_equal(f_edit[:, :, ~inside], flow[:, :, ~inside])  # the disc keeps moving
    assert np.all(edited[:, inside] == rgb[0, inside]) and np.array_equal(edited[:, ~inside], rgb[:, ~inside])


def test_paste_takes_the_donor_clips_pixels_and_flow_exactly(two_stream, test_split, pair_arrays):
    part = _part(test_split, pair_arrays, PART)
    res = Interventions(two_stream)(OTHER, pair_arrays, regions=part, edits=paste(CARRIER),
                                    exemplars=1)
    ex = res.exemplars
    row = int(ex["row"][0])
    clip = int(res.clips[row])
    labels = pair_arrays["label"]
    donor = int(np.flatnonzero(labels == test_split.classes.index(CARRIER))[row])  # the row-th donor
    m = pair_arrays["region_masks"][:, test_split.region_names.index(PART)]
    area = m[clip] | m[donor]
    (orig, edited), (f_orig, f_edit) = ex["rgb"][0], ex["flow"][0].astype(np.float32)
    rgb, flow = pair_arrays["rgb"], pair_arrays["flow"]
    assert area.any() and np.array_equal(orig, rgb[clip])
    assert np.array_equal(edited[area], rgb[donor][area]) and np.array_equal(edited[~area], rgb[clip][~area])
    want_flow = np.where(area[:, None], flow[donor], flow[clip]).astype(np.float16).astype(np.float32)
    np.testing.assert_array_equal(f_edit, want_flow)
    assert np.abs(flow[donor][:, :, area.any(0)]).max() > 0.5  # the donor's part does move


def _own_edit(kind, rgb, flow, m, sigma=2.0):
    """An edit by hand, for one clip: rgb T×H×W×3 uint8, flow T×2×H×W, mask T×H×W → (frames in [0, 1], flow)."""
    x = rgb.astype(np.float64) / 255.0
    if kind == "freeze":
        foot = m.any(0)
        return np.where(foot[None, :, :, None], x[:1], x), np.where(foot[None, None], 0.0, flow)
    if kind == "occlude":
        return np.where(m[..., None], x.mean((0, 1, 2)), x), np.where(m[:, None], 0.0, flow)
    smooth = ndimage.gaussian_filter(x, (0, sigma, sigma, 0), mode="nearest", truncate=3.0)
    fsmooth = ndimage.gaussian_filter(flow.astype(np.float64), (0, 0, sigma, sigma), mode="nearest", truncate=3.0)
    return np.where(m[..., None], smooth, x), np.where(m[:, None], fsmooth, flow)


def test_flips_and_logits_equal_an_independent_loop_over_clips(two_stream, test_split, pair_arrays):
    labels = pair_arrays["label"]
    pick = np.concatenate([np.flatnonzero(labels == test_split.classes.index(c))[:3] for c in PAIR])
    arrays = {k: pair_arrays[k][pick] for k in ("rgb", "flow", "label", "region_masks")}
    regions = R.grid_cells(2, 2) + [_part(test_split, arrays, PART)]
    edits = [freeze(), occlude(), blur(2)]
    res = Interventions(two_stream, batch_size=12)(inputs=arrays, regions=regions, edits=edits, exemplars=0)
    assert res.after.shape == (6, 15, 14) and res.status == "completed"
    before = predict(two_stream, arrays)
    np.testing.assert_allclose(res.before, before, atol=1e-4)
    own = np.zeros_like(res.after)
    for v in range(15):
        region, kind = regions[v // 3], ("freeze", "occlude", "blur")[v % 3]
        masks = region.masks(6, 16, 64, 64)
        edited = [_own_edit(kind, arrays["rgb"][i], arrays["flow"][i], masks[i]) for i in range(6)]
        own[:, v] = predict(two_stream, {"rgb": np.stack([e[0] for e in edited]).astype(np.float32),
                                         "flow": np.stack([e[1] for e in edited]).astype(np.float32),
                                         "label": arrays["label"]})
    np.testing.assert_allclose(res.after, own, atol=1e-4)
    flips = own.argmax(-1) != before.argmax(-1)[:, None]
    assert np.array_equal(res.flipped, flips) and flips.any() and not flips.all()
    table = res.flips()
    for v in range(15):
        for k in np.unique(labels[pick]):
            row = table[f"{res.class_names[k]} · {res.variant_labels[v]}"]
            assert row["flips"] == int(flips[arrays["label"] == k, v].sum())
    delta = res.confusion_delta()
    assert delta.shape == (15, 14, 14) and np.all(delta.sum((1, 2)) == 0)
    for v in range(15):  # a flip moves one count from (true, before) to (true, after)
        own_delta = np.zeros((14, 14), int)
        for i in np.flatnonzero(flips[:, v]):
            own_delta[arrays["label"][i], before[i].argmax()] -= 1
            own_delta[arrays["label"][i], own[i, v].argmax()] += 1
        assert np.array_equal(delta[v], own_delta)


def test_stop_keeps_the_clips_done_and_the_store_reruns_nothing(two_stream, pair_arrays, tmp_path):
    arrays = {k: pair_arrays[k][::6] for k in ("rgb", "flow", "label")}  # 10 clips
    regions, edits = R.grid_cells(1, 2), ["freeze", "occlude"]
    store = ResultStore(tmp_path / "store")
    iv = Interventions(two_stream, batch_size=10, store=store)  # 2 clips (with their 4 variants) per batch
    stop, seen = threading.Event(), []

    def halt_after_two(snap):
        seen.append(snap.clips_done)
        if snap.batch == 2:
            stop.set()

    part = iv(inputs=arrays, regions=regions, edits=edits, stop=stop, callback=halt_after_two)
    assert part.status == "stopped" and len(part) == 4 and seen == [2, 4]
    full = iv(inputs=arrays, regions=regions, edits=edits)  # the stopped call was not stored: this one runs
    assert full.status == "completed" and len(full) == 10
    np.testing.assert_allclose(part.after, full.after[:4], atol=1e-5)
    np.testing.assert_array_equal(part.clips, full.clips[:4])
    with Forwards(two_stream) as fw:
        again = iv(inputs=arrays, regions=regions, edits=edits)
    assert fw.n == 0
    np.testing.assert_array_equal(again.after, full.after)
    np.testing.assert_array_equal(again.exemplars["rgb"], full.exemplars["rgb"])
    with Forwards(two_stream) as fw:  # another edit is another question
        iv(inputs=arrays, regions=regions, edits=["freeze", "blur"])
    assert fw.n > 0
    saved = load(full.save(tmp_path / "run.npz"))
    assert isinstance(saved, InterventionResults) and saved.settings == full.settings
    np.testing.assert_array_equal(saved.after, full.after)
    assert str(saved.flips()) == str(full.flips()) and saved.variant_labels == full.variant_labels
    grid = saved.clip_grid(2)
    assert grid.rows == 4 and grid.cols == 2 and grid.row_headers[1] == "edited"
    shown = saved.show(2)  # through the registered player, as every result shows itself
    assert (shown.rows, shown.cols) == (4, 2) and len(shown.clips) == 8
    np.testing.assert_array_equal(shown.clips[2].frames, saved.exemplars["rgb"][0, 1])
    # the view: the kept clips of a loaded result, or any variant edited again from the call's inputs and regions
    from vidvis_widgets.widgets.intervention_view import InterventionView

    kept = InterventionView(saved)
    v, row = kept.variant_menu.value, kept.clip_menu.value
    j = [k for k in range(len(saved.exemplars["row"])) if saved.exemplars["variant"][k] == v][0]
    assert kept.player.row_headers == ["RGB", "flow"] and (kept.player.rows, kept.player.cols) == (2, 2)
    np.testing.assert_array_equal(kept.player.clips[1].frames, saved.exemplars["rgb"][j, 1])
    live = InterventionView(saved, model=two_stream, inputs=arrays, regions=regions)
    assert len(live.variant_menu.options) == 4 and len(live.clip_menu.options) == 10
    live.variant_menu.value, live.clip_menu.value = v, row
    np.testing.assert_array_equal(live.player.clips[1].frames, saved.exemplars["rgb"][j, 1])


def test_bad_input_is_refused_by_name_before_any_pass(two_stream, test_split, pair_arrays):
    arrays = {k: pair_arrays[k][:4] for k in ("rgb", "flow", "label")}
    box = R.box(0, 0, 0.5, 0.5)
    per_clip = _part(test_split, pair_arrays, PART)  # 60 clips' masks against 4 clips
    cases = [(dict(inputs=arrays, regions=box, seeds=[0]), "seeds"),
             (dict(inputs=arrays), "regions"),
             (dict(inputs=arrays, regions=[box, PART]), "regions[1]"),
             (dict(inputs=arrays, regions=box, edits=["freeze", "smear"]), "edits[1]"),
             (dict(inputs=arrays, regions=box, edits=["paste"]), "paste('class name')"),
             (dict(inputs=arrays, regions=box, edits=[paste("violin")]), "edits: paste('violin')"),
             (dict(target="violin", inputs=arrays, regions=box), "target='violin'"),
             (dict(target="no_such_class", inputs=arrays, regions=box), "target"),
             (dict(inputs=arrays, regions=per_clip), f"regions: {PART!r} holds masks of 60 clips"),
             (dict(inputs={"rgb": arrays["rgb"]}, regions=box), "inputs is a dict without 'label'"),
             (dict(inputs={**arrays, "rgb": arrays["rgb"][:, :, :32, :32], "flow": arrays["flow"][..., :32, :32]},
                   regions=box), "expects clips"),
             (dict(inputs=arrays, regions=box, flow="optical"), "flow must be one of")]
    with Forwards(two_stream) as fw:
        for kw, words in cases:
            with pytest.raises(ValueError) as err:
                intervene(two_stream, **kw)
            assert words in str(err.value), (words, str(err.value))
        with pytest.raises(ValueError, match="sigma"):
            blur(0)
        with pytest.raises(ValueError, match="fill"):
            occlude((300, 0, 0))
    assert fw.n == 0


def test_a_folder_of_real_videos_gets_its_edited_flow_estimated(two_stream, tmp_path):
    """Material we did not design for it: H.264 clips of mixed sizes, read back by VideoFolder with estimated flow."""
    root = SyntheticActions("counterfactual", num_frames=17, samples_per_class=2).write_folder(tmp_path / "videos")
    folder = VideoFolder(root, model=two_stream, cache_dir=tmp_path / "flow")
    res = Interventions(two_stream)(inputs=folder, regions=R.whole_clip(), edits=["freeze"], exemplars=1)
    np.testing.assert_allclose(res.before, evaluate(two_stream, folder).logits, atol=1e-4)
    (orig, edited), (f_orig, f_edit) = res.exemplars["rgb"][0], res.exemplars["flow"][0].astype(np.float32)
    assert np.all(edited == orig[:1]) and np.abs(f_orig).max() > 0.5
    assert np.abs(f_edit).max() < 1e-2  # a still clip's estimated flow
    assert res.settings["flow"] == "estimate" and len(res) == 4


def test_the_students_three_checks_in_one_call_each(two_stream, test_split, pair_arrays):
    """What a student found by hand on the embedded model (the pair and part read from the answer key): freezing the
    part in the class its cue goes with flips nearly all its clips, occluding the object that should decide the
    class flips few, and pasting the part in from that class into the other flips nearly all."""
    iv = Interventions(two_stream, batch_size=64)
    part, obj = _part(test_split, pair_arrays, PART), R.mask(pair_arrays[PLAN.intended], "object")
    frozen = iv(CARRIER, pair_arrays, regions=part, edits="freeze", exemplars=0)
    occluded = iv(PAIR, pair_arrays, regions=obj, edits="occlude", exemplars=0)
    pasted = iv(OTHER, pair_arrays, regions=part, edits=paste(CARRIER), exemplars=0)
    assert len(frozen) == len(pasted) == 30 and len(occluded) == 60
    assert frozen.flipped.sum() >= 27 and pasted.flipped.sum() >= 27
    assert occluded.flipped.sum() <= 6
    assert frozen.flips()[f"{CARRIER} · {PART} · freeze"]["to"] == OTHER
    assert pasted.flips()[f"{OTHER} · {PART} · paste from {CARRIER}"]["to"] == CARRIER
