"""What Saliency Tubes give (:class:`SaliencyTubeResults`): a layer's maps and the class weights for N clips,
from which tubes for any class, τ or channel are recomputed and rendered without running the model again."""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ...media.grid import ClipGrid
from ...media.interpolation import cubic_upsample, normalize_over_clip
from ..core.collection import Results
from ..core.diagnostics import warn_empty_maps
from .attributions import Attribution, attribution_of
from ..core.targets import Target
from ...models.classes import class_index

_TENSORS = ("frames", "activations", "logits", "targets", "head_weights", "grad_weights", "grad_classes",
            "attribution_maps", "support", "target_weights", "target_values")


# -- the result ----------------------------------------------------------------------------------------------
@dataclass
class SaliencyTubeResults(Results):
    """Tubes for N clips, recomputable for any class, τ or channel without running the model again.

    A :class:`~..core.collection.Results` collection with one job per clip: ``len(result)`` clips,
    ``result[i]`` clip i's result (:meth:`select`; a slice gives several), ``.show()``, ``.save(path)`` /
    ``vidvis_widgets.methods.load(path)``; every method below works on the whole batch. ``status``: how the call
    ended ("completed", or "stopped" / "interrupted": a Stop or Ctrl-C ended it after a batch, and the result
    holds the clips done). ``settings``: every setting of the call.

    ``frames``: the clips as the tubes overlay them, N×T×H×W×3 uint8; ``activations``: the layer's
    N×C×T'×H'×W'; ``logits``: N×classes; ``method``: the name of the attribution strategy that made the tubes
    (:attr:`attribution` gives its declarations: default τ, rectification, units). A strategy whose weights
    cover every class (CAM, eqs. 1–2) keeps them in ``head_weights``, classes×C; the others keep, for the classes
    ``grad_classes`` (N×K: each clip's top-k and the requested targets), channel weights ``grad_weights``
    (N×K×C) or, for a strategy that makes maps itself (a Captum attribution), the maps ``attribution_maps``
    (N×K×T'×H'×W'). ``targets``: each clip's default class; ``threshold``: the default τ, in the strategy's
    units (None: its default, see :meth:`resolved_threshold`); ``support``: the frames the model sees (all of
    them, except for a two-stream model). ``target``: the call's target value
    (:mod:`~vidvis_widgets.methods.core.targets`), when it was one, with its channel weights per clip
    ``target_weights`` N×C and its value ``target_values`` (N,); the tubes then show it by default."""

    frames: torch.Tensor
    activations: torch.Tensor
    logits: torch.Tensor
    method: str
    layer: str
    targets: torch.Tensor
    threshold: float | None = None
    class_names: tuple[str, ...] | None = None
    head_weights: torch.Tensor | None = None
    grad_weights: torch.Tensor | None = None
    grad_classes: torch.Tensor | None = None
    support: torch.Tensor | None = None
    attribution_maps: torch.Tensor | None = None
    model_name: str = ""
    settings: dict = field(default_factory=dict)
    target: Target | None = None
    target_weights: torch.Tensor | None = None
    target_values: torch.Tensor | None = None
    status: str = "completed"

    method_name = "saliency_tubes"  # what a saved file records (not a field: no annotation)

    # -- the collection: one job per clip ------------------------------------------------------------------
    def __len__(self) -> int:
        return self.num_clips

    def __getitem__(self, i) -> "SaliencyTubeResults":
        """Clip ``i``'s result (one clip), or several clips' for a slice."""
        if isinstance(i, slice):
            return self.select(range(self.num_clips)[i])
        if isinstance(i, bool) or not isinstance(i, (numbers.Integral, np.integer)):
            raise TypeError(f"index a Saliency Tubes result by clip number (an int) or a slice, got {i!r}; "
                            "select(indices) takes several clips")
        n = int(i) + (self.num_clips if int(i) < 0 else 0)
        if not 0 <= n < self.num_clips:
            raise IndexError(f"clip index {int(i)} is out of range for {self.num_clips} clips")
        return self.select([n])

    def __iter__(self):
        return (self[n] for n in range(self.num_clips))

    def entries(self) -> list[tuple[dict, dict]]:
        return [self.to_entry()]

    @classmethod
    def from_entries(cls, entries, settings: dict, *, device="cpu", **kw) -> "SaliencyTubeResults":
        (arrays, meta), = entries
        return cls.from_entry(arrays, {**meta, "settings": settings}, device)

    def select(self, indices) -> "SaliencyTubeResults":
        """The result for some of the clips (views of the kept tensors; the model does not run)."""
        idx = torch.as_tensor(list(indices), dtype=torch.long, device=self.logits.device)
        pick = lambda t: None if t is None else t[idx.to(t.device)]  # noqa: E731
        return dataclasses.replace(self, frames=pick(self.frames), activations=pick(self.activations),
                                   logits=pick(self.logits), targets=pick(self.targets),
                                   grad_weights=pick(self.grad_weights), grad_classes=pick(self.grad_classes),
                                   target_weights=pick(self.target_weights), target_values=pick(self.target_values),
                                   attribution_maps=pick(self.attribution_maps))

    @property
    def attribution(self) -> Attribution:
        """The strategy that made the tubes (:mod:`.attributions`), whose declarations the result reads."""
        return attribution_of(self.method)

    # -- classes ---------------------------------------------------------------------------------------
    @property
    def num_clips(self) -> int:
        return int(self.frames.shape[0])

    @property
    def num_classes(self) -> int:
        return int(self.logits.shape[1])

    @property
    def probs(self) -> torch.Tensor:
        return self.logits.float().softmax(1)

    @property
    def predicted(self) -> torch.Tensor:
        return self.logits.argmax(1)

    def class_name(self, c: int) -> str:
        return self.class_names[c] if self.class_names is not None and c < len(self.class_names) else f"class {c}"

    def class_index(self, c: int | str) -> int:
        return class_index(self.class_names, c, "the model", num_classes=self.num_classes)

    def _is_target(self, target) -> bool:
        """Whether ``target`` asks for the call's target value (it, or None when the call had one)."""
        if isinstance(target, Target) and target.single_class() is None:
            if target != self.target and target.resolve(_Names(self)) != self.target:
                held = repr(self.target) if self.target is not None else "no target value"
                raise ValueError(f"tubes for the target {target!r} were not computed; this result holds {held}. "
                                 f"Call the method with target={target!r}")
            return True
        return target is None and self.target is not None

    def _targets(self, target) -> torch.Tensor:
        """(N,) class per clip from None (the defaults), 'predicted', one class, or one per clip."""
        if isinstance(target, Target):
            target = target.single_class()
        if target is None:
            return self.targets
        return resolve_targets(target, self.num_clips, self.class_index, self.predicted)

    def top_k(self, k: int = 5) -> list[list[tuple[int, str, float]]]:
        """Per clip, the k most probable classes as (index, name, probability)."""
        p, i = self.probs.topk(min(k, self.num_classes), dim=1)
        return [[(int(c), self.class_name(int(c)), float(q)) for c, q in zip(ci, pi)] for ci, pi in zip(i.cpu(), p.cpu())]

    # -- eqs. 1 and 2 ----------------------------------------------------------------------------------
    def channel_weights(self, target=None) -> torch.Tensor:
        """The strategy's channel weights for each clip's class i, N×C: y_{i,j} (CAM), α_{i,j} (Grad-CAM), w_{i,j}
        (Grad-CAM++), or the call's target value's."""
        a = self.attribution
        if not a.has_channel_weights:
            raise ValueError(f"{a.title} gives maps, not channel weights: τ, kept channels and contributions do not "
                             "apply to its tubes")
        if self._is_target(target):
            return self.target_weights
        t = self._targets(target)
        if a.every_class:
            return self.head_weights[t]
        return self.grad_weights[torch.arange(self.num_clips, device=t.device), self._kept(t)]

    def _kept(self, t: torch.Tensor) -> torch.Tensor:
        """(N,) where each clip's class ``t`` sits among the classes kept at the call (``grad_classes``)."""
        hit = self.grad_classes == t[:, None]
        missing = ~hit.any(1)
        if bool(missing.any()):
            n = int(missing.nonzero()[0, 0])
            raise ValueError(f"{self.attribution.title} for class {self.class_name(int(t[n]))} of clip {n} was not "
                             f"computed; this result has each clip's top-{self.grad_classes.shape[1]} and its targets. "
                             "Pass target= (or a larger top_k) to the call")
        return hit.float().argmax(1)

    def resolved_threshold(self, threshold: float | None = None) -> float:
        """The τ used: ``threshold``, else the result's, else the strategy's default — 0 for CAM (the channels
        whose linear weight raises the class score) and −∞ for Grad-CAM and Grad-CAM++ (every channel). τ is in
        the units of the strategy's channel weights (CAM: the linear weights'; Grad-CAM: α's)."""
        tau = check_threshold(self.threshold if threshold is None else threshold)
        return self.attribution.default_threshold if tau is None else tau

    def kept_channels(self, target=None, threshold: float | None = None) -> torch.Tensor:
        """How many channels pass τ, per clip: (N,)."""
        return (self.channel_weights(target) >= self.resolved_threshold(threshold)).sum(1)

    def contributions(self, target=None) -> torch.Tensor:
        """y_{i,j} · mean(a_j): what each channel adds to the class score, N×C (for CAM these sum to the logit
        minus its bias). Sort them to find the features worth a per-feature tube."""
        return self.channel_weights(target) * self.activations.mean((2, 3, 4))

    def maps(self, target=None, threshold: float | None = None, feature: int | None = None) -> torch.Tensor:
        """The un-interpolated tubes, N×T'×H'×W', before upsampling: the sum of the channels whose weight passes τ,
        weighted (eqs. 1–2 for CAM), and rectified where the strategy rectifies (Grad-CAM's and Grad-CAM++'s
        ReLU); a source's own maps (a Captum attribution, as it gave them); or with ``feature``, the single
        activation map a_j (the paper's Fig. 1b)."""
        a = self.activations
        if feature is not None:
            if not 0 <= int(feature) < a.shape[1]:
                raise ValueError(f"feature {feature} is out of range: layer {self.layer} has {a.shape[1]} channels "
                                 f"(0…{a.shape[1] - 1})")
            return a[:, int(feature)]
        if not self.attribution.has_channel_weights:
            if threshold is not None:
                raise ValueError(f"threshold does not apply to {self.attribution.title}: it gives maps, not channel "
                                 "weights; pass threshold=None")
            t = self._targets(target)
            return self.attribution_maps[torch.arange(self.num_clips, device=t.device), self._kept(t)]
        tau = self.resolved_threshold(threshold)
        w = self.channel_weights(target)
        w = torch.where(w >= tau, w, torch.zeros_like(w))
        summed = torch.einsum("nc,ncthw->nthw", w, a)
        return summed.clamp_min(0) if self.attribution.rectifies else summed

    def tubes(self, target=None, threshold: float | None = None, feature: int | None = None) -> torch.Tensor:
        """The saliency tubes, N×T×H×W in [0, 1] on the model's device, normalized over each whole clip."""
        n, T, H, W, _ = self.frames.shape
        maps = self.maps(target, threshold, feature)
        if feature is None and self.attribution.has_channel_weights:  # an empty map is reported (DeadUnitWarning)
            named = self._is_target(target)
            warn_empty_maps(maps, self.channel_weights(target), self.kept_channels(target, threshold),
                            torch.zeros(n, dtype=torch.long) if named else self._targets(target),
                            (lambda _: repr(self.target)) if named else self.class_name, self.model_name, self.layer)
        return normalize_over_clip(cubic_upsample(maps, (T, H, W), floor_at_min=True), self.support)

    def top_k_tubes(self, k: int = 3, threshold: float | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One tube per top-k class: (tubes N×k×T×H×W, classes N×k, probabilities N×k)."""
        p, c = self.probs.topk(min(k, self.num_classes), dim=1)
        tubes = torch.stack([self.tubes(c[:, j], threshold) for j in range(c.shape[1])], 1)
        return tubes, c, p

    def frame_energy(self, target=None, threshold: float | None = None, feature: int | None = None) -> torch.Tensor:
        """The mean saliency of each frame, N×T: flat for a model that looks at every frame alike."""
        return self.tubes(target, threshold, feature).mean((2, 3))

    # -- renderings ------------------------------------------------------------------------------------
    def heat(self, target=None, threshold: float | None = None, feature: int | None = None, *,
             colormap: str = "Turbo", alpha: float = 0.5) -> np.ndarray:
        """Heat tubes: a colormap blended over the frames, N×T×H×W×3 uint8."""
        from ...media.tube_render import heat_tube

        return heat_tube(self.frames, self.tubes(target, threshold, feature), colormap, alpha).cpu().numpy()

    def focus(self, target=None, threshold: float | None = None, feature: int | None = None, *,
              floor: float = 20 / 255) -> np.ndarray:
        """Focus tubes: the saliency as an alpha mask over the frames (on black), N×T×H×W×3 uint8."""
        from ...media.tube_render import focus_tube

        return focus_tube(self.frames, self.tubes(target, threshold, feature), floor).cpu().numpy()

    def heat_and_focus(self, target=None, threshold: float | None = None, feature: int | None = None, *,
                       colormap: str = "Turbo", alpha: float = 0.5,
                       floor: float = 20 / 255) -> tuple[np.ndarray, np.ndarray]:
        """Both renderings from one computation of the tubes: (heat, focus), each N×T×H×W×3 uint8."""
        from ...media.tube_render import focus_tube, heat_tube

        tubes = self.tubes(target, threshold, feature)
        return (heat_tube(self.frames, tubes, colormap, alpha).cpu().numpy(),
                focus_tube(self.frames, tubes, floor).cpu().numpy())

    def caption(self, n: int, target=None) -> str:
        if self._is_target(target):
            return f"{self.target!r} = {float(self.target_values[n]):.2f}"
        c = int(self._targets(target)[n])
        return f"{self.class_name(c)} p={float(self.probs[n, c]):.2f}"

    def clip_grid(self, target=None, threshold: float | None = None, feature: int | None = None, *,
                  indices=None) -> ClipGrid:
        """One row per clip, with the clip, its heat tube and its focus tube (``show()`` plays it)."""
        idx = list(range(self.num_clips)) if indices is None else [int(i) for i in indices]
        targets = self.target if self._is_target(target) else self._targets(target)
        heat, focus = self.select(idx).heat_and_focus(targets if self._is_target(target) else targets[idx], threshold,
                                                      feature)
        frames = self.frames[idx].cpu().numpy()
        clips, caps = [], []
        for k, n in enumerate(idx):
            clips += [frames[k], heat[k], focus[k]]
            caps += [f"clip {n}", self.caption(n, targets), "focus"]
        return ClipGrid(clips, captions=caps, rows=len(idx), cols=3, col_headers=["clip", "heat tube", "focus tube"],
                        fps=8.0)

    def save_video(self, path, index: int = 0, view: str = "both", target=None, threshold: float | None = None,
                   feature: int | None = None, fps: float = 8.0) -> Any:
        """Writes clip ``index``'s heat tube, focus tube or ``"both"`` beside the clip, as MP4, WebM or GIF (by
        the suffix). (``.save(path)`` saves the whole result, for ``vidvis_widgets.methods.load``.)"""
        from ...io import write_video

        if view not in ("heat", "focus", "both"):
            raise ValueError(f"view must be 'heat', 'focus' or 'both', got {view!r}")
        if not 0 <= index < self.num_clips:
            raise IndexError(f"clip index {index} is out of range for {self.num_clips} clips")
        one = self.select([index])
        heat, focus = one.heat_and_focus(self.target if self._is_target(target) else
                                         self._targets(target)[index:index + 1], threshold, feature)
        if view == "heat":
            return write_video(path, heat[0], fps=fps)
        if view == "focus":
            return write_video(path, focus[0], fps=fps)
        return write_video(path, [one.frames[0].cpu().numpy(), heat[0], focus[0]], fps=fps, cols=3)

    def to_entry(self) -> tuple[dict, dict]:
        """The result as a store entry: (arrays, meta); bfloat16 tensors are kept as float32."""
        arrays = {k: getattr(self, k).detach().cpu() for k in _TENSORS if getattr(self, k) is not None}
        arrays = {k: (v.float() if v.is_floating_point() else v).numpy() for k, v in arrays.items()}
        return arrays, {"method": self.method, "layer": self.layer, "threshold": self.threshold,
                        "model_name": self.model_name, "settings": self.settings, "status": self.status,
                        "target": self.target.to_json() if self.target is not None else None,
                        "class_names": list(self.class_names) if self.class_names is not None else None}

    @classmethod
    def from_entry(cls, arrays: dict, meta: dict, device: torch.device | str = "cpu") -> "SaliencyTubeResults":
        names, target = meta["class_names"], meta.get("target")
        return cls(**{k: torch.as_tensor(v, device=device) for k, v in arrays.items()},
                   **{k: v for k, v in meta.items() if k not in ("class_names", "target")},
                   class_names=tuple(names) if names is not None else None,
                   target=Target.from_json(target) if target is not None else None)

    def __repr__(self) -> str:
        tau = f", τ={self.resolved_threshold():g}" if self.attribution.has_channel_weights else ""
        stopped = "" if self.status == "completed" else f", {self.status}"
        clips = f"{self.num_clips} clip{'' if self.num_clips == 1 else 's'}"
        return (f"SaliencyTubeResults({clips} of {tuple(self.frames.shape[1:4])}, method={self.method!r}, "
                f"layer={self.layer!r}, maps {tuple(self.activations.shape[1:])}{tau}{stopped})")



class _Names:
    """What a target's resolution asks of an adapter, from a result: its class names and logit layer."""

    def __init__(self, result: SaliencyTubeResults):
        layers = {t.target for t in (result.target.terms if result.target is not None else ()) if t.op == "logit"}
        self.logit_layer, self.name = next(iter(layers), "logits"), result.model_name
        self.class_names = result.class_names or tuple(f"class_{i}" for i in range(result.num_classes))


def check_threshold(tau) -> float | None:
    """τ as a float (±∞ allowed: −∞ keeps every channel), or None for the form's default."""
    if tau is None:
        return None
    if isinstance(tau, bool) or not isinstance(tau, numbers.Real) or math.isnan(tau):
        raise ValueError(f"threshold must be a number (τ of eq. 1, in the units of the form's channel weights) or "
                         f"None (the form's default), got {tau!r}")
    return float(tau)


def is_predicted(target) -> bool:
    return isinstance(target, str) and target == "predicted"


def given_classes(target, n: int, index) -> torch.Tensor:
    """(n,) class per clip, on the CPU, from one class (index or name) or one per clip."""
    if isinstance(target, (list, tuple, np.ndarray, torch.Tensor)):
        t = [index(c) for c in (target.tolist() if hasattr(target, "tolist") else target)]
        if len(t) != n:
            raise ValueError(f"{len(t)} targets for {n} clips; give one class, or one per clip")
        return torch.tensor(t, dtype=torch.long)
    return torch.full((n,), index(target), dtype=torch.long)


def resolve_targets(target, n: int, index, predicted: torch.Tensor) -> torch.Tensor:
    """(n,) class per clip from 'predicted', one class (index or name), or one per clip, on the predictions' device."""
    return predicted if is_predicted(target) else given_classes(target, n, index).to(predicted.device)
