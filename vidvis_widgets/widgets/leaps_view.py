"""LeapsView: a LEAPS synthesis live — the stimulus beside the videos of several seeds, the first seed's
video at optimization stages (the paper's Fig. 8), and every loss term as a curve; Stop keeps each video's
best state so far."""

from __future__ import annotations

import html
from typing import Sequence

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import torch

from ..methods.leaps.inversion import InversionJob, ModelInversion
from ..methods.core.calls import as_seeds
from ..methods.core.loop import Snapshot
from ..media.grid import ROW_CELLS
from .background_run import BackgroundRun
from .clip_player import ClipPlayer
from .display import SavedView

_CURVES = (("total", "L (eq. 4)"), ("ce", "L_CE"), ("prim", "L_prim"), ("coh", "R_coh"), ("feat", "R_feat"))


class LeapsView(SavedView, BackgroundRun, W.VBox):
    """LEAPS for one class and one stimulus from several seeds, shown while it runs.

        view = LeapsView(ModelInversion(model), target=3, inputs=video, seeds=(0, 1, 2))
        view            # display it
        view.start()    # returns at once; view.result holds the InversionResults when done (or stopped)
    """

    def __init__(self, inversion: ModelInversion, target: int | str, inputs, *, seeds: int | Sequence[int] = (0, 1, 2),
                 steps: int | None = None, every: int = 25, stages: int = 6, variant: str = "leaps",
                 stimulus_label: int | None = None):
        """``target``: the class (an index or a name); ``inputs``: its priming video (T×H×W×3); ``seeds``: an int
        or a list of them, one synthesized video each, as :class:`ModelInversion` takes them."""
        self.inversion, self.target, self.stimulus = inversion, inversion.class_index(target), inputs
        self.seeds, self.steps, self.every, self.variant = tuple(as_seeds(seeds)), steps, max(1, every), variant
        self.stimulus_label = stimulus_label
        self.jobs = [InversionJob(self.target, 0, s, variant) for s in self.seeds]
        self.stage_every = max(1, (steps or inversion.steps) // max(1, stages))
        controls = self._init_controls("End the synthesis and keep each video's best state so far")
        name = inversion.class_label(self.target)
        stim = inversion.to_video(inversion.prepare_stimulus(inputs, "inputs"))
        blank = np.zeros_like(stim)
        self._stim, self._stim_caption = stim, f"stimulus · class {name}"
        self.player = ClipPlayer([stim] + [blank] * len(self.seeds), cols=min(len(self.seeds) + 1, ROW_CELLS),
                                 fps=6.0, captions=[self._stim_caption] + [f"seed {s}" for s in self.seeds])
        self.stages_player = ClipPlayer([blank], fps=6.0, captions=[f"seed {self.seeds[0]} · step 0"])
        self.figure = go.FigureWidget(layout=dict(height=260, margin=dict(l=50, r=10, t=30, b=40),
                                                  title=f"LEAPS loss terms, class {name} (mean over seeds)",
                                                  xaxis_title="step", yaxis_type="log"))
        for _key, label in _CURVES:
            self.figure.add_scatter(x=[], y=[], mode="lines", name=label)
        super().__init__([controls, W.HTML("<b>stimulus and synthesized videos</b>"), self.player,
                          W.HTML("<b>optimization stages</b> (first seed)"), self.stages_player, self.figure])

    def _call(self, callback, stop):
        labels = [self.stimulus_label] if self.stimulus_label is not None else None
        return self.inversion(self.jobs, self.stimulus, steps=self.steps, callback=callback, every=self.every,
                              stop=stop, stage_every=self.stage_every, stimulus_labels=labels)

    def _on_progress(self, snap: Snapshot) -> None:
        steps = np.arange(1, snap.step + 1)
        with self.figure.batch_update():
            for trace, (key, _label) in zip(self.figure.data, _CURVES):
                if key in snap.history:
                    trace.x, trace.y = steps, np.nanmean(snap.history[key], axis=1)
        videos = [self.inversion.to_video(torch.from_numpy(v)) for v in snap.streams["video"]]
        self._show_videos(videos, [f"seed {s} · step {snap.step}" for s in self.seeds])
        if snap.step % self.stage_every == 0 or snap.step == snap.steps:
            self._stages.append((snap.step, videos[0]))
            self._show_stages(self._stages)
        self.status.value = f"step {snap.step} / {snap.steps}"

    def _run(self) -> None:
        self._stages: list[tuple[int, np.ndarray]] = []
        super()._run()

    def _show_videos(self, videos, captions) -> None:  # one message for all cells
        self.player.set_clips([self._stim] + list(videos), captions=[self._stim_caption] + list(captions),
                              cols=min(len(videos) + 1, ROW_CELLS))

    def _show_stages(self, stages) -> None:
        self.stages_player.set_clips([v for _, v in stages], captions=[f"step {s}" for s, _ in stages],
                                     cols=max(1, min(len(stages), ROW_CELLS)))

    def _finished(self, results, seconds: float) -> None:
        if results:
            self._show_videos([r.video for r in results],
                              [f"seed {r.job.seed} · best (step {r.best_step})" for r in results])
        if results and results[0].stages:
            self._show_stages(results[0].stages)
        first = results[0] if results else None
        probs = ", ".join(f"{r.probabilities[self.target]:.2f}" if r.probabilities.size else "not measured"
                          for r in results)
        self.status.value = html.escape(
            f"{first.status if first else 'stopped'} after {first.settings['steps'] if first else 0} steps in "
            f"{seconds:.1f} s; p(target) per seed: {probs}")
