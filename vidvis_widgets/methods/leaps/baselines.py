"""LEAPS' 3D AM baseline: the ``"am"`` variant, activation maximization's single-stream method on the class logit,
at x*'s size (the calls for the paper's two baselines, 3D DeepDream and 3D AM, sit beside LEAPS' own in
:mod:`.inversion`).

:class:`AMBaseline` is a part of :class:`~.inversion.ModelInversion`: it reads the inversion's ``model``,
``adapter``, ``device``, ``size``, ``bf16`` and ``am_gamma``, and its ``model_logits`` and ``to_video``.
"""

from __future__ import annotations

import numpy as np
import torch

from ...models.run_control import frozen
from ..core.loop import JUDGED
from ..core.targets import Target, job_settings, unit
from .results import InversionResult


class AMBaseline:
    """The ``"am"`` variant's jobs, run by activation maximization (a part of :class:`~.inversion.ModelInversion`)."""

    def _run_am(self, jobs, prepared, steps, stop, stage_every, unstarted: str | None = None,
                progress: bool = False) -> list[InversionResult]:
        """3D AM on the class logit (the two-stream AM method on a single-stream model), at x*'s size. With
        ``unstarted`` (a status), the jobs are not run: each gets its start."""
        from ..activation_maximization.am import ActivationMaximization, AMJob

        head = self.adapter.logit_layer
        # one video, as LEAPS optimizes (a multi-pathway model's pathways sample it)
        am = ActivationMaximization(self.model, input_shape=(3, *self.size), steps=steps, bf16=self.bf16,
                                    device=self.device, pathways="video")
        stages: list[tuple[int, np.ndarray]] = []

        def on_progress(snap):
            stages.append((snap.step, snap.streams["video"]))

        # a class is its logit layer's unit, normalized by its â as AM's units are; any other target as it is
        am_jobs = [AMJob(j.target if isinstance(j.target, Target) else unit(head, j.target), 1.0, self.am_gamma,
                         j.seed) for j in jobs]
        # Stop and Ctrl-C in AM's own set-up (its layer table, the â pass) give each job its start, no steps
        res = am.unstarted(am_jobs, unstarted) if unstarted else am(am_jobs, steps=steps, stop=stop,
                                                                   every=stage_every, callback=on_progress,
                                                                   progress=progress)
        to_model = lambda a: am.streams.rgb_units(torch.as_tensor(a).to(self.device))  # noqa: E731
        xs = to_model(np.stack([r.appearance.transpose(3, 0, 1, 2) for r in res]))
        ran = [r.settings.get("final_values") == JUDGED for r in res]  # no pass after a Stop, Ctrl-C, divergence
        with torch.no_grad(), frozen(self.model):
            p = iter(self.model_logits(xs[ran]).float().softmax(1).cpu().numpy() if any(ran) else [])
        probs = [next(p) if r else self._no_probabilities() for r in ran]
        out = []
        for i, (j, r) in enumerate(zip(jobs, res)):
            out.append(InversionResult(
                job=j, video=self.to_video(xs[i]), x=xs[i].float().cpu().numpy(),
                stimulus=self.to_video(prepared[j.stimulus]) if j.stimulus is not None else None,
                history={"total": -r.objective, "activation": r.activation},
                stages=[(s, self.to_video(to_model(v[i:i + 1])[0])) for s, v in stages],
                probabilities=probs[i], best_step=r.best_step, status=r.status, diverged_at=r.diverged_at,
                settings={**r.settings, "size": list(self.size), "job": job_settings(j), "am_layer": head}))
        return out

