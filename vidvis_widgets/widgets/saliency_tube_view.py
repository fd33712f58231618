"""SaliencyTubeView: a clip beside its heat and focus tubes, with the class, τ and per-feature mode at hand;
every control recomputes from the kept activations, so nothing waits for the model."""

from __future__ import annotations

import html
import math

import ipywidgets as W

from ..methods.saliency_tubes.tubes import SaliencyTubeResults, SaliencyTubes
from .clip_player import ClipPlayer
from .display import SavedView


class SaliencyTubeView(SavedView, W.VBox):
    """``SaliencyTubeView(model, clips)`` runs :class:`~vidvis_widgets.methods.SaliencyTubes` once;
    ``SaliencyTubeView(result)`` shows a result already computed.

    The class menu lists the clip's top-k predictions with their probabilities (only those whose weights were
    kept, for a strategy that does not weigh every class at once); the τ slider spans the class's channel
    weights (eq. 1), in the strategy's units — the linear weights y for CAM, α for Grad-CAM — and starts at the
    strategy's default (CAM: 0; Grad-CAM and Grad-CAM++: the left end, where every channel is kept); a strategy
    that gives maps itself (a Captum attribution) has no τ. "feature" mode shows one channel's re-scaled map,
    the channels listed by how much they add to the class score (by their mean activation where there are no
    channel weights). ``colormap``: any plotly colorscale name; ``method``: as ``SaliencyTubes``.
    """

    def __init__(self, source, clips=None, *, top_k: int = 5, index: int = 0, method="auto",
                 layer: str | None = None, colormap: str = "Turbo", fps: float = 8.0):
        if isinstance(source, SaliencyTubeResults):
            self.result = source
        else:
            if clips is None:
                raise ValueError("pass the clips to explain: SaliencyTubeView(model, clips), or a SaliencyTubeResults")
            self.result = SaliencyTubes(source, method=method, layer=layer)(inputs=clips, top_k=top_k)
        r = self.result
        if not 0 <= index < r.num_clips:
            raise IndexError(f"clip index {index} is out of range for {r.num_clips} clips")
        self.top_k, self.colormap = top_k, colormap
        self.clip_menu = W.Dropdown(options=[(f"clip {n}: predicted {r.caption(n, 'predicted')}", n)
                                             for n in range(r.num_clips)], value=index, description="clip",
                                    layout=W.Layout(width="360px", display="" if r.num_clips > 1 else "none"))
        self.class_menu = W.Dropdown(description="class", layout=W.Layout(width="360px"))
        self.threshold = W.FloatSlider(description="τ", continuous_update=True, readout_format=".3f",
                                       layout=W.Layout(width="360px"))
        self.mode = W.ToggleButtons(options=["class", "feature"], value="class", style={"button_width": "70px"},
                                    tooltips=["the class's tube: channels with weight ≥ τ, weighted and summed",
                                              "one channel's activation map, re-scaled (Fig. 1b)"])
        self.feature = W.Dropdown(description="feature", layout=W.Layout(width="360px"), disabled=True)
        self.status = W.HTML()
        self.player = ClipPlayer(r.frames[index].cpu().numpy(), fps=fps)
        controls = W.VBox([self.clip_menu, self.class_menu, self.threshold, W.HBox([self.mode]), self.feature,
                           self.status])
        super().__init__([controls, self.player])
        self._quiet = False
        self._decimals = 3
        self._sync_menus()
        self.clip_menu.observe(lambda _c: self._sync_menus(), names="value")
        self.class_menu.observe(lambda _c: self._sync_class(), names="value")
        for w in (self.threshold, self.feature):
            w.observe(lambda _c: self.refresh(), names="value")
        self.mode.observe(self._on_mode, names="value")

    @property
    def index(self) -> int:
        return int(self.clip_menu.value)

    def _sync_menus(self) -> None:
        """The clip changed: its top-k classes in the menu (the predicted one first)."""
        r, n = self.result, self.index
        self._clip = r.select([n])
        options = []
        for c, name, p in self._clip.top_k(self.top_k)[0]:
            options.append((f"{name} — p={p:.3f}", c))
        if not r.attribution.every_class:  # only the classes whose weights or maps were kept can be shown
            kept = set(r.grad_classes[n].tolist())
            options = [o for o in options if o[1] in kept]
        default = int(r.targets[n])
        if default not in [c for _, c in options]:
            options.insert(0, (f"{r.class_name(default)} — p={float(r.probs[n, default]):.3f}", default))
        self._quiet = True
        try:
            self.class_menu.options = options
            self.class_menu.value = default
        finally:
            self._quiet = False
        self._sync_class()

    def _sync_class(self) -> None:
        """The class changed: τ spans its channel weights, features are ranked by what they add to it."""
        r, sub = self.result, self._clip
        weighted = r.attribution.has_channel_weights
        self.threshold.layout.display = "" if weighted else "none"  # a source's own maps have no τ
        if not weighted:
            contrib = sub.activations.mean((2, 3, 4))[0]
            order = contrib.argsort(descending=True).tolist()
            self._quiet = True
            try:
                self.feature.options = [(f"#{j}: mean {float(contrib[j]):+.3f}", j) for j in order]
                self.feature.value = order[0]
            finally:
                self._quiet = False
            self.refresh()
            return
        w = sub.channel_weights(self.class_menu.value)[0]
        lo, hi = float(w.min()), float(w.max())
        contrib = sub.contributions(self.class_menu.value)[0]
        order = contrib.argsort(descending=True).tolist()
        self._quiet = True
        try:
            self.threshold.min, self.threshold.max = -1e9, 1e9  # widen first, so no bound crosses the other
            self.threshold.min, self.threshold.max = lo, hi
            self.threshold.step = (hi - lo) / 200 or 1e-6  # α is small: a step in its units, not a fixed floor
            self._decimals = max(3, math.ceil(-math.log10(self.threshold.step)))
            self.threshold.readout_format = f".{self._decimals}f"
            self.threshold.tooltip = r.attribution.threshold_help
            self.threshold.value = min(max(r.resolved_threshold(), lo), hi)  # −∞ (every channel): the left end
            self.feature.options = [(f"#{j}: adds {float(contrib[j]):+.3f}", j) for j in order]
            self.feature.value = order[0]
        finally:
            self._quiet = False
        self.refresh()

    def _on_mode(self, change) -> None:
        feature = change["new"] == "feature"
        self.feature.disabled = not feature
        self.threshold.disabled = feature
        self.refresh()

    def refresh(self) -> None:
        """Recomputes the shown tubes from the kept activations and replaces the player's clips."""
        if self._quiet or self.class_menu.value is None:
            return
        r, n, cls = self.result, self.index, int(self.class_menu.value)
        sub = self._clip
        feature = self.feature.value if self.mode.value == "feature" else None
        weighted = r.attribution.has_channel_weights
        tau = float(self.threshold.value)  # the slider snaps to its steps from min: 0 may come back as -1e-9
        every = tau <= self.threshold.min + self.threshold.step / 2  # the left end keeps every channel, exactly
        if every:
            tau = -math.inf
        if not weighted:  # a source's own maps: no τ
            tau, every = None, True
        heat, focus = (v[0] for v in sub.heat_and_focus(cls, tau, feature, colormap=self.colormap))
        d = self._decimals
        what = (f"feature #{feature}" if feature is not None else r.class_name(cls) if not weighted
                else f"{r.class_name(cls)}, all channels" if every
                else f"{r.class_name(cls)}, τ={round(tau, d) + 0.0:.{d}f}")
        self.player.set_clips([sub.frames[0].cpu().numpy(), heat, focus],
                              captions=[f"clip {n}", f"heat · {what}", "focus"], cols=3,
                              col_headers=["clip", "heat tube", "focus tube"])
        total = r.activations.shape[1]
        channels = (f"one channel of {total}" if feature is not None else
                    f"{int(sub.kept_channels(cls, tau)[0])} of {total} channels ≥ τ" if weighted else
                    html.escape(r.attribution.title))
        self.status.value = (f"<b>{html.escape(r.class_name(cls))}</b> p={float(r.probs[n, cls]):.3f} · " + channels
                             + f" · layer <code>{html.escape(r.layer)}</code> ({html.escape(r.method)})")
