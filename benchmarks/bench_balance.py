"""Benchmark: how balanced the phases of sampled feeders are, beside the real training feeders.

The statistic is the feeder's largest phase total over the mean of its three phase totals
(max/mean, :func:`bayesgrid_plugins.balancing.balance_ratio`), one value per realisation. For
each posterior file given it prints its distribution (5, 25, 50, 75, 95 %) over ``-n``
realisations of

- the default main job, ``bayesgrid generate`` (1.5 km around central Monaco, conditioned
  sampler, planning on), run as a subprocess with ``--engine none --format npz`` (the power
  flow and the other exports do not touch the phases), and read back from its
  ``npz/ensemble.npz``;
- the IEEE European LV feeder's topology (pandapower's ``ieee_european_lv_asymmetric``,
  ``on_peak_566``): the unconditioned sampler, and the conditioned sampler keeping each
  bus's real total P of that snapshot;

and, beside them, the real max/mean of the posterior's training feeders as its provenance
records them (``phase_balancing.real_max_over_mean``).

Usage::

    python benchmarks/bench_balance.py [-n 100] [--seed 20] [--label NAME=FILE ...]

Without ``--label`` it compares the shipped ``smartds`` posterior (the default) with the same
posterior as it was before it carried the balancing targets, taken from git
(``git show c02bd4f:bayesgrid_plugins/data/posteriors/power_smartds_nuts.nc``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bayesgrid_plugins.balancing import balance_ratio
from bayesgrid_plugins.models.power import BayesianPowerModel, PowerParameters
from bayesgrid_plugins.shipped import posterior_path

ROOT = Path(__file__).resolve().parents[1]
BEFORE_COMMIT = "c02bd4f"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _quantiles(x: np.ndarray) -> str:
    q = np.quantile(np.asarray(x, dtype=float), QUANTILES)
    return " | ".join(f"{v:.3f}" for v in q)


def monaco(posterior: Path, n: int, seed: int, workdir: Path) -> np.ndarray:
    """max/mean per realisation of the default ``bayesgrid generate`` with ``posterior``."""
    out = workdir / f"generate-{posterior.stem}"
    cmd = [
        sys.executable,
        "-m",
        "bayesgrid_plugins.app.cli",
        "generate",
        "-n",
        str(n),
        "--seed",
        str(seed),
        "--posterior",
        str(posterior),
        "--engine",
        "none",
        "--format",
        "npz",
        "--network-files",
        "1",
        "--out",
        str(out),
        "--overwrite",
    ]
    subprocess.run(cmd, check=True, capture_output=True, cwd=workdir)
    with np.load(out / "npz" / "ensemble.npz") as z:
        return np.asarray(balance_ratio(z["p_kw"]))


def european_lv(posterior: Path, n: int, seed: int) -> dict[str, np.ndarray]:
    """max/mean per realisation on IEEE European LV, unconditioned and conditioned."""
    import pandapower.networks as pn

    from bayesgrid_plugins.models.conditioned import sample_conditioned
    from pandapower_ext import feeder_from_net

    feeder = feeder_from_net(pn.ieee_european_lv_asymmetric("on_peak_566"))
    params = PowerParameters.load(posterior)
    if feeder.n_zones != params.n_zones:
        feeder = feeder.with_zones(params.n_zones)
    model = BayesianPowerModel(params)
    free = model.sample(feeder, n, rng=np.random.default_rng([seed, 1]))
    kept = sample_conditioned(
        feeder, feeder.demand_kw, None, n, model=params, rng=np.random.default_rng([seed, 2])
    )
    return {"unconditioned": balance_ratio(free.p_kw), "conditioned": balance_ratio(kept.p_kw)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--label", action="append", default=[], help="NAME=FILE")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files: dict[str, Path] = {}
        if args.label:
            for item in args.label:
                name, _, path = item.partition("=")
                files[name] = Path(path).resolve()
        else:
            before = work / "power_smartds_nuts_before.nc"
            blob = subprocess.run(
                [
                    "git",
                    "show",
                    f"{BEFORE_COMMIT}:bayesgrid_plugins/data/posteriors/power_smartds_nuts.nc",
                ],
                cwd=ROOT,
                check=True,
                capture_output=True,
            ).stdout
            before.write_bytes(blob)
            files = {
                "before (thirds)": before,
                "after (training feeders' shares)": posterior_path("smartds"),
            }
        print(
            f"max/mean phase total per realisation, {args.n} realisations, seed {args.seed}: "
            "quantiles 5 / 25 / 50 / 75 / 95 %\n"
        )
        print("| posterior | setting | p5 | p25 | median | p75 | p95 |")
        print("|---|---|---|---|---|---|---|")
        real: dict[str, float] = {}
        templates: set[str] = set()
        for name, path in files.items():
            rows = {"Monaco, `bayesgrid generate`": monaco(path, args.n, args.seed, work)}
            for mode, values in european_lv(path, args.n, args.seed).items():
                rows[f"IEEE European LV, {mode}"] = values
            for setting, values in rows.items():
                print(f"| {name} | {setting} | {_quantiles(values)} |")
            record = PowerParameters.load(path).provenance.get("phase_balancing", {})
            real.update(record.get("real_max_over_mean", {}))
            templates.update(record.get("template_feeders", []))
        values = np.array(sorted(real.values()))
        print(
            f"| real training feeders ({values.size}) | one value per feeder | "
            f"{_quantiles(values)} |"
        )
        if templates:
            lent = np.array(sorted(v for k, v in real.items() if k in templates))
            print(
                f"| real template feeders ({lent.size}, >= 50 load buses) | one value per "
                f"feeder | {_quantiles(lent)} |"
            )
        print("\nreal training feeders: " + ", ".join(f"{k} {v:.3f}" for k, v in real.items()))


if __name__ == "__main__":
    main()
