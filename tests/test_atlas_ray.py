"""The Ray executor on a local Ray cluster of two CPU workers (one per module, shut down after it): its results equal
the local executor's byte for byte, a worker that dies loses only its batch, which is retried, a task's error names
its batch, and a Stop cancels what is still out."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import ray

from vidvis_widgets.atlas.executors import BatchFailed, LocalExecutor, RayExecutor
from vidvis_widgets.models.run_control import Stopped

ROOT = str(Path(__file__).resolve().parent.parent)


@pytest.fixture(scope="module")
def cluster(one_thread):
    """A local Ray instance with two CPU workers, for this module's tests; the driver on one torch thread, as each
    task is (threads_per_task=1). The workers import the task functions from this module (the repository root on
    their path)."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning",
             runtime_env={"env_vars": {"PYTHONPATH": ROOT, "VIDVIS_PROGRESS": "0"}})
    yield
    ray.shutdown()


# -- tasks (top level, so Ray workers import them) ----------------------------------------------------------------
def am_batch(shared, batch):
    """The AM of a batch of units on the shared model: each job's arrays, as the store keeps them."""
    from vidvis_widgets.methods.activation_maximization import ActivationMaximization
    from vidvis_widgets.methods.core.targets import unit

    am = ActivationMaximization(shared["model"], steps=shared["steps"], activation_max=None)
    results = am([unit(layer, c) for layer, c in batch], seeds=shared["seed"], progress=False)
    return [r.to_entry()[0] for r in results]


def am_dies_once(shared, batch):
    """``am_batch``, but the worker process running batch ``shared["dies"]`` dies on its first attempt (a marker
    file remembers the attempt)."""
    marker = Path(shared["folder"]) / f"attempt-{batch[0][1]}"
    if batch == shared["dies"] and not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(1)
    return am_batch(shared, batch) + [{"pid": os.getpid()}]


def fails(shared, batch):
    if batch == 2:
        raise KeyError(f"unit {batch} is not in the layer")
    return batch


def slow(shared, batch):
    time.sleep(shared)
    return batch


def am_shared(**extra):
    from vidvis_widgets.models import load_model

    return {"model": load_model("tiny_two_stream"), "steps": 3, "seed": 0, **extra}


#: six units of two layers in three batches, as a build forms them
BATCHES = [[("conv5_fusion", 0), ("conv5_fusion", 3)], [("conv5_fusion", 5), ("fc6", 1)], [("fc6", 7), ("fc7", 2)]]


def same(a: list[dict], b: list[dict]) -> bool:
    return len(a) == len(b) and all(x.keys() == y.keys() and all(np.asarray(x[k]).tobytes() == np.asarray(y[k])
                                                                 .tobytes() for k in x) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def local_am():
    """The local executor's results for BATCHES (on the module's one thread)."""
    return dict(LocalExecutor().run(am_batch, am_shared(), BATCHES))


def test_ray_results_equal_local_byte_for_byte(cluster, local_am):
    with RayExecutor(threads_per_task=1) as ex:
        got = dict(ex.run(am_batch, am_shared(), BATCHES))
    assert sorted(got) == [0, 1, 2]
    for i in got:
        assert same(got[i], local_am[i]), f"batch {i} differs from the local run"
    assert ray.is_initialized()  # the executor found the module's Ray running and left it so


def test_a_worker_that_dies_loses_only_its_batch(cluster, local_am, tmp_path):
    shared = am_shared(folder=str(tmp_path), dies=BATCHES[1])
    with RayExecutor(max_retries=2) as ex:
        got = dict(ex.run(am_dies_once, shared, BATCHES))
    died = int((tmp_path / "attempt-5").read_text())
    assert [p.name for p in tmp_path.iterdir()] == ["attempt-5"]  # only that batch's first attempt died
    assert got[1][-1]["pid"] != died  # the retry ran in another process
    for i in range(3):
        assert same(got[i][:-1], local_am[i]), f"batch {i} differs from the local run"


def test_a_task_error_names_its_batch(cluster):
    with RayExecutor() as ex, pytest.raises(BatchFailed, match=r"batch 2 \(of 4\) failed: KeyError: .*unit 2 is "
                                                               r"not in the layer") as info:
        list(ex.run(fails, None, [0, 1, 2, 3]))
    assert info.value.batch == 2 and isinstance(info.value.__cause__, KeyError)


def test_stop_cancels_what_is_out_and_keeps_what_came_back(cluster):
    stop = threading.Event()
    got = []
    start = time.monotonic()
    with RayExecutor() as ex, pytest.raises(Stopped):
        for index, result in ex.run(slow, 1.0, list(range(8)), stop=stop):
            got.append(index)
            stop.set()
    # two workers: the first two batches came back together; the six others were cancelled, not waited for
    assert 1 <= len(got) <= 2 and time.monotonic() - start < 5
