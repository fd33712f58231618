"""anywidget classes: thin Python front doors with synced traits."""

from .clip_player import ClipPlayer

__all__ = ["ClipPlayer"]
