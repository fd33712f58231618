"""â, the normalization of eq. 1: each unit's largest response on validation data (a response pass over ``val_data``,
by default the embedded val split for the embedded models), given per layer, or 1; checked finite for every job's
unit before its first step."""

from __future__ import annotations

import math
import threading
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ...models.registry import is_embedded
from .geometry import LayerGeometry
from .results import UNKNOWN_MAX, ResolvedJob

__all__ = ["ActivationMaxima"]


class ActivationMaxima:
    """â per layer for ``model``, kept once known (``known``: layer → (C,) array) with where it came from
    (``source``). ``setting``: ``"auto"``, ``None`` or a dict layer → per-channel maxima, as ActivationMaximization's
    ``activation_max`` takes; ``val_data`` the data of the response pass."""

    def __init__(self, model: nn.Module, geometry: LayerGeometry, setting="auto", val_data=None, device=None):
        self.model, self.geometry, self.setting, self.val_data, self.device = model, geometry, setting, val_data, device
        self.known: dict[str, np.ndarray] = {}
        self.source = UNKNOWN_MAX

    def of(self, layers: Sequence[str], stop: threading.Event | None = None) -> dict[str, np.ndarray]:
        """â per layer: each channel's largest activation (summed over locations) on the validation data.
        ``stop``: ends the pass over the validation data with :class:`~vidvis_widgets.models.run_control.Stopped`."""
        missing = [l for l in set(layers) if l not in self.known]
        if missing:
            given = self.setting
            if isinstance(given, dict):
                for l in missing:
                    a = self.given(l)
                    channels = self.geometry.row(l).output_shape[0]
                    if len(a) != channels:
                        raise ValueError(f"activation_max[{l!r}] has {len(a)} entries; layer {l!r} has {channels} "
                                         "channels, so expected one maximum per channel")
                    self.known[l] = a
                self.source = "given"
            elif given == "auto" and (self.val_data is not None or is_embedded(self.model)):
                self.known.update(self.response_pass(missing, stop))
                self.source = "validation set"
            elif given in ("auto", None):
                for l in missing:
                    self.known[l] = np.ones(self.geometry.row(l).output_shape[0], np.float32)
            else:
                raise ValueError("activation_max must be 'auto', None or a dict layer → per-channel maxima")
        return {l: self.known[l] for l in layers}

    def response_pass(self, layers: Sequence[str], stop: threading.Event | None = None) -> dict[str, np.ndarray]:
        from .response_statistics import response_statistics

        data = self.val_data
        if data is None:
            data = _ValSplit()
        elif isinstance(data, dict) and "label" not in data:  # â needs no labels
            data = {**data, "label": np.zeros(len(data["rgb"]), np.int64)}
        # summed over locations: the quantity the unit term of eq. 1 maximizes for a conv unit
        stats = response_statistics(self.model, data, layers, reduce="sum", device=self.device, num_workers=0,
                                    stop=stop)
        return stats.activation_max

    def given(self, layer: str) -> np.ndarray:
        """The given â of ``layer`` as a 1-D float array, or a clear error."""
        if layer not in self.setting:
            raise ValueError(f"activation_max has no entry for layer {layer!r}; it gives "
                             f"{', '.join(map(repr, self.setting)) or 'none'}")
        try:
            a = np.asarray(self.setting[layer], np.float32)
        except (TypeError, ValueError):
            a = None
        if a is None or a.ndim != 1:
            raise ValueError(f"activation_max[{layer!r}] must be one number per channel (a 1-D array), got "
                             f"{self.setting[layer]!r:.80}")
        return a

    def check_given(self, jobs: Sequence[ResolvedJob]) -> None:
        """Given â, checked for the jobs' units before anything is measured."""
        if not isinstance(self.setting, dict):
            return
        for j in (j for j in jobs if j.target is None):
            a = self.given(j.layer)
            if j.channel >= len(a):
                raise ValueError(f"activation_max[{j.layer!r}] has {len(a)} entries, none for {j.unit}")
            if not math.isfinite(float(a[j.channel])):
                raise ValueError(f"activation_max[{j.layer!r}][{j.channel}], the â of {j.unit}, is {a[j.channel]}; "
                                 "â must be finite (the unit's largest response on validation data)")

    def a_hat(self, job: ResolvedJob) -> float | None:
        """The job's â, refused when it is not finite (a/â and the objective would be NaN); None for a target."""
        if job.target is not None:
            return None
        a = float(self.of([job.layer])[job.layer][job.channel])
        if not math.isfinite(a):
            raise ValueError(f"the â of {job.unit} ({self.source}) is {a}; â must be finite. The unit's "
                             "responses on the validation data are not finite: check the model and the data, or "
                             "give activation_max=")
        return a


class _ValSplit(torch.utils.data.Dataset):
    """The embedded val split, drawn a batch at a time (so a Stop is answered while it is drawn), its flow
    rounded to float16 as ``SyntheticActions("val").arrays(flow_dtype=np.float16)`` gives it."""

    def __init__(self):
        from ...data.synthetic import SyntheticActions

        self.data = SyntheticActions("val")

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> dict:
        item = self.data[i]
        return {"rgb": item["rgb"], "flow": item["flow"].astype(np.float16), "label": item["label"]}
