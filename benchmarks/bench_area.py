"""Time the area pipeline: build, sample, solve in OpenDSS and pandapower, and compare engines.

Usage: ``python benchmarks/bench_area.py [--extract liechtenstein|monaco] [--dist 1500]
[--span 50] [--n 3]``. Prints counts, timings and voltage ranges; writes ``area.png`` when
``--plot`` is given.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

#: The shared real data beside the checkout (override with BAYESGRID_SHARED_DATA).
SHARED_DATA = Path(
    os.environ.get("BAYESGRID_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)

EXTRACTS = {
    "liechtenstein": (Path(f"{SHARED_DATA}/osm/pyosmium_liechtenstein.osm.pbf"), (47.168, 9.50)),
    "monaco": (Path(f"{SHARED_DATA}/osm/osrm_monaco.osm.pbf"), (43.7384, 7.4246)),
}


def main() -> None:
    from bayesgrid_plugins.area import area_from_osm, plot_area, sample_area
    from opendss_ext.area import solve_area as solve_dss
    from opendss_ext.builder import CircuitOptions
    from opendss_ext.defaults import SourceType
    from pandapower_ext.area import build_area_net
    from pandapower_ext.area import solve_area as solve_pp
    from pandapower_ext.defaults import SourceParameters

    parser = argparse.ArgumentParser()
    parser.add_argument("--extract", choices=sorted(EXTRACTS), default="liechtenstein")
    parser.add_argument("--dist", type=float, default=1500.0)
    parser.add_argument("--span", type=float, default=50.0)
    parser.add_argument("--n", type=int, default=3)
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()
    path, point = EXTRACTS[args.extract]

    start = time.perf_counter()
    area = area_from_osm(path, point=point, dist_m=args.dist, max_span_m=args.span)
    t_build = time.perf_counter() - start
    print(area.summary())
    print("counts:", area.counts())
    start = time.perf_counter()
    ens = sample_area(area, args.n, rng=1)
    t_sample = time.perf_counter() - start

    start = time.perf_counter()
    native = solve_dss(area, ens)
    t_dss = time.perf_counter() - start
    dss = solve_dss(
        area, ens, options=CircuitOptions(all_three_phase=True, source=SourceType(s_sc_mva=None))
    )
    start = time.perf_counter()
    net, combined = build_area_net(area, ens, source=SourceParameters(s_sc_max_mva=1e7))
    t_pp_build = time.perf_counter() - start
    start = time.perf_counter()
    res = solve_pp(net, combined)
    t_pp = time.perf_counter() - start

    print(native.summary())
    print(dss.summary(), "(all three-phase, stiff source)")
    print(res.summary(), "(stiff source)")
    pos = {b: i for i, b in enumerate(res.bus_id)}
    diff = np.abs(dss.vm_pu - res.vm_pu[:, [pos[b] for b in dss.bus_id]])
    for level in ("hv", "mv", "lv"):
        sel = dss.level == level
        if sel.any():
            print(f"  |OpenDSS - pandapower| max at {level}: {np.nanmax(diff[:, sel]):.2e} p.u.")
    print(
        f"times [s]: build area {t_build:.2f}, sample {t_sample:.3f}, OpenDSS {t_dss:.2f} "
        f"({t_dss / args.n:.2f} per realisation), pandapower net {t_pp_build:.2f}, "
        f"runpp_3ph {t_pp:.2f} ({np.mean(res.elapsed_s[1:] if args.n > 1 else res.elapsed_s):.2f}"
        " per realisation after the first)"
    )
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        plot_area(area).figure.savefig(args.plot, dpi=120)
        print("wrote", args.plot)


if __name__ == "__main__":
    main()
