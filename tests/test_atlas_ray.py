"""The Ray executor on a local Ray cluster of two CPU workers (one per module, shut down after it): its results equal
the local executor's byte for byte, a worker that dies loses only its batch, which is retried, a task's error names
its batch, and a Stop cancels what is still out."""

from __future__ import annotations

import functools
import json
import os
import re
import threading
import time
from pathlib import Path

import pytest
import ray

from vidvis_widgets.atlas.executors import BatchFailed, RayExecutor
from vidvis_widgets.atlas.pieces import run_batch
from vidvis_widgets.models.run_control import Stopped

from .atlas_fixture import GAMMA

ROOT = str(Path(__file__).resolve().parent.parent)
GAMMA_LAST = GAMMA[-1]


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
def dies_once(folder: str, spec: tuple, shared, batch):
    """The atlas's ``run_batch``, but the worker process running the batch that holds ``spec`` dies on its first
    attempt (a marker file in ``folder`` remembers the attempt); each result also says which process made it."""
    marker = Path(folder) / "died"
    if tuple(spec) in map(tuple, batch) and not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(1)
    return {**run_batch(shared, batch), "pid": os.getpid()}


def fails(shared, batch):
    if batch == 2:
        raise KeyError(f"unit {batch} is not in the layer")
    return batch


def slow(shared, batch):
    """Notes that the batch started (a file in folder ``shared[0]``), then sleeps ``shared[1]`` s."""
    folder, seconds = shared
    (Path(folder) / f"started-{batch}").touch()
    time.sleep(seconds)
    return batch


# -- the tiny atlas, built locally and on Ray ---------------------------------------------------------------------
def build(store: Path, executor="local"):
    """The tiny atlas of tests/atlas_fixture.py (three layers, two units each, two classes, two sweep settings at 3
    steps), in batches of 4 jobs: three batches, so both workers get some."""
    from vidvis_widgets.atlas import build_atlas
    from vidvis_widgets.models import load_model

    from .atlas_fixture import CLASSES, GAMMA, LAYERS, STEPS, UNITS, tiny_data

    return build_atlas(load_model("tiny_two_stream"), tiny_data(), layers=LAYERS, units=UNITS, classes=CLASSES,
                       gamma=GAMMA, steps=STEPS, batch_size=4, store=store, executor=executor, progress=False)


def content(atlas) -> dict:
    """Everything the atlas's store holds, entry by entry (arrays as bytes, metadata), less the build's own timings
    and counts in the manifest entry; and every page and media file the atlas names."""
    from vidvis_widgets.store import ResultStore

    store = ResultStore(atlas.store.root)
    out = {}
    for e in store.entries():
        arrays, meta = store.get(e["weights"], e["method"], json.loads(e["params"]))
        meta = {k: v for k, v in meta.items() if k != "stats"}  # the manifest's stats: seconds, loaded/computed
        out[(e["method"], e["params"])] = ({k: (a.dtype.str, a.shape, a.tobytes()) for k, a in arrays.items()},
                                          meta)
    manifest = atlas.manifest()
    pages = {"manifest": manifest}
    for layer in manifest["layers"]:
        pages[layer["name"]] = atlas.layer_page(layer["name"])
        for u in layer["units"]:
            pages[(layer["name"], u)] = (atlas.class_page(u) if layer.get("kind") == "classes"
                                         else atlas.unit_page(layer["name"], u))
    # the media of the AM inputs and sprites (the dataset's clips do not pass through an executor); a WebM's random
    # track UIDs blanked (the encoder draws them anew each time, on one machine as on the other)
    refs = sorted(set(re.findall(r"'ref': '([us][A-Za-z0-9_.-]+)'", repr(pages))))
    return {"store": out, "pages": pages, "media": {r: fixed_uids(atlas.media(r)[0]) for r in refs}}


def fixed_uids(data: bytes) -> bytes:
    """A WebM with its TrackUID and TagTrackUID elements (IDs 73C5 and 63C5, 8 bytes) zeroed."""
    return re.sub(rb"(\x73\xc5\x88|\x63\xc5\x88).{8}", lambda m: m.group(1) + bytes(8), data, flags=re.S)


@pytest.fixture(scope="module")
def local_atlas(cluster, tmp_path_factory):
    """The tiny atlas built by the local executor (on the module's one thread): what every Ray build must equal."""
    return content(build(tmp_path_factory.mktemp("local")))


def same_as_local(got: dict, local: dict) -> None:
    assert got["store"].keys() == local["store"].keys()
    for key in local["store"]:
        assert got["store"][key] == local["store"][key], f"store entry {key} differs from the local build's"
    assert got["pages"] == local["pages"]
    assert got["media"] == local["media"] and len(local["media"]) > 0


def test_ray_build_equals_local_byte_for_byte(cluster, local_atlas, tmp_path):
    atlas = build(tmp_path / "ray", executor="ray")
    assert atlas.stats["batches"] == 3 and atlas.stats["computed"] == 12
    same_as_local(content(atlas), local_atlas)
    assert ray.is_initialized()  # the build's executor found the module's Ray running and left it so


def test_a_worker_that_dies_loses_only_its_batch(cluster, local_atlas, tmp_path, monkeypatch):
    from vidvis_widgets.atlas import pieces

    pids = []
    # the batch holding fc8's class 1 (the last batch) dies on its first attempt; the build runs pieces.run_batch
    spec = ("class", 1, *GAMMA_LAST, 0)
    monkeypatch.setattr(pieces, "run_batch", functools.partial(dies_once, str(tmp_path), spec))
    real = RayExecutor.run

    def run(self, task, shared, batches, stop=None):
        for index, result in real(self, task, shared, batches, stop=stop):
            pids.append((index, result["pid"]))
            yield index, result

    monkeypatch.setattr(RayExecutor, "run", run)
    atlas = build(tmp_path / "ray", executor="ray")
    died = int((tmp_path / "died").read_text())
    assert sorted(i for i, _ in pids) == [0, 1, 2]  # every batch came back once, the lost one retried
    assert dict(pids)[2] != died  # the lost batch (the last: fc8's class 1) was retried in another worker process
    assert atlas.stats["computed"] == 12
    same_as_local(content(atlas), local_atlas)


def test_a_task_error_names_its_batch(cluster):
    with RayExecutor() as ex, pytest.raises(BatchFailed, match=r"batch 2 \(of 4\) failed: KeyError: .*unit 2 is "
                                                               r"not in the layer") as info:
        list(ex.run(fails, None, [0, 1, 2, 3]))
    assert info.value.batch == 2 and isinstance(info.value.__cause__, KeyError)


def test_stop_cancels_what_is_out_and_keeps_what_came_back(cluster, tmp_path):
    stop = threading.Event()
    got = []
    with RayExecutor() as ex, pytest.raises(Stopped):
        for index, result in ex.run(slow, (str(tmp_path), 1.0), list(range(8)), stop=stop):
            got.append(index)
            stop.set()
            stopped = time.monotonic()
    assert time.monotonic() - stopped < 2  # the run ended at the Stop, not after the batches still out
    # two workers: the batch that came back (and one beside it) are kept; the rest were cancelled, so even seconds
    # later (uncancelled, all eight would have started within 4 s) fewer than eight ever started
    assert 1 <= len(got) <= 2
    time.sleep(4)
    assert len(list(tmp_path.glob("started-*"))) < 8


class CountsLoads:
    """A shared value that notes each time a process unpickles it (one line per load, in ``folder``/loads)."""

    def __init__(self, folder: str):
        self.folder = folder

    def __setstate__(self, state):
        self.__dict__.update(state)
        with open(Path(self.folder) / "loads", "a") as f:
            f.write(f"{os.getpid()}\n")


def reads_shared(shared, batch):
    return batch, shared.folder, os.getpid()


def test_the_shared_value_is_sent_once_and_loaded_once_per_worker(cluster, tmp_path):
    with RayExecutor() as ex:
        got = dict(ex.run(reads_shared, CountsLoads(str(tmp_path)), list(range(8))))
    assert sorted(got) == list(range(8)) and all(got[i][:2] == (i, str(tmp_path)) for i in got)
    loads = [int(p) for p in (tmp_path / "loads").read_text().split()]
    workers = {pid for _, _, pid in got.values()}
    assert len(loads) == len(set(loads)) and set(loads) <= workers  # each worker loaded it at most once, not per batch


def test_tasks_ask_for_cpus_here_and_one_gpu_each_only_where_there_are_gpus(cluster):
    assert RayExecutor().resources() == {"num_cpus": 1, "num_gpus": 0} and RayExecutor().slots() == 2
    assert RayExecutor(threads_per_task=2).slots() == 1
