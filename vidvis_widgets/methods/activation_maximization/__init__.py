"""Two-stream and 3D activation maximization (Feichtenhofer et al., CVPR 2018 / IJCV 2020): eq. 1 and its
sweeps (:mod:`.am`), the test-set response statistics that give â and the papers' histograms
(:mod:`.response_statistics`), and filter evolution across checkpoints (:mod:`.filter_evolution`)."""

from .am import PRESETS, ActivationMaximization, AMJob, AMResult, AMResults, activation_maximization, sweep
from .filter_evolution import FilterEvolution, checkpoint_models, filter_evolution
from .response_statistics import ResponseStatistics, response_statistics

__all__ = ["ActivationMaximization", "AMJob", "AMResult", "AMResults", "activation_maximization", "sweep",
           "PRESETS", "FilterEvolution", "checkpoint_models", "filter_evolution", "ResponseStatistics",
           "response_statistics"]
