"""bf16=True on every method: the forward passes run under bfloat16 autocast (on the CPU here, as on a GPU)
and agree with float32 to bfloat16's precision."""

import numpy as np
import torch

from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.methods import AMJob, unit, ActivationMaximization, InversionJob, ModelInversion, SaliencyTubes
from vidvis_widgets.models import load_model


def test_every_method_under_bf16_agrees_with_float32():
    model = load_model("tiny_r3d")
    clip = SyntheticActions("test", samples_per_class=1)[0]["rgb"]
    t32, t16 = SaliencyTubes(model)(inputs=clip), SaliencyTubes(model, bf16=True)(inputs=clip)
    assert not torch.equal(t16.activations, t32.activations)  # the layer really ran in bfloat16
    a, b = t32.tubes().flatten().numpy(), t16.tubes().float().flatten().numpy()
    assert np.corrcoef(a, b)[0, 1] > 0.98

    job = AMJob(unit("layer3", 5))
    (r32,) = ActivationMaximization(model, activation_max=None, steps=3)(job)
    (r16,) = ActivationMaximization(model, activation_max=None, steps=3, bf16=True)(job)
    # the first step scores the same seeded start: equal to bfloat16's 8 bits of mantissa (and summation)
    np.testing.assert_allclose(r16.activation[0], r32.activation[0], rtol=3e-2)

    stimulus = SyntheticActions("test", samples_per_class=1)[0]["rgb"]
    jobs = [InversionJob(0, 0, variant="leaps")]
    h32 = ModelInversion(model, steps=2)(jobs, [stimulus])[0].history
    h16 = ModelInversion(model, steps=2, bf16=True)(jobs, [stimulus])[0].history
    for term in ("ce", "prim", "coh", "feat"):
        np.testing.assert_allclose(h16[term][0], h32[term][0], rtol=5e-2, atol=1e-3, err_msg=term)
