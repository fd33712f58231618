"""load_model: embedded models, torchvision video models by name, with explicit weights."""

from __future__ import annotations

import difflib
import numbers
import os
from pathlib import Path
from typing import Any, Callable

from torch import nn

from ..data.synthetic import CLASS_NAMES, class_map
from .checkpoints import embedded_checkpoints, load_state, read_checkpoint
from .adapter import ModelAdapter, describe
from .tiny import TinyFrame2D, TinyR3D, TinyTwoStream, TinyVerifier

EMBEDDED: dict[str, tuple[Callable[[], nn.Module], dict]] = {
    "tiny_two_stream": (lambda: TinyTwoStream(mirror=class_map("mirror"), reversal=class_map("reversal")),
                        dict(kind="two_stream", flow_frames=10, flow_scale=2.0, tube_layer="conv5_fusion",
                             am_layer="conv5_fusion", views=4)),
    "tiny_r3d": (TinyR3D, dict(kind="clip")),
    "tiny_verifier": (TinyVerifier, dict(kind="clip")),
    "tiny_frame2d": (TinyFrame2D, dict(kind="clip")),
}
TORCHVISION = {
    "r3d_18": (16, 112), "mc3_18": (16, 112), "r2plus1d_18": (16, 112), "s3d": (16, 224),
    "mvit_v2_s": (16, 224), "swin3d_t": (16, 224),
}
KNOWN = tuple(EMBEDDED) + tuple(f"torchvision:{n}" for n in TORCHVISION)


def _unknown(name: str) -> ValueError:
    close = difflib.get_close_matches(name, KNOWN, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return ValueError(f"unknown model {name!r}; known models: {', '.join(KNOWN)}, or 'hf:<model id>' (a Hugging Face "
                      f"video classifier), or an nn.Module instance.{hint}")


def _attach(model: nn.Module, adapter: ModelAdapter) -> nn.Module:
    model.vidvis_adapter = adapter
    return model.eval()


def load_model(name: str | nn.Module, weights: Any = "embedded", num_frames: int = 16, size: int = 64, *,
               processor: Any = None) -> nn.Module:
    """A model in eval mode, with its :class:`ModelAdapter` as ``model.vidvis_adapter``.

    Hugging Face video classifiers (VideoMAE, TimeSformer, ViViT): ``"hf:<model id or local folder>"``, which
    ``transformers`` downloads on a machine with internet access, with the checkpoint's image processor; or a
    model instance (``processor``: its image processor, else the model type's defaults). The model comes back
    wrapped to take N×3×T×H×W clips like every other model here, its layers under their own names.
    Any other ``nn.Module`` instance gets an adapter described from its structure (``describe``).

    Embedded models (``tiny_two_stream``, ``tiny_r3d``, ``tiny_verifier``): ``weights`` is ``"embedded"``
    (the last shipped epoch), ``"epoch_3"`` or an int epoch, a checkpoint path, or ``None`` for random.

    torchvision models (``torchvision:r3d_18``, ``mc3_18``, ``r2plus1d_18``, ``s3d``, ``mvit_v2_s``,
    ``swin3d_t``): ``weights`` is ``None`` (random, what tests use), a local checkpoint path, or a
    torchvision weights name/enum such as ``"DEFAULT"``, which torchvision downloads on a machine with
    internet access.
    """
    from ..checks import number

    if isinstance(name, nn.Module):
        return _load_instance(name, processor)
    if not isinstance(name, str):
        raise TypeError(f"model must be a name (str) or an nn.Module, got {name!r}; known models: {', '.join(KNOWN)}, "
                        "or 'hf:<model id>'")
    if name.startswith("hf:") and len(name) > 3:
        from .huggingface import from_pretrained

        hf, processor = from_pretrained(name[3:])
        return _load_instance(hf, processor)
    num_frames = number("num_frames", num_frames, low=1, integer=True)
    size = number("size", size, low=1, integer=True)
    if name in EMBEDDED:
        return _load_embedded(name, weights, num_frames, size)
    if name.startswith("torchvision:") and name.split(":", 1)[1] in TORCHVISION:
        return _load_torchvision(name.split(":", 1)[1], weights)
    raise _unknown(name)


def _load_instance(model: nn.Module, processor: Any) -> nn.Module:
    from .huggingface import hf_adapter, is_hf_video_classifier, wrap

    if is_hf_video_classifier(model):
        model = wrap(model)
        return _attach(model, hf_adapter(model, processor))
    if processor is not None:
        raise ValueError(f"processor is for Hugging Face video classifiers; {type(model).__name__} is not one")
    return _attach(model, describe(model))


def _load_embedded(name: str, weights: Any, num_frames: int, size: int) -> nn.Module:
    build, kw = EMBEDDED[name]
    model = build()
    label = "random"
    if weights is not None:
        if isinstance(weights, bool) or not isinstance(weights, (numbers.Integral, str, os.PathLike)):
            raise TypeError(f"weights for {name} must be 'embedded', an epoch (an int or 'epoch_N'), a checkpoint "
                            f"path, or None (random); got {weights!r}")
        if isinstance(weights, numbers.Integral) or weights == "embedded" or str(weights).startswith("epoch_"):
            shipped = embedded_checkpoints(name)
            if not shipped:
                raise FileNotFoundError(f"no embedded checkpoints for {name}; run `vidvis train` to create them")
            if weights == "embedded":
                path = shipped[-1]
            else:
                epoch = str(weights).removeprefix("epoch_")
                if not epoch.lstrip("-").isdigit():
                    raise ValueError(f"weights {weights!r} names no epoch; expected 'epoch_N' with N an integer, "
                                     "an int, 'embedded', a checkpoint path, or None (random)")
                epoch = int(epoch)
                matches = [p for p in shipped if int(p.stem.split("_")[1]) == epoch]
                if not matches:
                    have = ", ".join(str(int(p.stem.split("_")[1])) for p in shipped)
                    raise ValueError(f"{name} has no checkpoint for epoch {epoch}; shipped epochs: {have}")
                path = matches[0]
        else:
            path = Path(weights)
        state, meta = read_checkpoint(path)
        load_state(model, state, f"checkpoint {path}")
        label = str(path)
    return _attach(model, describe(model, name=name, class_names=CLASS_NAMES, num_frames=num_frames,
                                   size=(size, size), weights=label, **kw))


def _load_torchvision(arch: str, weights: Any) -> nn.Module:
    import torchvision.models.video as tvv

    builder = getattr(tvv, arch)
    frames, side = TORCHVISION[arch]
    if isinstance(weights, str) and weights == "embedded":
        raise ValueError(f"torchvision:{arch} has no embedded weights; pass weights=None (random), a local checkpoint "
                         "path, or a torchvision weights name such as 'DEFAULT' (downloaded by torchvision)")
    if weights is None:
        model, label, classes = builder(weights=None), "random", tuple(f"class_{i}" for i in range(400))
    elif isinstance(weights, (str, Path)) and Path(weights).suffix in (".pt", ".pth", ".bin"):
        state, _ = read_checkpoint(weights)
        fc = [k for k in state if k.endswith(("fc.weight", "head.weight", "head.1.weight", "classifier.1.weight"))]
        num_classes = state[fc[-1]].shape[0] if fc else 400
        model = builder(weights=None, num_classes=num_classes)
        load_state(model, state, f"checkpoint {weights}")
        label, classes = str(weights), tuple(f"class_{i}" for i in range(num_classes))
    else:
        w = _torchvision_weights(arch, weights)
        model, label, classes = builder(weights=w), str(w), tuple(w.meta["categories"])  # downloads on the user's machine
    return _attach(model, describe(model, name=f"torchvision:{arch}", class_names=classes, num_frames=frames,
                                   size=(side, side), weights=label))


def _torchvision_weights(arch: str, weights: Any):
    """A torchvision weights enum member from its name or itself; a clear error listing the valid names
    otherwise (read from the enum, which downloads nothing)."""
    from torchvision.models import get_model_weights

    enum = get_model_weights(arch)
    names = ["DEFAULT"] + [w.name for w in enum]
    if isinstance(weights, enum):
        return weights
    if isinstance(weights, str) and weights in names:
        return enum.DEFAULT if weights == "DEFAULT" else enum[weights]
    raise ValueError(f"unknown weights {weights!r} for torchvision:{arch}; expected None (random), a local checkpoint "
                     f"file (.pt, .pth or .bin), or a torchvision weights name: {', '.join(names)}")


def is_embedded(model: nn.Module) -> bool:
    """Whether ``model`` is an embedded model with trained (shipped or checkpoint) weights: its â can be taken
    on the embedded val split."""
    info = getattr(model, "vidvis_adapter", None)
    return info is not None and info.name in EMBEDDED and info.weights != "random"
