"""LEAPS model inversion and its baselines (Stergiou & Deligiannis, ICCV 2023): the inversion loop and its
variants (:mod:`.inversion`; a call's jobs in :mod:`.jobs`, video I/O in :mod:`.stimuli`, the memory estimate in
:mod:`.memory`, the 3D AM baseline's run in :mod:`.baselines`), the loss terms of eq. 4 (:mod:`.terms`),
and the paper's evaluation table (:mod:`.evaluation`)."""

from .evaluation import InversionTable, class_stimuli, evaluate_inversion, inception_score
from .inversion import (InversionJob, InversionResult, InversionResults, ModelInversion, activation_maximization_3d,
                        deep_dream, leaps)

__all__ = ["InversionJob", "InversionResult", "InversionResults", "ModelInversion", "activation_maximization_3d",
           "deep_dream", "leaps", "InversionTable", "class_stimuli", "evaluate_inversion", "inception_score"]
