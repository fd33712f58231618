"""The AM regularizers against direct numpy implementations of eqs. 2 and 3 (Feichtenhofer et al.)."""

import numpy as np
import pytest
import torch

from vidvis_widgets.methods import Objective, energy, project_to_bound, total_variation, tv, unit
from vidvis_widgets.methods.core.objectives import BatchedObjective
from vidvis_widgets.methods.core.regularizers import energy_norm, temporal_variation


def numpy_energy(x, alpha):
    """N_B(x) = Σ_{i,j,k} (Σ_d x(i,j,k,d)²)^(α/2), x as H×W×T×D like the paper."""
    out = 0.0
    H, W, T, D = x.shape
    for i in range(H):
        for j in range(W):
            for k in range(T):
                out += sum(x[i, j, k, d] ** 2 for d in range(D)) ** (alpha / 2)
    return out


def numpy_tv(x, kappa, gamma):
    """Σ_ijkd κ((∇_x x)² + (∇_y x)²) + γ(∇_t x)², forward differences, x as H×W×T×D."""
    dy = np.diff(x, axis=0) ** 2
    dx = np.diff(x, axis=1) ** 2
    dt = np.diff(x, axis=2) ** 2
    return kappa * (dx.sum() + dy.sum()) + gamma * dt.sum()


def to_paper(x):  # N×D×T×H×W → H×W×T×D for one job
    return np.transpose(x, (2, 3, 1, 0))


@pytest.fixture
def batch():
    rng = np.random.default_rng(3)
    return rng.normal(0, 40, (3, 2, 5, 7, 6)).astype(np.float64)


@pytest.mark.parametrize("alpha", [2.0, 3.0, 6.0])
def test_energy_norm_matches_equation_2(batch, alpha):
    got = energy_norm(torch.tensor(batch), alpha).numpy()
    want = [numpy_energy(to_paper(x), alpha) for x in batch]
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_energy_norm_takes_a_per_job_exponent(batch):
    alphas = [2.0, 3.0, 4.0]
    got = energy_norm(torch.tensor(batch), torch.tensor(alphas)).numpy()
    np.testing.assert_allclose(got, [numpy_energy(to_paper(x), a) for x, a in zip(batch, alphas)], rtol=1e-9)


@pytest.mark.parametrize("kappa,gamma", [(1.0, 0.0), (5.0, 5.0), (1.0, 10.0), (0.0, 1.0)])
def test_total_variation_matches_equation_3(batch, kappa, gamma):
    got = total_variation(torch.tensor(batch), kappa, gamma).numpy()
    want = [numpy_tv(to_paper(x), kappa, gamma) for x in batch]
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_total_variation_with_per_job_weights(batch):
    k, g = [1.0, 2.5, 10.0], [10.0, 0.0, 1.0]
    got = total_variation(torch.tensor(batch), torch.tensor(k), torch.tensor(g)).numpy()
    np.testing.assert_allclose(got, [numpy_tv(to_paper(x), a, b) for x, a, b in zip(batch, k, g)], rtol=1e-9)


def test_single_frame_has_no_temporal_term(batch):
    one = torch.tensor(batch[:, :, :1])
    np.testing.assert_allclose(total_variation(one, 1.0, 100.0).numpy(), total_variation(one, 1.0, 0.0).numpy())
    assert (temporal_variation(one) == 0).all()


def test_projection_enforces_the_hard_bound_and_keeps_short_vectors(batch):
    x = torch.tensor(batch)
    norms = x.square().sum(1).sqrt()
    y = project_to_bound(x, 50.0)
    new = y.square().sum(1).sqrt()
    assert float(new.max()) <= 50.0 + 1e-9
    short = norms <= 50.0
    torch.testing.assert_close(y.permute(0, 2, 3, 4, 1)[short], x.permute(0, 2, 3, 4, 1)[short])
    # long vectors keep their direction
    long = ~short
    cos = (x * y).sum(1)[long] / (norms[long] * new[long])
    assert float(cos.min()) > 1 - 1e-12


def test_composed_objectives_evaluate_per_job():
    torch.manual_seed(0)
    streams = {"motion": torch.randn(3, 2, 4, 8, 8, dtype=torch.float64)}
    acts = {"conv": torch.randn(3, 5, 4, 4), "fc": torch.randn(3, 7)}
    objs = [unit("conv", 2) - 0.5 * tv("motion", 1, 10),
            2 * unit("fc", 6) - 1e-3 * energy("motion", 3),
            unit("conv", 0) + unit("conv", 4) / 4]
    parts = BatchedObjective(objs)(acts, streams)
    m = streams["motion"]
    want = [acts["conv"][0, 2].sum() - 0.5 * total_variation(m[:1], 1, 10)[0],
            2 * acts["fc"][1, 6] - 1e-3 * energy_norm(m[1:2], 3)[0],
            acts["conv"][2, 0].sum() + acts["conv"][2, 4].sum() / 4]
    torch.testing.assert_close(parts["total"].double(), torch.stack(want).double(), rtol=1e-5, atol=1e-5)
    assert "unit('conv', channel=2)" in repr(objs[0]) and "- 0.5·tv('motion'" in repr(objs[0])
    assert isinstance(sum([unit("a", 1), unit("b", 2)]), Objective)
