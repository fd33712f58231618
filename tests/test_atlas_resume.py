"""A build killed with SIGKILL (the `vidvis atlas build` command, after at least one batch is stored) resumes in a
rerun that computes exactly the jobs not stored, loads the rest and the response statistics, and gives what AM run
directly gives; the command then reports everything loaded and `vidvis atlas export` writes the site."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from vidvis_widgets.atlas import build_atlas
from vidvis_widgets.atlas import pieces as P
from vidvis_widgets.cli import main
from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.methods import ActivationMaximization, response_statistics
from vidvis_widgets.methods.activation_maximization.results import AMJob
from vidvis_widgets.methods.core.targets import unit
from vidvis_widgets.models import load_model
from vidvis_widgets.store import ResultStore

LAYER, UNITS, STEPS = "conv5_fusion", 3, 6
ARGS = ["tiny_two_stream", "--data", "val", "--samples-per-class", "1", "--layers", LAYER, "--units", f"first:{UNITS}",
        "--classes", "none", "--gamma", "spatial", "--steps", str(STEPS), "--batch-size", "1", "--no-progress"]


def am_entries(store: ResultStore) -> list[dict]:
    return [e for e in store.entries() if e["method"] == "activation_maximization"]


def test_a_killed_build_resumes_computing_only_what_is_missing(tmp_path, capsys):
    root = tmp_path / "store"
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads()), "VIDVIS_PROGRESS": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "vidvis_widgets.cli", "atlas", "build", *ARGS, "--store", str(root)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if root.joinpath("index.sqlite").exists() and am_entries(ResultStore(root)):
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    store = ResultStore(root)
    before = {e["key"]: e["created"] for e in store.entries()}
    done = len(am_entries(store))
    assert 1 <= done < UNITS
    assert not [e for e in store.entries() if e["method"] == P.MANIFEST]  # killed before its pages

    model = load_model("tiny_two_stream")
    data = SyntheticActions("val", samples_per_class=1)
    atlas = build_atlas(model, data, layers=[LAYER], units=("first", UNITS), classes=None, gamma="spatial",
                        steps=STEPS, batch_size=1, store=root, progress=False)
    s = atlas.stats
    assert (s["am_jobs"], s["loaded"], s["computed"], s["batches"], s["status"]) == (
        UNITS, done, UNITS - done, UNITS - done, "completed")
    after = {e["key"]: e["created"] for e in store.entries()}
    assert all(after[k] == t for k, t in before.items())  # nothing stored was written again (statistics included)
    assert len(am_entries(store)) == UNITS

    # every job as AM run directly on it alone gives it (â measured independently)
    a_hat = response_statistics(model, data, [LAYER], reduce="sum").activation_max
    jobs = [AMJob(unit(LAYER, u), 1.0, 0.0, 0) for u in range(UNITS)]
    am = ActivationMaximization(model, activation_max=a_hat)
    stored = ActivationMaximization(model, activation_max=a_hat, store=store).stored(am.resolve(jobs), STEPS)
    for job, got in zip(jobs, stored):
        want = am(job, steps=STEPS, progress=False)[0]
        np.testing.assert_allclose(got.appearance, want.appearance, rtol=1e-5, atol=1e-3)
        np.testing.assert_allclose(got.motion, want.motion, rtol=1e-5, atol=1e-4)
    assert [c["unit"] for c in atlas.layer_page(LAYER)["units"]] != []

    # the command again: everything loaded; then the static site
    capsys.readouterr()
    assert main(["atlas", "build", *ARGS, "--store", str(root)]) == 0
    said = capsys.readouterr().out
    assert f"{UNITS} AM jobs, 0 computed, {UNITS} loaded" in said, said
    site = tmp_path / "site"
    assert main(["atlas", "export", "--store", str(root), str(site)]) == 0
    assert (site / "index.html").is_file() and (site / "atlas.vvatlas").is_file()
    media = {p.name for p in (site / "media").iterdir()}
    page = atlas.unit_page(LAYER, 0)
    assert page["sweep"][0]["input"]["motion"]["ref"] in media and page["top_clips"][0]["clip"]["motion"]["ref"] in media


def test_the_command_refuses_bad_input(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["atlas", "build", "tiny_two_stream", "--data", "val", "--store", str(tmp_path), "--units", "most:3"])
    assert "--units: expected receptive, all, N, first:N, selective:N" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["atlas", "build", "tiny_two_stream", "--data", str(tmp_path / "none"), "--store", str(tmp_path)])
    assert "expected a SyntheticActions split" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["atlas", "build", "tiny_two_stream", "--data", "val", "--samples-per-class", "1", "--store",
              str(tmp_path), "--layers", "conv9"])
    assert "layers: unknown layer 'conv9'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["atlas", "export", "--store", str(tmp_path), str(tmp_path / "site")])
    assert "no atlas named 'atlas'" in capsys.readouterr().err


class StopsAfterFirst:
    """An executor that runs batches in order and sets ``stop`` as the first comes back (a Stop pressed then)."""

    def __init__(self, stop):
        self.stop, self.closed = stop, False

    def run(self, task, shared, batches):
        for i, b in enumerate(batches):
            result = task(shared, b)
            self.stop.set()
            yield i, result

    def close(self):
        self.closed = True


def test_a_stop_keeps_the_batches_done_and_the_pages_of_complete_units(tmp_path):
    import threading

    from .atlas_fixture import tiny_data

    model, data, stop = load_model("tiny_two_stream"), tiny_data(), threading.Event()
    settings = dict(layers=["appearance.conv1_1"], units=("first", 2), classes=None, gamma="spatial", steps=2,
                    batch_size=1, store=tmp_path, progress=False)
    ex = StopsAfterFirst(stop)
    atlas = build_atlas(model, data, executor=ex, stop=stop, **settings)
    assert ex.closed and (atlas.stats["status"], atlas.stats["computed"]) == ("stopped", 1)
    assert atlas.manifest()["layers"][0]["units"] == [0] and atlas.unit_page("appearance.conv1_1", 0)["sweep"]
    rest = build_atlas(model, data, **settings)
    assert (rest.stats["computed"], rest.stats["loaded"], rest.stats["status"]) == (1, 1, "completed")
    assert rest.manifest()["layers"][0]["units"] == [0, 1]
