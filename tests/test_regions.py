"""Regions: box, track and mask give the same pixels on a hand-made case; moving_parts finds a moving square
exactly; every region survives a JSON round trip; bad input is refused by argument name."""

import json

import numpy as np
import pytest

from vidvis_widgets.media.samples import moving_square
from vidvis_widgets.methods.core.regions import Region, box, grid_cells, mask, moving_parts, track, whole_clip


def test_box_track_and_mask_agree_on_a_hand_case():
    hand = np.zeros((5, 8, 10), bool)  # T×H×W
    hand[:, 2:6, 3:7] = True  # rows 2..5, columns 3..6
    n, t, h, w = 2, 5, 8, 10
    by_pixels = box(3, 2, 7, 6).masks(n, t, h, w)
    by_fraction = box(0.3, 0.25, 0.7, 0.75).masks(n, t, h, w)
    by_track = track([(3, 2, 7, 6)] * 5).masks(n, t, h, w)
    by_mask = mask(hand[0]).masks(n, t, h, w)
    for m in (by_pixels, by_fraction, by_track, by_mask):
        assert m.shape == (n, t, h, w) and m.dtype == bool
        np.testing.assert_array_equal(m, np.broadcast_to(hand, (n, t, h, w)))
    # pixels of another frame size are rescaled: a 20×16 frame's box (6, 4, 14, 12) is the same region
    np.testing.assert_array_equal(box(6, 4, 14, 12, size=(16, 20)).masks(n, t, h, w), by_pixels)
    # a mask at twice the size comes back by nearest
    big = np.repeat(np.repeat(hand, 2, 1), 2, 2)
    np.testing.assert_array_equal(mask(big).masks(n, t, h, w), by_pixels)


def test_a_track_moves_and_is_resampled_over_time():
    frames = [(t, 0, t + 2, 2) for t in range(4)]  # a 2×2 box stepping right one pixel a frame
    m = track(frames).masks(1, 4, 4, 8)[0]
    for t in range(4):
        expect = np.zeros((4, 8), bool)
        expect[0:2, t:t + 2] = True
        np.testing.assert_array_equal(m[t], expect)
    # two keyframes on 4 frames: linearly in between (x0 = 0, 1, 2, 3 at frame centres 0.5/4·2 - 0.5 …)
    two = track([(0, 0, 2, 2), (4, 0, 6, 2)]).masks(1, 4, 4, 8)[0]
    assert two[0, 0, 0] and not two[-1, 0, 0] and two[-1, 0, 5]
    first_col = [int(np.flatnonzero(two[t, 0])[0]) for t in range(4)]
    assert first_col == sorted(first_col) and first_col[0] == 0 and first_col[-1] == 4


def test_masks_of_each_clip_and_time_are_kept():
    m = np.zeros((3, 4, 6, 6), bool)
    for i in range(3):
        m[i, :, i, i] = True
    r = mask(m, name="diagonal")
    out = r.masks(3, 8, 12, 12)  # time and space resampled by nearest
    assert out.shape == (3, 8, 12, 12)
    for i in range(3):
        assert out[i].sum() == 8 * 4 and out[i, :, 2 * i:2 * i + 2, 2 * i:2 * i + 2].all()
    with pytest.raises(ValueError, match="n must match"):
        r.masks(2, 4, 6, 6)


def test_grid_cells_tile_the_frame_and_whole_clip_covers_it():
    cells = grid_cells(2, 3)
    assert len(cells) == 6 and len({c.name for c in cells}) == 6
    total = sum(c.masks(1, 2, 10, 9).astype(int) for c in cells)
    np.testing.assert_array_equal(total, 1)  # every pixel in exactly one cell
    assert cells[0].masks(1, 1, 10, 9)[0, 0, :5, :3].all() and cells[0].masks(1, 1, 10, 9).sum() == 15
    assert whole_clip().masks(2, 3, 5, 7).all()


def test_moving_parts_finds_the_moving_square_exactly():
    rgb, flow = moving_square(num_frames=12, size=32, velocity=(1.0, 1.0), side=8)  # crosses the frame, no wrap
    truth = np.sqrt((flow ** 2).sum(1)) > 0
    parts = moving_parts(flow)
    assert len(parts) == 1 and parts[0].name == "moving part 1"
    np.testing.assert_array_equal(parts[0].masks(1, 12, 32, 32)[0], truth)
    # two clips, the second with a second, smaller mover apart from the first: per clip, ranked by size
    _, level = moving_square(num_frames=12, size=32, velocity=(1.0, 0.0), side=8)  # rows 12..19 only
    patch = np.zeros_like(level)
    patch[:, 0, 26:30, 2:6] = 1.0  # a 4×4 patch moving right on rows 26..29
    parts = moving_parts(np.stack([flow, level + patch]), k=4, min_px=4)
    assert [p.name for p in parts] == ["moving part 1", "moving part 2"]
    first, second = (p.masks(2, 12, 32, 32) for p in parts)
    np.testing.assert_array_equal(first[0], truth)
    np.testing.assert_array_equal(first[1], np.sqrt((level ** 2).sum(1)) > 0)
    assert not second[0].any()  # the first clip has one moving part
    np.testing.assert_array_equal(second[1], patch[:, 0] > 0)
    assert len(moving_parts(np.stack([flow, level + patch]), k=1)) == 1
    # min_px drops everything below it
    assert moving_parts(flow, min_px=int(truth.sum()) + 1) == []


def test_json_round_trip():
    m = np.zeros((4, 6, 6), bool)
    m[:, 1:3, 2:5] = True
    regions = [box(0.1, 0.2, 0.5, 0.9, name="b"), box(2, 3, 10, 12, size=(16, 16)), track([(0, 0, 3, 3), (2, 2, 5, 5)]),
               mask(m, "m"), *grid_cells(2, 2), whole_clip()]
    for r in regions:
        text = json.dumps(r.to_json(inline=True))
        back = Region.from_json(text)
        assert back == r and back.key == r.key and back.name == r.name
        np.testing.assert_array_equal(back.masks(2, 4, 12, 12), r.masks(2, 4, 12, 12))
    stored = mask(m, "m").to_json()
    assert "bits" not in stored and len(stored["sha256"]) == 64  # store keys hash masks, never inline them
    assert Region.from_json(stored, mask=m) == mask(m, "m")
    with pytest.raises(ValueError, match="mask="):
        Region.from_json(stored)
    other = m.copy()
    other[0, 0, 0] = True
    with pytest.raises(ValueError, match="does not match"):
        Region.from_json(stored, mask=other)
    assert box(0.1, 0.2, 0.5, 0.9, name="b") != box(0.1, 0.2, 0.5, 0.8, name="b")
    assert len({box(0, 0, 0.5, 0.5, "a"), box(0, 0, 0.5, 0.5, "a")}) == 1


@pytest.mark.parametrize("args, words", [
    ((0.6, 0.1, 0.2, 0.5), "x0 must be < x1"),
    ((0.1, 0.5, 0.2, 0.5), "y0 must be < y1"),
    ((-1, 0, 2, 2), "must not be negative"),
    ((0, 0, float("nan"), 1), "finite"),
])
def test_bad_boxes_are_refused_by_name(args, words):
    with pytest.raises(ValueError, match=words) as e:
        box(*args)
    assert "box" in str(e.value) and "fractions of the frame" in str(e.value)


def test_bad_tracks_masks_and_calls_are_refused_by_name():
    with pytest.raises(ValueError, match=r"boxes: x0 must be < x1 at frame 1"):
        track([(0, 0, 2, 2), (3, 0, 2, 2)])
    with pytest.raises(ValueError, match=r"boxes must be .*shape \(3,\)"):
        track([0, 0, 1])
    with pytest.raises(ValueError, match=r"array must be a bool H×W, T×H×W or N×T×H×W array, got shape \(5,\)"):
        mask(np.ones(5, bool))
    with pytest.raises(ValueError, match=r"array must be a bool H×W, T×H×W or N×T×H×W array, got shape \(1, 2, 3, 4, 5\)"):
        mask(np.ones((1, 2, 3, 4, 5), bool))
    with pytest.raises(ValueError, match="array must be a bool array"):
        mask(np.full((4, 4), 0.5))
    with pytest.raises(ValueError, match="h must be a positive int"):
        whole_clip().masks(1, 2, 0, 4)
    with pytest.raises(ValueError, match="flow must be N×T×2×H×W or T×2×H×W"):
        moving_parts(np.zeros((4, 3, 8, 8), np.float32))
    with pytest.raises(ValueError, match="size must be"):
        box(2, 2, 4, 4, size=(8,))
    with pytest.raises(ValueError, match="exactly one of"):
        Region("r", box=(0, 0, 1, 1), mask=np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="rows must be a positive int"):
        grid_cells(0, 2)


def test_region_picker_boxes_are_checked_and_read_back_as_regions():
    import traitlets

    from vidvis_widgets.widgets.region_picker import RegionPicker

    rgb, _ = moving_square(num_frames=4, size=32)
    picker = RegionPicker(rgb, boxes=[box(8, 0, 16, 8, name="px"), box(0.5, 0.5, 1, 1, name="frac")])
    assert picker.boxes[0] == {"name": "px", "x0": 0.25, "y0": 0.0, "x1": 0.5, "y1": 0.25}  # pixels of the clip's frame
    r = picker.add_box(0, 0, 0.5, 1)
    assert r.name == "box 3" and [g.name for g in picker.regions] == ["px", "frac", "box 3"]
    np.testing.assert_array_equal(picker.regions[0].masks(1, 4, 32, 32), box(8, 0, 16, 8).masks(1, 4, 32, 32))
    for bad, words in (([{"name": "a", "x0": 0.6, "y0": 0, "x1": 0.2, "y1": 1}], r"boxes\[0\]: box: x0 must be < x1"),
                       ([{"name": "a", "x0": 0, "y0": 0, "x1": 2, "y1": 1}], r"boxes\[0\].*fractions of the frame"),
                       ([{"x0": 0, "y0": 0}], r"boxes\[0\] must be a dict with x0, y0, x1, y1"),
                       ([{"name": "a", "x0": 0, "y0": 0, "x1": 1, "y1": 1}] * 2, "distinct names")):
        with pytest.raises(traitlets.TraitError, match=words):
            picker.boxes = bad
    with pytest.raises(traitlets.TraitError, match=r"frame 9 is out of range"):
        picker.frame = 9
    with pytest.raises(ValueError, match="the picker draws boxes"):
        RegionPicker(rgb, boxes=[mask(np.ones((4, 4), bool), "m")])
    picker.clear()
    assert picker.regions == []
