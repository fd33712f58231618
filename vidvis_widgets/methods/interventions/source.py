"""Where an intervention's clips come from: a dataset (a map-style dataset of dicts, such as
:class:`~vidvis_widgets.data.SyntheticActions` or :class:`~vidvis_widgets.data.VideoFolder`) or a dict of stacked
arrays (``rgb`` N×T×H×W×3, ``label`` N, and ``flow`` N×T×2×H×W where there is one), read a few clips at a time."""

from __future__ import annotations

import numpy as np

from ...data.video_folder import FLOW_METHODS

FORMS = ("a dataset (SyntheticActions, VideoFolder, any map-style dataset of dicts with 'rgb' and 'label') or a dict "
         "of arrays with 'rgb' N×T×H×W×3, 'label' N and, for a two-stream model, 'flow' N×T×2×H×W")


class Source:
    """Clips by position: ``n``, ``labels`` (N,), ``classes`` (the dataset's class names, or None), ``estimated``
    (the flow method that made the dataset's flow, where it was estimated, else None) and :meth:`clips`."""

    def __init__(self, inputs, name: str = "inputs"):
        self.inputs, self.name = inputs, name
        if isinstance(inputs, dict):
            missing = [k for k in ("rgb", "label") if k not in inputs]
            if missing:
                raise ValueError(f"{name} is a dict without {', '.join(map(repr, missing))}; expected {FORMS}")
            rgb, labels = np.asarray(inputs["rgb"]), np.asarray(inputs["label"])
            if rgb.ndim != 5 or rgb.shape[-1] != 3:
                raise ValueError(f"{name}['rgb'] must be N×T×H×W×3, got shape {rgb.shape}")
            if labels.shape != (len(rgb),):
                raise ValueError(f"{name}['label'] must hold one label per clip, shape ({len(rgb)},); got {labels.shape}")
            flow = inputs.get("flow")
            if flow is not None and (np.ndim(flow) != 5 or np.shape(flow)[:2] != rgb.shape[:2]
                                     or np.shape(flow)[2] != 2 or np.shape(flow)[3:] != rgb.shape[2:4]):
                raise ValueError(f"{name}['flow'] must be N×T×2×H×W beside rgb {rgb.shape}, got {np.shape(flow)}")
            self.n, self.labels, self.classes = len(rgb), labels.astype(np.int64), None
            self.has_flow, self.estimated = flow is not None, None
            return
        if not hasattr(inputs, "__len__") or not hasattr(inputs, "__getitem__"):
            raise ValueError(f"{name} is a {type(inputs).__name__}; expected {FORMS}")
        self.n = len(inputs)
        if self.n == 0:
            raise ValueError(f"{name} is empty; expected at least one labelled clip")
        self.labels = self._labels()
        classes = getattr(inputs, "classes", None)
        self.classes = tuple(classes) if classes is not None else None
        method = getattr(inputs, "flow", None)
        self.estimated = method if isinstance(method, str) and method in FLOW_METHODS else None
        first = inputs[0]
        if "rgb" not in first or "label" not in first:
            raise ValueError(f"{name}[0] has keys {sorted(first)}; expected {FORMS}")
        self.has_flow = "flow" in first

    def _labels(self) -> np.ndarray:
        labels = getattr(self.inputs, "labels", None)
        if labels is None:
            samples = getattr(self.inputs, "samples", None)  # a VideoFolder's (path, label) pairs
            labels = [s[1] for s in samples] if samples is not None else [self.inputs[i]["label"] for i in range(self.n)]
        return np.asarray(labels, dtype=np.int64)

    def clips(self, idx) -> tuple[np.ndarray, np.ndarray | None]:
        """(rgb K×T×H×W×3, flow K×T×2×H×W or None) of the clips at positions ``idx``."""
        idx = [int(i) for i in idx]
        if isinstance(self.inputs, dict):
            flow = self.inputs.get("flow")
            return np.asarray(self.inputs["rgb"])[idx], None if flow is None else np.asarray(flow)[idx]
        arrays = getattr(self.inputs, "arrays", None)
        if callable(arrays):  # drawn straight into one batch (SyntheticActions)
            got = arrays(idx)
        else:
            items = [self.inputs[i] for i in idx]
            got = {k: np.stack([np.asarray(it[k]) for it in items]) for k in ("rgb", "flow") if k in items[0]}
        return got["rgb"], got.get("flow")

    def key(self) -> str:
        from ...data.loading import dataset_key

        return dataset_key(self.inputs)
