"""ρ_l in eq. 1 is the size of layer l's receptive field (IJCV 2020 §3), also where that field passes the input."""

import pytest

from vidvis_widgets.methods import ActivationMaximization, AMJob, unit
from vidvis_widgets.models import list_layers, load_model


def _unit_weight(am, job) -> float:
    (term,) = [t for t in am.objective(job).terms if t.op == "unit"]
    return term.weight


def test_rho_is_the_receptive_field_even_past_the_input():
    model = load_model("tiny_two_stream")
    am = ActivationMaximization(model, activation_max=None)  # â = 1: the unit term's weight is 1/ρ²
    (row,) = list_layers(model, ((3, 64, 64), (20, 64, 64)), layers=["conv5_fusion"])
    # VGG-16's conv5_3 field, 196 px (IJCV 2020 Table 1), through the fusion's 3×3 at stride 16: 228 px, 3.6×
    # the 64 px input (a cap at 3× the input side made ρ 192)
    assert row.receptive_field == (228, 228) and row.stride == (16, 16)
    assert _unit_weight(am, AMJob(unit("conv5_fusion", 7))) == pytest.approx(1 / 228 ** 2, rel=1e-9)
    # a vector layer's field is the whole input: ρ is the input's side
    assert _unit_weight(am, AMJob(unit("fc6", 0))) == pytest.approx(1 / 64 ** 2, rel=1e-9)
    # the regularizers share the 1/ρ² (so the terms weigh alike at a = â): λ_B = regularization/(ρ² H W B^α)
    (energy,) = [t for t in am.objective(AMJob(unit("conv5_fusion", 7))).terms if t.op == "energy" and t.target == "motion"]
    assert -energy.weight == pytest.approx(0.1 / (228 ** 2 * 64 * 64 * 160.0 ** 3), rel=1e-9)
