"""ConfusionPairView: the test confusion matrix, its most confused pairs, and for a picked pair what each
class logit wants to see across γ beside sample and misclassified clips (IJCV 2020, Figs. 13–15)."""

from __future__ import annotations

import html
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
from .clip_player import ClipPlayer
from .display import SavedView
from .regularizer_sweep import sweep_row


class ConfusionPairView(SavedView, W.VBox):
    """Pick a pair in the ranked list, or click an off-diagonal cell of the heatmap.

        ConfusionPairView(model, SyntheticActions("test"), store=True)

    ``evaluation``: a precomputed :class:`~vidvis_widgets.models.evaluation.Evaluation` of ``model`` on
    ``dataset`` (else one is run, through ``store`` when given). ``am``: the
    :class:`ActivationMaximization` for the class logits (default: one on ``model`` with ``store``);
    ``logit_layer``: the layer whose units are the class logits (default: the model's last ``Linear``).
    ``pairs``: how many ranked pairs to list; ``samples``: clips per row.
    """

    def __init__(self, model, dataset, *, evaluation: Evaluation | None = None, am: ActivationMaximization | None = None,
                 store=None, logit_layer: str | None = None, gammas: Sequence[float] = (10.0, 5.0, 1.0, 0.0),
                 kappa: float = 1.0, seed: int = 0, steps: int | None = None, pairs: int = 8, samples: int = 3):
        self.model, self.dataset = model, dataset
        self.evaluation = evaluation if evaluation is not None else evaluate(model, dataset, store=store)
        n = num_videos(dataset)
        if len(self.evaluation.labels) != n:
            raise ValueError(f"the evaluation covers {len(self.evaluation.labels)} videos but the dataset has {n}; "
                             "pass the dataset it was computed on")
        self.am = am if am is not None else ActivationMaximization(model, store=store)
        self.logit_layer = logit_layer or adapter_of(model).logit_layer
        if self.logit_layer is None:
            raise ValueError(f"{type(model).__name__} has no linear layer to take as its class logits; pass "
                             "logit_layer='<the layer whose outputs are the class logits>'")
        self.gammas, self.kappa, self.seed, self.steps, self.samples = tuple(gammas), kappa, seed, steps, samples
        self.pair: tuple[str, str] | None = None
        self.am_results = None
        ev, classes = self.evaluation, self.evaluation.classes
        ranked = ev.most_confused(pairs)
        labels = [f"{classes[a]} ↔ {classes[b]}: {e} error{'' if e == 1 else 's'}" for a, b, e in ranked]
        self.pair_menu = W.Select(options=[(t, (classes[a], classes[b])) for t, (a, b, _) in zip(labels, ranked)],
                                  rows=min(max(len(ranked), 2), 8), description="pairs", layout=W.Layout(width="360px"))
        self.stream = W.ToggleButtons(options=["RGB", "flow"], value="RGB", style={"button_width": "60px"},
                                      tooltips=["show the clips' frames", "show the clips' optical flow"])
        self.status = W.HTML(f"top-1 {ev.accuracy:.1%} on {len(ev.labels)} videos" + (
            "" if ranked else "; no class is ever mistaken for another"))
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
        # the controls wrap below the matrix where the output is too narrow for both, rather than run past its edge
        super().__init__([W.HBox([self.figure, W.VBox([self.pair_menu, self.stream, self.status])],
                                 layout=W.Layout(flex_flow="row wrap")),
                          self.am_player, self.clip_player])
        self.pair_menu.observe(lambda ch: ch["new"] and self.show_pair(*ch["new"]), names="value")
        self.stream.observe(lambda _ch: self.pair and self._show_clips(*self.pair), names="value")
        if ranked:  # the menu starts on the top pair; show it
            self.show_pair(*self.pair_menu.value)

    def show_pair(self, a: int | str, b: int | str) -> None:
        """Compares classes ``a`` and ``b``: logit AM inputs across γ, samples and misclassified clips."""
        ev = self.evaluation
        ia, ib = ev.class_index(a), ev.class_index(b)
        if ia == ib:
            raise ValueError(f"pick two different classes, got {ev.classes[ia]!r} twice")
        listed = [v for _, v in self.pair_menu.options]
        if (ev.classes[ib], ev.classes[ia]) in listed:  # both directions are shown: keep the list's order
            ia, ib = ib, ia
        a, b = ev.classes[ia], ev.classes[ib]
        if self.pair == (a, b):
            return
        self.pair = (a, b)
        want = (a, b) if (a, b) in listed else None
        if self.pair_menu.value != want:
            self.pair_menu.value = want
        self._show_clips(a, b)
        self.status.value = f"optimizing the <b>{html.escape(a)}</b> and <b>{html.escape(b)}</b> logits' inputs…"
        # each logit as a unit of the logit layer: normalized by its â, as every other unit's input is
        jobs = [AMJob(unit(self.logit_layer, k), self.kappa, g, self.seed) for k in (ia, ib) for g in self.gammas]
        self.am_results = results = self.am(jobs, steps=self.steps)
        n = len(self.gammas)
        (clips_a, caps_a, heads), (clips_b, caps_b, _) = sweep_row(results[:n]), sweep_row(results[n:])
        clips, caps = clips_a + clips_b, caps_a + caps_b
        self.am_player.set_clips(clips, captions=caps, rows=2, cols=len(heads), row_headers=[a, b],
                                 col_headers=heads)
        m = ev.matrix
        self.status.value = (f"<b>{html.escape(a)}</b> → {html.escape(b)}: {m[ia, ib]} · "
                             f"<b>{html.escape(b)}</b> → {html.escape(a)}: {m[ib, ia]} misclassified")

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

