"""One objective mechanism: a term names its operation ``op``, and what stored results wrote keeps reading the same."""

from __future__ import annotations

import json

from vidvis_widgets.methods.core.targets import Target, job_settings, logit, unit
from vidvis_widgets.methods.leaps.results import InversionJob


def test_terms_name_their_operation_op_and_stored_results_keep_their_field_names():
    t = logit(3) - 0.5 * unit("layer4", 2)
    assert [term.op for term in t.terms] == ["logit", "unit"] and not hasattr(t.terms[0], "kind")
    # a target as a store written before the rename keeps it (to_json's lists) loads as the same target
    stored = [["logit", "", 1.0, [["channel", 3]]], ["unit", "layer4", -0.5, [["channel", 2]]]]
    assert Target.from_json(stored) == t and t.to_json() == stored
    # a job's settings and store key: the field names results have always been saved with ("kind")
    s = json.loads(json.dumps(job_settings(InversionJob(t, stimulus=0, seed=2))))
    assert s == {"target": {"terms": [{"kind": "logit", "target": "", "weight": 1.0, "params": [["channel", 3]]},
                                      {"kind": "unit", "target": "layer4", "weight": -0.5,
                                       "params": [["channel", 2]]}]},
                 "stimulus": 0, "seed": 2, "variant": "leaps"}
    assert job_settings(InversionJob(4)) == {"target": 4, "stimulus": None, "seed": 0, "variant": "leaps"}


# -- LEAPS' terms through the shared machinery, against the paper's equations computed by hand --------------------
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from vidvis_widgets.methods.core.objectives import BatchedObjective, Loss, Objective, Term, energy  # noqa: E402
from vidvis_widgets.methods.leaps.inversion import VARIANTS  # noqa: E402
from vidvis_widgets.methods.leaps.terms import EVALUATORS, ce, job_objective, pooling, prim  # noqa: E402


def _jvs_distance(a, b, eps=1e-8):
    return 1 - np.mean([(2 * x * y + eps) / (x * x + y * y + eps) for x, y in zip(a, b)])


def _coherence(z, delta):  # eq. 2 on one video's C×T×S features, pair by pair
    T, pairs = z.shape[1], []
    for t1 in range(T):
        for t2 in range(t1 + 1, T):
            d = np.abs(z[:, t1] - z[:, t2]).mean()
            pairs.append(d if t2 == t1 + 1 else max(0.0, delta - d))
    return np.mean(pairs)


def test_a_leaps_objective_is_evaluated_by_the_shared_machinery_term_by_term():
    g = torch.Generator().manual_seed(0)
    N, K = 3, 5
    logits = torch.randn(N, K, generator=g) * 3
    features = [torch.rand(N, 4, 3, 6, generator=g), torch.rand(N, 5, 4, 2, generator=g)]  # N×C×T×S, two layers
    stim_means = [torch.rand(N, 4, generator=g), torch.rand(N, 5, generator=g)]
    lam, delta = torch.tensor([0.5, 1.0]), 0.3
    bn_inputs = [torch.randn(N, 4, 2, 3, 3, generator=g), torch.randn(N, 6, 2, 2, 2, generator=g) * 2 + 1]
    bns = []
    for a in bn_inputs:
        bn = nn.BatchNorm3d(a.shape[1])
        bn.running_mean.copy_(torch.rand(a.shape[1], generator=g))
        bn.running_var.copy_(torch.rand(a.shape[1], generator=g) + 0.5)
        bns.append(bn)
    groups = [0, 0, 1]  # R_feat pools videos 0 and 1, video 2 alone
    x = torch.randn(N, 3, 4, 5, 6, generator=g)
    loss = {v: VARIANTS[v](r=0.5, tv_weight=0.25, l2_weight=0.125) for v in VARIANTS}
    difference = Objective([Term("logit", "fc", 1.0, (("channel", 1),)), Term("logit", "fc", -1.0, (("channel", 3),))])
    from vidvis_widgets.methods.core.targets import Target

    target = Target(difference.terms)  # logit(1) - logit(3), resolved to the logit layer "fc"
    objectives = [job_objective(loss["leaps"], 2), job_objective(loss["deepdream"], 4),
                  job_objective(loss["prim+coh"], target)]
    # one sign convention: each job maximizes its loss negated, a target entering as itself
    assert repr(objectives[0]) == "-1·ce('video', class=2) - 1·prim('video') - 0.5·coh('video') - 0.5·feat('video')"
    assert repr(objectives[1]) == "-1·ce('video', class=4) - 0.25·tv_l2('video') - 0.125·l2('video')"
    assert repr(objectives[2]) == ("1·logit('fc', channel=1) - 1·logit('fc', channel=3) - 1·prim('video') - "
                                   "0.5·coh('video')")
    batched = BatchedObjective(objectives, evaluators=EVALUATORS)
    sums, values = batched.evaluate({"fc": logits}, {"video": x}, logits=logits, features=features,
                                    stimulus_means=stim_means, priming_weights=lam, delta=delta, bn_inputs=bn_inputs,
                                    bns=bns, pool=pooling(groups))
    got = {slot.op: v.double().numpy() for slot, v in values if slot.op in EVALUATORS}

    L, z, xs = logits.double().numpy(), [f.double().numpy() for f in features], x.double().numpy()
    want = {"ce": [np.log(np.exp(L[i]).sum()) - L[i, c] for i, c in ((0, 2), (1, 4), (2, 0))],  # eq. 4's L_CE
            "prim": [np.mean([w * _jvs_distance(f[i].mean((1, 2)), m[i].double().numpy())  # eq. 1
                              for w, f, m in zip(lam.tolist(), z, stim_means)]) for i in range(N)],
            "coh": [_coherence(z[1][i], delta) for i in range(N)],  # the last layer with time in it
            "tv_l2": [sum(np.mean(np.diff(xs[i], axis=d) ** 2) for d in (1, 2, 3)) for i in range(N)],
            "l2": [np.mean(xs[i] ** 2) for i in range(N)]}
    feat = []  # eq. 3: each BatchNorm input's mean and variance over the pooled videos' positions, against its own
    for i in range(N):
        mates = [j for j in range(N) if groups[j] == groups[i]]
        total = 0.0
        for a, bn in zip(bn_inputs, bns):
            pooled = np.concatenate([a[j].double().numpy().reshape(a.shape[1], -1) for j in mates], axis=1)
            total += np.linalg.norm(pooled.mean(1) - bn.running_mean.double().numpy())
            total += np.linalg.norm(pooled.var(1) - bn.running_var.double().numpy())
        feat.append(total)
    want["feat"] = feat
    assert set(got) == set(want)
    for op in want:
        np.testing.assert_allclose(got[op], want[op], rtol=2e-5, err_msg=op)
    w = want
    objective = [-(w["ce"][0] + w["prim"][0] + 0.5 * (w["coh"][0] + w["feat"][0])),
                 -(w["ce"][1] + 0.25 * w["tv_l2"][1] + 0.125 * w["l2"][1]),
                 (L[2, 1] - L[2, 3]) - (w["prim"][2] + 0.5 * w["coh"][2])]
    np.testing.assert_allclose(sums["total"].double().numpy(), objective, rtol=2e-5)
    np.testing.assert_allclose(sums["unit"].double().numpy(), [0, 0, L[2, 1] - L[2, 3]], rtol=1e-6, atol=1e-6)


def test_a_loss_enters_an_objective_only_negated():
    loss = ce() + 0.5 * prim()
    assert isinstance(loss, Loss) and isinstance(-loss, Objective) and not isinstance(-loss, Loss)
    assert repr(-loss) == "-1·ce('video') - 0.5·prim('video')"
    assert repr(energy("video") - loss) == "1·energy('video', alpha=3) - 1·ce('video') - 0.5·prim('video')"
    for mixed in (lambda: energy("video") + loss, lambda: loss + energy("video"), lambda: loss - energy("video")):
        with pytest.raises(TypeError, match="a loss .* is minimized and an objective .* maximized"):
            mixed()
    with pytest.raises(TypeError, match="is a loss, to be minimized"):
        BatchedObjective([loss])
    with pytest.raises(ValueError, match="no evaluator for the term 'ce'"):
        BatchedObjective([-loss])  # LEAPS' terms need LEAPS' evaluators
