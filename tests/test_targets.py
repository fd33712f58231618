"""Targets as values: a unit (summed, or at one position), a class logit (by index or name) and arithmetic on them,
taken by every method under ``target=``. A difference of two logits runs through activation maximization and
Saliency Tubes and LEAPS on every architecture of the model matrix (tests/test_model_matrix.py's small builders);
every value is checked against the model's own logits, read by the test's own forward pass (and the tube weights
against the gradient the test's own hook sees), independent of the package's probe."""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict

import numpy as np
import pytest
import torch
from torchvision.models.video import swin_transformer

from vidvis_widgets.methods import (AMJob, ActivationMaximization, InversionJob, ModelInversion, Objective,
                                    SaliencyTubes, Target, logit, tv, unit)
from vidvis_widgets.methods.core.targets import as_target, target_values
from vidvis_widgets.models import load_model
from vidvis_widgets.store import ResultStore

from .test_method_store import Forwards
from .test_model_matrix import ARCHS, _am_input, _build, _channels_first, _clips, _forward, _model_units, _native

A, B = 1, 3  # the classes of the difference: logit("action_1") - logit(3), one by name and one by index
DIFF = logit("action_1") - logit(B)


def _own_diff(model, x) -> torch.Tensor:
    """The logit difference on model input ``x`` by the test's own forward pass."""
    with torch.no_grad():
        z = _forward(model, x)
    return z[:, A] - z[:, B]


# -- the values themselves --------------------------------------------------------------------------------------
def test_targets_compose_print_and_round_trip():
    t = 2 * logit("a") - logit(3) / 4 + unit("layer3", 5, position=(0, 1, 2))
    assert isinstance(t, Target) and len(t.terms) == 3
    assert repr(t) == "2·logit('a') - 0.25·logit(3) + unit('layer3', 5, position=(0, 1, 2))"
    assert repr(-logit(1)) == "-logit(1)" and isinstance(sum([logit(1), logit(2)]), Target)
    assert t == Target.from_json(json.loads(json.dumps(t.to_json()))) and hash(t) == hash(Target.from_json(t.to_json()))
    # with a regularizer it is an objective, no longer a target
    mixed = logit(1) - 0.1 * tv("video", 1, 1)
    assert type(mixed) is Objective and not isinstance(mixed, Target)
    assert as_target(4) == logit(4) and as_target("x") == logit("x") and as_target(("l", 2)) == unit("l", 2)
    for bad, match in ((lambda: unit("l", -1), "channel must be an index"), (lambda: logit(1.5), "class must be"),
                       (lambda: unit("l", 1, (0, 1)), r"position must be \(t, y, x\)"),
                       (lambda: as_target(mixed), "regularizer terms"), (lambda: as_target(1.5), "must be a target")):
        with pytest.raises((ValueError, TypeError), match=match):
            bad()
    # a class is its logit in every job; one logit is a class's LEAPS job; a unit is unit(), not a pair
    assert AMJob(3) == AMJob(logit(3)) and AMJob("a").target == logit("a") and InversionJob(logit(3)).target == 3
    with pytest.raises(TypeError, match=r"a unit is unit\(layer, channel\)"):
        AMJob(("layer3", 4))
    assert json.dumps(asdict(AMJob(target=DIFF)))  # store keys and settings hold it as JSON


def test_target_values_on_recorded_layers_match_the_hand_sums():
    torch.manual_seed(0)
    acts = {"conv": torch.randn(3, 4, 2, 3, 3), "head": torch.randn(3, 5, 2, 1, 1), "fc": torch.randn(3, 6)}

    class Adapter:  # what resolution asks: the logit layer and the class names
        name, logit_layer, class_names = "test", "head", tuple("abcde")

    targets = [(logit("b") - logit(4)).resolve(Adapter), (unit("conv", 2) + 0.5 * unit("fc", 1)).resolve(Adapter),
               unit("conv", 3, position=(1, 2, 0)).resolve(Adapter) - 2 * logit(0).resolve(Adapter)]
    got = target_values(targets, acts)
    head = acts["head"].flatten(2).mean(2)  # a convolutional head's logit: its maps averaged, as its pool does
    want = torch.stack([head[0, 1] - head[0, 4], acts["conv"][1, 2].sum() + 0.5 * acts["fc"][1, 1],
                        acts["conv"][2, 3, 1, 2, 0] - 2 * head[2, 0]])
    torch.testing.assert_close(got, want)
    # after a ReLU where the probe recorded its input
    r = target_values([unit("conv", 2)] * 3, acts, rectified={"conv"})
    torch.testing.assert_close(r, acts["conv"][:, 2].clamp_min(0).flatten(1).sum(1))
    with pytest.raises(ValueError, match="unknown class 'z'"):
        logit("z").resolve(Adapter)
    with pytest.raises(ValueError, match=r"position \(0, 3, 0\) is outside layer 'conv'"):
        unit("conv", 1, (0, 3, 0)).check({"conv": (4, 2, 3, 3)})


# -- every architecture: AM and Saliency Tubes --------------------------------------------------------------------
@pytest.fixture(scope="module", params=ARCHS)
def model(request):
    return _build(request.param)


def test_logit_difference_in_am_and_tubes_matches_the_models_own_logits(model):
    # AM maximizes it: the returned input's value is the model's own difference, and beats the start
    am = ActivationMaximization(model, activation_max=None, steps=4, jitter=False, regularization=0)
    (r,) = am(DIFF)
    assert r.status == "completed" and r.job.target == (logit(A) - logit(B)).resolve(model.vidvis_adapter)
    assert r.job.target.layers() == {model.vidvis_adapter.logit_layer} and r.activation_caption.startswith("value ")
    own = float(_own_diff(model, _am_input(model, r))[0])
    assert r.normalized_activation == pytest.approx(own, rel=1e-3, abs=1e-3)
    if model.vidvis_adapter.name != "hf:xclip":
        assert r.normalized_activation > r.activation[0]
    # (on the random X-CLIP the class texts differ by one word, and the difference of their cosine scores is not
    # smooth at AM's step sizes: one Adam step of 0.005 takes it from 1.48 to −0.08, so only its value is checked)

    # tubes map its gradient: its value per clip is the model's own, its weights the gradient the test's hook sees
    clips = _clips(model, 2)
    x = _model_units(clips, model)
    tubes = SaliencyTubes(model)(inputs=clips, target=DIFF)
    torch.testing.assert_close(tubes.target_values.cpu(), _own_diff(model, x), atol=1e-4, rtol=1e-4)
    layer = tubes.layer
    seen = {}

    def keep(_m, _i, out):
        first = out[0] if isinstance(out, tuple) else out
        first.retain_grad()
        seen["out"], seen["first"] = out, first

    handle = model.get_submodule(layer).register_forward_hook(keep)
    try:
        z = _forward(model, x)
        (z[:, A] - z[:, B]).sum().backward()
    finally:
        handle.remove()
        model.zero_grad(set_to_none=True)
    out = seen["out"]
    grad = (seen["first"].grad, *out[1:]) if isinstance(out, tuple) else seen["first"].grad
    if isinstance(model, swin_transformer.SwinTransformer3d):  # torchvision's Swin: N×T×H×W×C after its last norm
        alpha = grad.flatten(1, -2).mean(1)
    else:
        alpha = _channels_first(model, layer, grad).mean(2)  # Grad-CAM's α: the gradient averaged over positions
    positions = int(np.prod(tubes.activations.shape[2:]))
    # CAM (a pool → linear head): Σ w_c y_c, which is α times the positions the pool averages
    want = alpha * positions if tubes.method == "cam" else alpha
    torch.testing.assert_close(tubes.target_weights.cpu(), want, atol=1e-4 * float(want.abs().max()) + 1e-6,
                               rtol=1e-3)
    t = tubes.tubes()
    assert tuple(t.shape) == clips.shape[:4] and torch.isfinite(t).all()
    assert tubes.caption(0).startswith("logit(1) - logit(3) = ")
    # the per-class tubes of the clips' top classes are still there
    assert tuple(tubes.tubes(target=int(tubes.predicted[0])).shape) == clips.shape[:4]


# -- every architecture: LEAPS -------------------------------------------------------------------------------------
def test_logit_difference_in_leaps_is_its_class_term(model, request):
    """One step at a learning rate too small to move x*, without jitter: the class term of the step is the negated
    difference on the returned input, as the model's own logits give it, and each result's probabilities are the
    model's own on its input; the baselines' "am" runs it too. Then a few real steps raise the difference.

    Cheap on every architecture: the model is the module's fixture, built once for AM, tubes and LEAPS; x* is the
    native size, the least S3D's and X3D's head pools take and the fixed-size token models' own (another size is
    interpolated to it, saving nothing); R_feat's verifier, which sees 16×64² on every pass, runs on R3D alone, since
    the class term does not depend on it (R_feat itself is tests/test_leaps_objective.py's); the "am" job runs in
    the same call; the test's own forward passes are one batch. On one thread this is 11 s of compute for all twelve,
    S3D's 3.9 s the most (the old body took 4.2 s there: its 55 s was two threads contending on busy cores)."""
    stimulus = _clips(model, 1, seed=1)[0]
    verifier = "tiny_verifier" if request.node.callspec.params["model"] == "r3d" else None
    inv = ModelInversion(model, verifier, steps=1, size=_native(model), lr=1e-7, jitter=0)
    jobs = [InversionJob(DIFF, variant="deepdream"), InversionJob(DIFF, stimulus=0, variant="leaps"),
            InversionJob(A, stimulus=0, variant="leaps"), InversionJob(DIFF, variant="am")]
    with pytest.warns(UserWarning, match="not the target"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "verifier=None")  # R_feat left out, as asked
        results = inv(jobs, [stimulus], stimulus_labels=[0])  # the stimulus is labelled 0: the check reads class 1
    assert [(r.job.variant, r.job.stimulus) for r in results] == [(j.variant, j.stimulus) for j in jobs]
    assert all(r.status == "completed" for r in results)
    assert {r.job.target for r in results} == {(logit(A) - logit(B)).resolve(model.vidvis_adapter), A}
    x = torch.stack([torch.as_tensor(r.x).float() for r in results])
    with torch.no_grad():
        z = _forward(model, x)  # the model's own logits on every returned input, one batch
    own = z[:, A] - z[:, B]
    for i, r in enumerate(results):
        # a difference of large logits: the batch's own rounding, at the logits' scale
        tol = 5e-4 * (1 + float(z[i].abs().max()))  # S3D was 0.0044 off at logits of ±30
        torch.testing.assert_close(torch.as_tensor(r.probabilities), z[i].softmax(0), atol=1e-4, rtol=1e-3)
        if r.job.variant == "am":  # the baseline maximizes the target by activation maximization
            assert r.settings["job"]["target"]["terms"][0]["kind"] == "logit"
        elif isinstance(r.job.target, Target):
            assert r.history["ce"][0] == pytest.approx(-float(own[i]), abs=tol)
        else:  # a class keeps the paper's cross-entropy
            ce = torch.nn.functional.cross_entropy(z[i:i + 1], torch.tensor([A]))
            assert r.history["ce"][0] == pytest.approx(float(ce), abs=tol)
    # LEAPS maximizes it: a few real steps raise the difference above the start's. On the random X-CLIP, whose
    # logits are its video's scaled cosine scores against the class texts (which differ by one word), the class term
    # is still the difference of two of its logits, and holds above; its first step may lower it (as AM's does, see
    # above), but six steps raise it from −0.05 to 8.5
    inv = ModelInversion(model, None, steps=6, size=_native(model), jitter=0)
    r = inv([InversionJob(DIFF, variant="deepdream")])[0]
    assert float(_own_diff(model, torch.as_tensor(r.x)[None].float())[0]) > -r.history["ce"][0]


# -- units and the store ------------------------------------------------------------------------------------------
def test_a_unit_at_one_position_in_am_and_tubes():
    m = load_model("tiny_r3d")
    am = ActivationMaximization(m, activation_max=None, steps=3, jitter=False, regularization=0)
    r = am(AMJob(target=unit("layer3", 2, position=(1, 2, 3)) + unit("layer2", 0)))[0]
    assert am.resolve([r.job])[0].layer == "layer3" and r.status == "completed"  # ρ and jitter: the deepest layer
    seen = {}
    hooks = [m.get_submodule(n).register_forward_hook(lambda _m, _i, o, n=n: seen.__setitem__(n, o))
             for n in ("layer2", "layer3")]
    with torch.no_grad():
        m(torch.as_tensor(r.appearance).float().permute(3, 0, 1, 2)[None] / 255
          / torch.tensor(m.vidvis_adapter.std).view(1, 3, 1, 1, 1))
    for h in hooks:
        h.remove()
    own = float(seen["layer3"][0, 2, 1, 2, 3].clamp_min(0) + seen["layer2"][0, 0].clamp_min(0).sum())
    assert r.normalized_activation == pytest.approx(own, rel=1e-3, abs=1e-3)
    with pytest.raises(ValueError, match=r"position \(9, 0, 0\) is outside layer 'layer3'"):
        am(AMJob(target=unit("layer3", 2, position=(9, 0, 0)) - logit(0)))[0]
    # a unit on the tube layer itself: its gradient there is one position of one channel
    clips = np.random.default_rng(0).integers(0, 256, (2, *m.vidvis_adapter.native_shape, 3), dtype=np.uint8)
    g = SaliencyTubes(m, method="grad")(inputs=clips, target=2 * unit("layer4", 3, position=(0, 0, 1)))
    positions = int(np.prod(g.activations.shape[2:]))
    want = torch.zeros_like(g.target_weights)
    want[:, 3] = 2 / positions
    torch.testing.assert_close(g.target_weights, want)
    with pytest.raises(ValueError, match="CAM form"):  # units have no linear-head weights
        SaliencyTubes(m, method="cam")(inputs=clips, target=unit("layer4", 3) - logit(0))


def test_targets_are_kept_in_the_store(tmp_path):
    m = load_model("tiny_r3d")
    DIFF = logit("apply_lipstick") - logit("apply_eye_makeup")  # the example, on the embedded classes
    store = ResultStore(tmp_path)
    clips = np.random.default_rng(0).integers(0, 256, (2, *m.vidvis_adapter.native_shape, 3), dtype=np.uint8)
    (first,) = ActivationMaximization(m, activation_max=None, steps=2, store=store)(DIFF)
    tubes = SaliencyTubes(m, store=store)(inputs=clips, target=DIFF)
    with Forwards(m) as fw:
        (again,) = ActivationMaximization(m, activation_max=None, steps=2, store=store)(DIFF)
        tubes2 = SaliencyTubes(m, store=store)(inputs=clips, target=DIFF)
    assert fw.n == 0
    np.testing.assert_array_equal(first.appearance, again.appearance)
    assert again.job == first.job and tubes2.target == tubes.target
    np.testing.assert_allclose(tubes.tubes().cpu().numpy(), tubes2.tubes().cpu().numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="were not computed"):
        tubes2.tubes(target=logit(0) - logit(1))
    with Forwards(m) as fw:  # another target is another question
        SaliencyTubes(m, store=store)(inputs=clips, target=logit(0) - logit(1))
    assert fw.n > 0
