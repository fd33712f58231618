"""Size of the embedded two-stream atlas's static site (target < 50 MB), by kind: media, data, code.

    .venv/bin/python benchmarks/atlas_site_size.py --store PATH [--name atlas]   # measured: a built atlas
    .venv/bin/python benchmarks/atlas_site_size.py --folder SITE                 # measured: an exported site
    .venv/bin/python benchmarks/atlas_site_size.py                               # a small build, extrapolated

With ``--store`` (the store benchmarks/atlas_build.py built: every layer, the Figs. 16/19 unit counts, all 14
classes, default steps) it exports that atlas and measures the folder: this is the number to report. Without it, it
builds a small atlas of the embedded model (two layers, two units each, two classes, few AM steps) in a temporary
store, exports and measures it, and extrapolates per unit, per class, per dataset clip and per layer to the full
plan's counts; that row is labelled an extrapolation, not a measurement.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MB = 50.0
MB = 1e6


def kind_of(rel: Path) -> str:
    """media (webm / png) / data (json / jsonp) / code: what a file of the export is."""
    if rel.parts[0] == "media":
        return f"media ({rel.suffix.lstrip('.')})"
    if rel.parts[0] == "data":
        return "data (json)" if rel.suffix == ".json" else "data (jsonp)"
    return "code (atlas.js, index.html, atlas.vvatlas)"


def folder_sizes(folder: Path) -> dict[str, list[int]]:
    """kind → [files, bytes]."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for p in folder.rglob("*"):
        if p.is_file():
            row = out[kind_of(p.relative_to(folder))]
            row[0] += 1
            row[1] += p.stat().st_size
    return dict(out)


def print_table(title: str, sizes: dict[str, list[int]]) -> float:
    print(f"\n{title}\n")
    print(f"| {'kind':<44} | {'files':>6} | {'MB':>8} |")
    print(f"|{'-' * 46}|{'-' * 8}|{'-' * 10}|")
    for k in sorted(sizes):
        print(f"| {k:<44} | {sizes[k][0]:>6} | {sizes[k][1] / MB:>8.2f} |")
    total = sum(b for _, b in sizes.values())
    print(f"| {'total':<44} | {sum(n for n, _ in sizes.values()):>6} | {total / MB:>8.2f} |")
    return total / MB


def measured(store: str, name: str, keep: Path | None) -> None:
    from vidvis_widgets.atlas import open_atlas

    atlas = open_atlas(store, name=name)
    print(repr(atlas))
    with tempfile.TemporaryDirectory() as tmp:
        out = keep or Path(tmp) / "site"
        t = time.perf_counter()
        atlas.export(out)
        seconds = time.perf_counter() - t
        total = print_table(f"Measured: the exported site of {atlas!r}", folder_sizes(out))
    print(f"\nexport took {seconds:.1f} s; site {total:.2f} MB, target < {TARGET_MB:.0f} MB: "
          f"{'PASS' if total < TARGET_MB else 'FAIL'}")


# -- the small build and its extrapolation -------------------------------------------------------------------
_GROUPS = {"unit": re.compile(r"u[0-9a-f]{10}-"), "class": re.compile(r"(c|l|t)\d+-"), "clip": re.compile(r"v\d+-"),
           "sprite": re.compile(r"s[0-9a-f]{10}-")}


def media_groups(folder: Path) -> dict[str, list[int]]:
    """Media bytes by what they belong to: unit (AM inputs), class (logit AM, LEAPS, tubes), clip (dataset clips,
    shared by every page that shows them), sprite (one per layer and stream)."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for p in (folder / "media").iterdir():
        group = next((g for g, rx in _GROUPS.items() if rx.match(p.name)), "other")
        out[group][0] += 1
        out[group][1] += p.stat().st_size
    return dict(out)


def full_plan_counts(model) -> tuple[int, int, int]:
    """(unit layers + class layer, units, classes) of the full embedded atlas: every layer, units="receptive", all
    classes; the counts depend on the receptive fields only, not on which units are chosen."""
    import numpy as np

    from vidvis_widgets.atlas.plan import plan_layers, select
    from vidvis_widgets.models.adapter import adapter_of

    classes = list(range(len(adapter_of(model).class_names)))
    plans = plan_layers(model, None, "receptive", classes)
    from vidvis_widgets.methods.activation_maximization.am import ActivationMaximization

    size = ActivationMaximization(model).streams.size
    select(plans, float(np.sqrt(np.prod(size))), {p.name: np.zeros(p.channels) for p in plans})
    units = sum(len(p.units) for p in plans if p.kind == "units")
    return len(plans), units, len(classes)


def extrapolated(steps: int, keep: Path | None) -> None:
    import torch

    from vidvis_widgets.atlas import build_atlas
    from vidvis_widgets.data import SyntheticActions
    from vidvis_widgets.models import load_model

    torch.set_num_threads(2)
    model = load_model("tiny_two_stream")
    data = SyntheticActions("val")
    layers, units, classes = full_plan_counts(model)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        atlas = build_atlas(model, data, layers=["conv5_fusion", "fc6", "fc8"], units=2, classes=[0, 1], steps=steps,
                            store=Path(tmp) / "store", progress=False)
        built = time.perf_counter() - t
        out = keep or Path(tmp) / "site"
        t = time.perf_counter()
        atlas.export(out)
        exported = time.perf_counter() - t
        m = atlas.manifest()
        small_units = sum(len(l["units"]) for l in m["layers"] if l["kind"] == "units")
        small_classes = len(next(l["units"] for l in m["layers"] if l["kind"] == "classes"))
        small_layers = len(m["layers"])
        sizes = folder_sizes(out)
        print_table(f"Measured: a small atlas ({small_layers} layers, {small_units} units, {small_classes} classes, "
                    f"steps={steps}; built in {built:.0f} s, exported in {exported:.1f} s)", sizes)
        groups = media_groups(out)
        pages = sum(n for k, (n, _) in sizes.items() if k == "data (json)")
        data_bytes = sum(b for k, (_, b) in sizes.items() if k.startswith("data"))
        code = sum(b for k, (_, b) in sizes.items() if k.startswith("code"))
    per = {g: (b / n if n else 0.0) for g, (n, b) in groups.items()}
    clip_files_per_unit = groups.get("clip", [0, 0])[0] / max(1, small_units + small_classes)
    full_clip_files = min(clip_files_per_unit * (units + classes), 2 * len(data))  # at most every clip, 2 streams
    unit_files_per_unit = groups.get("unit", [0, 0])[0] / max(1, small_units)
    class_files_per_class = groups.get("class", [0, 0])[0] / max(1, small_classes)
    sprite_files_per_layer = groups.get("sprite", [0, 0])[0] / max(1, small_layers)
    full_pages = 1 + layers + units + 2 * classes  # manifest, layers, unit pages, class pages + class unit pages
    est = {
        "media: units' AM inputs": per.get("unit", 0) * unit_files_per_unit * units,
        "media: classes' logit AM / LEAPS / tubes": per.get("class", 0) * class_files_per_class * classes,
        "media: dataset clips (shared)": per.get("clip", 0) * full_clip_files,
        "media: sprites": per.get("sprite", 0) * sprite_files_per_layer * layers,
        "data (json + jsonp)": data_bytes / max(1, pages) * full_pages,
        "code": code,
    }
    print(f"\nEXTRAPOLATION (not a measurement) to the full embedded atlas: {layers} layers, {units} units, "
          f"{classes} classes, from the per-file sizes above (AM inputs at {steps} steps are noise, which compresses "
          "worse than converged inputs: an upper-side estimate)\n")
    print(f"| {'part':<44} | {'MB':>8} |")
    print(f"|{'-' * 46}|{'-' * 10}|")
    for k, v in est.items():
        print(f"| {k:<44} | {v / MB:>8.2f} |")
    total = sum(est.values()) / MB
    print(f"| {'total (extrapolated)':<44} | {total:>8.2f} |")
    print(f"\ntarget < {TARGET_MB:.0f} MB: {'PASS' if total < TARGET_MB else 'FAIL'} (extrapolated)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", help="the result store holding the built embedded atlas (benchmarks/atlas_build.py)")
    ap.add_argument("--name", default="atlas", help="the atlas's name in the store")
    ap.add_argument("--folder", type=Path, help="measure this exported site (e.g. atlas_build.py --export's) as it is")
    ap.add_argument("--steps", type=int, default=5, help="AM steps of the small build (without --store)")
    ap.add_argument("--keep", type=Path, help="write the site here (a new folder or a previous export) instead of a temporary one")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.folder:
        total = print_table(f"Measured: the exported site in {args.folder}", folder_sizes(args.folder))
        print(f"\nsite {total:.2f} MB, target < {TARGET_MB:.0f} MB: {'PASS' if total < TARGET_MB else 'FAIL'}")
    elif args.store:
        measured(args.store, args.name, args.keep)
    else:
        extrapolated(args.steps, args.keep)


if __name__ == "__main__":
    main()
