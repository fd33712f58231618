"""The `vidvis` command."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vidvis", description="vidvis-widgets command line")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train the embedded models on SyntheticActions, one checkpoint per epoch")
    t.add_argument("--out", type=Path, default=None, help="output folder (default: the package's weights folder)")
    t.add_argument("--epochs", type=int, default=None, help="epochs for every model (default: 10)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--models", nargs="+", default=None, help="subset of the embedded models")
    t.add_argument("--samples-per-class", type=int, default=None, help="smaller splits, for a quick trial run")
    c = sub.add_parser("cache", help="show or clear the result store")
    c.add_argument("action", choices=("list", "clear"))
    c.add_argument("--dir", type=Path, default=None, help="store folder (default: $VIDVIS_CACHE_DIR or "
                   "~/.cache/vidvis-widgets)")
    c.add_argument("--method", default=None, help="only entries of this method")
    e = sub.add_parser("evaluate-leaps", help="synthesize videos with LEAPS and its baselines and print the "
                       "paper's evaluation table (top-1 of model and verifier, Inception Scores, SSIM/PSNR)")
    e.add_argument("--model", default="tiny_r3d", help="the model to invert (default: tiny_r3d)")
    e.add_argument("--verifier", default="tiny_verifier", help="the verifier network (default: tiny_verifier)")
    e.add_argument("--classes", type=int, nargs="+", default=None, help="class indices (default: all)")
    e.add_argument("--per-class", type=int, default=1, help="stimuli per class from the val split")
    e.add_argument("--seeds", type=int, nargs="+", default=[0])
    e.add_argument("--steps", type=int, default=2000)
    e.add_argument("--methods", nargs="+", default=None, help="rows (default: every row of Tables 1 and 3)")
    e.add_argument("--r", type=float, default=None, help="the regularizer scale r of eq. 4")
    e.add_argument("--out", type=Path, default=None, help="also write the table as CSV here")
    args = parser.parse_args(argv)

    if args.command == "evaluate-leaps":
        return _evaluate_leaps(parser, args)

    if args.command == "cache":
        from .store import ResultStore

        try:
            store = ResultStore(args.dir)
        except PermissionError as e:
            parser.exit(2, f"vidvis cache: {e}\n")
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

    if args.command == "train":
        from .models.checkpoints import WEIGHTS_DIR
        from .training import EMBEDDED_MODELS, train_all

        models = tuple(args.models or EMBEDDED_MODELS)
        unknown = [m for m in models if m not in EMBEDDED_MODELS]
        if unknown:
            parser.error(f"unknown model(s) {', '.join(unknown)}; embedded models: {', '.join(EMBEDDED_MODELS)}")
        results = train_all(args.out or WEIGHTS_DIR, models=models, epochs=args.epochs, seed=args.seed,
                            samples_per_class=args.samples_per_class)
        for name, r in results["models"].items():
            print(f"{name}: test {r['test_accuracy']:.1%}, biased pair test {r['biased_pair_test_accuracy']:.1%} "
                  f"→ bias_probe {r['biased_pair_probe_accuracy']:.1%}, largest confusion {r['most_confused'][0]}")
        print(f"total {results['total_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def _evaluate_leaps(parser: argparse.ArgumentParser, args) -> int:
    from .methods.inversion_evaluation import evaluate_inversion
    from .methods.leaps import TABLE_ROWS
    from .models.registry import load_model

    try:
        model, verifier = load_model(args.model), load_model(args.verifier)
    except ValueError as err:
        parser.error(str(err))
    kw = {"r": args.r} if args.r is not None else {}
    start = time.perf_counter()
    table, _ = evaluate_inversion(model, verifier, classes=args.classes, per_class=args.per_class, seeds=args.seeds,
                                  steps=args.steps, methods=tuple(args.methods or TABLE_ROWS), **kw)
    print(f"{args.model} inverted, {args.verifier} verifying, {args.steps} steps "
          f"({time.perf_counter() - start:.0f} s)")
    print(table)
    if args.out is not None:
        table.to_csv(args.out)
        print(f"wrote {args.out}")
    return 0
