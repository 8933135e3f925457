"""The three power-flow engines side by side on the same feeders and realisations.

For each feeder (IEEE European LV below its transformer, SMART-DS posterior; the default Monaco
feeder with the default posterior and impedances sampled by ``BayesianImpedanceModel``), prints
the time per realisation of

* power-grid-model in batch (``solve_batch``: one call, or one model per realisation when the
  lines differ), build included;
* power-grid-model one realisation at a time (``set_realisation`` + ``solve``);
* OpenDSS (the ``opendss`` engine: one circuit, switched between realisations), build included;
* pandapower ``runpp_3ph`` (numba, after one warm-up solve), on the first ``--n-pp``
  realisations;

and the largest voltage difference [p.u.] between engines on the realisations all of them
solved, with the load average of the machine. Each engine solves one realisation first, which
is not counted (imports, numba compilation).

Run: ``python benchmarks/bench_engines.py [--n 40] [--n-pp 5] [--seed 7]``
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable

import numpy as np

from bayesgrid_plugins.engines import EngineCase
from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.models.impedance import BayesianImpedanceModel
from bayesgrid_plugins.models.power import BayesianPowerModel
from bayesgrid_plugins.plugins import get_engine
from bayesgrid_plugins.results import PowerFlowResult


def european_lv() -> Feeder:
    """IEEE European LV below its transformer (the part every engine builds as one level)."""
    import pandapower.networks as pn

    from pandapower_ext import feeder_from_net

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = feeder_from_net(pn.ieee_european_lv_asymmetric("on_peak_566"))
    child = full.lines
    trafo = child[~np.isclose(full.vn_kv[child], full.vn_kv[full.parent[child]])][0]
    keep = child[(full.vn_kv[child] <= 1.0) & (child != trafo)]
    ids = full.bus_id
    return Feeder.from_edges(
        [(ids[full.parent[i]], ids[i], float(full.length_km[i])) for i in keep],
        ids[trafo],
        vn_kv=float(full.vn_kv[trafo]),
        loads=ids[full.is_load].tolist(),
    )


def monaco() -> Feeder:
    """The default Monaco feeder (shipped OpenStreetMap extract)."""
    from bayesgrid_plugins.topology import feeder_from_osm

    return feeder_from_osm().feeder


def timed(run: Callable[[], PowerFlowResult], n: int) -> tuple[PowerFlowResult, float]:
    start = time.perf_counter()
    result = run()
    return result, (time.perf_counter() - start) / n * 1e3


def batch(name: str, feeder: Feeder, ensemble: Ensemble, rows: np.ndarray, **options) -> Callable:
    def run() -> PowerFlowResult:
        with get_engine(name).open(feeder, ensemble, options=options or None) as case:
            return case.solve_batch(rows)

    return run


def one_by_one(name: str, feeder: Feeder, ensemble: Ensemble, rows: np.ndarray) -> Callable:
    def run() -> PowerFlowResult:
        with get_engine(name).open(feeder, ensemble) as case:
            return EngineCase.solve_batch(case, rows)  # the protocol's loop

    return run


def largest_difference(a: PowerFlowResult, b: PowerFlowResult) -> float:
    both = a.converged & b.converged
    if not both.any():
        return float("nan")
    return float(np.nanmax(np.abs(a.vm_pu[both] - b.vm_pu[both])))


def bench(label: str, feeder: Feeder, ensemble: Ensemble, n_pp: int) -> None:
    n = ensemble.n_realisations
    rows = np.arange(n)
    few = np.arange(min(n_pp, n))
    times: dict[str, float] = {}
    results: dict[str, PowerFlowResult] = {}
    for name in ("power-grid-model", "opendss"):  # first-use costs are not counted
        batch(name, feeder, ensemble[:1], np.arange(1))()
    results["pgm batch"], times["pgm batch"] = timed(
        batch("power-grid-model", feeder, ensemble, rows), n
    )
    results["pgm one by one"], times["pgm one by one"] = timed(
        one_by_one("power-grid-model", feeder, ensemble, rows), n
    )
    results["opendss"], times["opendss"] = timed(batch("opendss", feeder, ensemble, rows), n)
    with get_engine("pandapower").open(feeder, ensemble) as case:
        case.solve()  # numba compilation and the first build are not counted
        start = time.perf_counter()
        results["pandapower"] = case.solve_batch(few)
        times["pandapower"] = (time.perf_counter() - start) / few.size * 1e3
    sampled = ensemble.r1_ohm_per_km is not None
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\n{label}: {feeder.n_buses} buses, {n} realisations "
        f"({few.size} for pandapower), impedances {'sampled' if sampled else 'default'}; "
        f"load average {load}"
    )
    print(f"{'engine':<34}{'ms/realisation':>15}{'converged':>12}")
    names = {
        "pgm batch": "power-grid-model, batch",
        "pgm one by one": "power-grid-model, one at a time",
        "opendss": "OpenDSS",
        "pandapower": "pandapower runpp_3ph",
    }
    for key, text in names.items():
        r = results[key]
        print(f"{text:<34}{times[key]:>15.1f}{int(r.converged.sum()):>8}/{r.converged.size}")
    pgm = results["pgm batch"]
    m = few.size
    diffs = {
        "pgm batch vs one at a time": largest_difference(pgm, results["pgm one by one"]),
        "OpenDSS vs power-grid-model": largest_difference(results["opendss"], pgm),
        "pandapower vs power-grid-model": _first(results["pandapower"], pgm, m),
        "OpenDSS vs pandapower": _first(results["pandapower"], results["opendss"], m),
    }
    for text, value in diffs.items():
        print(f"largest |dV| {text:<32}{value:.2e} p.u.")
    print(
        f"speed-up of power-grid-model (batch): {times['pandapower'] / times['pgm batch']:.0f}x "
        f"over runpp_3ph, {times['opendss'] / times['pgm batch']:.1f}x over OpenDSS"
    )


def _first(a: PowerFlowResult, b: PowerFlowResult, m: int) -> float:
    """Largest difference over the first ``m`` realisations (those pandapower solved)."""
    both = a.converged[:m] & b.converged[:m]
    if not both.any():
        return float("nan")
    return float(np.nanmax(np.abs(a.vm_pu[:m][both] - b.vm_pu[:m][both])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="realisations")
    parser.add_argument("--n-pp", type=int, default=5, help="realisations for runpp_3ph")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    eu = european_lv()
    ens = BayesianPowerModel("smartds-counting").sample(eu, args.n, rng=rng)
    bench("IEEE European LV", eu, ens, args.n_pp)

    mc = monaco()
    ens = BayesianPowerModel().sample(mc, args.n, rng=rng)
    ens = BayesianImpedanceModel().sample(mc, args.n, rng=rng, ensemble=ens)
    bench("Monaco default feeder", mc, ens, args.n_pp)


if __name__ == "__main__":
    main()
