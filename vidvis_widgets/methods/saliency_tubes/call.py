"""How a Saliency Tubes call is asked and followed: its arguments checked before any work (:func:`check_call`)
and what its callback sees every ``every`` clip batches (:class:`TubeSnapshot`).

Tubes take the one verb every method takes, ``tubes(target=None, inputs=clips, *, stop=, callback=, every=)``;
``seeds`` and ``steps`` belong to the optimizing methods (activation maximization, LEAPS) and are refused here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
import torch

from ...checks import number
from ..core.progress import BatchSnapshot
from ..core.targets import Target


@dataclass
class TubeSnapshot(BatchSnapshot):
    """What a Saliency Tubes callback sees every ``every`` clip batches (and after the last): the batch counts of
    :class:`~..core.progress.BatchSnapshot` and the logits of the clips done so far (clips_done × classes, on the
    host)."""

    logits: np.ndarray

    @property
    def predicted(self) -> np.ndarray:
        """Each clip done's predicted class, (clips_done,)."""
        return self.logits.argmax(1)


class Run(NamedTuple):
    """One call's checked arguments, as its clip batches use them: the given class per clip (or None: each clip's
    predicted class), τ, the settings, the progress bar's wish, the target value (or None), the callback and its
    period in batches."""

    given: torch.Tensor | None
    threshold: float | None
    settings: dict
    progress: bool | None
    readout: Target | None
    callback: Callable[[TubeSnapshot], None] | None
    every: int


def check_call(target, inputs, seeds, steps, every, callback, forms: str) -> int:
    """Refuses, before any work, what a tubes call cannot take; returns ``every`` checked. ``forms``: the clip
    forms ``inputs`` takes, for the messages."""
    for name, value in (("seeds", seeds), ("steps", steps)):
        if value is not None:
            raise ValueError(f"{name}={value!r} does not apply to Saliency Tubes: they are computed in one pass per "
                             f"clip batch, with no random start and no optimization steps; leave {name}= out")
    clips = _clips_in(target)
    if clips:
        raise ValueError(f"target= got {clips}; the clips go in inputs= (SaliencyTubes(model)(inputs=clips), "
                         "saliency_tubes(model, inputs=clips)), and target= takes None (each clip's predicted class), "
                         "a class index or name, one per clip, or a target value such as logit('a') - logit('b')")
    if inputs is None:
        raise ValueError(f"Saliency Tubes need the clips to explain: pass inputs= as {forms}")
    every = number("every", every, low=1, integer=True)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be a function of one TubeSnapshot (or None), got {type(callback).__name__}")
    return every


def _clips_in(target) -> str:
    """A description of ``target`` when it holds clips (a dict of streams, an array of 2 dimensions or more, a
    list of arrays), else ''."""
    if isinstance(target, dict):
        return f"a dict with {sorted(map(str, target))}"
    if isinstance(target, (np.ndarray, torch.Tensor)) and target.ndim >= 2:
        return f"an array of shape {tuple(target.shape)}"
    if isinstance(target, (list, tuple)) and target and isinstance(target[0], (np.ndarray, torch.Tensor)) \
            and target[0].ndim >= 2:
        return f"a list of {len(target)} arrays of shape {tuple(target[0].shape)}"
    return ""
