"""vidvis-widgets: see what video action-recognition models have learned, in JupyterLab."""

from . import io
from .media.clips import Clip, as_clip
from .media.flow import flow_to_rgb
from .widgets.clip_player import ClipPlayer

__all__ = ["ClipPlayer", "Clip", "as_clip", "flow_to_rgb", "io"]
__version__ = "0.1.0"
