"""The shortcut scan: interventions over grid cells, moving parts and the whole clip, ranked as hypotheses.

On the embedded tiny_two_stream and the embedded world's test clips of its planted pair (read from the answer key,
data/bias.py, so the test names no class), a region overlapping the planted part ranks among the top 3; the scan is
stored (a rerun runs no forward pass) and saved (load gives the same ranking); a Stop keeps a partial, ranked
result; progress counts batches. On material we did not design (a random-weight torchvision R3D with 5 classes of
its own, noise clips with no flow), a hypothesis' flips and shift equal the test's own edit and forward pass."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
import torch

from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.data.bias import plan_bias
from vidvis_widgets.methods import load
from vidvis_widgets.methods.core.regions import grid_cells
from vidvis_widgets.methods.interventions.scan import ScanResults, shortcut_scan
from vidvis_widgets.models import load_model
from vidvis_widgets.store import ResultStore

from .test_method_store import Forwards
from .test_model_matrix import _build, _clips, _forward, _model_units, _stats

PLAN = plan_bias(None)
PER_CLASS = 4  # clips per class: 8 clips × 81 variants ≈ 700 clip passes of the small model


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    model = load_model("tiny_two_stream")
    data = SyntheticActions("test", samples_per_class=PER_CLASS)
    store = ResultStore(tmp_path_factory.mktemp("scan_store"))
    seen = []
    scan = shortcut_scan(model, data, pair=PLAN.pair, store=store, callback=seen.append)
    return model, data, store, scan, seen


def test_the_scan_ranks_a_region_over_the_planted_part_in_its_top_3(world):
    model, data, _, scan, seen = world
    assert isinstance(scan, ScanResults) and scan.status == "completed" and scan.pair == PLAN.pair
    ir = scan.interventions
    assert len(ir) == 2 * PER_CLASS and set(ir.labels) == {data.classes.index(c) for c in PLAN.pair}
    # regions: 16 cells, the moving parts, the whole clip; edits freeze, occlude, paste each way
    names = [r.name for r in scan.regions]
    assert names[:16] == [r.name for r in grid_cells(4, 4)] and names[-1] == "whole clip"
    assert any(n.startswith("moving part") for n in names)
    assert [e["edit"] for e in ir.edits] == ["freeze", "occlude", "paste", "paste"]
    # the whole clip is only frozen; everything else is ranked, by flip rate, ties by shift
    assert {h.edit.verb for h in scan if h.region.name == "whole clip"} == {"freeze"}
    assert len(scan) == ir.num_variants - 3
    keys = [(-h.flip_rate, -h.shift) for h in scan]
    assert keys == sorted(keys) and [h.rank for h in scan] == list(range(len(scan)))
    # a hypothesis' numbers, counted here from the logits: a paste from class c counts only the other class's clips
    a, b = (data.classes.index(c) for c in PLAN.pair)
    other = np.where(ir.labels == a, b, a)  # a flip moves a clip to the pair's other class
    for h in scan.top(5):
        donor = data.classes.index(h.edit.from_class) if h.edit.verb == "paste" else -1
        sel = ir.labels != donor
        went, was = ir.after[sel, h.variant].argmax(1), ir.before[sel].argmax(1)
        flips = (went == other[sel]) & (was != other[sel])
        assert (h.flips, h.clips) == (int(flips.sum()), int(sel.sum())) and h.flip_rate == flips.mean()
        sign = np.where(ir.labels[sel] == a, 1, -1)
        m0, m1 = ir.before[sel, a] - ir.before[sel, b], ir.after[sel, h.variant, a] - ir.after[sel, h.variant, b]
        assert h.shift == pytest.approx(float((sign * (m0 - m1)).mean()), rel=1e-5)
    # the planted part: a top-3 region that holds a fifth of its pixels and is not the whole frame
    assert scan.clips.tolist() == np.flatnonzero(np.isin(data.labels, ir.labels)).tolist()  # positions in the dataset
    part = data.arrays(scan.clips)["region_masks"][:, data.region_names.index(PLAN.region)]
    overlap = []
    for h in scan.top(3):
        m = h.region.masks(len(ir), *part.shape[1:])
        overlap.append(((m & part).sum() / part.sum(), m.mean()))
    assert any(inside >= 0.2 and area < 0.5 for inside, area in overlap), (scan.ranked(), overlap)
    # progress: one snapshot per batch of clips, counting up to all of them
    assert [s.step for s in seen] == list(range(1, seen[-1].steps + 1)) and seen[-1].clips_done == len(ir)
    table = scan.ranked()
    assert len(table) == len(scan) and table.rows[0]["region"] == scan[0].region.name


def test_the_scan_is_stored_and_saved(world, tmp_path):
    model, data, store, scan, _ = world
    with Forwards(model) as fw:
        again = shortcut_scan(model, data, pair=PLAN.pair, store=store)
    assert fw.n == 0
    assert again.ranked().rows == scan.ranked().rows
    loaded = load(scan.save(tmp_path / "scan.npz"))
    assert isinstance(loaded, ScanResults) and loaded.ranked().rows == scan.ranked().rows
    assert [r for r in loaded.regions] == scan.regions  # masks of the moving parts included
    np.testing.assert_array_equal(loaded.interventions.after, scan.interventions.after)
    np.testing.assert_array_equal(loaded.clips, scan.clips)
    with pytest.raises(ValueError, match="pass inputs="):
        loaded.open(0, contrast=False)
    view = loaded.open(1, inputs=scan.inputs, contrast=False)  # a loaded scan opens on the inputs given
    assert view.hypothesis == scan[1] and view.contrast is None and len(view.clips.captions) == 2 * view.clips.cols


def test_a_stop_mid_scan_keeps_a_partial_ranked_result(world):
    model, data, _, _, _ = world
    stop = threading.Event()
    steps = []

    def press(snap):
        steps.append((snap.step, snap.steps))
        stop.set()

    part = shortcut_scan(model, data, pair=PLAN.pair, stop=stop, callback=press, edits=("freeze",))
    assert part.status == "stopped" and steps[0] == (1, 2 * PER_CLASS) and 0 < len(part.interventions) < 2 * PER_CLASS
    assert len(part) == len(part.regions) and part.top(1)[0].clips == len(part.interventions)
    assert "stopped after" in repr(part)


def test_the_view_shows_edited_clips_and_the_pairs_contrast(world):
    model, data, _, scan, _ = world
    view = scan.open(0, samples=2, contrast_kw=dict(steps=2, gammas=(5,)))
    h = scan[0]
    assert view.hypothesis == h and (view.clips.rows, view.clips.cols) == (2, 2)
    # the edited clips differ from the originals inside the region's footprint only
    ir = scan.interventions
    rows = view._rows(h)
    rgb, _ = view.source.clips(ir.clips[rows])
    edited = view.edited(h, rows, rgb)
    footprint = h.edit.area(torch.as_tensor(h.region.masks(len(ir), *rgb.shape[1:4])[rows]),
                            torch.ones(len(rows), *rgb.shape[1:4], dtype=torch.bool)
                            if h.edit.verb == "paste" else None).numpy()
    changed = (edited != rgb).any(-1)
    assert changed.any() and not changed[~footprint].any()
    assert view.contrast is not None and (view.contrast.a, view.contrast.b) == PLAN.pair
    view.contrast.wait(60)
    assert view.contrast.result.status == "completed" and h.region.name in view.energy.value
    view.show(2)  # another hypothesis of the same pair: the same contrast, its own region's energy
    assert view.hypothesis == scan[2] and scan[2].region.name in view.energy.value


def test_on_material_we_did_not_design_the_flips_are_the_models_own():
    """A random-weight torchvision R3D (5 classes of its own, from the model matrix), noise clips without flow:
    the auto regions' moving parts come from estimated flow; a hypothesis' flips (and, per class, its shift) are what
    the test's own edit and forward pass give; a scan of every class ranks each class's hypotheses. (The random
    model's predictions barely move under these edits, so the shifts are what carries the numeric check.)"""
    model = _build("r3d")
    rgb = _clips(model, 4, seed=3)
    labels = np.array([0, 0, 2, 2])
    data = {"rgb": rgb, "label": labels}
    scan = shortcut_scan(model, data, pair=("action_0", 2), edits=("freeze",), progress=False)
    assert any(r.name.startswith("moving part") for r in scan.regions) and scan.pair == ("action_0", "action_2")
    with pytest.warns(UserWarning, match="leaves 'paste' out"):
        per_class = shortcut_scan(model, data, regions=grid_cells(2, 2), edits=("freeze", "occlude", "paste"),
                                  progress=False)
    assert {h.cls for h in per_class} == {"action_0", "action_2"} and per_class.pair is None
    assert len(per_class) == 4 * 2 * 2 and per_class.settings["left_out"]

    def own(region, verb):  # the test's own edit of the region and forward pass: logits before and after
        x = torch.as_tensor(rgb).float() / 255
        m = torch.as_tensor(region.masks(4, *rgb.shape[1:4]))[..., None]
        edited = torch.where(m.any(1, keepdim=True), x[:, :1], x) if verb == "freeze" else \
            torch.where(m, x.mean((1, 2, 3))[:, None, None, None], x)
        mean, std = _stats(model)
        with torch.no_grad():
            return [_forward(model, (v.permute(0, 4, 1, 2, 3) - mean) / std).numpy() for v in (x, edited)]

    other = np.where(labels == 0, 2, 0)
    for h in [h for h in scan if h.region.name.startswith(("cell", "moving"))][:3]:  # with a pair: to the other class
        before, after = (z.argmax(1) for z in own(h.region, "freeze"))
        assert h.flips == int(((after == other) & (before != other)).sum()) and h.clips == 4
    shifts = []
    for h in per_class:  # per class: any change of the prediction; the shift, the drop of the class's own margin
        before, after = own(h.region, h.edit.verb)
        k = 0 if h.cls == "action_0" else 2
        sel = labels == k
        assert (h.flips, h.clips) == (int((before.argmax(1) != after.argmax(1))[sel].sum()), 2)

        def margin(z):
            return z[sel, k] - np.delete(z[sel], k, 1).max(1)

        assert h.shift == pytest.approx(float((margin(before) - margin(after)).mean()), rel=1e-3, abs=1e-4)
        shifts.append(abs(h.shift))
    assert max(shifts) > 1e-3  # the edits move the logits: the comparison is not of zeros only
    for bad, match in ((dict(pair=(0, "action_0")), "pair must be two different classes"),
                       (dict(pair=(0, "nope")), "pair: unknown class"), (dict(top=0), "top must be an int"),
                       (dict(regions="grid"), "regions must be 'auto'")):
        with pytest.raises(ValueError, match=match):
            shortcut_scan(model, data, edits=("freeze",), **bad)
    with warnings.catch_warnings(), pytest.raises(ValueError, match="'paste' needs pair="):
        warnings.simplefilter("ignore")
        shortcut_scan(model, data, edits=("paste",))
