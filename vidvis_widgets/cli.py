"""The `vidvis` command."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .cli_args import non_negative_float, non_negative_int, positive_int
from .methods.leaps.inversion import TABLE_ROWS
from .models.registry import EMBEDDED


def _out_file(parser: argparse.ArgumentParser, option: str, path: Path | None) -> None:
    """A file to write at the end of a long run: refused now if its folder is missing or it is a folder."""
    if path is not None and (path.is_dir() or not path.parent.is_dir()):
        parser.error(f"{option} {path}: expected a file path in an existing folder")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vidvis", description="vidvis-widgets command line")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train the embedded models on SyntheticActions, one checkpoint per epoch")
    t.add_argument("--out", type=Path, default=None, help="output folder (default: the package's weights folder)")
    t.add_argument("--epochs", type=positive_int, default=None, help="epochs for every model (default: 10)")
    t.add_argument("--seed", type=non_negative_int, default=0)
    t.add_argument("--models", nargs="+", default=None, choices=tuple(EMBEDDED), metavar="MODEL",
                   help=f"subset of the embedded models ({', '.join(EMBEDDED)})")
    t.add_argument("--samples-per-class", type=positive_int, default=None,
                   help="smaller splits, for a quick trial run")
    c = sub.add_parser("cache", help="show or clear the result store")
    c.add_argument("action", choices=("list", "clear"))
    c.add_argument("--dir", type=Path, default=None, help="store folder (default: $VIDVIS_CACHE_DIR or "
                   "~/.cache/vidvis-widgets)")
    c.add_argument("--method", default=None, help="only entries of this method")
    e = sub.add_parser("evaluate-leaps", help="synthesize videos with LEAPS and its baselines and print the "
                       "paper's evaluation table (top-1 of model and verifier, Inception Scores, SSIM/PSNR)")
    e.add_argument("--model", default="tiny_r3d", help="the model to invert (default: tiny_r3d)")
    e.add_argument("--verifier", default="tiny_verifier", help="the verifier network (default: tiny_verifier)")
    e.add_argument("--classes", nargs="+", default=None, metavar="CLASS",
                   help="class indices or names (default: all)")
    e.add_argument("--per-class", type=positive_int, default=1, help="stimuli per class from the val split")
    e.add_argument("--seeds", type=non_negative_int, nargs="+", default=[0])
    e.add_argument("--steps", type=positive_int, default=2000)
    e.add_argument("--methods", nargs="+", default=None, choices=TABLE_ROWS, metavar="METHOD",
                   help=f"rows (default: every row of Tables 1 and 3: {', '.join(TABLE_ROWS)})")
    e.add_argument("--r", type=non_negative_float, default=None, help="the regularizer scale r of eq. 4 (≥ 0)")
    e.add_argument("--out", type=Path, default=None, help="also write the table as CSV here")
    for command in (t, c, e):  # errors found after parsing print the subcommand's usage line
        command.set_defaults(command_parser=command)
    from .atlas.cli import add_parser as add_atlas

    add_atlas(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run = {"evaluate-leaps": _evaluate_leaps, "cache": _cache, "train": _train, "atlas": _atlas}[args.command]
    return run(args.command_parser, args)


def _atlas(parser: argparse.ArgumentParser, args) -> int:
    from .atlas.cli import run

    return run(parser, args)


def _cache(parser: argparse.ArgumentParser, args) -> int:
    from .store import CorruptStoreError, ResultStore, default_root

    try:
        store = ResultStore(args.dir)
    except PermissionError as e:
        parser.exit(2, f"vidvis cache: {e}\n")
    except CorruptStoreError as e:
        if args.action == "list" or args.method is not None:
            parser.exit(1, f"vidvis cache: {e}\n")
        root = args.dir if args.dir is not None else default_root()
        moved = ResultStore.reset(root)
        print(f"moved the unreadable index to {moved}; started an empty store at {root}")
        return 0
    if args.action == "clear":
        print(f"removed {store.clear(args.method)} entries from {store.root}")
        return 0
    rows = [e for e in store.entries() if args.method in (None, e["method"])]
    print(f"{store.root}: {len(rows)} entries")
    if rows:
        print(f"{'key':<12}  {'method':<24}  {'weights':<12}  {'size':>9}  {'created':<19}  params")
    for e in rows:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e["created"]))
        params = e["params"] if len(e["params"]) <= 60 else e["params"][:57] + "..."
        print(f"{e['key'][:12]:<12}  {e['method']:<24}  {e['weights'][:12]:<12}  {e['nbytes']:>9}  {created}  {params}")
    return 0


def _train(parser: argparse.ArgumentParser, args) -> int:
    from .models.checkpoints import WEIGHTS_DIR
    from .training import EMBEDDED_MODELS, train_all

    out = WEIGHTS_DIR if args.out is None else args.out
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out}: expected a folder, and this is a file")
    models = EMBEDDED_MODELS if args.models is None else tuple(args.models)
    results = train_all(out, models=models, epochs=args.epochs, seed=args.seed,
                        samples_per_class=args.samples_per_class)
    for name, r in results["models"].items():
        print(f"{name}: test {r['test_accuracy']:.1%}, largest confusion {r['most_confused'][0]}")
    print(f"total {results['total_seconds']:.0f} s")
    return 0


def _load(parser: argparse.ArgumentParser, option: str, name: str):
    from .models.registry import load_model

    try:
        return load_model(name)
    except ValueError as err:
        parser.error(f"{option}: {err}")


def _evaluate_leaps(parser: argparse.ArgumentParser, args) -> int:
    from .data.loading import class_index
    from .methods.leaps.evaluation import evaluate_inversion
    from .methods.leaps.inversion import ModelInversion

    _out_file(parser, "--out", args.out)
    model, verifier = _load(parser, "--model", args.model), _load(parser, "--verifier", args.verifier)
    classes = None
    if args.classes is not None:  # by index or name, against the loaded model's classes, before any long work
        names = model.vidvis_adapter.class_names
        try:
            classes = [class_index(names, int(c) if c.lstrip("-").isdigit() else c) for c in args.classes]
        except ValueError as err:
            parser.error(f"--classes: {err}")
    try:  # the inversion's own checks of its models and settings, before any long work
        inv = ModelInversion(model, verifier, **({} if args.r is None else {"r": args.r}))
    except ValueError as err:
        parser.error(str(err))
    start = time.perf_counter()
    table, _ = evaluate_inversion(inv, classes=classes, per_class=args.per_class, seeds=args.seeds, steps=args.steps,
                                  methods=TABLE_ROWS if args.methods is None else tuple(args.methods))
    print(f"{args.model} inverted, {args.verifier} verifying, {args.steps} steps "
          f"({time.perf_counter() - start:.0f} s)")
    print(table)
    if args.out is not None:
        table.to_csv(args.out)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
