"""Interventions, the test that confirms a hypothesis: edit a region of every clip (freeze, blur, occlude, paste from
another class), run the model on the edited clips and count the flips (:mod:`.call`); the edits (:mod:`.edits`), the
edited clips' flow (:mod:`.flow`) and the results (:mod:`.results`)."""

from .call import InterventionSnapshot, Interventions, intervene
from .edits import Edit, blur, freeze, occlude, paste
from .results import FlipTable, InterventionResults

__all__ = ["Interventions", "intervene", "InterventionResults", "InterventionSnapshot", "FlipTable", "Edit", "freeze",
           "blur", "occlude", "paste"]
