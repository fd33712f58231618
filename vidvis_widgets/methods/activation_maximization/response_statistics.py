"""One pass over a labelled dataset: every unit's peak response per video, kept as running summaries.

For each unit of the chosen layers and each video, the response is the unit's maximum over space and
time (``reduce="max"``, what the IJCV paper's response histograms show) or its sum over locations
(``reduce="sum"``, the quantity activation maximization optimizes for a conv unit). Only running maxima
are kept, overall, per class, the top-k videos and the top videos of each class, so memory does not
grow with the dataset.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ...data.loading import batches, check_classes, check_labels, class_index, dataset_key
from ...models.registry import refit_advice
from ...models.run_control import check_stop, device_of, frozen, stoppable
from ..core.loop import capture

REDUCTIONS = ("max", "sum")


@dataclass
class ResponseStatistics:
    """Per layer: ``activation_max`` (C,), â over all videos; ``class_max`` (K×C), the maximum per class
    (NaN for a class without videos); ``top_values`` / ``top_indices`` (k×C), each unit's top-k videos,
    best first, as positions in the dataset; ``class_top_values`` / ``class_top_indices`` (K×k'×C), the
    same within each class (index -1 where a class has fewer than k' videos)."""

    layers: tuple[str, ...]
    classes: tuple[str, ...]
    reduce: str
    num_videos: int
    class_counts: np.ndarray
    activation_max: dict[str, np.ndarray] = field(repr=False)
    class_max: dict[str, np.ndarray] = field(repr=False)
    top_values: dict[str, np.ndarray] = field(repr=False)
    top_indices: dict[str, np.ndarray] = field(repr=False)
    class_top_values: dict[str, np.ndarray] = field(repr=False)
    class_top_indices: dict[str, np.ndarray] = field(repr=False)

    def _layer(self, layer: str) -> str:
        if layer not in self.activation_max:
            raise KeyError(f"no statistics for layer {layer!r}; recorded layers: {', '.join(self.layers)}")
        return layer

    def unit_index(self, layer: str, unit: int) -> int:
        """``unit`` checked against the layer's recorded units (a clear error for one the statistics do not cover)."""
        n = self.activation_max[self._layer(layer)].shape[0]
        if not 0 <= unit < n:
            raise IndexError(f"unit {unit} out of range for layer {layer!r}, which has {n} units (0–{n - 1})")
        return unit

    def class_index(self, cls: int | str) -> int:
        k = class_index(self.classes, cls)
        if self.class_counts[k] == 0:
            raise ValueError(f"class {self.classes[k]!r} has no videos in this dataset, so it has no statistics")
        return k

    def unit_class_max(self, layer: str, unit: int) -> np.ndarray:
        """(K,) the unit's maximum per class: the bars of a response histogram."""
        return self.class_max[self._layer(layer)][:, self.unit_index(layer, unit)]

    def top_videos(self, layer: str, unit: int) -> list[tuple[int, float]]:
        """The unit's top-k videos as (dataset index, response), best first."""
        u = self.unit_index(layer, unit)
        vals, idx = self.top_values[layer][:, u], self.top_indices[layer][:, u]
        return [(int(i), float(v)) for i, v in zip(idx, vals) if i >= 0]

    def class_top_videos(self, layer: str, unit: int, cls: int | str) -> list[tuple[int, float]]:
        """The unit's top videos within one class as (dataset index, response), best first."""
        u, k = self.unit_index(layer, unit), self.class_index(cls)
        vals, idx = self.class_top_values[layer][k, :, u], self.class_top_indices[layer][k, :, u]
        return [(int(i), float(v)) for i, v in zip(idx, vals) if i >= 0]

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat name → array, for the result store."""
        out = {"class_counts": self.class_counts}
        for l in self.layers:
            for name in _PER_LAYER:
                out[f"{name}/{l}"] = getattr(self, name)[l]
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict) -> "ResponseStatistics":
        parts = {name: {l: arrays[f"{name}/{l}"] for l in meta["layers"]} for name in _PER_LAYER}
        return cls(tuple(meta["layers"]), tuple(meta["classes"]), meta["reduce"], int(meta["num_videos"]),
                   arrays["class_counts"], **parts)

    def meta(self) -> dict:
        return {"layers": list(self.layers), "classes": list(self.classes), "reduce": self.reduce,
                "num_videos": self.num_videos}


_PER_LAYER = ("activation_max", "class_max", "top_values", "top_indices", "class_top_values", "class_top_indices")


def response_statistics(model: nn.Module, dataset, layers: Sequence[str] | str, *, reduce: str = "max",
                        top_k: int = 10, class_top_k: int = 4, batch_size: int = 32, num_workers: int | None = None,
                        device: torch.device | str | None = None, store=None,
                        stop: threading.Event | None = None) -> ResponseStatistics:
    """Records every unit's response per video of ``dataset`` for ``layers``, in one pass.

    ``dataset``: a map-style dataset whose items are dicts with ``rgb`` (T×H×W×3 uint8), ``flow``
    (T×2×H×W, two-stream models) and ``label``, such as :class:`SyntheticActions`; or a dict of stacked
    arrays. Its ``classes`` (when it has them) must match the model's. Clips are drawn by ``num_workers``
    loader processes so that the model does not wait on them. The default is half the CPU cores (at most
    8) when the model is on a GPU. It is 0 on the CPU and for in-memory arrays: there the workers would
    take cores from the model itself. On 2 cores, 2 workers halved throughput (see benchmarks/).

    ``store``: a :class:`~vidvis_widgets.store.ResultStore`, its folder's path, or ``True`` (the default one) that keeps
    the result keyed by the model's weights, the dataset's ``cache_key`` and these settings, so the same
    call later loads it instead of running the pass.

    Each clip's ``rgb`` is uint8 on 0–255 or float in [0, 1] (both give the same statistics); floats on
    another range, and non-finite RGB or flow, are refused with the video's position. ``stop``: an Event that
    ends the pass with :class:`~vidvis_widgets.models.run_control.Stopped` within one layer of being set (the
    statistics of part of a dataset would be wrong, so nothing is returned).
    """
    from ...store import as_store

    store = as_store(store)
    if store is not None:
        params = {"dataset": dataset_key(dataset), "layers": [layers] if isinstance(layers, str) else list(layers),
                  "reduce": reduce, "top_k": top_k, "class_top_k": class_top_k}
        arrays, meta = store.get_or_compute(model, "response_statistics", params, lambda: _as_entry(
            response_statistics(model, dataset, layers, reduce=reduce, top_k=top_k, class_top_k=class_top_k,
                                batch_size=batch_size, num_workers=num_workers, device=device, stop=stop)))
        return ResponseStatistics.from_arrays(arrays, meta)
    info = getattr(model, "vidvis_adapter", None)
    if info is None:
        raise ValueError(f"{type(model).__name__} carries no vidvis_adapter; load it with vidvis_widgets.models."
                         "load_model or attach a ModelAdapter as model.vidvis_adapter")
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {', '.join(REDUCTIONS)}, got {reduce!r}")
    layers = (layers,) if isinstance(layers, str) else tuple(layers)
    if not layers:
        raise ValueError("no layers given; expected layer names such as 'conv5_fusion' or 'fc8'")
    known = dict(model.named_modules())
    missing = [l for l in layers if l not in known]
    if missing:
        raise ValueError(f"unknown layer(s) {', '.join(map(repr, missing))}; the model's layers include "
                         f"{', '.join(n for n in info.layer_names[-8:])}")
    if top_k < 1 or class_top_k < 1:
        raise ValueError(f"top_k and class_top_k must be ≥ 1, got {top_k} and {class_top_k}")
    classes = tuple(info.class_names)
    check_classes(dataset, classes, lambda ds_classes: refit_advice(model, ds_classes))
    device = device_of(model, device)
    model = model.to(device)
    loader = batches(dataset, batch_size, num_workers, device)
    K = len(classes)
    cls_max: dict[str, torch.Tensor] = {}
    top_v: dict[str, torch.Tensor] = {}
    top_i: dict[str, torch.Tensor] = {}
    ctop_v: dict[str, torch.Tensor] = {}
    ctop_i: dict[str, torch.Tensor] = {}
    counts = np.zeros(K, np.int64)
    seen = 0
    with frozen(model), capture(model, layers, layout=info.layer_layout) as acts, stoppable(model, stop), \
            torch.no_grad():
        for batch in loader:
            check_stop(stop)
            host_labels = np.asarray(batch["label"])  # checked on the host: no device sync
            check_labels(host_labels, K, seen)
            labels = torch.as_tensor(host_labels, dtype=torch.long).to(device, non_blocking=True)
            info.forward(model, info.prepare(batch, device, first=seen))
            counts += np.bincount(host_labels, minlength=K)
            index = torch.arange(seen, seen + len(labels), device=device)
            # rows of each class present, found on the host so the per-class top-k needs no device sync
            groups = [(int(k), torch.as_tensor(np.flatnonzero(host_labels == k)).to(device))
                      for k in np.unique(host_labels)]
            for l in layers:
                a = acts[l].float()
                v = a if a.dim() == 2 else (a.flatten(2).amax(2) if reduce == "max" else a.flatten(2).sum(2))
                C = v.shape[1]
                if l not in cls_max:
                    cls_max[l] = torch.full((K, C), -torch.inf, device=device)
                    top_v[l] = torch.full((0, C), -torch.inf, device=device)
                    top_i[l] = torch.full((0, C), -1, dtype=torch.long, device=device)
                    ctop_v[l] = torch.full((K, class_top_k, C), -torch.inf, device=device)
                    ctop_i[l] = torch.full((K, class_top_k, C), -1, dtype=torch.long, device=device)
                cls_max[l].scatter_reduce_(0, labels[:, None].expand_as(v), v, reduce="amax")
                vals = torch.cat([top_v[l], v])
                idx = torch.cat([top_i[l], index[:, None].expand_as(v)])
                top_v[l], order = vals.topk(min(top_k, len(vals)), dim=0)
                top_i[l] = idx.gather(0, order)
                for k, rows in groups:
                    vals = torch.cat([ctop_v[l][k], v[rows]])
                    idx = torch.cat([ctop_i[l][k], index[rows, None].expand(-1, C)])
                    ctop_v[l][k], order = vals.topk(class_top_k, dim=0)
                    ctop_i[l][k] = idx.gather(0, order)
            seen += len(labels)
    class_max = {l: cls_max[l].cpu().numpy().astype(np.float32) for l in layers}
    for c in class_max.values():
        c[counts == 0] = np.nan
    # the overall maximum is the maximum over the classes that have videos
    return ResponseStatistics(layers, classes, reduce, seen, counts,
                              {l: np.nanmax(c, axis=0) for l, c in class_max.items()}, class_max,
                              {l: top_v[l].cpu().numpy().astype(np.float32) for l in layers},
                              {l: top_i[l].cpu().numpy() for l in layers},
                              {l: ctop_v[l].cpu().numpy().astype(np.float32) for l in layers},
                              {l: ctop_i[l].cpu().numpy() for l in layers})


def _as_entry(stats: ResponseStatistics) -> tuple[dict, dict]:
    return stats.to_arrays(), stats.meta()
