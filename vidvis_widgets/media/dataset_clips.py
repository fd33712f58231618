"""Clips of dataset videos by position, for the views that play a unit's or a class's examples."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .clips import Clip, as_clip


def dataset_item(dataset, index: int) -> dict:
    """One video as a dict (``rgb`` T×H×W×3, ``flow`` T×2×H×W when present, ``label``) from a map-style
    dataset or a dict of stacked arrays."""
    if isinstance(dataset, dict):
        n = len(dataset["label"])
        if not 0 <= index < n:
            raise IndexError(f"video {index} is out of range for {n} videos")
        return {k: dataset[k][index] for k in ("rgb", "flow", "label") if k in dataset}
    return dataset[int(index)]


def dataset_clips(dataset, indices: Sequence[int], flow: bool = True) -> tuple[list[Clip], list[Clip | None]]:
    """(RGB clips, flow clips) of the videos at ``indices``; flow clips are ``None`` where the data has none."""
    rgb, flows = [], []
    for i in indices:
        item = dataset_item(dataset, int(i))
        rgb.append(as_clip(np.asarray(item["rgb"]), layout="THWC"))
        f = item.get("flow") if flow else None
        flows.append(as_clip(np.asarray(f, np.float32), layout="TCHW") if f is not None else None)
    return rgb, flows
