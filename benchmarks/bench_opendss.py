"""Monte Carlo power flow of the IEEE European LV feeder in OpenDSS.

Samples 1000 realisations of the default power model on the European LV topology (read from the
test case's OpenDSS files), builds the circuit once and solves every realisation, then prints the
build time, the time per realisation (load update + solve + read-out) and the voltage ranges.

Run: ``python benchmarks/bench_opendss.py [--n 1000] [--seed 2025]``
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from bayesgrid_plugins.models.power import BayesianPowerModel
from opendss_ext import CircuitOptions, populate_circuit, read_circuit, solve_ensemble

#: The shared real data beside the checkout (override with BAYESGRID_SHARED_DATA).
SHARED_DATA = Path(
    os.environ.get("BAYESGRID_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)

EULV = Path(
    f"{SHARED_DATA}/feeders/electricdss-tst/Version8/Distrib/IEEETestCases/LVTestCase/Master.dss"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="realisations")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--master", type=Path, default=EULV)
    args = parser.parse_args()

    feeder = read_circuit(args.master).feeder
    t0 = time.perf_counter()
    ensemble = BayesianPowerModel().sample(feeder, args.n, rng=args.seed)
    t_sample = time.perf_counter() - t0
    t0 = time.perf_counter()
    populate_circuit(feeder, ensemble, 0, options=CircuitOptions(), union_of=range(args.n))
    t_build = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = solve_ensemble(feeder, ensemble)
    t_total = time.perf_counter() - t0
    per = result.elapsed_s[1:] * 1e3

    lines = int(np.count_nonzero(ensemble.bus_phases[0] & 7)) - 1
    print(f"feeder: {feeder.n_buses} buses, {lines} lines, {int(feeder.is_load.sum())} load buses")
    print(f"sampling {args.n} realisations: {t_sample:.3f} s")
    print(f"circuit build (union of all realisations' phases): {t_build * 1e3:.1f} ms")
    print(
        f"per realisation after the build (update + solve + read): median {np.median(per):.2f} ms, "
        f"mean {per.mean():.2f} ms, p95 {np.percentile(per, 95):.2f} ms"
    )
    print(f"solve_ensemble total (build included): {t_total:.2f} s")
    print(f"converged: {int(result.converged.sum())}/{result.n_realisations}")
    vm = result.vm_pu
    print(
        f"voltage range over all buses/phases/realisations: {np.nanmin(vm):.4f} - "
        f"{np.nanmax(vm):.4f} p.u."
    )
    for p, name in enumerate("ABC"):
        print(
            f"  phase {name}: min per realisation {np.nanmin(result.vm_min_pu[:, p]):.4f} - "
            f"{np.nanmax(result.vm_min_pu[:, p]):.4f} p.u. (median "
            f"{np.nanmedian(result.vm_min_pu[:, p]):.4f})"
        )
    print(
        f"share of realisations with a voltage below 0.9 p.u.: "
        f"{np.mean(np.nanmin(result.vm_min_pu, axis=1) < 0.9):.3f}"
    )
    print(
        f"highest VUF: median {np.nanmedian(result.vuf_percent):.3f} %, max "
        f"{np.nanmax(result.vuf_percent):.3f} %"
    )
    print(
        f"losses: median {np.nanmedian(result.losses_kw):.2f} kW; total load median "
        f"{np.median(ensemble.p_kw.sum(axis=(1, 2))):.1f} kW"
    )


if __name__ == "__main__":
    main()
