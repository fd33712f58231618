"""Batches from a labelled dataset for one inference pass, and the dataset's identity for the result store."""

from __future__ import annotations

import hashlib
import os
from typing import Iterable

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, SequentialSampler

KEYS = ("rgb", "flow", "label")


class _Arrays(Dataset):
    """In-memory arrays, indexed a whole batch at a time: one slice per key instead of a stack of rows."""

    def __init__(self, arrays: dict):
        self.arrays, self.n = arrays, len(arrays["label"])

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, rows: list[int]) -> dict:
        return {k: v[rows[0]:rows[-1] + 1] for k, v in self.arrays.items() if k in KEYS}


def _collate(items: list[dict]) -> dict[str, np.ndarray]:
    # numpy, not tensors: info.prepare takes arrays, and workers then ship one buffer per key
    return {k: np.stack([np.asarray(it[k]) for it in items]) for k in KEYS if k in items[0]}


def check_classes(dataset, classes: tuple[str, ...], advice=None) -> None:
    """A dataset that names its classes must name the model's, in the model's order. ``advice(dataset_classes)``:
    what the error tells the user to call (the models' loader knows the call that loads the model)."""
    ds_classes = getattr(dataset, "classes", None)
    if ds_classes is not None and tuple(ds_classes) != tuple(classes):
        diff = [f"{i}: {a!r} vs {b!r}" for i, (a, b) in enumerate(zip(ds_classes, classes)) if a != b]
        raise ValueError(f"the dataset's classes do not match the model's ({len(ds_classes)} vs {len(classes)} "
                         f"classes{'; first differences: ' + ', '.join(diff[:3]) if diff else ''}); "
                         "expected the class list the model was trained on, in the same order. "
                         + (advice(tuple(ds_classes)) if advice is not None else "If the model's head was trained on "
                            "the dataset's classes, name them when loading it: load_model(..., class_names=dataset.classes)"))


def class_index(classes: tuple[str, ...], cls) -> int:
    """A class given by index or name, as an index into ``classes``; a clear error for anything else."""
    k = classes.index(cls) if isinstance(cls, str) and cls in classes else cls
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 0 <= k < len(classes):
        raise ValueError(f"unknown class {cls!r}; expected an index 0–{len(classes) - 1} or one of {', '.join(classes)}")
    return int(k)


def num_videos(dataset) -> int:
    """How many videos a map-style dataset or a dict of stacked arrays holds."""
    return len(dataset["label"]) if isinstance(dataset, dict) else len(dataset)


def default_workers(device: torch.device) -> int:
    """Half the cores (at most 8) feeding a GPU; none on the CPU, where workers take cores from the model."""
    return min(8, (os.cpu_count() or 2) // 2) if device.type == "cuda" else 0


def batches(dataset, batch_size: int, num_workers: int | None, device: torch.device) -> Iterable[dict]:
    """Numpy batches with ``rgb``, ``flow`` (when present) and ``label``, in dataset order.

    ``dataset``: a map-style dataset of dicts (e.g. :class:`SyntheticActions`), drawn by ``num_workers``
    loader processes, or a dict of stacked arrays, sliced in place."""
    if isinstance(dataset, dict):
        if "label" not in dataset:
            raise ValueError("dataset arrays need a 'label' entry (N,) besides 'rgb' and 'flow'")
        dataset = _Arrays(dataset)
        workers = 0 if num_workers is None else num_workers
        if len(dataset) == 0:
            raise ValueError("the dataset is empty; expected at least one labelled video")
        sampler = BatchSampler(SequentialSampler(dataset), batch_size, drop_last=False)
        return DataLoader(dataset, batch_size=None, sampler=sampler, num_workers=workers)
    if len(dataset) == 0:
        raise ValueError("the dataset is empty; expected at least one labelled video")
    workers = default_workers(device) if num_workers is None else num_workers
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=_collate, num_workers=workers,
                      pin_memory=device.type == "cuda")


def dataset_key(dataset) -> str:
    """What identifies the dataset's clips and labels in a store key: its ``cache_key``, or a hash of its arrays."""
    key = getattr(dataset, "cache_key", None)
    if key is not None:
        return str(key)
    if isinstance(dataset, dict):
        h = hashlib.sha256()
        for k in sorted(dataset):
            a = np.ascontiguousarray(dataset[k])
            h.update(f"{k}|{a.dtype}|{a.shape}|".encode())
            h.update(a.tobytes())
        return "arrays/" + h.hexdigest()
    raise ValueError(f"to store results for a {type(dataset).__name__}, give it a cache_key attribute: a string "
                     "that changes whenever its clips or labels do")


def check_labels(host_labels: np.ndarray, num_classes: int, offset: int) -> None:
    bad = np.flatnonzero((host_labels < 0) | (host_labels >= num_classes))
    if len(bad):
        raise ValueError(f"label {int(host_labels[bad[0]])} at dataset position {offset + bad[0]} is outside "
                         f"the model's {num_classes} classes; expected labels 0–{num_classes - 1}")
