"""build_atlas: every piece of a model atlas computed once, each kept in the result store under its own key.

Phases: the layer table and the checks of every argument (before any long work); one response pass per missing
layer set over the dataset (histograms and top clips, and â, the summed responses AM normalizes by); the unit
selection; the model's evaluation (class pages); the AM jobs, packed into full batches whatever their layer or
setting and run by an executor, the driver alone writing each batch's results under AM's own keys; then the
derived pieces (unit, class and layer pages with their rendered inputs, sprites, clips) and the manifest.

A rerun finds every stored piece and computes only the rest: after a kill, the batches not stored; after adding
layers or units, their jobs. ``Atlas.stats`` says what was computed and what loaded.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid

import numpy as np
import torch
from torch import nn

from ..checks import number
from ..methods.core.progress import progress_bar
from ..models.run_control import Stopped, ctrl_c_stops, ended
from ..store import as_store, weights_hash
from . import pieces as P
from .media import REF
from .plan import LayerPlan, check_classes, check_presets, plan_layers, select, selectivity

#: batch sizes tried on the CPU, and the steps each trial runs
CPU_CANDIDATES = (1, 2, 4, 8, 16, 32, 64)
PROBE_STEPS = 5
#: the share of the GPU's free memory a batch may fill
GPU_FILL = 0.7


class _InProcess:
    """The executor used until vidvis_widgets.atlas.executors is there: every batch in this process, in order."""

    def run(self, task, shared, batches):
        for i, b in enumerate(batches):
            yield i, task(shared, b)

    def close(self) -> None:
        pass


def _executor(executor, address):
    try:
        from .executors import as_executor
    except ImportError:
        as_executor = None
    if as_executor is not None:
        return as_executor(executor, address=address)
    if executor == "local":
        return _InProcess()
    if hasattr(executor, "run"):
        return executor
    raise ValueError(f"executor={executor!r}: only 'local' or an Executor is available here "
                     "(vidvis_widgets.atlas.executors is missing)")


def build_atlas(model: nn.Module, data, layers=None, units="receptive", classes=True, gamma="anisotropic",
                leaps: bool = False, tubes: bool = False, steps: int | None = None, seed: int = 0, store=True,
                executor="local", ray_address: str | None = None, batch_size: int | None = None, progress=None,
                stop: threading.Event | None = None, name: str = "atlas"):
    """Builds (or completes) the atlas of ``model`` on the labelled ``data`` and returns its :class:`Atlas`.

    ``layers``: None or "all" (every layer worth showing, see :mod:`.plan`) or layer names; ``units``: see
    :mod:`.plan`; ``classes``: True (every class: the class layer's logit AM and the class pages), None (none) or a
    list of names or indices; ``gamma``: an AM preset name or a list of (kappa, gamma) pairs, each unit's sweep;
    ``steps``: AM's steps (its default when None); ``seed``: every job's start. ``store``: a ResultStore, its folder,
    or True (the default one). ``executor``: "local", "ray" or an Executor (``ray_address`` for "ray");
    ``batch_size``: AM jobs per batch, measured when None (on a GPU the batch that fills ~70% of the free memory,
    on the CPU the size with the most jobs per second, kept in the store per weights, device and input).
    ``progress``: a bar over the AM jobs with the time left (None: on unless VIDVIS_PROGRESS=0). ``stop`` (an
    Event) or Ctrl-C end the build between batches; what is stored stays, and the atlas returned holds the units
    whose pieces are complete (``stats["status"]`` says "stopped" or "interrupted")."""
    from ..data.loading import dataset_key
    from ..methods.activation_maximization.am import ActivationMaximization
    from ..models.adapter import adapter_of
    from ..models.run_control import device_of
    from .atlas import Atlas

    t0 = time.perf_counter()
    times: dict[str, float] = {}
    if not isinstance(model, nn.Module) or getattr(model, "vidvis_adapter", None) is None:
        raise ValueError(f"model must be an nn.Module loaded with vidvis_widgets.models.load_model (it carries a "
                         f"vidvis_adapter), got {type(model).__name__}")
    if not isinstance(name, str) or not REF.fullmatch(name):
        raise ValueError(f"name={name!r}: expected letters, digits, '_', '.' or '-'")
    store = as_store(True if store is None else store, "store")
    steps = number("steps", steps, low=1, integer=True, default=None)
    seed = number("seed", seed, low=0, integer=True)
    if batch_size is not None:
        batch_size = number("batch_size", batch_size, low=1, integer=True)
    for flag, v in (("leaps", leaps), ("tubes", tubes)):
        if not isinstance(v, bool):
            raise ValueError(f"{flag} must be True or False, got {v!r}")
    adapter = adapter_of(model)
    if leaps:
        from ..models.streams import check_one_clip

        try:
            check_one_clip(model, "model")
        except ValueError as err:
            raise ValueError(f"leaps=True: {err}") from None
    leaps_steps = steps
    presets = check_presets(gamma)
    class_ids = check_classes(classes, tuple(adapter.class_names))
    dkey = dataset_key(data)
    if len(data if not isinstance(data, dict) else data["label"]) == 0:
        raise ValueError("data has no clips; expected a labelled dataset (a SyntheticActions split, a VideoFolder, "
                         "or a dict of rgb/flow/label arrays)")
    plans = plan_layers(model, layers, units, class_ids)
    ex = _executor(executor, ray_address)  # a missing Ray is refused here, before the long work
    weights = weights_hash(model)
    device = device_of(model)
    times["plan"] = time.perf_counter() - t0

    # -- response statistics and â, per layer, computed only where missing ---------------------------------------
    t = time.perf_counter()
    names = [p.name for p in plans]
    stats = _layer_stats(model, data, names, store, weights, dkey, stop)
    a_hat = _layer_a_hat(model, data, [p.name for p in plans if p.kind == "units"], store, weights, dkey, stop)
    times["statistics"] = time.perf_counter() - t
    sel = {l: np.array([selectivity(s.unit_class_max(l, u)) for u in range(s.activation_max[l].shape[0])])
           for l, s in stats.items()}
    am = ActivationMaximization(model, activation_max=a_hat, store=store)
    select(plans, float(np.sqrt(np.prod(am.streams.size))), sel)
    steps = am.steps if steps is None else steps
    t = time.perf_counter()
    evaluation = None
    if class_ids:
        from ..models.evaluation import evaluate

        evaluation = evaluate(model, data, store=store)
    times["evaluation"] = time.perf_counter() - t

    streams = ["appearance", "motion"] if adapter.uses_flow else ["video"]
    am_settings = {"activation_max": a_hat}
    sig = hashlib.sha256(json.dumps({"dataset": dkey, "presets": presets, "steps": steps, "seed": seed,
                                     "leaps": leaps, "tubes": tubes}, sort_keys=True).encode()).hexdigest()[:16]

    # -- the AM jobs: those of units (and classes) whose pages are not stored yet, less the stored jobs -----------
    def specs_of(p: LayerPlan, u: int) -> list[tuple]:
        if p.kind == "classes":
            return [("class", u, k, g, seed) for k, g in presets]
        return [("unit", p.name, u, k, g, seed) for k, g in presets]

    pending = [(p, u) for p in plans for u in p.units
               if store.get(weights, P.CLASS if p.kind == "classes" else P.UNIT, _piece_params(sig, p, u)) is None]
    total_jobs = sum(len(p.units) for p in plans) * len(presets)
    specs = [s for p, u in pending for s in specs_of(p, u)]
    resolved = am.resolve([P.am_job(s) for s in specs])
    if resolved:
        am.measure(resolved, stop)
    todo = []  # looked up a unit's jobs at a time: a large atlas's stored inputs are never all in memory at once
    for start in range(0, len(resolved), len(presets)):
        hits = am.stored(resolved[start:start + len(presets)], steps)
        todo += [start + i for i, h in enumerate(hits) if h is None]
    stats_out = {"am_jobs": total_jobs, "loaded": total_jobs - len(todo), "computed": 0, "batches": 0,
                 "batch_size": None, "status": "completed",
                 "units": sum(len(p.units) for p in plans if p.kind == "units"),
                 "classes": len(class_ids), "layers": len(plans)}

    shared = P.shared_settings(model, am_settings, steps, uuid.uuid4().hex)
    t = time.perf_counter()
    if todo:
        if batch_size is None:
            batch_size, table = measure_batch_size(shared, [specs[i] for i in todo], store, weights, device, am)
            stats_out["batch_size_table"] = table
        stats_out["batch_size"] = batch_size
    times["batch_size"] = time.perf_counter() - t

    t = time.perf_counter()
    batches = [todo[i:i + batch_size] for i in range(0, len(todo), batch_size)] if todo else []
    status = "completed"
    try:
        counted = [0]  # job-steps the bar has shown for the batch running here (local runs count within a batch)

        def count(n: int) -> None:
            counted[0] += n
            bar.update(n)

        with ctrl_c_stops(stop) as halt, progress_bar(len(todo) * steps, f"atlas {name}: {len(todo)} AM jobs × "
                                                      f"{steps} steps", progress, unit="step") as bar, \
                P.counting_steps(count):
            for bi, out in _run(ex, shared, [[specs[i] for i in b] for b in batches], halt):
                b = batches[bi]
                results = [_decode(P.am_job(specs[i]), e) for i, e in zip(b, out["entries"])]
                if any(r.status not in ("completed", "diverged") for r in results):
                    status = results[0].status if results[0].status in ("stopped", "interrupted") else "interrupted"
                    break
                am.keep([resolved[i] for i in b], results, steps)
                stats_out["computed"] += len(b)
                stats_out["batches"] += 1
                bar.update(max(0, len(b) * steps - counted[0]))
                counted[0] = 0
                if halt.is_set():
                    status = halt.status
                    break
    except (Stopped, KeyboardInterrupt) as err:
        status = ended(err)
    finally:
        close = getattr(ex, "close", None)
        if close is not None:
            close()
    times["am"] = time.perf_counter() - t
    stats_out["status"] = status

    # -- derived pieces of every unit / class whose jobs are all stored; then layers and the manifest --------------
    t = time.perf_counter()
    asm = P.Assembler(store, weights, sig, model_name=adapter.name, streams=streams, presets=presets,
                    classes=tuple(adapter.class_names), data=data, dkey=dkey, stats=stats, sel=sel,
                    evaluation=evaluation)
    done = {}
    for p, u in pending:
        js = specs_of(p, u)
        rs = am.stored(am.resolve([P.am_job(s) for s in js]), steps)
        if all(r is not None for r in rs):
            done[(p.name, u)] = True
            asm.put_piece(p, u, rs)
    for p in plans:  # the units whose pages are there (all of them after a build that ran to its end)
        p.units = [u for u in p.units if (p.name, u) in done or store.get(
            weights, P.CLASS if p.kind == "classes" else P.UNIT, _piece_params(sig, p, u)) is not None]
    if leaps or tubes:
        times.update(asm.extras(model, plans, leaps=leaps, tubes=tubes, seed=seed, steps=leaps_steps, stop=stop))
    thumb = len(presets) // 2
    for p in plans:
        asm.put_layer(p, thumb)
    times["pages"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - t0
    stats_out["times"] = times
    manifest = asm.put_manifest(name, plans, leaps=leaps, tubes=tubes, thumb=thumb, stats=stats_out)
    return Atlas(store, weights, name, stats=stats_out, manifest=manifest)


def _run(ex, shared, batches, halt):
    """The executor's (batch index, result) pairs; the stop goes to executors that take one."""
    import inspect

    if "stop" in inspect.signature(ex.run).parameters:
        return ex.run(P.run_batch, shared, batches, stop=halt)
    return ex.run(P.run_batch, shared, batches)


def _piece_params(sig: str, p: LayerPlan, u: int) -> dict:
    return P.class_params(sig, u) if p.kind == "classes" else P.unit_params(sig, p.name, u)


def _decode(job, entry):
    from ..methods.activation_maximization.results import AMResult

    return AMResult.from_entry(job, *entry)


def _layer_stats(model, data, layers, store, weights, dkey, stop):
    """Each layer's response statistics (peak responses, histograms, top clips), from the store or one pass over the
    layers missing there, each layer stored under its own key."""
    from ..methods.activation_maximization.response_statistics import ResponseStatistics, response_statistics

    params = lambda l: {"dataset": dkey, "layer": l, "reduce": "max", "top_k": P.TOP_CLIPS, "class_top_k": 1}
    out, missing = {}, []
    for l in layers:
        hit = store.get(weights, P.STATS, params(l))
        if hit is None:
            missing.append(l)
        else:
            out[l] = ResponseStatistics.from_arrays(*hit)
    if missing:
        s = response_statistics(model, data, missing, reduce="max", top_k=P.TOP_CLIPS, class_top_k=1, stop=stop)
        for l in missing:
            one = ResponseStatistics((l,), s.classes, s.reduce, s.num_videos, s.class_counts,
                                     *({l: getattr(s, n)[l]} for n in ("activation_max", "class_max", "top_values",
                                                                      "top_indices", "class_top_values",
                                                                      "class_top_indices")))
            store.put(weights, P.STATS, params(l), one.to_arrays(), one.meta())
            out[l] = one
    return out


def _layer_a_hat(model, data, layers, store, weights, dkey, stop) -> dict[str, np.ndarray]:
    """â per layer: each unit's largest summed response over the dataset, as AM's "auto" measures it on its
    validation data, stored per layer."""
    from ..methods.activation_maximization.response_statistics import response_statistics

    out, missing = {}, []
    for l in layers:
        hit = store.get(weights, P.A_HAT, {"dataset": dkey, "layer": l})
        if hit is None:
            missing.append(l)
        else:
            out[l] = hit[0]["a_hat"]
    if missing:
        s = response_statistics(model, data, missing, reduce="sum", stop=stop)
        for l in missing:
            out[l] = s.activation_max[l].astype(np.float32)
            store.put(weights, P.A_HAT, {"dataset": dkey, "layer": l}, {"a_hat": out[l]})
    return out


def measure_batch_size(shared: dict, specs: list, store, weights: str, device, am) -> tuple[int, list]:
    """The batch size of this model on this device, from the store or measured: on a GPU the batch that fills
    ~70% of the free memory (from a batch of 2's peak), on the CPU the candidate size with the most jobs per second
    at the build's steps (each candidate run for a few steps: the median time between steps is the time per step, the
    rest of the run the batch's fixed cost), trying sizes up to the first at least as large as the jobs to run.
    Returns (batch size, table): [(size, jobs per second)] on the CPU, [(2, bytes per job)] on a GPU."""
    sizes = [n for n in CPU_CANDIDATES if n < len(specs)]
    sizes += [n for n in CPU_CANDIDATES if n >= len(specs)][:1]
    key = {"device": str(device), "type": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
           "threads": torch.get_num_threads(), "shapes": [list(s.shape) for s in am.streams.specs],
           "steps": shared["steps"], "largest": sizes[-1]}
    hit = store.get(weights, P.BATCH, key)
    if hit is not None:
        return int(hit[1]["batch_size"]), hit[1]["table"]
    cycle = lambda n: [specs[i % len(specs)] for i in range(n)]

    def timed(n: int, steps: int) -> tuple[float, float]:
        """(seconds, median seconds per step) of a batch of n jobs run for ``steps`` steps."""
        am_ = P.instance(shared)
        stamps: list[float] = []
        start = time.perf_counter()
        am_([P.am_job(s) for s in cycle(n)], steps=steps, progress=False, every=1,
            callback=lambda _snapshot: stamps.append(time.perf_counter()))
        total = time.perf_counter() - start
        per_step = float(np.median(np.diff(stamps))) if len(stamps) > 2 else total / steps
        return total, per_step

    timed(1, 1)  # warm: the layer table, the first call's allocations
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        timed(2, 2)
        per_job = max(1, (torch.cuda.max_memory_allocated(device) - base) / 2)
        free = torch.cuda.mem_get_info(device)[0]
        size = int(max(1, min(1024, GPU_FILL * free // per_job)))
        table = [[2, float(per_job)]]
    else:
        table, best, worse = [], (0.0, 1), 0
        for n in sizes:
            total, per_step = timed(n, PROBE_STEPS)
            rate = n / (max(total - PROBE_STEPS * per_step, 0.0) + shared["steps"] * per_step)
            table.append([n, rate])
            if rate > best[0]:
                best, worse = (rate, n), 0
            else:
                worse += 1
                if worse == 2:
                    break
        size = best[1]
    store.put(weights, P.BATCH, key, {}, {"batch_size": size, "table": table})
    return size, table
