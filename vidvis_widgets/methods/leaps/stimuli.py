"""The videos LEAPS reads and writes: a stimulus resampled to x*'s size in the model's normalized units, x* back
to a uint8 video, the inverted model and the verifier run on videos in those units, and the stimuli's one pass
before the loop (their priming means, and the check that each shows its job's class).

:class:`StimulusIO` is a part of :class:`~.inversion.ModelInversion`: it reads the inversion's ``model``,
``verifier``, ``adapter``, ``verifier_adapter``, ``device``, ``size``, ``verifier_size``, ``layers`` and ``bf16``.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F

from ...models.run_control import frozen
from ..core.loop import autocast
from .inputs import check_stimulus
from .results import InversionJob
from .terms import space_time_mean, spacetime


class StimulusIO:
    """Videos in and out of the inverted model's units (a part of :class:`~.inversion.ModelInversion`)."""

    def prepare_stimulus(self, video, name: str = "the stimulus") -> torch.Tensor:
        """A stimulus video (T×H×W×3, uint8 0–255 or float in [0, 1]) resampled to x*'s size, in the model's
        normalized units: 3×T×H×W. Anything else is refused, naming the stimulus as ``name``."""
        v = check_stimulus(video, name)
        return self.adapter.pixel_input(torch.from_numpy(np.ascontiguousarray(v))[None], self.device, size=self.size)[0]

    def to_video(self, x: torch.Tensor) -> np.ndarray:
        """Normalized 3×T×H×W → T×H×W×3 uint8."""
        pix = self.adapter.denormalize(x.detach().float().to(self.device)[None])[0]
        return (pix.clamp(0, 1) * 255).round().byte().permute(1, 2, 3, 0).cpu().numpy()

    def model_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The inverted model on N×3×T×H×W videos in its normalized units (interpolated to a fixed input size; a
        multi-pathway model's pathways sampled from the one video, as its data pipeline samples them)."""
        return self.adapter.call(self.model, self.adapter.model_args(x))

    def verifier_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The verifier on the same videos, renormalized to its units and resampled to its trained size."""
        v = self.verifier_adapter.normalize(self.adapter.denormalize(x))  # the model's units → the verifier's
        if self.verifier_size is not None and tuple(v.shape[2:]) != self.verifier_size:
            v = F.interpolate(v, size=self.verifier_size, mode="trilinear", align_corners=False)
        return self.verifier_adapter.call(self.verifier, self.verifier_adapter.clip_args(v))

    def _stimulus_pass(self, prepared: list[torch.Tensor]) -> tuple[list[int], list[torch.Tensor]]:
        """One forward pass over the stimuli, before the loop: the model's class for each (for the class check)
        and μ(z_l(v)) per priming layer, (stimuli, C_l)."""
        if not prepared:
            return [], []
        with self._taps(verifier=False) as (feats, _), torch.no_grad(), frozen(self.model), \
                autocast(self.device, self.bf16):
            logits = self.model_logits(torch.stack(prepared))
            means = [space_time_mean(spacetime(feats[n])) for n in self.layers]
        return logits.argmax(1).tolist(), means

    def _warn_stimulus_classes(self, jobs: list[InversionJob], predicted: list[int], labels) -> None:
        for j in jobs:
            if j.stimulus is not None:
                cls = labels[j.stimulus] if labels is not None else predicted[j.stimulus]
            main = self._main_class(j.target)
            if j.stimulus is not None and main is not None and cls != main:
                how = "is labelled" if labels is not None else "is classified by the model as"
                warnings.warn(f"stimulus {j.stimulus} {how} class {self.class_label(cls)}, not the target "
                              f"{self.class_label(main)}: LEAPS primes with a video of the target class",
                              UserWarning, stacklevel=4)

