"""Training the embedded models on SyntheticActions: seeded, CPU-sized, one checkpoint per epoch."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .data.bias import plan_bias
from .data.synthetic import CLASS_NAMES, SPLITS, SyntheticActions
from .checks import number
from .models.checkpoints import WEIGHTS_DIR, save_checkpoint
from .models.tiny import mirror_views, reverse_views
from .models.evaluation import confusion_matrix, most_confused_pairs, predict
from .models.registry import EMBEDDED, load_model

EMBEDDED_MODELS = tuple(EMBEDDED)
DEFAULT_EPOCHS = {"tiny_two_stream": 10, "tiny_r3d": 10, "tiny_verifier": 10, "tiny_frame2d": 10}


def make_splits(seed: int = 0, samples_per_class: int | None = None, *, bias_seed: int | None = None,
                bias_strength: float | None = None, splits=SPLITS) -> dict[str, dict]:
    """The splits as arrays (all four by default); ``samples_per_class`` ``None`` means each split's default size;
    ``bias_seed``/``bias_strength``: the world, as ``SyntheticActions`` takes them."""
    samples_per_class = number("samples_per_class", samples_per_class, low=1, integer=True, default=None)
    return {split: SyntheticActions(split, seed=seed, samples_per_class=samples_per_class, bias_seed=bias_seed,
                                    bias_strength=bias_strength).arrays(flow_dtype=np.float16) for split in splits}


def _accuracy(model: nn.Module, arrays: dict) -> float:
    return float((predict(model, arrays).argmax(1) == arrays["label"]).mean())


def train_model(name: str, splits: dict, out_dir: Path, epochs: int = 10, seed: int = 0, batch_size: int = 32,
                lr: float = 3e-3, progress: bool = True) -> list[dict]:
    """Trains one embedded model from scratch; writes ``out_dir/name/epoch_XX.pt`` after every epoch."""
    epochs = number("epochs", epochs, low=1, integer=True)
    batch_size = number("batch_size", batch_size, low=1, integer=True)
    lr = number("lr", lr, low=0, strict=True)
    torch.manual_seed(seed)
    model = load_model(name, weights=None)
    info = model.vidvis_adapter
    train = splits["train"]
    n = len(train["label"])
    steps = epochs * ((n + batch_size - 1) // batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(seed)
    # a symmetric model trains its plain network one view at a time: random views, labels mapped
    symmetric = getattr(model, "num_views", 1) > 1
    forward = model.one_view if symmetric else model
    history = []
    bar = tqdm(total=steps, desc=f"train {name}", disable=not progress, unit="batch")
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(n, generator=gen).numpy()
        total = torch.zeros(())
        for i in range(0, n, batch_size):
            idx = np.sort(order[i : i + batch_size])
            batch = {k: train[k][idx] for k in ("rgb", "flow")}
            inputs, labels = info.prepare(batch), torch.as_tensor(train["label"][idx])
            if symmetric:
                inputs, labels = random_views(model, *inputs, labels, gen)
            loss = nn.functional.cross_entropy(forward(*inputs), labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.detach() * len(idx)  # summed on the device; read once per epoch
            bar.update(1)
        model.eval()
        record = {"epoch": epoch, "train_loss": float(total) / n, "val_accuracy": _accuracy(model, splits["val"])}
        bar.set_postfix(loss=f"{record['train_loss']:.3f}", val=f"{record['val_accuracy']:.3f}")
        save_checkpoint(out_dir / name / f"epoch_{epoch:02d}.pt", model,
                        {"architecture": name, "seed": seed, **record})
        history.append(record)
    bar.close()
    return history


def fine_tune(model: nn.Module, dataset, *, train: str = "head", epochs: int | None = None, lr: float | None = None,
              batch_size: int = 8, seed: int = 0, num_workers: int | None = None, device=None,
              progress: bool = True) -> list[dict]:
    """Fine-tunes ``model`` in place on a labelled ``dataset`` whose classes are its head's (a
    :class:`~vidvis_widgets.data.VideoFolder` under a new head: ``load_model(name, num_classes=len(ds.classes),
    class_names=ds.classes)``, or a dict of stacked ``rgb``/``flow``/``label`` arrays), in shuffled batches
    (seeded), with AdamW and a one-cycle schedule; leaves it in eval mode.

    ``train``: ``"head"`` (the default) trains only the logit layer on the model's features, which stay as they
    are (batch-norm statistics included): what a few clips per class can teach. Each clip is then read and run
    through the model once, and the head is fitted on its inputs (``epochs`` 100 and ``lr`` 1e-2 by default: a
    second for a few hundred clips), unless the head's output is not the model's logits (a pool after it), when
    each epoch runs the model. ``"all"`` trains every weight (``epochs`` 10 and ``lr`` 1e-3 by default).
    Returns one record per epoch: ``epoch``, ``train_loss`` and ``train_accuracy`` (of the batches as trained)."""
    from torch.utils.data import DataLoader

    from .data.loading import check_classes, check_labels, default_workers, num_videos
    from .models.layers import submodule
    from .models.run_control import device_of
    from .models.registry import refit_advice

    info = getattr(model, "vidvis_adapter", None)
    if info is None:
        raise ValueError(f"{type(model).__name__} carries no vidvis_adapter; load it with load_model")
    if train not in ("head", "all"):
        raise ValueError(f"train must be 'head' (the logit layer) or 'all' (every weight), got {train!r}")
    epochs = number("epochs", epochs, low=1, integer=True, default=100 if train == "head" else 10)
    lr = number("lr", lr, low=0, strict=True, default=1e-2 if train == "head" else 1e-3)
    batch_size = number("batch_size", batch_size, low=1, integer=True)
    classes = tuple(info.class_names)
    check_classes(dataset, classes, lambda ds_classes: refit_advice(model, ds_classes))
    n = num_videos(dataset)
    if n == 0:
        raise ValueError("the dataset is empty; expected at least one labelled video")
    device = device_of(model, device)
    model = model.to(device)
    head = submodule(model, info.logit_layer) if train == "head" else model
    params = list(head.parameters())
    if not params:
        raise ValueError(f"{info.name}'s logit layer {info.logit_layer!r} has no weights to train; use train='all'")
    gen = torch.Generator().manual_seed(seed)
    if isinstance(dataset, dict):
        dataset = [{k: dataset[k][i] for k in ("rgb", "flow", "label") if k in dataset} for i in range(n)]
    elif train == "all" and n * _nbytes(dataset[0]) <= MAX_HELD:  # each clip decoded once, not once an epoch
        dataset = [{k: v[0] for k, v in _stack([dataset[i]]).items()}
                   for i in tqdm(range(n), desc="read clips", disable=not progress, unit="clip")]
    workers = default_workers(device) if num_workers is None else num_workers
    features = _head_inputs(model, head, dataset, batch_size, workers, device, progress) if train == "head" else None
    if features is not None:  # the head alone, on its inputs
        dataset = torch.utils.data.TensorDataset(*features)
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=gen)
    else:
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=gen, collate_fn=_stack,
                            num_workers=workers)
    steps = epochs * len(loader)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    flags = [(p, p.requires_grad) for p in model.parameters()]
    model.requires_grad_(train == "all")
    head.requires_grad_(True)
    history = []
    bar = tqdm(total=steps, desc=f"fine-tune {info.name}", disable=not progress, unit="batch")
    try:
        for epoch in range(1, epochs + 1):
            model.train(train == "all")
            total, right = torch.zeros((), device=device), torch.zeros((), device=device)
            for batch in loader:
                if features is not None:
                    x, labels = batch
                    logits = head(x)
                else:
                    check_labels(batch["label"], len(classes), 0)
                    labels = torch.as_tensor(batch["label"], dtype=torch.long, device=device)
                    logits = info.call(model, info.prepare(batch, device))
                loss = nn.functional.cross_entropy(logits, labels)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total += loss.detach() * len(labels)  # summed on the device; read once per epoch
                right += (logits.detach().argmax(1) == labels).sum()
                bar.update(1)
            record = {"epoch": epoch, "train_loss": float(total) / n, "train_accuracy": float(right) / n}
            bar.set_postfix(loss=f"{record['train_loss']:.3f}", acc=f"{record['train_accuracy']:.2f}")
            history.append(record)
    finally:
        bar.close()
        for p, flag in flags:
            p.requires_grad_(flag)
        model.eval()
    return history


def _head_inputs(model: nn.Module, head: nn.Module, dataset, batch_size: int, workers: int, device,
                 progress: bool) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Every clip's input to ``head`` and its label, from one pass of the model in eval mode; None when the
    head's output is not the model's logits (a pool or a view average after it), whose head must be trained
    through the model."""
    from torch.utils.data import DataLoader

    from .data.loading import check_labels
    from .models.probe import each_module

    info = model.vidvis_adapter
    seen: list[torch.Tensor] = []

    def record(name: str, _module, inputs: tuple, _out) -> None:
        if name == info.logit_layer:
            seen.append(inputs[0].detach())

    xs, labels, same = [], [], True
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=_stack, num_workers=workers)
    with each_module(model, record, pre=True):
        with torch.no_grad():
            model.eval()
            for batch in tqdm(loader, desc="read clips", disable=not progress, unit="batch"):
                check_labels(np.asarray(batch["label"]), info.num_classes, sum(map(len, labels)))
                seen.clear()
                logits = info.call(model, info.prepare(batch, device))
                x = seen[0] if len(seen) == 1 else None
                out = head(x) if x is not None else None
                if out is None or out.shape != logits.shape or not torch.allclose(out, logits, rtol=1e-4, atol=1e-5):
                    same = False
                    break
                xs.append(x)
                labels.append(torch.as_tensor(batch["label"], dtype=torch.long, device=device))
    return (torch.cat(xs), torch.cat(labels)) if same else None


#: the most bytes of clips fine_tune holds in memory instead of reading them again each epoch
MAX_HELD = 2**30


def _nbytes(item: dict) -> int:
    return sum(np.asarray(v).nbytes for k, v in item.items() if k in ("rgb", "flow") and v is not None)


def _stack(items: list[dict]) -> dict[str, np.ndarray]:
    """A batch of numpy arrays: ``rgb``, ``label`` and ``flow`` where the items carry it (a folder read with
    ``flow=None`` carries none)."""
    keys = [k for k in ("rgb", "flow", "label") if items[0].get(k) is not None]
    return {k: np.stack([np.asarray(it[k]) for it in items]) for k in keys}


def random_views(model: nn.Module, rgb: torch.Tensor, flow: torch.Tensor, labels: torch.Tensor,
                 gen: torch.Generator) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Training clips for a symmetric TinyTwoStream: each one mirrored and/or played backwards with
    probability 1/2, its label mapped with it. A clip whose transformed version belongs to no class (a square
    played backwards moves up) is left as it is."""
    n, (mirror, reversal) = len(labels), model.fc8.class_of_view[1:3].cpu()
    for transform, target in ((mirror_views, mirror), (reverse_views, reversal)):
        flip = (torch.rand(n, generator=gen) < 0.5) & (target[labels] >= 0)
        rgb2, flow2 = transform(rgb, flow)
        rgb, flow = torch.where(flip.view(-1, 1, 1, 1), rgb2, rgb), torch.where(flip.view(-1, 1, 1, 1), flow2, flow)
        labels = torch.where(flip, target[labels], labels)
    return (rgb, flow), labels


def evaluate_model(model: nn.Module, splits: dict, bias_seed: int | None = None) -> dict:
    """Test accuracy and confusions, and the accuracy on the counterfactual split's pair: on test, and on the
    counterfactual split (``splits`` drawn with ``bias_seed``)."""
    test = splits["test"]
    logits = predict(model, test)
    cm = confusion_matrix(test["label"], logits.argmax(1), len(CLASS_NAMES))
    pair = [CLASS_NAMES.index(c) for c in plan_bias(bias_seed).pair]
    on_test = np.isin(test["label"], pair)
    counterfactual = splits["counterfactual"]
    counterfactual_pred = predict(model, counterfactual).argmax(1)
    return {
        "test_accuracy": float(np.trace(cm) / cm.sum()),
        "confusion_matrix": cm.tolist(),
        "most_confused": [(CLASS_NAMES[a], CLASS_NAMES[b], e) for a, b, e in most_confused_pairs(cm)],
        # the counterfactual split's pair, on test and on the counterfactual split (instructor figures: not in the card)
        "pair_test_accuracy": float((logits.argmax(1)[on_test] == test["label"][on_test]).mean()),
        "counterfactual_accuracy": float((counterfactual_pred == counterfactual["label"]).mean()),
    }


def train_all(out_dir: Path = WEIGHTS_DIR, models=EMBEDDED_MODELS, epochs: int | None = None, seed: int = 0,
              progress: bool = True, samples_per_class: int | None = None) -> dict:
    """Trains every embedded model, then measures them and writes ``metrics.json`` and ``MODEL_CARD.md``.

    ``epochs`` and ``samples_per_class``: integers ≥ 1, or ``None`` for the defaults (0 is refused, not
    replaced by the default)."""
    models = (models,) if isinstance(models, str) else tuple(models)
    unknown = [m for m in models if m not in EMBEDDED_MODELS]
    if unknown or not models:
        raise ValueError(f"models must name some of the embedded models ({', '.join(EMBEDDED_MODELS)}), "
                         f"got {list(models)}")
    epochs = number("epochs", epochs, low=1, integer=True, default=None)
    samples_per_class = number("samples_per_class", samples_per_class, low=1, integer=True, default=None)
    seed = number("seed", seed, low=0, integer=True)
    out_dir = Path(out_dir)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    start = time.perf_counter()
    splits = make_splits(seed, samples_per_class=samples_per_class)
    results = {"seed": seed, "epochs": {m: DEFAULT_EPOCHS[m] if epochs is None else epochs for m in models},
               "dataset": {k: int(len(v["label"])) for k, v in splits.items()}, "models": {}}
    for name in models:
        t0 = time.perf_counter()
        n_epochs = results["epochs"][name]
        history = train_model(name, splits, out_dir, epochs=n_epochs, seed=seed, progress=progress)
        model = load_model(name, weights=out_dir / name / f"epoch_{n_epochs:02d}.pt")
        results["models"][name] = {"history": history, "train_seconds": time.perf_counter() - t0,
                                   **evaluate_model(model, splits)}
    results["total_seconds"] = time.perf_counter() - start
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = out_dir / "metrics.json"
    if set(models) != set(EMBEDDED_MODELS) and previous.exists():
        # retraining some models keeps the others' measured figures in the card
        old = json.loads(previous.read_text())
        if old.get("seed") == seed and old.get("dataset") == results["dataset"]:
            old["models"].update(results["models"])
            old["epochs"] = {**old["epochs"], **results["epochs"]}
            old["total_seconds"] = sum(r["train_seconds"] for r in old["models"].values())
            results = old
    (out_dir / "metrics.json").write_text(json.dumps(results, indent=1))
    (out_dir / "MODEL_CARD.md").write_text(model_card(results))
    return results


def model_card(results: dict) -> str:
    from .models.tiny import TinyR3D, TinyTwoStream, TinyVerifier  # noqa: F401  (documented below)

    lines = ["# Embedded models", "",
             "Trained by `vidvis train` on SyntheticActions (seed "
             f"{results['seed']}; epochs: " + (", ".join(f"{m} {e}" for m, e in results["epochs"].items())
                                                if isinstance(results["epochs"], dict) else str(results["epochs"]))
             + "; " + "/".join(SPLITS) + " = "
             + "/".join(str(results['dataset'][s]) for s in SPLITS)
             + " clips of 16×64×64) on a 2-core CPU. Checkpoints store weights in fp16; every figure below "
               "was measured on those fp16 weights loaded back as fp32."
             + (f" Data generation, training and evaluation of all of them took {results['total_seconds']:.0f} s."
                if "total_seconds" in results else ""), ""]
    lines += ["| model | test top-1 | largest confusion | train time |", "| --- | --- | --- | --- |"]
    for name, r in results["models"].items():
        a, b, e = r["most_confused"][0]
        confusion = f"{a} ↔ {b} ({e} clips)" if e else "none (no test errors)"
        lines.append(f"| `{name}` | {r['test_accuracy']:.1%} | {confusion} | {r['train_seconds']:.0f} s |")
    if "tiny_two_stream" in results["models"]:
        lines += ["", "`tiny_two_stream` is symmetric by construction: it scores a clip, its mirror image, its "
                  "time reversal and both with one set of weights and averages each class's scores over those views, "
                  "each read off for the class its view maps onto (the dataset card lists the maps). It trains one "
                  "view at a time: random mirroring and reversal, the labels mapped with them."]
    for name, r in results["models"].items():
        lines += ["", f"## `{name}`", "", "Validation accuracy per epoch: "
                  + ", ".join(f"{h['epoch']}: {h['val_accuracy']:.1%}" for h in r["history"]), "",
                  "Test confusion matrix (rows: true class, columns: predicted):", "", "```"]
        width = max(len(c) for c in CLASS_NAMES)
        for c, row in zip(CLASS_NAMES, r["confusion_matrix"]):
            lines.append(f"{c:>{width}} " + " ".join(f"{v:3d}" for v in row))
        lines.append("```")
    return "\n".join(lines) + "\n"
