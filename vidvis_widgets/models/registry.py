"""load_model: embedded models, torchvision video models by name, with explicit weights."""

from __future__ import annotations

import dataclasses
import difflib
import numbers
import os
from pathlib import Path
from typing import Any, Callable, Sequence

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
#: embedded models whose head ``num_classes=`` replaces (the two-stream net's head maps classes under its symmetries)
RETRAINABLE = ("tiny_r3d", "tiny_verifier", "tiny_frame2d")
TORCHVISION = {
    "r3d_18": (16, 112), "mc3_18": (16, 112), "r2plus1d_18": (16, 112), "s3d": (16, 224),
    "mvit_v2_s": (16, 224), "swin3d_t": (16, 224),
}
#: PyTorchVideo's X3D sizes (Feichtenhofer, CVPR 2020) and SlowFast R50 8×8 (Feichtenhofer et al., ICCV 2019, α = 4):
#: frames (the fast pathway's for SlowFast) and crop; ``pip install 'vidvis-widgets[pytorchvideo]'``
PYTORCHVIDEO = {"x3d_xs": (4, 160), "x3d_s": (13, 160), "x3d_m": (16, 224), "slowfast_r50": (32, 224)}
KNOWN = tuple(EMBEDDED) + tuple(f"torchvision:{n}" for n in TORCHVISION) + tuple(f"pytorchvideo:{n}" for n in PYTORCHVIDEO)


def _unknown(name: str) -> ValueError:
    close = difflib.get_close_matches(name, KNOWN, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return ValueError(f"unknown model {name!r}; known models: {', '.join(KNOWN)}, or 'hf:<model id>' (a Hugging Face "
                      f"video classifier), or an nn.Module instance.{hint}")


def _attach(model: nn.Module, adapter: ModelAdapter) -> nn.Module:
    model.vidvis_adapter = adapter
    return model.eval()


def load_model(name: str | nn.Module, weights: Any = "embedded", num_frames: int | None = None,
               size: int | None = None, *, class_names: Sequence[str] | None = None, num_classes: int | None = None,
               processor: Any = None, **fields: Any) -> nn.Module:
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
    internet access. ``num_frames`` and ``size`` set the input the model is used at (the native 16 frames at
    112² or 224² by default; MViT takes only its own); ``num_classes`` builds a head of that many classes
    (for random weights; a checkpoint's head says its own).

    ``class_names`` names the classes of any model's head (e.g. a ``VideoFolder``'s ``classes`` for a
    checkpoint fine-tuned on it), in the head's order; their number must be the head's.

    Any other ``fields`` are :class:`ModelAdapter` fields that override what is found, as ``describe`` takes them
    (``mean``, ``std``, ``am_layer``, ``tube_layer``, ``priming_layers``, …). For a bare module, ``num_frames``
    and ``size`` (an int or (height, width)) say its native input, which its structure does not tell; a Hugging
    Face model's are its config's and cannot be changed.
    """
    from ..checks import number

    if not isinstance(name, (str, nn.Module)):
        raise TypeError(f"model must be a name (str) or an nn.Module, got {name!r}; known models: {', '.join(KNOWN)}, "
                        "or 'hf:<model id>'")
    if num_frames is not None:
        num_frames = number("num_frames", num_frames, low=1, integer=True)
    instance = isinstance(name, nn.Module) or name.startswith("hf:") and len(name) > 3
    if size is not None and not (instance and isinstance(size, (tuple, list))):  # an instance's may be (h, w)
        size = number("size", size, low=1, integer=True)
    if num_classes is not None:
        num_classes = number("num_classes", num_classes, low=1, integer=True)
    if class_names is not None:
        if isinstance(class_names, str) or not all(isinstance(c, str) and c for c in class_names):
            raise ValueError(f"class_names must be a list of non-empty strings, got {class_names!r}")
        class_names = tuple(class_names)
        if len(set(class_names)) != len(class_names):
            raise ValueError(f"class_names repeats a name: {sorted(c for c in set(class_names) if class_names.count(c) > 1)}")
        if num_classes is not None and num_classes != len(class_names):
            raise ValueError(f"num_classes={num_classes} but class_names has {len(class_names)} names")
    is_tv = isinstance(name, str) and name.startswith("torchvision:") and name.split(":", 1)[1] in TORCHVISION
    is_pv = isinstance(name, str) and name.startswith("pytorchvideo:") and name.split(":", 1)[1] in PYTORCHVIDEO
    if num_classes is not None and not (is_tv or is_pv or name in RETRAINABLE):
        raise ValueError(f"num_classes builds a new head for a torchvision or PyTorchVideo model or for "
                         f"{', '.join(RETRAINABLE)}; for other models name the head's classes with class_names=")
    fields = _adapter_fields(fields)
    if instance:
        if isinstance(name, nn.Module) and not (isinstance(weights, str) and weights == "embedded"):
            raise ValueError(f"weights= loads weights into a model named by a string; the instance given keeps its "
                             f"own, got weights={_shown(weights)}. Load a checkpoint into it first: "
                             "model.load_state_dict(torch.load(path, weights_only=True))")
        if size is not None and not isinstance(size, numbers.Integral):
            fields["size"] = size  # (height, width), checked with the other fields
        elif size is not None:
            fields["size"] = (size, size)
        if num_frames is not None:
            fields["num_frames"] = num_frames
        fields = _adapter_fields(fields)  # the native input's form checked
        if isinstance(name, nn.Module):
            model = _load_instance(name, processor, class_names, fields)
        else:
            from .huggingface import from_pretrained

            hf, hf_processor = from_pretrained(name[3:])
            model = _load_instance(hf, processor if processor is not None else hf_processor, class_names, fields)
        return _named(model, class_names) if class_names is not None else model
    elif name in EMBEDDED:
        model = _load_embedded(name, weights, num_frames or 16, size or 64)
        if num_classes is not None and num_classes != model.vidvis_adapter.num_classes:
            model = new_head(model, num_classes)
    elif is_tv:
        arch = name.split(":", 1)[1]
        model = _load_torchvision(arch, weights, num_frames, size, num_classes or (len(class_names) if class_names
                                                                                   and weights is None else None))
    elif is_pv:
        arch = name.split(":", 1)[1]
        if num_frames is not None or size is not None:
            frames, crop = PYTORCHVIDEO[arch]
            raise ValueError(f"{name} takes only its own input, {frames} frames at {crop}² (its head pools a fixed "
                             "grid); other clips are resampled to it")
        model = _load_pytorchvideo(arch, weights, num_classes or (len(class_names) if class_names else None))
    else:
        raise _unknown(name)
    if fields:
        model = _attach(model, _with_fields(model, model.vidvis_adapter, fields))
    return _named(model, class_names) if class_names is not None else model


def _load_pytorchvideo(arch: str, weights: Any, num_classes: int | None) -> nn.Module:
    """X3D built by PyTorchVideo's ``create_x3d`` at the paper's size, or SlowFast R50 by its ``create_slowfast``
    (8 slow and 32 fast frames at 224²), with random weights (``weights=None``) or a local checkpoint (a state
    dict, or PyTorchVideo's ``{"model_state": ...}``)."""
    try:
        from pytorchvideo.models.slowfast import create_slowfast
        from pytorchvideo.models.x3d import create_x3d
    except ImportError:
        raise ImportError("pytorchvideo: models need PyTorchVideo: pip install 'vidvis-widgets[pytorchvideo]'") from None
    frames, crop = PYTORCHVIDEO[arch]
    state = None
    if weights is None:
        k = num_classes or 400
    elif isinstance(weights, (str, os.PathLike)) and Path(weights).suffix in (".pt", ".pth", ".pyth", ".bin"):
        state, _ = read_checkpoint(weights)
        heads = [key for key in state if key.endswith("proj.weight")]
        k = state[heads[-1]].shape[0] if heads else 400
        if num_classes is not None and num_classes != k:
            raise ValueError(f"num_classes={num_classes} but the checkpoint {weights} has a head of {k} classes")
    else:
        raise ValueError(f"pytorchvideo:{arch} takes weights=None (random) or a local checkpoint file (.pyth, .pt, "
                         f".pth or .bin), got {_shown(weights)}; PyTorchVideo's Kinetics checkpoints are downloaded by the "
                         "user (torch.hub) and passed as a path")
    if arch.startswith("slowfast"):
        model = create_slowfast(model_depth=50, model_num_class=k, head_activation=None)
    else:
        model = create_x3d(input_clip_length=frames, input_crop_size=crop, model_num_class=k, head_activation=None)
    label = "random"
    if state is not None:
        load_state(model, state, f"checkpoint {weights}")
        label = str(weights)
    return _attach(model, describe(model, name=f"pytorchvideo:{arch}", weights=label,
                                   class_names=tuple(f"class_{i}" for i in range(k))))


def _named(model: nn.Module, class_names: tuple[str, ...]) -> nn.Module:
    adapter = model.vidvis_adapter
    if len(class_names) != adapter.num_classes:
        raise ValueError(f"class_names has {len(class_names)} names but {adapter.name}'s head has "
                         f"{adapter.num_classes} classes; name them all, in the head's order"
                         + (", or give num_classes= with weights=None for a new head" if adapter.name.startswith(
                             "torchvision:") else ""))
    model.vidvis_adapter = dataclasses.replace(adapter, class_names=class_names)
    return model


def _load_instance(model: nn.Module, processor: Any, class_names=None, fields: dict | None = None) -> nn.Module:
    from .huggingface import HFVideoClassifier, hf_adapter, is_hf_video_classifier, is_xclip, refuse_unsupported, wrap

    fields = dict(fields or {})
    refuse_unsupported(model)
    if is_hf_video_classifier(model) or is_xclip(model) or isinstance(model, HFVideoClassifier):
        model = wrap(model, class_names, processor)
        native = {k: fields.pop(k) for k in ("num_frames", "size") if k in fields}
        adapter = hf_adapter(model, processor)
        for key, value in native.items():
            if value != getattr(adapter, key):
                raise ValueError(f"{key}={value!r}, but {type(model.hf).__name__} takes only its config's "
                                 f"{adapter.num_frames} frames at {adapter.size[0]}×{adapter.size[1]} (its position "
                                 "embeddings are fixed; other clips are resampled to it): leave num_frames and size out")
        return _attach(model, _with_fields(model, adapter, fields))
    if processor is not None:
        raise ValueError(f"processor is for Hugging Face video classifiers; {type(model).__name__} is not one")
    _with_fields(model, None, fields)  # layer names checked before describe reads them
    return _attach(model, describe(model, **fields))


#: ModelAdapter fields that name layers of the model
_LAYER_FIELDS = ("logit_layer", "tube_layer", "am_layer", "priming_layers", "channels_first_layers",
                 "channels_last_layers", "head_softmax")


def _adapter_fields(fields: dict) -> dict:
    """``load_model``'s extra keywords, checked to be ModelAdapter fields with values of the right form."""
    from ..checks import number

    known = [f.name for f in dataclasses.fields(ModelAdapter) if f.name not in ("name", "layer_names", "class_names")]
    out = {}
    for key, value in fields.items():
        if key not in known:
            raise TypeError(f"load_model() got an unexpected keyword {key!r}; it takes weights, num_frames, size, "
                            f"class_names, num_classes, processor and the adapter fields {', '.join(known)}")
        if key == "num_frames":
            value = number("num_frames", value, low=1, integer=True)
        elif key == "size":
            if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
                raise ValueError(f"size must be an int or (height, width), got {_shown(value)}")
            value = tuple(number("size", v, low=1, integer=True) for v in value)
        elif key in ("mean", "std"):
            if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 3:
                raise ValueError(f"{key} must be three numbers, one per RGB channel on [0, 1] pixels, got "
                                 f"{_shown(value)}")
            value = tuple(float(number(key, v, low=1e-12 if key == "std" else None)) for v in value)
        elif key in ("priming_layers", "channels_first_layers", "channels_last_layers"):
            value = (value,) if isinstance(value, str) else tuple(value)
        out[key] = value
    return out


def _with_fields(model: nn.Module, adapter: ModelAdapter | None, fields: dict) -> ModelAdapter | None:
    """``adapter`` with ``fields`` (checked: layer fields must name the model's layers)."""
    from .layers import submodule

    for key in _LAYER_FIELDS:
        for layer in (fields.get(key) if key.endswith("s") else (fields.get(key),)) or ():
            if layer is not None:
                submodule(model, layer)
    return dataclasses.replace(adapter, **fields) if adapter is not None and fields else adapter


def _shown(value: Any) -> str:
    """A value as an error message shows it: short values as they are, anything else by its type (a module's or
    a state dict's repr runs to kilobytes)."""
    if value is None or isinstance(value, (str, bytes, numbers.Number, os.PathLike)):
        text = repr(value)
        return text if len(text) <= 120 else text[:117] + "…"
    if isinstance(value, nn.Module):
        return f"an nn.Module ({type(value).__name__}; a model you built is the first argument: load_model(model))"
    if isinstance(value, dict):
        return "a dict (a state dict: save it with torch.save(state, 'weights.pt') and pass the path)"
    return f"a {type(value).__name__}"


def _load_embedded(name: str, weights: Any, num_frames: int, size: int) -> nn.Module:
    build, kw = EMBEDDED[name]
    model = build()
    label, classes = "random", CLASS_NAMES
    if weights is not None:
        if isinstance(weights, bool) or not isinstance(weights, (numbers.Integral, str, os.PathLike)):
            raise TypeError(f"weights for {name} must be 'embedded', an epoch (an int or 'epoch_N'), a checkpoint "
                            f"path, or None (random); got {_shown(weights)}")
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
        k = state["fc.weight"].shape[0] if name in RETRAINABLE and "fc.weight" in state else len(CLASS_NAMES)
        if k != len(CLASS_NAMES):  # a checkpoint fine-tuned under a new head (fine_tune): its own head
            model, classes = build(num_classes=k), tuple(f"class_{i}" for i in range(k))
        load_state(model, state, f"checkpoint {path}")
        label = str(path)
    return _attach(model, describe(model, name=name, class_names=classes, num_frames=num_frames,
                                   size=(size, size), weights=label, **kw))


def new_head(model: nn.Module, num_classes: int) -> nn.Module:
    """``model`` with its logit layer (a linear layer or a 1×1×1 convolution) replaced by a new, randomly
    initialized one of ``num_classes`` outputs on the same features: fine-tune it
    (:func:`vidvis_widgets.training.fine_tune`) before reading its classes."""
    adapter = model.vidvis_adapter
    old = model.get_submodule(adapter.logit_layer) if adapter.logit_layer else None
    if isinstance(old, nn.Linear):
        head = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    elif isinstance(old, nn.Conv3d) and old.kernel_size == (1, 1, 1) and old.groups == 1:
        head = nn.Conv3d(old.in_channels, num_classes, 1, bias=old.bias is not None)
    else:
        raise ValueError(f"{adapter.name}'s logit layer {adapter.logit_layer!r} is a {type(old).__name__}; "
                         "num_classes= replaces a linear or 1×1×1 convolution head")
    head.to(old.weight.device, old.weight.dtype)
    parent, _, child = adapter.logit_layer.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, head)
    classes = tuple(f"class_{i}" for i in range(num_classes))
    return _attach(model, dataclasses.replace(adapter, class_names=classes,
                                              weights=f"{adapter.weights} with a new {num_classes}-class head"))


def refit_advice(model: nn.Module, classes: Sequence[str]) -> str:
    """What to call when ``model``'s classes are not a dataset's ``classes``: the call that loads the model with
    a head for them, named (a head of their number) or trained on the dataset (a new one where the number differs)."""
    adapter = model.vidvis_adapter
    name, label = adapter.name, str(adapter.weights).split(" with a new ")[0]
    if name not in KNOWN:
        return (f"If its head was trained on the dataset's classes, name them: load_model(<your model, as you loaded "
                "it>, class_names=dataset.classes)" if len(classes) == adapter.num_classes else
                f"{name} takes no new head here: fine-tune a model of {len(classes)} classes on the dataset and load "
                "it with class_names=dataset.classes")
    if label == "random":
        args = f"{name!r}, weights=None"
    elif name in EMBEDDED and label in {str(p) for p in embedded_checkpoints(name)}:
        args = repr(name)
    elif name.startswith("torchvision:") and label.split(".")[-1] in _enum_names(name):
        args = f"{name!r}, weights={label.split('.')[-1]!r}"
    else:
        args = f"{name!r}, weights={label!r}"
    frames, side = TORCHVISION.get(name.split(":", 1)[-1], (16, 64))
    if not name.startswith("pytorchvideo:") and (adapter.num_frames, tuple(adapter.size)) != (frames, (side, side)):
        args += f", num_frames={adapter.num_frames}, size={adapter.size[0]}"  # the input it was loaded at
    # a head of the dataset's size, loaded as it was: it may have been trained on the dataset's classes
    loaded = label != "random" and " with a new " not in str(adapter.weights)
    same = (f"If its head was trained on the dataset's classes, name them: load_model({args}, "
            "class_names=dataset.classes). " if len(classes) == adapter.num_classes and loaded else "")
    if name in RETRAINABLE or name.startswith("torchvision:") or name.startswith("pytorchvideo:") and label == "random":
        how = "train its head" if same else f"train a new head (the model's has {adapter.num_classes} classes)"
        return (f"{same}{'Otherwise' if same else 'To'} {how} on the dataset: model = load_model({args}, "
                "num_classes=len(dataset.classes), class_names=dataset.classes); "
                "vidvis_widgets.training.fine_tune(model, dataset)")
    return same or (f"{name} with these weights takes no new head: fine-tune a model of {len(classes)} classes "
                    "on the dataset and load it with class_names=dataset.classes")


def _enum_names(name: str) -> list[str]:
    """The weights names torchvision knows for ``torchvision:<arch>`` (read from its enum; downloads nothing)."""
    from torchvision.models import get_model_weights

    return [w.name for w in get_model_weights(name.split(":", 1)[1])]


def _load_torchvision(arch: str, weights: Any, num_frames: int | None, size: int | None,
                      num_classes: int | None) -> nn.Module:
    import torchvision.models.video as tvv

    builder = getattr(tvv, arch)
    frames, side = TORCHVISION[arch]
    if arch == "mvit_v2_s" and (num_frames or frames, size or side) != (frames, side):
        raise ValueError(f"torchvision:{arch} takes only its native {frames}×{side}² (its attention pools fixed "
                         f"token grids), got num_frames={num_frames}, size={size}; other clips are resampled to it")
    if isinstance(weights, str) and weights == "embedded":
        raise ValueError(f"torchvision:{arch} has no embedded weights; pass weights=None (random), a local checkpoint "
                         "path, or a torchvision weights name such as 'DEFAULT' (downloaded by torchvision)")
    if weights is None:
        k = num_classes or 400
        model, label, classes = builder(weights=None, num_classes=k), "random", tuple(f"class_{i}" for i in range(k))
    elif isinstance(weights, (str, Path)) and Path(weights).suffix in (".pt", ".pth", ".bin"):
        state, _ = read_checkpoint(weights)
        fc = [k for k in state if k.endswith(("fc.weight", "head.weight", "head.1.weight", "classifier.1.weight"))]
        k = state[fc[-1]].shape[0] if fc else 400
        model = builder(weights=None, num_classes=k)
        load_state(model, state, f"checkpoint {weights}")
        label, classes = str(weights), tuple(f"class_{i}" for i in range(k))
    else:
        w = _torchvision_weights(arch, weights)
        model, label, classes = builder(weights=w), str(w), tuple(w.meta["categories"])  # downloads on the user's machine
    model = _attach(model, describe(model, name=f"torchvision:{arch}", class_names=classes,
                                    num_frames=num_frames or frames, size=(size or side, size or side), weights=label))
    # weights and num_classes: the weights' features under a new head (a checkpoint's head of that size is its own)
    return new_head(model, num_classes) if num_classes is not None and num_classes != len(classes) else model


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
    raise ValueError(f"unknown weights {_shown(weights)} for torchvision:{arch}; expected None (random), a local checkpoint "
                     f"file (.pt, .pth or .bin), or a torchvision weights name: {', '.join(names)}")


def is_embedded(model: nn.Module) -> bool:
    """Whether ``model`` is an embedded model with trained (shipped or checkpoint) weights: its â can be taken
    on the embedded val split."""
    info = getattr(model, "vidvis_adapter", None)
    return (info is not None and info.name in EMBEDDED and info.weights != "random"
            and tuple(info.class_names) == CLASS_NAMES)
