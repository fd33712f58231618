"""The shortcut scan: interventions over a grid of regions, ranked as hypotheses.

    scan = shortcut_scan(model, SyntheticActions("test"), pair=("class a", "class b"))
    scan.ranked()     # every (region, edit) hypothesis, most flips first
    scan.top(3)       # the first three, each with .region, .edit, .flip_rate, .flips, .clips, .shift
    scan.open(0)      # ShortcutScanView: the hypotheses, the edited clips, the pair's contrast view

For a class pair (a, b), or for every class, the scan edits each region of ``regions`` with each edit in ONE batched
:class:`~.call.Interventions` call, then ranks the (region, edit) hypotheses by their flip rate, ties by the mean
shift of the pair's logit difference towards the other class. With a pair, a flip is a clip the edit moves to the
pair's other class (an a clip predicted b after the edit, not before): the mark of a cue that tells the two apart,
where an edit that only wrecks the clip (freezing the whole action) moves it anywhere. Without a pair, a flip is
any change of the predicted class.

``regions="auto"``: the 4 × 4 grid cells (:func:`~..core.regions.grid_cells`), the moving parts found in the clips'
flow (:func:`~..core.regions.moving_parts`, its speed threshold set per class, so a class that moves little still has
its parts), and the whole clip, frozen in time. The clips' flow is the dataset's where it has one, else estimated
(:func:`~vidvis_widgets.data.video_folder.estimate_flow`).

Which clips a hypothesis is measured on: with a pair, the pair's clips; a paste from class c only the clips of the
other class (pasting a class into its own clips tests nothing). Without a pair, each hypothesis is one class's: its
clips, one (region, edit, class) row per class; ``"paste"`` needs a pair to know its donor class and is left out
(name ``paste("class")`` edits to paste from one class into every other). The whole clip is only frozen: pasting or
occluding all of it replaces the clip, which tests no region.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ...table import Table
from ..core.collection import Results
from ..core.regions import Region, grid_cells, moving_parts, whole_clip
from .call import Interventions
from .edits import Edit, Freeze, Paste, as_edits, paste
from .results import InterventionResults
from .source import Source

__all__ = ["shortcut_scan", "ScanResults", "Hypothesis", "HypothesisTable", "auto_regions", "register_view"]

WHOLE = whole_clip().name


@dataclass(frozen=True)
class Hypothesis:
    """One ranked (region, edit) hypothesis: ``flips`` of ``clips`` flipped (``flip_rate``; with a pair, to the
    pair's other class, see :meth:`ScanResults.flipped`), and ``shift``, the mean move of each clip's logit margin towards the other class (pair: logit(a) − logit(b)
    for b's clips, its negative for a's; per class: the drop of logit(c) − the largest other logit). ``cls``: the
    class whose clips it was measured on (per-class scans), else None. ``variant``: the intervention's variant."""

    rank: int
    region: Region
    edit: Edit
    flip_rate: float
    flips: int
    clips: int
    shift: float
    cls: str | None
    variant: int
    per_class: dict = field(default_factory=dict, compare=False)

    @property
    def label(self) -> str:
        return f"{self.region.name} · {self.edit.label()}" + (f" · {self.cls}" if self.cls else "")


class HypothesisTable(Table):
    """One row per hypothesis, best first."""

    COLUMNS = ("rank", "region", "edit", "class", "clips", "flips", "flip_rate", "shift", "per_class")
    KEY = "rank"
    HEAD = ("#", "region", "edit", "class", "clips", "flips", "flip rate (%)", "shift", "per class (%)")

    @staticmethod
    def cells(r: dict) -> list[str]:
        per = ", ".join(f"{k} {100 * v:.0f}" for k, v in r["per_class"].items())
        return [str(r["rank"]), r["region"], r["edit"], r["class"] or "pair", str(r["clips"]), str(r["flips"]),
                f"{100 * r['flip_rate']:.1f}", f"{r['shift']:.2f}", per]


def auto_regions(flow: np.ndarray, labels: np.ndarray, k: int = 4) -> list[Region]:
    """The scan's regions: 4 × 4 grid cells, ``k`` moving parts (per clip, the i-th largest; the speed threshold
    set within each class) and the whole clip. ``flow`` N×T×2×H×W, ``labels`` (N,)."""
    n, t, _, h, w = flow.shape
    parts: list[np.ndarray] = []
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        for i, r in enumerate(moving_parts(flow[rows], k=k)):
            while len(parts) <= i:
                parts.append(np.zeros((n, t, h, w), bool))
            parts[i][rows] = r.masks(len(rows), t, h, w)
    moving = [Region(f"moving part {i + 1}", mask=m) for i, m in enumerate(parts)]
    return [*grid_cells(4, 4), *moving, whole_clip()]


def shortcut_scan(model, inputs, *, pair=None, regions="auto", edits=("freeze", "occlude", "paste"), top: int = 5,
                  batch_size: int = 32, stop: threading.Event | None = None, callback: Callable | None = None,
                  every: int = 1, progress: bool | None = None, store=None, device=None, bf16: bool = False,
                  flow: str = "auto") -> "ScanResults":
    """Runs the interventions of every (region, edit) on the clips of ``inputs`` and ranks them (module doc).

    ``inputs``: a dataset (SyntheticActions, VideoFolder, any map-style dataset of dicts with 'rgb' and 'label') or
    a dict of arrays ('rgb', 'label', and 'flow' where there is one). ``pair``: two classes (a, b), or None (every
    class). ``regions``: "auto" or a list of Regions. ``edits``: edit values or "freeze", "blur", "occlude",
    "paste" (with a pair: paste from b into a's clips and from a into b's). ``top``: the hypotheses ``.top()`` gives by
    default. ``batch_size``: edited clips per forward pass; ``stop``, ``callback``, ``every``, ``progress``: the
    intervention call's (progress counts clip batches; a Stop keeps the batches done, ranked). ``store``: a result
    store; the same scan again runs no forward pass. Returns :class:`ScanResults`."""
    top = _positive(top, "top")
    source = Source(inputs, "inputs")
    inter = Interventions(model, device=device, bf16=bf16, store=store, batch_size=batch_size)
    names = tuple(inter.adapter.class_names) or tuple(str(i) for i in range(inter.adapter.num_classes))
    if source.classes is not None and names and tuple(source.classes) != names:
        raise ValueError(f"inputs' classes {list(source.classes)[:4]}… do not match the model's {list(names)[:4]}…; "
                         "expected the class list the model was trained on, in its order")
    ks = None
    if pair is not None:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"pair must be two classes (a, b) or None (every class), got {pair!r}")
        ks = tuple(_class(inter.adapter, c) for c in pair)
        if ks[0] == ks[1]:
            raise ValueError(f"pair must be two different classes, got {pair!r}")
    edit_list, left_out = _edits(edits, ks, tuple(inter.adapter.class_names))
    rows = np.flatnonzero(np.isin(source.labels, ks)) if ks is not None else np.arange(source.n)
    if not len(rows):
        raise ValueError(f"pair={pair!r}: inputs hold no clip of either class")
    if isinstance(regions, str):
        if regions != "auto":
            raise ValueError(f"regions must be 'auto' or a list of Regions, got {regions!r}")
        rgb, clip_flow = source.clips(rows)
        if clip_flow is None:
            clip_flow = _estimated(rgb, "dis")
        data = {"rgb": rgb, "label": source.labels[rows], "flow": clip_flow}
        region_list = auto_regions(np.asarray(clip_flow, np.float32), data["label"])
        if not source.has_flow:
            data.pop("flow")
        target_inputs, target = data, None  # the pair's clips only, as arrays: region masks are per clip
        positions = rows
        if flow == "auto" and source.estimated:  # edited clips' flow estimated, as the dataset's was
            flow = "estimate"
    else:
        region_list = list(regions) if not isinstance(regions, Region) else [regions]
        target_inputs, target = inputs, (tuple(pair) if pair is not None else None)
        positions = np.arange(source.n)
    res = inter(target, target_inputs, regions=region_list, edits=edit_list, stop=stop, callback=callback,
                every=every, progress=progress, flow=flow)
    settings = {"pair": [names[k] for k in ks] if ks is not None else None, "top": top,
                "regions": "auto" if isinstance(regions, str) else "given", "left_out": left_out,
                "interventions": res.settings}
    out = ScanResults(res, region_list, settings, positions[res.clips])
    out.model, out.inputs = model, target_inputs
    return out


class ScanResults(Results):
    """A shortcut scan's outcome: the interventions (:attr:`interventions`, an
    :class:`~.results.InterventionResults`), its regions, :attr:`clips` (each scanned clip's position in the inputs)
    and the ranking. ``status``: the interventions' ("stopped"
    when a Stop ended the scan early; the clips done are ranked)."""

    method_name = "shortcut_scan"
    item_type = Hypothesis

    def __init__(self, interventions: InterventionResults, regions: list[Region], settings: dict,
                 clips: np.ndarray | None = None):
        self.interventions, self.regions, self.settings = interventions, list(regions), dict(settings)
        #: each scanned clip's position in the scan's ``inputs`` (the interventions' ``clips`` count the clips the
        #: scan handed them: with regions="auto", the pair's clips only)
        self.clips = np.asarray(clips if clips is not None else interventions.clips, np.int64)
        self.model = self.inputs = None  # kept in memory by the call, for open(); a loaded scan is given them
        self._ranking = _rank(self)

    @property
    def status(self) -> str:
        return self.interventions.status

    @property
    def pair(self) -> tuple[str, str] | None:
        p = self.settings.get("pair")
        return tuple(p) if p else None

    def __len__(self) -> int:
        return len(self._ranking)

    def __getitem__(self, i: int) -> Hypothesis:
        return self._ranking[i]

    def __iter__(self):
        return iter(self._ranking)

    def flipped(self) -> np.ndarray:
        """N×V bool, the flips the ranking counts: with a pair, a clip the variant moved to the pair's other class
        (predicted that class after the edit, not before); without one, any change of the predicted class."""
        ir = self.interventions
        if self.pair is None:
            return ir.flipped
        names = _names(ir)
        ia, ib = (names.index(c) for c in self.pair)
        other = np.where(ir.labels == ia, ib, ia)
        return (ir.predicted_after == other[:, None]) & (ir.predicted_before != other)[:, None]

    def top(self, k: int | None = None) -> list[Hypothesis]:
        """The ``k`` best hypotheses (default: the call's ``top``)."""
        return self._ranking[: self.settings["top"] if k is None else _positive(k, "k")]

    def ranked(self) -> HypothesisTable:
        """Every hypothesis as a table, best first."""
        return HypothesisTable([{"rank": h.rank, "region": h.region.name, "edit": h.edit.label(), "class": h.cls,
                                 "clips": h.clips, "flips": h.flips, "flip_rate": h.flip_rate, "shift": h.shift,
                                 "per_class": h.per_class} for h in self._ranking])

    def clip_grid(self, k: int = 4):
        return self.interventions.clip_grid(k)

    def open(self, k: int = 0, *, model=None, inputs=None, **kw):
        """A :class:`~vidvis_widgets.widgets.shortcut_scan_view.ShortcutScanView` on hypothesis ``k`` (its list,
        originals beside the edited clips, the pair's contrast view). ``model``, ``inputs``: the scan's own (a
        loaded scan needs them given); ``kw`` go to the view."""
        if not _VIEW:
            raise RuntimeError("no view to open a scan with: import vidvis_widgets (its display registers one)")
        return _VIEW[0](self, model=model if model is not None else self.model,
                    inputs=inputs if inputs is not None else self.inputs, pick=k, **kw)

    # -- saving --------------------------------------------------------------------------------------------
    def entries(self) -> list[tuple[dict, dict]]:
        (arrays, meta), = self.interventions.entries()
        arrays["scan_clips"] = self.clips
        for i, r in enumerate(self.regions):
            if r.mask is not None:
                arrays[f"region_mask_{i}"] = np.packbits(r.mask)
        meta = {**meta, "scan_regions": [r.to_json() for r in self.regions],
                "interventions_settings": self.interventions.settings}
        return [(arrays, meta)]

    @classmethod
    def from_entries(cls, entries, settings: dict, **kw) -> "ScanResults":
        (arrays, meta), = entries
        arrays, meta = dict(arrays), dict(meta)
        regions = []
        for i, d in enumerate(meta.pop("scan_regions")):
            bits = arrays.pop(f"region_mask_{i}", None)
            m = None if bits is None else np.unpackbits(np.asarray(bits), count=int(np.prod(d["shape"]))).astype(
                bool).reshape(d["shape"])
            regions.append(Region.from_json(d, mask=m))
        clips = arrays.pop("scan_clips")
        inter = InterventionResults.from_entries([(arrays, meta)], meta.pop("interventions_settings"))
        return cls(inter, regions, settings, clips)

    def __repr__(self) -> str:
        best = "; ".join(f"{h.label} {100 * h.flip_rate:.0f}%" for h in self.top(3))
        stopped = "" if self.status == "completed" else f", {self.status} after {len(self.interventions)} clips"
        return f"ScanResults({len(self)} hypotheses{stopped}; best: {best or 'none'})"


#: the view :meth:`ScanResults.open` builds, registered by the display (methods import no widget)
_VIEW: list = []


def register_view(view) -> None:
    """Registers the view class ``ScanResults.open`` builds (the display's ShortcutScanView registers itself)."""
    _VIEW[:] = [view]


# -- ranking -------------------------------------------------------------------------------------------------
def _rank(scan: ScanResults) -> list[Hypothesis]:
    ir = scan.interventions
    names = _names(ir)
    before, after, labels = ir.before, ir.after, ir.labels
    flipped = scan.flipped()
    pair = scan.pair
    rows = []
    for v in range(ir.num_variants):
        region, edit = scan.regions[int(ir.variant_region[v])], ir.edit(v)
        if region.name == WHOLE and not isinstance(edit, Freeze):
            continue  # the whole clip is only frozen (module doc)
        applies = _applies(ir, edit, names)
        if pair is not None:
            ia, ib = (names.index(c) for c in pair)
            sel = applies & np.isin(labels, (ia, ib))
            sign = np.where(labels == ia, 1.0, -1.0)
            margin_b, margin_a = before[:, ia] - before[:, ib], after[:, v, ia] - after[:, v, ib]
            shift = sign * (margin_b - margin_a)
            per = {names[k]: float(flipped[sel & (labels == k), v].mean()) for k in (ia, ib)
                   if (sel & (labels == k)).any()}
            rows.append((region, edit, None, v, sel, shift, per))
        else:
            for k in np.unique(labels):
                sel = applies & (labels == k)
                if not sel.any():
                    continue
                rows.append((region, edit, names[k], v, sel, _own_margin(before, k) - _own_margin(after[:, v], k), {}))
    scored = []
    for region, edit, cls, v, sel, shift, per in rows:
        n = int(sel.sum())
        flips = int(flipped[sel, v].sum())
        scored.append((flips / n if n else 0.0, float(shift[sel].mean()) if n else 0.0, n, flips, region, edit, cls,
                       v, per))
    scored.sort(key=lambda s: (-s[0], -s[1]))
    return [Hypothesis(i, region, edit, rate, flips, n, shift, cls, v, per)
            for i, (rate, shift, n, flips, region, edit, cls, v, per) in enumerate(scored)]


def _names(ir: InterventionResults) -> tuple[str, ...]:
    return tuple(ir.class_names) or tuple(str(i) for i in range(ir.before.shape[-1]))  # a model without names


def _applies(ir: InterventionResults, edit: Edit, names) -> np.ndarray:
    """The clips an edit is measured on: all, but a paste from class c only the other classes' clips."""
    if not isinstance(edit, Paste):
        return np.ones(len(ir), bool)
    donor = names.index(edit.from_class) if isinstance(edit.from_class, str) else int(edit.from_class)
    return ir.labels != donor


def _own_margin(logits: np.ndarray, k: int) -> np.ndarray:
    """logit(k) minus the largest other logit, per clip."""
    others = np.delete(logits, k, axis=-1)
    return logits[..., k] - others.max(-1)


# -- arguments -----------------------------------------------------------------------------------------------
def _edits(edits, ks, names) -> tuple[list[Edit], list[str]]:
    items = [edits] if isinstance(edits, (str, Edit)) else list(edits) if isinstance(edits, (list, tuple)) else edits
    if not isinstance(items, list) or not items:
        raise ValueError(f"edits must be a non-empty list of edits or names ('freeze', 'blur', 'occlude', 'paste'), "
                         f"got {edits!r}")
    out, left_out = [], []
    for e in items:
        if isinstance(e, str) and e == "paste":
            if ks is None:
                left_out.append("paste (a scan of every class names no donor class: give pair=, or paste('class'))")
                warnings.warn("shortcut_scan leaves 'paste' out: without pair= it has no donor class; give pair=(a, b), "
                              "or edits=[..., paste('class')]", stacklevel=3)
                continue
            out += [paste(names[ks[1]] if names else ks[1]), paste(names[ks[0]] if names else ks[0])]
        else:
            out.append(e)
    if not out:
        raise ValueError("edits leaves nothing to run: 'paste' needs pair=; add 'freeze' or 'occlude'")
    return as_edits(out), left_out


def _class(adapter, c) -> int:
    try:
        return adapter.class_index(c)
    except (ValueError, IndexError, TypeError) as e:
        raise ValueError(f"pair: {e}") from None


def _positive(v, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be an int ≥ 1, got {v!r}")
    return int(v)


def _estimated(rgb: np.ndarray, method: str) -> np.ndarray:
    """Flow N×T×2×H×W estimated from frames N×T×H×W×3: T−1 fields, the last repeated."""
    from ...data.video_folder import estimate_flow

    frames = np.asarray(rgb)
    if frames.dtype != np.uint8:
        frames = (np.clip(frames, 0, 1) * 255).round().astype(np.uint8)
    fields = np.stack([estimate_flow(c, method) for c in frames])
    return np.concatenate([fields, fields[:, -1:]], 1)

