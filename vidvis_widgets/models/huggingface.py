"""Hugging Face video classifiers (VideoMAE, TimeSformer, ViViT, and X-CLIP over named classes) as the methods
take models.

A ``*ForVideoClassification`` model takes ``pixel_values`` B×T×C×H×W and returns an object with ``.logits``;
its encoder layers emit token sequences. :func:`wrap` makes it a module that takes N×3×T×H×W model units and
returns logits, with the Hugging Face layer names unchanged (``videomae.encoder.layer.3``, ``classifier``), and
:func:`hf_adapter` reads everything else from its config and image processor: frames and size, tubelet and
patch size (so each layer's token grid, class tokens and token order), normalization, ``id2label``, and the
default layers of each method. ``transformers`` is an optional extra (``pip install vidvis-widgets[hf]``).

X-CLIP (Ni et al., ECCV 2022) has no classification head: it scores a video against texts. :class:`XCLIPClassifier`
makes it a classifier over the class names the user gives, each name's text embedding computed once by its text
tower, and the video side run as X-CLIP runs it (frame encoder with cross-frame messages, multi-frame integration
transformer, video-specific prompts); its frame encoder's layers are read as maps with the frames on the batch axis.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .adapter import ModelAdapter, register_family

#: the video classifiers known by their config's model_type, with the image processor their checkpoints use
#: (TimeSformer's and X-CLIP's checkpoints are preprocessed by VideoMAE's)
PROCESSORS = {"videomae": "VideoMAEImageProcessor", "timesformer": "VideoMAEImageProcessor",
              "vivit": "VivitImageProcessor", "xclip": "VideoMAEImageProcessor"}


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

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 5 or x.shape[1] != 3:
            raise ValueError(f"{type(self.hf).__name__} takes clips N×3×T×H×W (channels first, as every clip model "
                             f"here); got shape {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        return self.hf(pixel_values=x.transpose(1, 2)).logits

    def train(self, mode: bool = True) -> HFVideoClassifier:
        super().train(mode)
        self.hf.training = mode
        return self

    def extra_repr(self) -> str:
        return f"wraps {type(self.hf).__name__} (pixel_values B×T×C×H×W, .logits)"


class ClassTexts(nn.Module):
    """X-CLIP's class scores: the cosine similarity of the video embedding to each class's text embedding (made
    video-specific by X-CLIP's prompt generator), times the learned logit scale. Its output is the logits, so it
    is the adapter's logit layer. ``text``: K×D embeddings of the class names, computed once."""

    def __init__(self, text: torch.Tensor):
        super().__init__()
        self.register_buffer("text", text)

    def forward(self, video: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
        video = video / video.norm(p=2, dim=-1, keepdim=True)
        text = text / text.norm(p=2, dim=-1, keepdim=True)
        return torch.einsum("nd,nkd->nk", video, logit_scale.exp() * text)


class XCLIPClassifier(HFVideoClassifier):
    """X-CLIP as a classifier over ``class_names``: N×3×T×H×W model units in, N×K logits out (X-CLIP's
    ``logits_per_video`` for those texts). The texts go through the text tower once, here, with ``tokenizer``
    (X-CLIP's processor's); only the video side runs per call."""

    def __init__(self, hf: nn.Module, class_names, tokenizer, image_processor: Any = None):
        super().__init__(hf)
        tokens = _tokens(tokenizer, class_names, int(hf.config.text_config.vocab_size))
        #: the image processor that came with the tokenizer (an XCLIPProcessor's, or a processor folder's), or None
        self.image_processor = image_processor
        with torch.no_grad():
            out = hf.text_model(input_ids=tokens["input_ids"], attention_mask=tokens.get("attention_mask"))
            text = hf.text_projection(out[1])
        self.class_texts = ClassTexts(text.detach())
        self.class_names = tuple(class_names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        n, _, t, h, w = x.shape
        frames = self.vision_model(pixel_values=x.transpose(1, 2).reshape(n * t, 3, h, w))
        video = self.mit(self.visual_projection(frames[1]).view(n, t, -1))[1]  # the frames' class tokens, integrated
        patches = self.prompts_visual_layernorm(frames[0][:, 1:, :]) @ self.prompts_visual_projection
        patches = patches.view(n, t, -1, video.shape[-1]).mean(dim=1)
        text = self.class_texts.text.unsqueeze(0).expand(n, -1, -1)
        text = text + self.prompts_generator(text, patches)  # video-specific prompts
        return self.class_texts(video, text, self.logit_scale)

    def extra_repr(self) -> str:
        return f"wraps {type(self.hf).__name__} over {len(self.class_names)} class names (video in, logits out)"


#: what load_model takes from Hugging Face, as its refusals say
SERVED = ("a video classifier (VideoMAEForVideoClassification, TimeSformerForVideoClassification or "
          "VivitForVideoClassification: pixel_values in, .logits out), or XCLIPModel with class_names=[...]")


def unsupported(model: Any) -> str | None:
    """Why a Hugging Face model (one with a ``config.model_type``) is not one this package can run, or None: a
    video model without a class head (``VideoMAEModel``, ``VideoMAEForPreTraining``), or a model of another
    modality (``ViTForImageClassification``, ``BertForSequenceClassification``)."""
    kind = getattr(getattr(model, "config", None), "model_type", None)
    if (not isinstance(model, nn.Module) or isinstance(model, HFVideoClassifier) or not isinstance(kind, str)
            or not type(model).__module__.startswith("transformers.")):  # a user's own wrapper may keep a config
        return None
    if is_hf_video_classifier(model) or is_xclip(model):
        return None
    name = type(model).__name__
    if kind in PROCESSORS:
        head = {"videomae": "VideoMAE", "timesformer": "TimeSformer", "vivit": "Vivit"}.get(kind, "XCLIP")
        fix = ("load the checkpoint as XCLIPModel" if kind == "xclip" else
               f"load a fine-tuned checkpoint as {head}ForVideoClassification.from_pretrained(...)")
        return (f"{name} has no classification head (its output is features or reconstructed patches, not class "
                f"logits); {fix}, or pass load_model('hf:<fine-tuned model id>')")
    return (f"{name} is a Hugging Face '{kind}' model, not a video classifier (known video model types: "
            f"{', '.join(PROCESSORS)})")


def refuse_unsupported(model: Any) -> None:
    why = unsupported(model)
    if why is not None:
        raise TypeError(f"model: {why}. vidvis-widgets runs Hugging Face models that are {SERVED}")


def is_xclip(model: Any) -> bool:
    """Whether ``model`` is an (unwrapped) X-CLIP model."""
    config = getattr(model, "config", None)
    return (isinstance(model, nn.Module) and not isinstance(model, HFVideoClassifier)
            and getattr(config, "model_type", None) == "xclip" and hasattr(model, "mit"))


def wrap(hf: nn.Module, class_names=None, processor: Any = None) -> HFVideoClassifier:
    """``hf`` as a clip classifier: a ``*ForVideoClassification`` as it is, X-CLIP over ``class_names`` with the
    tokenizer that ``processor`` gives (:func:`xclip_processor`)."""
    if isinstance(hf, HFVideoClassifier):
        return hf
    if is_xclip(hf):
        if not class_names:
            raise ValueError("X-CLIP classifies by comparing a video with texts: give load_model(..., class_names=[...]) "
                             "with the names of the classes to score")
        return XCLIPClassifier(hf, class_names, *xclip_processor(processor))
    return HFVideoClassifier(hf)


#: the forms X-CLIP's ``processor=`` takes, as its errors say
XCLIP_PROCESSOR_FORMS = ("an XCLIPProcessor (or any processor with a .tokenizer), a transformers tokenizer (e.g. "
                         "CLIPTokenizer, or a tokenizers.Tokenizer wrapped in transformers.PreTrainedTokenizerFast("
                         "tokenizer_object=..., pad_token=...)), or the path of a folder that "
                         "tokenizer.save_pretrained or processor.save_pretrained wrote")


def xclip_processor(processor: Any) -> tuple[Any, Any]:
    """(tokenizer, image processor or None) from X-CLIP's ``processor=``: an XCLIPProcessor (or any processor
    with a ``.tokenizer``), a ``transformers`` tokenizer, or a local folder (``str`` or path) that
    ``save_pretrained`` wrote, read without network (its image processor too where it holds one). Anything else is
    refused with the forms it takes."""
    import transformers

    if isinstance(processor, (str, os.PathLike)):
        return _processor_folder(Path(processor).expanduser())
    tokenizer = getattr(processor, "tokenizer", processor)
    if not isinstance(tokenizer, transformers.PreTrainedTokenizerBase):
        given = "nothing" if processor is None else f"a {type(processor).__name__}"
        raise ValueError(f"X-CLIP needs its tokenizer to embed the class names: give load_model(..., processor=) "
                         f"{XCLIP_PROCESSOR_FORMS}; got {given}. load_model('hf:<id>') reads the checkpoint's own")
    images = getattr(processor, "image_processor", None)
    return tokenizer, images if hasattr(images, "image_mean") else None


def _processor_folder(path: Path) -> tuple[Any, Any]:
    """The tokenizer (and image processor, where the folder holds a whole processor) of a local folder, read with
    ``local_files_only``: no network."""
    import transformers

    if not path.is_dir():
        raise ValueError(f"processor={str(path)!r} is not a folder; X-CLIP's processor= takes {XCLIP_PROCESSOR_FORMS}")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError, TypeError) as err:
        raise ValueError(f"processor={str(path)!r}: the folder holds no tokenizer that transformers can read "
                         f"(tokenizer.json or a tokenizer's vocabulary files with tokenizer_config.json, as "
                         f"save_pretrained writes them): {str(err).splitlines()[0] if str(err) else type(err).__name__}"
                         ) from None
    images = None
    if any((path / f).is_file() for f in ("preprocessor_config.json", "processor_config.json")):
        try:  # a whole processor's folder: its image processor's normalization too
            images = transformers.AutoImageProcessor.from_pretrained(str(path), local_files_only=True)
        except (OSError, ValueError):  # a processor without an image processor
            images = None
    return tokenizer, images if hasattr(images, "image_mean") else None


def _tokens(tokenizer: Any, class_names, vocab_size: int) -> dict:
    """The class names tokenized for X-CLIP's text tower (padded to one length), checked against its vocabulary."""
    try:
        tokens = tokenizer(list(class_names), padding=True, return_tensors="pt")
    except ValueError as err:  # no padding token, most often
        raise ValueError(f"processor=: X-CLIP's tokenizer could not tokenize the class names padded to one length "
                         f"({err}); give a tokenizer with a pad_token") from None
    top = int(tokens["input_ids"].max())
    if top >= vocab_size:
        raise ValueError(f"processor=: the tokenizer gives token ids up to {top}, but X-CLIP's text vocabulary has "
                         f"{vocab_size} tokens; give the tokenizer of this checkpoint (its folder, or XCLIPProcessor)")
    return tokens


def _blocks(model: nn.Module, depth: int) -> list[str]:
    """The encoder's transformer blocks: the module list holding ``depth`` layers."""
    for name, m in model.named_modules():
        if isinstance(m, nn.ModuleList) and len(m) == depth:
            return [f"{name}.{i}" for i in range(depth)]
    raise ValueError(f"{type(model).__name__} has no list of {depth} encoder layers (config.num_hidden_layers)")


def _quarter_points(blocks: list[str]) -> tuple[str, ...]:
    """LEAPS' priming layers Λ of a transformer: the blocks ending each quarter of its depth, deepest last."""
    n = len(blocks)
    return tuple(blocks[i] for i in sorted({max(0, n // 4 - 1), max(0, n // 2 - 1), max(0, 3 * n // 4 - 1), n - 1}))


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
    if isinstance(model, XCLIPClassifier):
        return _xclip_adapter(model, processor, **given)
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
        am_layer=blocks[n // 2], priming_layers=_quarter_points(blocks))
    fields.update(given)
    return ModelAdapter(**fields)


def _xclip_adapter(model: XCLIPClassifier, processor: Any = None, **given) -> ModelAdapter:
    """X-CLIP's adapter: frames and size from its vision config, each frame's patches a map on the batch axis
    (tokens ``"frames"``), its processor's normalization (its checkpoints' is VideoMAE's processor's), the class
    names it was wrapped with, and the frame encoder's blocks as the default layers."""
    vision = model.config.vision_config
    frames, size, patch = int(vision.num_frames), _pair(vision.image_size), _pair(vision.patch_size)
    blocks = [f"vision_model.encoder.layers.{i}" for i in range(int(vision.num_hidden_layers))]
    images = getattr(processor, "image_processor", processor)
    if not hasattr(images, "image_mean"):  # a tokenizer or a folder: the image processor that came with it
        images = model.image_processor if model.image_processor is not None else default_processor("xclip")
    mean, std = normalization(images)
    fields = dict(
        name=f"hf:{getattr(model.config, '_name_or_path', '') or 'xclip'}", kind="clip",
        class_names=model.class_names, num_frames=frames, size=size, mean=mean, std=std, fixed_size=True,
        weights=getattr(model.config, "_name_or_path", "") or "random",
        layer_names=tuple(name for name, _ in model.named_modules() if name),
        token_grid=(frames, size[0] // patch[0], size[1] // patch[1]), token_order="frames",
        # the last block's patches reach the logits through the video-specific prompts, so tubes read it
        logit_layer="class_texts", tube_layer=blocks[-1], am_layer=blocks[len(blocks) // 2],
        priming_layers=_quarter_points(blocks))
    fields.update(given)
    return ModelAdapter(**fields)


def _offline() -> bool:
    """Whether the Hugging Face Hub is not to be asked (``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE``, read now)."""
    from huggingface_hub import constants

    flags = (os.environ.get("HF_HUB_OFFLINE"), os.environ.get("TRANSFORMERS_OFFLINE"))
    return bool(constants.HF_HUB_OFFLINE) or any(str(f).strip().upper() in ("1", "ON", "YES", "TRUE") for f in flags)


def locate(model_id: str) -> tuple[str, bool]:
    """(what to pass ``from_pretrained``, whether it is local) for ``hf:<model_id>``: a local folder, else a Hub id
    already in the Hugging Face cache (loaded from it, without network), else a Hub id looked up once on the Hub
    (one metadata request for the id the user named, which fails at once where there is no network, instead of
    transformers' five retries). A FileNotFoundError names the id and where it was looked for."""
    from huggingface_hub import constants, model_info, try_to_load_from_cache
    from huggingface_hub.errors import RepositoryNotFoundError

    path = Path(model_id).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"hf:{model_id}: the local folder {path} has no config.json; expected a folder "
                                    "written by save_pretrained")
        return str(path), True
    if model_id.startswith(("/", ".", "~")) or os.sep in model_id.strip("/").replace("/", "", 1) or path.exists():
        raise FileNotFoundError(f"hf:{model_id}: no local folder {path} (looked up locally; a Hub id is "
                                "'<org>/<name>')")
    try:
        cached = try_to_load_from_cache(model_id, "config.json")
    except Exception as err:  # an id the Hub would not accept either (HFValidationError)
        raise FileNotFoundError(f"hf:{model_id} is neither a local folder nor a valid Hugging Face Hub id "
                                f"('<org>/<name>'): {err}") from None
    if isinstance(cached, str):
        return model_id, True
    where = f"not a local folder and not in the Hugging Face cache ({constants.HF_HUB_CACHE})"
    if _offline():
        raise FileNotFoundError(f"hf:{model_id} could not be found: it is {where}, and the Hub was not asked "
                                "(HF_HUB_OFFLINE is set). Download it where there is network, or pass its "
                                "save_pretrained folder as 'hf:/path/to/folder'")
    try:
        model_info(model_id, timeout=10)
    except RepositoryNotFoundError as err:
        raise FileNotFoundError(f"hf:{model_id} could not be found on the Hugging Face Hub (looked up online; it is "
                                f"{where}): {str(err).splitlines()[0]}") from None
    except Exception as err:  # no network, a proxy, a timeout: the Hub could not be asked
        raise FileNotFoundError(f"hf:{model_id} could not be looked up: it is {where}, and the Hugging Face Hub "
                                f"could not be reached ({type(err).__name__}: {err}). Download it where there is "
                                "network, or pass its save_pretrained folder as 'hf:/path/to/folder'") from None
    return model_id, False


def from_pretrained(model_id: str) -> tuple[nn.Module, Any]:
    """``AutoModelForVideoClassification`` and its image processor from a local folder, the Hugging Face cache or
    the Hub (which ``transformers`` downloads on a machine with internet access: only when the user names a
    model); X-CLIP as ``XCLIPModel`` with its processor (tokenizer and image processor). A checkpoint that is not
    a video classifier (a bare encoder, a pre-training head, an image or text model) is refused before its
    weights are read."""
    try:
        import transformers
    except ImportError:
        raise ImportError("hf: models need transformers: pip install 'vidvis-widgets[hf]'") from None
    source, local = locate(model_id)
    kw = dict(local_files_only=local)
    config = transformers.AutoConfig.from_pretrained(source, **kw)
    kind, archs = config.model_type, list(getattr(config, "architectures", None) or [])
    if kind not in PROCESSORS:
        raise TypeError(f"hf:{model_id} is a Hugging Face '{kind}' model ({', '.join(archs) or 'no architecture'}), "
                        f"not a video classifier; vidvis-widgets runs {SERVED}")
    if kind == "xclip":
        return (transformers.XCLIPModel.from_pretrained(source, **kw),
                transformers.XCLIPProcessor.from_pretrained(source, **kw))
    if archs and not any(a.endswith("ForVideoClassification") for a in archs):
        raise TypeError(f"hf:{model_id} is a {', '.join(archs)} checkpoint, without a trained classification head "
                        "(loading it as a classifier would give a random head); vidvis-widgets runs "
                        f"{SERVED}: name a checkpoint fine-tuned for classification")
    hf = transformers.AutoModelForVideoClassification.from_pretrained(source, **kw)
    try:
        processor = transformers.AutoImageProcessor.from_pretrained(source, **kw)
    except (OSError, ValueError):  # a checkpoint saved without its processor: the model type's defaults
        processor = None
    return hf, processor


def _adapter_for(model: nn.Module, **given) -> ModelAdapter | None:
    """A wrapped classifier's adapter (:func:`hf_adapter`); None for any other model."""
    return hf_adapter(model, **given) if isinstance(model, HFVideoClassifier) else None


def refuse_unwrapped(model: nn.Module) -> None:
    """Refuses, with how to load it, a Hugging Face model the methods cannot call as it is: one of another kind
    (:func:`refuse_unsupported`), or a video classifier or X-CLIP model not yet wrapped by ``load_model``."""
    refuse_unsupported(model)
    if is_xclip(model):
        raise TypeError("XCLIPModel compares videos with texts and has no class head; pass it through "
                        "vidvis_widgets.models.load_model(model, class_names=[...], processor=its XCLIPProcessor, its "
                        "tokenizer or a tokenizer folder), which makes it a classifier over those names")
    if is_hf_video_classifier(model):
        raise TypeError(f"{type(model).__name__} is a Hugging Face video classifier (pixel_values B×T×C×H×W in, "
                        "an object with .logits out); pass it through vidvis_widgets.models.load_model(model), "
                        "which wraps it and reads its frames, size, normalization, token grid and labels")


# the adapter asks this family first (describe) and runs its refusals (check_loadable) without importing this module
register_family("huggingface", _adapter_for, refuse_unwrapped)
