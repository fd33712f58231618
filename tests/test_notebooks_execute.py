"""The method notebooks run top to bottom in a real kernel (with few optimization steps)."""

import re

import nbformat
import pytest

from .conftest import SHIPPED

CLIPS = "application/vnd.vidvis.clips.v1+json"


def progress_bar(output) -> bool:
    """A tqdm bar's widget ("train tiny_two_stream:  40%|████  | 105/264 [...]"): a model the notebook trains on its
    first run on a machine shows one; it is not one of the notebook's views."""
    return re.search(r"\d+%\|.*\| *\d+/\d+ \[", output.get("data", {}).get("text/plain", "")) is not None


def run(name: str, executed_notebooks):
    nb = nbformat.read(executed_notebooks(name), as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
             and not progress_bar(o)]
    text = "".join(o.get("text", "") for o in outputs)
    return views, text


def test_response_histograms_notebook(executed_notebooks):
    views, text = run("response_histograms.ipynb", executed_notebooks)
    assert len(views) == 2 and text.count("selectivity") == 6


def test_filter_evolution_notebook(executed_notebooks):
    views, text = run("filter_evolution.ipynb", executed_notebooks)
    assert len(views) == 1 and "epoch 10: validation accuracy" in text and "epoch 10 " in text


def test_dataset_bias_notebook_runs_every_step_of_the_course(executed_notebooks):
    """The student edition on the embedded world (conftest's PREPARE); tests/test_course_notebook.py checks its
    findings against the planted answer."""
    views, text = run("dataset_bias.ipynb", executed_notebooks)
    assert "bias seed None: tiny_two_stream, 420 test clips of 14 classes" in text
    assert "most confused: brushing_teeth ↔ shaving" in text
    assert "over-confident:" in text and "2D confuses, 3D separates:" in text  # the three rankings
    assert text.count("AM of ") == 4  # both directions of the difference × both streams
    assert "class object: freeze flips" in text and "after retraining" in text and "findings written to" in text
    assert len(views) == 6  # the pair view, the clips, the contrast, the picker, the scan view, the edited clips


@pytest.mark.parametrize("name", ["two_stream_am.ipynb"])
def test_notebook_runs_and_shows_widgets(name, executed_notebooks):
    nb = nbformat.read(executed_notebooks(name), as_version=4)
    views = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert len(views) >= 6  # three sweeps, two result grids, the monitor
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "unit('conv5_fusion', channel=7)" in text and "disc_right: mean flow" in text


def test_leaps_notebook_runs_the_view_the_baselines_the_table_and_torchvision(executed_notebooks):
    views, text = run("leaps.ipynb", executed_notebooks)
    assert len(views) == 3  # the live view, the baselines' player, the torchvision result
    assert "inverting tiny_r3d for class 'bar_clockwise', 6 steps" in text
    assert text.count("InversionResult(class 2 · stimulus 0 · seed") == 3
    for row in ("real stimuli", "3D DeepDream", "3D AM", "LEAPS (L_prim)", "LEAPS (L_prim + R_coh)",
                "LEAPS (L_prim + R_feat)", "LEAPS (full)"):
        assert row in text


def test_saliency_tubes_notebook(executed_notebooks):
    views, text = run("saliency_tubes.ipynb", executed_notebooks)
    assert len(views) == 7  # the result, its show(), the view, top-k, 2D vs 3D, layer1's tubes, r3d_18
    assert "Saliency Tubes (CAM, eqs. 1–2)                 |   420 |   6720" in text and "centre-bias map" in text
    assert "gradient-weighted tubes at layer1              |   420 |   6720" in text
    assert "method='cam', layer='layer4', maps (512, 2, 7, 7)" in text  # r3d_18 at its 112²
    assert (executed_notebooks("saliency_tubes.ipynb").parent / "disc_tube.mp4").stat().st_size > 1000


def test_your_videos_notebook_runs_the_bias_workflow_on_a_folder_of_mixed_size_mp4s(executed_notebooks):
    import imageio_ffmpeg

    views, text = run("your_videos.ipynb", executed_notebooks)
    folder = executed_notebooks("your_videos.ipynb").parent / "user_videos"
    sizes = {imageio_ffmpeg.read_frames(str(p)).__next__()["size"] for p in folder.glob("*/*.mp4")}
    assert len(sizes) >= 3  # the folder really holds clips of several sizes and aspect ratios
    assert "16×64×64 (crop)" in text and "28 videos, 14 classes" in text  # all at the model's input
    assert "Evaluation(28 videos" in text and "clips misclassified" in text
    assert "probe accuracy: 0% on 8 clips" in text and "apply_eye_makeup ↔ apply_lipstick: 8 errors" in text
    assert len(views) == 4  # confusion pairs, response histogram, the logits' inputs, the tubes


@pytest.mark.parametrize("name", SHIPPED)
def test_every_clip_output_of_a_saved_notebook_holds_its_static_copies(name, executed_notebooks):
    """Beside each live widget: the vidvis grid, offline HTML and a PNG poster, within the default budget."""
    import base64
    import json

    path = executed_notebooks(name)
    nb = nbformat.read(path, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if "data" in o]
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o["data"] and not progress_bar(o)]
    assert views
    for o in views:
        data = o["data"]
        if CLIPS not in data:  # a control-only widget (a Stop button) has no clips to save
            assert "image/png" not in data
            continue
        assert data["text/html"].count(f'<script type="{CLIPS}">') == 1
        png = base64.b64decode(data["image/png"])
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        size = len(json.dumps(data[CLIPS])) + len(data["text/html"]) + len(data["image/png"])
        assert size <= 2.1 * 2**20, size
    assert sum(CLIPS in o["data"] for o in views) >= max(1, len(views) - 1)


def test_atlas_notebook_builds_browses_exports_and_reloads(executed_notebooks):
    """Every layer (the Figs. 16/19 unit counts) and every class of the embedded two-stream model, shown, exported as
    a site, and rebuilt from the store with nothing recomputed."""
    views, text = run("atlas.ipynb", executed_notebooks)
    assert len(views) == 2  # the atlas view and the top clips of a unit
    assert "Atlas('atlas': tiny_two_stream, 30 layers, 43 units, 14 classes" in text and "on 28 test clips" in text
    assert "'computed': 228, 'loaded': 0" in text
    assert "appearance.conv1_1                  3×3      1×1    5/8  units" in text and "14/14  classes" in text
    assert re.search(r"conv5_fusion unit \d+: selectivity 0\.\d\d, top class \w+", text)
    assert text.count("κ=1 γ=") == 4  # the unit's sweep
    assert "a rerun computed 0 AM jobs and loaded 228" in text
    site = executed_notebooks("atlas.ipynb").parent / "tiny_two_stream_atlas"
    assert (site / "index.html").is_file() and (site / "atlas.vvatlas").is_file()
    assert len(list((site / "media").iterdir())) > 100

