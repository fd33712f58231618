"""The embedded two-stream atlas, as the notebook builds it: every layer worth showing with the Figs. 16/19 unit counts
(vidvis_widgets.atlas.plan.RECEPTIVE_DENSITY, 0.25: 43 units), all 14 classes, the anisotropic sweep (4 settings per
unit) at AM's default 300 steps, on the val split. Target: under 15 minutes on the 2-core CPU.

Prints the plan (units per layer), the CPU batch-size table the build measured (jobs per second at the build's
steps), the time of each phase, the total, and a rerun that finds every piece stored. Wall time depends on what else
the machine runs: the load average before and after is printed, and the process's CPU time beside the wall time
(on an otherwise idle 2-core machine with 2 threads the wall time is about CPU time / 2).

    python benchmarks/atlas_build.py                       # a fresh store in a temporary folder
    python benchmarks/atlas_build.py --store atlas-store   # keep it (then: vidvis atlas export --store atlas-store site/)
    python benchmarks/atlas_build.py --steps 30            # a quick trial
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None, help="the store folder (default: a fresh temporary one)")
    parser.add_argument("--steps", type=int, default=None, help="AM steps (default: AM's 300)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--density", type=float, default=None, help="units per layer: round(density × 64 / field) "
                        "(default: RECEPTIVE_DENSITY)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: measured")
    parser.add_argument("--export", default=None, help="also export the site to this folder and print its size")
    args = parser.parse_args()

    import torch

    from vidvis_widgets.atlas import RECEPTIVE_DENSITY, build_atlas
    from vidvis_widgets.data import SyntheticActions
    from vidvis_widgets.models import load_model

    root = args.store or tempfile.mkdtemp(prefix="atlas-bench-")
    density = RECEPTIVE_DENSITY if args.density is None else args.density
    print(f"torch threads {torch.get_num_threads()}, cores {os.cpu_count()}, load average before "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}; store {root}")
    model, data = load_model("tiny_two_stream"), SyntheticActions(args.split)
    wall, cpu = time.perf_counter(), time.process_time()
    atlas = build_atlas(model, data, layers="all", units=("receptive", density), classes=True, gamma="anisotropic",
                        steps=args.steps, store=root, batch_size=args.batch_size, progress=None)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    s, m = atlas.stats, atlas.manifest()
    print(f"\n{atlas!r}")
    print("\nlayer                    field     units")
    for info in m["layers"]:
        field = "×".join(map(str, info["receptive_field"] or [])) or "–"
        print(f"{info['name']:<24} {field:<9} {len(info['units'])}")
    if s.get("batch_size_table"):
        print("\nCPU batch size   jobs/s (at the build's steps)")
        for n, rate in s["batch_size_table"]:
            print(f"{n:>14}   {rate:.3f}{'   <- chosen' if n == s['batch_size'] else ''}")
    print(f"\nAM jobs {s['am_jobs']} ({s['units']} units × {len(m['presets'])} settings + {s['classes']} classes × "
          f"{len(m['presets'])}), computed {s['computed']}, loaded {s['loaded']}, batch size {s['batch_size']}, "
          f"{s['batches']} batches")
    print("\nphase        seconds")
    for phase, t in s["times"].items():
        print(f"{phase:<12} {t:8.1f}")
    am = s["times"].get("am", 0.0)
    if s["computed"] and am:
        print(f"\nAM: {s['computed'] / am:.3f} jobs/s, {am / s['computed']:.2f} s per job")
    print(f"total wall {wall:.0f} s ({wall / 60:.1f} min), process CPU {cpu:.0f} s; load average after "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    t = time.perf_counter()
    again = build_atlas(model, data, layers="all", units=("receptive", density), classes=True, gamma="anisotropic",
                        steps=args.steps, store=root, batch_size=args.batch_size, progress=False)
    print(f"rerun with every piece stored: {time.perf_counter() - t:.1f} s, computed {again.stats['computed']}, "
          f"loaded {again.stats['loaded']}")
    if args.export:
        t = time.perf_counter()
        out = atlas.export(args.export)
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
        print(f"export: {time.perf_counter() - t:.0f} s, {size / 1e6:.1f} MB in {out}")


if __name__ == "__main__":
    main()
