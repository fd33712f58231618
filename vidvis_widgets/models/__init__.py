"""Models: the embedded tiny models, torchvision video models by name, and layer listings."""

from .checkpoints import CheckpointMismatch, embedded_checkpoints
from .info import ModelInfo
from .registry import KNOWN, load_model
from .tiny import TinyR3D, TinyTwoStream, TinyVerifier

__all__ = ["load_model", "ModelInfo", "KNOWN", "CheckpointMismatch", "embedded_checkpoints",
           "TinyTwoStream", "TinyR3D", "TinyVerifier"]
