"""The LEAPS evaluation table and `vidvis evaluate-leaps`, on short runs (the table's structure and its
ground-truth row; the measured figures are in the README's LEAPS section)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from vidvis_widgets.cli import main
from vidvis_widgets.methods.leaps.evaluation import COLUMNS, evaluate_inversion
from vidvis_widgets.models import load_model


@pytest.fixture(scope="module")
def short_table():
    return evaluate_inversion(load_model("tiny_r3d"), load_model("tiny_verifier"), classes=[2, 8], steps=3)


def test_the_table_has_the_papers_rows_and_a_real_stimuli_row(short_table):
    table, results = short_table
    assert [r["key"] for r in table.rows] == ["stimuli", "deepdream", "am", "prim", "prim+coh", "prim+feat", "leaps"]
    assert table.columns == COLUMNS and (table["videos"] == 2).all()
    # real videos of the classes: both networks recognize them
    real = table["stimuli"]
    assert real["top1_m"] == 1.0 and real["top1_v"] == 1.0
    for key in ("is_m", "is_v"):
        assert (table[key] >= 1 - 1e-6).all() and (table[key] <= 2 + 1e-6).all()  # two classes: IS ∈ [1, 2]
    assert ((table["ssim"] > -1) & (table["ssim"] <= 1)).all() and (table["psnr"] > 0).all()
    assert len(results) == 12 and {r.job.variant for r in results} == {"deepdream", "am", "prim", "prim+coh",
                                                                       "prim+feat", "leaps"}
    text = str(table)
    assert "LEAPS (L_prim + R_feat)" in text and "top-1 v (%)" in text
    assert "<td>3D AM</td>" in table._repr_html_()


def test_unprimed_rows_run_as_often_per_class_with_their_own_seeds(short_table):
    _, results = short_table
    dd = [r for r in results if r.job.variant == "deepdream"]
    assert sorted(r.job.target for r in dd) == [2, 8] and len({r.job.seed for r in dd}) == 2
    assert all(r.job.stimulus is None for r in dd)


def test_own_stimuli_need_their_labels():
    with pytest.raises(ValueError, match="stimulus_labels"):
        evaluate_inversion(load_model("tiny_r3d"), load_model("tiny_verifier"),
                           stimuli=[np.zeros((8, 64, 64, 3), np.uint8)], steps=1)


def test_cli_prints_and_writes_the_table(tmp_path, capsys):
    out = tmp_path / "table.csv"
    assert main(["evaluate-leaps", "--classes", "0", "--steps", "2", "--methods", "deepdream", "leaps",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "3D DeepDream" in printed and "LEAPS (full)" in printed and "real stimuli" in printed
    rows = list(csv.DictReader(out.open()))
    assert [r["method"] for r in rows] == ["real stimuli", "3D DeepDream", "LEAPS (full)"]
    assert float(rows[0]["top1_m"]) == 1.0
