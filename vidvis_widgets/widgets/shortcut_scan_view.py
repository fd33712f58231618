"""ShortcutScanView: a shortcut scan's hypotheses, best first; picking one shows the clips it was measured on beside
their edited copies (with the predictions before and after, read from the scan: no pass of the model), and the
pair's contrast view (:class:`~.contrast_view.ContrastView`, run in the background) with the energy its AM inputs and
tubes put inside the picked region (:func:`~vidvis_widgets.methods.core.region_energy.region_energy`)."""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
import torch

from ..methods.interventions.edits import Paste
from ..methods.interventions.scan import Hypothesis, ScanResults, register_view
from ..methods.interventions.source import Source
from .clip_player import ClipPlayer
from .contrast_view import ContrastView
from .display import SavedView


class ShortcutScanView(SavedView, W.VBox):
    """``scan.open(k)``, or ``ShortcutScanView(scan, model=, inputs=, pick=k)``.

    ``samples``: the clips shown per hypothesis (those it flipped first); ``contrast``: show the pair's contrast
    view (AM and tubes of logit(a), logit(b) and their difference), started in the background when a hypothesis
    first names the pair (``contrast_kw`` go to :class:`ContrastView`, e.g. ``steps=``, ``store=``). ``hypotheses``:
    how many ranked hypotheses the list holds."""

    def __init__(self, scan: ScanResults, *, model=None, inputs=None, pick: int = 0, samples: int = 3,
                 contrast: bool = True, hypotheses: int = 20, contrast_kw: dict | None = None):
        if not isinstance(scan, ScanResults):
            raise TypeError(f"scan must be a shortcut_scan's ScanResults, got {type(scan).__name__}")
        if not len(scan):
            raise ValueError("the scan ranked no hypothesis (a Stop before its first batch); run it again")
        if inputs is None:
            raise ValueError("the view shows the scan's clips: pass inputs= (the inputs the scan ran on; a scan from "
                             "shortcut_scan keeps them, a loaded one needs them given)")
        if contrast and model is None:
            raise ValueError("the contrast view runs the model: pass model=, or contrast=False")
        self.scan, self.model, self.samples, self.hypotheses = scan, model, int(samples), scan.top(min(hypotheses, len(scan)))
        self.source = Source(inputs, "inputs")
        self._contrast_kw, self.contrast, self.hypothesis = dict(contrast_kw or {}), None, None
        self._want_contrast = bool(contrast)
        self.menu = W.Select(options=[(f"{h.rank + 1}. {h.label}: {100 * h.flip_rate:.0f}% flips "
                                       f"({h.flips}/{h.clips})", h.rank) for h in self.hypotheses],
                             rows=min(10, len(self.hypotheses)), layout=W.Layout(width="520px"), description="hypotheses")
        self.status = W.HTML(html.escape(repr(scan)))
        blank = np.zeros((8, 8, 3), np.uint8)
        self.clips = ClipPlayer(blank, captions=["pick a hypothesis"], fps=8.0)
        self.energy = W.HTML("")
        self.contrast_box = W.VBox([])
        super().__init__([W.HBox([self.menu, self.status]), self.clips, self.energy, self.contrast_box])
        self.menu.observe(lambda ch: self.show(ch["new"]), names="value")
        self.menu.value = min(max(int(pick), 0), len(self.hypotheses) - 1)
        if self.hypothesis is None:  # the menu already stood on it
            self.show(self.menu.value)

    def show(self, k: int) -> None:
        """Shows hypothesis ``k`` (its rank): clips, edited clips, and the pair's contrast."""
        h = self.hypotheses[int(k)]
        self.hypothesis = h
        ir = self.scan.interventions
        rows = self._rows(h)
        before, after = ir.predicted_before[rows], ir.predicted_after[rows, h.variant]
        rgb, _ = self.source.clips(ir.clips[rows])
        edited = self.edited(h, rows, rgb)
        names = ir.class_names
        caps = [f"clip {int(ir.clips[r])}: {names[b]}" for r, b in zip(rows, before)] + \
               [f"{h.edit.label()}: {names[a]}" + (" (flipped)" if a != b else "") for a, b in zip(after, before)]
        self.clips.set_clips(list(rgb) + list(edited), captions=caps, rows=2, cols=len(rows),
                             row_headers=["original", f"{h.region.name} · {h.edit.label()}"])
        self.status.value = html.escape(f"{h.label}: {h.flips} of {h.clips} clips flipped, mean shift {h.shift:.2f}")
        self._show_contrast(h)

    def edited(self, h: Hypothesis, rows: np.ndarray, rgb: np.ndarray) -> np.ndarray:
        """The clips at scan rows ``rows`` with hypothesis ``h``'s edit (frames ``rgb``), as uint8: the edit's own
        frames rule; a paste takes its donor from the first clip of its class, with that clip's region."""
        ir = self.scan.interventions
        t, hh, ww = rgb.shape[1:4]
        n = self.source.n
        masks = h.region.masks(n if h.region.clips else 1, t, hh, ww)
        m = torch.as_tensor(masks[ir.clips[rows]] if h.region.clips else np.repeat(masks, len(rows), 0))
        x = torch.as_tensor(rgb).float() / 255
        donor = donor_m = None
        if isinstance(h.edit, Paste):
            k = ir.class_names.index(h.edit.from_class) if isinstance(h.edit.from_class, str) else h.edit.from_class
            pos = int(np.flatnonzero(self.source.labels == k)[0])
            d_rgb, _ = self.source.clips([pos])
            donor = (torch.as_tensor(d_rgb[:, :t]).float() / 255).expand(len(rows), -1, -1, -1, -1)
            donor_m = torch.as_tensor(masks[[pos]] if h.region.clips else masks).expand(len(rows), -1, -1, -1)
        out = h.edit.frames(x, h.edit.area(m, donor_m), donor)
        return (out * 255).round().clamp(0, 255).to(torch.uint8).numpy()

    def _rows(self, h: Hypothesis) -> np.ndarray:
        """The scan rows the hypothesis was measured on, those it flipped first, at most ``samples``."""
        ir = self.scan.interventions
        names = ir.class_names
        sel = np.ones(len(ir), bool)
        if h.cls is not None:
            sel &= ir.labels == names.index(h.cls)
        elif self.scan.pair is not None:
            sel &= np.isin(ir.labels, [names.index(c) for c in self.scan.pair])
        if isinstance(h.edit, Paste):
            k = names.index(h.edit.from_class) if isinstance(h.edit.from_class, str) else h.edit.from_class
            sel &= ir.labels != k
        rows = np.flatnonzero(sel)
        flipped = self.scan.flipped()[rows, h.variant]
        return np.concatenate([rows[flipped], rows[~flipped]])[: self.samples]

    def _pair(self, h: Hypothesis) -> tuple[str, str] | None:
        if self.scan.pair is not None:
            return self.scan.pair
        ir = self.scan.interventions
        k = ir.class_names.index(h.cls)
        went = ir.predicted_after[(ir.labels == k) & ir.flipped[:, h.variant], h.variant]
        return (h.cls, ir.class_names[int(np.bincount(went).argmax())]) if len(went) else None

    def _show_contrast(self, h: Hypothesis) -> None:
        if not self._want_contrast:
            return
        pair = self._pair(h)
        if pair is None:
            self.energy.value = "no clip flipped: no pair to contrast"
            return
        if self.contrast is None or (self.contrast.a, self.contrast.b) != pair:
            ir = self.scan.interventions
            rows = np.flatnonzero(np.isin(ir.labels, [ir.class_names.index(c) for c in pair]))
            rgb, flow = self.source.clips(ir.clips[rows])
            self._contrast_clips = ir.clips[rows]
            inputs = {"rgb": rgb, **({"flow": flow} if flow is not None else {})}
            self.contrast = ContrastView(self.model, *pair, inputs=inputs, on_done=lambda _v: self.show_energy(),
                                         **{"methods": ("am", "tubes"), **self._contrast_kw})
            self.contrast_box.children = [self.contrast]
            self.contrast.start()
        elif not self.contrast.running:
            self.show_energy()

    def show_energy(self) -> None:
        """The picked region's share and density of the contrast's AM and tube energy (once the contrast has run)."""
        h, view = self.hypothesis, self.contrast
        if view is None or view.result is None or h is None:
            return
        region = h.region
        if region.clips:  # a per-clip mask: the contrast's clips' own
            from ..methods.core.regions import Region

            region = Region(region.name, mask=region.mask[self._contrast_clips])
        parts = []
        for method in ("am", "tubes"):
            if method in view.result:
                parts.append(f"<b>{method}</b>" + view.region_energy([region], method).table()._repr_html_())
        self.energy.value = f"energy inside <b>{html.escape(region.name)}</b>:" + "".join(parts)


register_view(ShortcutScanView)
