"""The bad inputs of the outside review (issue 31), each tried once: prints what the user now gets.

A row passes when the call raises an error of the expected kind whose message names the argument (or returns a
correct result where the review asked for one, e.g. a class name accepted). Run: .venv/bin/python benchmarks/bad_inputs.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' small models (tests.small_models)

ROWS: list[tuple[str, str, float, str]] = []


def attempt(label: str, call, must_mention: str) -> None:
    start = time.perf_counter()
    try:
        value = call()
    except (Exception, SystemExit) as err:  # noqa: BLE001 — the point is to see what escapes
        text = f"{type(err).__name__}: {err}"
        ok = must_mention.lower() in text.lower()
    else:
        text, ok = f"returned {type(value).__name__}", must_mention == "<returns>"
    ROWS.append((label, "clear" if ok else "UNCLEAR", time.perf_counter() - start, text.splitlines()[0][:110]))


def main() -> int:
    from vidvis_widgets import io
    from vidvis_widgets.data import SyntheticActions, VideoFolder
    from vidvis_widgets.methods import leaps
    from vidvis_widgets.models import list_layers, load_model
    from vidvis_widgets.store import ResultStore

    tmp = Path(tempfile.mkdtemp())
    clip = np.zeros((4, 16, 16, 3), np.uint8)
    good = io.write_video(tmp / "good.mp4", clip)
    attempt('write_video(quality="best") .mp4', lambda: io.write_video(tmp / "a.mp4", clip, quality="best"), "quality")
    attempt('write_video(quality="best") .webm', lambda: io.write_video(tmp / "a.webm", clip, quality="best"), "quality")
    attempt('write_video(quality="high")', lambda: io.write_video(tmp / "a.mp4", clip, quality="high"), "quality")
    attempt('write_video(fps="ten")', lambda: io.write_video(tmp / "a.mp4", clip, fps="ten"), "fps")
    attempt("write_video GIF fps=1e9", lambda: io.write_video(tmp / "a.gif", clip, fps=1e9), "fps")
    attempt("read_video(size=0)", lambda: io.read_video(good, size=0), "size")
    attempt("read_video(size=(1e5, 1e5))", lambda: io.read_video(good, size=(100000, 100000)), "available")
    attempt('read_video(num_frames="16")', lambda: io.read_video(good, num_frames="16"), "num_frames")
    attempt("SyntheticActions(samples_per_class=0)", lambda: SyntheticActions("test", samples_per_class=0), "samples_per_class")
    attempt('SyntheticActions(size="64")', lambda: SyntheticActions("test", size="64"), "size")
    attempt("VideoFolder(num_frames=0)", lambda: VideoFolder(tmp, num_frames=0), "num_frames")
    attempt("load_model(123)", lambda: load_model(123), "model")
    attempt('load_model(torchvision, weights="NOPE")', lambda: load_model("torchvision:r3d_18", weights="NOPE"), "KINETICS400_V1")
    attempt("load_model(size=-1)", lambda: load_model("tiny_r3d", size=-1), "size")
    attempt('AMJob(unit("fc8", "x")) on the model', lambda: _am_unknown_class(), "'x'")
    r3d = load_model("tiny_r3d")
    attempt("list_layers(model, ())", lambda: list_layers(r3d, ()), "shape")
    attempt("list_layers(model, (3, -8, 64, 64))", lambda: list_layers(r3d, (3, -8, 64, 64)), "size")
    stim = np.zeros((8, 64, 64, 3), np.uint8)
    attempt('leaps(model, "disc_left", ...) accepted', lambda: leaps(r3d, "disc_left", stim, steps=1), "<returns>")
    attempt("leaps stimulus as 0-255 floats", lambda: leaps(r3d, 0, stim.astype(np.float32) + 200, steps=1), "inputs")
    attempt("leaps size=(64, 4096, 4096)", lambda: leaps(r3d, 0, stim, size=(64, 4096, 4096), steps=1), "available")
    attempt("leaps size=(-8, 64, 64)", lambda: leaps(r3d, 0, stim, size=(-8, 64, 64), steps=1), "size")
    attempt("leaps priming_weights of the wrong length", lambda: leaps(r3d, 0, stim, priming_weights=[1.0] * 9, steps=1), "priming_weights")
    attempt("leaps two-stream verifier", lambda: leaps(r3d, 0, stim, verifier=load_model("tiny_two_stream"), steps=1), "verifier")
    store = ResultStore(tmp / "store")
    attempt("ResultStore.put(object array)", lambda: store.put("w" * 64, "m", {}, {"a": np.array([{}, 1], dtype=object)}), "'a'")
    bad = tmp / "corrupt"
    bad.mkdir()
    (bad / "index.sqlite").write_bytes(b"not a database" * 100)
    attempt("corrupt index.sqlite", lambda: ResultStore(bad).entries(), "index.sqlite")
    _dataset_rows(r3d)
    for args in (["--steps", "0"], ["--classes", "99"], ["--methods", "magic"], ["--per-class", "-1"]):
        attempt(f"vidvis evaluate-leaps {' '.join(args)}", lambda args=args: _cli(["evaluate-leaps", *args]), "exit 2")
    attempt("vidvis train --epochs 0", lambda: _cli(["train", "--epochs", "0"]), "exit 2")
    _user_world_rows(tmp)
    _model_refusal_rows(tmp)
    _saved_grid_rows(tmp)
    _input_refusal_rows(tmp)

    width = max(len(r[0]) for r in ROWS)
    print(f"{'input':<{width}}  result   seconds  what the user gets")
    for label, verdict, secs, text in ROWS:
        print(f"{label:<{width}}  {verdict:<7}  {secs:7.2f}  {text}")
    clear = sum(r[1] == "clear" for r in ROWS)
    print(f"\n{clear} of {len(ROWS)} inputs get a clear error or the meant result")
    return 0 if clear == len(ROWS) else 1


def _am_unknown_class():
    from vidvis_widgets.methods import ActivationMaximization, AMJob, unit
    from vidvis_widgets.models import load_model

    return ActivationMaximization(load_model("tiny_r3d"))(AMJob(unit("fc", "x")), steps=1)[0]


def _dataset_rows(model) -> None:
    from vidvis_widgets.data import SyntheticActions
    from vidvis_widgets.methods import ActivationMaximization, AMJob, unit, response_statistics

    arrays = SyntheticActions("test", samples_per_class=1).arrays(range(4))
    from vidvis_widgets.models import load_model

    two = load_model("tiny_two_stream")
    nan_flow = dict(arrays, flow=np.full_like(arrays["flow"], np.nan))
    attempt("response_statistics with NaN flow", lambda: response_statistics(two, nan_flow, ["fc8"]), "flow")
    as_float = dict(arrays, rgb=arrays["rgb"].astype(np.float32) / 255)
    same = lambda: _same_stats(two, arrays, as_float)  # noqa: E731
    attempt("response_statistics float [0, 1] == uint8", same, "<returns>")
    attempt("activation_max with NaN", lambda: ActivationMaximization(model, activation_max={"fc": np.full(14, np.nan)})(
        AMJob(unit("fc", 0)), steps=1)[0], "nan")


def _same_stats(model, a, b):
    from vidvis_widgets.methods import response_statistics

    x = response_statistics(model, a, ["fc8"]).activation_max["fc8"]
    y = response_statistics(model, b, ["fc8"]).activation_max["fc8"]
    if not np.allclose(x, y, atol=1e-4):
        raise AssertionError(f"statistics differ by {np.abs(x - y).max():.3g}")
    return x


def _cli(argv):
    out = subprocess.run([sys.executable, "-m", "vidvis_widgets.cli", *argv], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "VIDVIS_CACHE_DIR": tempfile.mkdtemp()})
    tail = (out.stderr or out.stdout).strip().splitlines()
    usage = any(line.startswith("usage:") for line in tail)
    raise SystemExit(f"exit {out.returncode}{' with usage' if usage else ''}: {tail[-1] if tail else ''}")



def _user_world_rows(tmp) -> None:
    """The errors the user's-models-and-videos issue measured, tried again."""
    import torch
    import transformers

    from vidvis_widgets.data import SyntheticActions, VideoFolder
    from vidvis_widgets.methods import ActivationMaximization, ModelInversion
    from vidvis_widgets.models import evaluate, load_model
    from vidvis_widgets.store import ResultStore

    config = transformers.VideoMAEConfig(image_size=32, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32,
                                         num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, num_labels=3)
    hf = transformers.VideoMAEForVideoClassification(config)
    attempt("AM on an unwrapped VideoMAE", lambda: ActivationMaximization(hf), "load_model")
    attempt("load_model(VideoMAE instance) runs", lambda: load_model(hf)(torch.zeros(1, 3, 4, 32, 32)), "<returns>")
    folder = SyntheticActions("test", samples_per_class=1).write_folder(tmp / "mixed", per_class=1)
    r3d = load_model("torchvision:r3d_18", weights=None, num_frames=8)
    videos = VideoFolder(folder, model=r3d, flow=None)
    attempt("VideoFolder of mixed sizes batches", lambda: evaluate(load_model("tiny_r3d"), VideoFolder(
        folder, model=load_model("tiny_r3d"), flow=None), batch_size=14), "<returns>")
    attempt("evaluate(VideoFolder, store=) on a 400-class model", lambda: evaluate(r3d, videos, store=ResultStore(
        tmp / "s2")), "class_names=")
    named = load_model("torchvision:r3d_18", weights=None, num_frames=8, class_names=videos.classes)
    attempt("evaluate(VideoFolder, store=) named", lambda: evaluate(named, videos, store=ResultStore(tmp / "s3")),
            "<returns>")
    attempt("load_model(torchvision, num_frames=8) honoured", lambda: r3d.vidvis_adapter.num_frames == 8 or 1 / 0,
            "<returns>")
    attempt("LEAPS' default verifier for r3d_18", lambda: ModelInversion(r3d), "verifier")
    from tests.small_models import slowfast_net, small_xclip

    slowfast = load_model(slowfast_net(3).eval())
    attempt("AM on SlowFast with pathways='both'", lambda: ActivationMaximization(slowfast, pathways="both"),
            "pathways")
    attempt("AM on SlowFast given per-pathway shapes", lambda: ActivationMaximization(
        slowfast, input_shape=((3, 2, 64, 64), (3, 8, 64, 64))), "input_shape")
    xclip = small_xclip()
    attempt("AM on an unwrapped X-CLIP", lambda: ActivationMaximization(xclip), "class_names=")
    attempt("load_model(X-CLIP) without class names", lambda: load_model(xclip), "class_names=")


def _model_refusal_rows(tmp) -> None:
    """Issue 41's models we claim and inputs we refuse: models without a video class head, a bare 3D CNN, a
    forward returning (logits, features), an unknown Hub id offline, and the weights, checkpoint and shape messages."""
    from torch import nn

    from tests.small_models import not_video_classifiers
    from vidvis_widgets.methods import ActivationMaximization, SaliencyTubes
    from vidvis_widgets.models import evaluate, list_layers, load_model

    for name, hf in not_video_classifiers().items():
        attempt(f"load_model({name})", lambda hf=hf: load_model(hf), "ForVideoClassification")

    def cnn():
        return nn.Sequential(nn.Conv3d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool3d(1), nn.Flatten(),
                             nn.Linear(8, 5)).eval()

    class WithFeatures(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = cnn()

        def forward(self, x):
            return self.net(x), x.mean((2, 3, 4))

    clips = np.zeros((2, 8, 32, 32, 3), np.uint8)
    attempt("tubes on a bare 3D CNN, no num_frames/size", lambda: SaliencyTubes(load_model(cnn()))(inputs=clips), "<returns>")
    attempt("AM on a bare 3D CNN, no num_frames/size", lambda: ActivationMaximization(load_model(cnn())), "num_frames=")
    attempt("load_model(my_module, num_frames=16, size=112)", lambda: load_model(cnn(), num_frames=16, size=112),
            "<returns>")
    attempt("tubes on forward -> (logits, features)", lambda: SaliencyTubes(load_model(WithFeatures()))(inputs=clips),
            "<returns>")
    attempt("evaluate on forward -> (logits, features)", lambda: evaluate(load_model(WithFeatures()), {
        "rgb": clips, "label": np.array([0, 1])}), "<returns>")

    def offline():
        os.environ["HF_HUB_OFFLINE"] = "1"
        try:
            return load_model("hf:no-such-org/x")
        finally:
            os.environ.pop("HF_HUB_OFFLINE")
    attempt('load_model("hf:no-such-org/x") offline', offline, "hf:no-such-org/x could not be found")
    attempt("load_model(weights=<a module>)", lambda: load_model("tiny_r3d", weights=cnn()), "an nn.Module (Sequential")
    empty = tmp / "empty.pt"
    empty.write_bytes(b"")
    attempt("load_model(weights=<zero-byte file>)", lambda: load_model("tiny_r3d", weights=empty), "is empty")
    r3d = load_model("tiny_r3d", weights=None)
    attempt("list_layers(model, 4 channels)", lambda: list_layers(r3d, (4, 16, 64, 64)), "expected (3, T, H, W)")
    attempt("list_layers(model, rank 3)", lambda: list_layers(r3d, (3, 64, 64)), "expected (3, T, H, W)")
    attempt("list_layers(model) at the native shape", lambda: list_layers(r3d) or 1 / 0, "<returns>")



class SavedGridNote(Exception):
    """What the saved-grid viewer says under a player whose settings it changed (a clamp, not an error)."""


_VIEWER = """import { parseStaticGrid } from "REPO/js/lib/static_grid";
import { decodeSheet, parseClip, sheetSize } from "REPO/js/lib/payload";
const doc = JSON.parse(require("fs").readFileSync(0, "utf8"));
(async () => {
  try {
    const grid = parseStaticGrid(doc);
    for (const [i, c] of grid.content.clips.entries()) {
      const clip = parseClip(c, i);
      if (clip) await decodeSheet(clip, i, async () => sheetSize(clip)); // a decoder that decodes what was promised
    }
    console.log(JSON.stringify({ note: grid.clamped.join("; ") }));
  } catch (err) { console.log(JSON.stringify({ error: String(err.message) })); }
})();
"""


def _saved_grid_rows(tmp) -> None:
    """Saved clip grids (the vidvis mimetype's document) read by the viewer's own code (js/lib, run in node)."""
    import base64
    import json
    import shutil
    import struct

    repo = Path(__file__).resolve().parents[1]
    esbuild = repo / "node_modules" / ".bin" / "esbuild"
    if not (shutil.which("node") and esbuild.exists()):
        attempt("saved grids (needs node and npm install)", lambda: 1 / 0, "<returns>")
        return
    (tmp / "viewer.ts").write_text(_VIEWER.replace("REPO", repo.as_posix()))
    subprocess.run([str(esbuild), str(tmp / "viewer.ts"), "--bundle", "--platform=node",
                    f"--outfile={tmp / 'viewer.js'}", "--log-level=error"], check=True, cwd=repo)

    def view(doc):
        out = subprocess.run(["node", str(tmp / "viewer.js")], input=json.dumps(doc), capture_output=True, text=True,
                             timeout=60, check=True)
        said = json.loads(out.stdout)
        if "error" in said:
            raise ValueError(said["error"])
        if said["note"]:
            raise SavedGridNote(said["note"])
        return said

    def png_header(w, h):  # a few bytes whose PNG header promises w×h pixels
        return b"\x89PNG\r\n\x1a\n" + struct.pack(">I4sII", 13, b"IHDR", w, h) + bytes(9)

    def grid(**over):
        clip = {"kind": "rgb", "format": "png", "width": 32, "height": 32, "frames": 1, "xstride": 32, "ystride": 32,
                "sheet_cols": 1, "data": base64.b64encode(png_header(32, 32)).decode()}
        return {"version": 1, "clips": [{**clip, **over.pop("clip", {})}], "captions": ["a"], "rows": 1, "cols": 1,
                **over}

    attempt("saved grid fps=1e308", lambda: view(grid(fps=1e308)), "playing at 120 fps")
    attempt("saved grid fps=-5", lambda: view(grid(fps=-5)), "playing at 10 fps")
    attempt("saved grid zoom=1e6", lambda: view(grid(zoom=1e6)), "shown at 32×")
    attempt("saved grid sheet of 16384² px", lambda: view(grid(clip=dict(width=16384, height=16384, xstride=16384,
                                                                         ystride=16384))), "megapixels")
    attempt("saved grid 33-byte PNG saying 16384²", lambda: view(grid(clip=dict(
        data=base64.b64encode(png_header(16384, 16384)).decode()))), "not decoded")
    attempt("saved grid that is a list", lambda: view([grid()]), "got a list")
    attempt("saved grid without version", lambda: view({k: v for k, v in grid().items() if k != "version"}),
            '"version" field')


def _input_refusal_rows(tmp) -> None:
    """Issue 41's inputs we refuse: LEAPS without a verifier and on SlowFast, stores given as paths, joint pathways
    on a clip model, writes to places that cannot take them, and the messages that lacked argument or form."""
    import warnings

    import torch

    from tests.small_models import slowfast_net
    from tests.test_huggingface import hf_model
    from vidvis_widgets import ClipPlayer, io
    from vidvis_widgets.data import SyntheticActions, VideoFolder
    from vidvis_widgets.methods import ActivationMaximization, leaps, response_statistics
    from vidvis_widgets.methods.leaps import activation_maximization_3d
    from vidvis_widgets.models import load_model
    from vidvis_widgets.store import ResultStore
    from vidvis_widgets.widgets.display import save_clips

    hf = load_model(hf_model("videomae"))
    stim = np.zeros((8, 32, 32, 3), np.uint8)
    attempt("leaps on Hugging Face, verifier='auto'", lambda: leaps(hf, 1, stim, steps=1),
            "leaps(model, target, inputs, verifier=None)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the warning that R_feat is left out
        attempt("leaps on Hugging Face, verifier=None", lambda: leaps(hf, 1, stim, verifier=None, steps=1), "<returns>")
    slowfast = load_model(slowfast_net(3, frames=16).eval())
    attempt("LEAPS' 3D AM on SlowFast at its default size", lambda: activation_maximization_3d(slowfast, 1, steps=1),
            "<returns>")
    r3d = load_model("tiny_r3d")
    arrays = SyntheticActions("test", samples_per_class=1).arrays(range(2))
    attempt('response_statistics(store="folder")', lambda: response_statistics(
        r3d, arrays, ["layer1"], store=str(tmp / "folder")), "<returns>")
    attempt('AM(clip model, pathways="joint")', lambda: ActivationMaximization(r3d, pathways="joint"), "pathways=")
    player, clip = ClipPlayer(np.zeros((2, 8, 8, 3), np.uint8)), np.zeros((2, 8, 8, 3), np.uint8)
    (tmp / "taken.html").mkdir()
    (tmp / "a-file").write_text("x")
    attempt("to_html onto a folder", lambda: player.to_html(tmp / "taken.html"),
            f"cannot write path='{tmp / 'taken.html'}': it is a folder")
    attempt("save_clips under a file", lambda: save_clips(player, tmp / "a-file" / "c.vidvis.json"),
            f"{tmp / 'a-file'} is a file")
    if Path("/sys/kernel").is_dir():  # sysfs takes no new file, even from root, as a read-only folder
        attempt("write_video where no file may be created", lambda: io.write_video("/sys/v.mp4", clip),
                "cannot write /sys/v.mp4: no file can be created in /sys (permission denied)")
        folder = SyntheticActions("test", samples_per_class=1).write_folder(tmp / "videos", per_class=1)
        attempt("VideoFolder(cache_dir=<unwritable>)", lambda: VideoFolder(folder, num_frames=8,
                                                                          cache_dir="/sys/flow"), "cache_dir=")
    (tmp / "empty.txt").write_text("# nothing yet\n")
    attempt("VideoFolder(files=<empty list>)", lambda: VideoFolder(tmp, files=tmp / "empty.txt"), "names no videos")
    attempt("ClipPlayer of a 70000×16 image", lambda: ClipPlayer(np.zeros((70000, 16, 3), np.uint8)),
            "clip 0 (1 frame of 70000×16")
    attempt('SyntheticActions.arrays(["a"])', lambda: SyntheticActions("test").arrays(["a"]), "indices[0]")
    attempt("get_or_compute returning no pair", lambda: ResultStore(tmp / "s4").get_or_compute(
        torch.nn.Linear(2, 2), "m", {}, lambda: {"a": np.zeros(2)}), "must return a pair (arrays, meta)")
    attempt("SyntheticActions(size=100000)", lambda: SyntheticActions("test", size=100000), "drawing one clip needs")


if __name__ == "__main__":
    raise SystemExit(main())
