"""The methods: activation maximization (two-stream and 3D), LEAPS model inversion and its baselines,
Saliency Tubes and their localization benchmark, response statistics, and the pieces they share."""

from .activation_maximization.am import PRESETS, ActivationMaximization, AMJob, AMResult, AMResults, activation_maximization, sweep
from .leaps.evaluation import InversionTable, class_stimuli, evaluate_inversion, inception_score
from .leaps.inversion import (InversionJob, InversionResult, InversionResults, ModelInversion, activation_maximization_3d,
                    deep_dream, leaps)
from .activation_maximization.filter_evolution import FilterEvolution, checkpoint_models, filter_evolution
from .core.collection import Results, load
from .core.objectives import Objective, energy, tv
from .core.targets import Target, logit, unit
from .saliency_tubes.localization import LocalizationTable, localization_benchmark
from .saliency_tubes.tubes import SaliencyTubeResults, SaliencyTubes, saliency_tubes
from .activation_maximization.response_statistics import ResponseStatistics, response_statistics
from .core.regularizers import energy_norm, project_to_bound, temporal_variation, total_variation

__all__ = ["ActivationMaximization", "AMJob", "AMResult", "AMResults", "activation_maximization", "sweep", "PRESETS",
           "Objective", "Target", "unit", "logit", "energy", "tv", "energy_norm", "total_variation", "project_to_bound",
           "temporal_variation", "response_statistics", "ResponseStatistics", "filter_evolution", "FilterEvolution",
           "checkpoint_models", "leaps", "deep_dream", "activation_maximization_3d", "ModelInversion",
           "InversionJob", "InversionResult", "InversionResults", "evaluate_inversion", "InversionTable",
           "class_stimuli", "inception_score", "saliency_tubes", "SaliencyTubes", "SaliencyTubeResults",
           "localization_benchmark", "LocalizationTable", "Results", "load"]
