"""vidvis-widgets: see what video action-recognition models have learned, in JupyterLab."""

from . import io
from .media.clips import Clip, as_clip
from .media.flow import flow_to_rgb
from .widgets.atlas_view import AtlasView
from .widgets.clip_player import ClipPlayer
from .widgets.display import save_clips
from .widgets.static import static_outputs
from .widgets.confusion_pair_view import ConfusionPairView
from .widgets.contrast_view import ContrastView
from .widgets.filter_evolution_grid import FilterEvolutionGrid
from .widgets.intervention_view import InterventionView
from .widgets.leaps_view import LeapsView
from .widgets.optimization_monitor import OptimizationMonitor
from .widgets.regularizer_sweep import RegularizerSweep
from .widgets.response_histogram import ResponseHistogram
from .widgets.saliency_tube_view import SaliencyTubeView
from .widgets.shortcut_scan_view import ShortcutScanView

__all__ = ["AtlasView", "ClipPlayer", "ConfusionPairView", "FilterEvolutionGrid", "LeapsView", "OptimizationMonitor", "RegularizerSweep",
           "ResponseHistogram", "SaliencyTubeView", "ContrastView", "ShortcutScanView", "InterventionView",
           "Clip", "as_clip", "flow_to_rgb", "io", "save_clips", "static_outputs"]
__version__ = "0.1.0"
