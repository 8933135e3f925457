"""Add the three-phase load class and the phase balancing to the shipped power posteriors.

The NUTS parts of ``power_smartds_nuts.json`` and ``power_epri_ieee8500_nuts.json`` (and the
counted ``power_smartds_counting.json``) are kept as they are; the parameters the sampler gained
since (``p3class_log_mu_kw``, ``p3class_log_sigma``, ``balance_eps``, ``lateral_max_loads``) are
learned in closed form from the same feeders (``bayesgrid_plugins.learn.extensions``) and
stored beside them, one value per stored draw (a point value in the counted file). A full refit
(``scripts/fit_power_posteriors.py``) produces the same fields itself: the shipped NUTS files
are such refits now, so this script is needed for them only after the extensions change.

``--only balancing`` replaces the phase balancing alone (``balance_eps``,
``lateral_max_loads``, ``balance_shares``, ``balance_phase_probs``: each draw the randomness,
target shares and phase counts of one training feeder, :meth:`BalanceFit.draws`) and keeps
every other draw, the three-phase class included, as it is. A netCDF file keeps its other
groups (``sample_stats``, ``observed_data``).

Usage::

    python scripts/add_power_extensions.py [--data ../shared/data] [--only balancing]
        [names ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

import numpy as np

from bayesgrid_plugins.inference_data import ENGINE, is_netcdf, write_parameters_netcdf
from bayesgrid_plugins.learn.balance import learn_balance
from bayesgrid_plugins.learn.extensions import extension_draws
from bayesgrid_plugins.learn.power_data import power_data
from bayesgrid_plugins.learn.power_fit import round_parameters
from bayesgrid_plugins.learn.sources import EPRI_IEEE8500, SMARTDS, read_tables
from bayesgrid_plugins.learn.three_phase import three_phase_class_point
from bayesgrid_plugins.models.power import PowerParameters
from bayesgrid_plugins.shipped import posterior_path

TARGETS = {"smartds": SMARTDS, "smartds-counting": SMARTDS, "epri": EPRI_IEEE8500}
SEED = 20250108
#: Groups of a fit's netCDF file that are not parameters, carried over unchanged.
FIT_GROUPS = ("sample_stats", "observed_data")
#: The balancing fields replaced by ``--only balancing``.
BALANCING = ("balance_eps", "lateral_max_loads", "balance_shares", "balance_phase_probs")


def fit_groups(path: Path) -> dict[str, object]:
    """The ``sample_stats`` and ``observed_data`` groups of a netCDF file (those it has)."""
    import xarray as xr

    groups = {}
    for group in FIT_GROUPS:
        try:
            with xr.open_dataset(path, group=group, engine=ENGINE) as ds:
                groups[group] = ds.load()
        except (OSError, KeyError, ValueError):
            continue
    return groups


def balancing_draws(table, n_draws: int) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """Balancing fields only, one training feeder's (eps, shares, counts) per draw."""
    balance = learn_balance(table, seed=SEED)
    if balance is None:
        raise SystemExit("the training table has no topology: no balancing to learn")
    eps, max_loads, shares, counts = balance.draws(n_draws, np.random.default_rng([SEED, 4]))
    arrays = {
        "balance_eps": eps,
        "lateral_max_loads": max_loads,
        "balance_shares": shares,
        "balance_phase_probs": counts,
    }
    return arrays, {"phase_balancing": balance.as_provenance()}


def save(params: PowerParameters, path: Path, groups: dict[str, object]) -> None:
    """Write ``params`` to ``path``, keeping a netCDF fit's other groups."""
    if not is_netcdf(path) or not groups:
        params.save(path, overwrite=True)
        return
    write_parameters_netcdf(
        path,
        model=params.MODEL,
        parameters=params.to_dict(),
        provenance=params.provenance,
        n_draws=params.n_draws,
        groups=groups,
        overwrite=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / "data")
    parser.add_argument(
        "--only",
        choices=("balancing",),
        help="replace only these fields and keep every other draw as it is",
    )
    parser.add_argument("names", nargs="*", help=f"any of {sorted(TARGETS)} (default: all)")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(TARGETS))
    if unknown:
        parser.error(f"unknown names {unknown}; choose from {sorted(TARGETS)}")
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    tables = {}
    for name in args.names or list(TARGETS):
        sources = TARGETS[name]
        key = id(sources)
        if key not in tables:
            tables[key] = read_tables(sources, data_dir=args.data)[0]
        table = tables[key]
        path = posterior_path(name)
        params = PowerParameters.load(path)
        data = power_data(table)
        rng = np.random.default_rng([SEED, 3])
        groups = fit_groups(path) if is_netcdf(path) else {}
        if args.only == "balancing":
            if params.n_draws == 1:
                logging.info("%s: a point estimate, left as it is", path.name)
                continue
            arrays, records = balancing_draws(table, params.n_draws)
            rounded = round_parameters({**params.to_dict(), **arrays})
            provenance = {**params.provenance, **records}
            provenance["phase_balancing_added_by"] = (
                "scripts/add_power_extensions.py --only balancing (closed form, same feeders; "
                "every other draw unchanged)"
            )
            out = dataclasses.replace(
                params, **{k: rounded[k] for k in arrays}, provenance=provenance
            )
            save(out, path, groups)
            logging.info("%s: replaced %s", path.name, sorted(arrays))
            continue
        if params.n_draws == 1:
            point = three_phase_class_point(data)
            balance = learn_balance(table, seed=SEED)
            arrays = {
                "p3class_log_mu_kw": np.array([point[0]]),
                "p3class_log_sigma": np.array([point[1]]),
                "balance_eps": np.array([np.median(list(balance.eps.values()))]),
                "lateral_max_loads": np.array([balance.lateral_max_loads]),
            }
            records = {
                "p_three_phase_class": {
                    "distribution": "lognormal: log P ~ Normal(log_mu, log_sigma), P in kW",
                    "used_by_sampler": True,
                    "method": "mean-matched log-normal, load-weighted over the feeders",
                },
                "phase_balancing": balance.as_provenance(),
            }
        else:
            arrays, records = extension_draws(table, data, params.n_draws, rng, seed=SEED)
        rounded = round_parameters({**params.to_dict(), **arrays})
        provenance = {k: v for k, v in params.provenance.items() if k != "p_three_phase_class"}
        if "p_three_phase_class" in params.provenance:
            provenance["p_three_phase_class_nuts"] = params.provenance["p_three_phase_class"]
        provenance.update(records)
        provenance["extensions_added_by"] = (
            "scripts/add_power_extensions.py (closed form, same feeders; NUTS parts unchanged)"
        )
        out = dataclasses.replace(params, **{k: rounded[k] for k in arrays}, provenance=provenance)
        save(out, path, groups)
        logging.info("%s: added %s", path.name, sorted(arrays))


if __name__ == "__main__":
    main()
