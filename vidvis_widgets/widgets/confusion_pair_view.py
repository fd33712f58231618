"""ConfusionPairView: the test confusion matrix, class pairs ranked three ways (most confused, over-confident,
confused by a frame-wise model but not by a temporal one), and for a picked pair what each class logit wants to
see across γ beside sample and misclassified clips (IJCV 2020, Figs. 13–15). The logits' AM runs in a background
thread (see :mod:`.background_run`): the kernel stays free, the status counts the steps, Stop keeps the best
inputs so far, and picking another pair stops the running one and starts the next."""

from __future__ import annotations

import html
import threading
from typing import Sequence

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go

from ..data.loading import num_videos
from ..media.dataset_clips import dataset_clips
from ..methods.activation_maximization.am import ActivationMaximization, AMJob
from ..methods.core.targets import unit
from ..models.adapter import adapter_of
from ..models.evaluation import Evaluation, evaluate
from ..models.rankings import frame_vs_temporal_pairs, over_confident_pairs
from .background_run import BackgroundRun
from .clip_player import ClipPlayer
from .display import SavedView
from .regularizer_sweep import sweep_row

RANKINGS = {"confused": "most confused", "over-confident": "over-confident", "2d-vs-3d": "2D vs 3D"}
_TIPS = {"confused": "pairs with the most errors between them",
         "over-confident": "look-alike pairs told apart perfectly with unusually large logit margins",
         "2d-vs-3d": "pairs the frame-wise 2D model confuses and this model separates"}


class ConfusionPairView(SavedView, BackgroundRun, W.VBox):
    """Pick a pair in the ranked list, or click an off-diagonal cell of the heatmap; the view shows the matrix and
    clips at once and optimizes the pair's logits in the background.

        view = ConfusionPairView(model, SyntheticActions("test"), store=True)
        view            # display it; the top pair's AM starts at once (autostart=False: on the first pick)
        view.wait()     # blocks until the running pair is done; view.am_results holds its results

    ``evaluation``: a precomputed :class:`~vidvis_widgets.models.evaluation.Evaluation` of ``model`` on
    ``dataset`` (else one is run, through ``store`` when given). ``rank``: which ranking the list starts with:
    ``"confused"`` (errors between the two classes), ``"over-confident"``
    (:func:`~vidvis_widgets.models.rankings.over_confident_pairs`) or ``"2d-vs-3d"``
    (:func:`~vidvis_widgets.models.rankings.frame_vs_temporal_pairs`, which needs ``evaluation_2d`` or ``model_2d``,
    a frame-wise model evaluated on the same dataset). ``am``: the :class:`ActivationMaximization` for the class
    logits (default: one on ``model`` with ``store``); ``logit_layer``: the layer whose units are the class logits
    (default: the model's last ``Linear``). ``pairs``: how many ranked pairs to list; ``samples``: clips per row;
    ``every``: steps between two progress updates.
    """

    _thread_name = "vidvis-confusion-pair"

    def __init__(self, model, dataset, *, evaluation: Evaluation | None = None, evaluation_2d: Evaluation | None = None,
                 model_2d=None, rank: str = "confused", am: ActivationMaximization | None = None, store=None,
                 logit_layer: str | None = None, gammas: Sequence[float] = (10.0, 5.0, 1.0, 0.0), kappa: float = 1.0,
                 seed: int = 0, steps: int | None = None, every: int = 10, pairs: int = 8, samples: int = 3,
                 autostart: bool = True):
        if rank not in RANKINGS:
            raise ValueError(f"rank must be one of {', '.join(map(repr, RANKINGS))}, got {rank!r}")
        if evaluation_2d is None and model_2d is None and rank == "2d-vs-3d":
            raise ValueError("rank='2d-vs-3d' compares with a frame-wise model: pass evaluation_2d=<its Evaluation on "
                             "the same dataset> or model_2d=<the model>")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive int (steps between two progress updates), got {every!r}")
        self.model, self.dataset = model, dataset
        n = num_videos(dataset)
        self.evaluation = evaluation if evaluation is not None else evaluate(model, dataset, store=store)
        if evaluation_2d is None and model_2d is not None:
            evaluation_2d = evaluate(model_2d, dataset, store=store)
        self.evaluation_2d = evaluation_2d
        for name, ev in (("evaluation", self.evaluation), ("evaluation_2d", evaluation_2d)):
            if ev is not None and len(ev.labels) != n:
                raise ValueError(f"the {name} covers {len(ev.labels)} videos but the dataset has {n}; "
                                 "pass the dataset it was computed on")
        if evaluation_2d is not None and tuple(evaluation_2d.classes) != tuple(self.evaluation.classes):
            raise ValueError("evaluation_2d must name the same classes as the model, in the same order")
        self.am = am if am is not None else ActivationMaximization(model, store=store)
        self.logit_layer = logit_layer or adapter_of(model).logit_layer
        if self.logit_layer is None:
            raise ValueError(f"{type(model).__name__} has no linear layer to take as its class logits; pass "
                             "logit_layer='<the layer whose outputs are the class logits>'")
        self.gammas, self.kappa, self.seed, self.steps, self.every = tuple(gammas), kappa, seed, steps, every
        self.samples, self.pairs = samples, pairs
        self.pair: tuple[str, str] | None = None
        self.am_results = None
        self.am_pair: tuple[str, str] | None = None  # the pair am_results belong to
        self._next: tuple[tuple[str, str], list[AMJob]] | None = None
        self._switching = threading.Lock()  # one pick at a time: the menu and the heatmap may both fire
        self._quiet = False  # set while the list is refilled, so that its value changes start nothing
        ev, classes = self.evaluation, self.evaluation.classes
        controls = self._init_controls("End the optimization and keep the best inputs so far")
        self.rank = W.ToggleButtons(options=[(RANKINGS[r], r) for r in RANKINGS if r != "2d-vs-3d" or evaluation_2d],
                                    value=rank, style={"button_width": "128px"},
                                    tooltips=[_TIPS[r] for r in RANKINGS if r != "2d-vs-3d" or evaluation_2d])
        self.pair_menu = W.Select(options=[], rows=8, description="pairs", layout=W.Layout(width="360px"))
        self.stream = W.ToggleButtons(options=["RGB", "flow"], value="RGB", style={"button_width": "60px"},
                                      tooltips=["show the clips' frames", "show the clips' optical flow"])
        self._summary = f"top-1 {ev.accuracy:.1%} on {len(ev.labels)} videos"
        m = ev.matrix
        self.figure = go.FigureWidget(layout=dict(
            height=460, width=550, margin=dict(l=140, r=40, t=36, b=130), title="confusion matrix (test)",
            xaxis=dict(title="predicted", tickangle=-45), yaxis=dict(title="true", autorange="reversed"),
            modebar_orientation="v"))
        self.figure.add_heatmap(z=m, x=list(classes), y=list(classes), colorscale="Blues", showscale=False,
                                text=m.astype(str), texttemplate="%{text}",
                                hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>")
        self.figure.data[0].on_click(self._on_cell_click)
        blank = np.zeros((8, 8, 3), np.uint8)
        self.am_player = ClipPlayer(blank, captions=["pick a pair"], fps=6.0)
        self.clip_player = ClipPlayer(blank, captions=["pick a pair"], fps=8.0)
        self.stop_button.disabled = True
        # the controls wrap below the matrix where the output is too narrow for both, rather than run past its edge
        super().__init__([W.HBox([self.figure, W.VBox([self.rank, self.pair_menu, self.stream, controls])],
                                 layout=W.Layout(flex_flow="row wrap")),
                          self.am_player, self.clip_player])
        self._fill_menu()
        self.status.value = self._summary + ("" if self.pair_menu.options else f"; no pair to list by "
                                             f"{RANKINGS[rank]}")
        self.pair_menu.observe(self._on_pick, names="value")
        self.rank.observe(lambda _ch: self._fill_menu(), names="value")
        self.stream.observe(lambda _ch: self.pair and self._show_clips(*self.pair), names="value")
        if autostart and self.pair_menu.options:  # the top pair: its clips now, its AM in the background
            self.show_pair(*self.pair_menu.options[0][1])

    # -- the ranked list -------------------------------------------------------------------------------
    def ranked(self, rank: str | None = None) -> list[tuple[str, tuple[str, str]]]:
        """The list for ``rank`` (default: the toggle's): (label, (class a, class b)), first to last."""
        rank = rank or self.rank.value
        ev, c, k = self.evaluation, self.evaluation.classes, self.pairs
        if rank == "confused":
            return [(f"{c[a]} ↔ {c[b]}: {e} error{'' if e == 1 else 's'}", (c[a], c[b]))
                    for a, b, e in ev.most_confused(k)]
        if rank == "over-confident":
            return [(f"{c[a]} ↔ {c[b]}: margin {m:.1f}, {acc:.0%} apart", (c[a], c[b]))
                    for a, b, _, acc, m in over_confident_pairs(ev, k)]
        if self.evaluation_2d is None:
            raise ValueError("the 2D-vs-3D ranking needs evaluation_2d or model_2d")
        return [(f"{c[a]} ↔ {c[b]}: 2D {e2} error{'' if e2 == 1 else 's'}, this model {e3}", (c[a], c[b]))
                for a, b, _, e2, e3 in frame_vs_temporal_pairs(self.evaluation_2d, ev, k)]

    def _fill_menu(self) -> None:
        options = self.ranked()
        self._quiet = True
        try:
            self.pair_menu.options = options
            self.pair_menu.rows = min(max(len(options), 2), 8)
            self.pair_menu.value = self.pair if self.pair in [v for _, v in options] else None
        finally:
            self._quiet = False

    def _on_pick(self, change) -> None:
        if not self._quiet and change["new"]:
            self.show_pair(*change["new"])

    # -- a pair ----------------------------------------------------------------------------------------
    def show_pair(self, a: int | str, b: int | str, *, wait: bool = False) -> None:
        """Compares classes ``a`` and ``b``: shows their samples and misclassified clips at once and starts their
        logits' AM across γ in the background (stopping a pair still running; its best inputs so far stay
        shown until the new run ends). ``wait``: block until the run ends, as ``view.wait()`` does."""
        ev = self.evaluation
        ia, ib = ev.class_index(a), ev.class_index(b)
        if ia == ib:
            raise ValueError(f"pick two different classes, got {ev.classes[ia]!r} twice")
        listed = [v for _, v in self.pair_menu.options]
        if (ev.classes[ib], ev.classes[ia]) in listed:  # both directions are shown: keep the list's order
            ia, ib = ib, ia
        a, b = ev.classes[ia], ev.classes[ib]
        with self._switching:
            if self.pair != (a, b) or not (self.running or self.am_pair == (a, b)):
                self.pair = (a, b)
                want = (a, b) if (a, b) in listed else None
                if self.pair_menu.value != want:
                    self._quiet = True
                    try:
                        self.pair_menu.value = want
                    finally:
                        self._quiet = False
                self._show_clips(a, b)
                # each logit as a unit of the logit layer: normalized by its â, as every other unit's input is
                jobs = [AMJob(unit(self.logit_layer, k), self.kappa, g, self.seed) for k in (ia, ib) for g in self.gammas]
                self._next = ((a, b), jobs)
                self.restart()
        if wait:
            self.wait()

    def _call(self, callback, stop):
        pair, jobs = self._next
        self._running_pair = pair
        self.status.value = f"optimizing the <b>{html.escape(pair[0])}</b> and <b>{html.escape(pair[1])}</b> logits' inputs…"
        return self.am(jobs, steps=self.steps, callback=callback, every=self.every, stop=stop)

    def _on_progress(self, snap) -> None:
        a, b = self._running_pair
        self.status.value = (f"<b>{html.escape(a)}</b> vs <b>{html.escape(b)}</b>: step {snap.step} / {snap.steps}")

    def _finished(self, results, seconds: float) -> None:
        a, b = self._running_pair
        self.am_results, self.am_pair = results, (a, b)
        n = len(self.gammas)
        (clips_a, caps_a, heads), (clips_b, caps_b, _) = sweep_row(results[:n]), sweep_row(results[n:])
        self.am_player.set_clips(clips_a + clips_b, captions=caps_a + caps_b, rows=2, cols=len(heads),
                                 row_headers=[a, b], col_headers=heads)
        ev, first = self.evaluation, results[0]
        ia, ib = ev.class_index(a), ev.class_index(b)
        self.status.value = (f"<b>{html.escape(a)}</b> → {html.escape(b)}: {ev.matrix[ia, ib]} · "
                             f"<b>{html.escape(b)}</b> → {html.escape(a)}: {ev.matrix[ib, ia]} misclassified · "
                             f"AM {html.escape(first.status)} after {first.settings['steps']} steps in {seconds:.1f} s")

    def _show_clips(self, a: str, b: str) -> None:
        ev, k = self.evaluation, self.samples
        rows = [(f"{a} samples", ev.videos(a)[:k]), (f"{b} samples", ev.videos(b)[:k]),
                (f"{a} → predicted {b}", ev.videos(a, b)[:k]), (f"{b} → predicted {a}", ev.videos(b, a)[:k])]
        flow = self.stream.value == "flow"
        cells, caps = [], []
        for _, idx in rows:
            rgb, fl = dataset_clips(self.dataset, idx, flow=flow)
            shown = fl if flow and all(f is not None for f in fl) else rgb
            cells += shown + [None] * (k - len(shown))
            caps += [f"#{i} · predicted {ev.classes[ev.predictions[i]]}" for i in idx] + [""] * (k - len(idx))
        if all(c is None for c in cells):
            cells[0] = np.zeros((8, 8, 3), np.uint8)
        self.clip_player.set_clips(cells, captions=caps, rows=len(rows), cols=k,
                                   row_headers=[r for r, _ in rows])

    def _on_cell_click(self, trace, points, _state) -> None:
        if points.point_inds:
            r, c = points.point_inds[0]
            if r != c:
                self.show_pair(trace.y[r], trace.x[c])
