"""A one-stream atlas (tiny_r3d): its inputs are videos, its class pages carry a LEAPS synthesis and saliency tubes
(real WebM files), and its batch size is measured on the CPU and kept in the store; LEAPS on a two-stream model is
refused before any work."""

from __future__ import annotations

import pytest

from vidvis_widgets.atlas import build_atlas
from vidvis_widgets.atlas import pieces as P
from vidvis_widgets.models import load_model
from vidvis_widgets.store import ResultStore

from .atlas_fixture import tiny_data


def test_one_stream_atlas_with_leaps_tubes_and_a_measured_batch(tmp_path):
    model, data = load_model("tiny_r3d"), tiny_data()
    atlas = build_atlas(model, data, layers=["layer2", "fc"], units=1, classes=[0, 1], gamma="spatial", steps=3,
                        leaps=True, tubes=True, store=tmp_path, progress=False)
    s = atlas.stats
    assert (s["am_jobs"], s["computed"], s["status"]) == (3, 3, "completed")
    sizes = [n for n, _ in s["batch_size_table"]]
    assert sizes[:3] == [1, 2, 4] and s["batch_size"] in sizes
    assert max(s["batch_size_table"], key=lambda r: r[1])[0] == s["batch_size"]
    m = atlas.manifest()
    assert m["streams"] == ["video"] and m["has"] == {"leaps": True, "tubes": True, "histograms": True}
    sweep = atlas.unit_page("layer2", 0)["sweep"][0]["input"]
    assert list(sweep) == ["video"] and sweep["video"]["frames"] == 16
    for c in (0, 1):
        page = atlas.class_page(c)
        refs = [page["leaps"]["video"]["ref"], page["am"][0]["input"]["video"]["ref"]]
        refs += [t["clip"]["ref"] for t in page["tubes"]]
        assert page["tubes"] and page["tubes"][0]["label"] == m["classes"][c]
        for ref in refs:
            data_, mime = atlas.media(ref)
            assert mime == "video/webm" and data_[:4] == b"\x1a\x45\xdf\xa3"
    # the measured size is kept per weights, device and input: a build with the same jobs to run measures no more
    store = ResultStore(tmp_path)
    assert len([e for e in store.entries() if e["method"] == P.BATCH]) == 1
    again = build_atlas(model, data, layers=["layer2", "fc"], units=1, classes=[0, 1], gamma="spatial", steps=3,
                        leaps=True, tubes=True, store=tmp_path, progress=False)
    assert (again.stats["computed"], again.stats["loaded"]) == (0, 3) and "tubes" not in again.stats["times"]


def test_leaps_on_a_two_stream_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"leaps=True: the model tiny_two_stream is a two-stream model"):
        build_atlas(load_model("tiny_two_stream"), tiny_data(), leaps=True, store=tmp_path, progress=False)
    assert len(ResultStore(tmp_path)) == 0
