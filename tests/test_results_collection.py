"""One result collection for every method: AM's, LEAPS' and Saliency Tubes' results save to one file and load
back as the same collection with equal arrays and settings; a failed save keeps the file already there; and
tubes take the run controls every method takes (stop, Ctrl-C, callback every `every` batches)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
import torch

from vidvis_widgets.data.synthetic import SyntheticActions
from vidvis_widgets.methods import (ActivationMaximization, AMJob, AMResults, InversionJob, InversionResults,
                                    ModelInversion, Results, SaliencyTubeResults, SaliencyTubes, load, logit,
                                    saliency_tubes, unit)
from vidvis_widgets.models import load_model
from vidvis_widgets.store import ResultStore

from .test_method_store import Forwards


@pytest.fixture(scope="module")
def r3d():
    return load_model("tiny_r3d")


@pytest.fixture(scope="module")
def clips():
    return SyntheticActions("test").arrays(range(5))


@pytest.fixture(scope="module")
def tubes(r3d, clips):
    """Grad-CAM tubes of a target value (its weights and values are kept too), over two batches."""
    return SaliencyTubes(r3d, method="grad", batch_size=3)(logit(0) - logit(1), clips["rgb"], top_k=2)


def same_entries(a: Results, b: Results):
    """Every stored array and every metadata value equal, entry by entry."""
    assert type(a) is type(b) and len(a) == len(b) and a.settings == b.settings
    for (xa, ma), (xb, mb) in zip(a.entries(), b.entries(), strict=True):
        assert ma == mb and xa.keys() == xb.keys()
        for k in xa:
            assert xa[k].dtype == xb[k].dtype, k
            np.testing.assert_array_equal(xa[k], xb[k], err_msg=k)


# -- save and load ---------------------------------------------------------------------------------------------
def test_am_results_round_trip(r3d, tmp_path):
    jobs = [AMJob(target=unit("layer4", 1)), AMJob(target=logit(0) - logit(1), seed=3)]
    results = ActivationMaximization(r3d)(jobs, steps=2, progress=False)
    assert isinstance(results, AMResults) and isinstance(results, Results) and len(results) == 2
    assert results.settings["steps"] == 2
    path = results.save(tmp_path / "am.npz")
    again = load(path)
    same_entries(results, again)
    assert [r.job for r in again] == [r.job for r in results]  # the target value came back as a Target
    for a, b in zip(results, again):
        assert a.settings == b.settings  # tuples in the settings stay tuples
        np.testing.assert_array_equal(a.appearance, b.appearance)
        assert (a.status, a.best_step, a.normalized_activation) == (b.status, b.best_step, b.normalized_activation)
    assert isinstance(again[:1], AMResults) and again[:1].settings == again.settings


def test_leaps_results_round_trip(tmp_path):
    m, v = load_model("tiny_r3d"), load_model("tiny_verifier")
    val = SyntheticActions("val").arrays()
    stimulus = val["rgb"][int(np.flatnonzero(val["label"] == 3)[0])]
    jobs = [InversionJob(3, stimulus=0, seed=0), InversionJob(logit(1) - logit(2), seed=1, variant="am")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = ModelInversion(m, v)(jobs, [stimulus], steps=2, progress=False)
    assert isinstance(results, InversionResults) and len(results) == 2
    again = load(results.save(tmp_path / "leaps.npz"))
    same_entries(results, again)
    assert [r.job for r in again] == [r.job for r in results]
    np.testing.assert_array_equal(again[0].stimulus, results[0].stimulus)
    assert again[1].stimulus is None and again[0].history.keys() == results[0].history.keys()


def test_tube_results_round_trip_and_index_by_clip(tubes, tmp_path):
    assert len(tubes) == 5 and tubes.status == "completed"
    assert tubes.settings["method"] == "grad" and tubes.settings["layer"] == tubes.layer
    again = load(tubes.save(tmp_path / "tubes.vvr"))  # any file name: the archive is written as it is
    assert (tmp_path / "tubes.vvr").exists() and sorted(os.listdir(tmp_path)) == ["tubes.vvr"]
    same_entries(tubes, again)
    assert again.target == tubes.target and again.class_names == tubes.class_names
    # what the tubes recompute from the kept maps and weights is the same (up to the order of a sum: the loaded
    # maps are contiguous, the computed ones channels-last)
    torch.testing.assert_close(again.tubes(), tubes.tubes(), atol=1e-6, rtol=0)
    torch.testing.assert_close(again.tubes(target=tubes.predicted), tubes.tubes(target=tubes.predicted), atol=1e-6,
                               rtol=0)
    # one job per clip: [i] is that clip's result, as select gives it
    torch.testing.assert_close(again[3].tubes(), tubes.tubes()[3:4], atol=1e-6, rtol=0)
    torch.testing.assert_close(again[-1].logits, tubes.logits[4:], atol=0, rtol=0)
    assert [len(r) for r in again] == [1] * 5 and len(again[1:4]) == 3
    with pytest.raises(IndexError, match="clip index 5 is out of range for 5 clips"):
        again[5]


def test_a_failed_save_keeps_the_file_already_there(tubes, tmp_path, monkeypatch):
    path = tubes.save(tmp_path / "tubes.npz")
    before = path.read_bytes()
    real = np.savez

    def full_disk(file, **arrays):  # writes half the archive, then the disk is full
        real(file, **dict(list(arrays.items())[:2]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    with pytest.raises(OSError, match="the disk is full"):
        tubes[:2].save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["tubes.npz"]  # no partial file left
    same_entries(load(path), tubes)
    # settings that cannot be saved are refused by name, and the good file stays too
    bad = tubes[:1]
    bad.settings = {**bad.settings, "callback": print}
    with pytest.raises(TypeError, match="cannot save the results' settings"):
        bad.save(path)
    assert path.read_bytes() == before


def test_load_refuses_what_is_not_a_saved_collection(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not a saved results file"):
        load(tmp_path / "other.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="not a saved results file"):
        load(tmp_path / "text.npz")
    with pytest.raises(FileNotFoundError, match="no saved results"):
        load(tmp_path / "missing.npz")


def test_a_saved_result_loads_and_shows_in_a_fresh_process(tubes, tmp_path):
    """The user's side: a result saved, this process's objects out of the picture, the file loaded and shown in
    a new interpreter; its clip grid renders the same clips."""
    path = tubes.save(tmp_path / "tubes.npz")
    out = tmp_path / "shown.npz"
    script = ("import sys, json, numpy as np\n"
              "from vidvis_widgets.methods import load\n"
              "r = load(sys.argv[1])\n"
              "player = r.show()\n"
              "np.savez(sys.argv[2], *[c.frames for c in player.clips])\n"
              "print(json.dumps({'type': type(r).__name__, 'clips': len(r), 'player': type(player).__name__,\n"
              "                  'captions': list(player.captions), 'sheets': sum(p is not None for p in player.payload)}))\n")
    done = subprocess.run([sys.executable, "-c", script, str(path), str(out)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "VIDVIS_PROGRESS": "0"})
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    mine = tubes.show()
    assert got == {"type": "SaliencyTubeResults", "clips": 5, "player": "ClipPlayer", "captions": list(mine.captions),
                   "sheets": 15}
    with np.load(out) as z:
        shown = [z[f"arr_{i}"] for i in range(len(z.files))]
    assert len(shown) == 15  # clip, heat tube, focus tube per clip
    for k, (a, b) in enumerate(zip(shown, mine.clips, strict=True)):
        assert a.shape == b.frames.shape and a.dtype == np.uint8
        if k % 3 == 0:  # the clip itself
            np.testing.assert_array_equal(a, b.frames)
        else:  # heat and focus: the tubes' last float bits (a sum's order) may round a pixel the other way
            assert np.abs(a.astype(int) - b.frames.astype(int)).max() <= 1


# -- tubes' run controls ---------------------------------------------------------------------------------------
def test_a_stop_ends_tubes_after_the_current_batch_and_is_not_stored(r3d, clips, tubes, tmp_path):
    store = ResultStore(tmp_path)
    stop = threading.Event()
    stop.set()
    with Forwards(r3d) as fw:
        r = SaliencyTubes(r3d, method="grad", batch_size=3, store=store)(logit(0) - logit(1), clips["rgb"],
                                                                          top_k=2, stop=stop)
    assert fw.n == 1 and r.status == "stopped" and len(r) == 3 and len(store) == 0
    np.testing.assert_array_equal(r.frames.numpy(), clips["rgb"][:3])
    torch.testing.assert_close(r.tubes(), tubes.tubes()[:3], atol=1e-5, rtol=1e-4)
    assert "stopped" in repr(r)
    full = SaliencyTubes(r3d, method="grad", batch_size=3, store=store)(logit(0) - logit(1), clips["rgb"], top_k=2)
    assert full.status == "completed" and len(full) == 5 and len(store) == 1


def test_the_callback_sees_every_every_batches_and_the_last(r3d, clips):
    seen = []
    r = saliency_tubes(r3d, inputs=clips["rgb"], batch_size=1, every=2, callback=seen.append)
    assert [(s.batch, s.batches, s.clips_done, s.clips) for s in seen] == [(2, 5, 2, 5), (4, 5, 4, 5), (5, 5, 5, 5)]
    np.testing.assert_allclose(seen[1].logits, r.logits[:4].numpy(), atol=1e-6)
    assert seen[-1].predicted.tolist() == r.predicted.tolist() and seen[0].step == 2 and seen[0].steps == 5


def test_a_ctrl_c_ends_tubes_after_the_current_batch(r3d, clips):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("a Ctrl-C reaches only the main thread")
    batches = []

    def ctrl_c(snap):
        batches.append(snap.batch)
        os.kill(os.getpid(), signal.SIGINT)  # what Jupyter's interrupt button sends

    r = SaliencyTubes(r3d, batch_size=2)(inputs=clips["rgb"], callback=ctrl_c)
    assert batches == [1] and r.status == "interrupted" and len(r) == 2


def test_tubes_refuse_what_does_not_apply_before_any_work(r3d, clips):
    tubes = SaliencyTubes(r3d)
    with Forwards(r3d) as fw:
        with pytest.raises(ValueError, match="pass inputs= as a clip T×H×W×3"):
            tubes()
        with pytest.raises(ValueError, match=r"target= got an array of shape \(5, 16, 64, 64, 3\); the clips go in inputs="):
            tubes(clips["rgb"])
        with pytest.raises(ValueError, match="target= got a dict"):
            saliency_tubes(r3d, clips)
        for name in ("seeds", "steps"):
            with pytest.raises(ValueError, match=f"{name}=2 does not apply to Saliency Tubes"):
                tubes(inputs=clips["rgb"], **{name: 2})
        with pytest.raises(ValueError, match="every"):
            tubes(inputs=clips["rgb"], every=0)
        with pytest.raises(TypeError, match="callback must be a function"):
            tubes(inputs=clips["rgb"], callback=3)
    assert fw.n == 0
