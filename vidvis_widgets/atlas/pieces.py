"""The atlas's pieces and how one batch of them is computed.

A piece of work is one activation maximization job, written as a small tuple (:data:`JobSpec`): a unit under one
(κ, γ) setting from one seed, ``("unit", layer, channel, kappa, gamma, seed)``, or a class logit,
``("class", class_index, kappa, gamma, seed)``. Jobs of any layer or setting are packed into batches on the driver;
:func:`run_batch` runs one batch wherever an executor puts it (in process, or as a Ray task) and returns each job's
result as a store entry, ``(arrays, meta)``. It never touches the store: the driver alone writes it.
"""

from __future__ import annotations

import contextlib
import threading
import time

import numpy as np
from typing import Sequence

import torch

from ..methods.activation_maximization.results import AMJob
from ..methods.core.targets import logit, unit

#: ("unit", layer, channel, kappa, gamma, seed) or ("class", class index, kappa, gamma, seed)
JobSpec = tuple

#: the step counter of a build running batches in this thread (see :func:`counting_steps`)
_counter = threading.local()

#: per process: the ActivationMaximization instance of each shared setting (by its token), so a worker that runs
#: many batches builds it once
_INSTANCES: dict[str, object] = {}


def am_job(spec: JobSpec) -> AMJob:
    """The :class:`AMJob` a spec stands for."""
    if spec[0] == "unit":
        _, layer, channel, kappa, gamma, seed = spec
        return AMJob(unit(layer, int(channel)), float(kappa), float(gamma), int(seed))
    _, cls, kappa, gamma, seed = spec
    return AMJob(logit(int(cls)), float(kappa), float(gamma), int(seed))


def shared_settings(model, settings: dict, steps: int, token: str, threads: int | None = None) -> dict:
    """What every batch of one build shares (sent once to each worker): the model, ActivationMaximization's
    settings (``activation_max`` given per layer, so no worker measures it), the steps, and a token naming them."""
    return {"model": model, "settings": dict(settings), "steps": int(steps), "token": token, "threads": threads}


def instance(shared: dict):
    """The ActivationMaximization of ``shared`` in this process, built once."""
    from ..methods.activation_maximization.am import ActivationMaximization

    device = _task_device()
    key = (shared["token"], str(device))
    am = _INSTANCES.get(key)
    if am is None:
        _INSTANCES.clear()  # one build at a time per process: drop the last build's model
        am = _INSTANCES[key] = ActivationMaximization(shared["model"], device=device, **shared["settings"])
    return am


def _task_device():
    """The device an executor placed the running task on (a Ray task holding a GPU), else None (the model's)."""
    try:
        from .executors import task_device
    except ImportError:
        return None
    return task_device()


def _task_stop():
    try:
        from .executors import task_stop
    except ImportError:
        return None
    return task_stop()


@contextlib.contextmanager
def counting_steps(count):
    """While inside, batches run in this thread call ``count(job_steps)`` as their steps go (about 20 times a batch),
    so a local build's bar moves within a batch; batches run elsewhere (Ray) count nothing."""
    _counter.count = count
    try:
        yield
    finally:
        _counter.count = None


def _step_callback(jobs: int, steps: int):
    count = getattr(_counter, "count", None)
    if count is None:
        return None, 1
    every = max(1, steps // 20)
    return (lambda snapshot: count(jobs * every)), every


def run_batch(shared: dict, batch: Sequence[JobSpec]) -> dict:
    """Runs one batch of AM jobs together; returns ``{"entries": [(arrays, meta), …], "seconds": s}`` in batch
    order, each entry an :class:`~vidvis_widgets.methods.activation_maximization.results.AMResult` as the store keeps
    it (``AMResult.to_entry``). A Ctrl-C inside the batch ends it early: its results then have status
    "interrupted", which the driver does not store."""
    if shared.get("threads"):
        torch.set_num_threads(int(shared["threads"]))
    start = time.perf_counter()
    am = instance(shared)
    callback, every = _step_callback(len(batch), shared["steps"])
    results = am([am_job(s) for s in batch], steps=shared["steps"], progress=False, stop=_task_stop(),
                 callback=callback, every=every)
    return {"entries": [r.to_entry() for r in results], "seconds": time.perf_counter() - start}


# -- the derived pieces: what the pages read, each under its own store key -----------------------------------------

#: store methods of the atlas's own pieces (AM's jobs stay under AM's own keys)
STATS = "atlas/response_statistics"  # one layer's response statistics (histograms, top clips)
A_HAT = "atlas/activation_max"  # one layer's â (summed responses), as AM normalizes by it
UNIT = "atlas/unit"  # one unit's page and its sweep's rendered inputs
CLASS = "atlas/class"  # one class's page, its logit AM's rendered inputs, LEAPS, tubes
LAYER = "atlas/layer"  # one layer's page and its sprite sheets
CLIP = "atlas/clip"  # one dataset clip as uint8 frames (rgb, rendered flow)
MANIFEST = "atlas/manifest"  # the atlas under its name: the manifest and what finds every piece
BATCH = "atlas/batch_size"  # the measured batch size of a model on a device

#: top clips kept per unit page, and misclassified clips per class page
TOP_CLIPS = 4
MISCLASSIFIED = 4
#: short names of the streams in media refs
STREAM_TAG = {"appearance": "app", "motion": "mot", "video": "vid"}


def result_clips(result, streams: Sequence[str]) -> dict[str, "np.ndarray"]:
    """An AMResult's inputs as rendered uint8 frames by atlas stream (appearance and motion, or video)."""
    clips = result.clips()
    if streams[0] == "video":
        return {"video": clips[0].frames}
    return {"appearance": clips[0].frames, "motion": clips[1].frames}


def sweep_entries(prefix: str, presets, values, frames: list[dict]) -> list[dict]:
    """``AtlasSweepEntry`` dicts for one unit's (or class's) sweep; ``frames[p]`` stream → frames."""
    from .media import clip_info, ext

    out = []
    for p, ((k, g), v) in enumerate(zip(presets, values)):
        inp = {s: clip_info(f"{prefix}-{p}-{STREAM_TAG[s]}{ext(f)[0]}", f) for s, f in frames[p].items()}
        out.append({"kappa": k, "gamma": g, "value": v, "input": inp})
    return out


def sweep_arrays(frames: list[dict]) -> dict:
    return {f"{STREAM_TAG[s]}{p}": f for p, fr in enumerate(frames) for s, f in fr.items()}


def clip_input(index: int, clip: dict) -> dict:
    """An ``AtlasInput`` for dataset clip ``index`` stored as ``clip`` (rgb, flow frames)."""
    from .media import clip_info

    if "flow" in clip:
        return {"appearance": clip_info(f"v{index}-app.webm", clip["rgb"]),
                "motion": clip_info(f"v{index}-mot.webm", clip["flow"])}
    return {"video": clip_info(f"v{index}-vid.webm", clip["rgb"])}


def finite(v) -> float | None:
    import math

    return None if v is None or not math.isfinite(float(v)) else float(v)


def layer_token(layer: str) -> str:
    """A layer's name in media refs: short, of ref characters only, and the same whatever the atlas's layer order."""
    import hashlib

    return hashlib.sha256(layer.encode()).hexdigest()[:10]


def unit_params(sig: str, layer: str, unit: int) -> dict:
    return {"sig": sig, "layer": layer, "unit": int(unit)}


def class_params(sig: str, cls: int) -> dict:
    return {"sig": sig, "class": int(cls)}


def layer_params(sig: str, layer: str, units: Sequence[int]) -> dict:
    return {"sig": sig, "layer": layer, "units": [int(u) for u in units]}


def clip_params(dkey: str, index: int) -> dict:
    return {"dataset": dkey, "index": int(index)}


class Assembler:
    """Writes the derived pieces of one build: unit and class pages with their rendered inputs, dataset clips,
    layer pages with their sprites, and the manifest. Every page is JSON-able data; class names appear only as
    data, never as markup."""

    def __init__(self, store, weights: str, sig: str, *, model_name: str, streams: list[str], presets, classes,
                 data, dkey: str, stats: dict, sel: dict, evaluation):
        self.store, self.weights, self.sig = store, weights, sig
        self.model_name, self.streams, self.presets, self.classes = model_name, streams, list(presets), tuple(classes)
        self.data, self.dkey, self.stats, self.sel, self.evaluation = data, dkey, stats, sel, evaluation
        self._clips: dict[int, dict] = {}
        self._labels = None

    # -- dataset clips ------------------------------------------------------------------------------------------
    def label(self, index: int) -> int:
        if self._labels is None:
            from .media import dataset_labels

            self._labels = dataset_labels(self.data)
        return int(self._labels[index])

    def clip(self, index: int) -> dict:
        """Dataset clip ``index`` as an ``AtlasInput``, its frames stored once under their own key."""
        index = int(index)
        if index not in self._clips:
            from .media import clip_arrays, dataset_item

            hit = self.store.get(self.weights, CLIP, clip_params(self.dkey, index))
            if hit is None:
                arrays = clip_arrays(dataset_item(self.data, index))
                self.store.put(self.weights, CLIP, clip_params(self.dkey, index), arrays, {"label": self.label(index)})
            else:
                arrays = hit[0]
            self._clips[index] = clip_input(index, arrays)
        return self._clips[index]

    def top_clips(self, layer: str, unit: int) -> list[dict]:
        return [{"index": i, "label": self.classes[self.label(i)], "response": float(v), "clip": self.clip(i)}
                for i, v in self.stats[layer].top_videos(layer, unit)[:TOP_CLIPS]]

    def histogram(self, layer: str, unit: int) -> tuple[dict, str | None]:
        bars = self.stats[layer].unit_class_max(layer, unit)
        values = [finite(v) for v in bars]
        known = [(v, k) for k, v in enumerate(values) if v is not None]
        top = max(known)[1] if known and max(known)[0] > 0 else None
        return {"classes": list(self.classes), "values": values}, (None if top is None else self.classes[top])

    # -- unit and class pieces ----------------------------------------------------------------------------------
    def put_piece(self, plan, unit: int, results) -> None:
        frames = [result_clips(r, self.streams) for r in results]
        values = [finite(r.normalized_activation) for r in results]
        hist, top = self.histogram(plan.name, unit)
        if plan.kind == "classes":
            prefix = f"c{int(unit)}"
        else:
            prefix = f"u{layer_token(plan.name)}-{int(unit)}"
        sweep = sweep_entries(prefix, self.presets, values, frames)
        page = {"layer": plan.name, "unit": int(unit), "top_class": top,
                "selectivity": float(self.sel[plan.name][unit]), "sweep": sweep, "histogram": hist,
                "top_clips": self.top_clips(plan.name, unit), "tubes": []}
        arrays = sweep_arrays(frames)
        if plan.kind == "classes":
            meta = {"page": self.class_page(unit, sweep), "unit_page": page, "values": values}
            self.store.put(self.weights, CLASS, class_params(self.sig, unit), arrays, meta)
        else:
            self.store.put(self.weights, UNIT, unit_params(self.sig, plan.name, unit), arrays,
                           {"page": page, "values": values})

    def class_page(self, c: int, sweep: list[dict]) -> dict:
        ev = self.evaluation
        accuracy, confusions, wrong = None, [], []
        if ev is not None:
            row = ev.matrix[c]
            accuracy = float(row[c] / row.sum()) if row.sum() else None
            confusions = [{"class": self.classes[k], "count": int(row[k])}
                          for k in np.argsort(-row, kind="stable") if k != c and row[k] > 0]
            for i in ev.videos(c)[:]:
                p = int(ev.predictions[i])
                if p != c:
                    wrong.append({"index": int(i), "predicted": self.classes[p], "clip": self.clip(int(i))})
                if len(wrong) == MISCLASSIFIED:
                    break
        return {"class": self.classes[c], "index": int(c), "am": sweep, "leaps": None, "accuracy": accuracy,
                "confusions": confusions, "misclassified": wrong, "tubes": []}

    # -- layers and the manifest --------------------------------------------------------------------------------
    def put_layer(self, plan, thumb: int) -> dict:
        from .media import png, sprite, thumbnail

        method = CLASS if plan.kind == "classes" else UNIT
        cells, stills = [], {s: [] for s in self.streams}
        order = sorted(plan.units, key=lambda u: (-float(self.sel[plan.name][u]), u))
        for cell, u in enumerate(order):
            params = class_params(self.sig, u) if plan.kind == "classes" else unit_params(self.sig, plan.name, u)
            arrays, meta = self.store.get(self.weights, method, params)
            page = meta["unit_page"] if plan.kind == "classes" else meta["page"]
            for s in self.streams:
                stills[s].append(thumbnail(arrays[f"{STREAM_TAG[s]}{thumb}"]))
            top = self.classes[u] if plan.kind == "classes" else page["top_class"]
            cells.append({"unit": int(u), "cell": cell, "selectivity": page["selectivity"], "top_class": top,
                          "value": meta["values"][thumb]})
        sprites, arrays = [], {}
        for s in self.streams:
            if not stills[s]:
                continue
            sheet, cols, cw, ch = sprite(stills[s])
            tag = STREAM_TAG[s]
            arrays[f"sprite_{tag}"] = np.frombuffer(png(sheet), np.uint8)
            sprites.append({"ref": f"s{layer_token(plan.name)}-{tag}.png", "stream": s, "columns": cols,
                            "cell_width": cw, "cell_height": ch})
        page = {"layer": plan.name, "receptive_field": plan.receptive_field, "stride": plan.stride,
                "sprites": sprites, "units": cells}
        self.store.put(self.weights, LAYER, layer_params(self.sig, plan.name, plan.units), arrays, {"page": page})
        return page

    def put_manifest(self, name: str, plans, *, leaps: bool, tubes: bool, thumb: int, stats: dict) -> dict:
        manifest = {"version": 1, "name": name, "model": self.model_name, "weights": self.weights,
                    "streams": list(self.streams), "classes": list(self.classes),
                    "layers": [p.info() for p in plans],
                    "presets": [{"kappa": k, "gamma": g} for k, g in self.presets], "thumb_preset": int(thumb),
                    "has": {"leaps": bool(leaps), "tubes": bool(tubes), "histograms": True}}
        meta = {"manifest": manifest, "sig": self.sig, "dataset": self.dkey,
                "tokens": {layer_token(p.name): p.name for p in plans}, "stats": stats}
        self.store.put(self.weights, MANIFEST, {"name": name}, {}, meta)
        return manifest

    # -- optional pieces: saliency tubes and LEAPS per class ------------------------------------------------------
    def extras(self, model, plans, *, leaps: bool, tubes: bool, seed: int, steps: int | None, stop) -> dict:
        """Adds tubes (on each class's top clip, the one it scores highest, and its misclassified clips) and a
        LEAPS synthesis (primed by the class's first clip) to the class pages that lack them; returns the times."""
        import time as _time

        plan = next((p for p in plans if p.kind == "classes"), None)
        times: dict[str, float] = {}
        if plan is None or not plan.units:
            return times
        for flag, key, run in ((tubes, "tubes", self._tubes), (leaps, "leaps", self._leaps)):
            todo = [c for c in plan.units if flag and not self.store.get(
                self.weights, CLASS, class_params(self.sig, c))[1].get(f"{key}_done")]
            if todo:
                t = _time.perf_counter()
                run(model, todo, seed=seed, steps=steps, stop=stop)
                times[key] = _time.perf_counter() - t
        return times

    def _update(self, c: int, arrays: dict, page: dict, done: str) -> None:
        old, meta = self.store.get(self.weights, CLASS, class_params(self.sig, c))
        meta = {**meta, "page": {**meta["page"], **page}, f"{done}_done": True}
        self.store.put(self.weights, CLASS, class_params(self.sig, c), {**old, **arrays}, meta)

    def _tubes(self, model, classes, *, seed, steps, stop) -> None:
        from ..methods.saliency_tubes.tubes import SaliencyTubes
        from .media import clip_info, dataset_item

        ev = self.evaluation
        picks: list[tuple[int, int]] = []
        for c in classes:
            idx = ev.videos(c)
            if len(idx) == 0:
                continue
            picks.append((c, int(idx[np.argmax(ev.logits[idx, c])])))
            picks += [(c, int(i)) for i in idx if ev.predictions[i] != c][:MISCLASSIFIED]
        tuber = SaliencyTubes(model, store=self.store)
        rendered: dict[int, list] = {c: [] for c in classes}
        for start in range(0, len(picks), 32):
            chunk = picks[start:start + 32]
            items = [dataset_item(self.data, i) for _, i in chunk]
            inputs = {"rgb": np.stack([np.asarray(it["rgb"]) for it in items])}
            if items[0].get("flow") is not None:
                inputs["flow"] = np.stack([np.asarray(it["flow"], np.float32) for it in items])
            heat = tuber(inputs=inputs, progress=False, stop=stop).heat()
            for (c, i), frames in zip(chunk, heat):
                rendered[c].append((i, frames))
        for c in classes:
            arrays, page = {}, []
            for j, (i, frames) in enumerate(rendered[c]):
                arrays[f"tube_{j}"] = frames
                page.append({"index": i, "label": self.classes[self.label(i)],
                             "predicted": self.classes[int(ev.predictions[i])],
                             "clip": clip_info(f"t{c}-{j}.webm", frames)})
            self._update(c, arrays, {"tubes": page}, "tubes")

    def _leaps(self, model, classes, *, seed, steps, stop) -> None:
        from ..methods.leaps.inversion import ModelInversion
        from .media import as_uint8_rgb, clip_info, dataset_item, dataset_labels

        labels = dataset_labels(self.data)
        first = {c: int(np.flatnonzero(labels == c)[0]) for c in classes if (labels == c).any()}
        order = [c for c in classes if c in first]
        inv = ModelInversion(model, store=self.store)
        results = inv(order, [as_uint8_rgb(dataset_item(self.data, first[c])["rgb"]) for c in order], seeds=seed,
                      steps=steps, progress=False, stop=stop)
        for c, r in zip(order, results):
            if r.status not in ("completed", "diverged"):
                return
            self._update(c, {"leaps_vid": r.video}, {"leaps": {"video": clip_info(f"l{c}-vid.webm", r.video)}},
                         "leaps")
