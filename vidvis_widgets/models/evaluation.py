"""Predictions and accuracy of a loaded model on dataset arrays."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


@torch.no_grad()
def predict(model: nn.Module, arrays: dict, batch_size: int = 64) -> np.ndarray:
    """Class logits, N×classes, for dataset arrays (``rgb``, ``flow``), on the model's device."""
    info = model.vidvis_info
    device = next(model.parameters()).device
    model.eval()
    out = []
    for i in range(0, len(arrays["label"]), batch_size):
        batch = {k: arrays[k][i : i + batch_size] for k in ("rgb", "flow") if k in arrays}
        out.append(model(*info.prepare(batch, device)).float().cpu())
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
