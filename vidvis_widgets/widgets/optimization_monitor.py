"""OptimizationMonitor: live inputs and objective curves of a running optimization, with a Stop button.

``monitor.start()`` runs the optimization in a background thread, so the kernel stays free and the
Stop button's click reaches Python; ``monitor.run()`` runs it in the foreground, where interrupting the
kernel stops it. Either way the run ends with each job's best input so far.
"""

from __future__ import annotations

import html
import threading
import time
from typing import Any

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go

from ..methods.activation_maximization import ActivationMaximization, AMJob, _as_job
from ..methods.loop import Snapshot
from .clip_player import ClipPlayer


class OptimizationMonitor(W.VBox):
    """Shows the current inputs of the first ``show`` jobs every ``every`` steps and every job's objective.

        monitor = OptimizationMonitor(ActivationMaximization(model), jobs, every=10)
        monitor            # display it
        monitor.start()    # returns at once; monitor.result holds the results when done (or stopped)
    """

    def __init__(self, method: ActivationMaximization, jobs, *, steps: int | None = None, every: int = 10,
                 show: int = 2):
        self.method, self.jobs, self.steps, self.every, self.show = method, jobs, steps, max(1, every), show
        self.result = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last_draw = 0.0
        single = isinstance(jobs, AMJob) or (isinstance(jobs, tuple) and len(jobs) == 2 and isinstance(jobs[0], str))
        job_list = [_as_job(j) for j in ([jobs] if single else list(jobs))]
        self._titles = [f"{j.layer} c{j.channel}" for j in job_list]
        streams = method.streams
        n = min(show, len(job_list))
        blank = [np.zeros((s.shape[1], s.shape[2], s.shape[3], 3), np.uint8) if s.shape[1] > 1
                 else np.zeros((s.shape[2], s.shape[3], 3), np.uint8) for s in streams.specs]
        self.player = ClipPlayer([b for _ in range(n) for b in blank], cols=len(streams.specs) * n,
                                 captions=[f"{t} · {s}" for t in self._titles[:n] for s in streams.names],
                                 rescale=True, fps=6.0)
        self.figure = go.FigureWidget(layout=dict(height=260, margin=dict(l=50, r=10, t=30, b=40),
                                                  title="objective (eq. 1)", xaxis_title="step",
                                                  showlegend=len(job_list) <= 8))
        for t in self._titles:
            self.figure.add_scatter(x=[], y=[], mode="lines", name=t)
        self.stop_button = W.Button(description="Stop", icon="stop", button_style="danger",
                                    tooltip="End the optimization and keep each job's best input so far")
        self.stop_button.on_click(lambda _b: self.stop())
        self.status = W.HTML("ready")
        super().__init__([W.HBox([self.stop_button, self.status]), self.player, self.figure])

    # -- control -------------------------------------------------------------------------------------
    def start(self) -> "OptimizationMonitor":
        """Runs in a background thread and returns at once; the Stop button ends the run."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("this monitor is already running; press Stop or wait() for it first")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="vidvis-optimization", daemon=True)
        self._thread.start()
        return self

    def run(self):
        """Runs in the foreground (interrupt the kernel to stop); returns the results."""
        self._stop.clear()
        self._run()
        if self.error is not None:
            raise self.error
        return self.result

    def stop(self) -> None:
        self._stop.set()
        self.status.value = "stopping…"

    def wait(self, timeout: float | None = None):
        """Blocks until a background run ends; returns the results."""
        if self._thread is not None:
            self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        return self.result

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- internals -----------------------------------------------------------------------------------
    def _run(self) -> None:
        self.error = None
        self.stop_button.disabled = False
        self.status.value = "running…"
        start = time.perf_counter()
        try:
            self.result = self.method(self.jobs, steps=self.steps, callback=self._on_progress, every=self.every,
                                      stop=self._stop)
        except BaseException as err:  # reported in the widget, re-raised by run() / wait()
            self.error = err
            self.status.value = f"<b>failed</b>: {html.escape(str(err))}"
            return
        finally:
            self.stop_button.disabled = True
        results = self.result if isinstance(self.result, list) else [self.result]
        first = results[0]
        self.status.value = html.escape(
            f"{first.status} after {first.settings['steps']} steps in {time.perf_counter() - start:.1f} s; "
            f"best a/â: " + ", ".join(f"{r.normalized_activation:.2f}" for r in results[:8]))
        self._show_inputs([r.clips() for r in results[: self.show]])

    def _on_progress(self, snap: Snapshot) -> None:
        with self.figure.batch_update():
            steps = np.arange(1, snap.total.shape[0] + 1)
            for i, trace in enumerate(self.figure.data):
                trace.x, trace.y = steps, snap.total[:, i]
        specs = self.method.streams
        clips = []
        for i in range(min(self.show, snap.total.shape[1])):
            row = []
            for s in specs.specs:
                x = specs.to_display(s.name, _tensor(snap.streams[s.name][i]))
                row.append(x[0] if s.name == "appearance" else x)
            clips.append(row)
        self._show_inputs(clips)
        self.status.value = f"step {snap.step} / {snap.steps}"

    def _show_inputs(self, clips: list[list[Any]]) -> None:
        flat = [c for row in clips for c in row]
        captions = [f"{t} · {s}" for t in self._titles[: len(clips)] for s in self.method.streams.names]
        self.player.set_clips(flat, captions=captions, cols=len(flat))


def _tensor(a: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(a))
