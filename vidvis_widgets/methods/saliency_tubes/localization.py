"""How well saliency falls on ground truth: the fraction of saliency energy inside an object mask, and the
pointing game (Zhang et al., ECCV 2016: a frame is a hit when its most salient pixel lies on the object),
for saliency tubes against two maps that know nothing of the clip — uniform random noise and a centre bias.

On SyntheticActions every clip carries a per-frame mask of the object that carries its class, so both
measures have exact ground truth.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ...table import Table

COLUMNS = ("key", "map", "clips", "frames", "energy_in_mask", "pointing", "mask_fraction")
MAP_NAMES = {"cam": "Saliency Tubes (CAM, eqs. 1–2)", "grad": "gradient-weighted tubes (last layer)",
             "uniform": "uniform random map", "centre": "centre-bias map",
             "ceiling": "the mask itself at the last layer's resolution"}


def energy_in_mask(saliency: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Σ saliency inside the mask / Σ saliency, over each whole clip: N×T×H×W → (N,). A clip with no
    saliency at all scores 0."""
    s = saliency.float().clamp_min(0).flatten(1)
    inside = (s * mask.to(s.device).flatten(1).float()).sum(1)
    return inside / s.sum(1).clamp_min(1e-12)


def pointing_game(saliency: torch.Tensor, mask: torch.Tensor, tolerance: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Per clip, (hits, frames): frames with a non-empty mask whose most salient pixel lies within
    ``tolerance`` pixels of the mask."""
    n, t, h, w = saliency.shape
    m = mask.to(saliency.device).bool().reshape(n * t, 1, h, w)
    if tolerance > 0:  # dilate the mask by a square of side 2·tolerance + 1
        m = F.max_pool2d(m.float(), 2 * tolerance + 1, stride=1, padding=tolerance).bool()
    peak = saliency.reshape(n * t, h * w).argmax(1)
    hit = m.reshape(n * t, h * w).gather(1, peak[:, None])[:, 0]
    counted = mask.to(saliency.device).reshape(n * t, -1).any(1)
    return (hit & counted).reshape(n, t).sum(1), counted.reshape(n, t).sum(1)


def uniform_random_map(shape: Sequence[int], generator: torch.Generator | None = None,
                       device: torch.device | str = "cpu") -> torch.Tensor:
    """I.i.d. uniform noise: the chance level of both measures (its energy in a mask is the mask's area)."""
    return torch.rand(tuple(shape), generator=generator).to(device)


def centre_bias_map(shape: Sequence[int], sigma: float = 0.25, device: torch.device | str = "cpu") -> torch.Tensor:
    """A Gaussian at the frame centre, σ = ``sigma`` × the frame side, the same on every frame: where
    a photographer, or a dataset, puts the action."""
    n, t, h, w = shape
    y = (torch.arange(h, device=device) + 0.5 - h / 2) / (sigma * h)
    x = (torch.arange(w, device=device) + 0.5 - w / 2) / (sigma * w)
    g = torch.exp(-0.5 * (y[:, None] ** 2 + x[None, :] ** 2))
    return g.expand(n, t, h, w)


def resolution_ceiling(mask: torch.Tensor, grid: Sequence[int]) -> torch.Tensor:
    """The best a tube made at a layer's T'×H'×W' ``grid`` can do: the mask itself, averaged down to that grid
    and interpolated back up as tubes are. Both measures of any tube at that resolution are bounded near it."""
    from ...media.interpolation import cubic_upsample, normalize_over_clip

    low = F.adaptive_avg_pool3d(mask.float()[:, None], tuple(grid))[:, 0]
    return normalize_over_clip(cubic_upsample(low, mask.shape[1:], floor_at_min=True))


class LocalizationTable(Table):
    """One row per map: energy inside the mask (mean over clips), pointing-game accuracy (over frames), and
    the mean mask area as a fraction of the frame (the uniform map's expected score on both)."""

    COLUMNS = COLUMNS
    HEAD = ("map", "clips", "frames", "energy in mask (%)", "pointing game (%)", "mask area (%)")

    @staticmethod
    def cells(r: dict) -> list[str]:
        return [r["map"], str(r["clips"]), str(r["frames"]), f"{100 * r['energy_in_mask']:.1f}",
                f"{100 * r['pointing']:.1f}", f"{100 * r['mask_fraction']:.1f}"]


def localization_benchmark(model, dataset, *, methods: Sequence = ("cam", "grad"), layers: Sequence[str] = (),
                           target: str = "label", classes: Sequence[int] | None = None, tolerance: int = 0,
                           batch_size: int = 32, seed: int = 0, threshold: float | None = None) -> LocalizationTable:
    """Energy-in-mask and pointing game of saliency tubes from ``methods`` (at the default, last layer; any
    ``method=`` of :class:`SaliencyTubes`: a name, a strategy or a Captum layer attribution class), of the
    gradient-weighted form at each of ``layers`` (earlier layers: finer maps from smaller receptive fields), and of
    the two baselines on every clip of ``dataset`` (a :class:`~vidvis_widgets.data.SyntheticActions`, or arrays
    with ``rgb``, ``mask`` and ``label``). ``target``: ``"label"`` (the true class) or ``"predicted"``;
    ``classes``: only clips of these classes. ``threshold``: τ for every map, in each form's own units; None, each
    form's default (CAM τ = 0, the gradient form every channel: Grad-CAM)."""
    from .attributions import attribution_of
    from .tubes import SaliencyTubes

    if target not in ("label", "predicted"):
        raise ValueError(f"target must be 'label' or 'predicted', got {target!r}")
    arrays = dataset.arrays() if hasattr(dataset, "arrays") else dataset
    missing = [k for k in ("rgb", "mask", "label") if k not in arrays]
    if missing:
        raise ValueError(f"the dataset has no {', '.join(missing)}; the benchmark needs clips with per-frame object masks "
                         "(SyntheticActions has them)")
    keep = np.arange(len(arrays["label"])) if classes is None else np.flatnonzero(np.isin(arrays["label"], classes))
    if not len(keep):
        raise ValueError(f"no clips of classes {list(classes)} in the dataset")
    gen = torch.Generator().manual_seed(seed)
    chosen = {attribution_of(m).key: m for m in methods}  # each row is keyed by its strategy (and its settings)
    tubers = {k: SaliencyTubes(model, method=m, batch_size=batch_size) for k, m in chosen.items()}
    names = dict(MAP_NAMES)
    for k in chosen:
        names.setdefault(k, attribution_of(chosen[k]).title)
    for layer in layers:
        tubers[f"grad:{layer}"] = SaliencyTubes(model, method="grad", layer=layer, batch_size=batch_size)
        names[f"grad:{layer}"] = f"gradient-weighted tubes at {layer}"
    keys = (*tubers, "uniform", "centre") + (("ceiling",) if chosen else ())
    sums = {k: {"energy": 0.0, "hits": 0, "frames": 0} for k in keys}
    area, clips = 0.0, 0
    for start in range(0, len(keep), batch_size):
        idx = keep[start:start + batch_size]
        batch = {k: arrays[k][idx] for k in arrays if k in ("rgb", "flow")}
        labels = arrays["label"][idx]
        maps = {}
        grid = None
        for m, tuber in tubers.items():
            r = tuber(None if target == "predicted" else labels.tolist(), batch, top_k=1, threshold=threshold)
            maps[m] = r.tubes()
            if m in chosen:  # the ceiling of the last layer's grid
                grid = tuple(r.activations.shape[2:])
        ref = next(iter(maps.values())) if maps else None
        t = ref.shape[1] if ref is not None else arrays["mask"].shape[1]
        device = ref.device if ref is not None else torch.device("cpu")
        mask = torch.as_tensor(np.asarray(arrays["mask"][idx][:, :t])).to(device)  # once, not once per map
        shape = tuple(mask.shape)
        maps["uniform"] = uniform_random_map(shape, gen, device)
        maps["centre"] = centre_bias_map(shape, device=device)
        if grid is not None:
            maps["ceiling"] = resolution_ceiling(mask, grid)
        for k, s in maps.items():
            hits, frames = pointing_game(s, mask, tolerance)
            sums[k]["energy"] += float(energy_in_mask(s, mask).sum())
            sums[k]["hits"] += int(hits.sum())
            sums[k]["frames"] += int(frames.sum())
        area += float(mask.float().mean((1, 2, 3)).sum())
        clips += len(idx)
    rows = [{"key": k, "map": names[k], "clips": clips, "frames": v["frames"], "energy_in_mask": v["energy"] / clips,
             "pointing": v["hits"] / max(v["frames"], 1), "mask_fraction": area / clips} for k, v in sums.items()]
    return LocalizationTable(rows)
