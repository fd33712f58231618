"""Layer geometry for activation maximization: the model's layer table and the rows a run reads (output shape,
receptive field, stride), the jobs resolved to real layers and channels and checked against them, and what the
geometry sets in eq. 1: ρ_l (the receptive field's side) and the jitter's range and step."""

from __future__ import annotations

import dataclasses
import difflib
import math
import threading
from typing import Sequence

from torch import nn

from ...models.streams import InputStreams
from .results import AMJob, ResolvedJob

__all__ = ["LayerGeometry"]


class LayerGeometry:
    """The geometry of ``model``'s layers at the input ``streams`` give it, measured once per layer and kept:
    ``table`` (the whole layer table, once asked for) and ``rows`` (layer name → its row)."""

    def __init__(self, model: nn.Module, streams: InputStreams, adapter):
        self.model, self.streams, self.adapter = model, streams, adapter
        self.layout = adapter.layer_layout
        self.table = None
        self.rows: dict = {}

    def input_shape(self):
        """The model's input shape as the layer table takes it (one per stream)."""
        return self.streams.input_shape

    def layers(self, stop: threading.Event | None = None):
        """The model's whole layer table (output shape, receptive field, stride), cached. ``stop``: an Event
        that ends the work with :class:`~vidvis_widgets.models.run_control.Stopped` within a layer."""
        if self.table is None:
            from ...models.layers import list_layers

            self.table = list_layers(self.model, self.input_shape(), layout=self.layout, stop=stop)
        return self.table

    def unknown_layer(self, name: str, names) -> ValueError:
        close = difflib.get_close_matches(name, list(names), n=4, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return ValueError(f"unknown layer {name!r} in {type(self.model).__name__}{hint} "
                          "(vidvis_widgets.models.list_layers(model, input_shape) lists every layer)")

    def row(self, name: str, stop: threading.Event | None = None):
        """``name``'s row of the layer table: its output shape from one (cached) forward pass, and the field and
        stride where they derive from the modules' geometry (nothing is measured for AM)."""
        if name not in self.rows:
            self.fetch_rows([name], stop)
        return self.rows[name]

    def fetch_rows(self, names: Sequence[str], stop: threading.Event | None = None) -> None:
        """The rows of ``names`` not known yet, all from one pass that ends once they have run
        (:func:`~vidvis_widgets.models.layers.layer_rows`); with the class-logit layer among them, from the whole
        table, which that layer's jitter range (the deepest stride) reads anyway."""
        from ...models.layers import layer_rows, list_layers

        names = [n for n in dict.fromkeys(names) if n not in self.rows]
        if not names:
            return
        modules = dict(self.model.named_modules())
        for name in names:
            if name not in modules or not name:
                raise self.unknown_layer(name, [n for n in modules if n])
        if self.adapter.logit_layer in names:
            rows = list_layers(self.model, self.input_shape(), layers=names, measure=False, layout=self.layout,
                               stop=stop)
        else:
            rows = layer_rows(self.model, self.input_shape(), names, layout=self.layout, stop=stop)
        self.rows.update((r.name, r) for r in rows)

    def resolve(self, jobs: Sequence[AMJob]) -> list[ResolvedJob]:
        """The jobs on this model (:class:`ResolvedJob`): their targets' class names as indices and layer names
        checked, without measuring anything, so a misspelt layer or class is reported at once, with the close
        matches. ρ and the jitter come from the deepest layer a target reads."""
        names = [n for n, _ in self.model.named_modules() if n]
        known = set(names)
        out = []
        for j in jobs:
            if isinstance(j, ResolvedJob):
                out.append(j)
                continue
            try:
                t = j.target.resolve(self.adapter, f"AMJob target {j.target!r}")
            except ValueError as err:
                layers = [c for c, _ in j.target.classes if isinstance(c, str) and c in known]
                if not layers:
                    raise
                raise ValueError(f"{err}. {layers[0]!r} is a layer: a unit is unit({layers[0]!r}, channel)") from None
            for layer in t.layers():
                if layer not in known:
                    raise self.unknown_layer(layer, names)
            job, one = dataclasses.replace(j, target=t), t.single_unit()
            out.append(ResolvedJob(job, *one) if one is not None else
                       ResolvedJob(job, max(t.layers(), key=names.index), target=t))
        return out

    def check(self, job: ResolvedJob) -> None:
        """A job's unit checked against its layer's real channel count (an error naming both); a target's
        read-outs against their layers' shapes."""
        if job.target is not None:
            job.target.check({l: self.row(l).output_shape for l in job.target.layers()},
                             f"AMJob target {job.target!r}")
        info = self.row(job.layer)
        channels = info.output_shape[0] if info.output_shape else 0
        if job.target is None and not 0 <= job.channel < channels:
            raise ValueError(f"channel {job.channel} out of range for layer {job.layer!r}, which has {channels} "
                             f"channels (0…{channels - 1})")
        spatial = info.output_shape[-2:] if info.output_shape and len(info.output_shape) >= 3 else None
        # a class-logit layer may be a 1×1×1 convolution (S3D's head): its units are class scores, not maps
        if spatial is not None and min(spatial) < 2 and job.layer != self.adapter.logit_layer:
            H, W = self.streams.size
            need = [2 * max(1, round(d / o)) if o else 2 * d for d, o in zip((H, W), spatial)]
            raise ValueError(f"input {H}×{W} is too small for layer {job.layer!r}: its output is "
                             f"{'×'.join(map(str, spatial))} (receptive field {info.receptive_field}), so its units "
                             f"have no locations to sum over and jitter moves nothing; use an input of at least "
                             f"{need[0]}×{need[1]}")

    def stride(self, layer: str) -> int:
        """The layer's accumulated spatial stride at the input."""
        info = self.row(layer)
        if info.stride:
            return max(info.stride[-2:])
        if len(info.output_shape) >= 3:  # not derivable (attention): the input-to-output size ratio
            return max(max(1, round(d / o)) for d, o in zip(self.streams.size, info.output_shape[-2:]))
        # fc layers: every preceding downsampling accumulated (the deepest spatial stride)
        from ...models.layers import deepest_stride

        return deepest_stride(self.model, self.input_shape(), layout=self.layout)

    def jitter(self, layer: str, in_patches: bool = True) -> tuple[int, tuple[int, int]]:
        """Jitter range and step: shifts are multiples of the step (px, (dy, dx)) below range × step. The
        range is the layer's accumulated stride, at most a seventh of the input side: VGG-16's deepest stride,
        32, is a seventh of the papers' 224 px; on a small input the full stride of a deep layer would move the
        input by half its width, which is no longer sub-stride interpolation. On a model that cuts its input
        into patches (the adapter's token grid) a shift within a patch re-cuts every token, so the step is the
        patch and the range at least two patches: the tokens move on their grid."""
        pixels = max(1, min(self.stride(layer), min(self.streams.size) // 7))
        patch = self.patch() if in_patches else (1, 1)
        if patch == (1, 1):
            return pixels, patch
        return max(2, math.ceil(pixels / max(patch))), patch

    def patch(self) -> tuple[int, int]:
        """The input pixels (H, W) of one token of the adapter's token grid; (1, 1) without one."""
        grid = self.adapter.token_grid
        H, W = self.streams.size
        if grid is None or H % grid[1] or W % grid[2]:
            return 1, 1
        return H // grid[1], W // grid[2]

    def rho(self, layer: str) -> float:
        """ρ_l of eq. 1: the side of the layer's receptive field (IJCV 2020 §3), not capped: a field may pass the
        input, as the papers' does (VGG-16's fc layers: 404 px at 224). Vector layers (fc) and fields that do
        not derive (attention) take the input's side."""
        info = self.row(layer)
        rf = info.receptive_field or self.streams.size
        return float(max(rf[-2:]))
