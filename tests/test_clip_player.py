"""ClipPlayer widget state: traits, in-place updates, and bad input."""

import numpy as np
import pytest
import torch
import traitlets

from vidvis_widgets import ClipPlayer
from vidvis_widgets.widgets.serializers import PayloadTooLarge

from .widget_wire import wire_bytes
from vidvis_widgets.media.samples import moving_square

RGB, FLOW = moving_square(num_frames=16, size=32)


def test_state_describes_every_cell():
    w = ClipPlayer([RGB, FLOW, RGB[0]], captions=["rgb", "flow", "appearance"], col_headers=["a", "b", "c"])
    assert (w.rows, w.cols) == (1, 3)
    assert [c["kind"] for c in w._clips] == ["rgb", "flow", "image"]
    assert [c["frames"] for c in w._clips] == [16, 16, 1]
    assert all(isinstance(c["data"], bytes) and len(c["data"]) > 100 for c in w._clips)
    assert w.captions == ["rgb", "flow", "appearance"] and w.num_frames == 16


def test_binary_payload_travels_as_buffers_not_json():
    from ipywidgets.widgets.widget import _remove_buffers

    w = ClipPlayer([RGB, FLOW])
    state, paths, buffers = _remove_buffers(w.get_state())
    assert [p[:1] for p in paths] == [["_clips"], ["_clips"]]
    assert all(isinstance(b, (bytes, memoryview)) for b in buffers)
    assert "data" not in state["_clips"][0]


def test_grid_of_64_with_headers():
    clips = torch.rand(64, 3, 16, 24, 24)
    w = ClipPlayer(clips, rows=8, cols=8, row_headers=[f"unit {i}" for i in range(8)],
                   col_headers=[f"γ={g}" for g in range(8)])
    assert (w.rows, w.cols, len(w._clips)) == (8, 8, 64)


def test_set_clips_and_set_clip_replace_in_place():
    w = ClipPlayer([RGB, RGB])
    first = w._clips[1]
    green, _ = moving_square(num_frames=8, size=32, color=(0, 255, 0))
    with pytest.warns(UserWarning, match="different lengths"):
        w.set_clip(0, green, caption="green")
    assert w._clips[1] is first and w._clips[0]["frames"] == 8 and w.captions[0] == "green"
    w.set_clips([green] * 4, rows=2, cols=2)
    assert (w.rows, w.cols, len(w._clips)) == (2, 2, 4)
    assert w.clips[3].frames.shape == (8, 32, 32, 3)


def test_frame_stays_valid_when_clips_shrink():
    w = ClipPlayer(RGB)
    w.frame = 15
    w.set_clips(RGB[:4])
    assert w.frame == 3


def test_mixed_lengths_warn_and_say_how_they_play():
    with pytest.warns(UserWarning, match="shorter clips hold their last frame"):
        w = ClipPlayer([RGB, RGB[:5]])
    assert w.num_frames == 16


def test_an_image_beside_clips_does_not_warn(recwarn):
    ClipPlayer([RGB[0], RGB, FLOW])
    assert not [w for w in recwarn if "different lengths" in str(w.message)]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(clips=[]), "the list is empty"),
        (dict(clips=[RGB, RGB, RGB], rows=1, cols=2), "too few for 3 clips"),
        (dict(clips=[RGB], rows=2, cols=2), "whole row or column empty"),
        (dict(clips=[RGB, RGB], captions=["one"]), "1 captions for 2 clips"),
        (dict(clips=[RGB, RGB], col_headers=["a"]), "1 column headers for 2 columns"),
        (dict(clips=[RGB], image_format="gif"), "image_format 'gif' is not supported"),
        (dict(clips=[np.full((4, 8, 8, 3), np.nan, np.float32)]), "NaN"),
    ],
)
def test_bad_input_gets_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClipPlayer(**kwargs)


def test_trait_validation():
    w = ClipPlayer(RGB)
    with pytest.raises(traitlets.TraitError, match="frames 0..15"):
        w.frame = 16
    with pytest.raises(traitlets.TraitError, match="fps must be"):
        w.fps = 0
    with pytest.raises(IndexError, match="out of range for 1 cells"):
        w.set_clip(3, RGB)


def test_a_failed_update_leaves_the_widget_as_it_was():
    w = ClipPlayer([RGB, RGB])
    before = list(w._clips)
    with pytest.raises(ValueError):
        w.set_clips([RGB, np.full((2, 4, 4, 3), np.inf, np.float32)])
    assert w._clips == before and len(w.clips) == 2


def noise(k, shape=(8, 48, 48)):
    return np.random.default_rng(k).integers(0, 256, (*shape, 3), dtype=np.uint8)


def budget_player(budget):
    """ClipPlayer with a small message budget, so the budget tests stay fast."""
    return type("SmallBudgetPlayer", (ClipPlayer,), {"message_budget": budget})


def test_the_budget_counts_captions_headers_and_all_synced_state():
    clips = [noise(k) for k in range(4)]
    fits = wire_bytes(ClipPlayer(clips, image_format="png")) + 5000  # the estimate may exceed the wire by 4 kB
    Player = budget_player(fits)
    assert wire_bytes(Player(clips, image_format="png")) <= fits
    # 15 kB of captions per clip, or of headers, push the same clips over: refused, never sent over
    with pytest.raises(PayloadTooLarge, match="over the .* limit for one widget message.*shorter captions"):
        Player(clips, image_format="png", captions=["c" * 15_000] * 4)
    with pytest.raises(PayloadTooLarge, match="over the .* limit"):
        Player(clips, image_format="png", rows=2, cols=2, row_headers=["h" * 30_000] * 2)
    # lossy clips are re-encoded at a lower quality instead, and the whole state then fits
    lossy = wire_bytes(ClipPlayer(clips, quality=90)) + 5000
    Player = budget_player(lossy)
    with pytest.warns(UserWarning, match="re-encoded at quality"):
        w = Player(clips, quality=90, captions=["c" * 5_000] * 4)
    assert wire_bytes(w) <= lossy


def test_set_clip_holds_the_whole_state_to_the_budget():
    small = [RGB, RGB]
    budget = wire_bytes(ClipPlayer(small)) + 100_000
    w = budget_player(budget)(small)
    big = noise(0, (16, 112, 112))  # JPEG: 181 kB at quality 90, 96 kB at 60; PNG: 603 kB
    with pytest.warns(UserWarning, match="clip 1 at jpeg quality 90 makes the widget state .* re-encoded at quality"):
        w.set_clip(1, big, caption="noise")
    assert wire_bytes(w) <= budget and w.captions == ["", "noise"]
    assert w.clips[1].frames.shape == (16, 112, 112, 3)

    # lossless, it cannot fit: refused with the sizes, and the widget is left as it was
    p = budget_player(wire_bytes(ClipPlayer(small, image_format="png")) + 100_000)(
        small, image_format="png")
    before, clips_before = list(p._clips), p.clips
    with pytest.raises(PayloadTooLarge, match="clip 0 makes the widget state .* the other clips, captions and "
                                              "headers take"):
        p.set_clip(0, big, caption="too big")
    assert p._clips == before and p.captions == ["", ""] and p.clips[0] is clips_before[0]


def advice(message, pattern):
    import re

    found = re.search(pattern, message)
    assert found, (pattern, message)
    return int(found.group(1))


def test_too_large_error_suggests_what_actually_helps():
    clips = [noise(k, (8, 64, 64)) for k in range(6)]
    Player = budget_player(300_000)  # six 8×64×64 noise clips are ~600 kB as PNG, ~150 kB as JPEG q30
    # PNG: a lossy format helps, and each number in the hint is true
    with pytest.raises(PayloadTooLarge) as e:
        Player(clips, image_format="png")
    msg = str(e.value)
    assert "image_format='jpeg'" in msg
    n = advice(msg, r"about (\d+) of these 6 fit")
    Player(clips[:n], image_format="png")
    t = advice(msg, r"about (\d+) of 8 frames")
    Player([c[:t] for c in clips], image_format="png")
    k = advice(msg, r"frames (\d+)× smaller on each side")
    Player([c[:, ::k, ::k] for c in clips], image_format="png")

    # JPEG already: suggesting JPEG would not help; a lower quality than the lowest tried does
    with pytest.raises(PayloadTooLarge) as e:
        budget_player(60_000)(clips, image_format="jpeg")
    msg = str(e.value)
    assert "even at jpeg quality 30" in msg and "image_format='jpeg'" not in msg and "quality below 30" in msg
    n = advice(msg, r"about (\d+) of these 6 fit")
    with pytest.warns(UserWarning, match="re-encoded"):
        budget_player(60_000)(clips[:n], image_format="jpeg")
