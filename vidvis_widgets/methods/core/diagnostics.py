"""Dead units: a unit that no optimizer can move, or a tube map with nothing in it, reported as a
:class:`DeadUnitWarning` that names the unit and says what to try, instead of a result that silently shows noise or
an empty map.

Adam's step is ``lr · m̂ / (√v̂ + ε)``: a gradient ``g`` far below ε moves the input by about ``lr · |g| / ε``, not
``lr``. A random-weight model whose activations shrink block by block (torchvision's S3D without BatchNorm
statistics: about 30× per block) gives its late units gradients of 1e-12 and less at the input, so AM's input never
moves. :class:`InputGradient` measures each job's largest gradient at the input on the device — through the model
only, not the regularizers — and the run reads it once, at its end.
"""

from __future__ import annotations

import inspect
from typing import Mapping

import numpy as np
import torch

__all__ = ["DeadUnitWarning", "ADAM_EPS", "InputGradient", "dead_unit_message", "empty_map_message", "flag_dead_units",
           "warn_empty_maps"]


class DeadUnitWarning(UserWarning):
    """A unit whose gradient at the input is below what the optimizer resolves, or a saliency map that is all zeros."""


#: the ε of the loop's Adam (torch's default, which the loop uses)
ADAM_EPS: float = float(inspect.signature(torch.optim.Adam).parameters["eps"].default)
#: the least fraction of the learning rate that a step must move the input's most sensitive element by, for the
#: optimizer to resolve a gradient: ``|g| / (|g| + ε) ≥ 0.1``, i.e. ``|g| ≥ ε / 9``. (At ε/9 a unit still climbs a
#: little in tens of steps; the dead units measured on S3D sit 1e4–1e8× below it.)
RESOLVED = 0.1


class InputGradient:
    """Each job's largest |∂(objective's model term)/∂input| over the steps so far, an (N,) tensor on the device.

    :meth:`watch` returns the inputs as the model should be fed them, each behind a hook that reads the gradient
    flowing back through the model alone (the regularizers act on the optimized inputs themselves and are not
    seen). A hook costs one reduction on the device per backward pass and no host sync; :meth:`read` copies the
    maxima to the host once. −1 for a job when no backward pass ran (a run stopped before its first step)."""

    def __init__(self, n: int, device: torch.device | str):
        self.max = torch.full((n,), -1.0, device=device)

    def watch(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if not torch.is_grad_enabled():
            return dict(inputs)
        out = {}
        for k, v in inputs.items():
            if v.requires_grad:
                v = v.view_as(v)  # a node of its own: the hook sees the model's gradient, not the regularizers'
                v.register_hook(self._record)
            out[k] = v
        return out

    def _record(self, g: torch.Tensor) -> None:
        self.max = torch.maximum(self.max, g.detach().abs().flatten(1).amax(1).float())

    @staticmethod
    def read(maxima: torch.Tensor) -> np.ndarray:
        """The maxima on the host (one copy)."""
        return maxima.cpu().numpy().astype(np.float64)


def dead_unit_message(what: str, grad: float, eps: float = ADAM_EPS) -> str | None:
    """Why the optimizer cannot move the input for ``what`` (a job's title), or None when its largest gradient at
    the input, ``grad`` (< 0: not measured), is one Adam resolves (see :data:`RESOLVED`)."""
    if not grad >= 0 or grad / (grad + eps) >= RESOLVED:
        return None
    if grad == 0:
        why = ("its gradient at the input is exactly 0: the unit is off (below its ReLU) everywhere on the input, or "
               "does not depend on it")
        tries = ("another seed or channel, an earlier layer, or a model whose units fire on this input (trained "
                 "weights, or BatchNorm statistics measured on data)")
    else:
        why = (f"its gradient at the input is {grad:.2g}, below what Adam can resolve (eps {eps:g}): a step moves the "
               f"input by at most {grad / (grad + eps):.2g} of the learning rate, so the input does not change")
        tries = ("activation_max='auto' with val_data= (your clips), so the unit is divided by its own scale â and its "
                 "gradient grows by 1/â; an earlier layer; or trained weights (a random-weight model whose "
                 "activations shrink block by block, such as S3D without BatchNorm statistics, has no usable "
                 "gradient at its late units)")
    return f"{what}: {why}. Try {tries}"


def warn_empty_maps(maps: torch.Tensor, weights: torch.Tensor, kept: torch.Tensor, targets: torch.Tensor,
                    class_name, model: str, layer: str, stacklevel: int = 3) -> list[int]:
    """A :class:`DeadUnitWarning` for the clips whose saliency map (``maps`` N×…, made with the channel weights
    ``weights`` N×C, of which ``kept`` (N,) pass τ, for classes ``targets`` (N,)) is all zeros, naming each clip and
    its class (``class_name(int)``), grouped by cause; returns the empty clips' indices. One host read of an (N,)
    flag when no map is empty."""
    import warnings

    empty = (maps.flatten(1) == 0).all(1)
    if not bool(empty.any()):
        return []
    clips = empty.nonzero()[:, 0].tolist()
    no_gradient, none_kept = (weights == 0).all(1).tolist(), (kept == 0).tolist()
    causes: dict[str, list[str]] = {}
    for n in clips:
        cause = "threshold" if none_kept[n] else "no gradient" if no_gradient[n] else "nothing raises"
        causes.setdefault(cause, []).append(f"clip {n} ({class_name(int(targets[n]))})")
    messages = [empty_map_message(model, layer, which, cause) for cause, which in causes.items()]
    warnings.warn("; ".join(messages), DeadUnitWarning, stacklevel=stacklevel)
    return clips


def empty_map_message(model: str, layer: str, which: list[str], cause: str) -> str:
    """The warning for tube maps that are all zeros, for ``which`` ("clip n (class)" each), by ``cause``: "threshold"
    (τ keeps no channel), "no gradient" (no class gradient reaches the layer) or "nothing raises" (the weighted sum
    of the maps raises the class score nowhere)."""
    clips = ", ".join(which[:6]) + (f" and {len(which) - 6} more" if len(which) > 6 else "")
    if cause == "threshold":
        why, tries = "the threshold τ keeps no channel", "a lower threshold= (None: the form's default)"
    elif cause == "no gradient":
        why = (f"no gradient reaches layer {layer!r} from the class score (a head that ends in a Softmax saturates, "
               "or the model's activations vanish before the head)")
        tries = "an earlier layer, a model whose logits are read before any Softmax, or trained weights"
    else:
        why = (f"no location of layer {layer!r} raises the class score (the weighted sum of its maps is 0 or below "
               "everywhere, and the tube keeps only what raises it): the class is not reachable from this clip at "
               "this layer, or the layer's activations are too small to vary with the clip")
        tries = "the predicted class (target=None), another layer (layer=), or trained weights"
    return f"{model}'s saliency map at {layer!r} is all zeros for {clips}: {why}. Try {tries}"


def flag_dead_units(results, grads: torch.Tensor | None, eps: float = ADAM_EPS, stacklevel: int = 3) -> None:
    """Records each result's largest gradient at the input in ``settings["input_gradient"]`` (None: not measured)
    and, where the optimizer cannot resolve it, why and what to try in ``settings["dead_unit"]`` (else None); one
    :class:`DeadUnitWarning` names every such unit. ``grads``: :attr:`InputGradient.max` of the run (read here,
    once), or None."""
    import warnings

    values = InputGradient.read(grads) if grads is not None else np.full(len(results), -1.0)
    found = []
    for r, g in zip(results, values):
        message = dead_unit_message(r.title, float(g), eps)
        r.settings = {**r.settings, "input_gradient": float(g) if g >= 0 else None, "dead_unit": message}
        if message is not None:
            found.append(message)
    if found:
        warnings.warn("; ".join(found), DeadUnitWarning, stacklevel=stacklevel)
