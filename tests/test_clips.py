"""as_clip / as_clip_list / grid_shape: accepted forms and bad-input errors."""

import numpy as np
import pytest
import torch

from vidvis_widgets.media.clips import as_clip, as_clip_list, infer_layout
from vidvis_widgets.media.grid import grid_shape, tile_clips

RNG = np.random.default_rng(0)
THWC = RNG.integers(0, 256, (6, 10, 12, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a,
        lambda a: a.astype(np.float32) / 255,
        lambda a: torch.from_numpy(a).permute(3, 0, 1, 2),  # C×T×H×W tensor
        lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).float() / 255,  # T×C×H×W float tensor
        lambda a: torch.from_numpy(a).float().div(255).requires_grad_(True),  # autograd leaf
        lambda a: torch.from_numpy(a).float().div(255).to(torch.bfloat16),
    ],
)
def test_rgb_layouts_and_dtypes_give_the_same_frames(make):
    clip = as_clip(make(THWC))
    assert clip.kind == "rgb" and clip.frames.shape == (6, 10, 12, 3) and clip.frames.dtype == np.uint8
    tolerance = 2 if clip.frames is not THWC else 0  # bf16 keeps 8 bits of mantissa
    assert np.abs(clip.frames.astype(int) - THWC).max() <= tolerance


def test_image_is_a_one_frame_clip():
    img = as_clip(THWC[0])
    assert img.kind == "image" and img.frames.shape == (1, 10, 12, 3)
    assert as_clip(THWC[0].transpose(2, 0, 1)).kind == "image"


def test_flow_is_rendered():
    flow = RNG.normal(size=(6, 2, 10, 12)).astype(np.float32)
    clip = as_clip(flow)
    assert clip.kind == "flow" and clip.frames.shape == (6, 10, 12, 3)


def test_rescale_min_max_over_whole_clip():
    x = np.linspace(-3, 5, 6 * 4 * 4 * 3, dtype=np.float32).reshape(6, 4, 4, 3)
    frames = as_clip(x, rescale=True).frames
    assert frames.min() == 0 and frames.max() == 255
    assert frames[0].max() < 60  # not per frame


def test_ambiguous_shape_asks_for_layout():
    x = np.zeros((3, 2, 8, 8), np.float32)  # 3 flow frames, or RGB with 2 frames?
    with pytest.raises(ValueError, match="ambiguous.*pass layout="):
        as_clip(x)
    assert as_clip(x, layout="TCHW").kind == "flow"
    assert as_clip(x, layout="CTHW").frames.shape == (2, 8, 8, 3)


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (np.zeros((4, 8, 8, 5), np.uint8), ValueError, "3 \\(RGB\\) or 2 \\(optical flow\\) channels"),
        (np.zeros((8, 8), np.uint8), ValueError, "expected a 4-D clip or 3-D image"),
        (np.zeros((4, 8, 8, 3), np.float32) + 2.0, ValueError, "float values span \\[2, 2\\].*rescale=True"),
        (np.full((4, 8, 8, 3), np.nan, np.float32), ValueError, "768 NaN"),
        (np.full((4, 8, 8, 3), np.inf, np.float32), ValueError, "768 infinite"),
        (np.zeros((4, 8, 8, 3), bool), TypeError, "dtype bool"),
        (np.full((4, 8, 8, 3), 300, np.int32), ValueError, "integer values span \\[300, 300\\]"),
        (np.zeros((0, 8, 8, 3), np.uint8), ValueError, "empty"),
        ([[1, 2, 3]], TypeError, "expected a numpy array or torch tensor"),
        (np.zeros((2, 4, 4, 2), np.int64), TypeError, "optical flow must be float"),
    ],
)
def test_bad_clips_name_the_problem_and_expected_form(bad, error, message):
    with pytest.raises(error, match=message):
        as_clip_list([bad])


def test_lists_batches_and_empty_cells():
    batch = torch.rand(5, 3, 4, 8, 8)
    assert len(as_clip_list(batch)) == 5
    clips = as_clip_list([THWC, None, THWC[0]])
    assert clips[1] is None and clips[2].kind == "image"
    with pytest.raises(ValueError, match="the list is empty"):
        as_clip_list([])
    with pytest.raises(ValueError, match="every clip is None"):
        as_clip_list([None, None])
    with pytest.raises(ValueError, match="clip 1: .*NaN"):
        as_clip_list([THWC, np.full((2, 4, 4, 3), np.nan)])


def test_infer_layout_prefers_the_unique_channel_axis():
    assert infer_layout((16, 112, 112, 3)) == "THWC"
    assert infer_layout((3, 16, 112, 112)) == "CTHW"
    assert infer_layout((16, 2, 112, 112)) == "TCHW"


@pytest.mark.parametrize(
    "n, rows, cols, expected",
    [(1, None, None, (1, 1)), (5, None, None, (1, 5)), (16, None, None, (4, 4)), (64, None, None, (8, 8)),
     (10, None, 4, (3, 4)), (10, 2, None, (2, 5)), (6, 2, 3, (2, 3))],
)
def test_grid_shape(n, rows, cols, expected):
    assert grid_shape(n, rows, cols) == expected


@pytest.mark.parametrize(
    "n, rows, cols, message",
    [(7, 2, 3, "too few for 7 clips"), (3, 4, 4, "whole row or column empty"), (2, 1, 4, "whole row or column"),
     (4, 0, 2, "rows must be a positive integer")],
)
def test_grid_shape_that_does_not_fit(n, rows, cols, message):
    with pytest.raises(ValueError, match=message):
        grid_shape(n, rows, cols)


def test_tile_holds_last_frame_of_shorter_clips():
    a = as_clip(np.full((4, 2, 2, 3), 10, np.uint8))
    b = as_clip(np.concatenate([np.full((2, 2, 2, 3), 50, np.uint8), np.full((1, 2, 2, 3), 90, np.uint8)]))
    video = tile_clips([a, b], 1, 2, pad=1)
    assert video.shape == (4, 2, 5, 3)
    assert video[3, 0, 0, 0] == 10 and video[1, 0, 3, 0] == 50 and video[3, 0, 3, 0] == 90
    assert video[0, 0, 2, 0] == 255  # padding
