"""``vidvis atlas build`` and ``vidvis atlas export``: the atlas from the command line.

    vidvis atlas build tiny_two_stream --data val --store atlas-store
    vidvis atlas build torchvision:r3d_18 --data ~/videos --store s --layers layer4 --units selective:16 --ray auto
    vidvis atlas export --store atlas-store atlas-site/
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path


def units_arg(text: str):
    """``--units``: receptive, all, N (the first N), first:N, selective:N or receptive:DENSITY."""
    if text in ("receptive", "all"):
        return text
    m = re.fullmatch(r"(?:(first|selective):)?(\d+)", text)
    if m and int(m[2]) >= 1:
        return (m[1] or "first", int(m[2]))
    m = re.fullmatch(r"receptive:(\d+(?:\.\d*)?|\.\d+)", text)
    if m and float(m[1]) > 0:
        return ("receptive", float(m[1]))
    raise argparse.ArgumentTypeError(f"expected receptive, all, N, first:N, selective:N or receptive:DENSITY "
                                     f"(N ≥ 1, DENSITY > 0), got {text!r}")


def add_parser(sub) -> None:
    from ..cli_args import non_negative_int, positive_int

    a = sub.add_parser("atlas", help="build a model atlas (every layer's units and every class) or export it")
    asub = a.add_subparsers(dest="atlas_command", required=True)
    b = asub.add_parser("build", help="compute every piece of a model's atlas into a result store (a rerun "
                        "computes only what is missing)")
    b.add_argument("model", help="a model name (tiny_two_stream, torchvision:r3d_18, hf:<id>, …)")
    b.add_argument("--data", required=True, help="a SyntheticActions split (train, val, test, counterfactual) or a "
                   "folder of videos, one subfolder per class")
    b.add_argument("--samples-per-class", type=positive_int, default=None,
                   help="clips per class of a SyntheticActions split (default: the split's), for a quick trial run")
    b.add_argument("--store", required=True, type=Path, help="the result store folder")
    b.add_argument("--layers", nargs="+", default=None, metavar="LAYER", help="layer names (default: every layer "
                   "worth showing)")
    b.add_argument("--units", type=units_arg, default="receptive", help="receptive (default: a count that falls "
                   "with the receptive field), all, N, first:N, selective:N or receptive:DENSITY")
    b.add_argument("--classes", nargs="+", default=None, metavar="CLASS",
                   help="class names or indices (default: all), or 'none'")
    b.add_argument("--gamma", default="anisotropic", help="the AM preset of each unit's sweep (anisotropic, "
                   "isotropic, spatial)")
    b.add_argument("--steps", type=positive_int, default=None, help="AM steps (default: AM's)")
    b.add_argument("--seed", type=non_negative_int, default=0)
    b.add_argument("--leaps", action="store_true", help="also a LEAPS synthesis per class")
    b.add_argument("--tubes", action="store_true", help="also saliency tubes on each class's clips")
    b.add_argument("--ray", default=None, metavar="ADDRESS", help="run the batches on Ray at ADDRESS ('local' "
                   "starts a local instance)")
    b.add_argument("--batch-size", type=positive_int, default=None, help="AM jobs per batch (default: measured)")
    b.add_argument("--name", default="atlas", help="the atlas's name in the store (default: atlas)")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    e = asub.add_parser("export", help="write an atlas as a static site that browses offline")
    e.add_argument("--store", required=True, type=Path, help="the result store folder")
    e.add_argument("out", type=Path, help="the site's folder")
    e.add_argument("--name", default="atlas", help="the atlas's name in the store (default: atlas)")
    for p in (a, b, e):
        p.set_defaults(command_parser=p)


def run(parser: argparse.ArgumentParser, args) -> int:
    if args.atlas_command == "export":
        return _export(parser, args)
    return _build(parser, args)


def _data(parser, text: str, per_class: int | None = None):
    from ..data.synthetic import SPLITS, SyntheticActions

    if text in SPLITS:
        return SyntheticActions(text, **({} if per_class is None else {"samples_per_class": per_class}))
    if per_class is not None:
        parser.error("--samples-per-class: only for a SyntheticActions split, not a folder of videos")
    path = Path(text).expanduser()
    if not path.is_dir():
        parser.error(f"--data {text}: expected a SyntheticActions split ({', '.join(SPLITS)}) or a folder of videos")
    from ..data.video_folder import VideoFolder

    try:
        return VideoFolder(path)
    except ValueError as err:
        parser.error(f"--data {text}: {err}")


def _build(parser, args) -> int:
    from ..models.registry import load_model
    from .build import build_atlas

    try:
        model = load_model(args.model)
    except ValueError as err:
        parser.error(f"MODEL: {err}")
    data = _data(parser, args.data, args.samples_per_class)
    classes = True
    if args.classes == ["none"]:
        classes = None
    elif args.classes is not None:
        classes = [int(c) if c.isdigit() else c for c in args.classes]
    executor, address = ("ray", None if args.ray == "local" else args.ray) if args.ray else ("local", None)
    try:
        atlas = build_atlas(model, data, layers=args.layers, units=args.units, classes=classes, gamma=args.gamma,
                            leaps=args.leaps, tubes=args.tubes, steps=args.steps, seed=args.seed, store=args.store,
                            executor=executor, ray_address=address, batch_size=args.batch_size,
                            progress=False if args.no_progress else None, name=args.name)
    except (ValueError, KeyError) as err:
        parser.error(str(err))
    s = atlas.stats
    print(f"{atlas!r}: {s['am_jobs']} AM jobs, {s['computed']} computed, {s['loaded']} loaded, "
          f"batch size {s['batch_size']}, {s['times']['total']:.0f} s, {s['status']}")
    return 0 if s["status"] == "completed" else 130


def _export(parser, args) -> int:
    from .atlas import open_atlas

    try:
        atlas = open_atlas(args.store, name=args.name)
    except (ValueError, KeyError) as err:
        parser.error(f"--store {args.store}: {err}")
    out = atlas.export(args.out)
    print(f"wrote {out}")
    return 0
