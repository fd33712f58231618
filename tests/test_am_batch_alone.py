"""A batch of AM jobs gives what its jobs give alone: bitwise on the embedded two-stream model, within float noise
(stated tolerances) on torchvision's r3d_18, whose batched 3D convolutions sum in another order than a batch of one."""

import numpy as np
import pytest

from vidvis_widgets.methods import ActivationMaximization, AMJob, unit
from vidvis_widgets.models import load_model


def _batch_and_alone(model, layers, n):
    am = ActivationMaximization(model, activation_max=None, steps=3)
    jobs = [AMJob(unit(layers[i % len(layers)], 3 * i + 1), 1.0, (10.0, 5.0, 1.0, 0.0)[i % 4], seed=i) for i in range(n)]
    return am(jobs), [am(j)[0] for j in jobs]


def test_a_batch_equals_its_jobs_alone_bitwise_on_tiny_two_stream():
    together, alone = _batch_and_alone(load_model("tiny_two_stream"), ["conv5_fusion", "fc8"], 4)
    for b, a in zip(together, alone):
        np.testing.assert_array_equal(a.appearance, b.appearance)
        np.testing.assert_array_equal(a.motion, b.motion)
        np.testing.assert_array_equal(a.activation, b.activation)
        assert a.normalized_activation == b.normalized_activation and a.best_step == b.best_step
        # the objective's regularizer sums are reduced over the batch in another order: float noise (measured ≤ 2e-7)
        np.testing.assert_allclose(a.objective, b.objective, rtol=1e-6)


def test_a_batch_equals_its_jobs_alone_within_float_noise_on_r3d_18():
    """r3d_18 (random weights) at 8×32², 3 steps, a batch of 3. Measured (2 CPU cores, batches of 2–4): a/â within
    2.7e-3 relative, the activation history within 2.4e-3 of its largest value; input values (8-bit scale, a range
    of about 285) within 5.9 at most and 0.34 on average: Adam's first steps are about ±lr whatever a gradient
    entry's size, so an entry near zero whose sign the noise flips moves a full step. Asserted with a margin of
    about 3×."""
    model = load_model("torchvision:r3d_18", weights=None, num_frames=8, size=32)
    together, alone = _batch_and_alone(model, ["layer4", "layer3", "fc"], 3)
    for b, a in zip(together, alone):
        assert a.status == b.status == "completed"
        d = np.abs(a.appearance - b.appearance)
        assert d.max() <= 16 and d.mean() <= 1, (b.job, d.max(), d.mean())
        assert b.normalized_activation == pytest.approx(a.normalized_activation, rel=1e-2)
        np.testing.assert_allclose(b.activation, a.activation, rtol=0, atol=1e-2 * np.abs(a.activation).max())
