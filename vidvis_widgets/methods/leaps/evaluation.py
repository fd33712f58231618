"""The quantitative evaluation of model inversion in the LEAPS paper (Tables 1 and 3, Fig. 7).

For every method row: top-1 accuracy of the inverted model (m) and of the verifier (v) on the synthesized
videos; the Inception Score computed from each of those networks' class posteriors (so no ImageNet
Inception network is needed); and SSIM / PSNR between consecutive frames, which are lower for videos
with more change between frames. A row for the real stimuli gives the scale.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ...table import Table
from ...checks import number
from .inversion import ROW_NAMES, TABLE_ROWS, InversionJob, InversionResult, ModelInversion

COLUMNS = ("method", "videos", "top1_m", "top1_v", "is_m", "is_m_std", "is_v", "is_v_std", "ssim", "psnr")


def inception_score(probs: np.ndarray | torch.Tensor, splits: int = 1) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) ‖ p(y))) over ``splits`` equal parts of the (N, C) posteriors: mean and std."""
    p = torch.as_tensor(probs, dtype=torch.float64)
    scores = []
    for part in torch.tensor_split(p, max(1, min(splits, len(p)))):
        marginal = part.mean(0, keepdim=True)
        kl = (part * (torch.log(part.clamp_min(1e-12)) - torch.log(marginal.clamp_min(1e-12)))).sum(1)
        scores.append(float(torch.exp(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


def frame_similarity(videos: torch.Tensor) -> tuple[float, float]:
    """Mean SSIM and PSNR (dB) between consecutive frames of N×3×T×H×W videos in [0, 1]. Identical
    frames, whose PSNR is infinite, count as 100 dB."""
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    v = videos.float()
    a = v[:, :, :-1].transpose(1, 2).flatten(0, 1)
    b = v[:, :, 1:].transpose(1, 2).flatten(0, 1)
    ssim = structural_similarity_index_measure(b, a, data_range=1.0)
    psnr = peak_signal_noise_ratio(b, a, data_range=1.0, reduction="none", dim=(1, 2, 3))
    return float(ssim), float(torch.nan_to_num(psnr, posinf=100.0).clamp_max(100.0).mean())


class InversionTable(Table):
    """The evaluation table: one row per method, columns :data:`COLUMNS`. Index by column name for an
    array, or by method key (``"leaps"``, ``"am"`` …) for a row dict; ``to_pandas()`` where pandas is
    installed."""

    COLUMNS = COLUMNS
    HEAD = ("method", "videos", "top-1 m (%)", "top-1 v (%)", "IS m", "IS v", "SSIM t,t+1", "PSNR t,t+1 (dB)")

    @staticmethod
    def cells(r: dict) -> list[str]:
        return [r["method"], str(r["videos"]), f"{100 * r['top1_m']:.1f}", f"{100 * r['top1_v']:.1f}",
                f"{r['is_m']:.2f} ± {r['is_m_std']:.2f}", f"{r['is_v']:.2f} ± {r['is_v_std']:.2f}",
                f"{r['ssim']:.3f}", f"{r['psnr']:.1f}"]


def score_videos(inv: ModelInversion, xs: torch.Tensor, targets: Sequence[int], *, splits: int = 1) -> dict:
    """The table's measures for N×3×T×H×W videos in the model's normalized units with their classes."""
    from ...models.run_control import frozen

    y = torch.as_tensor(list(targets), device=inv.device)
    xs = xs.to(inv.device)
    with torch.no_grad(), frozen(inv.model), frozen(inv.verifier):
        pm = inv.model_logits(xs).float().softmax(1)
        pv = inv.verifier_logits(xs).float().softmax(1)
    pix = (xs * inv.std.view(1, 3, 1, 1, 1) + inv.mean.view(1, 3, 1, 1, 1)).clamp(0, 1)
    is_m, is_m_std = inception_score(pm.cpu(), splits)
    is_v, is_v_std = inception_score(pv.cpu(), splits)
    ssim, psnr = frame_similarity(pix)
    return {"videos": len(y), "top1_m": float((pm.argmax(1) == y).float().mean()),
            "top1_v": float((pv.argmax(1) == y).float().mean()), "is_m": is_m, "is_m_std": is_m_std,
            "is_v": is_v, "is_v_std": is_v_std, "ssim": ssim, "psnr": psnr}


def class_stimuli(dataset, classes: Sequence[int], per_class: int = 1, seed: int = 0) -> tuple[list, list[int]]:
    """``per_class`` videos of each class drawn at random from ``dataset`` (arrays with ``rgb`` and
    ``label``, or a dataset with ``.arrays()``), as the paper draws its stimuli from a validation set."""
    arrays = dataset.arrays() if hasattr(dataset, "arrays") else dataset
    labels = np.asarray(arrays["label"])
    rng = np.random.default_rng(seed)
    videos, out_labels = [], []
    for c in classes:
        idx = np.flatnonzero(labels == c)
        if len(idx) < per_class:
            raise ValueError(f"the dataset has {len(idx)} videos of class {c}; {per_class} stimuli were asked for")
        for i in rng.choice(idx, per_class, replace=False):
            videos.append(np.asarray(arrays["rgb"][i]))
            out_labels.append(int(c))
    return videos, out_labels


def evaluate_inversion(model, verifier="auto", *, classes: Sequence[int | str] | None = None, stimuli=None,
                       stimulus_labels: Sequence[int | str] | None = None, per_class: int = 1,
                       seeds: Sequence[int] = (0,), methods: Sequence[str] = TABLE_ROWS, steps: int = 2000,
                       splits: int = 1, stop=None, callback=None, progress: bool | None = None,
                       **kw) -> tuple[InversionTable, list[InversionResult]]:
    """Synthesizes videos with every method of ``methods`` and scores them (Tables 1 and 3 of the paper).

    The primed methods use each stimulus with each seed; DeepDream and AM, which take no stimulus, run
    ``len(seeds)`` × (stimuli per class) times per class, so every row scores the same number of videos.
    ``classes`` and ``stimulus_labels``: indices or the model's class names.
    ``stimuli``: videos T×H×W×3 with ``stimulus_labels``; default ``per_class`` random videos per class of
    the embedded dataset's val split. Returns the table and every synthesized result. ``progress``: a bar over
    the steps, as :meth:`ModelInversion.__call__` takes it. Keyword arguments configure
    :class:`~vidvis_widgets.methods.leaps.ModelInversion`."""
    inv = model if isinstance(model, ModelInversion) else ModelInversion(model, verifier, **kw)
    if inv.verifier is None:
        raise ValueError("the evaluation scores the verifier's top-1 and Inception Score, so it needs a verifier "
                         "network (default: the embedded tiny_verifier)")
    unknown = [m for m in methods if m not in TABLE_ROWS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(map(str, unknown))}; expected some of {', '.join(TABLE_ROWS)}")
    per_class = number("per_class", per_class, low=1, integer=True)
    splits = number("splits", splits, low=1, integer=True)
    if stimuli is None:
        from ...data.synthetic import SyntheticActions

        cls = list(range(inv.num_classes)) if classes is None else [inv.class_index(c) for c in classes]
        stimuli, stimulus_labels = class_stimuli(SyntheticActions("val"), cls, per_class)
    elif stimulus_labels is None:
        raise ValueError("give stimulus_labels, the class of each stimulus, with your own stimuli")
    stimulus_labels = [inv.class_index(c) for c in stimulus_labels]
    jobs = []
    for m in methods:
        for i, c in enumerate(stimulus_labels):
            # the unprimed rows run as often per class as the primed ones, with seeds of their own
            jobs += [InversionJob(c, i if m not in ("deepdream", "am") else None,
                                  s if m not in ("deepdream", "am") else s * len(stimulus_labels) + i, m)
                     for s in seeds]
    results = inv(jobs, stimuli, steps=steps, stop=stop, callback=callback, stimulus_labels=stimulus_labels,
                  progress=progress)
    rows = []
    real = torch.stack([inv.prepare_stimulus(v) for v in stimuli])
    rows.append({"key": "stimuli", "method": "real stimuli", **score_videos(inv, real, stimulus_labels,
                                                                            splits=splits)})
    for m in methods:
        mine = [r for r in results if r.job.variant == m]
        if not mine:
            continue
        xs = torch.stack([torch.from_numpy(r.x) for r in mine])
        rows.append({"key": m, "method": ROW_NAMES[m], **score_videos(inv, xs, [r.job.target for r in mine],
                                                                      splits=splits)})
    return InversionTable(rows), results
