"""Benchmark: unbalance the shared pandapower nets, keep their demand, solve with runpp_3ph.

For each net: read it, :func:`pandapower_ext.unbalance.unbalance_net` with ``n`` realisations
(time of the conditioned sampling and the net update), then
:func:`pandapower_ext.solve_ensemble` (no numba). Reports the sampling time, the solve time per
realisation, convergence, the lowest / highest phase voltage over all realisations, and the
largest relative error of any bus's total P or Q over all realisations.

Run: ``python benchmarks/bench_unbalance.py [-n 10] [--nets eu,oberrhein,schutterwald]
[--scenario NAME] [--p3 X]``.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

#: The shared real data beside the checkout (override with BAYESGRID_SHARED_DATA).
SHARED_DATA = Path(
    os.environ.get("BAYESGRID_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)

NETS = {
    "eu": Path(f"{SHARED_DATA}/feeders/pandapower/IEEE_European_LV_On_Peak_566.json"),
    "oberrhein": Path(f"{SHARED_DATA}/feeders/pandapower/mv_oberrhein.json"),
    "schutterwald": Path(f"{SHARED_DATA}/feeders/pandapower/lv_schutterwald.json"),
}


def bench(path: Path, n: int, seed: int, scenario: str | None, p3: float | None) -> dict:
    import pandapower as pp

    from bayesgrid_plugins.scenarios import scenario_parameters
    from pandapower_ext import solve_ensemble
    from pandapower_ext.unbalance import bus_load_totals, unbalance_net

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = pp.from_json(str(path))
        before = bus_load_totals(net)
        params = scenario_parameters(scenario=scenario, p3=p3)
        start = time.perf_counter()
        result = unbalance_net(net, n=n, model=params, rng=seed)
        t_sample = time.perf_counter() - start
        labels = result.feeder.bus_id.astype(np.int64)
        totals = before.reindex(labels).fillna(0.0).to_numpy()
        got = np.stack([result.ensemble.p_kw.sum(2), result.ensemble.q_kvar.sum(2)], axis=-1)
        scale = np.maximum(np.abs(totals), np.finfo(float).tiny)
        err = float((np.abs(got - totals) / scale).max())
        start = time.perf_counter()
        res = solve_ensemble(net, result.feeder, result.ensemble)
        t_solve = time.perf_counter() - start
    low, high = res.voltage_range()
    return {
        "buses": result.feeder.n_buses,
        "load_buses": int(result.ensemble.has_load[0].sum()),
        "sample_s": t_sample,
        "solve_s_per_realisation": t_solve / n,
        "converged": f"{int(res.converged.sum())}/{n}",
        "vm_min_pu": np.round(low, 4).tolist(),
        "vm_max_pu": np.round(high, 4).tolist(),
        "vuf_max_percent": float(np.nanmax(res.vuf_percent)) if res.converged.any() else None,
        "max_rel_total_error": err,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10)
    parser.add_argument("--nets", default="eu,oberrhein,schutterwald")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--scenario", choices=("balanced", "unbalanced"))
    parser.add_argument("--p3", type=float)
    args = parser.parse_args()
    for name in args.nets.split(","):
        row = bench(NETS[name], args.n, args.seed, args.scenario, args.p3)
        print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in row.items()), flush=True)


if __name__ == "__main__":
    main()
