"""vidvis-widgets: see what video action-recognition models have learned, in JupyterLab."""

from . import io
from .media.clips import Clip, as_clip
from .media.flow import flow_to_rgb
from .widgets.clip_player import ClipPlayer
from .widgets.optimization_monitor import OptimizationMonitor
from .widgets.regularizer_sweep import RegularizerSweep

__all__ = ["ClipPlayer", "OptimizationMonitor", "RegularizerSweep", "Clip", "as_clip", "flow_to_rgb", "io"]
__version__ = "0.1.0"
