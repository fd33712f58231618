"""A model's ``forward`` arguments as a flat list of tensors and back: each argument a tensor, or a list of them
(a multi-pathway model's one list argument). For code that takes tensors only (``vmap``, Captum)."""

from __future__ import annotations

import torch


def flatten_args(inputs: tuple) -> tuple[list[torch.Tensor], tuple]:
    """``forward``'s arguments as a flat list of tensors, and their structure: each argument a tensor (None) or
    a list of that many (a multi-pathway model's one list argument)."""
    flat, structure = [], []
    for x in inputs:
        if isinstance(x, (list, tuple)):
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
        else:
            out.append(list(flat[i:i + n]))  # a fresh list per call: SlowFast's blocks write into it
            i += n
    return tuple(out)
