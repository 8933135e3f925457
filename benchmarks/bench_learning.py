"""Fit time of the power model on the five SMART-DS feeders for each NUTS sampler, cold and warm.

Each measurement runs in a fresh process. "cold" starts from empty compilation caches (a new
JAX cache folder, ``BAYESGRID_JAX_CACHE_DIR``; a new PyTensor compile folder,
``PYTENSOR_FLAGS=base_compiledir=...``; a new Numba cache, ``NUMBA_CACHE_DIR``); "warm" is a
second process with the caches the cold one filled. Samplers: numpyro (the default), pymc and
nutpie (skipped, with the reason, when it is not installed). Then ``bayesgrid train
--from-opendss`` on one SMART-DS feeder, end to end, twice with one cache folder (cold, warm).
The 1-minute load average (as ``uptime`` prints it) is shown beside every figure.

Usage::

    python benchmarks/bench_learning.py [--data ../shared/data] [--draws 1000] [--tune 1000]
        [--samplers numpyro pymc nutpie] [--cores 2] [--model hierarchical|pooled] [--no-train]
"""

from __future__ import annotations

import argparse
import importlib.util
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
fit = fit_power_posterior(
    table, draws=int(sys.argv[2]), tune=int(sys.argv[3]), seed=1, cores=int(sys.argv[5]),
    hierarchical=sys.argv[6] == "hierarchical", sampler=sys.argv[4], warn=False,
)
t3 = time.perf_counter()
stats = fit.idata.sample_stats
print(json.dumps({
    "import_s": t1 - t0, "read_s": t2 - t1, "fit_s": t3 - t2,
    "steps": float(stats["n_steps"].mean()), "diagnostics": fit.diagnostics.as_dict(),
    "sampler": fit.parameters.provenance["sampler"]["nuts_sampler"],
}))
"""


def _load() -> float:
    return os.getloadavg()[0]


def _env(cache: Path) -> dict[str, str]:
    return dict(
        os.environ,
        BAYESGRID_JAX_CACHE_DIR=str(cache / "jax"),
        PYTENSOR_FLAGS=f"base_compiledir={cache / 'pytensor'}",
        NUMBA_CACHE_DIR=str(cache / "numba"),
    )


def fit_once(args: argparse.Namespace, sampler: str, cache: Path) -> dict:
    """One fit in a fresh process; its figures (or the error)."""
    load = _load()
    start = time.perf_counter()
    argv = (str(args.data), str(args.draws), str(args.tune), sampler, str(args.cores), args.model)
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, *argv],
        env=_env(cache),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1:], "wall_s": wall, "load": load}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(wall_s=wall, load=load)
    return result


def train_once(args: argparse.Namespace, master: Path, cache: Path) -> dict:
    """``bayesgrid train --from-opendss master`` end to end in a fresh process."""
    load = _load()
    start = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bayesgrid_plugins.app.cli",
            "train",
            "--from-opendss",
            str(master),
            "--out",
            str(cache / "trained.nc"),
            "--overwrite",
            "--quiet",
            "--seed",
            "1",
        ],
        env=_env(cache),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    last = (out.stdout.strip() or out.stderr.strip()).splitlines()[-1:]
    return {"ok": out.returncode == 0, "wall_s": wall, "load": load, "message": last}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / "data")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--samplers", nargs="+", default=["numpyro", "pymc", "nutpie"])
    parser.add_argument("--cores", type=int, default=2, help="processes/devices for the chains")
    parser.add_argument(
        "--model",
        choices=("hierarchical", "pooled"),
        default="hierarchical",
        help="the default hierarchical model, or all loads pooled in one population (the paper's)",
    )
    parser.add_argument("--no-train", action="store_true", help="skip the bayesgrid train timing")
    args = parser.parse_args()
    print(
        f"{args.model} power model on SMART-DS (5 feeders), 2 chains x ({args.tune} tune + "
        f"{args.draws} draws); {os.cpu_count()} CPUs, chains on {args.cores} cores"
    )
    print(
        f"{'sampler':8} {'run':5} {'fit [s]':>8} {'process [s]':>12} {'steps':>6} {'load':>5}  "
        "diagnostics"
    )
    for sampler in args.samplers:
        module = {"numpyro": "numpyro", "nutpie": "nutpie"}.get(sampler)
        if module and importlib.util.find_spec(module) is None:
            print(f"{sampler:8} skipped: {module} is not installed (pip install {module})")
            continue
        with tempfile.TemporaryDirectory(prefix="bayesgrid-bench-") as tmp:
            for label in ("cold", "warm"):
                r = fit_once(args, sampler, Path(tmp))
                if "error" in r:
                    print(f"{sampler:8} {label:5} failed: {r['error']}")
                    break
                d = r["diagnostics"]
                print(
                    f"{sampler:8} {label:5} {r['fit_s']:8.1f} {r['wall_s']:12.1f} "
                    f"{r['steps']:6.1f} {r['load']:5.2f}  r-hat {d['rhat_max']:.3f}, "
                    f"ESS bulk {d['ess_bulk_min']:.0f}, {d['divergences']} divergences",
                    flush=True,
                )
    if args.no_train:
        return
    from bayesgrid_plugins.learn.sources import SMARTDS

    master = args.data / SMARTDS[0].master
    print(f"bayesgrid train --from-opendss {SMARTDS[0].system} (default sampler), end to end")
    with tempfile.TemporaryDirectory(prefix="bayesgrid-bench-") as tmp:
        for label in ("cold", "warm"):
            r = train_once(args, master, Path(tmp))
            status = "" if r["ok"] else "FAILED "
            print(
                f"train    {label:5} {r['wall_s']:8.1f} s  load {r['load']:.2f}  {status}"
                f"{' '.join(r['message'])}",
                flush=True,
            )


if __name__ == "__main__":
    main()
