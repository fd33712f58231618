"""Static copies beside the live widget: the vidvis mimetype, offline HTML and a PNG poster, under a budget."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from PIL import Image

import vidvis_widgets as vv
from vidvis_widgets.widgets.serializers import from_sheet
from vidvis_widgets.widgets.static import CLIPS_MIME, script_json, static_bundle
from vidvis_widgets.media.clips import Clip

pytestmark = pytest.mark.filterwarnings("ignore:clips have different lengths")
WIDGET = "application/vnd.jupyter.widget-view+json"


def solid(colour, t=6, size=24):
    return np.broadcast_to(np.array(colour, np.uint8), (t, size, size, 3)).copy()


def frames_of(entry: dict) -> np.ndarray:
    sheet = np.asarray(Image.open(io.BytesIO(base64.b64decode(entry["data"]))).convert("RGB"))
    return from_sheet(sheet, entry["frames"], entry["height"], entry["width"], entry["xstride"], entry["ystride"],
                      entry["sheet_cols"])


def bundle(obj) -> dict:
    data = obj._repr_mimebundle_()
    return data[0] if isinstance(data, tuple) else data


def test_a_players_output_carries_its_clips_three_ways_beside_the_live_widget():
    rng = np.random.default_rng(0)
    clips = [rng.integers(0, 255, (5, 20, 28, 3), dtype=np.uint8), solid((255, 0, 0))]
    p = vv.ClipPlayer(clips, captions=["noise", "red"], fps=7.0, image_format="png", col_headers=["a", "b"])
    data = bundle(p)
    assert {WIDGET, CLIPS_MIME, "text/html", "image/png", "text/plain"} <= set(data)
    doc = data[CLIPS_MIME]
    assert doc["version"] == 1 and (doc["rows"], doc["cols"], doc["fps"]) == (1, 2, 7.0)
    assert doc["captions"] == ["noise", "red"] and doc["col_headers"] == ["a", "b"]
    for entry, clip in zip(doc["clips"], clips):  # lossless PNG sheets: every frame comes back exactly
        np.testing.assert_array_equal(frames_of(entry), clip)
    # the HTML fragment carries the same document and its own player, nothing fetched
    html = data["text/html"]
    start = html.index(f'<script type="{CLIPS_MIME}">') + len(f'<script type="{CLIPS_MIME}">')
    assert json.loads(html[start:html.index("</script>", start)]) == doc
    # no address but the SVG namespace (an identifier, never fetched) and no script loaded from anywhere
    assert set(re.findall(r"https?://[^\s\"')]+", html)) <= {"http://www.w3.org/2000/svg"}
    assert "<script src" not in html and "import(" not in html
    # the poster: the first frames, side by side, at the player's zoom (small clips enlarged)
    poster = np.asarray(Image.open(io.BytesIO(base64.b64decode(data["image/png"]))).convert("RGB"))
    red = np.all(poster == (255, 0, 0), axis=-1)
    assert red.sum() >= 24 * 24 * 4 and red[:, : poster.shape[1] // 2].sum() == 0
    assert "2 clips on a 1×2 grid" in data["text/plain"] and "noise; red" in data["text/plain"]


def test_captions_cannot_close_the_script_or_inject_markup():
    evil = "</script><img src=x onerror=alert(1)>&amp;"
    data = bundle(vv.ClipPlayer(solid((0, 0, 255)), captions=[evil]))
    html = data["text/html"]
    # only the fragment's own tags: its poster image and two scripts
    assert html.count("<img") == 1 and html.startswith('<div class="vv-static-host"><img class="vv-static-poster"')
    assert "<img src=x" not in html and html.count("</script>") == 2
    assert data[CLIPS_MIME]["captions"] == [evil]  # the text itself is kept, shown through textContent


def test_static_outputs_chooses_full_poster_or_none_and_restores_on_exit():
    p = vv.ClipPlayer(solid((0, 200, 0)))
    with vv.static_outputs("poster"):
        assert set(bundle(p)) == {WIDGET, "text/plain", "image/png"}
        with vv.static_outputs("none"):
            assert set(bundle(p)) == {WIDGET, "text/plain"}
        assert "image/png" in bundle(p)
    assert CLIPS_MIME in bundle(p)
    with pytest.raises(ValueError, match="mode must be one of 'full', 'poster', 'none', got 'all'"):
        vv.static_outputs("all")
    with pytest.raises(ValueError, match="budget must be a number of bytes ≥ 65536"):
        vv.static_outputs(budget=100)


def test_a_grid_over_the_budget_is_downscaled_then_shortened_with_a_note():
    rng = np.random.default_rng(1)
    clips = [Clip(rng.integers(0, 255, (32, 96, 96, 3), dtype=np.uint8), "rgb") for _ in range(6)]
    full = static_bundle(clips, budget=64 * 2**20)
    assert full[CLIPS_MIME]["clips"][0]["width"] == 96 and "note" not in full[CLIPS_MIME]
    budget = 512 * 1024
    small = static_bundle(clips, budget=budget)
    doc = small[CLIPS_MIME]
    size = 2 * len(json.dumps(doc)) + len(small["image/png"])
    assert size <= budget * 1.05, size
    entry = doc["clips"][0]
    assert entry["width"] < 96 or entry["frames"] < 32
    assert "to fit the 512 KiB budget per output" in doc["note"] and script_json(doc["note"]) in small["text/html"]
    # a budget nothing fits: the poster alone, saying so
    tiny = static_bundle(clips * 4, budget=64 * 1024)
    assert set(tiny) == {"image/png"}


def test_results_and_analysis_views_save_their_clips_and_plots(tmp_path):
    from vidvis_widgets.data import SyntheticActions
    from vidvis_widgets.methods import ActivationMaximization, AMJob, unit, response_statistics
    from vidvis_widgets.models import load_model

    model = load_model("tiny_two_stream")
    result = ActivationMaximization(model, activation_max=None)(AMJob(unit("conv5_fusion", 3)), steps=2)[0]
    doc = bundle(result)[CLIPS_MIME]
    assert [c["kind"] for c in doc["clips"]] == ["image", "flow"] and "appearance" in doc["captions"][0]
    saved = json.loads(vv.save_clips(result, tmp_path / "am.vidvis.json").read_text())  # the grid it shows
    assert saved["captions"] == doc["captions"] and [c["kind"] for c in saved["clips"]] == ["image", "flow"]
    test = SyntheticActions("test", samples_per_class=2)
    stats = response_statistics(model, test, ["conv5_fusion"])
    view = vv.ResponseHistogram(stats, test)
    data = bundle(view)
    doc = data[CLIPS_MIME]
    # the plot first, as an image with its bars drawn, then the top clips the view shows
    assert doc["captions"][0].startswith("conv5_fusion unit 0") and doc["clips"][0]["kind"] == "image"
    plot = frames_of(doc["clips"][0])[0]
    assert (np.abs(plot.astype(int) - (136, 152, 204)).sum(-1) < 60).sum() > 500  # bars in the view's colour
    assert sum(c is not None and c["kind"] == "rgb" for c in doc["clips"]) >= 2
    path = vv.save_clips(view, tmp_path / "hist.vidvis.json")
    assert json.loads(path.read_text())["captions"] == doc["captions"]
    with pytest.raises(ValueError, match=r"path must end in \.vidvis\.json"):
        vv.save_clips(view, tmp_path / "hist.json")


def test_the_wheel_ships_a_jupyterlab_extension_that_jupyter_lists_enabled(tmp_path):
    """Build the wheel from a copy of the tree whose js/ was edited after the set-up built the front end, install
    it into an empty prefix, and ask JupyterLab for its extensions there: the wheel carries the player built from
    the edited sources (not the built files it found), and the extension is found and enabled, nothing installed
    by hand."""
    import shutil
    import zipfile

    repo = Path(__file__).resolve().parents[1]
    src = tmp_path / "src"
    shutil.copytree(repo, src, ignore=shutil.ignore_patterns(".venv", "node_modules", ".git", "test-artifacts",
                                                             "notebooks", "benchmarks", "tests", "__pycache__"))
    (src / "node_modules").symlink_to(repo / "node_modules")
    assert (src / "vidvis_widgets/static/static_player.js").exists()  # the built files the edit makes stale
    marker = f"edited after the build {os.getpid()}"
    player = src / "js/lib/player.ts"
    player.write_text(player.read_text().replace("could not show these clips", f"could not show these clips ({marker})"))
    # the builder's `npm install` would touch the shared node_modules (and the network): only the build runs
    shim = tmp_path / "bin" / "npm"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\n[ "$1" = install ] && exit 0\nexec {shutil.which("npm")} "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{shim.parent}:{Path(sys.executable).parent}:{os.environ['PATH']}"}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path / "dist"), str(src)], check=True, capture_output=True, timeout=300, env=env)
    wheel = next((tmp_path / "dist").glob("vidvis_widgets-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    with zipfile.ZipFile(wheel) as z:
        assert marker in z.read("vidvis_widgets/static/static_player.js").decode()  # the HTML copies' player
        assert marker in z.read("vidvis_widgets/static/clip_player.js").decode()  # the live widget's
        lab = [n for n in names if "/labextensions/vidvis-widgets/static/" in n and n.endswith(".js")]
        assert any(marker in z.read(n).decode() for n in lab), lab  # the JupyterLab extension's
    shared = "vidvis_widgets-0.1.0.data/data/share/jupyter/labextensions/vidvis-widgets/"
    assert shared + "package.json" in names and shared + "install.json" in names
    assert any(n.startswith(shared + "static/remoteEntry.") for n in names)
    assert "vidvis_widgets/static/static_player.js" in names  # the HTML copies' player
    prefix = tmp_path / "prefix"
    # --ignore-installed: with --prefix alone pip uninstalls the package from the running environment
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed", "--prefix",
                    str(prefix), str(wheel)], check=True, capture_output=True, timeout=300)
    meta = json.loads((prefix / "share/jupyter/labextensions/vidvis-widgets/package.json").read_text())
    assert meta["name"] == "vidvis-widgets" and meta["jupyterlab"]["mimeExtension"]
    env = {**os.environ, "JUPYTER_PATH": str(prefix / "share/jupyter")}
    out = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True, text=True,
                         timeout=120, env=env)
    text = out.stdout + out.stderr
    section = text[text.index(str(prefix / "share/jupyter/labextensions")):]
    line = next((l for l in section.splitlines() if "vidvis-widgets" in l), "")
    assert "enabled" in line and "OK" in line, text


def test_a_large_poster_of_noisy_clips_is_saved_with_a_palette_and_keeps_its_picture():
    from vidvis_widgets.widgets.static import POSTER_BYTES, poster_png

    rng = np.random.default_rng(0)
    noise = [Clip(rng.integers(0, 256, (2, 112, 112, 3), dtype=np.uint8), "rgb") for _ in range(12)]
    png = poster_png(noise, captions=[f"unit {i}" for i in range(12)], rows=2, cols=6)
    poster = Image.open(io.BytesIO(png))
    assert poster.mode == "P" and len(png) < 1.5 * POSTER_BYTES  # true-colour it would be about 1.3 MB
    # still the first frames, where they belong: colours within the palette's rounding
    first = np.asarray(poster.convert("RGB"))[:112, :112].astype(int)
    assert np.abs(first - noise[0].frames[0].astype(int)).mean() < 40
    small = poster_png([Clip(np.full((2, 16, 16, 3), 200, np.uint8), "rgb")], captions=["a"], rows=1, cols=1)
    assert Image.open(io.BytesIO(small)).mode == "RGB"
