"""Saliency Tubes (Stergiou et al., ICIP 2019) and their gradient-weighted generalization, Grad-CAM.

The CAM form, for models whose head is global average pooling of the last convolution followed by a linear
layer (the embedded ``tiny_r3d`` and ``tiny_frame2d``, torchvision's ``r3d_18``, ``mc3_18``, ``r2plus1d_18``):
with x the last convolution's activations (C channels over T'×H'×W') and y_i the linear layer's weights for
class i, eq. 1 weights every activation map a_j by y_{i,j} and keeps the channels with y_{i,j} ≥ τ; eq. 2
sums them, and the sum is interpolated to the clip's T×H×W with cubic interpolation. Because the head is
pool → linear, the mean of the un-thresholded map is exactly the class logit minus its bias: the tube
splits the logit over space and time.

The gradient-weighted form, for every other model (``s3d``, ``mvit_v2_s``, ``swin3d_t``, the two-stream
model, or any other layer), is Grad-CAM (Selvaraju et al., ICCV 2017) over space and time, as published:
α_{i,j} is the mean over T'×H'×W' of ∂(logit i)/∂a_j, and the map is ReLU(Σ_j α_{i,j} a_j) over every channel —
what Captum's ``LayerGradCam`` computes (tested). Transformer tokens are reshaped back to T'×H'×W' first; for
the two-stream model the map lives on conv5_fusion's H'×W' and covers the frames the two streams see. On a
pool → linear head α_{i,j} = y_{i,j} / (T'H'W'), so the two forms keep the same channels at τ = 0, and there
give the same tubes (tested).

τ (``threshold``), absolute, in each form's own units:

- CAM: in the units of the linear weights y, as in eq. 1. The paper leaves τ's value open (it is there to keep
  "only the activations that significantly contribute to the predictions"), and its reference code sums every
  channel. The default (``None``) is τ = 0: the channels whose weight raises the class score, the least
  threshold that keeps only contributing channels where the activations are non-negative (after a ReLU, as
  at every embedded model's last convolution). ``threshold=float("-inf")`` sums every channel, as the
  reference code does.
- gradient form: in the units of α (a gradient averaged over T'×H'×W', so on a pool → linear head the CAM
  form's τ is τ / (T'H'W') here). The default (``None``) keeps every channel, Grad-CAM as published; a τ keeps
  the channels with α_{i,j} ≥ τ, and the ReLU follows.

Our choices, where the paper and its reference code leave them open:

- Interpolation is cubic convolution (Keys), separable over time and space, on the model's device, so a
  tube costs a fraction of a forward pass. The reference code's ``scipy.ndimage.zoom(cam, (2, 32, 32))``, a
  cubic B-spline on a grid whose corner samples sit on the output's corners, correlates 0.980 with it on the
  test's smooth 4×8×8 map (0.952–0.981 over ten such maps, 0.983–0.995 on ``tiny_r3d``'s CAM maps); the same
  spline on PyTorch's half-pixel grid (``grid_mode=True``) correlates above 0.999: the difference is the grid,
  not the kernel (tested).
- The interpolated map is floored at the un-interpolated map's minimum (the cubic kernel undershoots beside
  a peak) and min–max scaled over the whole clip, not per frame: its minimum becomes 0 and its maximum 1, so
  that the frames where the model does not look stay dark — the reference code's focus maps are normalized per
  frame, which hides exactly that. It is not rectified at this point: a map with negative values (the CAM form
  at τ < 0) has its minimum, not its zeros, at 0, as in the reference code's min–max scaling. The gradient
  form's map is non-negative already (Grad-CAM's ReLU, before interpolation), and so is the CAM map at τ ≥ 0
  on non-negative activations.

The model runs once per clip batch; the activations, logits and weights are kept, so changing the class,
τ or the per-feature channel recomputes a tube without running the model again.
"""

from __future__ import annotations

import threading
import warnings
from typing import Callable, NamedTuple

import numpy as np
import torch
from torch import nn

from ...media.clips import to_numpy
from ...models.adapter import adapter_of
from ...models.layers import submodule
from ...models.pixels import check_frames, frames_to_uint8
from ...models.run_control import ctrl_c_stops, device_of, frozen
from ..core.cache import Cached, content_hash
from ..core.forward_args import map_args
from ..core.diagnostics import DeadUnitWarning
from .call import Run, TubeSnapshot, check_call
from .result import SaliencyTubeResults, check_threshold, given_classes, is_predicted
from .attributions import Attribution, LayerRun, attribution_of, registered
from .attributions.cam import linear_head
from ..core.loop import autocast
from ..core.progress import count, progress_bar, wanted
from ..core.targets import Target, target_values
from ...models.probe import LayerLayout, Probe, as_maps, first_tensor, modules_that_ran
from ...checks import number

__all__ = ["SaliencyTubes", "SaliencyTubeResults", "TubeSnapshot", "saliency_tubes", "as_frames", "METHODS"]

METHODS = registered()  # the strategies' names (see .attributions); a strategy or a Captum class works too
_FORMS = "a clip T×H×W×3, a batch N×T×H×W×3 (uint8, or float in [0, 1]), a list of equal-sized clips, or a dict " \
         "with 'rgb' in those forms (and 'flow' N×T×2×H×W for a two-stream model)"


# -- inputs --------------------------------------------------------------------------------------------------
def _as_tensor(x, name: str) -> torch.Tensor:
    """A torch tensor of ``x`` as given (a tensor stays on its device; numpy is wrapped, not copied)."""
    return x.detach() if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(to_numpy(x, name)))


def as_frames(clips) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(frames N×T×H×W×3 uint8, flow N×T×2×H×W float or None) from the forms users have: see ``_FORMS``."""
    flow = None
    if isinstance(clips, dict):
        if "rgb" not in clips:
            raise ValueError(f"a dict of clips needs an 'rgb' entry; expected {_FORMS}")
        flow = clips.get("flow")
        clips = clips["rgb"]
    if isinstance(clips, (list, tuple)):
        items = [check_frames(_as_tensor(c, f"clip {i}"), f"clip {i}", batch=False) for i, c in enumerate(clips)]
        if not items:
            raise ValueError(f"no clips given; expected {_FORMS}")
        shapes = {tuple(c.shape) for c in items}
        if len(shapes) > 1:
            raise ValueError(f"clips in one call must share a shape; got {sorted(shapes)}. Resize them, or call once "
                             "per size")
        rgb = torch.stack([frames_to_uint8(c) for c in items])
    else:
        rgb = frames_to_uint8(check_frames(_as_tensor(clips, "clips"), "clips", batch=None))
    if flow is not None:
        flow = _as_tensor(flow, "flow").float()
        if flow.dim() == 4:
            flow = flow[None]
        if flow.dim() != 5 or flow.shape[2] != 2 or flow.shape[0] != rgb.shape[0] or flow.shape[1] < rgb.shape[1]:
            raise ValueError(f"flow must be N×T×2×H×W alongside rgb N×T×H×W×3 {tuple(rgb.shape)}; got "
                             f"{tuple(flow.shape)}")
    return rgb, flow


# -- the method ----------------------------------------------------------------------------------------------
class SaliencyTubes:
    """Saliency Tubes on a video model: build once, call with clips.

        tubes = SaliencyTubes(load_model("tiny_r3d"))(inputs=SyntheticActions("test").arrays(range(8)))
        tubes.show()                                   # clip, heat tube, focus tube per clip
        tubes.heat(target="disc_left", threshold=0.1)  # another class and τ, no model re-run

    ``method``: ``"cam"`` (eqs. 1–2; needs a conv → global-average-pool → linear head, checked on the
    logits), ``"grad"`` (Grad-CAM, the gradient-weighted form, any model and layer), ``"gradcam++"``
    (Grad-CAM++), ``"auto"`` (CAM where the head allows it), any :class:`~.attributions.Attribution`, or a
    Captum layer attribution class (``captum.attr.LayerGradCam``; :class:`~.attributions.CaptumSource` passes
    arguments to its ``attribute``). ``layer``: the layer whose maps the tubes are made of (default: the last layer with
    space-time maps before the head; conv5_fusion for the two-stream model). ``batch_size``: clips per
    forward pass. ``bf16``: autocast the forward pass on devices that support it. ``store``: a
    :class:`~vidvis_widgets.store.ResultStore`, a folder path or ``True``: a call's result is kept under the
    model's weights, the clips' content and the settings, and the same call again loads it instead of running the model.
    """

    def __init__(self, model: nn.Module, *, method: str = "auto", layer: str | None = None,
                 device: torch.device | str | None = None, batch_size: int = 32, bf16: bool = False, store=None):
        self.attribution = attribution_of(method)  # checked before any work
        self.device = device_of(model, device)
        self.model = model.to(self.device)
        self.info = getattr(model, "vidvis_adapter", None)
        self.method, self.bf16 = self.attribution.name, bool(bf16)
        self.batch_size = number("batch_size", batch_size, low=1, integer=True)
        self.adapter = adapter_of(model)
        self.layer = layer if layer is not None else self.adapter.tube_layer
        if self.layer is not None:
            submodule(model, self.layer)
        self._buffer: torch.Tensor | None = None
        self.attribution.check_model(model, self.adapter)
        self.cache = Cached(store, self.model, "saliency_tubes")

    # -- model facts -------------------------------------------------------------------------------------
    @property
    def min_frames(self) -> int:
        return self.adapter.min_frames if self.info is not None else 1

    def _model_inputs(self, frames: torch.Tensor, flow: torch.Tensor | None) -> tuple:
        """The clips as the model's ``forward`` arguments, by the adapter's one pixel path (normalized, resized by
        the model's rule, split into its streams), written into the reused input buffer."""
        out = None if self.adapter.uses_flow else self._input_buffer(frames.shape)
        return self.adapter.pixel_args(frames, flow, self.device, out=out)

    def _input_buffer(self, shape: torch.Size) -> torch.Tensor:
        """A float N×3×T×H×W tensor (channels-last in memory) for ``shape`` N×T×H×W×3 frames, reused across
        batches and calls on the CPU: there the allocator hands large freed blocks back to the OS, and a fresh
        input pays a page fault per 4 KiB on first touch — a third of a small model's forward pass at batch 32.
        CUDA's caching allocator reuses blocks already. Results never alias it, even for a layer that passes
        its input through: ``__call__`` concatenates the batches' activations into new tensors."""
        n, t, h, w, c = shape
        if self.device.type != "cpu":
            return torch.empty(shape, device=self.device).permute(0, 4, 1, 2, 3)
        if self._buffer is None or self._buffer.shape[0] < n or tuple(self._buffer.shape[1:]) != (c, t, h, w):
            self._buffer = torch.empty(shape).permute(0, 4, 1, 2, 3)
        return self._buffer[:n]

    def _default_layer(self, inputs: tuple[torch.Tensor, ...]) -> str:
        """For a model whose adapter names no tube layer: the last layer, in execution order, whose output has
        space-time maps (more than one spatial position); a parent whose output is its last child's is
        preferred, for a shorter name."""
        first = map_args(inputs, lambda t: t[:1])  # one clip (of every input)
        found = modules_that_ran(self.model, first,
                                 lambda name, out: _has_maps(out, self.adapter.layer_layout(name).channels_last))
        if not found:
            raise ValueError(f"{type(self.model).__name__} has no layer with space-time maps (N×C×T×H×W, or tokens with "
                             "their T×H×W); pass layer=")
        return found[-1]

    # -- running -----------------------------------------------------------------------------------------
    def __call__(self, target=None, inputs=None, *, seeds=None, steps=None, stop: threading.Event | None = None,
                 callback: Callable[[TubeSnapshot], None] | None = None, every: int = 1,
                 progress: bool | None = None, top_k: int = 5, threshold: float | None = None,
                 start: int = 0) -> SaliencyTubeResults:
        """Tubes for the clips ``inputs`` (:data:`_FORMS`; required), one job per clip, as a
        :class:`SaliencyTubeResults` collection. ``target``: None (each clip's predicted class), a class index
        or name, or one per clip. ``seeds`` and ``steps`` do not apply (refused). ``stop``: a
        ``threading.Event``; set, the call ends after the current clip batch and returns the clips done, with
        status "stopped" (a Ctrl-C likewise, "interrupted"); such a result is not stored. ``callback``: called
        with a :class:`~.call.TubeSnapshot` every ``every`` clip batches and after the last. ``top_k``: the
        gradient form keeps weights for each clip's top-k classes and its target, so those can be shown without
        re-running. ``threshold``: τ of eq. 1 in the form's units
        (CAM: the linear weights'; gradient form: α's); None: the form's default (CAM 0, gradient form every
        channel). A target value (``logit("a") - logit("b")``, a unit after the tube layer, their sums) maps that
        target for every clip: Grad-CAM's weights from the target's gradient at the layer (CAM's, Σ w_c y_c, for
        logits on a pool → linear head); ``result.tubes()`` then shows it, and ``result.tubes(target=c)`` each clip's
        top-k classes still. ``start``: the first frame used when clips are longer than the model's input. ``progress``: a bar
        over the clip batches (tqdm.auto); None (the default) shows one when there is more than one batch of
        ``batch_size`` clips, unless ``VIDVIS_PROGRESS=0`` (see :mod:`~vidvis_widgets.methods.core.progress`)."""
        every = check_call(target, inputs, seeds, steps, every, callback, _FORMS)
        top_k, threshold = number("top_k", top_k, low=1, integer=True), check_threshold(threshold)
        if threshold is not None and not self.attribution.has_channel_weights:
            raise ValueError(f"threshold does not apply to {self.attribution.title}: it gives maps, not channel "
                             "weights; pass threshold=None")
        start = number("start", start, low=0, integer=True)
        wanted(progress)  # checked before any work
        frames, flow = as_frames(inputs)
        need = self.min_frames
        if frames.shape[1] < need:
            raise ValueError(f"{self._name} needs clips of at least {need} frames; got {frames.shape[1]}. Pass longer "
                             "clips, or resample them to that length")
        if not 0 <= start <= frames.shape[1] - need:
            raise ValueError(f"start={start} leaves fewer than {need} frames of the {frames.shape[1]} given")
        # a model of unknown native input (a bare module) sees the clips as they are
        length = need if self.info is not None and self.info.num_frames else frames.shape[1] - start
        frames = frames[:, start:start + length]
        if flow is not None:
            flow = flow[:, start:start + length]
        readout = None  # a target value other than one class: its gradient makes the tubes
        if isinstance(target, Target):
            one = target.single_class()
            target, readout = (one, None) if one is not None else (None, target.resolve(self.adapter))
            for layer in readout.unit_layers() if readout is not None else ():
                submodule(self.model, layer)
            if readout is not None and not self.attribution.has_channel_weights:
                raise ValueError(f"{self.attribution.title} takes classes as targets; a target value {readout!r} needs "
                                 "a strategy with channel weights (method='grad', 'gradcam++', 'cam')")
        # a given class, or one per clip, is checked once against all clips; each batch gets its slice
        given = None if target is None or is_predicted(target) else given_classes(target, len(frames),
                                                                                      self._class_index)
        settings = {"top_k": top_k, "start": start, "bf16": self.bf16, "interpolation": "cubic"}
        if readout is not None:
            settings["target"] = readout.to_json()
        run = Run(given, threshold, settings, progress, readout, callback, every)
        with ctrl_c_stops(stop) as halt:  # from here on a Ctrl-C is a Stop with status "interrupted"
            if self.cache.store is None:
                return self._tubes(frames, flow, run, halt)
            key = {**settings, "clips": content_hash(frames, flow), "given": None if given is None else given.tolist(),
                   "threshold": threshold, "layer": self.layer, "method": self.attribution.key}
            # a stopped call's result is not its question's answer, and is not stored (core.cache.ANSWERS)
            return self.cache([key], lambda _: [self._tubes(frames, flow, run, halt)], key=lambda k: k,
                              encode=SaliencyTubeResults.to_entry,
                              decode=lambda _, arrays, meta: SaliencyTubeResults.from_entry(arrays, meta, self.device))[0]

    def _tubes(self, frames, flow, run: Run, halt) -> SaliencyTubeResults:
        """The clip batches in turn; after each, the callback (every ``run.every``) and the Stop's check."""
        given, threshold, readout = run.given, run.threshold, run.readout
        top_k, length = run.settings["top_k"], frames.shape[1]
        bs = self.batch_size
        starts = range(0, len(frames), bs)
        show = run.progress if run.progress is not None or len(starts) > 1 else False  # one batch: no bar unless asked
        parts, status = [], "completed"
        with progress_bar(len(starts), f"saliency tubes ({count(len(frames), 'clip')})", show, run.callback,
                          unit="batch") as bar:
            try:
                for i in starts:
                    parts.append(self._run(frames[i:i + bs], None if flow is None else flow[i:i + bs],
                                           None if given is None else given[i:i + bs], top_k, readout))
                    bar.update(1)
                    done = len(parts)
                    if run.callback is not None and (done % run.every == 0 or done == len(starts)):
                        logits = torch.cat([p.logits for p in parts]).cpu().numpy()
                        run.callback(TubeSnapshot(done, len(starts), len(logits), len(frames), logits))
                    if done < len(starts) and halt.is_set():
                        status = halt.status
                        break
            except KeyboardInterrupt:  # a Ctrl-C that was not turned into a Stop: the batches done are kept
                if not parts:
                    raise
                status = "interrupted"
        first = parts[0]
        n = sum(len(p.logits) for p in parts)  # the clips done
        frames, given = frames[:n], None if given is None else given[:n]

        def cat(name: str) -> torch.Tensor | None:
            return None if getattr(first, name) is None else torch.cat([getattr(p, name) for p in parts])

        acts, logits = cat("activations"), cat("logits")
        preds = logits.argmax(1)
        targets = preds if given is None else given.to(preds.device)
        support = self.adapter.frames_seen(length, self.device)
        settings = {**run.settings, "method": first.strategy.name, "layer": self.layer, "threshold": threshold,
                    "batch_size": bs}  # the call's every setting, the strategy and layer as they were resolved
        settings.setdefault("target", None if given is None else given.tolist())
        return SaliencyTubeResults(
            frames=frames.to(self.device), activations=acts, logits=logits, method=first.strategy.name,
            layer=self.layer, targets=targets, threshold=threshold,
            class_names=self.info.class_names if self.info else None, head_weights=first.head_weights,
            grad_weights=cat("weights"), grad_classes=cat("classes"), attribution_maps=cat("maps"), support=support,
            model_name=self._name, settings=settings, target=readout, target_weights=cat("target_weights"),
            target_values=cat("target_values"), status=status)

    @property
    def _name(self) -> str:
        return self.info.name if self.info is not None else type(self.model).__name__

    def _class_index(self, c) -> int:
        return self.adapter.class_index(c, num_classes=self._num_classes)

    def _run(self, frames, flow, given, top_k, readout=None):
        inputs = self._model_inputs(frames, flow)
        if self.layer is None:
            self.layer = self._default_layer(inputs)
        pathways = map_args(inputs, lambda t: t)  # fresh containers: a model may fill its list in place
        units = sorted(readout.unit_layers()) if readout is not None else []
        # the layer's output becomes a leaf: the gradient form's backward pass starts there, not at the input (a
        # target's units are read after it, so a unit on the layer itself reads the leaf)
        with Probe(self.model, [self.layer], layout=self._layout, leaf=True) as probe, \
                Probe(self.model, units, layout=self._layout) as reads, frozen(self.model), \
                torch.enable_grad(), autocast(self.device, self.bf16):
            logits = self.adapter.call(self.model, inputs)
        if self.layer not in probe.raw:
            raise ValueError(f"layer {self.layer!r} did not run in {self._name}'s forward pass; pick a layer the "
                             "model uses (vidvis_widgets.models.list_layers lists them)")
        out = probe.raw[self.layer]
        acts = self._features(probe[self.layer]).float()
        logits = logits.float()
        values = None
        if readout is not None:  # the target's value per clip, from the logits and the units the pass recorded
            read = {**{n: reads[n] for n in units}, self.adapter.logit_layer: logits}
            values = target_values([readout] * len(logits), read, device=self.device)
        run = LayerRun(self.model, self.adapter, self.layer, self._name, acts.detach(), logits.detach(), self.bf16,
                       target=readout)
        strategy = self.attribution.choose(run)  # "auto": CAM where the head is pool → linear, else Grad-CAM
        head = strategy.head_weights(run)
        if head is not None:  # every class's weights at once (CAM's linear head): no gradient
            tw = None
            if readout is not None:  # a sum of logits: the same sum of their classes' weights
                tw = sum(t.weight * head[dict(t.params)["channel"]] for t in readout.terms).expand(len(logits), -1)
            return _Batch(run.activations, run.logits, strategy, head_weights=head, target_weights=tw,
                          target_values=_detached(values))
        tw = None
        if readout is not None:  # the strategy's weights from the target's gradient at the layer
            g = None  # a target read before the layer gets no gradient there: empty tubes, and the warning says so
            if values.requires_grad:
                (g,) = torch.autograd.grad(values.sum(), first_tensor(out), retain_graph=True, allow_unused=True)
            g = torch.zeros_like(first_tensor(out)) if g is None else g
            tw = strategy.channel_weights(run.activations,
                                          self._features(as_maps(_like(out, g), self._layout(self.layer))).float())
        classes = self._grad_classes(logits, given, top_k)
        maps = strategy.source_maps(run, pathways, classes)
        if maps is not None:  # the strategy makes its maps itself (a Captum attribution)
            return _Batch(run.activations, run.logits, strategy, classes=classes, maps=maps)
        weights = []
        for k in range(classes.shape[1]):
            score = logits.gather(1, classes[:, k:k + 1]).sum()
            (g,) = torch.autograd.grad(score, first_tensor(out), retain_graph=k < classes.shape[1] - 1)
            grad_maps = self._features(as_maps(_like(out, g), self._layout(self.layer))).float()
            weights.append(strategy.channel_weights(run.activations, grad_maps))
        weights = torch.stack(weights, 1)
        if not bool(weights.abs().amax() > 0):
            warnings.warn(f"no gradient reaches layer {self.layer!r} of {self._name} from the class scores, so its tubes "
                          "are empty; choose a layer the head depends on (an earlier one)", DeadUnitWarning, stacklevel=3)
        return _Batch(run.activations, run.logits, strategy, weights=weights, classes=classes, target_weights=tw,
                      target_values=_detached(values))

    def _layout(self, name: str) -> LayerLayout:
        return self.adapter.layer_layout(name)

    def _features(self, maps: torch.Tensor) -> torch.Tensor:
        """The layer's maps (:func:`~..models.probe.as_maps`: a 2D layer of the two-stream net has one "time step",
        spread over its frames), checked to be N×C×T×H×W."""
        if maps.dim() != 5:
            raise ValueError(f"layer {self.layer!r} gives {tuple(maps.shape)}, without temporal and "
                             "spatial dimensions; Saliency Tubes need a layer with maps over T×H×W (N×C×T×H×W, or a "
                             "transformer's tokens with their T×H×W). vidvis_widgets.models.list_layers lists each "
                             "layer's output shape")
        return maps

    @staticmethod
    def _grad_classes(logits: torch.Tensor, given: torch.Tensor | None, top_k: int) -> torch.Tensor:
        """The classes whose gradient weights are kept: each clip's given class (if any), then its top-k."""
        k = max(1, min(int(top_k), logits.shape[1]))
        top = logits.topk(k, dim=1).indices
        return top if given is None else torch.cat([given.to(top.device)[:, None], top], 1)

    @property
    def _num_classes(self) -> int:
        if self.info is not None:
            return self.info.num_classes
        return linear_head(self.model, self.adapter).out_features


def saliency_tubes(model: nn.Module, target=None, inputs=None, *, seeds=None, steps=None,
                   stop: threading.Event | None = None, callback: Callable[[TubeSnapshot], None] | None = None,
                   every: int = 1, device: torch.device | str | None = None, bf16: bool = False, store=None,
                   progress: bool | None = None, method="auto", layer: str | None = None,
                   threshold: float | None = None, top_k: int = 5, start: int = 0,
                   batch_size: int = 32) -> SaliencyTubeResults:
    """Saliency Tubes for the clips ``inputs``: ``SaliencyTubes(model, method=, layer=, device=, bf16=, store=,
    batch_size=)(target, inputs, ...)``; see :class:`SaliencyTubes` and its ``__call__``."""
    tubes = SaliencyTubes(model, method=method, layer=layer, device=device, batch_size=batch_size, bf16=bf16,
                          store=store)
    return tubes(target, inputs, seeds=seeds, steps=steps, stop=stop, callback=callback, every=every,
                 progress=progress, top_k=top_k, threshold=threshold, start=start)


def _detached(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.detach()


class _Batch(NamedTuple):
    """One clip batch's run: the layer's maps and logits, the strategy that made its tubes, and what it gave:
    every class's weights (CAM's head), or per kept class (``classes`` N×K) channel weights N×K×C or maps; and
    for a target value, its channel weights N×C and its value per clip (N,)."""

    activations: torch.Tensor
    logits: torch.Tensor
    strategy: Attribution
    head_weights: torch.Tensor | None = None
    weights: torch.Tensor | None = None
    classes: torch.Tensor | None = None
    maps: torch.Tensor | None = None
    target_weights: torch.Tensor | None = None
    target_values: torch.Tensor | None = None


def _like(out, g: torch.Tensor):
    """``g`` in the structure of ``out`` (a tensor, or a transformer block's (tokens, thw))."""
    return (g, *out[1:]) if isinstance(out, (tuple, list)) else g


def _has_maps(out, last: bool) -> bool:
    """Whether a module's output holds space-time maps with more than one spatial position."""
    if isinstance(out, (tuple, list)) and len(out) == 2 and isinstance(out[1], (tuple, list)) and len(out[1]) == 3:
        return isinstance(out[0], torch.Tensor) and out[0].dim() == 3 and out[1][1] * out[1][2] > 1
    if isinstance(out, torch.Tensor) and out.dim() == 5:
        h, w = (out.shape[2], out.shape[3]) if last else (out.shape[3], out.shape[4])
        return h * w > 1
    return False
