"""Interventions: the test that confirms a hypothesis. Edit a region of every clip (freeze it, blur it, occlude it,
paste it in from clips of another class), run the model on the edited clips, and count the predictions that flip.

    from vidvis_widgets.methods.core.regions import box, grid_cells
    from vidvis_widgets.methods.interventions import Interventions, paste

    res = Interventions(model)(target="some_class", inputs=dataset, regions=grid_cells(4, 4),
                               edits=["freeze", "occlude", paste("other_class")])
    res.flips()              # flips per class and (region, edit), as a table
    res.confusion_delta()    # how each variant moves the confusion matrix
    res.show()               # edited clips beside their originals, RGB and flow rows

Every (region, edit) variant of a batch of clips is stacked with the originals and run through the model's adapter
in batches of ``batch_size``; a Stop (or Ctrl-C) ends the call after the current clip batch with the clips done.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from ...checks import number
from ...models.adapter import adapter_of
from ...models.pixels import check_frames, check_size
from ...models.run_control import ctrl_c_stops, device_of, frozen
from ..core.cache import Cached
from ..core.loop import autocast
from ..core.progress import BatchSnapshot, count, progress_bar, wanted
from ..core.regions import Region
from . import flow as flows
from .edits import Edit, Paste, as_edits
from .results import InterventionResults
from .source import FORMS, Source


@dataclass
class InterventionSnapshot(BatchSnapshot):
    """What a callback sees every ``every`` clip batches (and after the last): the batch counts of
    :class:`~..core.progress.BatchSnapshot` and the flips so far (clips_done × variants, bool)."""

    flipped: np.ndarray


class Interventions:
    """Interventions on a video model: build once, call with clips, regions and edits (see the module doc).

    ``batch_size``: clips (edited or not) per forward pass. ``bf16``: autocast the forward pass. ``store``: a
    :class:`~vidvis_widgets.store.ResultStore`, a folder path or ``True``: a call's result is kept under the model's
    weights, the dataset's key, the clips, the regions and the edits, and the same call again loads it without running
    the model."""

    def __init__(self, model: nn.Module, *, device: torch.device | str | None = None, bf16: bool = False, store=None,
                 batch_size: int = 32):
        self.device = device_of(model, device)
        self.model = model.to(self.device)
        self.adapter = adapter_of(model)
        self.bf16 = bool(bf16)
        self.batch_size = number("batch_size", batch_size, low=1, integer=True)
        self.cache = Cached(store, self.model, "interventions")

    def __call__(self, target=None, inputs=None, *, regions=None, edits=("freeze", "occlude"), donors=None,
                 seeds=None, steps=None, flow: str = "auto", stop: threading.Event | None = None,
                 callback: Callable[[InterventionSnapshot], None] | None = None, every: int = 1,
                 progress: bool | None = None, exemplars: int = 4) -> InterventionResults:
        """The flips every (region, edit) variant makes on the clips of ``inputs``.

        ``target``: None (every clip), a class (index or name: its clips), or a pair (a, b) (the clips of both).
        ``inputs``: a dataset or a dict of arrays (:data:`.source.FORMS`). ``regions``: a Region or a list of them
        (:mod:`~vidvis_widgets.methods.core.regions`: box, track, mask, grid_cells, moving_parts, whole_clip); a
        per-clip mask (N×T×H×W) has one clip per clip of ``inputs``. ``edits``: edit values or their names
        (:mod:`.edits`). ``donors``: where ``paste(c)`` takes clips of class c from (a dataset or arrays; default
        ``inputs``): the k-th clip edited gets the k-th donor clip, cycling (a clip is never its own donor where
        another exists); the pasted pixels are the region of both clips, or of the edited clip alone where the region
        is a per-clip mask of ``inputs`` and the donors are another set. ``flow``: ``"auto"`` (composed from the clips' flow where it is exact, estimated from the
        edited frames where the dataset's flow was estimated or absent), ``"exact"`` or ``"estimate"``
        (:mod:`.flow`); only a model that takes flow needs it. ``stop``, ``callback``, ``every``, ``progress``: as
        every method's (a Stop keeps the clips done, status "stopped"; such a result is not stored). ``exemplars``:
        how many edited clips to keep for :meth:`~.results.InterventionResults.show`."""
        plan = self._check(target, inputs, regions, edits, donors, seeds, steps, flow, every, callback, progress,
                           exemplars)
        with ctrl_c_stops(stop) as halt:
            if self.cache.store is None:
                return self._run(plan, halt)
            key = {"dataset": plan.source.key(), "donors": plan.donors.key() if plan.donors is not plan.source else None,
                   "clips": plan.rows.tolist(), "regions": [r.to_json() for r in plan.regions],
                   "edits": [e.to_json() for e in plan.edits], "flow": plan.flow, "bf16": self.bf16,
                   "exemplars": plan.exemplars, "start": 0}
            return self.cache([key], lambda _: [self._run(plan, halt)], key=lambda k: k,
                              encode=lambda r: _entry(r),
                              decode=lambda _, arrays, meta: InterventionResults.from_entries(
                                  [(arrays, meta)], meta["settings"]))[0]

    def edited(self, target=None, inputs=None, clips=0, *, region: Region, edit, donors=None, flow: str = "auto"
               ) -> dict:
        """Clips before and after one edit, without running the model (what a view shows for any variant of a
        result): ``clips`` are positions in ``inputs`` among the clips ``target`` picks; a paste pairs them with
        their donors as the call with the same ``target`` did. Gives ``rgb`` K×2×T×H×W×3 uint8 (original, edited)
        and, where the clips have flow or it can be estimated, ``flow`` K×2×T×2×H×W (else None). The other
        arguments as :meth:`__call__`'s."""
        plan = self._check(target, inputs, region, [edit], donors, None, None, flow, 1, None, None, 1)
        want = np.asarray([clips] if np.isscalar(clips) else list(clips), dtype=np.int64)
        at = np.searchsorted(plan.rows, want)
        if not len(want) or np.any(at >= len(plan.rows)) or np.any(plan.rows[np.minimum(at, len(plan.rows) - 1)] != want):
            raise ValueError(f"clips must be positions in inputs of clips that target={target!r} picks, got {clips!r}")
        has_flow = plan.source.has_flow or plan.flow == "estimate"
        rgb, fl = [], []
        for i in at:
            frames, fields = self._edited(plan, int(i), int(i) + 1, [(0, 0)], need_flow=has_flow)
            rgb.append(flows.to_uint8(frames))
            fl.append(fields.cpu().numpy() if has_flow else None)
        return {"rgb": np.stack(rgb), "flow": np.stack(fl) if has_flow else None}

    # -- checks, before any pass ---------------------------------------------------------------------------
    def _check(self, target, inputs, regions, edits, donors, seeds, steps, flow, every, callback, progress, exemplars):
        for name, value in (("seeds", seeds), ("steps", steps)):
            if value is not None:
                raise ValueError(f"{name}={value!r} does not apply to interventions: they edit clips and run the model "
                                 f"once per edited clip, with no random start and no optimization steps; leave {name}= "
                                 "out")
        if inputs is None:
            raise ValueError(f"interventions need the clips to edit: pass inputs= as {FORMS}")
        every = number("every", every, low=1, integer=True)
        exemplars = number("exemplars", exemplars, low=0, integer=True)
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be a function of one InterventionSnapshot (or None), got "
                            f"{type(callback).__name__}")
        wanted(progress)
        if flow not in flows.MODES:
            raise ValueError(f"flow must be one of {', '.join(map(repr, flows.MODES))}, got {flow!r}")
        regions = _as_regions(regions)
        edits = as_edits(edits)
        source = Source(inputs, "inputs")
        names = self.adapter.class_names
        if source.classes is not None and names and tuple(source.classes) != tuple(names):
            raise ValueError(f"inputs' classes {list(source.classes)[:4]}… do not match the model's "
                             f"{list(names)[:4]}…; expected the class list the model was trained on, in its order")
        bad = np.flatnonzero((source.labels < 0) | (source.labels >= self.adapter.num_classes))
        if len(bad):
            raise ValueError(f"inputs' label {int(source.labels[bad[0]])} at position {int(bad[0])} is outside the "
                             f"model's {self.adapter.num_classes} classes")
        rows = self._rows(target, source)
        donor_src = Source(donors, "donors") if donors is not None else source
        pools = {}
        for e in edits:
            if isinstance(e, Paste):
                k = self._class(e.from_class, "edits: paste's from_class")
                pool = np.flatnonzero(donor_src.labels == k)
                if not len(pool):
                    raise ValueError(f"edits: paste({e.from_class!r}) finds no clip of class {self._label(k)} in "
                                     f"{'donors' if donors is not None else 'inputs'}; pass donors= holding some")
                pools[e] = pool
        rgb, clip_flow = source.clips(rows[:1])
        check_frames(rgb, "inputs' rgb", batch=True)
        t = min(rgb.shape[1], self.adapter.num_frames or rgb.shape[1])
        check_size(self.adapter, rgb[:, :t].shape)
        if pools:
            d_rgb, _ = donor_src.clips(next(iter(pools.values()))[:1])
            if d_rgb.shape[2:4] != rgb.shape[2:4] or d_rgb.shape[1] < t:
                raise ValueError(f"donors' clips are {d_rgb.shape[1]}×{d_rgb.shape[2]}×{d_rgb.shape[3]}; paste needs "
                                 f"clips of at least {t} frames at the inputs' {rgb.shape[2]}×{rgb.shape[3]}")
        mode = flow
        if self.adapter.uses_flow or exemplars:
            if flow == "auto":
                mode = "estimate" if (source.estimated or not source.has_flow) else "exact"
            if mode == "exact" and not source.has_flow:
                raise ValueError("flow='exact' needs the inputs' own flow ('flow' arrays, or a dataset whose items "
                                 "have it); pass flow='estimate' to estimate it from the edited frames")
        masks = [_region_masks(r, source.n, rows, t, *rgb.shape[2:4]) for r in regions]
        donor_masks = [_region_masks(r, donor_src.n, None, t, *rgb.shape[2:4], quiet=True) for r in regions]
        return _Plan(source, donor_src, rows, regions, edits, pools, masks, donor_masks, mode, t, every, callback,
                     progress, exemplars, source.estimated or "dis", _jsonable(target))

    def _class(self, c, what: str) -> int:
        try:
            return self.adapter.class_index(c)
        except (ValueError, IndexError, TypeError) as e:
            raise ValueError(f"{what}: {e}") from None

    def _label(self, k: int) -> str:
        names = self.adapter.class_names
        return repr(names[k]) if names else str(k)

    def _rows(self, target, source: Source) -> np.ndarray:
        if target is None:
            return np.arange(source.n)
        if isinstance(target, (tuple, list)):
            if len(target) != 2:
                raise ValueError(f"target must be None, a class, or a pair (a, b) of classes; got {target!r}")
            ks = [self._class(c, "target") for c in target]
        else:
            ks = [self._class(target, "target")]
        rows = np.flatnonzero(np.isin(source.labels, ks))
        if not len(rows):
            raise ValueError(f"target={target!r}: inputs hold no clip of {' or '.join(self._label(k) for k in ks)}")
        return rows

    # -- the passes ----------------------------------------------------------------------------------------
    def _run(self, plan: "_Plan", halt) -> InterventionResults:
        variants = [(r, e) for r in range(len(plan.regions)) for e in range(len(plan.edits))]
        per = max(1, self.batch_size // (len(variants) + 1))  # clips per batch, with their variants
        starts = range(0, len(plan.rows), per)
        befores, afters, status = [], [], "completed"
        show = plan.progress if plan.progress is not None or len(starts) > 1 else False
        with frozen(self.model), torch.no_grad(), progress_bar(
                len(starts), f"interventions ({count(len(plan.rows), 'clip')} × {count(len(variants), 'variant')})",
                show, plan.callback, unit="batch") as bar:
            try:
                for b, i in enumerate(starts):
                    before, after = self._batch(plan, i, min(i + per, len(plan.rows)), variants)
                    befores.append(before)
                    afters.append(after)
                    bar.update(1)
                    if plan.callback is not None and ((b + 1) % plan.every == 0 or b + 1 == len(starts)):
                        bf, af = np.concatenate(befores), np.concatenate(afters)
                        plan.callback(InterventionSnapshot(b + 1, len(starts), len(bf), len(plan.rows),
                                                           af.argmax(-1) != bf.argmax(-1)[:, None]))
                    if b + 1 < len(starts) and halt.is_set():
                        status = halt.status
                        break
            except KeyboardInterrupt:  # a second Ctrl-C: the batches done are kept
                if not befores:
                    raise
                status = "interrupted"
        k = self.adapter.num_classes
        before = np.concatenate(befores) if befores else np.zeros((0, k), np.float32)
        after = np.concatenate(afters) if afters else np.zeros((0, len(variants), k), np.float32)
        n = len(before)
        settings = {"target": plan.target, "target_clips": int(len(plan.rows)), "flow": plan.flow,
                    "batch_size": self.batch_size, "bf16": self.bf16, "frames": plan.t, "exemplars": plan.exemplars}
        res = InterventionResults(
            clips=plan.rows[:n].copy(), labels=plan.source.labels[plan.rows[:n]], before=before, after=after,
            regions=[r.to_json() for r in plan.regions], edits=[e.to_json() for e in plan.edits],
            variant_region=np.array([r for r, _ in variants], np.int64),
            variant_edit=np.array([e for _, e in variants], np.int64),
            class_names=tuple(self.adapter.class_names), model_name=self.adapter.name, status=status,
            settings=settings)
        if plan.exemplars and n:
            res.exemplars = self._exemplars(plan, res, variants)
        return res

    def _batch(self, plan: "_Plan", i: int, j: int, variants) -> tuple[np.ndarray, np.ndarray]:
        """Logits of clips ``plan.rows[i:j]`` before (c×K) and after every variant (c×V×K)."""
        c = j - i
        rgb, flow = self._edited(plan, i, j, variants, need_flow=self.adapter.uses_flow)
        logits = []
        with autocast(self.device, self.bf16):
            for s in range(0, len(rgb), self.batch_size):
                args = self.adapter.pixel_args(rgb[s:s + self.batch_size],
                                               None if flow is None else flow[s:s + self.batch_size], self.device)
                logits.append(self.adapter.call(self.model, args).float())
        out = torch.cat(logits).view(len(variants) + 1, c, -1).cpu().numpy()
        return out[0], out[1:].transpose(1, 0, 2)

    def _edited(self, plan: "_Plan", i: int, j: int, variants, need_flow: bool, only=None):
        """The originals of clips ``plan.rows[i:j]`` then each variant's edits of them, stacked: frames
        ((V+1)·c)×T×H×W×3 in [0, 1] and their flow (or None), on the device. ``only``: variants to make (indices)."""
        dev, t = self.device, plan.t
        rows = plan.rows[i:j]
        rgb, flow = plan.source.clips(rows)
        rgb = _unit(torch.as_tensor(np.asarray(rgb)[:, :t], device=dev))
        flow = None if flow is None or not need_flow else torch.as_tensor(np.asarray(flow)[:, :t], device=dev).float()
        estimate = need_flow and plan.flow == "estimate"
        if need_flow and flow is None:
            flow = flows.estimated(rgb, None, plan.method)
        made = list(range(len(variants)) if only is None else only)
        c = len(rows)
        # every variant written straight into one stacked batch, the originals first
        frames = torch.empty((len(made) + 1) * c, *rgb.shape[1:], device=dev)
        fields = torch.empty((len(made) + 1) * c, *flow.shape[1:], device=dev) if need_flow else None
        frames[:c] = rgb
        if need_flow:
            fields[:c] = flow
        drawn = {}
        for k, v in enumerate(made, 1):
            r, e = variants[v]
            edit = plan.edits[e]
            if edit not in drawn:  # what replaces a region (donors, blurred frames), made once per clip batch
                pos = donor = donor_flow = None
                if isinstance(edit, Paste):
                    pos = _donors(plan, edit, rows)
                    d_rgb, d_flow = plan.donors.clips(pos)
                    donor = _unit(torch.as_tensor(np.asarray(d_rgb)[:, :t], device=dev))
                    if need_flow:
                        donor_flow = torch.as_tensor(np.asarray(d_flow)[:, :t], device=dev).float() \
                            if d_flow is not None else flows.estimated(donor, None, plan.method)
                drawn[edit] = (pos, edit.replacement(rgb, donor),
                               flows.flow_fill(edit, flow, donor_flow) if need_flow else None)
            pos, fill, flow_fill = drawn[edit]
            m = _on(plan.masks[r], np.arange(i, j), dev)
            donor_m = _on(plan.donor_masks[r], pos, dev) if pos is not None and plan.donor_masks[r] is not None \
                else None
            area = edit.area(m, donor_m)
            out = frames[k * c:(k + 1) * c]
            torch.where(area[..., None], fill, rgb, out=out)
            if need_flow:
                torch.where(area[:, :, None], flow_fill, flow, out=fields[k * c:(k + 1) * c])
                if estimate:
                    fields[k * c:(k + 1) * c] = flows.estimated(out, fields[k * c:(k + 1) * c, -1].clone(),
                                                                plan.method)
        return frames, fields

    def _exemplars(self, plan: "_Plan", res: InterventionResults, variants) -> dict:
        """The variants with the most flips, each on the first clip it flipped (else the first clip)."""
        rates = res.flipped.mean(0)
        order = np.argsort(-rates, kind="stable")[:plan.exemplars]
        has_flow = plan.source.has_flow or plan.flow == "estimate"
        out = {"variant": [], "row": [], "rgb": [], "flow": []}
        for v in order:
            hit = np.flatnonzero(res.flipped[:, v])
            row = int(hit[0]) if len(hit) else 0
            rgb, flow = self._edited(plan, row, row + 1, variants, need_flow=has_flow, only=[int(v)])
            out["variant"].append(int(v))
            out["row"].append(row)
            out["rgb"].append(flows.to_uint8(rgb))
            if has_flow:
                out["flow"].append(flow.cpu().numpy().astype(np.float16))
        ex = {"variant": np.array(out["variant"], np.int64), "row": np.array(out["row"], np.int64),
              "rgb": np.stack(out["rgb"])}
        if has_flow:
            ex["flow"] = np.stack(out["flow"])
        return ex

    @property
    def _name(self) -> str:
        return self.adapter.name


def intervene(model: nn.Module, target=None, inputs=None, *, regions=None, edits=("freeze", "occlude"), donors=None,
              seeds=None, steps=None, flow: str = "auto", stop: threading.Event | None = None, callback=None,
              every: int = 1, progress: bool | None = None, exemplars: int = 4, device=None, bf16: bool = False,
              store=None, batch_size: int = 32) -> InterventionResults:
    """``Interventions(model, device=, bf16=, store=, batch_size=)(target, inputs, regions=, edits=, ...)``; see
    :class:`Interventions`."""
    return Interventions(model, device=device, bf16=bf16, store=store, batch_size=batch_size)(
        target, inputs, regions=regions, edits=edits, donors=donors, seeds=seeds, steps=steps, flow=flow, stop=stop,
        callback=callback, every=every, progress=progress, exemplars=exemplars)


@dataclass
class _Plan:
    source: Source
    donors: Source
    rows: np.ndarray
    regions: list[Region]
    edits: list[Edit]
    pools: dict
    masks: list
    donor_masks: list
    flow: str
    t: int
    every: int
    callback: Callable | None
    progress: bool | None
    exemplars: int
    method: str
    target: object = None


def _entry(r: InterventionResults) -> tuple[dict, dict]:
    (arrays, meta), = r.entries()
    return arrays, {**meta, "settings": r.settings}


def _as_regions(regions) -> list[Region]:
    if regions is None:
        raise ValueError("regions= is required: a Region or a list of them (regions.box(...), regions.mask(array), "
                         "regions.grid_cells(4, 4), regions.moving_parts(flow), regions.whole_clip())")
    if isinstance(regions, Region):
        regions = [regions]
    if not isinstance(regions, (list, tuple)) or not regions:
        raise ValueError(f"regions must be a Region or a non-empty list of them, got {type(regions).__name__}")
    for i, r in enumerate(regions):
        if not isinstance(r, Region):
            raise ValueError(f"regions[{i}] is a {type(r).__name__}; expected a Region (regions.box(x0, y0, x1, y1), "
                             "regions.mask(array), regions.track(boxes), …)")
    names = [r.name for r in regions]
    if len(set(names)) != len(names):
        raise ValueError(f"regions must have distinct names (they label the results), got {names}")
    return list(regions)


def _region_masks(region: Region, n: int, rows, t: int, h: int, w: int, quiet: bool = False):
    """The region's masks: 1×T×H×W where every clip shares them, else (per-clip masks) one per row of ``rows`` (all
    ``n`` clips where ``rows`` is None), host bool arrays. ``quiet``: None instead of an error where a per-clip mask
    does not match ``n`` clips (a separate donor set)."""
    per_clip = region.mask is not None and region.mask.ndim == 4 and region.mask.shape[0] != 1
    if not per_clip:
        return region.masks(1, t, h, w)
    if region.mask.shape[0] != n:
        if quiet:
            return None
        raise ValueError(f"regions: {region.name!r} holds masks of {region.mask.shape[0]} clips, but inputs has {n}; "
                         "a per-clip mask needs one clip per clip of inputs (or give one H×W or T×H×W mask for all)")
    m = region.masks(n, t, h, w)
    return m if rows is None else m[rows]


def _on(masks: np.ndarray, rows, device) -> torch.Tensor:
    """The masks of ``rows`` (or the one shared mask, expanded) as a bool tensor on ``device``."""
    rows = np.asarray(rows)
    m = masks[np.zeros(len(rows), np.int64)] if len(masks) == 1 else masks[rows]
    return torch.as_tensor(m, device=device)


def _donors(plan: _Plan, edit: Paste, rows: np.ndarray) -> np.ndarray:
    """The donor positions (in ``plan.donors``) for clips ``rows``: the k-th clip edited gets the k-th donor clip,
    cycling, and the next one where that is the clip itself."""
    pool = plan.pools[edit]
    ks = np.searchsorted(plan.rows, rows)
    pos = pool[ks % len(pool)]
    if plan.donors is plan.source and len(pool) > 1:
        same = pos == rows
        pos[same] = pool[(ks[same] + 1) % len(pool)]
    return pos


def _jsonable(target):
    """The call's target as its settings record it: None, a class index or name, or a pair as a list."""
    if isinstance(target, (tuple, list)):
        return [_jsonable(t) for t in target]
    return int(target) if isinstance(target, np.integer) else target


def _unit(rgb: torch.Tensor) -> torch.Tensor:
    """Frames as floats in [0, 1]."""
    return rgb.float() / 255.0 if not rgb.is_floating_point() else rgb.float()
