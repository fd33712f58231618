"""One check of RGB frames (issue 43): Saliency Tubes' clips, LEAPS' stimuli and dataset arrays to prepare() are
refused by the same validator, models.pixels.check_frames, with the same wording: the argument's name, the problem
and the expected form, before any model pass."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from vidvis_widgets.models import load_model
from vidvis_widgets.models.pixels import check_frames

SHAPE = (16, 64, 64, 3)


def _nan():
    a = np.full(SHAPE, 0.5, np.float32)
    a[3, 5, 7, 1] = np.nan
    return a


# name → (a bad clip, the problem its refusal must state)
BAD = {
    "0-255 floats": (np.full(SHAPE, 200.0, np.float32), r"has float values in \[200, 200\]"),
    "NaN": (_nan(), r"contains (\d+ )?NaN or infinite value"),
    "wrong last axis": (np.zeros((16, 64, 64, 4), np.uint8), r"must be .*; got shape \("),
    "bool dtype": (np.ones(SHAPE, bool), r"has dtype bool"),
}


@pytest.fixture(scope="module")
def r3d():
    torch.manual_seed(0)
    return load_model("tiny_r3d")


def _refusal(call) -> str:
    with pytest.raises(ValueError) as err:  # a dtype refusal is a TypeError too, and a ValueError like the others
        call()
    return str(err.value)


@pytest.mark.parametrize("bad", list(BAD))
def test_tubes_leaps_and_prepare_refuse_the_same_bad_frames_with_the_one_validators_words(r3d, bad):
    from vidvis_widgets.methods import leaps, saliency_tubes

    clip, problem = BAD[bad]
    calls = {  # the argument's name as each caller gives it, the form it asks for, the call
        "tubes": ("clips", None, lambda: saliency_tubes(r3d, inputs=clip)),
        "tubes' list": ("clip 1", False, lambda: saliency_tubes(r3d, inputs=[np.zeros(SHAPE, np.uint8), clip])),
        "LEAPS": ("inputs", False, lambda: leaps(r3d, 0, clip, verifier=None, steps=1)),
        "LEAPS' list": ("inputs[0]", False, lambda: leaps(r3d, [0], [clip], verifier=None, steps=1)),
        "prepare": ("rgb", None, lambda: r3d.vidvis_adapter.prepare({"rgb": clip})),
    }
    for caller, (name, batch, call) in calls.items():
        message = _refusal(call)
        # the validator's own message for that name and form, word for word
        strict = {"integers": False, "tolerance": 0.0} if caller.startswith("LEAPS") else {}
        assert message == _refusal(lambda: check_frames(clip, name, batch=batch, **strict)), caller
        assert message.startswith(f"{name} ") and "uint8 (0–255) or float in [0, 1]" in message, (caller, message)
        assert re.search(problem, message), (caller, message)
    if bad == "bool dtype":
        with pytest.raises(TypeError, match="rgb has dtype bool"):  # still the TypeError prepare raised
            r3d.vidvis_adapter.prepare({"rgb": clip})


def test_what_each_caller_accepted_it_still_accepts(r3d):
    """prepare and tubes take 0–255 integers and floats a rounding error outside [0, 1]; LEAPS takes neither."""
    ints = np.random.default_rng(0).integers(0, 256, SHAPE).astype(np.int64)
    near = np.clip(ints / 255.0, 0, 1) + 5e-4
    a = r3d.vidvis_adapter.prepare({"rgb": ints.astype(np.uint8)})[0]
    torch.testing.assert_close(r3d.vidvis_adapter.prepare({"rgb": ints})[0], a)
    assert check_frames(torch.from_numpy(near), "clips", batch=None).shape == (1, *SHAPE)
    with pytest.raises(ValueError, match=r"inputs has dtype int64; .* \(for 0–255 integers use \.astype"):
        check_frames(ints, "inputs", batch=False, integers=False)
    with pytest.raises(ValueError, match=r"inputs has float values in \[0.0005, 1\]"):
        check_frames(near, "inputs", batch=False, integers=False, tolerance=0.0)
