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
