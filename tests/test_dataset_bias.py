"""The evidence the instructor's key (notebooks/instructor/) points to is really in the embedded model.

apply_lipstick's planted shortcut (``data.bias.plan_bias(None)``) is eye motion: in train/val/test the eyes move only in its clips. The
eyes sit in the upper half of the face and the lipstick applicator (the intended cue) in the lower half,
and the model's pool5 keeps the 2×2 quadrants apart, so where the class logit's optimized motion puts its
energy says which cue the logit reads.
"""

import numpy as np
import pytest

from vidvis_widgets.data.synthetic import SyntheticActions
from vidvis_widgets.methods import ActivationMaximization, AMJob, unit
from vidvis_widgets.models import evaluate, load_model


@pytest.fixture(scope="module")
def model():
    return load_model("tiny_two_stream")


def test_dataset_puts_the_spurious_cue_above_and_the_intended_cue_below():
    data = SyntheticActions("val", samples_per_class=8)
    clips = data.arrays(np.flatnonzero(data.labels == data.classes.index("apply_lipstick")))
    speed = np.sqrt((clips["flow"] ** 2).sum(2))  # N×T×H×W
    cue, other = speed * clips["mask"], speed * ~clips["mask"]  # mask: the applicator; the rest moving: the eyes
    assert cue[..., 32:, :].sum() > 20 * cue[..., :32, :].sum()
    assert other[..., :32, :].sum() > 20 * other[..., 32:, :].sum()


def test_lipstick_logit_input_moves_where_the_eyes_are_not_where_the_lipstick_is(model):
    c = model.vidvis_adapter.class_names.index("apply_lipstick")
    # the papers' slow and medium temporal regularization, two random starts each
    results = ActivationMaximization(model)([AMJob(unit("fc8", c), 1.0, g, s) for g in (10.0, 5.0) for s in (0, 1)])
    ratios = []
    for r in results:
        energy = (r.motion ** 2).sum(1).mean(0)  # H×W flow energy
        ratios.append(energy[:32].sum() / energy[32:].sum())
        assert r.normalized_activation > 1  # the logit is really driven past every validation clip
    assert min(ratios) > 1.3, ratios  # measured 1.50–1.87 on every start (the plain model: 1.67–2.34)


def test_counterfactual_split_confirms_the_shortcut(model):
    probe = evaluate(model, SyntheticActions("counterfactual", samples_per_class=10))
    test = evaluate(model, SyntheticActions("test", samples_per_class=10))
    pair = [test.class_index(c) for c in ("apply_eye_makeup", "apply_lipstick")]
    on_pair = np.isin(test.labels, pair)
    assert (test.predictions[on_pair] == test.labels[on_pair]).mean() == 1.0
    # with the eye motion swapped, the model follows the eyes and gets the pair backwards
    assert probe.accuracy < 0.1
    assert (probe.videos("apply_eye_makeup", "apply_lipstick").size
            + probe.videos("apply_lipstick", "apply_eye_makeup").size) > 18
