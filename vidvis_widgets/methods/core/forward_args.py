"""A model's ``forward`` arguments as a flat list of tensors and back: each argument a tensor, a list of them (a
multi-pathway model's one list argument) or a dict of them (a model whose adapter passes its streams by name). For
code that takes tensors only (``vmap``, Captum), or that slices every input alike (:func:`map_args`)."""

from __future__ import annotations

from typing import Callable

import torch


def flatten_args(inputs: tuple) -> tuple[list[torch.Tensor], tuple]:
    """``forward``'s arguments as a flat list of tensors, and their structure: each argument a tensor (None), a
    list of that many (a multi-pathway model's one list argument), or a dict's keys in order (a tuple of str)."""
    flat, structure = [], []
    for x in inputs:
        if isinstance(x, dict):
            flat.extend(x.values())
            structure.append(tuple(x))
        elif isinstance(x, (list, tuple)):
            flat.extend(x)
            structure.append(len(x))
        else:
            flat.append(x)
            structure.append(None)
    return flat, tuple(structure)


def unflatten_args(flat, structure: tuple) -> tuple:
    out, i = [], 0
    for n in structure:
        if n is None:
            out.append(flat[i])
            i += 1
        elif isinstance(n, tuple):  # a dict's keys
            out.append(dict(zip(n, flat[i:i + len(n)])))
            i += len(n)
        else:
            out.append(list(flat[i:i + n]))  # a fresh list per call: SlowFast's blocks write into it
            i += n
    return tuple(out)


def map_args(inputs: tuple, fn: Callable[[torch.Tensor], torch.Tensor]) -> tuple:
    """``forward``'s arguments with ``fn`` applied to every tensor, in fresh containers (the first clip of each
    input: ``map_args(args, lambda t: t[:1])``; a copy a model may fill in place: ``map_args(args, lambda t: t)``)."""
    flat, structure = flatten_args(inputs)
    return unflatten_args([fn(t) for t in flat], structure)
