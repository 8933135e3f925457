"""Add the three-phase load class and the phase balancing to the shipped power posteriors.

The NUTS parts of ``power_smartds_nuts.json`` and ``power_epri_ieee8500_nuts.json`` (and the
counted ``power_smartds_counting.json``) are kept as they are; the parameters the sampler gained
since (``p3class_log_mu_kw``, ``p3class_log_sigma``, ``balance_eps``, ``lateral_max_loads``) are
learned in closed form from the same feeders (``bayesgrid_plugins.learn.extensions``) and
stored beside them, one value per stored draw (a point value in the counted file). A full refit
(``scripts/fit_power_posteriors.py``) produces the same fields itself: the shipped NUTS files
are such refits now, so this script is needed for them only after the extensions change.

Usage::

    python scripts/add_power_extensions.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

import numpy as np

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / "data")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    tables = {}
    for name, sources in TARGETS.items():
        key = id(sources)
        if key not in tables:
            tables[key] = read_tables(sources, data_dir=args.data)[0]
        table = tables[key]
        path = posterior_path(name)
        params = PowerParameters.load(path)
        data = power_data(table)
        rng = np.random.default_rng([SEED, 3])
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
        out.save(path, overwrite=True)
        logging.info("%s: added %s", path.name, sorted(arrays))


if __name__ == "__main__":
    main()
