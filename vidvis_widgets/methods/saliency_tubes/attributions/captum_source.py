"""A Captum layer attribution as the source of tubes: ``SaliencyTubes(model, method=LayerGradCam)``, or
``method=CaptumSource(LayerIntegratedGradients, n_steps=16)`` to pass arguments to its ``attribute``.

Captum is an optional extra (``pip install vidvis-widgets[captum]``), imported only when such a source runs.
The attribution is taken at the tube layer for each class kept (each clip's top-k and its targets), put into
N×C×T'×H'×W' by the layer's layout as the layer's maps are (a per-neuron attribution such as
``LayerIntegratedGradients`` or ``LayerGradientXActivation``: tokens and channels-last layers included), and
summed over its channels (``LayerGradCam`` gives one already). Then it is upsampled, scaled, rendered and
localized as every tube is. The maps are Captum's as they come: ``LayerGradCam`` rectifies only with
``relu_attributions=True``, as Captum's default is not to; τ does not apply (there are no channel weights).

``LayerGradCam`` averages the gradient over every axis after the first two, so it is Grad-CAM only on a layer
whose channels come first (N×C×T×H×W); use a per-neuron attribution on token or channels-last layers.
"""

from __future__ import annotations

import json

import torch

from ....models.layers import submodule
from ....models.run_control import frozen
from ....models.probe import as_maps, first_tensor
from .base import Attribution, LayerRun
from ...core.forward_args import flatten_args, unflatten_args


class CaptumSource(Attribution):
    """``method`` (a class of ``captum.attr`` that takes ``(forward_func, layer)``, or its name) with
    ``attribute_kw`` passed to its ``attribute``."""

    rectifies = False
    has_channel_weights = False

    def __init__(self, method, **attribute_kw):
        if isinstance(method, str):
            self._cls, self.method_name = None, method
        elif isinstance(method, type):
            self._cls, self.method_name = method, method.__name__
        else:
            raise ValueError(f"CaptumSource takes a Captum layer attribution class (captum.attr.LayerGradCam, …) or "
                             f"its name, got {method!r}")
        for k in ("target", "inputs", "additional_forward_args"):
            if k in attribute_kw:
                raise ValueError(f"CaptumSource sets {k} itself (the clips and each clip's classes); drop {k}=")
        self.attribute_kw = attribute_kw
        self.name = f"captum:{self.method_name}"
        self.title = f"Captum's {self.method_name}"

    @property
    def key(self) -> str:
        return self.name + json.dumps(self.attribute_kw, sort_keys=True, default=repr)

    def captum_class(self) -> type:
        if self._cls is None:
            try:
                import captum.attr
            except ImportError as e:  # an optional extra
                raise ImportError("Captum sources need captum: pip install 'vidvis-widgets[captum]'") from e
            self._cls = getattr(captum.attr, self.method_name, None)
            if self._cls is None:
                raise ValueError(f"captum.attr has no {self.method_name!r}")
        return self._cls

    def source_maps(self, run: LayerRun, inputs: tuple, classes: torch.Tensor) -> torch.Tensor:
        flat, rebuild = _flatten(inputs)
        layer = submodule(run.model, run.layer)
        method = self.captum_class()(lambda *xs: run.adapter.call(run.model, rebuild(xs)), layer)
        layout = run.adapter.layer_layout(run.layer)
        maps = []
        with frozen(run.model), torch.enable_grad():
            for k in range(classes.shape[1]):
                a = method.attribute(flat if len(flat) > 1 else flat[0], target=classes[:, k], **self.attribute_kw)
                m = as_maps(first_tensor(a), layout)
                if m.dim() != 5:
                    raise ValueError(f"{self.title} at layer {run.layer!r} gives {tuple(m.shape)}, not maps over "
                                     "T×H×W; pick a layer with space-time maps")
                maps.append(m.detach().float().sum(1))
        return torch.stack(maps, 1)


def _flatten(inputs: tuple):
    """Captum takes a tuple of tensors: the ``forward`` arguments flattened (a list of pathways becomes its
    tensors), and the function that rebuilds them."""
    flat, structure = flatten_args(inputs)
    return tuple(flat), lambda xs: unflatten_args(xs, structure)
