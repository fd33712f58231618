"""Hugging Face video classifiers (VideoMAE, TimeSformer, ViViT) as the methods take models.

A ``*ForVideoClassification`` model takes ``pixel_values`` B×T×C×H×W and returns an object with ``.logits``;
its encoder layers emit token sequences. :func:`wrap` makes it a module that takes N×3×T×H×W model units and
returns logits, with the Hugging Face layer names unchanged (``videomae.encoder.layer.3``, ``classifier``), and
:func:`hf_adapter` reads everything else from its config and image processor: frames and size, tubelet and
patch size (so each layer's token grid, class tokens and token order), normalization, ``id2label``, and the
default layers of each method. ``transformers`` is an optional extra (``pip install vidvis-widgets[hf]``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .adapter import ModelAdapter

#: the video classifiers known by their config's model_type, with the image processor their checkpoints use
#: (TimeSformer's checkpoints are preprocessed by VideoMAE's)
PROCESSORS = {"videomae": "VideoMAEImageProcessor", "timesformer": "VideoMAEImageProcessor",
              "vivit": "VivitImageProcessor"}


def is_hf_video_classifier(model: Any) -> bool:
    """Whether ``model`` is an (unwrapped) Hugging Face video classifier this package knows."""
    config = getattr(model, "config", None)
    return (isinstance(model, nn.Module) and not isinstance(model, HFVideoClassifier)
            and getattr(config, "model_type", None) in PROCESSORS and hasattr(model, "classifier"))


class HFVideoClassifier(nn.Module):
    """A Hugging Face video classifier that takes N×3×T×H×W model units (as every other clip model here) and
    returns its class logits N×K. Its submodules are the Hugging Face model's own, under the same names, so
    hooks, devices, dtypes and ``requires_grad`` are shared with ``hf``."""

    def __init__(self, hf: nn.Module):
        super().__init__()
        for name, child in hf.named_children():
            self.add_module(name, child)
        for name, p in hf.named_parameters(recurse=False):
            self.register_parameter(name, p)
        for name, b in hf.named_buffers(recurse=False):
            self.register_buffer(name, b)
        object.__setattr__(self, "hf", hf)  # not a submodule: its children are already ours, by their own names
        self.config = hf.config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5 or x.shape[1] != 3:
            raise ValueError(f"{type(self.hf).__name__} takes clips N×3×T×H×W (channels first, as every clip model "
                             f"here); got shape {tuple(x.shape)}")
        return self.hf(pixel_values=x.transpose(1, 2)).logits

    def train(self, mode: bool = True) -> HFVideoClassifier:
        super().train(mode)
        self.hf.training = mode
        return self

    def extra_repr(self) -> str:
        return f"wraps {type(self.hf).__name__} (pixel_values B×T×C×H×W, .logits)"


def wrap(hf: nn.Module) -> HFVideoClassifier:
    return hf if isinstance(hf, HFVideoClassifier) else HFVideoClassifier(hf)


def _blocks(model: nn.Module, depth: int) -> list[str]:
    """The encoder's transformer blocks: the module list holding ``depth`` layers."""
    for name, m in model.named_modules():
        if isinstance(m, nn.ModuleList) and len(m) == depth:
            return [f"{name}.{i}" for i in range(depth)]
    raise ValueError(f"{type(model).__name__} has no list of {depth} encoder layers (config.num_hidden_layers)")


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def normalization(processor: Any) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean and std on pixels in [0, 1] equal to the processor's rescale (``rescale_factor``, and ViViT's
    ``offset`` of −1) followed by its normalization: pixels p on 0–255 become (r·p − b − m)/s, which is
    (p/255 − (b + m)/a)/(s/a) with a = 255·r."""
    a = 255.0 * float(getattr(processor, "rescale_factor", 1 / 255))
    b = 1.0 if getattr(processor, "offset", False) else 0.0
    mean = tuple((b + float(m)) / a for m in processor.image_mean)
    std = tuple(float(s) / a for s in processor.image_std)
    return mean, std


def default_processor(model_type: str):
    import transformers

    return getattr(transformers, PROCESSORS[model_type])()


def hf_adapter(model: HFVideoClassifier, processor: Any = None, **given) -> ModelAdapter:
    """The adapter of a wrapped Hugging Face video classifier, from its config and image processor (the
    model type's default processor when none is given; a checkpoint's own, ``AutoImageProcessor``, is what
    ``load_model("hf:…")`` passes). ``given`` fields override what is read."""
    config = model.config
    kind = config.model_type
    frames = int(config.num_frames)
    size = _pair(config.image_size)
    if kind == "vivit":
        tubelet = tuple(int(v) for v in config.tubelet_size)
    else:
        p = _pair(config.patch_size)
        tubelet = (int(getattr(config, "tubelet_size", 1)) if kind == "videomae" else 1, *p)
    grid = (frames // tubelet[0], size[0] // tubelet[1], size[1] // tubelet[2])
    blocks = _blocks(model, int(config.num_hidden_layers))
    n = len(blocks)
    # a head that averages every patch token (VideoMAE's mean pooling) passes gradient to the last block's
    # patches; a class-token head does not, so the tubes are read from the block before, whose patches the
    # last block's attention reads (as for MViT)
    mean_pooled = kind == "videomae" and getattr(config, "use_mean_pooling", True)
    mean, std = normalization(processor if processor is not None else default_processor(kind))
    label = getattr(config, "_name_or_path", "") or "random"
    fields = dict(
        name=f"hf:{getattr(config, '_name_or_path', '') or kind}", kind="clip",
        class_names=tuple(str(config.id2label[i]) for i in range(len(config.id2label))),
        num_frames=frames, size=size, mean=mean, std=std, fixed_size=True, weights=label,
        layer_names=tuple(name for name, _ in model.named_modules() if name),
        token_grid=grid, token_order="hwt" if kind == "timesformer" else "thw",
        logit_layer="classifier", tube_layer=blocks[-1] if mean_pooled or n == 1 else blocks[-2],
        am_layer=blocks[n // 2], priming_layers=tuple(blocks[i] for i in sorted({max(0, n // 4 - 1),
                                                                                  max(0, n // 2 - 1),
                                                                                  max(0, 3 * n // 4 - 1), n - 1})))
    fields.update(given)
    return ModelAdapter(**fields)


def from_pretrained(model_id: str) -> tuple[nn.Module, Any]:
    """``AutoModelForVideoClassification`` and its image processor from a local folder or the Hub (which
    ``transformers`` downloads on a machine with internet access: only when the user names a model)."""
    try:
        import transformers
    except ImportError:
        raise ImportError("hf: models need transformers: pip install 'vidvis-widgets[hf]'") from None
    hf = transformers.AutoModelForVideoClassification.from_pretrained(model_id)
    try:
        processor = transformers.AutoImageProcessor.from_pretrained(model_id)
    except (OSError, ValueError):  # a checkpoint saved without its processor: the model type's defaults
        processor = None
    return hf, processor
