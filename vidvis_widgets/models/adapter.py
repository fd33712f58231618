"""One adapter per model: everything the methods ask about a model, so that none of them branches on a
model's kind.

``load_model`` attaches a :class:`ModelAdapter` as ``model.vidvis_adapter``, the way torchvision attaches
``weights.transforms()``. It knows the model's input (streams, layout, normalization, native frames and size,
whether the size is fixed), how its layers lay out their outputs for the probe, where its class logits are,
its class names, and the default layer of each method. :func:`adapter_of` also describes a bare module
(one the user built without ``load_model``) from its structure.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from . import pixels
from .classes import class_index, unnamed
from .heads import softmax_head
from .pytorchvideo_nets import pytorchvideo_fields

#: how a layer lays out its output: channels last (Video Swin), and the (T, H, W) grid of a token sequence
Layout = Callable[[str], "LayerLayout"]


#: how a token sequence runs over its (T, H, W) grid (see :class:`LayerLayout`)
TOKEN_ORDERS = ("thw", "hwt", "frames")


class LayerLayout(tuple):
    """``(channels_last, grid, views, order)``: grid is the (T, H, W) of a bare token sequence, or None; ``views``:
    how many views of the input the layer carries one after another on the batch axis (the clip itself first);
    ``order``: how a token sequence runs over its grid, ``"thw"`` (time slowest: tubelet embeddings), ``"hwt"``
    (time fastest: TimeSformer's divided space-time tokens) or ``"frames"`` (each frame its own sequence on the
    batch axis, N·T sequences of H·W patches: X-CLIP's frame encoder)."""

    def __new__(cls, channels_last: bool = False, grid: tuple[int, int, int] | None = None, views: int = 1,
                order: str = "thw"):
        if order not in TOKEN_ORDERS:
            raise ValueError(f"token order must be one of {', '.join(TOKEN_ORDERS)}, got {order!r}")
        return super().__new__(cls, (channels_last, grid, views, order))

    @property
    def views(self) -> int:
        return self[2]

    @property
    def channels_last(self) -> bool:
        return self[0]

    @property
    def grid(self) -> tuple[int, int, int] | None:
        return self[1]

    @property
    def order(self) -> str:
        return self[3]


#: how :meth:`ModelAdapter.call` skips a head's Softmax: the probe's ``bypassed`` (the probe, the one module that
#: registers hooks, imports this one and hands it over as it loads: :func:`register_bypass`), so this module imports
#: no probe (the package loads it with models/)
_BYPASS: list[Callable] = []


def register_bypass(bypassed: Callable) -> None:
    """Has :meth:`ModelAdapter.call` skip a head's Softmax with ``bypassed(model, name)`` (a context manager)."""
    _BYPASS.append(bypassed)


#: the input conventions an adapter describes (see :class:`ModelAdapter`)
KINDS = ("clip", "two_stream", "pathways")

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)


@dataclass(frozen=True)
class ModelAdapter:
    """``kind``: ``"two_stream"`` (forward(rgb, flow)), ``"clip"`` (forward(clip N×3×T×H×W)) or ``"pathways"``
    (forward([clip at each pathway's frame rate, …]): SlowFast, whose pathways see the one clip at ``pathways``'
    frame strides).

    Pixels are N×3×T×H×W floats in [0, 1] (or uint8 0–255); model units are the normalized inputs
    (:meth:`normalize`, :meth:`denormalize`). A model with ``fixed_size`` takes only its native T×H×W
    (MViT's attention pools fixed token grids): :meth:`model_input` resamples to it."""

    name: str
    kind: str
    class_names: tuple[str, ...]
    #: the native input frames and H×W (None for a bare module of unknown architecture)
    num_frames: int | None
    size: tuple[int, int] | None
    mean: tuple[float, float, float] = KINETICS_MEAN
    std: tuple[float, float, float] = KINETICS_STD
    #: two-stream only: flow fields stacked on the motion input, and the divisor applied to pixel flow
    flow_frames: int = 0
    flow_scale: float = 1.0
    layer_names: tuple[str, ...] = field(default=())
    weights: str = "random"
    #: how the model's space-time layers lay out their outputs: "channels_first" (N×C×T×H×W, 3D CNNs, MViT's
    #: tokens as the probe reads them) or "channels_last" (N×T×H×W×C, Video Swin)
    layout: str = "channels_first"
    #: layers that emit channels-first maps in a channels-last model (Video Swin's patch embedding and pool)
    channels_first_layers: tuple[str, ...] = ()
    #: layers that emit channels-last maps in a channels-first model (PyTorchVideo's head projection, a linear
    #: layer applied to N×T×H×W×C maps)
    channels_last_layers: tuple[str, ...] = ()
    #: whether the model takes only its native frames and size
    fixed_size: bool = False
    #: the smallest input T×H×W the model takes, where it is known and above a method's default size
    min_shape: tuple[int, int, int] | None = None
    #: the layer whose outputs are the class logits (the last linear layer; before the Softmax a head ends in)
    logit_layer: str | None = None
    #: the Softmax that ends the head (X3D's by default), which :meth:`call` skips to read logits, not probabilities
    head_softmax: str | None = None
    #: Saliency Tubes' default layer: the last with space-time maps before the head (None: found by a pass)
    tube_layer: str | None = None
    #: LEAPS' priming layers Λ, last one deepest
    priming_layers: tuple[str, ...] = ()
    #: a mid-level layer whose units activation maximization shows by default
    am_layer: str | None = None
    #: a transformer's patch-token grid (T, H, W) and the order its tokens run over it ("thw", or "hwt" for
    #: TimeSformer): token-sequence layers are read as maps on it, after their leading class tokens
    token_grid: tuple[int, int, int] | None = None
    token_order: str = "thw"
    #: views of the input the layers carry on the batch axis (the symmetric two-stream net's clip, mirror image,
    #: reversal and both); every layer but the logit layer is read on the first, the input itself
    views: int = 1
    #: a multi-pathway model's pathways, slowest first: (name, frame stride), e.g. (("slow", 4), ("fast", 1))
    pathways: tuple[tuple[str, int], ...] = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"adapter kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if (self.kind == "pathways") != bool(self.pathways):
            raise ValueError("a 'pathways' adapter names its pathways as (name, frame stride) pairs, and only it does")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def streams(self) -> tuple[str, ...]:
        """The model's input streams: ("rgb",), ("rgb", "flow") for a two-stream model, or its pathways' names."""
        if self.kind == "pathways":
            return tuple(name for name, _ in self.pathways)
        return ("rgb", "flow") if self.kind == "two_stream" else ("rgb",)

    @property
    def native_shape(self) -> tuple[int, int, int] | None:
        """The input T×H×W the model was trained at (None where unknown)."""
        return (self.num_frames, *self.size) if self.num_frames is not None and self.size is not None else None

    def layer_layout(self, name: str) -> LayerLayout:
        """How layer ``name`` lays out its output, as the probe takes it (``Probe(layout=adapter.layer_layout)``)."""
        return LayerLayout(channels_last=(self.layout == "channels_last" and name not in self.channels_first_layers)
                           or name in self.channels_last_layers,
                           grid=self.token_grid, views=self.views if name and name != self.logit_layer else 1,
                           order=self.token_order)

    def _stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (1, 3) + (1,) * (x.dim() - 2)
        return (torch.tensor(self.mean, device=x.device).view(shape),
                torch.tensor(self.std, device=x.device).view(shape))

    def normalize(self, pixels: torch.Tensor) -> torch.Tensor:
        """…×3×(T×)H×W pixels (floats in [0, 1], or integers on 0–255) → model units, on their device."""
        mean, std = self._stats(pixels)
        x = pixels.float() if pixels.is_floating_point() else pixels.float() / 255.0
        return (x - mean) / std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Model units → pixels in [0, 1] (not clamped), the inverse of :meth:`normalize`."""
        mean, std = self._stats(x)
        return x.float() * std + mean

    def model_input(self, x: torch.Tensor) -> torch.Tensor:
        """N×3×T×H×W model units as the model takes them: resampled (trilinear) to the native T×H×W when the
        model's size is fixed, else as they are."""
        if self.fixed_size and tuple(x.shape[2:]) != self.native_shape:
            return F.interpolate(x, size=self.native_shape, mode="trilinear", align_corners=False)
        return x

    def split(self, x: torch.Tensor) -> list[torch.Tensor]:
        """N×3×T×H×W model units → one clip per input stream: the clip itself, or for a multi-pathway model
        each pathway's frames, T/stride of them spread evenly over the clip (PyTorchVideo's ``PackPathway``)."""
        if self.kind != "pathways":
            return [x]
        t = x.shape[2]
        return [x if stride == 1 else x.index_select(2, _even_frames(t, max(1, t // stride), x.device))
                for _, stride in self.pathways]

    def forward_args(self, inputs) -> tuple:
        """The ``forward`` arguments for the model's inputs in stream order: each its own argument, or for a
        multi-pathway model all in one list (PyTorchVideo's ``model([slow, fast])``)."""
        return (list(inputs),) if self.kind == "pathways" else tuple(inputs)

    def clip_args(self, x: torch.Tensor) -> tuple:
        """N×3×T×H×W model units, already at the size the model is to see, as ``forward`` arguments: the clip, or
        a multi-pathway model's pathways sampled from it."""
        return self.forward_args(self.split(x))

    def model_args(self, x: torch.Tensor) -> tuple:
        """N×3×T×H×W model units as ``forward`` arguments: resampled where the size is fixed, split into
        pathways where the model has them (``model(*adapter.model_args(x))``)."""
        return self.clip_args(self.model_input(x))

    def forward(self, model: nn.Module, args: tuple) -> Any:
        """``model`` on its ``forward`` arguments (:meth:`forward_args`, :meth:`pixel_args`, an AM stream's
        ``model_inputs``): the one place a method runs the model, its output as ``forward`` returns it."""
        return model(*args)

    def call(self, model: nn.Module, args: tuple) -> torch.Tensor:
        """``model(*args)``'s class logits (:meth:`logits`): how methods call it, so ``(logits, features)`` works.
        A head that ends in a Softmax (``head_softmax``) is read before it: the call skips it."""
        with _BYPASS[-1](model, self.head_softmax):
            return self.logits(self.forward(model, args))

    def input_shapes(self) -> list[tuple[int, ...]] | None:
        """The native input as ``list_layers`` takes it, one shape per ``forward`` input without the batch axis:
        [(3, T, H, W)] (a multi-pathway model's clip, which its pathways sample), or a two-stream model's
        [(3, H, W), (2L, H, W)]; None where the native frames and size are not known."""
        if self.native_shape is None:
            return None
        t, h, w = self.native_shape
        return [(3, h, w), (2 * self.flow_frames, h, w)] if self.kind == "two_stream" else [(3, t, h, w)]

    def native_or_raise(self, what: str, instead: str = "") -> tuple[int, int, int]:
        """The native T×H×W, or a ValueError saying that ``what`` needs it and how to give it."""
        if self.native_shape is None:
            raise ValueError(f"{what} needs the input frames and size of {self.name}, which its structure does not "
                             f"tell (a module of unknown architecture): load it with load_model(model, num_frames=T, "
                             f"size=S) at the input it was trained at, e.g. load_model(model, num_frames=16, "
                             f"size=112){', or ' + instead if instead else ''}")
        return self.native_shape

    def logits(self, output: Any) -> torch.Tensor:
        """The class logits N×K from whatever ``forward`` returned: a tensor, a tuple (the first tensor), or an
        object with ``.logits`` (Hugging Face)."""
        if isinstance(output, torch.Tensor):
            return output
        if hasattr(output, "logits"):
            return output.logits
        if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
            return output[0]
        raise TypeError(f"{self.name}'s forward returned {type(output).__name__}; expected class logits as a "
                        "tensor, a tuple starting with one, or an object with .logits")

    @property
    def rgb_frame(self) -> int:
        """The frame the appearance stream sees: the centre of the clip."""
        return self.num_frames // 2

    @property
    def flow_window(self) -> slice:
        start = self.num_frames // 2 - self.flow_frames // 2
        return slice(start, start + self.flow_frames)

    def to_dict(self) -> dict:
        return asdict(self)

    def prepare(self, batch: dict, device: torch.device | str = "cpu", first: int = 0) -> tuple:
        """Model inputs (``forward`` arguments) from dataset arrays: ``rgb`` N×T×H×W×3 (or one clip T×H×W×3), uint8
        on 0–255 or float in [0, 1], and for a two-stream model ``flow`` N×T×2×H×W (or T×2×H×W) in pixels. Both must
        be finite; ``first``: the dataset position of the batch's first video, which errors name. Checked, then
        :meth:`pixel_args`."""
        return pixels.prepare(self, batch, device, first)

    def pixel_args(self, rgb: torch.Tensor, flow: torch.Tensor | None = None, device=None,
                   out: torch.Tensor | None = None) -> tuple:
        """The one path from pixels to the model: frames N×T×H×W×3 (uint8 0–255 or float in [0, 1], a torch tensor)
        and a two-stream model's flow N×T×2×H×W (pixels) → ``forward`` arguments on ``device``: normalized, resized
        by the model's rule (:meth:`pixel_input`), split into its streams or pathways (:mod:`.pixels`)."""
        return pixels.pixel_args(self, rgb, flow, device, out)

    def pixel_input(self, rgb: torch.Tensor, device=None, size: tuple[int, int, int] | None = None,
                    out: torch.Tensor | None = None) -> torch.Tensor:
        """Frames N×T×H×W×3 → normalized N×3×T×H×W, at ``size`` or by the model's resize rule (:mod:`.pixels`)."""
        return pixels.pixel_input(self, rgb, device, size, out)

    def stats(self, device) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, std) as 1×3×1×1×1 tensors on ``device``, made once per device."""
        return _stats_on(self.mean, self.std, torch.device(device))

    @property
    def uses_flow(self) -> bool:
        """Whether the model takes optical flow beside its frames (a two-stream model)."""
        return self.kind == "two_stream"

    @property
    def min_frames(self) -> int:
        """The fewest frames a clip needs: the native frames (a two-stream model's flow window sits in them), else 1."""
        return self.num_frames or 1

    def frames_seen(self, length: int, device=None) -> torch.Tensor | None:
        """Which of a clip's ``length`` frames the model sees (a two-stream model: the flow window and the appearance
        frame), as a bool tensor; None where it sees them all."""
        if not self.uses_flow:
            return None
        seen = torch.zeros(length, dtype=torch.bool, device=device)
        seen[self.flow_window] = True
        seen[self.rgb_frame] = True
        return seen

    @property
    def named_classes(self) -> bool:
        """Whether the model's classes have names (else they are ``class_0``, ``class_1``, … placeholders)."""
        return bool(self.class_names) and not unnamed(self.class_names)

    def class_index(self, cls, num_classes: int | None = None, check_range: bool = True) -> int:
        """The one class resolver: a class by index or by one of the model's names, as an index, with one clear
        error (:func:`.classes.class_index`). ``num_classes``: the count where the adapter has no names for them."""
        names = self.class_names if self.class_names else None
        return class_index(names, cls, self.name, num_classes=num_classes if not names else None,
                           check_range=check_range)


@functools.lru_cache(maxsize=64)
def _stats_on(mean: tuple, std: tuple, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return (torch.tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1, 1),
            torch.tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1, 1))


@functools.lru_cache(maxsize=64)
def _even_frames(t: int, n: int, device: torch.device) -> torch.Tensor:
    """``n`` frame indices spread evenly over ``t`` frames (PackPathway's linspace), made once per device: the
    optimization loops split every step's input without building them again."""
    return torch.linspace(0, t - 1, n, device=device).long()


def adapter_of(model: nn.Module) -> ModelAdapter:
    """``model.vidvis_adapter`` (what ``load_model`` attaches), else an adapter described from the module's
    structure (:func:`describe`)."""
    adapter = getattr(model, "vidvis_adapter", None)
    return adapter if adapter is not None else describe(model)


#: model families that describe their own models, by name: ``(adapter_for, refuse)``, where ``adapter_for(model,
#: **given)`` is the adapter of a model of the family (None for any other) and ``refuse(model)`` raises, saying how
#: to load it, for a model of the family that the methods cannot call as it is. Hugging Face's registers itself
#: (:mod:`.huggingface`, imported with the package), so this module imports none of any family's code.
_FAMILIES: dict[str, tuple[Callable[..., "ModelAdapter | None"], Callable[[nn.Module], None]]] = {}


def register_family(name: str, adapter_for: Callable[..., ModelAdapter | None],
                    refuse: Callable[[nn.Module], None]) -> None:
    """Has :func:`describe` ask ``adapter_for`` first, and :func:`check_loadable` run ``refuse`` (see ``_FAMILIES``)."""
    _FAMILIES[name] = (adapter_for, refuse)


def check_loadable(model: nn.Module) -> None:
    """Refuses, with how to load it, a model the methods cannot call as it is: an unwrapped Hugging Face video
    classifier (each registered family's refusal)."""
    for _, refuse in _FAMILIES.values():
        refuse(model)


def describe(model: nn.Module, **given) -> ModelAdapter:
    """An adapter for ``model`` from its structure; ``given`` fields override what is found. A registered family's
    models (Hugging Face's) are described by their family; torchvision's video models are known by their classes
    (native input, layout, fixed size, default layers); any other module is taken as a clip model with Kinetics'
    normalization and no known native size, channels first, its class logits from its last linear layer (before a
    Softmax that ends its head: :mod:`.heads`), and its default layers from its top-level stages where they follow
    torchvision's ResNet naming (``stem``, ``layer1``–``layer4``)."""
    for adapter_for, _ in _FAMILIES.values():
        adapter = adapter_for(model, **given)
        if adapter is not None:
            return adapter
    check_loadable(model)
    fields: dict[str, Any] = dict(name=type(model).__name__, kind="clip", num_frames=None, size=None,
                                  layer_names=tuple(n for n, _ in model.named_modules() if n))
    fields.update(_known_architecture(model))
    fields.setdefault("logit_layer", _last_linear(model))
    fields.update(softmax_head(model, fields["logit_layer"]))  # logits before a Softmax that ends the head
    fields.update(given)
    if "class_names" not in fields:
        head = model.get_submodule(fields["logit_layer"]) if fields["logit_layer"] else None
        if head is not None and not isinstance(head, nn.Linear) and not hasattr(head, "out_channels"):
            last = _last_linear(model)  # a pool after the projection (X3D's output pool): the projection's classes
            head = model.get_submodule(last) if last else None
        k = head.out_features if isinstance(head, nn.Linear) else (head.out_channels if head is not None else 0)
        fields["class_names"] = tuple(f"class_{i}" for i in range(k))
    return ModelAdapter(**fields)


def _last_linear(model: nn.Module) -> str | None:
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    return names[-1] if names else None


def _known_architecture(model: nn.Module) -> dict[str, Any]:
    """What the methods need to know of torchvision's video models (and of models named like its ResNets)."""
    import torchvision.models.video as tvv

    children = dict(model.named_children())
    if isinstance(model, tvv.MViT):
        n = len(model.blocks)
        # only the class token reaches MViT's head, so the last block's patch tokens get no gradient: the tubes
        # are read from the block before, whose patches the last block's attention reads
        # the native input follows the model's own positional grid (16×224² for mvit_v2_s), which its
        # patch embedding's stride maps back to frames and pixels
        grid = (model.pos_encoding.temporal_size, *model.pos_encoding.spatial_size)
        t, h, w = (g * s for g, s in zip(grid, model.conv_proj.stride))
        return dict(num_frames=t, size=(h, w), fixed_size=True, tube_layer=f"blocks.{n - 2}",
                    am_layer=f"blocks.{n // 2}",
                    priming_layers=tuple(f"blocks.{i}" for i in sorted({n // 4 - 1, n // 2 - 1, 3 * n // 4 - 1, n - 1})))
    if isinstance(model, tvv.SwinTransformer3d):
        return dict(num_frames=16, size=(224, 224), layout="channels_last",
                    channels_first_layers=("patch_embed.proj", "avgpool"), tube_layer="norm", am_layer="features.4",
                    priming_layers=tuple(f"features.{i}" for i in range(0, len(model.features), 2)))
    if isinstance(model, tvv.S3D):
        # AM's unit climbs before its final ReLU; an Inception block's output concatenates four branches, so the
        # default unit is one of Mixed_4f's 1×1×1 branch (a rectified conv whose pre-activation is its own)
        # its head's 2×7×7 average pool needs at least 16×224² (T/8 × H/32 × W/32)
        return dict(num_frames=16, size=(224, 224), min_shape=(16, 224, 224), tube_layer="features",
                    am_layer="features.12.branch0",
                    logit_layer="classifier.1",
                    priming_layers=("features.3", "features.7", "features.13", "features.15"))
    pytorchvideo = pytorchvideo_fields(model)
    if pytorchvideo:
        return pytorchvideo
    if isinstance(model, tvv.VideoResNet):
        return dict(num_frames=16, size=(112, 112), tube_layer="layer4", am_layer="layer3",
                    priming_layers=("stem", "layer1", "layer2", "layer3", "layer4"))
    if all(f"layer{i}" in children for i in range(1, 5)):  # models named like torchvision's ResNets (tiny_r3d)
        return dict(tube_layer="layer4", am_layer="layer3", priming_layers=("stem", "layer1", "layer2", "layer3",
                                                                            "layer4"))
    if all(f"block{i}" in children for i in range(1, 4)):  # the embedded tiny_verifier
        return dict(tube_layer="block3", am_layer="block2", priming_layers=("stem", "block1", "block2", "block3"))
    return {}
