"""anywidget classes: thin Python front doors with synced traits."""

from . import display  # registers the ClipPlayer as what results show themselves with
from .clip_player import ClipPlayer

__all__ = ["ClipPlayer", "display"]
