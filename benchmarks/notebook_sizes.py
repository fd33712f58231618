"""Saved notebook sizes with and without the static copies: every shipped notebook, executed and saved.

    python benchmarks/notebook_sizes.py [--steps 6] [--executed DIR]

Each notebook runs once in a real kernel (nbclient, as ``jupyter nbconvert --execute`` runs it, with
``VIDVIS_STATIC=full`` and few optimization steps) and is saved as JupyterLab saves it (no widget state). The
other modes are that same file with what the mode would not write removed: ``none`` drops every static part,
``poster`` keeps only the PNG. So the columns compare one run's outputs. ``--executed DIR`` measures a folder
of notebooks already executed that way instead of running them.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import run_notebook  # noqa: E402 — the tests' own way of running a notebook

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CLIPS = "application/vnd.vidvis.clips.v1+json"
STATIC = (CLIPS, "text/html", "image/png")
KEEP = {"none": (), "poster": ("image/png",), "full": STATIC}


def execute(name: str, steps: int, folder: Path) -> nbformat.NotebookNode:
    env = dict(VIDVIS_STATIC="full", VIDVIS_AM_STEPS=str(steps), VIDVIS_LEAPS_STEPS=str(steps),
               VIDVIS_CACHE_DIR=str(folder / "cache"))
    return run_notebook(NOTEBOOKS / name, folder, env, timeout=1800)


def with_mode(nb: nbformat.NotebookNode, mode: str) -> nbformat.NotebookNode:
    """The notebook as ``mode`` would have saved it: static parts only on outputs that have a live view."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = out.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data:
                for key in STATIC:
                    if key in data and key not in KEEP[mode]:
                        del data[key]
    return nb


def size(nb: nbformat.NotebookNode) -> int:
    return len(nbformat.writes(nb).encode())


def static_parts(nb: nbformat.NotebookNode) -> list[dict]:
    return [o["data"] for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
            and any(k in o["data"] for k in STATIC)]


def mib(n: int) -> str:
    return f"{n / 2**20:.2f} MiB"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--executed", type=Path, help="a folder of notebooks already executed with VIDVIS_STATIC=full")
    args = p.parse_args()
    print(f"Saved notebook sizes by VIDVIS_STATIC mode ({args.steps} optimization steps, budget 2 MiB per output)")
    print("| notebook | none | poster | full | grids with static copies | largest static output | shrunk to fit |"
          " poster only (over budget) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        if args.executed:
            nb = nbformat.read(args.executed / path.name, as_version=4)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                nb = execute(path.name, args.steps, Path(tmp))
        parts = static_parts(nb)
        largest = max((sum(len(json.dumps(d[k])) for k in STATIC if k in d) for d in parts), default=0)
        shrunk = sum(1 for d in parts if CLIPS in d and "note" in d[CLIPS])
        poster_only = sum(1 for d in parts if CLIPS not in d)
        sizes = [size(with_mode(nb, m)) for m in ("none", "poster", "full")]
        print(f"| {path.name} | " + " | ".join(mib(s) for s in sizes)
              + f" | {len(parts)} | {mib(largest)} | {shrunk} | {poster_only} |", flush=True)


if __name__ == "__main__":
    main()
