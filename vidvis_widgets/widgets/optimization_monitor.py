"""OptimizationMonitor: live inputs and objective curves of a running AM optimization, with a Stop
button (see :mod:`.background_run` for how the run and the button share the kernel)."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go

from ..methods.activation_maximization.am import EXPECTED, ActivationMaximization, AMJob
from ..methods.core.calls import make_jobs
from ..methods.core.loop import Snapshot
from ..media.grid import ROW_CELLS
from .background_run import BackgroundRun
from .clip_player import ClipPlayer
from .display import SavedView


class OptimizationMonitor(SavedView, BackgroundRun, W.VBox):
    """Shows the current inputs of the first ``show`` jobs every ``every`` steps and every job's objective.
    ``target`` and ``seeds``: what an :class:`ActivationMaximization` call takes (targets, or AMJob values).

        monitor = OptimizationMonitor(ActivationMaximization(model), sweep(unit("fc8", 3)), every=10)
        monitor            # display it
        monitor.start()    # returns at once; monitor.result holds the results when done (or stopped)
    """

    def __init__(self, method: ActivationMaximization, target, *, seeds=0, steps: int | None = None, every: int = 10,
                 show: int = 2):
        job_list, _ = make_jobs(target, seeds, AMJob, lambda i, t, s: AMJob(t, seed=s), "OptimizationMonitor",
                                EXPECTED)
        self.method, self.jobs, self.steps, self.every, self.show = method, job_list, steps, max(1, every), show
        controls = self._init_controls("End the optimization and keep each job's best input so far")
        self._titles = [j.unit for j in job_list]
        streams = method.streams
        n = min(show, len(job_list))
        # blank cells with the frames the inputs will be shown with (an image, or T frames; flow drawn as colour)
        cells = streams.display_row({s.name: np.zeros(s.shape, np.float32) for s in streams.specs})
        blank = [np.zeros((len(c), *streams.size, 3) if c.ndim == 4 else (*streams.size, 3), np.uint8) for c in cells]
        self.player = ClipPlayer([b for _ in range(n) for b in blank], cols=_cols(n, len(streams.specs)),
                                 captions=[f"{t} · {s}" for t in self._titles[:n] for s in streams.names],
                                 rescale=True, fps=6.0)
        self.figure = go.FigureWidget(layout=dict(height=260, margin=dict(l=50, r=10, t=30, b=40),
                                                  title="objective (eq. 1)", xaxis_title="step",
                                                  showlegend=len(job_list) <= 8))
        for t in self._titles:
            self.figure.add_scatter(x=[], y=[], mode="lines", name=t)
        super().__init__([controls, self.player, self.figure])

    def _call(self, callback, stop):
        return self.method(self.jobs, steps=self.steps, callback=callback, every=self.every, stop=stop)

    def _finished(self, results, seconds: float) -> None:
        first = results[0]
        self.status.value = html.escape(
            f"{first.status} after {first.settings['steps']} steps in {seconds:.1f} s; "
            "best: " + "; ".join(f"{t} {r.activation_caption}" for t, r in zip(self._titles, results[:8])))
        self._show_inputs([r.clips() for r in results[: self.show]])

    def _on_progress(self, snap: Snapshot) -> None:
        with self.figure.batch_update():
            steps = np.arange(1, snap.total.shape[0] + 1)
            for i, trace in enumerate(self.figure.data):
                trace.x, trace.y = steps, snap.total[:, i]
        specs = self.method.streams
        clips = [specs.display_row({k: np.ascontiguousarray(v[i]) for k, v in snap.streams.items()})
                 for i in range(min(self.show, snap.total.shape[1]))]
        self._show_inputs(clips)
        self.status.value = f"step {snap.step} / {snap.steps}"

    def _show_inputs(self, clips: list[list[Any]]) -> None:
        flat = [c for row in clips for c in row]
        captions = [f"{t} · {s}" for t in self._titles[: len(clips)] for s in self.method.streams.names]
        self.player.set_clips(flat, captions=captions, cols=_cols(len(clips), len(self.method.streams.names)))


def _cols(jobs: int, streams: int) -> int:
    """Columns for ``jobs`` jobs of ``streams`` cells each: whole jobs side by side, as many as fit a row."""
    return streams * min(jobs, max(1, ROW_CELLS // streams))
