"""The course's models: the embedded weights for the default world, a small model retrained on the CPU for any
``bias_seed`` (cached, so a notebook rerun loads it in a second)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import training
from ._atomic import atomic_path
from .checks import number
from .data.bias import WORLD_VERSION, check_seed, check_strength
from .data.synthetic import SyntheticActions

#: clips per class of the training split and epochs a course retrain uses by default, chosen so that one takes
#: about a minute on a 2-core CPU (benchmarks/retrain_seed.py measures it) and still learns its world's bias
COURSE_SAMPLES = 100
COURSE_EPOCHS = 6
#: the validation clips per class a retrain measures each epoch on
COURSE_VAL = 8


def course_folder(bias_seed: int | None, bias_strength: float, cache=None) -> Path:
    """Where a retrain for (``bias_seed``, ``bias_strength``) is kept: ``cache``, else
    ``$VIDVIS_CACHE_DIR/course``, else ``~/.cache/vidvis-widgets/course``, then ``<seed>/<strength>``."""
    from .store import default_root

    root = Path(cache) if cache is not None else default_root() / "course"
    return root / str(bias_seed) / f"{bias_strength:g}"


def course_model(bias_seed: int | None, name: str = "tiny_two_stream", *, samples_per_class: int | None = None,
                 epochs: int | None = None, bias_strength: float | None = None, decorrelate: bool = False,
                 cache=None, progress: bool = True, seed: int = 0) -> nn.Module:
    """The model that fits ``SyntheticActions(bias_seed=bias_seed, bias_strength=...)``, in eval mode.

    ``bias_seed`` None with the default strength: the embedded weights (no training). Otherwise ``name`` (an
    embedded architecture) is trained from scratch with :func:`training.train_model` on ``samples_per_class``
    training clips per class (default :data:`COURSE_SAMPLES`) for ``epochs`` (default :data:`COURSE_EPOCHS`),
    torch seed ``seed``, and kept in :func:`course_folder` (``cache``: another root folder); a later call with the
    same arguments loads it (weights only) instead of training, unless the seeded worlds' clips have changed since
    (``data.bias.WORLD_VERSION``). ``decorrelate=True`` trains on the same world with
    the bias at strength 0.5, where what went with each class no longer does. ``bias_strength``: in [0.5, 1]
    (None: the world's default, 1.0 without a seed, 0.9 with one). ``progress``: a progress bar while training."""
    from .models.registry import load_model

    if not isinstance(name, str) or name not in training.EMBEDDED_MODELS:
        raise ValueError(f"name must be one of the embedded architectures ({', '.join(training.EMBEDDED_MODELS)}), "
                         f"got {name!r}")
    bias_seed = check_seed(bias_seed)
    if not isinstance(decorrelate, bool):
        raise ValueError(f"decorrelate must be True or False, got {decorrelate!r}")
    if decorrelate and bias_strength is not None and bias_strength != 0.5:
        raise ValueError(f"decorrelate=True trains at bias_strength 0.5; got bias_strength={bias_strength!r} "
                         "as well (pass one or the other)")
    strength = 0.5 if decorrelate else check_strength(bias_strength, bias_seed)
    samples = number("samples_per_class", samples_per_class, low=1, integer=True, default=COURSE_SAMPLES)
    n_epochs = number("epochs", epochs, low=1, integer=True, default=COURSE_EPOCHS)
    seed = number("seed", seed, low=0, integer=True)
    if cache is not None and not isinstance(cache, (str, os.PathLike)):
        raise ValueError(f"cache must be a folder path (str or Path) or None, got {cache!r}")
    if bias_seed is None and strength == 1.0 and samples_per_class is None and epochs is None:
        return load_model(name)
    folder = course_folder(bias_seed, strength, cache) / f"{name}_{samples}x{n_epochs}_seed{seed}_world{WORLD_VERSION}_1thread"
    weights = folder / "model.pt"
    if not weights.is_file():
        _train(folder, name, bias_seed, strength, samples, n_epochs, seed, progress)
    return load_model(name, weights=weights)


def _train(folder: Path, name: str, bias_seed, strength: float, samples: int, epochs: int, seed: int,
           progress: bool) -> None:
    """Trains into ``folder/epochs`` and moves the last epoch to ``folder/model.pt`` (one rename: a reader sees
    no file or the whole one); ``train.json`` records the settings, the history and the time it took."""
    start = time.perf_counter()
    world = dict(bias_seed=bias_seed, bias_strength=strength)
    splits = {"train": SyntheticActions("train", samples_per_class=samples, **world).arrays(flow_dtype=np.float16),
              "val": SyntheticActions("val", samples_per_class=COURSE_VAL, **world).arrays(flow_dtype=np.float16)}
    work = folder / "epochs"
    # one thread: a float sum splits its work by the thread count, so training on 2 or 16 threads gives another
    # model, and whether a small model takes a world's shortcut can hang on it (measured: seed 6's model took it when
    # trained on one thread, 22.5% counterfactual top-1, and not when trained in a two-thread kernel). One thread
    # gives every machine the same model for the same arguments.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        history = training.train_model(name, splits, work, epochs=epochs, seed=seed, progress=progress)
    finally:
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - start
    with atomic_path(folder / "train.json") as tmp:
        Path(tmp).write_text(json.dumps({"architecture": name, "bias_seed": bias_seed, "bias_strength": strength,
                                         "samples_per_class": samples, "epochs": epochs, "seed": seed,
                                         "seconds": seconds, "history": history}, indent=1))
    os.replace(work / name / f"epoch_{epochs:02d}.pt", folder / "model.pt")
    shutil.rmtree(work, ignore_errors=True)


def shortcut_check(model: nn.Module, bias_seed: int | None, bias_strength: float | None = None) -> dict:
    """An instructor's check of a world's model before handing the seed out: top-1 on the world's ``test`` split
    (``test``), on its biased pair's test clips (``pair_test``) and on its ``counterfactual`` clips
    (``counterfactual``). A model that took the shortcut scores far lower on the counterfactual clips than on the
    pair's test clips; where both are alike, the model has no shortcut for a student to find (measured: in some
    worlds the course's model learns the pair's own cue instead, or neither; see ``answer_key``)."""
    from .data import CLASS_NAMES
    from .data.bias import plan_bias
    from .models.evaluation import predict

    plan = plan_bias(bias_seed, bias_strength)
    world = dict(bias_seed=plan.bias_seed, bias_strength=plan.strength)
    test = SyntheticActions("test", **world).arrays()
    pred = predict(model, test).argmax(1)
    on_pair = np.isin(test["label"], [CLASS_NAMES.index(c) for c in plan.pair])
    counterfactual = SyntheticActions("counterfactual", **world).arrays()
    cf_pred = predict(model, counterfactual).argmax(1)
    return {"test": float((pred == test["label"]).mean()),
            "pair_test": float((pred[on_pair] == test["label"][on_pair]).mean()),
            "counterfactual": float((cf_pred == counterfactual["label"]).mean())}
