"""The built atlas: its pages have the keys of js/lib/atlas_types.ts (read from the file), its media are real PNG and
WebM files, its AM pieces equal AM called directly on the same jobs, a later call that adds layers or units computes
only those, and it reopens in a new process with no model."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vidvis_widgets.atlas import build_atlas, open_atlas
from vidvis_widgets.atlas import pieces as P
from vidvis_widgets.methods import ActivationMaximization, response_statistics
from vidvis_widgets.methods.activation_maximization.results import AMJob
from vidvis_widgets.methods.core.targets import logit, unit
from vidvis_widgets.models import load_model

from .atlas_fixture import CLASSES, GAMMA, LAYERS, STEPS, tiny_atlas, tiny_data

TYPES = Path(__file__).resolve().parents[1] / "js" / "lib" / "atlas_types.ts"


def interfaces() -> dict[str, tuple[set, set]]:
    """Each interface of atlas_types.ts: (required keys, all keys), read from its top-level fields."""
    out = {}
    for name, body in re.findall(r"export interface (\w+) \{\n(.*?)\n\}", TYPES.read_text(), re.S):
        fields = re.findall(r"^  (\w+)(\??):", body, re.M)
        out[name] = ({f for f, opt in fields if not opt}, {f for f, _ in fields})
    return out


TS = interfaces()


def check(obj: dict, name: str) -> None:
    required, every = TS[name]
    assert required <= set(obj) <= every, (name, set(obj) ^ required)


def check_input(inp: dict) -> None:
    check(inp, "AtlasInput")
    for clip in inp.values():
        check(clip, "AtlasClip")
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", clip["ref"])


@pytest.fixture(scope="module")
def atlas(tmp_path_factory):
    return tiny_atlas(tmp_path_factory)


@pytest.fixture(scope="module")
def model():
    return load_model("tiny_two_stream")


def test_pages_have_the_contracts_keys(atlas):
    m = atlas.manifest()
    check(m, "AtlasManifest")
    assert json.loads(json.dumps(m)) == m
    assert [l["name"] for l in m["layers"]] == LAYERS and m["streams"] == ["appearance", "motion"]
    assert [l["kind"] for l in m["layers"]] == ["units", "units", "classes"]
    assert m["layers"][-1]["units"] == CLASSES and [(p["kappa"], p["gamma"]) for p in m["presets"]] == GAMMA
    for info in m["layers"]:
        check(info, "AtlasLayerInfo")
        page = atlas.layer_page(info["name"])
        check(page, "AtlasLayerPage")
        for s in page["sprites"]:
            check(s, "AtlasSprite")
        cells = page["units"]
        assert sorted(c["unit"] for c in cells) == sorted(info["units"])
        assert [c["cell"] for c in cells] == list(range(len(cells)))
        assert [c["selectivity"] for c in cells] == sorted((c["selectivity"] for c in cells), reverse=True)
        for c in cells:
            check(c, "AtlasUnitCell")
            up = atlas.unit_page(info["name"], c["unit"])
            check(up, "AtlasUnitPage")
            assert up["selectivity"] == c["selectivity"] and len(up["sweep"]) == len(GAMMA)
            for e in up["sweep"]:
                check(e, "AtlasSweepEntry")
                check_input(e["input"])
            assert len(up["histogram"]["values"]) == 14 and up["top_class"] in up["histogram"]["classes"]
            for t in up["top_clips"]:
                check(t, "AtlasTopClip")
                check_input(t["clip"])
            tops = [t["response"] for t in up["top_clips"]]
            assert tops == sorted(tops, reverse=True) and tops[0] == pytest.approx(max(
                v for v in up["histogram"]["values"] if v is not None))
    for c in CLASSES:
        page = atlas.class_page(c)
        check(page, "AtlasClassPage")
        assert page == atlas.class_page(m["classes"][c]) and page["index"] == c
        for e in page["am"]:
            check_input(e["input"])
        for w in page["misclassified"]:
            check_input(w["clip"])
    with pytest.raises(KeyError, match="unit 5 of layer 'conv5_fusion' is not in atlas"):
        atlas.unit_page("conv5_fusion", 5)


def test_media_are_png_and_webm_files(atlas):
    page = atlas.unit_page("conv5_fusion", atlas.layer_page("conv5_fusion")["units"][0]["unit"])
    sprite = atlas.layer_page("conv5_fusion")["sprites"][0]
    refs = [sprite["ref"], page["sweep"][0]["input"]["appearance"]["ref"], page["sweep"][0]["input"]["motion"]["ref"],
            page["top_clips"][0]["clip"]["motion"]["ref"], atlas.class_page(0)["am"][0]["input"]["motion"]["ref"]]
    for ref in refs:
        data, mime = atlas.media(ref)
        if mime == "image/png":
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and ref.endswith(".png")
        else:
            assert mime == "video/webm" and data[:4] == b"\x1a\x45\xdf\xa3" and ref.endswith(".webm")
    from PIL import Image
    import io

    sheet = Image.open(io.BytesIO(atlas.media(sprite["ref"])[0]))
    cells = len(atlas.layer_page("conv5_fusion")["units"])
    assert sheet.width == sprite["columns"] * sprite["cell_width"]
    assert sheet.height == -(-cells // sprite["columns"]) * sprite["cell_height"]
    for bad in ("../index.html", "u0-0-0-app.png", "x<y>.png"):
        with pytest.raises((KeyError, ValueError)):
            atlas.media(bad)


def test_am_pieces_equal_am_called_directly(atlas, model):
    """The stored sweep of a unit and of a class equals ActivationMaximization run on the same jobs in one batch,
    with â measured independently (a response pass summed over locations, as AM's own â)."""
    data = tiny_data()
    a_hat = response_statistics(model, data, ["conv5_fusion"], reduce="sum").activation_max
    am = ActivationMaximization(model, activation_max=a_hat)
    u = atlas.manifest()["layers"][1]["units"][0]
    jobs = [AMJob(unit("conv5_fusion", u), k, g, 0) for k, g in GAMMA]
    direct = am(jobs, steps=STEPS, progress=False)
    stored = ActivationMaximization(model, activation_max=a_hat, store=atlas.store)
    found = stored.stored(stored.resolve(jobs), STEPS)
    for d, s in zip(direct, found):
        assert s is not None
        np.testing.assert_allclose(s.appearance, d.appearance, rtol=1e-5, atol=1e-3)
        np.testing.assert_allclose(s.motion, d.motion, rtol=1e-5, atol=1e-4)
        assert s.normalized_activation == pytest.approx(d.normalized_activation, rel=1e-4)
    # the page shows those inputs and values
    page = atlas.unit_page("conv5_fusion", u)
    assert [e["value"] for e in page["sweep"]] == pytest.approx([d.normalized_activation for d in direct], rel=1e-4)
    frames = direct[0].clips()[1].frames
    arrays = atlas.store.get(atlas.weights, P.UNIT, P.unit_params(atlas.sig, "conv5_fusion", u))[0]
    assert np.abs(arrays["mot0"].astype(int) - frames.astype(int)).max() <= 2
    cls = am([AMJob(logit(1), k, g, 0) for k, g in GAMMA], steps=STEPS, progress=False)
    assert [e["value"] for e in atlas.class_page(1)["am"]] == pytest.approx(
        [r.normalized_activation for r in cls], rel=1e-4)


def test_a_later_call_computes_only_the_new_layers_and_units(atlas, model):
    more = build_atlas(model, tiny_data(), layers=LAYERS + ["motion.conv1_1"],
                       units={"appearance.conv1_1": [0, 1, 2], "conv5_fusion": atlas.manifest()["layers"][1]["units"],
                              "motion.conv1_1": [4]},
                       classes=CLASSES, gamma=GAMMA, steps=STEPS, batch_size=12, store=atlas.store, progress=False,
                       name="more")
    s = more.stats
    # new: unit 2 of appearance.conv1_1 and unit 4 of motion.conv1_1, each under the two settings
    assert (s["am_jobs"], s["computed"], s["loaded"], s["batches"]) == (16, 4, 12, 1)
    assert more.unit_page("appearance.conv1_1", 0) == atlas.unit_page("appearance.conv1_1", 0)
    assert more.layer_page("motion.conv1_1")["units"][0]["unit"] == 4
    # the first atlas is unchanged under its own name
    assert [l["name"] for l in open_atlas(atlas.store).manifest()["layers"]] == LAYERS


def test_reopens_in_a_new_process_without_the_model(atlas):
    code = (
        "import sys, json\n"
        "from vidvis_widgets.atlas import open_atlas\n"
        "a = open_atlas(sys.argv[1])\n"
        "m = a.manifest(); u = a.layer_page('conv5_fusion')['units'][0]['unit']\n"
        "p = a.unit_page('conv5_fusion', u)\n"
        "data, mime = a.media(p['sweep'][0]['input']['motion']['ref'])\n"
        "print(json.dumps([m['weights'], p['selectivity'], mime, len(data)]))\n")
    out = subprocess.run([sys.executable, "-c", code, str(atlas.store.root)], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    weights, sel, mime, size = json.loads(out.strip().splitlines()[-1])
    u = atlas.layer_page("conv5_fusion")["units"][0]
    assert weights == atlas.weights and sel == pytest.approx(u["selectivity"]) and mime == "video/webm" and size > 100
    assert open_atlas(atlas.store).stats == json.loads(json.dumps(atlas.stats))  # the build's numbers, kept


def test_a_batch_run_here_counts_its_steps_for_the_bar(model):
    counts: list[int] = []
    shared = P.shared_settings(model, {"activation_max": {"appearance.conv1_1": np.ones(8, np.float32)}}, 10, "count")
    batch = [("unit", "appearance.conv1_1", u, 1.0, 0.0, 0) for u in (0, 1)]
    with P.counting_steps(counts.append):
        out = P.run_batch(shared, batch)
    assert counts == [2] * 10 and [e[1]["status"] for e in out["entries"]] == ["completed"] * 2
    P.run_batch(shared, batch[:1])  # outside: nothing counted
    assert len(counts) == 10
