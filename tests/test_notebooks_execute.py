"""The method notebooks run top to bottom in a real kernel (with few optimization steps)."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


@pytest.mark.parametrize("name", ["two_stream_am.ipynb"])
def test_notebook_runs_and_shows_widgets(name, monkeypatch, tmp_path):
    monkeypatch.setenv("VIDVIS_AM_STEPS", "6")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    views = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert len(views) >= 6  # three sweeps, two result grids, the monitor
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "unit('conv5_fusion', channel=7)" in text and "disc_right: mean flow" in text
