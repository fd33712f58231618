"""What an attribution strategy of Saliency Tubes declares, and the table of known strategies.

A strategy says how a layer's channels are weighed for a class (``channel_weights``, as pytorch-grad-cam's
``get_cam_weights``), which τ it uses when none is given and whether the weighted sum is rectified. The
tube machinery (:mod:`..tubes`), the result (:mod:`..result`) and the view read these declarations; none of
them branches on a method's name. A strategy that makes whole maps itself (a Captum layer attribution,
:mod:`.captum_source`) overrides ``source_maps`` instead and declares ``has_channel_weights = False``.

Adding a method: one file with a subclass, and ``register(TheClass())`` at its end (imported by this
package's ``__init__``, or by the user's own code before the first call).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


@dataclass
class LayerRun:
    """One batch as a strategy sees it: the model, its adapter, the layer, the layer's maps N×C×T'×H'×W' and the
    logits N×classes (both float and detached: the gradient strategies get the gradients separately), and the
    call's target value (:mod:`~vidvis_widgets.methods.core.targets`) when it has one."""

    model: nn.Module
    adapter: Any
    layer: str
    model_name: str
    activations: torch.Tensor
    logits: torch.Tensor
    bf16: bool = False
    target: Any = None


class Attribution:
    """An attribution strategy: how the tube of a class is made from a layer's maps.

    Declarations (class attributes):

    - ``name``: how ``SaliencyTubes(model, method=name)`` asks for it, and what a result's ``method`` says;
    - ``title``: a short description for tables and captions;
    - ``default_threshold``: τ when none is given (−∞: every channel);
    - ``rectifies``: whether the weighted sum is clamped at 0 (Grad-CAM's ReLU);
    - ``every_class``: the weights of every class come from one run (CAM's linear head), so any class can be
      shown later; otherwise only the classes computed at the call (each clip's top-k and its targets);
    - ``has_channel_weights``: False for a strategy that makes maps itself (``source_maps``): τ, the channel
      weights and the per-channel contributions then do not apply;
    - ``threshold_help``: what τ means in this strategy's units (the view's tooltip).
    """

    name: str = ""
    title: str = ""
    default_threshold: float = -math.inf
    rectifies: bool = True
    every_class: bool = False
    has_channel_weights: bool = True
    threshold_help: str = ""

    @property
    def key(self) -> str:
        """What identifies the strategy and its settings in the result store."""
        return self.name

    def check_model(self, model: nn.Module, adapter) -> None:
        """Raises a ValueError, before any work, when the strategy cannot apply to ``model`` at all."""

    def why_not(self, run: LayerRun) -> str | None:
        """None when the strategy applies to this layer of this model, else the error message saying why not."""
        return None

    def choose(self, run: LayerRun) -> "Attribution":
        """The strategy that makes this batch's tubes: this one, if it applies (else a ValueError)."""
        why = self.why_not(run)
        if why is not None:
            raise ValueError(why)
        return self

    def head_weights(self, run: LayerRun) -> torch.Tensor | None:
        """classes×C weights for every class, where they need no gradient (CAM's linear head); None: the weights
        are computed per class from the class score's gradient by :meth:`channel_weights`."""
        return None

    def channel_weights(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        """N×C weights from the layer's maps and the class score's gradient at them (both N×C×T'×H'×W')."""
        raise NotImplementedError(f"{type(self).__name__} declares no channel weights")

    def source_maps(self, run: LayerRun, inputs: tuple, classes: torch.Tensor) -> torch.Tensor | None:
        """N×K×T'×H'×W' maps for the classes N×K, made by the strategy itself from the model inputs ``inputs``
        (the ``forward`` arguments); None (the default): the maps are weighted sums of the layer's channels."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r})"


_REGISTRY: dict[str, Attribution] = {}


def register(strategy: Attribution, *aliases: str) -> Attribution:
    """Makes ``strategy`` known under its ``name`` (and ``aliases``), for ``method=`` and for stored results."""
    if not isinstance(strategy, Attribution) or not strategy.name:
        raise ValueError(f"register takes an Attribution instance with a name, got {strategy!r}")
    for n in (strategy.name, *aliases):
        known = _REGISTRY.get(n)
        if known is not None and type(known) is not type(strategy):
            raise ValueError(f"the attribution name {n!r} is taken by {known!r}")
        _REGISTRY[n] = strategy
    return strategy


def registered() -> tuple[str, ...]:
    """The names ``method=`` accepts (besides a Captum layer attribution class)."""
    return tuple(_REGISTRY)


def registered_strategy(name: str) -> Attribution:
    """The strategy registered under ``name`` (one of :func:`registered`)."""
    return _REGISTRY[name]

