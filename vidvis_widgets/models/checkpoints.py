"""Reading and writing checkpoints: weights only, atomic writes, clear mismatch errors."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .._atomic import atomic_path

WEIGHTS_DIR = Path(__file__).parent / "weights"


class CheckpointMismatch(ValueError):
    """A checkpoint whose keys or shapes do not fit the architecture it is loaded into."""


def save_checkpoint(path: Path, model: nn.Module, meta: dict, half: bool = True) -> None:
    """Writes {"state_dict", "meta"} atomically; ``half`` stores floats as fp16 to keep shipped weights small."""
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone()
             for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state, "meta": meta}, tmp)


def read_checkpoint(path: str | Path) -> tuple[dict, dict]:
    """(state_dict, meta) from a vidvis checkpoint, a PyTorchVideo training checkpoint (``model_state``) or a plain
    state_dict file, never unpickling code."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint {p} does not exist")
    if p.stat().st_size == 0:
        raise ValueError(f"checkpoint {p} is empty (0 bytes); expected a file written by torch.save (an interrupted "
                         "download or copy leaves an empty file)")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for corrupt or non-weights files
        raise ValueError(f"checkpoint {p} cannot be read as weights: {err or type(err).__name__}; expected a file "
                         "written by torch.save (a state dict, or vidvis' {'state_dict', 'meta'})") from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        return obj["state_dict"], dict(obj.get("meta") or {})
    if isinstance(obj, dict) and isinstance(obj.get("model_state"), dict):  # PyTorchVideo / PySlowFast training
        return obj["model_state"], {}
    if isinstance(obj, dict) and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj, {}
    raise ValueError(f"checkpoint {p} holds {type(obj).__name__}, not a state_dict")


def load_state(model: nn.Module, state: dict, source: str) -> None:
    """Loads ``state`` into ``model`` (converting dtypes); lists every mismatched key if it does not fit."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
                    for k in set(own) & set(state) if tuple(state[k].shape) != tuple(own[k].shape))
    if missing or unexpected or shapes:
        def show(items):
            return ", ".join(items[:12]) + (f" … (+{len(items) - 12} more)" if len(items) > 12 else "") or "none"

        raise CheckpointMismatch(
            f"{source} does not fit {type(model).__name__}: missing keys: {show(missing)}; "
            f"unexpected keys: {show(unexpected)}; shape mismatches: {show(shapes)}"
        )
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})


def embedded_checkpoints(name: str) -> list[Path]:
    """The shipped per-epoch checkpoints of an embedded model, oldest first."""
    return sorted((WEIGHTS_DIR / name).glob("epoch_*.pt"))
