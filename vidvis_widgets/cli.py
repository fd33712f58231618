"""The `vidvis` command."""

from __future__ import annotations

import argparse
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
    args = parser.parse_args(argv)

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
