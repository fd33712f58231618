"""What an intervention call gives (:class:`InterventionResults`): every clip's logits before and after each
(region, edit) variant, the flips they make per class and as a confusion delta, and a few edited clips beside their
originals."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...media.grid import ClipGrid
from ...table import Table
from ..core.collection import Results
from .edits import Edit, from_json


class FlipTable(Table):
    """One row per (class, region, edit): the clips of the class, how many the edit flipped (the predicted class
    changed), their rate, and the class most of the flipped clips went to. ``per="variant"`` rows have class
    ``"all"``."""

    COLUMNS = ("row", "class", "region", "edit", "clips", "flips", "rate", "to")
    KEY = "row"
    HEAD = ("class", "region", "edit", "clips", "flips", "rate (%)", "mostly to")

    @staticmethod
    def cells(r: dict) -> list[str]:
        return [r["class"], r["region"], r["edit"], str(r["clips"]), str(r["flips"]), f"{100 * r['rate']:.1f}",
                r["to"] or "–"]


@dataclass
class InterventionResults(Results):
    """The clips ``clips`` (positions in the call's inputs, N) with their ``labels``, their logits ``before`` (N×K)
    and ``after`` each variant (N×V×K). Variant v edits region ``regions[variant_region[v]]`` with
    ``edits[variant_edit[v]]`` (regions as :meth:`Region.to_json` dicts, edits as :meth:`Edit.to_json` dicts).
    ``status``: "completed", or "stopped" / "interrupted" (a Stop or Ctrl-C ended the call after a clip batch; the
    clips done are kept). ``exemplars``: a few edited clips beside their originals for :meth:`show`: ``variant`` (E,),
    ``row`` (E,), ``rgb`` E×2×T×H×W×3 uint8 (original, edited) and, where the clips have flow, ``flow``
    E×2×T×2×H×W."""

    clips: np.ndarray
    labels: np.ndarray
    before: np.ndarray
    after: np.ndarray
    regions: list[dict]
    edits: list[dict]
    variant_region: np.ndarray
    variant_edit: np.ndarray
    class_names: tuple[str, ...]
    model_name: str = ""
    status: str = "completed"
    settings: dict = field(default_factory=dict)
    exemplars: dict = field(default_factory=dict, repr=False)

    method_name = "interventions"

    # -- what the numbers say ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.clips)

    @property
    def num_variants(self) -> int:
        return len(self.variant_region)

    @property
    def predicted_before(self) -> np.ndarray:
        """Each clip's predicted class before any edit, (N,)."""
        return self.before.argmax(-1)

    @property
    def predicted_after(self) -> np.ndarray:
        """Each clip's predicted class after each variant, N×V."""
        return self.after.argmax(-1)

    @property
    def flipped(self) -> np.ndarray:
        """N×V bool: the variant changed the clip's predicted class."""
        return self.predicted_after != self.predicted_before[:, None]

    def region_name(self, v: int) -> str:
        return self.regions[int(self.variant_region[v])]["name"]

    def edit(self, v: int) -> Edit:
        return from_json(self.edits[int(self.variant_edit[v])])

    @property
    def variant_labels(self) -> list[str]:
        """"<region> · <edit>" per variant."""
        return [f"{self.region_name(v)} · {self.edit(v).label()}" for v in range(self.num_variants)]

    def variant(self, region=None, edit=None) -> int:
        """The index of the variant of ``region`` (a name, a Region, or None where the call had one region) and
        ``edit`` (an edit value, its name such as "freeze", or None where the call had one edit)."""
        names = [r["name"] for r in self.regions]
        if region is None:
            if len(names) != 1:
                raise ValueError(f"region must name one of the call's regions: {names}")
            ri = 0
        else:
            name = getattr(region, "name", region)
            if name not in names:
                raise ValueError(f"region {name!r} is not one of the call's regions: {names}")
            ri = names.index(name)
        edits = [from_json(e) for e in self.edits]
        if edit is None:
            if len(edits) != 1:
                raise ValueError(f"edit must name one of the call's edits: {[e.label() for e in edits]}")
            ei = 0
        else:
            hits = [i for i, e in enumerate(edits) if e == edit or e.verb == edit or e.label() == edit]
            if len(hits) != 1:
                raise ValueError(f"edit {edit!r} names {'none' if not hits else 'several'} of the call's edits: "
                                 f"{[e.label() for e in edits]}; pass the edit value or its label")
            ei = hits[0]
        return int(np.flatnonzero((self.variant_region == ri) & (self.variant_edit == ei))[0])

    def flip_rate(self, region=None, edit=None) -> float:
        """The fraction of the clips whose predicted class the variant (``region``, ``edit``) changed."""
        if not len(self):
            return float("nan")
        return float(self.flipped[:, self.variant(region, edit)].mean())

    def flips(self, per: str = "class") -> FlipTable:
        """The flips as a table: per ``"class"`` (one row per class of the clips and variant) or per
        ``"variant"`` (one row per variant, all clips)."""
        if per not in ("class", "variant"):
            raise ValueError(f"per must be 'class' or 'variant', got {per!r}")
        flipped, after = self.flipped, self.predicted_after
        groups = [("all", np.ones(len(self), bool))] if per == "variant" else \
            [(self.class_names[k], self.labels == k) for k in np.unique(self.labels)]
        rows = []
        for v in range(self.num_variants):
            region, edit = self.region_name(v), self.edit(v).label()
            for name, sel in groups:
                f = flipped[sel, v]
                went = after[sel, v][f]
                to = self.class_names[int(np.bincount(went).argmax())] if len(went) else ""
                rows.append({"row": f"{name} · {region} · {edit}", "class": name, "region": region, "edit": edit,
                             "clips": int(sel.sum()), "flips": int(f.sum()), "rate": float(f.mean()) if len(f) else 0.0,
                             "to": to})
        return FlipTable(rows)

    def confusion(self, v: int | None = None) -> np.ndarray:
        """The confusion matrix K×K (rows true, columns predicted) before any edit (``v`` None) or after variant
        ``v``."""
        k = len(self.class_names)
        pred = self.predicted_before if v is None else self.predicted_after[:, v]
        m = np.zeros((k, k), np.int64)
        np.add.at(m, (self.labels, pred), 1)
        return m

    def confusion_delta(self, region=None, edit=None) -> np.ndarray:
        """The confusion matrix after the variant (``region``, ``edit``) minus the one before, K×K (rows true,
        columns predicted: a clip that flipped from a to b counts −1 at (true, a) and +1 at (true, b)); with neither
        given and more than one variant, every variant's, V×K×K."""
        if region is None and edit is None and self.num_variants > 1:
            return np.stack([self.confusion(v) - self.confusion() for v in range(self.num_variants)])
        return self.confusion(self.variant(region, edit)) - self.confusion()

    def ranked(self) -> list[tuple[str, str, float]]:
        """(region, edit, flip rate) of every variant, most flips first."""
        rates = self.flipped.mean(0) if len(self) else np.zeros(self.num_variants)
        order = np.argsort(-rates, kind="stable")
        return [(self.region_name(v), self.edit(v).label(), float(rates[v])) for v in order]

    # -- showing ---------------------------------------------------------------------------------------------
    def clip_grid(self, k: int = 4) -> ClipGrid:
        """Up to ``k`` edited clips beside their originals (the variants with the most flips, each on a clip it
        flipped where it flipped any): one column per clip, rows original RGB, edited RGB and, where the clips
        have flow, original and edited flow."""
        ex = self.exemplars
        if not ex or not len(ex.get("variant", ())):
            raise ValueError("these results keep no edited clips to show (the call ran with exemplars=0 or did no clip)")
        e = min(int(k), len(ex["variant"]))
        rgb, flow = ex["rgb"][:e], ex.get("flow")
        cols = []
        for j in range(e):
            v, row = int(ex["variant"][j]), int(ex["row"][j])
            b, a = self.predicted_before[row], self.predicted_after[row, v]
            cols.append(f"{self.variant_labels[v]}: clip {int(self.clips[row])} "
                        f"{self.class_names[b]} → {self.class_names[a]}")
        rows = [list(rgb[:, 0]), list(rgb[:, 1])]
        headers = ["original", "edited"]
        if flow is not None:
            rows += [list(flow[:e, 0].astype(np.float32)), list(flow[:e, 1].astype(np.float32))]
            headers += ["original flow", "edited flow"]
        clips = [c for r in rows for c in r]
        return ClipGrid(clips, captions=[cols[j] for _ in rows for j in range(e)], rows=len(rows), cols=e,
                        row_headers=headers)

    # -- saving ----------------------------------------------------------------------------------------------
    def entries(self) -> list[tuple[dict, dict]]:
        arrays = {"clips": self.clips, "labels": self.labels, "before": self.before, "after": self.after,
                  "variant_region": self.variant_region, "variant_edit": self.variant_edit,
                  **{f"exemplar_{k}": v for k, v in self.exemplars.items()}}
        meta = {"regions": self.regions, "edits": self.edits, "class_names": list(self.class_names),
                "model_name": self.model_name, "status": self.status}
        return [(arrays, meta)]

    @classmethod
    def from_entries(cls, entries, settings: dict, **kw) -> "InterventionResults":
        (arrays, meta), = entries
        arrays = dict(arrays)
        ex = {k[len("exemplar_"):]: arrays.pop(k) for k in list(arrays) if k.startswith("exemplar_")}
        return cls(**{k: np.asarray(v) for k, v in arrays.items()}, regions=list(meta["regions"]),
                   edits=list(meta["edits"]), class_names=tuple(meta["class_names"]), model_name=meta["model_name"],
                   status=meta["status"], settings=dict(settings), exemplars=ex)

    def __repr__(self) -> str:
        top = ", ".join(f"{r} · {e} {100 * p:.0f}%" for r, e, p in self.ranked()[:3])
        stopped = "" if self.status == "completed" else f", {self.status}"
        return (f"InterventionResults({len(self)} clips × {self.num_variants} variants{stopped}; most flips: "
                f"{top or 'none'})")
