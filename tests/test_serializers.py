"""Sheets of frames: exact round trips, bounded lossy error, and the message budget."""

import io

import numpy as np
import pytest
from PIL import Image

from vidvis_widgets.media.clips import as_clip
from vidvis_widgets.media.samples import moving_square
from vidvis_widgets.widgets.serializers import (
    PayloadTooLarge,
    encode_clip,
    encode_clips,
    from_sheet,
    payload_bytes,
)

RGB, FLOW = moving_square(num_frames=16, size=112, velocity=(3, 1))


def decode(payload):
    sheet = np.asarray(Image.open(io.BytesIO(payload["data"])).convert("RGB"))
    assert sheet.shape[:2] == (
        -(-payload["frames"] // payload["sheet_cols"]) * payload["ystride"],
        payload["sheet_cols"] * payload["xstride"],
    )
    keys = ("frames", "height", "width", "xstride", "ystride", "sheet_cols")
    return from_sheet(sheet, *(payload[k] for k in keys))


@pytest.mark.parametrize("shape", [(16, 112, 112), (7, 30, 50), (1, 64, 64), (40, 17, 9)])
def test_png_sheet_round_trip_is_exact(shape):
    frames = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    payload = encode_clip(as_clip(frames), "png")
    np.testing.assert_array_equal(decode(payload), frames)


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_lossy_round_trip_is_close_and_frames_do_not_bleed(fmt):
    payload = encode_clip(as_clip(RGB), fmt, quality=90)
    back = decode(payload)
    assert back.shape == RGB.shape
    assert np.abs(back.astype(int) - RGB).mean() < 4.0
    # each frame's square is where that frame put it, not smeared from a neighbour tile
    for t in (0, 7, 15):
        moving = np.abs(RGB[t].astype(int) - [230, 60, 40]).sum(-1) < 60
        assert np.abs(back[t][moving].astype(int) - RGB[t][moving]).mean() < 8


def test_sheet_is_aligned_to_lossy_macroblocks():
    p = encode_clip(as_clip(RGB[:, :100, :90]), "jpeg")
    assert p["xstride"] % 16 == 0 and p["ystride"] % 16 == 0 and p["xstride"] >= 90


def test_64_clips_of_16x112x112_fit_far_below_the_websocket_limit():
    clips = [as_clip(moving_square(16, 112, velocity=(k % 5 - 2, k % 3 - 1), seed=k)[0]) for k in range(64)]
    payload = encode_clips(clips)
    size = payload_bytes(payload)
    raw = 64 * 16 * 112 * 112 * 3
    assert size < 4 * 1024 * 1024, size
    assert size < raw / 10


def test_over_budget_lowers_quality_with_a_warning_then_fails_clearly():
    noise = [as_clip(np.random.default_rng(k).integers(0, 256, (16, 112, 112, 3), dtype=np.uint8)) for k in range(4)]
    full = payload_bytes(encode_clips(noise, quality=90))
    with pytest.warns(UserWarning, match="re-encoded at quality"):
        payload = encode_clips(noise, quality=90, budget=int(full * 0.7))
    assert payload_bytes(payload) <= full * 0.7
    with pytest.raises(PayloadTooLarge, match="over the .* limit for one widget message"):
        encode_clips(noise, "png", budget=full // 10)


def test_state_message_bytes_bounds_what_jupyter_sends():
    """The estimate against an independent measurement: the comm message ipywidgets sends for the whole state,
    packed into frames by jupyter_client's Session as the kernel does (JSON parts, signature, buffers)."""
    from vidvis_widgets import ClipPlayer
    from vidvis_widgets.widgets.serializers import state_message_bytes

    from .widget_wire import wire_bytes

    w = ClipPlayer([RGB, FLOW, RGB[0]], captions=["ä" * 3000, "b", "ç"], row_headers=["r"], col_headers=list("xyz"))
    wire = wire_bytes(w)
    assert wire > payload_bytes(w._clips) + 14_000  # the JSON part counts: the front-end module, the captions
    assert wire <= state_message_bytes(w.get_state()) <= wire + 4096


@pytest.mark.parametrize("quality", ["high", True, 0, 101, 90.5, None])
def test_quality_must_be_an_integer_from_1_to_100(quality):
    clip = as_clip(RGB[:2])
    with pytest.raises(ValueError, match="quality must be an integer"):
        encode_clips([clip], quality=quality)


def test_the_budget_counts_the_rest_of_the_state():
    from vidvis_widgets.widgets.serializers import state_message_bytes

    clips = [as_clip(np.random.default_rng(k).integers(0, 256, (8, 48, 48, 3), dtype=np.uint8)) for k in range(3)]
    alone = state_message_bytes({"_clips": encode_clips(clips, "png")})
    captions = {"captions": ["x" * 20_000] * 3}
    encode_clips(clips, "png", budget=alone)  # the clips alone fit
    with pytest.raises(PayloadTooLarge, match="shorter captions and headers"):
        encode_clips(clips, "png", budget=alone, state=captions)
    # over the budget before any clip: refused at once, naming the captions
    with pytest.raises(PayloadTooLarge, match="captions, headers and other widget state alone are 6[0-9] kB"):
        encode_clips(clips, "png", budget=50_000, state=captions)


def test_replace_clip_reencodes_only_that_clip_within_the_budget():
    from vidvis_widgets.widgets.serializers import replace_clip, state_message_bytes

    clips = [as_clip(RGB), as_clip(RGB)]
    payload = encode_clips(clips)
    noise = as_clip(np.random.default_rng(0).integers(0, 256, (16, 112, 112, 3), dtype=np.uint8))
    budget = state_message_bytes({"_clips": replace_clip(payload, [clips[0], noise], 1, quality=60)})
    with pytest.warns(UserWarning, match="clip 1 at jpeg quality 90 makes the widget state .* re-encoded at quality 60"):
        new = replace_clip(payload, [clips[0], noise], 1, quality=90, budget=budget)
    assert new[0] is payload[0] and new[1]["frames"] == 16
    assert state_message_bytes({"_clips": new}) <= budget
    with pytest.raises(PayloadTooLarge, match="the other clips, captions and headers take"):
        replace_clip(payload, [clips[0], noise], 1, fmt="png", budget=budget)
