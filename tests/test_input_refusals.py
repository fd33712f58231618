"""Inputs the second outside review (issue 41) found refused unclearly, or not at all: each now gets a clear error
naming the argument, the problem and the expected form before any long work, or works."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.models import load_model
from vidvis_widgets.store import ResultStore, as_store


@pytest.fixture(scope="module")
def r3d():
    torch.manual_seed(0)
    return load_model("tiny_r3d")


# -- a store given as a path ---------------------------------------------------------------------------------
def test_response_statistics_takes_a_store_folder_as_a_path_and_finds_its_result_again(r3d, tmp_path):
    from vidvis_widgets.methods import response_statistics

    arrays = SyntheticActions("test", samples_per_class=1).arrays(range(3))
    first = response_statistics(r3d, arrays, ["layer1"], store=str(tmp_path / "folder"))
    assert len(ResultStore(tmp_path / "folder")) == 1
    again = response_statistics(r3d, arrays, ["layer1"], store=tmp_path / "folder")  # a Path finds the same entry
    np.testing.assert_array_equal(first.activation_max["layer1"], again.activation_max["layer1"])
    assert len(ResultStore(tmp_path / "folder")) == 1


def test_every_store_argument_takes_a_path_and_refuses_what_is_no_store(r3d, tmp_path):
    from vidvis_widgets.methods import ActivationMaximization, SaliencyTubes
    from vidvis_widgets.models import evaluate

    assert as_store(tmp_path / "s").root == tmp_path / "s"
    assert ActivationMaximization(r3d, store=str(tmp_path / "am")).store.root == tmp_path / "am"
    assert SaliencyTubes(r3d, store=tmp_path / "tubes").cache.store.root == tmp_path / "tubes"
    ev = evaluate(r3d, SyntheticActions("test", samples_per_class=1), store=str(tmp_path / "ev"))
    assert len(ev.labels) == 14 and len(ResultStore(tmp_path / "ev")) == 1
    with pytest.raises(TypeError, match=r"store must be None, True .*, a folder path .* or a ResultStore; got int"):
        ActivationMaximization(r3d, store=3)
    with pytest.raises(ValueError, match="store is an empty path"):
        as_store("")


def test_get_or_compute_names_what_compute_must_return(tmp_path):
    store = ResultStore(tmp_path)
    with pytest.raises(TypeError, match=r"compute\(\) for method 'm' must return a pair \(arrays, meta\).*returned dict"):
        store.get_or_compute(torch.nn.Linear(2, 2), "m", {}, lambda: {"a": np.zeros(2)})
    with pytest.raises(TypeError, match="returned a 3-tuple"):
        store.get_or_compute(torch.nn.Linear(2, 2), "m", {}, lambda: ({}, {}, {}))
    assert len(store) == 0


# -- pathways="joint" on a model without pathways ---------------------------------------------------------------
def test_am_refuses_joint_pathways_on_a_single_stream_or_two_stream_model(r3d):
    from vidvis_widgets.methods import ActivationMaximization

    with pytest.raises(ValueError, match=r"pathways='joint' is for multi-pathway models.*tiny_r3d is a clip model"):
        ActivationMaximization(r3d, pathways="joint")
    with pytest.raises(ValueError, match=r"tiny_two_stream is a two-stream model, with no pathways to join"):
        ActivationMaximization(load_model("tiny_two_stream"), pathways="joint")
    assert ActivationMaximization(r3d).streams.names == ("video",)  # the default still takes it



# -- messages with the argument, the problem and the expected form ---------------------------------------------
def test_synthetic_arrays_names_an_index_that_is_not_an_integer():
    ds = SyntheticActions("test", samples_per_class=1)
    with pytest.raises(TypeError, match=r"indices must be integer sample positions in \[-14, 14\); indices\[1\] is 'a'"):
        ds.arrays([0, "a"])
    with pytest.raises(TypeError, match=r"indices must be a sequence of integer sample positions .* got 3"):
        ds.arrays(3)
    assert ds.arrays(np.array([1, -1]))["label"].tolist() == [1, 13]  # numpy integers still pass


def test_synthetic_actions_too_large_to_draw_is_refused_with_the_estimate():
    from vidvis_widgets._memory import InsufficientMemory, available_bytes

    with pytest.raises(InsufficientMemory, match=r"SyntheticActions\(size=100000, num_frames=16\): drawing one clip "
                                                 r"needs about [\d.]+ TB .* refused before allocating"):
        SyntheticActions("test", size=100000)
    ds = SyntheticActions("test", size=64, samples_per_class=1)
    # the estimate of a batch: its arrays (rgb 3, flow 8, masks 2 bytes a pixel) and one clip's drawing buffers
    assert ds.memory_needed(14) >= sum(a.nbytes for a in ds.arrays(range(14)).values())
    n = 2 * int(available_bytes() // ds.memory_needed(1)) + 2  # twice the clips memory holds: refused before drawing any
    with pytest.raises(InsufficientMemory, match=rf"SyntheticActions.arrays of {n} clips of 16×64²"):
        ds.arrays([0] * n)


def test_video_folder_names_an_empty_list_file(tmp_path):
    from vidvis_widgets.data import VideoFolder

    (tmp_path / "empty.txt").write_text("# no videos yet\n\n")
    with pytest.raises(ValueError, match=r"files=.*empty.txt' names no videos \(2 lines, none but blank lines and # "
                                         r"comments\); expected one video a line.*<class>/<file>"):
        VideoFolder(tmp_path, files=tmp_path / "empty.txt", flow=None)


@pytest.mark.parametrize("shape, fmt, fits", [((70000, 16, 3), "jpeg", "png"), ((20000, 16, 3), "webp", "jpeg")])
def test_clip_player_refuses_a_clip_larger_than_its_codec_takes_naming_it_and_its_shape(shape, fmt, fits):
    from vidvis_widgets import ClipPlayer

    small = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match=rf"clip 1 \(1 frame of {shape[0]}×16, shape \(1, {shape[0]}, 16, 3\)\) travels "
                                         rf"as one {shape[0]}×16 image, but {fmt.upper()} images take at most .* "
                                         rf"pixels a side: resize it, or pass image_format='{fits}'"):
        ClipPlayer([small, np.zeros(shape, np.uint8)], image_format=fmt)
    player = ClipPlayer([small, small], image_format=fmt)
    with pytest.raises(ValueError, match=r"clip 0 \(1 frame of"):
        player.set_clip(0, np.zeros(shape, np.uint8))


# -- writes to places that cannot take them ----------------------------------------------------------------------
def _writers():
    from vidvis_widgets import ClipPlayer, io
    from vidvis_widgets.widgets.display import save_clips

    player = ClipPlayer(np.zeros((2, 8, 8, 3), np.uint8))
    clip = np.zeros((2, 8, 8, 3), np.uint8)
    return {"to_html": (".html", player.to_html), "save_clips": (".vidvis.json", lambda p: save_clips(player, p)),
            "write_video": (".mp4", lambda p: io.write_video(p, clip)),
            "write_video gif": (".gif", lambda p: io.write_video(p, clip))}


WRITERS = ["to_html", "save_clips", "write_video", "write_video gif"]


def _no_partial(text: str) -> None:
    assert ".partial" not in text, text


@pytest.mark.parametrize("writer", WRITERS)
def test_a_write_onto_a_folder_or_under_a_file_names_the_path_and_the_cause(writer, tmp_path):
    suffix, write = _writers()[writer]
    folder = tmp_path / f"taken{suffix}"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=rf"cannot write path='{folder}': it is a folder") as err:
        write(folder)
    _no_partial(str(err.value))
    (tmp_path / "notes.txt").write_text("x")
    under = tmp_path / "notes.txt" / f"out{suffix}"
    with pytest.raises(NotADirectoryError, match=rf"cannot write path='{under}': {tmp_path / 'notes.txt'} is a file"):
        write(under)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", f"taken{suffix}"]


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux's sysfs, where no user may create files")
@pytest.mark.parametrize("writer", WRITERS)
def test_a_write_into_a_folder_no_one_may_create_files_in_names_the_path_and_the_cause(writer):
    suffix, write = _writers()[writer]
    target = Path(f"/sys/vidvis-out{suffix}")  # sysfs refuses new files even to root, as a read-only folder does
    with pytest.raises(PermissionError, match=rf"cannot write {target}: no file can be created in /sys \(permission "
                                              r"denied\)") as err:
        write(target)
    _no_partial(str(err.value))
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no traceback naming the temporary file


@pytest.mark.parametrize("writer", WRITERS)
def test_a_write_on_a_read_only_file_system_names_the_path_and_keeps_the_old_file(writer, tmp_path, monkeypatch):
    """A read-only mount cannot be made without privileges, so the file system's answer (EROFS) is given where the
    temporary file is created, as the kernel gives it."""
    import errno
    import os

    from vidvis_widgets import _atomic

    suffix, write = _writers()[writer]
    target = tmp_path / f"kept{suffix}"
    target.write_bytes(b"old")

    def read_only(path, *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(_atomic.os, "open", read_only)
    with pytest.raises(OSError, match=rf"cannot write {target}: no file can be created in {tmp_path} \(the file "
                                      r"system is read-only\)") as err:
        write(target)
    assert err.value.errno == errno.EROFS
    _no_partial(str(err.value))
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_write_that_fails_midway_names_the_path_not_the_temporary_file(tmp_path):
    import errno

    from vidvis_widgets._atomic import atomic_path

    target = tmp_path / "a.npz"
    target.write_bytes(b"old")
    with pytest.raises(OSError, match=rf"cannot write {target}: the disk is full$") as err:
        with atomic_path(target) as tmp:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
    assert err.value.errno == errno.ENOSPC and target.read_bytes() == b"old" and len(list(tmp_path.iterdir())) == 1


def test_video_folder_refuses_a_cache_dir_it_cannot_write_at_construction(tmp_path):
    from vidvis_widgets.data import VideoFolder

    (tmp_path / "videos" / "juggling").mkdir(parents=True)
    (tmp_path / "videos" / "juggling" / "a.mp4").write_bytes(b"")  # check=False: the folder is not decoded
    root = tmp_path / "videos"
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(NotADirectoryError, match=rf"cache_dir='{tmp_path / 'notes.txt' / 'flow'}' cannot be a folder: "
                                                 rf"{tmp_path / 'notes.txt'} is a file"):
        VideoFolder(root, check=False, cache_dir=tmp_path / "notes.txt" / "flow")
    if Path("/sys/kernel").is_dir():
        with pytest.raises(PermissionError, match=r"cache_dir='/sys/vidvis-flow' is not a writable folder "
                                                  r"\(permission denied\)"):
            VideoFolder(root, check=False, cache_dir="/sys/vidvis-flow")
    no_flow = VideoFolder(root, check=False, cache_dir=tmp_path / "notes.txt" / "flow", flow=None)
    assert no_flow.flow is None  # without flow there is nothing to cache: the folder is not checked
    VideoFolder(root, check=False, cache_dir=tmp_path / "new" / "flow")
    assert (tmp_path / "new" / "flow").is_dir() and not list((tmp_path / "new" / "flow").iterdir())


# -- LEAPS without a verifier ------------------------------------------------------------------------------------
def test_leaps_on_a_hugging_face_model_the_refusal_gives_the_call_that_runs_and_it_runs_without_r_feat():
    import re
    import warnings

    from vidvis_widgets.methods import ModelInversion, leaps
    from vidvis_widgets.methods.leaps.inversion import VARIANTS
    from vidvis_widgets.methods.leaps.verifier import warn_without_verifier

    from .test_huggingface import hf_model

    model = load_model(hf_model("videomae"))
    stimulus = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"verifier='auto' has no verifier for .*verifier=load_model\('pytorchvideo:"
                                         r"x3d_s'.* call leaps\(model, target, inputs, verifier=None\)") as err:
        leaps(model, 1, stimulus, steps=1)[0]
    # the call the message gives (one step of it): the default variant runs without R_feat, and a warning says so
    call = re.search(r"call (leaps\(.*?)\)", str(err.value)).group(1) + ", steps=1)"
    with pytest.warns(UserWarning, match=r"verifier=None, so R_feat .* is left out of variant 'leaps', which minimize "
                                         r"\('leaps': 1·ce\(.*prim\(.*coh\(.*\); 'leaps' without R_feat is the paper's "
                                         r"'prim\+coh' row"):
        (r,) = eval(call, {"leaps": leaps, "model": model, "target": 1, "inputs": stimulus})
    assert r.status == "completed" and r.job.variant == "leaps" and "feat" not in r.settings["loss"]
    assert np.all(r.history["feat"] == 0) and np.isfinite(r.history["total"]).all()
    inv = ModelInversion(model, None)
    assert repr(inv.loss("leaps")) == repr(inv.loss("prim+coh")) != repr(inv.loss("leaps", full=True))
    with warnings.catch_warnings():  # variants without R_feat have nothing left out: no warning
        warnings.simplefilter("error")
        warn_without_verifier({v: inv.loss(v, full=True) for v in VARIANTS}, ["prim+coh", "deepdream", "am"])


# -- SlowFast's smallest input, from its adapter -------------------------------------------------------------------
def test_leaps_on_slowfast_at_its_default_size_takes_the_smallest_input_its_adapter_derives():
    from vidvis_widgets.methods import ActivationMaximization, ModelInversion
    from vidvis_widgets.methods.leaps import activation_maximization_3d

    from .small_models import slowfast_net

    torch.manual_seed(0)
    model = load_model(slowfast_net(3, frames=16).eval())  # 4 slow and 16 fast frames: LEAPS' 8 are too few
    assert model.vidvis_adapter.min_shape == (16, 64, 64)  # from the head's pools, as S3D's is
    # x*'s default size: the model's native input, which is also its smallest (before: 8 frames, and the 3D AM
    # baseline, which runs the model on x* as it is, met torch's "input image (T: 2 …) smaller than kernel")
    assert ModelInversion(model, None).size == (16, 64, 64)
    assert ModelInversion(load_model("pytorchvideo:x3d_s", weights=None), None).size == (13, 160, 160)
    with pytest.raises(ValueError, match=r"variant 'am' runs .* no less than 16×64×64 \(T×H×W\); size=\(8, 64, 64\)"):
        activation_maximization_3d(model, 1, steps=1, size=(8, 64, 64))[0]
    with pytest.raises(ValueError, match=r"input_shape=\(3, 8, 64, 64\) is below the smallest input .* 16×64×64"):
        ActivationMaximization(model, input_shape=(3, 8, 64, 64), pathways="joint")
