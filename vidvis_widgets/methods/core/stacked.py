"""Several checkpoints of one architecture as one model, so their optimizations share every step.

The checkpoints' weights are stacked and the architecture runs once per step under ``torch.func.vmap``:
one batched kernel per layer for all checkpoints, instead of one forward per checkpoint. A batch of E·J
inputs is read as E groups of J, group e going through checkpoint e. The layers an objective reads are
re-exposed as small tap modules under their usual names, so the loop's probe (including its taps before
a layer's final ReLU) sees an (E·J, …) tensor just as it would on one model.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from ...models.adapter import LayerLayout, adapter_of
from ...models.probe import Probe
from .forward_args import flatten_args, unflatten_args


class _Tap(nn.Module):
    """Stands where a model layer was: it receives the layer's output, or the input of the layer's final
    ReLU (then its own ReLU reproduces the output, and the loop's pre-activation hook finds it)."""

    def __init__(self, pre_activation: bool):
        super().__init__()
        self.relu = nn.ReLU() if pre_activation else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(x) if self.relu is not None else x


class StackedCheckpoints(nn.Module):
    """``models``: the same architecture with different weights; ``layers``: the layers objectives read;
    ``pre_activation``: those of them whose units are taken before their final ReLU."""

    def __init__(self, models: Sequence[nn.Module], layers: Sequence[str], pre_activation=()):
        super().__init__()
        if len(models) < 2:
            raise ValueError("stack at least two checkpoints")
        names = [sorted(m.state_dict()) for m in models]
        if any(n != names[0] for n in names[1:]):
            raise ValueError("the checkpoints to stack must share one architecture (the same state_dict keys)")
        self.num_models = len(models)
        self.params, self.buffers_ = stack_module_state(list(models))
        self.params = {k: v.detach() for k, v in self.params.items()}
        self._base = [copy.deepcopy(models[0]).to("meta")]  # a list: not a registered submodule
        self.layers = tuple(sorted(set(layers)))
        self.pre = {l for l in pre_activation if l in self.layers}
        for name in self.layers:
            self._put(name, _Tap(name in self.pre))
        adapter = adapter_of(models[0])
        # the taps carry the input's own view only (a symmetric model's other views stay inside the stack)
        self._views = adapter.layer_layout
        if hasattr(models[0], "vidvis_adapter"):
            self.vidvis_adapter = dataclasses.replace(models[0].vidvis_adapter, views=1)

    def _put(self, name: str, tap: nn.Module) -> None:
        *parents, leaf = name.split(".")
        node: nn.Module = self
        for p in parents:
            if not hasattr(node, p):
                node.add_module(p, nn.Module())
            node = getattr(node, p)
        node.add_module(leaf, tap)

    def _one(self, params, buffers, *inputs):
        # the taps carry each layer in the probe's one tensor form, the input's own view only, a transformer's
        # tokens on their grid; a layout's permutation (channels last, Video Swin) is left to the probe that reads
        # the taps on this stack
        def layout(name: str) -> LayerLayout:
            own = self._views(name)
            return LayerLayout(grid=own.grid, views=own.views, order=own.order)

        with Probe(self._base[0], self.layers, pre_activation=self.pre, layout=layout) as probe:
            out = functional_call(self._base[0], (params, buffers), inputs)
        return out, tuple(probe[n] for n in self.layers)

    def forward(self, *inputs) -> torch.Tensor:
        """The stack on ``inputs`` as the model takes them: tensors, or a list of them (SlowFast's pathways)."""
        e = self.num_models
        flat, structure = flatten_args(inputs)
        if flat[0].shape[0] % e:
            raise ValueError(f"a stack of {e} checkpoints needs a batch that is a multiple of {e}, "
                             f"got {flat[0].shape[0]}")
        grouped = [x.reshape(e, x.shape[0] // e, *x.shape[1:]) for x in flat]
        params = {k: v.to(flat[0].device) for k, v in self.params.items()}
        buffers = {k: v.to(flat[0].device) for k, v in self.buffers_.items()}
        out, taps = vmap(lambda p, b, *xs: self._one(p, b, *unflatten_args(xs, structure)))(params, buffers, *grouped)
        for name, value in zip(self.layers, taps):
            self.get_submodule(name)(value.flatten(0, 1))
        return out.flatten(0, 1)
