"""flow_to_rgb against flows whose direction and magnitude are known."""

import numpy as np
import pytest
import torch

from vidvis_widgets import flow_to_rgb
from vidvis_widgets.media.samples import moving_square, rotating_flow


def square_flow(dx, dy):
    _, flow = moving_square(num_frames=4, size=32, velocity=(dx, dy))
    inside = flow[0, 0] != 0 if dx else flow[0, 1] != 0
    return flow, inside


@pytest.mark.parametrize(
    "dx, dy, red_inside, green_inside",
    [(3.0, 0.0, 255, 128), (-3.0, 0.0, 0, 128), (0.0, 2.0, 128, 255), (0.0, -2.0, 128, 0)],
)
def test_paper_mode_colours_follow_direction(dx, dy, red_inside, green_inside):
    flow, inside = square_flow(dx, dy)
    rgb = flow_to_rgb(flow)
    assert rgb.shape == (4, 32, 32, 3) and rgb.dtype == np.uint8
    r, g, b = (rgb[0, ..., k] for k in range(3))
    assert np.all(r[inside] == red_inside) and np.all(g[inside] == green_inside)
    # the moving square is the fastest thing in the clip; the still background the slowest
    assert np.all(b[inside] == 255) and np.all(b[~inside] == 0)


def test_paper_mode_scales_over_the_whole_sequence_not_per_frame():
    flow = np.zeros((4, 2, 8, 8), np.float32)
    flow[0, 0, :4] = 1.0  # slow rightward motion in frame 0
    flow[1, 0, :4] = 4.0  # fast in frame 1
    b = flow_to_rgb(flow)[..., 2]
    assert b[0, 0, 0] == round(255 * 0.25) and b[1, 0, 0] == 255


def test_paper_mode_red_tracks_horizontal_component_of_rotation():
    flow = rotating_flow(num_frames=4, size=33, clockwise=True)
    rgb = flow_to_rgb(flow).astype(int)
    u = flow[0, 0]
    # red is an increasing function of u: the row where u is largest (top) is reddest
    assert np.argmax(rgb[0, :, 16, 0]) == np.argmax(u[:, 16]) == 0
    expected = np.rint(255 * (u - u.min()) / (u.max() - u.min()))
    assert np.abs(rgb[0, ..., 0] - expected).max() <= 1


def test_hsv_mode_uses_the_middlebury_wheel():
    right, _ = square_flow(3.0, 0.0)
    rgb = flow_to_rgb(right, mode="hsv")
    _, inside = square_flow(3.0, 0.0)
    assert tuple(rgb[0][inside][0]) == (255, 0, 0)  # full speed rightwards is pure red on the wheel
    assert tuple(rgb[0][~inside][0]) == (255, 255, 255)  # still pixels are white


@pytest.mark.parametrize(
    "make",
    [
        lambda f: f,  # T×2×H×W
        lambda f: f.transpose(0, 2, 3, 1),  # T×H×W×2
        lambda f: torch.from_numpy(f),  # tensor
    ],
)
def test_flow_layouts_agree(make):
    flow, _ = square_flow(2.0, 1.0)
    np.testing.assert_array_equal(flow_to_rgb(make(flow)), flow_to_rgb(flow))


def test_single_flow_field_gives_one_image():
    flow, _ = square_flow(2.0, 0.0)
    assert flow_to_rgb(flow[0]).shape == (32, 32, 3)


def test_bad_flow_inputs_name_the_problem():
    with pytest.raises(ValueError, match="NaN or infinite"):
        flow_to_rgb(np.full((4, 2, 4, 4), np.nan, np.float32))
    with pytest.raises(TypeError, match="float"):
        flow_to_rgb(np.zeros((4, 2, 4, 4), np.int32))
    with pytest.raises(ValueError, match="expected 2 channels"):
        flow_to_rgb(np.zeros((4, 3, 4, 4), np.float32))
    with pytest.raises(ValueError, match="'paper' or 'hsv'"):
        flow_to_rgb(np.zeros((4, 2, 4, 4), np.float32), mode="rainbow")
