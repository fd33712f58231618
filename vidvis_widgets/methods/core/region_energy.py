"""Where a result puts its energy among regions: the share of the energy inside each region, and its density
(the share ÷ the region's share of the area: 1 is what a region gets by its size alone, > 1 more).

Shares alone mislead when regions differ in size: a region five times larger takes five times the energy of a
uniform map. Halves of the frame mislead too when two cues share a half. Regions drawn around the parts
themselves (:mod:`.regions`: masks, boxes, tracks) separate them.

- Activation maximization (:class:`AMResults`, a list of :class:`AMResult`): per job (target, κ, γ, seed) and
  stream, the motion's energy Σ|flow|² per pixel (over both components) and each appearance input's
  Σ_c (x − mean_c)² (mean over its whole input, per channel). An AM input belongs to no clip: a region given
  per clip (an N×T×H×W mask) counts as its average over the clips, each pixel weighted by the fraction of
  clips that hold it; a one-frame input (a two-stream model's appearance) by the region's average over time.
- Saliency Tubes (:class:`SaliencyTubeResults`): per clip, the tube's energy inside the region's mask of that
  clip, as ``localization.energy_in_mask`` counts it (the tube clamped at 0).

Summaries (:meth:`RegionEnergy.table`, :meth:`RegionEnergy.figure`) average the shares and the areas over seeds
or clips, and divide the means (a ratio of means: a region empty in one clip does not blow up the density).
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import torch

from ...table import Table
from .regions import Region

COLUMNS = ("key", "target", "kappa", "gamma", "stream", "region", "n", "share", "area", "density")
MEASURES = ("share", "area", "density")


def _check_regions(regions) -> list[Region]:
    regions = [regions] if isinstance(regions, Region) else list(regions) if not isinstance(regions, (str, dict)) else None
    if not regions or not all(isinstance(r, Region) for r in (regions or ())):
        raise ValueError("regions must be a Region or a non-empty list of them (regions.box(), track(), mask(), "
                         "grid_cells(), moving_parts(), whole_clip())")
    names = [r.name for r in regions]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"regions must have distinct names; {', '.join(map(repr, twice))} appear more than once "
                         "(pass name= to box(), track() or mask())")
    return regions


def _weights(region: Region, t: int, h: int, w: int) -> np.ndarray:
    """T×H×W float weights of a region for an input that belongs to no clip (see the module doc)."""
    n = region.clips or 1
    if t == 1 and region.frames:
        return region.masks(n, region.frames, h, w).mean((0, 1), dtype=np.float64)[None]
    return region.masks(n, t, h, w).mean(0, dtype=np.float64)


def _am_streams(r) -> list[tuple[str, np.ndarray]]:
    """(stream name, T×H×W energy) of one AM result."""
    out = []
    for name in r.stream_names:
        if name == "motion":
            e = (np.asarray(r.motion, np.float64) ** 2).sum(1)
        else:
            x = np.asarray(r.pathways[name] if r.pathways else r.appearance, np.float64)
            x = x[None] if x.ndim == 3 else x
            e = ((x - x.mean((0, 1, 2))) ** 2).sum(-1)
        out.append((name, e))
    return out


def _label(job, class_names) -> str:
    """A job's target as tables show it: a class logit by its class name when ``class_names`` are given."""
    if not class_names:
        return job.unit
    c = job.target.single_class()
    if isinstance(c, str):
        return c
    if isinstance(c, (int, np.integer)) and 0 <= c < len(class_names):
        return str(class_names[c])
    return re.sub(r"logit\((\d+)\)", lambda m: f"logit({class_names[int(m[1])]!r})" if int(m[1]) < len(class_names)
                  else m[0], job.unit)


def _am_rows(results, regions: list[Region], class_names) -> list[dict]:
    by_shape: dict[tuple, list] = defaultdict(list)  # stream shape → (result, stream, energy)
    for r in results:
        for name, e in _am_streams(r):
            by_shape[e.shape].append((r, name, e))
    rows = []
    for shape, items in by_shape.items():
        w = np.stack([_weights(reg, *shape).ravel() for reg in regions])  # R×P
        e = np.stack([it[2].ravel() for it in items])  # J×P
        inside, total, area = e @ w.T, e.sum(1), w.mean(1)
        for j, (r, name, _) in enumerate(items):
            for k, reg in enumerate(regions):
                rows.append({"target": _label(r.job, class_names), "kappa": float(r.job.kappa), "gamma": float(r.job.gamma),
                             "seed": int(r.job.seed), "clip": None, "stream": name, "region": reg.name,
                             "energy": float(inside[j, k]), "total": float(total[j]), "area": float(area[k]),
                             "share": float(inside[j, k] / total[j]) if total[j] > 0 else 0.0})
    return rows


def _tube_labels(results, target) -> list[str]:
    n = results.num_clips
    if target is None and results.target is not None:
        return [repr(results.target)] * n
    if target is None:
        return [results.class_name(int(c)) for c in results.targets.cpu()]
    if isinstance(target, str) and target == "predicted":
        return [results.class_name(int(c)) for c in results.predicted.cpu()]
    if isinstance(target, (int, np.integer, str)):
        return [results.class_name(results.class_index(target))] * n
    if isinstance(target, (list, tuple, np.ndarray, torch.Tensor)):
        return [results.class_name(results.class_index(t if isinstance(t, str) else int(t))) for t in target]
    return [repr(target)] * n


def _tube_rows(results, regions: list[Region], target, threshold) -> list[dict]:
    s = results.tubes(target, threshold).float().clamp_min(0)  # N×T×H×W, the model's device
    n, t, h, w = s.shape
    labels = _tube_labels(results, target)
    flat = s.flatten(1).double()  # sums of 10⁵ terms: float64, so that shares hold to 1e-9
    total = flat.sum(1)
    inside = torch.zeros(n, len(regions), dtype=torch.float64, device=s.device)
    area = torch.zeros_like(inside)
    same = [k for k, reg in enumerate(regions) if reg.clips is None]  # one mask for every clip: one matmul
    if same:
        m = torch.stack([torch.as_tensor(regions[k].masks(1, t, h, w)[0]).flatten() for k in same], 1).to(s.device)
        inside[:, same] = flat @ m.double()
        area[:, same] = m.double().mean(0)
    for k, reg in enumerate(regions):
        if reg.clips is not None:  # a mask per clip
            m = torch.as_tensor(reg.masks(n, t, h, w)).to(s.device).flatten(1)
            inside[:, k] = (flat * m).sum(1)
            area[:, k] = m.double().mean(1)
    share = (inside / total.clamp_min(1e-12)[:, None]).cpu().numpy()
    inside, area, total = inside.cpu().numpy(), area.cpu().numpy(), total.cpu().numpy()
    return [{"target": labels[i], "kappa": None, "gamma": None, "seed": None, "clip": i, "stream": "tube",
             "region": reg.name, "energy": float(inside[i, k]), "total": float(total[i]), "area": float(area[i, k]),
             "share": float(share[i, k])} for k, reg in enumerate(regions) for i in range(n)]


def region_energy(results, regions, *, target=None, threshold=None, class_names=None,
                  density: bool = True) -> "RegionEnergy":
    """The share and density of ``results``' energy inside each of ``regions`` (see the module doc).

    ``results``: an :class:`AMResults` (or AMResult, or a list of them) or a :class:`SaliencyTubeResults`;
    ``regions``: a :class:`~.regions.Region` or a list of them with distinct names. For tubes, ``target`` and
    ``threshold`` choose the tubes as ``results.tubes(target, threshold)`` does. ``class_names`` (e.g. the
    model's ``vidvis_adapter.class_names``): AM jobs' class logits are labelled by name. ``density``: what the table
    sorts by and the figure plots by default (True: density; False: share)."""
    regions = _check_regions(regions)
    if hasattr(results, "tubes") and hasattr(results, "num_clips"):
        rows, source = _tube_rows(results, regions, target, threshold), "saliency_tubes"
    else:
        items = [results] if hasattr(results, "stream_names") else list(results) if isinstance(results, (list, tuple)) else None
        if not items or not all(hasattr(r, "stream_names") and hasattr(r, "job") for r in items):
            raise ValueError(f"results must be activation maximization results (AMResults, an AMResult or a list of "
                             f"them) or SaliencyTubeResults, got {type(results).__name__}")
        if target is not None or threshold is not None:
            raise ValueError("target and threshold choose a SaliencyTubeResults' tubes; an AM result's target is its "
                             "job's: leave them None")
        rows, source = _am_rows(items, regions, class_names), "activation_maximization"
    for r in rows:
        r["density"] = r["share"] / r["area"] if r["area"] > 0 else float("nan")
    return RegionEnergy(rows, source, density)


class RegionEnergyTable(Table):
    """One row per (target, κ, γ, stream, region) of AM, or per (target, region) of tubes: the mean share over
    its ``n`` seeds or clips, the mean area share, and their ratio, the density."""

    COLUMNS = COLUMNS
    HEAD = ("target", "κ", "γ", "stream", "region", "n", "share (%)", "area (%)", "density")

    @staticmethod
    def cells(r: dict) -> list[str]:
        g = (lambda v: "–" if v is None else f"{v:g}")
        return [r["target"], g(r["kappa"]), g(r["gamma"]), r["stream"], r["region"], str(r["n"]),
                f"{100 * r['share']:.1f}", f"{100 * r['area']:.1f}", f"{r['density']:.2f}"]


@dataclass
class RegionEnergy:
    """:func:`region_energy`'s outcome. ``rows``: one dict per (job, stream, region) of AM or (clip, region) of
    tubes, with target, kappa, gamma, seed, clip, stream, region, energy (inside), total, share, area, density."""

    rows: list[dict]
    source: str
    density: bool = True

    @property
    def regions(self) -> list[str]:
        return list(dict.fromkeys(r["region"] for r in self.rows))

    @property
    def targets(self) -> list[str]:
        return list(dict.fromkeys(r["target"] for r in self.rows))

    def _pick(self, where: dict) -> list[dict]:
        bad = [k for k in where if k not in ("target", "kappa", "gamma", "seed", "clip", "stream", "region")]
        if bad:
            raise ValueError(f"cannot select rows by {', '.join(bad)}: select by target, kappa, gamma, seed, clip, "
                             "stream or region")
        return [r for r in self.rows if all(r[k] == v for k, v in where.items() if v is not None)]

    def value(self, region: str, measure: str = "density", **where) -> float:
        """The summary ``measure`` ("share", "area" or "density") of ``region`` over the rows matching ``where``
        (e.g. ``target=``, ``gamma=``, ``stream=``; None matches all), as the table computes it."""
        if measure not in MEASURES:
            raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
        rows = self._pick({**where, "region": region})
        if not rows:
            raise ValueError(f"no rows for region {region!r} with {where}; regions: {self.regions}, targets: {self.targets}")
        share, area = np.mean([r["share"] for r in rows]), np.mean([r["area"] for r in rows])
        return float({"share": share, "area": area, "density": share / area if area > 0 else np.nan}[measure])

    def table(self) -> RegionEnergyTable:
        """The summary table, grouped over seeds (AM) or clips (tubes); within a group, regions by the measure."""
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for r in self.rows:
            groups[(r["target"], r["kappa"], r["gamma"], r["stream"], r["region"])].append(r)
        out = []
        for (target, kappa, gamma, stream, region), rows in groups.items():
            share, area = float(np.mean([r["share"] for r in rows])), float(np.mean([r["area"] for r in rows]))
            key = " · ".join([target] + ([f"κ={kappa:g}", f"γ={gamma:g}"] if gamma is not None else [])
                             + [stream, region])
            out.append({"key": key, "target": target, "kappa": kappa, "gamma": gamma, "stream": stream,
                        "region": region, "n": len(rows), "share": share, "area": area,
                        "density": share / area if area > 0 else float("nan")})
        measure = "density" if self.density else "share"
        order = {k: i for i, k in enumerate(dict.fromkeys(r["key"].rsplit(" · ", 1)[0] for r in out))}
        out.sort(key=lambda r: (order[r["key"].rsplit(" · ", 1)[0]], -np.nan_to_num(r[measure], nan=-np.inf)))
        return RegionEnergyTable(out)

    def figure(self, measure: str | None = None):
        """Plotly bars of ``measure`` (default: density, or share with ``density=False``) per region, one bar
        per γ (AM) or per target (tubes), one panel per target (AM) and stream."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        measure = measure or ("density" if self.density else "share")
        if measure not in MEASURES:
            raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
        rows = self.table().rows
        am = self.source == "activation_maximization"
        panels = list(dict.fromkeys((r["target"], r["stream"]) if am else ("", r["stream"]) for r in rows))
        esc = html.escape  # plotly reads a subset of HTML in its text: names are shown as text, entities decoded
        fig = make_subplots(rows=1, cols=len(panels), shared_yaxes=True,
                            subplot_titles=[esc(" · ".join(p for p in panel if p)) for panel in panels])
        regions = self.regions
        series = list(dict.fromkeys((r["kappa"], r["gamma"]) if am else r["target"] for r in rows))
        for i, panel in enumerate(panels):
            for j, s in enumerate(series):
                sel = {r["region"]: r[measure] for r in rows if ((r["target"], r["stream"]) if am else ("", r["stream"])) == panel
                       and ((r["kappa"], r["gamma"]) if am else r["target"]) == s}
                if not sel:
                    continue
                label = (f"γ={s[1]:g}" + (f" κ={s[0]:g}" if len({k for k, _ in series}) > 1 else "")) if am else esc(s)
                fig.add_trace(go.Bar(x=[esc(g) for g in regions if g in sel], y=[sel[g] for g in regions if g in sel],
                                     name=label, legendgroup=label, showlegend=i == 0,
                                     marker_color=_PALETTE[j % len(_PALETTE)]), row=1, col=i + 1)
        if measure == "density":
            fig.add_hline(y=1.0, line_dash="dot", line_color="grey")
        fig.update_layout(barmode="group", height=360, width=max(420, 320 * len(panels)), margin=dict(t=40, b=40),
                          yaxis_title={"density": "density (share ÷ area share)", "share": "share of energy",
                                       "area": "share of area"}[measure])
        return fig

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.rows)

    def __repr__(self) -> str:
        return str(self.table())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


_PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d")
