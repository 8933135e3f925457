"""Fit time of the power model on the five SMART-DS feeders, cold and warm.

Each measurement runs in a fresh process. "cold" uses an empty PyTensor compile directory
(``PYTENSOR_FLAGS=base_compiledir=<tmp>``), "warm" reuses the one the cold run filled. Backends:
PyTensor's default C backend and ``mode=NUMBA`` (and nutpie when it is installed).

Usage::

    python benchmarks/bench_learning.py [--data ../shared/data] [--draws 1000] [--tune 1000]
        [--backends c numba nutpie] [--cores 2] [--model hierarchical|pooled]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from bayesgrid_plugins.learn.power_fit import _import_pymc, fit_power_posterior
from bayesgrid_plugins.learn.sources import SMARTDS, read_tables
_import_pymc()
t1 = time.perf_counter()
table, _ = read_tables(SMARTDS, data_dir=Path(sys.argv[1]))
t2 = time.perf_counter()
backend = sys.argv[4]
fit = fit_power_posterior(
    table, draws=int(sys.argv[2]), tune=int(sys.argv[3]), seed=1, cores=int(sys.argv[5]),
    hierarchical=sys.argv[6] == "hierarchical",
    nuts_sampler="nutpie" if backend == "nutpie" else "pymc",
    mode="NUMBA" if backend == "numba" else None, warn=False,
)
t3 = time.perf_counter()
stats = fit.idata.sample_stats
print(json.dumps({
    "import_s": t1 - t0, "read_s": t2 - t1, "fit_s": t3 - t2,
    "sampling_s": float(stats.attrs.get("sampling_time", float("nan"))),
    "steps": float(stats["n_steps"].mean()), "diagnostics": fit.diagnostics.as_dict(),
}))
"""


def run(
    backend: str, data: Path, draws: int, tune: int, cores: int, model: str, compiledir: Path
) -> dict:
    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={compiledir}")
    start = time.perf_counter()
    args = (str(data), str(draws), str(tune), backend, str(cores), model)
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1:], "wall_s": wall}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / "data")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--backends", nargs="+", default=["c", "numba", "nutpie"])
    parser.add_argument("--cores", type=int, default=2, help="processes for the chains")
    parser.add_argument(
        "--model",
        choices=("hierarchical", "pooled"),
        default="hierarchical",
        help="the default hierarchical model, or all loads pooled in one population (the paper's)",
    )
    args = parser.parse_args()
    print(
        f"{args.model} power model on SMART-DS (5 feeders), 2 chains x ({args.tune} tune + "
        f"{args.draws} draws)"
    )
    print(f"load average {os.getloadavg()}, {os.cpu_count()} CPUs, chains on {args.cores} cores")
    print(
        f"{'backend':8} {'run':5} {'fit [s]':>8} {'sampling':>9} {'steps':>6} {'import':>7} "
        f"{'process [s]':>12}  diagnostics"
    )
    for backend in args.backends:
        if backend == "nutpie":
            try:
                import nutpie  # noqa: F401
            except ImportError:
                print(f"{backend:8} skipped: nutpie is not installed")
                continue
        with tempfile.TemporaryDirectory(prefix="bayesgrid-bench-") as tmp:
            for label in ("cold", "warm"):
                r = run(
                    backend, args.data, args.draws, args.tune, args.cores, args.model, Path(tmp)
                )
                if "error" in r:
                    print(f"{backend:8} {label:5} failed: {r['error']}")
                    break
                d = r["diagnostics"]
                print(
                    f"{backend:8} {label:5} {r['fit_s']:8.1f} {r['sampling_s']:9.1f} "
                    f"{r['steps']:6.1f} {r['import_s']:7.1f} {r['wall_s']:12.1f}  "
                    f"r-hat {d['rhat_max']:.3f}, ESS {d['ess_bulk_min']:.0f}, "
                    f"{d['divergences']} divergences"
                )


if __name__ == "__main__":
    main()
