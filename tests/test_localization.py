"""The localization benchmark: the measures on maps with known answers, then saliency tubes of the embedded
tiny_r3d against the uniform and centre-bias baselines on the test split's object masks."""

import numpy as np
import pytest
import torch

from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.methods.core.region_energy import region_energy
from vidvis_widgets.methods.core.regions import mask
from vidvis_widgets.methods.saliency_tubes.localization import (centre_bias_map, energy_in_mask, localization_benchmark,
                                                 pointing_game, uniform_random_map)
from vidvis_widgets.methods.saliency_tubes.tubes import SaliencyTubes
from vidvis_widgets.models import load_model


def test_measures_on_maps_with_known_answers():
    mask = torch.zeros(2, 3, 8, 8, dtype=torch.bool)
    mask[:, :, 2:4, 2:4] = True
    mask[1, 2] = False  # a frame without the object is not counted by the pointing game
    assert energy_in_mask(mask.float(), mask).tolist() == [1.0, 1.0]
    assert energy_in_mask(torch.ones(2, 3, 8, 8), mask)[0] == pytest.approx(4 / 64)
    assert energy_in_mask(torch.zeros(2, 3, 8, 8), mask).tolist() == [0.0, 0.0]
    s = torch.zeros(2, 3, 8, 8)
    s[:, :, 3, 3] = 1.0  # on the object
    s[0, 1, 3, 3], s[0, 1, 6, 6] = 0.0, 1.0  # frame 1 of clip 0 peaks off it, 2 pixels from its corner
    hits, frames = pointing_game(s, mask)
    assert hits.tolist() == [2, 2] and frames.tolist() == [3, 2]
    assert pointing_game(s, mask, tolerance=2)[0].tolist() == [2, 2]
    assert pointing_game(s, mask, tolerance=3)[0].tolist() == [3, 2]


def test_baselines_score_what_they_should():
    mask = torch.zeros(200, 4, 32, 32, dtype=torch.bool)
    mask[:, :, :8, :8] = True  # a corner: 1/16 of the frame
    u = uniform_random_map(mask.shape, torch.Generator().manual_seed(0))
    assert float(energy_in_mask(u, mask).mean()) == pytest.approx(1 / 16, abs=0.003)
    hits, frames = pointing_game(u, mask)
    assert float(hits.sum() / frames.sum()) == pytest.approx(1 / 16, abs=0.015)
    c = centre_bias_map(mask.shape)
    assert float(c[0, 0, 16, 16]) == pytest.approx(float(c.max()), rel=0.01) and float(energy_in_mask(c, mask)[0]) < 0.5 / 16


@pytest.fixture(scope="module")
def table():
    """The defaults: CAM at τ = 0, the gradient form Grad-CAM over every channel (one run, ~80 s on 2 cores, shared)."""
    return localization_benchmark(load_model("tiny_r3d"), SyntheticActions("test"), layers=("layer3", "layer2", "layer1"))


@pytest.fixture(scope="module")
def table_tau0():
    """τ = 0 in both forms: only the channels that raise the class score (the gradient form's default before it became
    Grad-CAM, the map the bounds of the first test were set on). One run, shared."""
    return localization_benchmark(load_model("tiny_r3d"), SyntheticActions("test"), layers=("layer2", "layer1"),
                                  threshold=0.0)


def test_tubes_beat_both_baselines_on_the_test_split(table_tau0):
    print(table_tau0)
    rows = {r["key"]: r for r in table_tau0.rows}
    assert rows["cam"]["clips"] == 420 and rows["cam"]["frames"] == 420 * 16
    for key in ("cam", "grad"):
        r = rows[key]
        assert r["pointing"] > 2.5 * rows["centre"]["pointing"] and r["pointing"] > 10 * rows["uniform"]["pointing"]
        assert r["energy_in_mask"] > 1.2 * rows["centre"]["energy_in_mask"]
        assert r["energy_in_mask"] > 2 * rows["uniform"]["energy_in_mask"]
        assert r["energy_in_mask"] < rows["ceiling"]["energy_in_mask"] and r["pointing"] < rows["ceiling"]["pointing"]
    # earlier layers, smaller receptive fields: layer2 sees 15 px and layer1 7 px of the frame's 64, layer4 47
    centre = rows["centre"]
    for key, energy, pointing in (("grad:layer2", 2.5, 2), ("grad:layer1", 3.5, 4)):
        assert rows[key]["energy_in_mask"] > energy * centre["energy_in_mask"], rows[key]
        assert rows[key]["pointing"] > pointing * centre["pointing"], rows[key]
    assert rows["grad:layer1"]["pointing"] > 1.5 * rows["cam"]["pointing"]
    assert rows["uniform"]["energy_in_mask"] == pytest.approx(rows["uniform"]["mask_fraction"], abs=0.002)


def test_grad_cam_tubes_beat_both_baselines_on_the_test_split(table, table_tau0):
    """The defaults (measured: Grad-CAM at layer1 34.7% pointing, 16.6% energy; centre map 10.3%, 4.3%; uniform 2.2%)."""
    print(table)
    rows = {r["key"]: r for r in table.rows}
    assert rows["cam"]["clips"] == 420 and rows["cam"]["frames"] == 420 * 16
    centre, uniform = rows["centre"], rows["uniform"]
    for key in ("cam", "grad"):  # the last layer
        r = rows[key]
        assert r["pointing"] > 2.5 * centre["pointing"] and r["pointing"] > 10 * uniform["pointing"]
        assert r["energy_in_mask"] > 1.2 * centre["energy_in_mask"] and r["energy_in_mask"] > 2 * uniform["energy_in_mask"]
        assert r["energy_in_mask"] < rows["ceiling"]["energy_in_mask"] and r["pointing"] < rows["ceiling"]["pointing"]
    for key in ("grad", "grad:layer3", "grad:layer2", "grad:layer1"):  # every Grad-CAM row beats the uniform map
        assert rows[key]["energy_in_mask"] > 2 * uniform["energy_in_mask"], rows[key]
        assert rows[key]["pointing"] > 2 * uniform["pointing"], rows[key]
    for key, energy, pointing in (("grad:layer2", 3, 2), ("grad:layer1", 3, 3)):
        assert rows[key]["energy_in_mask"] > energy * centre["energy_in_mask"], rows[key]
        assert rows[key]["pointing"] > pointing * centre["pointing"], rows[key]
    assert rows["grad:layer3"]["energy_in_mask"] > 1.3 * centre["energy_in_mask"]
    assert rows["grad:layer1"]["pointing"] > rows["cam"]["pointing"]
    assert rows["grad:layer3"]["map"] == "gradient-weighted tubes at layer3"  # reported, whatever it scores
    # by default the gradient form is Grad-CAM over every channel, not CAM at τ = 0 (the test below: at τ = 0 they agree)
    assert rows["grad"]["energy_in_mask"] != pytest.approx(rows["cam"]["energy_in_mask"], abs=1e-3)
    # summing the channels whose weight lowers the score too, then rectifying, points less often at earlier layers
    tau0 = {r["key"]: r for r in table_tau0.rows}
    for key in ("grad:layer2", "grad:layer1"):
        assert tau0[key]["pointing"] > rows[key]["pointing"], key
    assert tau0["cam"] == rows["cam"]  # CAM's default τ is 0
    assert rows["uniform"]["energy_in_mask"] == pytest.approx(rows["uniform"]["mask_fraction"], abs=0.002)
    assert "&lt;" not in table._repr_html_() and "<td>Saliency Tubes (CAM, eqs. 1–2)</td>" in table._repr_html_()


def test_at_tau_zero_a_pool_linear_head_makes_the_gradient_form_the_cam_form(table_tau0):
    """α = y / (T'H'W') on tiny_r3d's pool → linear head, so τ = 0 keeps the same channels in both forms (the ones that
    raise the class score), and with non-negative activations Grad-CAM's ReLU changes nothing: all 420 test clips."""
    rows = {r["key"]: r for r in table_tau0.rows}
    assert rows["cam"]["clips"] == 420
    for measure in ("energy_in_mask", "pointing"):
        assert rows["grad"][measure] == pytest.approx(rows["cam"][measure], abs=1e-4)


def test_on_the_counterfactual_split_the_shortcut_class_points_at_the_moving_eyes():
    """counterfactual apply_eye_makeup clips have moving eyes, the planted cue of apply_lipstick: tiny_r3d calls them
    apply_lipstick, and that class's tube peaks on the eyes more often than on the applicator."""
    data = SyntheticActions("counterfactual")
    probe = data.arrays()
    eyes = probe["region_masks"][:, data.region_names.index("eyes")]
    keep = probe["label"] == SyntheticActions.classes.index("apply_eye_makeup")
    clips = {k: v[keep] for k, v in {**probe, "eyes": eyes}.items()}
    result = SaliencyTubes(load_model("tiny_r3d"))(inputs=clips)
    lipstick = SyntheticActions.classes.index("apply_lipstick")
    assert (result.predicted == lipstick).all()
    tubes = result.tubes()
    on_eyes, frames = pointing_game(tubes, torch.as_tensor(clips["eyes"]), tolerance=1)
    on_tool, _ = pointing_game(tubes, torch.as_tensor(clips["mask"]), tolerance=1)
    assert int(on_eyes.sum()) > 1.5 * int(on_tool.sum())
    energy = region_energy(result, [mask(clips["mask"], name="class object"), mask(clips["eyes"], name="eyes")])
    assert energy.value("eyes", "share") > 3 * energy.value("class object", "share")


def test_the_frame_wise_2d_model_has_one_map_per_frame():
    clips = SyntheticActions("test").arrays([0, 30])
    r2d = SaliencyTubes(load_model("tiny_frame2d"))(inputs=clips)
    r3d = SaliencyTubes(load_model("tiny_r3d"))(inputs=clips)
    assert r2d.method == "cam" and r2d.activations.shape[2] == 16 and r3d.activations.shape[2] == 4
    assert np.isfinite(r2d.frame_energy().numpy()).all()
