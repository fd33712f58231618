"""ContrastView: what tells class ``a`` from class ``b``, beside what each class alone wants — three columns
(a, b, a − b) × one row per method's view (AM's inputs per γ, the clips' tubes, LEAPS' video), computed by
:func:`~vidvis_widgets.methods.contrast.contrast` in a background thread with progress and a Stop button (see
:mod:`.background_run`), so the kernel stays free while it runs."""

from __future__ import annotations

import html
from typing import Sequence

import ipywidgets as W
import numpy as np

from ..methods.contrast import ContrastProgress, ContrastResults, contrast
from ..models.adapter import adapter_of
from ..methods.core.targets import resolve_class
from .background_run import BackgroundRun
from .clip_player import ClipPlayer
from .display import SavedView


class ContrastView(SavedView, BackgroundRun, W.VBox):
    """The contrast of classes ``a`` and ``b`` on ``model``:

        view = ContrastView(model, "apply_lipstick", "apply_eye_makeup", inputs=clips, store=True)
        view            # display it: blank cells and a Stop button
        view.start()    # returns at once; view.result holds the ContrastResults when done (or stopped)
        view.run()      # or in the foreground

    ``inputs``: the clips for the tubes (and LEAPS' stimuli); ``methods``: some of ("am", "tubes", "leaps");
    ``gammas``: AM's γ, one row each; ``steps``: AM's steps (``leaps_steps`` LEAPS'); ``samples``: the clips whose
    tubes are shown; ``store``: a result store, so a second view of the same pair computes nothing; ``on_done``: a
    function of the view, called when a run has finished and is shown. Further keywords go to :func:`~vidvis_widgets.methods.contrast.contrast`.
    """

    _thread_name = "vidvis-contrast"

    def __init__(self, model, a, b, *, inputs=None, methods: Sequence[str] = ("am", "tubes"),
                 gammas: Sequence[float] = (10.0, 5.0), steps: int | None = None, store=None, leaps_inputs=None,
                 samples: int = 1, on_done=None, **kw):
        adapter = adapter_of(model)
        ia, ib = resolve_class(adapter, a, "a"), resolve_class(adapter, b, "b")  # refused now, not in the thread
        if ia == ib:
            raise ValueError(f"a and b must be two different classes; got class {ia} twice")
        names = adapter.class_names
        self.a, self.b = (names[ia], names[ib]) if names else (str(ia), str(ib))
        self.model, self.samples, self.on_done = model, samples, on_done
        self._kw = dict(methods=methods, inputs=inputs, gammas=gammas, steps=steps, store=store,
                        leaps_inputs=leaps_inputs, **kw)
        controls = self._init_controls("End the run and keep what each method found so far")
        blank = np.zeros((8, 8, 3), np.uint8)
        self.player = ClipPlayer([blank] * 3, captions=["not run yet"] * 3, rows=1, cols=3,
                                 col_headers=self.columns, fps=8.0)
        super().__init__([controls, self.player])

    @property
    def columns(self) -> list[str]:
        return [self.a, self.b, f"{self.a} − {self.b}"]

    def region_energy(self, regions, method: str = "am", *, density: bool = True):
        """The finished run's energy inside ``regions`` (see :meth:`ContrastResults.region_energy`)."""
        if self.result is None:
            raise ValueError("the view has no results yet: start() or run() it first, then measure its regions")
        return self.result.region_energy(regions, method, density=density)

    def _call(self, callback, stop) -> ContrastResults:
        return contrast(self.model, self.a, self.b, stop=stop, callback=callback, **self._kw)

    def _on_progress(self, p: ContrastProgress) -> None:
        self.status.value = html.escape(f"{p.method}: {p.step} / {p.steps} ({p.phase + 1} of {p.phases} methods)")

    def _finished(self, result: ContrastResults, seconds: float) -> None:
        grid = result.clip_grid(samples=self.samples)
        self.player.set_clips(grid.clips, captions=grid.captions, rows=grid.rows, cols=grid.cols,
                              row_headers=grid.row_headers, col_headers=grid.col_headers)
        skipped = "".join(f"; {m} not run: {w}" for m, w in result.skipped.items())
        self.status.value = html.escape(f"{result.status} in {seconds:.1f} s: {', '.join(result.methods)}{skipped}")
        if self.on_done is not None:
            self.on_done(self)
