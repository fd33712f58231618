"""A model's inputs as the papers' streams, in the units their regularizer defaults are stated in.

The AM papers state B = 160 for mean-subtracted 8-bit inputs. So every stream is optimized in those
units, N×D×T×H×W, and mapped onto the model's own input normalization only on the way in:

- ``appearance`` / ``video``: mean-subtracted RGB on 0–255, so the model sees x / (255·std) per channel
  (0 is the dataset's mean colour);
- ``slow``, ``fast`` (a multi-pathway model's pathways, SlowFast): each like ``video``, at its own frame rate,
  optimized as its own input;
- ``motion``: flow in the 8-bit encoding of two-stream flow images (±20 px onto 0–255, i.e. 6.375 units
  per pixel, mean-subtracted), so the model sees x / (6.375·flow_scale) stacked as 2L channels x, y per frame.

The stream layout follows the model's adapter (:mod:`.adapter`), which alone knows the model's kind; the streams
become ``forward`` arguments through the adapter's :meth:`~.adapter.ModelAdapter.forward_args`, so an adapter that
passes its inputs differently (a dict, say) is all a new model family needs. Methods read the specs, the
display mapping and the forward arguments from here and never ask which kind of model it is.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch
from torch import nn

from .adapter import ModelAdapter, adapter_of, check_loadable

FLOW_UNITS_PER_PIXEL = 255.0 / 40.0


@dataclass(frozen=True)
class StreamSpec:
    name: str
    shape: tuple[int, int, int, int]  # D×T×H×W


class InputStreams:
    """The streams a model takes and how to turn them into its ``forward`` arguments (:meth:`of` builds them)."""

    def __init__(self, adapter: ModelAdapter, kind: str, size: tuple[int, int], num_frames: int,
                 flow_frames: int = 0, std=(1.0, 1.0, 1.0), flow_scale: float = 1.0, joint: bool = False):
        self._kind, self.size = kind, tuple(size)
        #: a multi-pathway model optimized through one video its pathways sample (else one input per pathway)
        self.joint = bool(joint)
        self.adapter = adapter
        H, W = self.size
        if kind == "two_stream":
            self.specs = (StreamSpec("appearance", (3, 1, H, W)), StreamSpec("motion", (2, flow_frames, H, W)))
        elif kind == "clip" or (kind == "pathways" and joint):
            self.specs = (StreamSpec("video", (3, num_frames, H, W)),)
        elif kind == "pathways":
            self.specs = tuple(StreamSpec(name, (3, max(1, num_frames // stride), H, W))
                               for name, stride in adapter.pathways)
        else:
            raise ValueError(f"unknown model kind {kind!r}; expected 'two_stream', 'clip' or 'pathways'")
        self._rgb_scale = 255.0 * torch.tensor(std, dtype=torch.float32)
        self._rgb_scale_on: dict[torch.device, torch.Tensor] = {}  # per device, so a step copies nothing to it
        self._flow_scale = FLOW_UNITS_PER_PIXEL * flow_scale

    @classmethod
    def of(cls, model: nn.Module, input_shape=None, pathways: str = "separate") -> "InputStreams":
        """From ``model.vidvis_adapter``, or from ``input_shape`` for any other module: (3, T, H, W) for a
        clip model, ((3, H, W), (2L, H, W)) for a two-stream model. A multi-pathway model's (SlowFast's)
        ``input_shape`` is its clip (3, T, H, W); ``pathways``: ``"separate"`` optimizes one input per pathway,
        ``"joint"`` one video that the pathways sample at their frame rates, as they sample a real clip;
        ``"video"``: one video whatever the model (joint where it has pathways), as LEAPS' 3D AM baseline asks."""
        if pathways not in ("separate", "joint", "video"):
            raise ValueError(f"pathways must be 'separate' (one input per pathway) or 'joint' (one video the pathways "
                             f"sample), got {pathways!r}")
        check_loadable(model)
        info = getattr(model, "vidvis_adapter", None)
        if pathways == "video":
            pathways = "joint" if info is not None and info.pathways else "separate"
        adapter = info if info is not None else adapter_of(model)
        if pathways == "joint" and (info is None or not info.pathways):
            what = (f"{info.name} is a {info.kind.replace('_', '-')} model" if info is not None else
                    f"{type(model).__name__} carries no vidvis_adapter, so it is taken as a clip or two-stream model")
            raise ValueError(f"pathways='joint' is for multi-pathway models (SlowFast), whose pathways sample one "
                             f"video at their own frame rates; {what}, with no pathways to join: leave pathways= "
                             "at its default")
        if info is not None and info.kind == "pathways":
            shape = info.native_shape if input_shape is None else tuple(input_shape)
            if len(shape) == 3:
                shape = (3, *shape)
            if len(shape) != 4 or shape[0] != 3 or not all(isinstance(d, int) and d > 0 for d in shape):
                raise ValueError(f"input_shape of {info.name}, a multi-pathway model, is its clip (3, T, H, W), which "
                                 f"its pathways ({', '.join(info.streams)}) sample; got {input_shape!r}")
            _at_least_min(info, shape[1:], input_shape)
            return cls(info, "pathways", shape[2:], shape[1], std=info.std, joint=pathways == "joint")
        if input_shape is not None:
            shapes = [tuple(input_shape)] if isinstance(input_shape[0], int) else [tuple(s) for s in input_shape]
            two = len(shapes) == 2
            if info is not None and (info.kind == "two_stream") != two:
                raise ValueError(f"{info.name} is a {'two-stream' if info.kind == 'two_stream' else 'single-stream'}"
                                 f" model, but input_shape gives {len(shapes)} input(s); expected "
                                 + ("((3, H, W), (2L, H, W))" if info.kind == "two_stream" else "(3, T, H, W)"))
            if two and (len(shapes[0]) != 3 or len(shapes[1]) != 3 or shapes[1][0] % 2 or shapes[0][0] != 3):
                raise ValueError(f"two-stream input_shape must be ((3, H, W), (2L, H, W)), got {shapes}")
            if not two and (len(shapes[0]) != 4 or shapes[0][0] != 3):
                raise ValueError(f"single-stream input_shape must be (3, T, H, W), got {shapes[0]}")
            if info is not None and not two:
                _at_least_min(info, shapes[0][1:], input_shape)
            std = info.std if info else (1 / 255.0,) * 3
            if two:
                if info is None and forward_arity(model) != 2:
                    raise ValueError(f"{type(model).__name__}.forward takes {forward_arity(model)} input(s), "
                                     "so it is not a two-stream model; give input_shape=(3, T, H, W)")
                return cls(adapter, "two_stream", shapes[0][1:], 1, shapes[1][0] // 2, std,
                           info.flow_scale if info else 1.0)
            return cls(adapter, "clip", shapes[0][2:], shapes[0][1], 0, std)
        if info is None:
            raise ValueError(f"{type(model).__name__} carries no vidvis_adapter; give input_shape=(3, T, H, W) for a "
                             "clip model or ((3, H, W), (2L, H, W)) for a two-stream model")
        info.native_or_raise("activation maximization", "give input_shape=(3, T, H, W)")
        return cls(info, info.kind, info.size, info.num_frames, info.flow_frames, info.std, info.flow_scale)

    @property
    def input_shape(self):
        """The streams as the model's inputs without the batch axis, as ``list_layers`` takes them: (3, T, H, W),
        a multi-pathway model's one per pathway, or a two-stream model's ((3, H, W), (2L, H, W))."""
        shapes = [(s.shape[0] * s.shape[1], *s.shape[2:]) if self._kind == "two_stream" else s.shape
                  for s in self.specs]
        return shapes[0] if len(shapes) == 1 else tuple(shapes)

    def unit_scale(self, name: str) -> float:
        """How many stream units make one unit of the model's input (one std of RGB, one flow_scale of
        flow): learning rates and random starts are set in these, so both streams move alike for the model."""
        return self._flow_scale if name == "motion" else float(self._rgb_scale.mean())

    def rgb_units(self, x: torch.Tensor) -> torch.Tensor:
        """An RGB stream N×3×T×H×W in stream units (mean-subtracted 0–255) as the model's normalized units."""
        return x / self._scale(x.device).view(1, 3, 1, 1, 1)

    def _scale(self, device: torch.device) -> torch.Tensor:
        if device not in self._rgb_scale_on:
            self._rgb_scale_on[device] = self._rgb_scale.to(device)
        return self._rgb_scale_on[device]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs)

    def model_inputs(self, streams: dict[str, torch.Tensor]) -> tuple:
        """The streams (name → N×D×T×H×W in stream units) as the model's ``forward`` arguments, through its
        adapter (``model(*streams.model_inputs(x))``, or ``adapter.forward(model, ...)``)."""
        if self._kind == "pathways" and self.joint:
            return self.adapter.clip_args(self.rgb_units(streams["video"]))
        if self._kind == "two_stream":
            a, m = streams["appearance"], streams["motion"]
            rgb = a[:, :, 0] / self._scale(a.device).view(1, 3, 1, 1)
            flow = m.transpose(1, 2).flatten(1, 2) / self._flow_scale  # N×2×L×H×W → N×2L×H×W, x then y per frame
            return self.adapter.forward_args([rgb, flow])
        return self.adapter.forward_args([self.rgb_units(streams[s.name]) for s in self.specs])

    def display(self, streams: dict[str, torch.Tensor], i: int) -> dict:
        """Job ``i``'s streams as an AM result holds them: ``appearance`` and ``motion`` (None for one stream); for
        a multi-pathway model optimized per pathway, ``pathways``, each pathway's video, the first as ``appearance``."""
        shown = {k: self.to_display(k, v[i]) for k, v in streams.items()}
        if self._kind == "pathways" and not self.joint:
            pathways = {s: shown[s] for s in self.names}
            return {"appearance": pathways[self.names[0]], "motion": None, "pathways": pathways}
        appearance = shown.get("appearance", shown.get("video"))
        return {"appearance": appearance[0] if self._kind == "two_stream" else appearance,
                "motion": shown.get("motion")}

    def display_row(self, job_streams) -> list:
        """One job's streams (name → D×T×H×W, tensors or arrays) as the cells that show them, in stream order: a
        two-stream appearance as its one image, a multi-pathway model's pathways held on the fastest's clock."""
        from ..media.clips import on_one_clock

        row = [self.to_display(s.name, torch.as_tensor(job_streams[s.name])) for s in self.specs]
        if self._kind == "pathways" and not self.joint:
            return on_one_clock(row)
        return [x[0] if s.name == "appearance" else x for s, x in zip(self.specs, row)]

    def to_display(self, name: str, x: torch.Tensor):
        """One job's stream as a numpy array for display: T×H×W×3 RGB in paper units, or L×2×H×W flow in pixels."""
        x = x.detach().float().cpu()
        if name == "motion":
            return (x / FLOW_UNITS_PER_PIXEL).transpose(0, 1).numpy()
        return x.permute(1, 2, 3, 0).numpy()


def _at_least_min(info, thw, input_shape) -> None:
    """Refuses an ``input_shape`` whose T×H×W is below the smallest the model takes (its adapter's ``min_shape``,
    e.g. a head that average-pools a fixed grid), before torch fails inside the model."""
    low = info.min_shape
    if low is not None and any(a < b for a, b in zip(thw, low)):
        raise ValueError(f"input_shape={tuple(input_shape)!r} is below the smallest input {info.name} takes, "
                         f"{'×'.join(map(str, low))} (T×H×W: its head pools a grid of that input); give at least "
                         f"(3, {', '.join(map(str, low))}), or leave input_shape=None for its native input")


def forward_arity(model: nn.Module) -> int:
    """How many inputs a bare module's ``forward`` requires (positional, without defaults): what tells a two-stream
    module without an adapter from a clip model."""
    params = inspect.signature(model.forward).parameters.values()
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty for p in params)


def check_one_clip(network: nn.Module, role: str, method: str = "LEAPS") -> None:
    """Refuses, before any work, a network that does not take one clip N×3×T×H×W: a two-stream model (by its
    adapter, or for a bare module by a ``forward`` that requires two inputs). ``role``: what the network is to the
    method (``"inverted model"``, ``"verifier"``), which the error names."""
    if not isinstance(network, nn.Module):
        raise TypeError(f"the {role} must be a torch.nn.Module (a video model), got {type(network).__name__}")
    info = getattr(network, "vidvis_adapter", None)
    if (info is not None and info.uses_flow) or forward_arity(network) > 1:
        name = info.name if info is not None else type(network).__name__
        raise ValueError(f"the {role} {name} is a two-stream model (its forward takes rgb and flow); {method} inverts "
                         "and verifies single-stream video models that take one clip N×3×T×H×W (e.g. tiny_r3d as "
                         "the model, tiny_verifier as the verifier)")
