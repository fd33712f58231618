"""The result store: keys, round trips, a kill mid-write, concurrent writers, and the CLI."""

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from vidvis_widgets.cli import main as cli
from vidvis_widgets.models import load_model
from vidvis_widgets.store import CorruptStoreError, ResultStore, weights_hash


@pytest.fixture()
def store(tmp_path):
    return ResultStore(tmp_path / "store")


def test_round_trip_and_keys_follow_weights_method_and_params(store):
    model = load_model("tiny_r3d", weights=None)
    arrays = {"a": np.arange(12, dtype=np.float32).reshape(3, 4), "b/c": np.array([1, 2], np.int64)}
    store.put(model, "am", {"steps": 3, "units": [1, 2]}, arrays, {"note": "x"})
    got, meta = store.get(model, "am", {"units": [1, 2], "steps": 3})  # key order does not matter
    assert meta == {"note": "x"} and set(got) == {"a", "b/c"}
    np.testing.assert_array_equal(got["a"], arrays["a"]) and np.testing.assert_array_equal(got["b/c"], arrays["b/c"])
    assert store.get(model, "am", {"steps": 4, "units": [1, 2]}) is None
    assert store.get(model, "leaps", {"steps": 3, "units": [1, 2]}) is None
    with torch.no_grad():
        model.fc.bias[0] += 1e-3
    assert store.get(model, "am", {"steps": 3, "units": [1, 2]}) is None


def test_get_or_compute_computes_once(store):
    model = load_model("tiny_r3d", weights=None)
    calls = []

    def compute():
        calls.append(1)
        return {"x": np.ones(3)}, {"n": len(calls)}

    first = store.get_or_compute(model, "m", {}, compute)
    second = store.get_or_compute(model, "m", {}, compute)
    assert len(calls) == 1 and first[1] == second[1] == {"n": 1}


def test_equal_weights_hash_alike():
    a, b = load_model("tiny_two_stream"), load_model("tiny_two_stream")
    assert weights_hash(a) == weights_hash(b) != weights_hash(load_model("tiny_two_stream", weights="epoch_1"))


def test_a_failed_write_leaves_the_old_entry_and_no_new_one(store, monkeypatch):
    store.put("w", "m", {"i": 0}, {"x": np.zeros(4)})

    def broken(path, **arrays):
        with open(path, "wb") as f:
            f.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        store.put("w", "m", {"i": 1}, {"x": np.ones(4)})
    monkeypatch.undo()
    assert store.get("w", "m", {"i": 1}) is None and len(store) == 1
    np.testing.assert_array_equal(store.get("w", "m", {"i": 0})[0]["x"], np.zeros(4))
    assert not list(store.root.glob("objects/*/*partial*"))


WRITER = """
import sys, numpy as np
from vidvis_widgets.store import ResultStore
s = ResultStore(sys.argv[1])
print("ready", flush=True)
i = 0
while True:  # 16 MB entries, each filled with its own index
    s.put("w", "big", {"i": i}, {"x": np.full(4_000_000, i, np.float32)})
    i += 1
"""


def test_a_kill_mid_write_leaves_only_complete_entries(store):
    store.put("w", "keep", {}, {"x": np.arange(5)})
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(store.root)], stdout=subprocess.PIPE)
    assert p.stdout.readline().strip() == b"ready"
    time.sleep(1.5)
    p.send_signal(signal.SIGKILL)
    p.wait()
    reopened = ResultStore(store.root)
    big = [e for e in reopened.entries() if e["method"] == "big"]
    assert big, "the writer stored nothing before the kill; give it longer"
    for e in big:
        i = int(e["params"].split(":")[1].rstrip("}"))
        x = reopened.get("w", "big", {"i": i})[0]["x"]
        assert x.shape == (4_000_000,) and (x == i).all()
    np.testing.assert_array_equal(reopened.get("w", "keep", {})[0]["x"], np.arange(5))
    # the killed write's partial file, once older than clear()'s minute of grace, is swept with the entries
    for f in reopened.root.glob("objects/*/*"):
        os.utime(f, (time.time() - 120, time.time() - 120))
    assert reopened.clear() == len(big) + 1 and not list(reopened.root.glob("objects/*/*"))


def _write_many(root, worker, n):
    s = ResultStore(root)
    for i in range(n):
        s.put("w", "many", {"worker": worker, "i": i}, {"x": np.full(1000, worker * 100 + i)})


def run_to_the_end(procs) -> None:
    """Starts every process, waits for each, and checks it exited cleanly."""
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0


def test_concurrent_writers_lose_nothing(store):
    ctx = mp.get_context("spawn")
    run_to_the_end([ctx.Process(target=_write_many, args=(str(store.root), w, 15)) for w in range(4)])
    assert len(store) == 60
    for w in range(4):
        for i in range(15):
            assert (store.get("w", "many", {"worker": w, "i": i})[0]["x"] == w * 100 + i).all()


def test_unwritable_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(PermissionError, match="not writable.*VIDVIS_CACHE_DIR"):
        ResultStore(blocker / "store")


def test_cli_lists_and_clears(store, capsys, monkeypatch):
    store.put("abc", "am", {"k": 1}, {"x": np.zeros(2)})
    store.put("abc", "stats", {"k": 2}, {"x": np.zeros(2)})
    assert cli(["cache", "list", "--dir", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert "2 entries" in out and "am" in out and "stats" in out
    monkeypatch.setenv("VIDVIS_CACHE_DIR", str(store.root))
    assert cli(["cache", "clear", "--method", "am"]) == 0
    assert "removed 1 entries" in capsys.readouterr().out and len(store) == 1
    assert cli(["cache", "clear"]) == 0 and len(store) == 0 and not list(store.root.glob("objects/*/*"))


def test_activation_maximization_reuses_stored_jobs_and_runs_only_new_ones(store):
    from vidvis_widgets.methods import ActivationMaximization, AMJob, unit

    model = load_model("tiny_two_stream")
    seen = []
    am = ActivationMaximization(model, store=store, activation_max=None)
    first = am([AMJob(unit("fc8", 0)), AMJob(unit("fc8", 1), gamma=5)], steps=4, every=1, callback=lambda s: seen.append(s))
    assert {s.total.shape[1] for s in seen} == {2} and len(store) == 2
    seen.clear()
    again = ActivationMaximization(model, store=store, activation_max=None)(
        [AMJob(unit("fc8", 1), gamma=5), AMJob(unit("fc8", 2)), AMJob(unit("fc8", 0))], steps=4, every=1,
        callback=lambda s: seen.append(s))
    assert {s.total.shape[1] for s in seen} == {1}  # only the new job was optimized
    assert [r.job for r in again] == [AMJob(unit("fc8", 1), gamma=5), AMJob(unit("fc8", 2)), AMJob(unit("fc8", 0))]
    np.testing.assert_array_equal(again[0].motion, first[1].motion)
    np.testing.assert_array_equal(again[2].appearance, first[0].appearance)
    assert again[0].normalized_activation == first[1].normalized_activation and again[0].status == "completed"
    # other settings are other entries; a stopped run is not stored
    import threading

    stop = threading.Event()
    stop.set()
    stopped = ActivationMaximization(model, store=store, activation_max=None, lr=0.3)(AMJob(unit("fc8", 3)), steps=4,
                                                                                       stop=stop)[0]
    assert stopped.status == "stopped" and len(store) == 3


def test_evaluation_is_stored_and_reloaded(store):
    from vidvis_widgets.data.synthetic import SyntheticActions
    from vidvis_widgets.models.evaluation import evaluate

    model = load_model("tiny_two_stream")
    data = SyntheticActions("test", samples_per_class=2)
    ev = evaluate(model, data, store=store)
    again = evaluate(model, data, store=store)
    assert len(store) == 1 and again.matrix.sum() == 28
    np.testing.assert_array_equal(ev.logits, again.logits)
    np.testing.assert_array_equal(ev.matrix, again.matrix)


def _write_same_keys(root, writer, barrier):
    s = ResultStore(root)
    for i in range(40):
        barrier.wait(60)  # all four write key i at once
        s.put("w", "same", {"i": i}, {"x": np.full(20_000, writer, np.int64), "y": np.array([writer, i])},
              {"writer": writer, "i": i})
        # read back while the others replace it (and remove the file just read off the row): never absent
        arrays, meta = s.get("w", "same", {"i": i})
        assert (arrays["x"] == meta["writer"]).all() and arrays["y"].tolist() == [meta["writer"], i]


def test_writers_of_the_same_keys_leave_no_torn_entry(store):
    """Each entry's arrays and metadata come from one writer, and no file is left that no entry points at.
    (Before each write had a file of its own, this left several of the 40 entries torn.)"""
    ctx = mp.get_context("fork")  # the writers use numpy and sqlite only; fork spares 4 imports of torch
    barrier = ctx.Barrier(4)
    run_to_the_end([ctx.Process(target=_write_same_keys, args=(str(store.root), w, barrier)) for w in range(4)])
    assert len(store) == 40
    torn = []
    for i in range(40):
        arrays, meta = store.get("w", "same", {"i": i})
        w = meta["writer"]
        if not ((arrays["x"] == w).all() and arrays["y"].tolist() == [w, i] and meta["i"] == i):
            torn.append((i, meta, arrays["y"].tolist()))
    assert not torn, f"{len(torn)} torn entries: {torn[:5]}"
    files = sorted(str(f.relative_to(store.root)) for f in store.root.glob("objects/*/*"))
    assert len(files) == 40, files  # every replaced file was removed by the writer that replaced it
    assert store.clear() == 40 and not list(store.root.glob("objects/*/*"))


def test_object_arrays_are_refused_at_put_by_name(store):
    with pytest.raises(TypeError, match=r"'labels'.*dtype=object.*numeric, bool or str"):
        store.put("w", "m", {}, {"x": np.zeros(3), "labels": np.array([{"a": 1}, None], dtype=object)})
    with pytest.raises(TypeError, match=r"'ragged'"):
        store.put("w", "m", {}, {"ragged": [np.zeros(2), np.zeros(3)]})
    assert len(store) == 0 and not list(store.root.glob("objects/*/*"))
    store.put("w", "m", {}, {"s": np.array(["a", "bc"]), "b": np.array([True]), "f": np.ones(2, np.float16)})
    got = store.get("w", "m", {})[0]
    assert got["s"].tolist() == ["a", "bc"] and got["b"].tolist() == [True] and got["f"].dtype == np.float16


def test_a_corrupt_index_names_the_file_and_cache_clear_recovers(store, capsys):
    store.put("w", "m", {}, {"x": np.zeros(3)})
    index = store.root / "index.sqlite"
    index.write_bytes(b"this is not an sqlite database " * 200)
    for opener in (lambda: ResultStore(store.root), lambda: store.get("w", "m", {}), lambda: len(store)):
        with pytest.raises(CorruptStoreError) as err:
            opener()
        assert str(index) in str(err.value) and f"vidvis cache clear --dir {store.root}" in str(err.value)
    with pytest.raises(SystemExit) as exit_:
        cli(["cache", "list", "--dir", str(store.root)])
    assert exit_.value.code == 1 and str(index) in capsys.readouterr().err
    assert cli(["cache", "clear", "--dir", str(store.root)]) == 0
    out = capsys.readouterr().out
    moved = list(store.root.glob("index.sqlite.corrupt-*"))
    assert len(moved) == 1 and moved[0].read_bytes().startswith(b"this is not") and str(moved[0]) in out
    fresh = ResultStore(store.root)
    assert len(fresh) == 0 and not list(store.root.glob("objects/*/*"))
    fresh.put("w", "m", {}, {"x": np.ones(3)})
    np.testing.assert_array_equal(fresh.get("w", "m", {})[0]["x"], np.ones(3))
