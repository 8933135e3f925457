"""Scale-out throughput: realisations solved per second, serially and on 1 and 2 Dask workers.

For each case the runner (:func:`bayesgrid_plugins.app.scale.run`) samples and solves ``--n``
realisations in chunks of ``--chunk-size`` and writes them to a temporary run folder. Dask runs
use one warm cluster per worker count (started, then warmed by a small run so that the imports
in each worker process are not timed); the cluster start is reported separately.

Cases:
* the IEEE European LV feeder (906 buses, read from the test case's OpenDSS files), power model
  only (its line codes are real; the shipped impedance model describes MV lines);
* an area of the embedded Monaco extract (MV, 13.8 kV), power and impedance models.

Prints realisations per second, the parallel efficiency (rate with w workers / (w x rate with
1 worker)), the cost of per-realisation random streams, memory per realisation, the load
average of the machine (it is shared: figures are noisy), and a projection for a city of
100 feeders x 1000 realisations.

Run: ``python benchmarks/bench_scale.py [--n 400] [--chunk-size 50]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bayesgrid_plugins.app.scale import (
    FeederRegion,
    OsmArea,
    PowerFlowTask,
    SamplingSettings,
    local_cluster,
    run,
    sample_realisations,
)
from bayesgrid_plugins.app.scale.regions import build_region_feeder

#: The shared real data beside the checkout (override with BAYESGRID_SHARED_DATA).
SHARED_DATA = Path(
    os.environ.get("BAYESGRID_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)

EULV = Path(
    f"{SHARED_DATA}/feeders/electricdss-tst/Version8/Distrib/IEEETestCases/LVTestCase/Master.dss"
)


def _load() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def _time_run(region, n, chunk, sampling, folder, **how) -> float:
    global LAST_CPU_MS
    start = time.perf_counter()
    result = run(
        PowerFlowTask(), [region], n=n, seed=1, chunk_size=chunk, sampling=sampling,
        out=folder, overwrite=True, **how,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    assert result.results[0]["converged"].all()
    LAST_CPU_MS = 1e3 * result.chunk_cpu_s.sum() / n
    return elapsed


LAST_CPU_MS = float("nan")


def bench_case(name, region, sampling, n, chunk, tmp: Path) -> dict[str, float]:
    from distributed import Client

    rates: dict[str, float] = {}
    print(f"\n== {name}: n={n}, chunk {chunk}, load average {_load()}")
    _time_run(region, chunk, chunk, sampling, tmp / "warm", serial=True)  # imports, models
    t = _time_run(region, n, chunk, sampling, tmp / "serial", serial=True)
    rates["serial"] = n / t
    print(
        f"serial (no Dask): {t:6.2f} s, {n / t:7.1f} realisations/s, CPU {LAST_CPU_MS:.1f} ms per "
        f"realisation   (load {_load()})"
    )
    for workers in (1, 2):
        start = time.perf_counter()
        with local_cluster(workers) as cluster, Client(cluster) as client:
            startup = time.perf_counter() - start
            _time_run(region, 2 * workers * chunk // 2, chunk // 2 or 1, sampling, tmp / "w",
                      client=client)  # fmt: skip
            t = _time_run(region, n, chunk, sampling, tmp / f"w{workers}", client=client)
        rates[f"{workers} workers"] = n / t
        print(
            f"{workers} worker(s):       {t:6.2f} s, {n / t:7.1f} realisations/s, CPU "
            f"{LAST_CPU_MS:.1f} ms per realisation in the workers   "
            f"(cluster start {startup:.1f} s, load {_load()})"
        )
        rates[f"{workers} workers cpu_ms"] = LAST_CPU_MS
    eff = rates["2 workers"] / (2 * rates["1 workers"])
    print(f"parallel efficiency 1 -> 2 workers (wall): {eff:.2f} (speed-up {2 * eff:.2f} x)")
    idle = 2e3 / rates["2 workers cpu_ms"]
    print(
        f"on 2 idle cores (2 / CPU time per realisation in the 2-worker run): {idle:.0f} "
        "realisations/s; CPU per realisation 1 vs 2 workers: "
        f"{rates['1 workers cpu_ms']:.1f} vs {rates['2 workers cpu_ms']:.1f} ms"
    )
    rates["efficiency"] = eff
    return rates


def stream_overhead(feeder, sampling, n: int) -> None:
    from bayesgrid_plugins.models.impedance import BayesianImpedanceModel
    from bayesgrid_plugins.models.power import BayesianPowerModel

    sample_realisations(feeder, seed=0, region=0, realisations=range(2), sampling=sampling)
    start = time.perf_counter()
    ens = sample_realisations(feeder, seed=0, region=0, realisations=range(n), sampling=sampling)
    per = (time.perf_counter() - start) / n
    start = time.perf_counter()
    vec = BayesianPowerModel(sampling.power_parameters).sample(feeder, n, rng=0)
    if sampling.impedance:
        vec = BayesianImpedanceModel().sample(feeder, n, rng=1, ensemble=vec)
    one = (time.perf_counter() - start) / n
    print(
        f"sampling: per-realisation streams {per * 1e3:.2f} ms/realisation, one vectorised "
        f"stream {one * 1e3:.2f} ms/realisation (overhead {(per - one) * 1e3:.2f} ms)"
    )
    nbytes = (
        sum(v.nbytes for v in vars(ens).values() if isinstance(v, np.ndarray) and v.ndim >= 1)
        - ens.bus_id.nbytes
    )
    b = feeder.n_buses
    print(
        f"memory: a worker holds ~{nbytes / n / 1e3:.1f} kB of samples + {32 * b / 1e3:.1f} kB of "
        f"solution (vm_pu, loading) per realisation of its chunk; the result kept per "
        f"realisation is 97 bytes (+{24 * b / 1e3:.1f} kB with --full-voltages)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="realisations per case")
    parser.add_argument("--n-monaco", type=int, default=120, help="realisations, Monaco case")
    parser.add_argument("--chunk-size", type=int, default=50)
    args = parser.parse_args()
    from opendss_ext import read_circuit

    print(f"machine: {os.cpu_count()} CPUs, load average {_load()} (shared machine)")
    eulv = read_circuit(EULV).feeder
    monaco = OsmArea("monaco-northeast", (43.7440, 7.4280), 400.0)
    monaco_feeder = build_region_feeder(monaco)
    # European LV's loads are a few kW: the counting posterior matches its demand (~250 kW in
    # total), the NUTS default's wide new-feeder predictive overloads it in some realisations.
    power_only = SamplingSettings(impedance=False, power_parameters="smartds-counting")
    both = SamplingSettings()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"\nEuropean LV feeder: {eulv.n_buses} buses, {int(eulv.is_load.sum())} loads")
        stream_overhead(eulv, power_only, 200)
        eu = bench_case(
            "European LV, power model", FeederRegion("eulv", eulv), power_only, args.n,
            args.chunk_size, Path(tmp),
        )  # fmt: skip
        eu_chunk = bench_case(
            "European LV, power model, chunk streams", FeederRegion("eulv", eulv),
            SamplingSettings(impedance=False, power_parameters="smartds-counting", streams="chunk"),
            args.n, args.chunk_size,
            Path(tmp),
        )  # fmt: skip
        print(f"\nMonaco area: {monaco_feeder.n_buses} buses, 13.8 kV")
        stream_overhead(monaco_feeder, both, 50)
        mc = bench_case(
            "Monaco 400 m, power + impedance models", monaco, both, args.n_monaco,
            max(1, args.chunk_size // 2), Path(tmp),
        )  # fmt: skip
    total = 100 * 1000
    print("\n== projection: a city of 100 feeders x 1000 realisations = 1e5 power flows")
    cases = (
        ("European-LV-like feeders", eu),
        ("European-LV-like feeders, chunk streams", eu_chunk),
        ("Monaco-like MV feeders", mc),
    )
    for label, rates in cases:
        for mode in ("serial", "2 workers"):
            hours = total / rates[mode] / 3600
            print(f"{label}, {mode}: {hours:6.2f} h")
        per_core = rates["1 workers"]
        print(
            f"{label}, 64 cores at the measured 2-worker efficiency: "
            f"{total / (64 * per_core * rates['efficiency']) / 60:6.1f} min"
        )
    print(f"\nload average at the end: {_load()}")


if __name__ == "__main__":
    main()
