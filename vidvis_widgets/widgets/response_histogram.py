"""ResponseHistogram: a unit's peak response per test class, beside what the unit wants to see
(IJCV 2020, last columns of Figs. 10 and 11).

Bars are the unit's maximum activity over each class's videos, sorted; clicking a bar plays that
class's top-activating clips (RGB and flow) in a synced player. Switching units updates every part in
place: the bars, the unit's activation-maximization inputs and the clips.
"""

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
from ..methods.activation_maximization.response_statistics import ResponseStatistics
from .clip_player import ClipPlayer
from .display import SavedView
from .regularizer_sweep import sweep_row

_BAR, _PICKED = "#8da0cb", "#e7298a"


class ResponseHistogram(SavedView, W.VBox):
    """For one unit at a time: sorted per-class maxima (plotly bars), its AM inputs, and top clips.

        stats = response_statistics(model, SyntheticActions("test"), ["conv5_fusion", "fc8"])
        ResponseHistogram(stats, SyntheticActions("test"), am=ActivationMaximization(model, store=True))

    ``units``: the (layer, unit) pairs the unit menu offers (default: every unit of ``stats``).
    ``am``: an :class:`ActivationMaximization` on the same model, run for the shown unit under each
    ``gammas`` setting (one batch; give it a store so revisited units load instantly), or ``None`` to
    leave that panel out. ``clips``: top clips shown per class.
    """

    def __init__(self, stats: ResponseStatistics, dataset, *, units: Sequence[tuple[str, int]] | None = None,
                 unit: tuple[str, int] | None = None, am: ActivationMaximization | None = None,
                 gammas: Sequence[float] = (10.0, 5.0, 1.0, 0.0), kappa: float = 1.0, seed: int = 0,
                 steps: int | None = None, clips: int = 4):
        n = num_videos(dataset)
        if n != stats.num_videos:
            raise ValueError(f"the dataset has {n} videos but the statistics were recorded on {stats.num_videos}; "
                             "pass the dataset response_statistics ran on")
        self.stats, self.dataset, self.am = stats, dataset, am
        self.gammas, self.kappa, self.seed, self.steps, self.num_clips = tuple(gammas), kappa, seed, steps, clips
        self.units = [(str(l), int(c)) for l, c in (units if units is not None else
                      [(l, c) for l in stats.layers for c in range(stats.activation_max[l].shape[0])])]
        if not self.units:
            raise ValueError("no units to show; expected (layer, unit) pairs of the recorded layers")
        for l, c in self.units:
            stats.unit_index(l, c)  # a clear error for a unit the statistics do not cover
        self.unit: tuple[str, int] | None = None
        self.picked_class: str | None = None
        self.unit_menu = W.Dropdown(options=[(f"{l} · unit {c}", (l, c)) for l, c in self.units],
                                    description="unit", layout=W.Layout(width="280px"))
        self.status = W.HTML()
        self.figure = go.FigureWidget(layout=dict(
            height=300, width=550, margin=dict(l=50, r=40, t=36, b=110), xaxis_tickangle=-45,
            yaxis_title=f"max activation ({stats.reduce})", bargap=0.15, modebar_orientation="v"))
        self.figure.add_bar(x=[], y=[], marker_color=[], hovertemplate="%{x}: %{y:.3g}<extra></extra>")
        self.figure.data[0].on_click(self._on_bar_click)
        self.am_player = ClipPlayer(np.zeros((8, 8, 3), np.uint8), captions=["—"], rescale=False, fps=6.0) \
            if am is not None else None
        self.clip_player = ClipPlayer(np.zeros((8, 8, 3), np.uint8), captions=["click a bar to play its class's "
                                                                                "top clips"], fps=8.0)
        top = [self.figure] + ([self.am_player] if self.am_player is not None else [])
        # wrap: with four γ settings the AM cells do not fit beside the plot in a notebook column, and
        # an HBox would clip them at the output's edge instead of moving them below
        super().__init__([W.HBox([self.unit_menu, self.status]), W.HBox(top, layout=W.Layout(flex_flow="row wrap")),
                          self.clip_player])
        self.show_unit(*(unit if unit is not None else self.units[0]))
        self.unit_menu.observe(lambda ch: self.show_unit(*ch["new"]), names="value")

    # -- what the user does --------------------------------------------------------------------------
    def show_unit(self, layer: str, unit: int) -> None:
        """Shows another unit: bars, AM inputs and the top clips of the class it fires most for."""
        key = (str(layer), int(unit))
        self.stats.unit_index(*key)
        if key == self.unit:
            return
        self.unit = key
        if self.unit_menu.value != key and key in self.units:
            self.unit_menu.value = key
        values = self.stats.unit_class_max(*key)
        have = np.flatnonzero(~np.isnan(values))
        order = have[np.argsort(-values[have], kind="stable")]
        self._order = [self.stats.classes[k] for k in order]
        with self.figure.batch_update():
            bars = self.figure.data[0]
            bars.x, bars.y = self._order, values[order].astype(float)
            self.figure.layout.title = f"{key[0]} unit {key[1]}: maximum response per class"
        self.select_class(self._order[0])
        if self.am is not None:
            self._show_am(key)

    def select_class(self, cls: int | str) -> None:
        """Plays the shown unit's top-activating clips of ``cls`` (what clicking its bar does)."""
        k = self.stats.class_index(cls)
        name = self.stats.classes[k]
        self.picked_class = name
        self.figure.data[0].marker.color = [_PICKED if c == name else _BAR for c in self._order]
        top = self.stats.class_top_videos(*self.unit, k)[: self.num_clips]
        rgb, flow = dataset_clips(self.dataset, [i for i, _ in top])
        has_flow = all(f is not None for f in flow)
        clips = rgb + (flow if has_flow else [])
        caps = [f"{name} #{i} · {v:.3g}" for i, v in top] + ([f"flow #{i}" for i, _ in top] if has_flow else [])
        self.clip_player.set_clips(clips, captions=caps, rows=2 if has_flow else 1, cols=len(top),
                                   row_headers=["RGB", "flow"] if has_flow else [])
        self.status.value = (f"<b>{html.escape(self.unit[0])} unit {self.unit[1]}</b>: top clips of "
                             f"<b>{html.escape(name)}</b>")

    # -- internals -----------------------------------------------------------------------------------
    def _on_bar_click(self, trace, points, _state) -> None:
        if points.point_inds:
            self.select_class(trace.x[points.point_inds[0]])

    def _show_am(self, key: tuple[str, int]) -> None:
        self.status.value = f"optimizing the inputs of {html.escape(key[0])} unit {key[1]}…"
        jobs = [AMJob(unit(*key), self.kappa, g, self.seed) for g in self.gammas]
        self.am_results = results = self.am(jobs, steps=self.steps)
        clips, caps, heads = sweep_row(results)
        self.am_player.set_clips(clips, captions=[h if h == "appearance" else f"{h} · {c}" for h, c in zip(heads, caps)], cols=min(len(clips), 3))
        self.status.value = (f"<b>{html.escape(key[0])} unit {key[1]}</b>: top clips of "
                             f"<b>{html.escape(self.picked_class or '')}</b>")
