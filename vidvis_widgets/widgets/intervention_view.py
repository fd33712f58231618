"""InterventionView: edited clips beside their originals, RGB and flow rows, with the flips of every (region, edit)
variant at hand."""

from __future__ import annotations

import ipywidgets as W
import numpy as np

from ..methods.interventions import InterventionResults, Interventions
from .clip_player import ClipPlayer
from .display import SavedView


class InterventionView(SavedView, W.VBox):
    """``InterventionView(results)`` shows the edited clips the results kept (their ``exemplars``: the variants with
    the most flips); ``InterventionView(results, model=m, inputs=ds, regions=regions)`` (the call's model, inputs and
    regions, and ``donors`` where it had them) shows any variant on any of its clips, edited again without running
    the model. The menus list the variants by flip rate and each variant's clips, flipped ones first; the table
    counts the flips per variant."""

    def __init__(self, results: InterventionResults, *, model=None, inputs=None, regions=None, donors=None,
                 fps: float = 8.0):
        if not isinstance(results, InterventionResults):
            raise TypeError(f"results must be InterventionResults (what Interventions(model)(...) returns), got "
                            f"{type(results).__name__}")
        if not len(results):
            raise ValueError("results hold no clips (the call was stopped before its first batch)")
        live = inputs is not None
        if live and (model is None or regions is None):
            raise ValueError("to show any variant, pass the call's model=, inputs= and regions= (else only the "
                             "kept exemplars are shown: InterventionView(results))")
        if not live and not len(results.exemplars.get("variant", ())):
            raise ValueError("these results keep no edited clips (exemplars=0): pass model=, inputs= and regions= "
                             "to edit them again")
        self.results, self.inputs, self.donors = results, inputs, donors
        self.regions = list(regions) if regions is not None else None
        if live:
            names = [r["name"] for r in results.regions]
            if [r.name for r in self.regions] != names:
                raise ValueError(f"regions must be the call's regions, in order: {names}")
        self.interventions = Interventions(model) if live else None
        rates = results.flipped.mean(0)
        shown = range(results.num_variants) if live else sorted(set(int(v) for v in results.exemplars["variant"]))
        order = sorted(shown, key=lambda v: -rates[v])
        labels = results.variant_labels
        self.variant_menu = W.Dropdown(options=[(f"{labels[v]} — {100 * rates[v]:.0f}% flipped", v) for v in order],
                                       description="variant", layout=W.Layout(width="480px"))
        self.clip_menu = W.Dropdown(description="clip", layout=W.Layout(width="480px"))
        self.table = W.HTML(results.flips(per="variant")._repr_html_())
        self.player = ClipPlayer(self._clips(order[0], self._rows(order[0])[0])[0], fps=fps, rows=2, cols=2)
        super().__init__([W.VBox([self.variant_menu, self.clip_menu]), self.player, self.table])
        self._quiet = False
        self._sync_clips()
        self.variant_menu.observe(lambda _c: self._sync_clips(), names="value")
        self.clip_menu.observe(lambda _c: self._show(), names="value")

    def _rows(self, v: int) -> list[int]:
        """The result rows the menu offers for variant v: every clip (flipped first), or the kept exemplar's."""
        r = self.results
        if self.inputs is None:
            return [int(row) for var, row in zip(r.exemplars["variant"], r.exemplars["row"]) if int(var) == v]
        flipped = r.flipped[:, v]
        return [int(i) for i in np.concatenate([np.flatnonzero(flipped), np.flatnonzero(~flipped)])]

    def _caption(self, v: int, row: int) -> str:
        r = self.results
        before, after = r.class_names[r.predicted_before[row]], r.class_names[r.predicted_after[row, v]]
        mark = "flipped" if before != after else "kept"
        return f"clip {int(r.clips[row])} ({r.class_names[r.labels[row]]}): {before} → {after}, {mark}"

    def _sync_clips(self) -> None:
        v = self.variant_menu.value
        rows = self._rows(v)
        self._quiet = True  # the new options reset the clip: shown once, below
        try:
            self.clip_menu.options = [(self._caption(v, row), row) for row in rows]
            self.clip_menu.value = rows[0]
        finally:
            self._quiet = False
        self._show()

    def _clips(self, v: int, row: int) -> tuple[list, list[str], list[str]]:
        """(clips, captions, row headers) of variant v on result row ``row``: original | edited, RGB then flow."""
        r = self.results
        if self.inputs is None:
            j = [k for k, (var, rw) in enumerate(zip(r.exemplars["variant"], r.exemplars["row"]))
                 if int(var) == v and int(rw) == row][0]
            rgb = r.exemplars["rgb"][j]
            flow = r.exemplars["flow"][j].astype(np.float32) if "flow" in r.exemplars else None
        else:
            got = self.interventions.edited(r.settings.get("target"), self.inputs, int(r.clips[row]),
                                            region=self.regions[int(r.variant_region[v])], edit=r.edit(v),
                                            donors=self.donors, flow=r.settings.get("flow", "auto")
                                            if r.settings.get("flow") in ("exact", "estimate") else "auto")
            rgb, flow = got["rgb"][0], None if got["flow"] is None else got["flow"][0]
        clips = [rgb[0], rgb[1]] + ([flow[0], flow[1]] if flow is not None else [])
        heads = ["RGB"] + (["flow"] if flow is not None else [])
        edited = r.variant_labels[v]
        return clips, ["original", edited] * len(heads), heads

    def _show(self) -> None:
        v, row = self.variant_menu.value, self.clip_menu.value
        if row is None or self._quiet:
            return
        clips, captions, heads = self._clips(v, row)
        self.player.set_clips(clips, captions=captions, rows=len(heads), cols=2, row_headers=heads)
