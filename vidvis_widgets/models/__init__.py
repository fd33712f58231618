"""Models: the embedded tiny models, torchvision video models by name, and layer listings."""

from .checkpoints import CheckpointMismatch, embedded_checkpoints
from .evaluation import Evaluation, evaluate
from .folding import fold_batchnorm
from .adapter import ModelAdapter
from . import huggingface  # noqa: F401  registers Hugging Face's model family with the adapter
from .layers import LayerInfo, LayerTable, list_layers
from .registry import KNOWN, load_model
from .tiny import TinyFrame2D, TinyR3D, TinyTwoStream, TinyVerifier


def model_card() -> str:
    """The embedded models' card (markdown), as measured by the `vidvis train` run that made the weights."""
    from .checkpoints import WEIGHTS_DIR

    path = WEIGHTS_DIR / "MODEL_CARD.md"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; `vidvis train` writes it with the checkpoints")
    return path.read_text(encoding="utf-8")


__all__ = ["model_card", "load_model", "list_layers", "LayerTable", "LayerInfo", "fold_batchnorm", "ModelAdapter", "KNOWN", "CheckpointMismatch", "embedded_checkpoints",
           "evaluate", "Evaluation",
           "TinyTwoStream", "TinyR3D", "TinyFrame2D", "TinyVerifier"]
