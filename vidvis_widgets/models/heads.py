"""Class logits of a head that ends in a Softmax.

PyTorchVideo's ``create_x3d`` (and so its hub's X3D), ``create_r2plus1d`` and any builder given
``head_activation=nn.Softmax`` end their head in an ``nn.Softmax`` module (its ``activation``), and a user's model
may end in one (``nn.Sequential(…, nn.Linear(…), nn.Softmax(dim=1))``). Its output is a probability: class AM
on it barely moves (a probability is at most 1), and the gradient of class k's probability, p_k times the
gradient of its logit less the probability-weighted mean of all logits' gradients, all but vanishes under a
sharp Softmax for every class but the top one (Grad-CAM tubes of those come out empty). So the adapter reads
the logits before it: :func:`softmax_head` finds the Softmax and the layer whose outputs are the logits, and
``ModelAdapter.call``, which every call that reads logits goes through, has the forward pass skip the Softmax
(the probe's :func:`~.probe.bypassed`).
"""

from __future__ import annotations

from typing import Any

from torch import nn


def head_softmax(model: nn.Module) -> str | None:
    """The name of the ``nn.Softmax`` that ends ``model``'s head, or None: one registered after every module
    that holds parameters (an attention's softmax is followed by its block's and the head's layers)."""
    found = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Softmax):
            found = name
        elif found is not None and next(module.parameters(recurse=False), None) is not None:
            found = None
    return found


def softmax_head(model: nn.Module, logit_layer: str | None) -> dict[str, Any]:
    """Adapter fields for a head that ends in a Softmax (else {}): ``head_softmax``, its name; and where the
    logit layer found so far holds no weights (X3D's and SlowFast's output pool, which averages what the Softmax
    gave), the last linear layer as ``logit_layer``. A linear layer keeps its features on the last axis, so a
    5-D output of one (PyTorchVideo's projection, applied to N×T×H×W×C maps) is read channels last
    (``channels_last_layers``)."""
    softmax = head_softmax(model)
    if softmax is None:
        return {}
    fields: dict[str, Any] = dict(head_softmax=softmax)
    if logit_layer is None or next(model.get_submodule(logit_layer).parameters(), None) is None:
        linear = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
        if linear:
            fields.update(logit_layer=linear[-1], channels_last_layers=(linear[-1],))
    return fields
