"""LEAPS' memory estimate: the bytes a call needs on the device, measured on a small probe of x* before anything
large is allocated, and the refusal of a call that cannot fit.

:class:`MemoryEstimate` is a part of :class:`~.inversion.ModelInversion`: it reads the inversion's ``model``,
``verifier``, ``device``, ``size``, ``model_size``, ``verifier_size`` and ``bf16``, its ``model_logits`` and
``verifier_logits``, and its ``loss`` (whether a job's variant uses R_feat).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from ..._memory import check_fits, saved_activation_bytes
from ...models.run_control import frozen
from ..core.loop import autocast
from .results import InversionJob
from .terms import term_weights


class MemoryEstimate:
    """What a call of LEAPS needs on the device (a part of :class:`~.inversion.ModelInversion`)."""

    def _probe(self, verifier: bool) -> tuple[int, int]:
        """(bytes autograd keeps per video for one step of the model, or of the verifier, on x*; the number of
        classes it outputs), measured once on a probe of x*'s frames at most 32² (112², 224², where a
        network needs more) and scaled by the ratio of pixels; not scaled where the network resamples every
        input to a fixed size. The weights, which autograd also keeps, are not counted."""
        cache = self.__dict__.setdefault("_probes", {})
        if verifier in cache:
            return cache[verifier]
        net, run, fixed = ((self.verifier, self.verifier_logits, self.verifier_size) if verifier else
                           (self.model, self.model_logits, self.model_size))
        T, H, W = self.size
        weights = sum({t.untyped_storage().data_ptr(): t.untyped_storage().nbytes()
                       for t in [*net.parameters(), *net.buffers()]}.values())
        error = None
        for h, w in dict.fromkeys((min(H, side), min(W, side)) for side in (32, 112, 224)):
            x = torch.zeros(1, 3, T, h, w, device=self.device, requires_grad=True)
            shape = []

            def forward():
                out = run(x)
                shape.append(out.shape)
                return out

            try:
                with frozen(net), autocast(self.device, self.bf16):
                    saved = saved_activation_bytes(forward)
            except RuntimeError as e:  # too small for the network: try a larger probe
                error = e
                continue
            per_video = max(0, saved - weights) * (1 if fixed is not None else H * W / (h * w))
            cache[verifier] = (int(per_video), int(shape[0][1]))
            return cache[verifier]
        raise ValueError(f"the {'verifier' if verifier else 'inverted model'} {type(net).__name__} cannot run on "
                         f"x* of size={self.size} (T, H, W), not even on a probe of {T}×{h}×{w}: {error}")

    def memory_needed(self, jobs: Sequence[InversionJob], n_stimuli: int, steps: int, stage_every: int) -> int:
        """Bytes a call with ``jobs`` needs on the device, estimated before it allocates: per job x* with its
        gradient, Adam's two moments, its best copy, the jittered view and the final pick (7 copies of x*);
        each stimulus at x*'s size (twice, while it is resampled); twice the activations autograd keeps for
        one step of the largest batch, of the model and (where R_feat is used) of the verifier (the backward
        pass holds a gradient beside each); and on the CPU the stages kept for display. Measured on the CPU
        with tiny_r3d at 8–32 frames of 64²–256², batches of 2–16: the peak was 1.0–1.6× this, the larger
        ratios on the smaller calls, where some 0.1 GB of the libraries' own first-call allocations weigh most."""
        video = 4 * 3 * math.prod(self.size)
        rest = [j for j in jobs if j.variant != "am"]
        model = self._probe(verifier=False)[0]
        uses_feat = self.verifier is not None and any(term_weights(self.loss(j.variant))["feat"] for j in rest)
        verifier = self._probe(verifier=True)[0] if uses_feat else 0
        activations = max(len(rest) * (model + verifier), (len(jobs) - len(rest)) * model, n_stimuli * model)
        need = 7 * video * len(jobs) + 2 * video * n_stimuli + 2 * activations
        if self.device.type == "cpu":
            need += (steps // stage_every + 1) * video * len(jobs)
        return int(need)

    def check_memory(self, jobs: Sequence[InversionJob], n_stimuli: int, steps: int, stage_every: int) -> None:
        """Refuses a call that cannot fit on the device (:class:`~vidvis_widgets._memory.InsufficientMemory`,
        with the estimate and what is available), before anything large is allocated."""
        check_fits(f"LEAPS on {len(jobs)} job(s) at size={self.size} (T, H, W)",
                   self.memory_needed(jobs, n_stimuli, steps, stage_every), self.device,
                   hint="Use a smaller size=, fewer frames, or fewer jobs (seeds, classes) per call.")

