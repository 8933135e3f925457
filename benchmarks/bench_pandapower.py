"""Benchmark: 100 realisations of the IEEE European LV net solved with pandapower's runpp_3ph.

Loads are sampled onto the net's 55 load buses (``feeder_from_net`` + ``populate_loads``) with
the counting posterior (``"smartds-counting"``, about 250 kW in all: this 800 kVA net's scale;
the default NUTS posterior's wide new-feeder predictive overloads it in some realisations),
then :func:`pandapower_ext.solve_ensemble` solves every realisation. Each configuration runs in
a fresh process so that the first call (numba compilation, if any) is measured as a real user
would see it.

Run: ``python benchmarks/bench_pandapower.py [-n 100] [--configs all|default]``.
Reports wall time per realisation after the warm-up realisation (median and mean), CPU time per
realisation (less sensitive to other processes on a shared machine), the first call, and the
lowest / highest voltage per phase over all realisations.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CONFIGS = {
    # name: solve_ensemble options
    "numba, flat start, reuse (default)": {"numba": True, "init": None, "reuse": True},
    "no numba, flat start, reuse": {"numba": False, "init": None, "reuse": True},
    "numba, pandapower defaults": {"numba": True, "init": "auto", "reuse": False},
    "no numba, pandapower defaults": {"numba": False, "init": "auto", "reuse": False},
}


def run_one(n: int, options: dict, seed: int) -> dict:
    """Solve ``n`` realisations in this process; return timings and voltage ranges."""
    import warnings

    import numpy as np
    import pandapower.networks as pn

    from bayesgrid_plugins.models.power import BayesianPowerModel
    from pandapower_ext import feeder_from_net, populate_loads, solve_ensemble

    # pandapower's own European LV net predates a pandapower 3 transformer column
    warnings.filterwarnings("ignore", message="tap_dependency_table is missing")
    net = pn.ieee_european_lv_asymmetric("on_peak_566")
    feeder = feeder_from_net(net)
    ensemble = BayesianPowerModel("smartds-counting").sample(feeder, n + 1, rng=seed)
    populate_loads(net, feeder, ensemble, 0)

    start = time.perf_counter()
    solve_ensemble(net, feeder, ensemble, realisations=[0], **options)  # warm-up / compile
    first = time.perf_counter() - start
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    result = solve_ensemble(net, feeder, ensemble, realisations=np.arange(1, n + 1), **options)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    lo, hi = result.voltage_range()
    return {
        "first_call_s": first,
        "wall_per_realisation_s": wall / n,
        "median_per_realisation_s": float(np.median(result.elapsed_s)),
        "cpu_per_realisation_s": cpu / n,
        "converged": int(result.converged.sum()),
        "n": n,
        "vm_min_pu": lo.tolist(),
        "vm_max_pu": hi.tolist(),
        "vuf_max_percent": float(np.nanmax(result.vuf_percent)),
        "mean_p_kw_per_phase": ensemble.p_kw[1:].sum(axis=1).mean(axis=0).tolist(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="realisations to time (default 100)")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--configs", choices=("all", "default"), default="all")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(run_one(args.n, CONFIGS[args.child], args.seed)))
        return 0

    names = list(CONFIGS) if args.configs == "all" else [next(iter(CONFIGS))]
    print(f"IEEE European LV (907 buses, 55 loads), {args.n} realisations, seed {args.seed}")
    print(f"load average at start: {os.getloadavg()}, {os.cpu_count()} CPUs")
    for name in names:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "-n",
                str(args.n),
                "--seed",
                str(args.seed),
                "--child",
                name,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"\n{name}:")
        print(f"  first call (incl. compilation) {r['first_call_s']:.2f} s")
        print(
            f"  per realisation after warm-up: wall mean {r['wall_per_realisation_s']:.3f} s, "
            f"median {r['median_per_realisation_s']:.3f} s, CPU {r['cpu_per_realisation_s']:.3f} s"
        )
        print(f"  converged {r['converged']}/{r['n']}; max VUF {r['vuf_max_percent']:.2f} %")
        for phase, lo, hi in zip("ABC", r["vm_min_pu"], r["vm_max_pu"]):
            print(f"  phase {phase}: vm min {lo:.4f} p.u., max {hi:.4f} p.u.")
        p = r["mean_p_kw_per_phase"]
        print(f"  mean total P per phase: A {p[0]:.1f}, B {p[1]:.1f}, C {p[2]:.1f} kW")
    print(f"\nload average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
