"""LEAPS' verifier network S, whose BatchNorm statistics R_feat (eq. 3) holds x* to: which one ``verifier="auto"``
picks, and what an inversion without a verifier runs instead (its variants without R_feat, with a warning)."""

from __future__ import annotations

import warnings
from typing import Sequence

from ..core.objectives import Objective
from .terms import term_weights

#: the call that runs LEAPS where no verifier is at hand, and the one that gives it the paper's verifier
WITHOUT_VERIFIER = "leaps(model, target, inputs, verifier=None)"
WITH_X3D = ("leaps(model, target, inputs, verifier=load_model('pytorchvideo:x3d_s', "
            "weights='X3D_S.pyth'))")


def default_verifier(adapter) -> str:
    """The verifier ``verifier="auto"`` picks: one trained on the model's data at a size that fits it. Only the
    embedded models have one here (``tiny_verifier``, trained on the same synthetic 64² clips); for any other
    model a clear error gives the whole call that runs, and the one with the paper's verifier."""
    from ...models.registry import EMBEDDED

    if adapter.name in EMBEDDED:
        return "tiny_verifier"
    shape = "×".join(map(str, adapter.native_shape)) if adapter.native_shape else "unknown"
    raise ValueError(
        f"verifier='auto' has no verifier for {adapter.name} (input {shape}): the embedded tiny_verifier knows only "
        "the synthetic 64² clips. For R_feat (eq. 3), pass a network trained on the model's data, with BatchNorm "
        f"layers, as the paper does with X3D-S (13×160²): {WITH_X3D}. To run without R_feat, call "
        f"{WITHOUT_VERIFIER} (or ModelInversion(model, verifier=None)): every other term of eq. 4 is kept, as in the "
        "paper's 'prim+coh' row, and a warning says so")


def without_feat(loss: Objective) -> Objective:
    """``loss`` less its R_feat term: what a variant minimizes where there is no verifier."""
    return type(loss)([t for t in loss.terms if t.op != "feat"])


def warn_without_verifier(full_losses: dict[str, Objective], variants: Sequence[str]) -> None:
    """Warns, once per call, that the ``variants`` whose full loss (``full_losses[variant]``) has R_feat run
    without it, saying what they minimize instead and how to keep it."""
    dropped = [v for v in dict.fromkeys(variants) if v in full_losses and term_weights(full_losses[v])["feat"]]
    if not dropped:
        return
    runs = "; ".join(f"{v!r}: {without_feat(full_losses[v])!r}" for v in dropped)
    warnings.warn(f"verifier=None, so R_feat (eq. 3), which compares a verifier network's BatchNorm statistics, is "
                  f"left out of variant{'s' * (len(dropped) > 1)} {', '.join(map(repr, dropped))}, which minimize "
                  f"({runs}); 'leaps' without R_feat is the paper's 'prim+coh' row. To keep R_feat, pass verifier= a "
                  f"network trained on the model's data, with BatchNorm layers, e.g. {WITH_X3D}",
                  UserWarning, stacklevel=3)
