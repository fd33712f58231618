"""Predictions, accuracy and the confusion matrix of a loaded model on a labelled dataset."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch
from torch import nn

from .run_control import device_of


@torch.no_grad()
def predict(model: nn.Module, arrays: dict, batch_size: int = 64) -> np.ndarray:
    """Class logits, N×classes, for dataset arrays (``rgb``, ``flow``), on the model's device."""
    info = model.vidvis_adapter
    device = device_of(model)
    model.eval()
    out = []
    for i in range(0, len(arrays["label"]), batch_size):
        batch = {k: arrays[k][i : i + batch_size] for k in ("rgb", "flow") if k in arrays}
        out.append(info.call(model, info.prepare(batch, device, first=i)).float().cpu())
    return torch.cat(out).numpy()


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows: true class; columns: predicted class."""
    m = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(m, (labels, predictions), 1)
    return m


def most_confused_pairs(matrix: np.ndarray, k: int = 5) -> list[tuple[int, int, int]]:
    """(class a, class b, errors between them in either direction), most first."""
    sym = matrix + matrix.T
    pairs = [(a, b, int(sym[a, b])) for a in range(len(sym)) for b in range(a + 1, len(sym))]
    return sorted(pairs, key=lambda p: -p[2])[:k]


@dataclass
class Evaluation:
    """A model's predictions on a labelled dataset: ``logits`` (N×K), ``labels`` (N), ``matrix`` (K×K,
    rows true, columns predicted)."""

    classes: tuple[str, ...]
    labels: np.ndarray = field(repr=False)
    logits: np.ndarray = field(repr=False)

    @cached_property
    def predictions(self) -> np.ndarray:
        return self.logits.argmax(1)

    @cached_property
    def matrix(self) -> np.ndarray:
        return confusion_matrix(self.labels, self.predictions, len(self.classes))

    @property
    def accuracy(self) -> float:
        return float((self.predictions == self.labels).mean())

    def class_index(self, cls: int | str) -> int:
        from ..data.loading import class_index

        return class_index(self.classes, cls)

    def most_confused(self, k: int = 5) -> list[tuple[int, int, int]]:
        """(class a, class b, errors between them in either direction), most first; only pairs with errors."""
        return [p for p in most_confused_pairs(self.matrix, k) if p[2] > 0]

    def videos(self, true: int | str, predicted: int | str | None = None) -> np.ndarray:
        """Dataset positions of videos of class ``true`` (predicted as ``predicted`` when given)."""
        t = self.class_index(true)
        hit = self.labels == t
        if predicted is not None:
            hit &= self.predictions == self.class_index(predicted)
        return np.flatnonzero(hit)

    def __repr__(self) -> str:
        pairs = ", ".join(f"{self.classes[a]}↔{self.classes[b]} ({e})" for a, b, e in self.most_confused(3))
        return (f"Evaluation({len(self.labels)} videos, top-1 {self.accuracy:.1%}, most confused: "
                f"{pairs or 'none'})")


def evaluate(model: nn.Module, dataset, *, batch_size: int = 64, num_workers: int | None = None,
             device: torch.device | str | None = None, store=None) -> Evaluation:
    """Runs ``model`` over a labelled ``dataset`` (a map-style dataset of dicts or a dict of stacked arrays,
    as :func:`~vidvis_widgets.methods.activation_maximization.response_statistics` takes). ``store`` (a
    :class:`~vidvis_widgets.store.ResultStore`, a folder path or ``True``) keeps the logits keyed by the weights and the
    dataset's ``cache_key``."""
    from ..data.loading import batches, check_classes, check_labels, dataset_key

    info = getattr(model, "vidvis_adapter", None)
    if info is None:
        raise ValueError(f"{type(model).__name__} carries no vidvis_adapter; load it with vidvis_widgets.models."
                         "load_model or attach a ModelAdapter as model.vidvis_adapter")
    classes = tuple(info.class_names)
    from ..store import as_store

    store = as_store(store)
    if store is not None:
        arrays, _ = store.get_or_compute(model, "evaluation", {"dataset": dataset_key(dataset)}, lambda: (
            _arrays(evaluate(model, dataset, batch_size=batch_size, num_workers=num_workers, device=device)),
            {"classes": list(classes)}))
        return Evaluation(classes, arrays["labels"], arrays["logits"])
    from .registry import refit_advice

    check_classes(dataset, classes, lambda ds_classes: refit_advice(model, ds_classes))
    device = device_of(model, device)
    model = model.to(device)
    labels, logits = [], []
    from .run_control import frozen

    with frozen(model), torch.no_grad():
        for batch in batches(dataset, batch_size, num_workers, device):
            host = np.asarray(batch["label"])
            seen = sum(map(len, labels))
            check_labels(host, len(classes), seen)
            labels.append(host.astype(np.int64))
            logits.append(info.call(model, info.prepare(batch, device, first=seen)).float())
    return Evaluation(classes, np.concatenate(labels), torch.cat(logits).cpu().numpy())


def _arrays(ev: Evaluation) -> dict[str, np.ndarray]:
    return {"labels": ev.labels, "logits": ev.logits}
