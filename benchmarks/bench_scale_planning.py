"""Feasibility of the whole-extract case (``bayesgrid scale``) without and with planning.

Usage: ``python benchmarks/bench_scale_planning.py [--n 20] [--dist 3000] [--engine opendss]
[--sampler unconditioned] [--osm FILE --point LAT LON]``.

One region: the OSM extract around a centre with a radius that takes in the whole extract
(default: the shipped Monaco extract, 3 km around its centre), sampled serially as
``bayesgrid run`` does (the conditioned sampler of the place demand by default), once with
``--no-planning`` and once planned. Printed per case:
buses, converged realisations, highest line loading [%], lowest / highest phase voltage [p.u.]
and the realisations outside the limits the CLI checks (not converged, a line above 100 %,
a voltage outside 0.95-1.05 p.u., or 0.90-1.10 p.u. where the region has LV buses).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np


def main() -> None:
    from bayesgrid_plugins.app.scale import OsmArea, PowerFlowTask, SamplingSettings, run
    from bayesgrid_plugins.equipment import LV_MAX_KV
    from bayesgrid_plugins.planning import LV_LIMITS_PU, MV_LIMITS_PU

    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--dist", type=float, default=3000.0)
    parser.add_argument("--point", type=float, nargs=2, default=(43.7384, 7.4246))
    parser.add_argument("--osm", default=None)
    parser.add_argument("--engine", default="opendss")
    parser.add_argument("--chunk", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sampler", default="conditioned", choices=("conditioned", "unconditioned")
    )
    args = parser.parse_args()
    region = OsmArea("whole", tuple(args.point), args.dist, args.osm)
    print(
        f"{'case':<9} {'buses':>6} {'conv %':>6} {'line %':>7} {'V min':>6} {'V max':>6} "
        f"{'bad':>4} {'s':>7}"
    )
    for case, plan in (("unplanned", False), ("planned", True)):
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            result = run(
                PowerFlowTask(engine=args.engine, plan=plan),
                [region],
                n=args.n,
                seed=args.seed,
                out=out,
                chunk_size=args.chunk,
                serial=True,
                sampling=SamplingSettings(sampler=args.sampler),
            )
        feeder, a = result.feeders[0], result.results[0]
        conv = np.asarray(a["converged"], dtype=bool)
        lo, hi = LV_LIMITS_PU if (feeder.vn_kv <= LV_MAX_KV).any() else MV_LIMITS_PU
        with np.errstate(invalid="ignore"):
            vmin = np.fmin.reduce(np.asarray(a["vm_min_pu"], float), axis=1)
            vmax = np.fmax.reduce(np.asarray(a["vm_max_pu"], float), axis=1)
            load = np.asarray(a["max_loading_percent"], float)
            bad = ~(conv & (vmin >= lo) & (vmax <= hi) & ~(load > 100.0))
        print(
            f"{case:<9} {feeder.n_buses:>6} {100 * conv.mean():>6.0f} "
            f"{np.nanmax(load[conv]) if conv.any() else np.nan:>7.1f} "
            f"{np.nanmin(vmin[conv]) if conv.any() else np.nan:>6.3f} "
            f"{np.nanmax(vmax[conv]) if conv.any() else np.nan:>6.3f} {int(bad.sum()):>4d} "
            f"{time.perf_counter() - start:>7.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
