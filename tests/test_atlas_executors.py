"""The atlas executors without a Ray cluster: the local executor's order and errors, the choice of executor, and the
error a missing Ray gives (tests/test_atlas_ray.py runs the Ray executor on a local cluster)."""

from __future__ import annotations

import builtins
import sys
import threading

import pytest

from vidvis_widgets.atlas import executors
from vidvis_widgets.atlas.executors import BatchFailed, LocalExecutor, RayExecutor, as_executor
from vidvis_widgets.models.run_control import Stopped


def scaled(shared, batch):
    return [shared["k"] * x for x in batch]


def fails_on_three(shared, batch):
    if 3 in batch:
        raise ValueError(f"no unit {batch}")
    return batch


def test_local_runs_each_batch_in_order_with_the_shared_value():
    got = list(LocalExecutor().run(scaled, {"k": 3}, [[1, 2], [3], [4, 5]]))
    assert got == [(0, [3, 6]), (1, [9]), (2, [12, 15])]


def test_local_task_error_names_its_batch_and_keeps_the_cause():
    seen = []
    with pytest.raises(BatchFailed, match=r"batch 1 \(of 3\) failed: ValueError: no unit \[3\]") as info:
        for item in LocalExecutor().run(fails_on_three, None, [[1], [3], [4]]):
            seen.append(item)
    assert info.value.batch == 1 and isinstance(info.value.__cause__, ValueError)
    assert seen == [(0, [1])]  # what came back before the error stays with the caller


def test_local_stop_ends_between_batches_and_the_task_sees_it():
    stop = threading.Event()
    seen = []

    def stops_after_first(shared, batch):
        seen.append(executors.task_stop() is stop)
        stop.set()
        return batch

    got = []
    with pytest.raises(Stopped):
        for item in LocalExecutor().run(stops_after_first, None, [[1], [2], [3]], stop=stop):
            got.append(item)
    assert got == [(0, [1])] and seen == [True]
    assert executors.task_stop() is None


def test_as_executor_choices_and_refusals():
    assert isinstance(as_executor("local"), LocalExecutor)
    mine = LocalExecutor()
    assert as_executor(mine) is mine
    with pytest.raises(ValueError, match="executor must be 'local', 'ray' or an object with run"):
        as_executor("dask")
    with pytest.raises(ValueError, match="ray_address='auto' names a Ray cluster, which only executor='ray' uses"):
        as_executor("local", address="auto")
    with pytest.raises(ValueError, match="num_cpus sizes a local Ray instance"):
        RayExecutor(address="auto", num_cpus=2)
    with pytest.raises(ValueError, match="threads_per_task must be an integer ≥ 1, got 0"):
        RayExecutor(threads_per_task=0)
    with pytest.raises(ValueError, match="max_retries must be an integer ≥ 0, got -1"):
        RayExecutor(max_retries=-1)


def test_missing_ray_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "ray", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ImportError, match=r"pip install 'vidvis-widgets\[ray\]'"):
        as_executor("ray")
    # a RayExecutor made directly says the same when it first runs, before any work
    with pytest.raises(ImportError, match=r"pip install 'vidvis-widgets\[ray\]'"):
        list(RayExecutor().run(scaled, {"k": 1}, [[1]]))
    # and nothing to run needs no Ray at all
    assert list(RayExecutor().run(scaled, {"k": 1}, [])) == []
