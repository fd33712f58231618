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
    args = parser.parse_args(argv)

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
