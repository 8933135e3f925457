"""Convert the shipped JSON NUTS power posteriors to ArviZ InferenceData netCDF.

For each posterior the JSON file's parameter arrays are copied unchanged into the ``posterior``
group (the 1000 stored draws split back into the 2 chains they were thinned from: 500 each),
the power-factor support into ``constant_data``, and the provenance into the attributes with a
``converted`` entry. The training feeders are read again from the public data folder and, when
their training table has the SHA-256 recorded in the provenance, their sufficient statistics
are written as ``observed_data``. The sampler's statistics of the original fits were not stored
in the JSON files, so the converted files have no ``sample_stats`` group (their diagnostics are
in the provenance); a refit with ``scripts/fit_power_posteriors.py`` writes it.

Usage::

    python scripts/convert_posteriors_to_netcdf.py [--data ../shared/data] [--json-dir DIR]
"""

from __future__ import annotations

import argparse
import datetime as _dt
from pathlib import Path

import numpy as np

import bayesgrid_plugins
from bayesgrid_plugins.inference_data import write_parameters_netcdf
from bayesgrid_plugins.learn.fit_file import observed_summary
from bayesgrid_plugins.learn.power_data import power_data, table_sha256
from bayesgrid_plugins.learn.sources import EPRI_IEEE8500, SMARTDS, read_tables
from bayesgrid_plugins.models.power import PowerParameters

TARGETS = {
    "power_smartds_nuts": SMARTDS,
    "power_epri_ieee8500_nuts": EPRI_IEEE8500,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / "data")
    posteriors = Path(bayesgrid_plugins.__file__).parent / "data" / "posteriors"
    parser.add_argument("--json-dir", type=Path, default=posteriors)
    parser.add_argument("--out-dir", type=Path, default=posteriors)
    args = parser.parse_args()
    for stem, sources in TARGETS.items():
        source = args.json_dir / f"{stem}.json"
        params = PowerParameters.load(source)
        provenance = dict(params.provenance)
        table, _ = read_tables(sources, data_dir=args.data)
        groups = {}
        if table_sha256(table) == provenance.get("training_table_sha256"):
            data = power_data(table, pf_values=tuple(float(v) for v in params.pf_values))
            assert np.array_equal(data.pf_values, params.pf_values)
            groups["observed_data"] = observed_summary(data)
            observed = "observed_data re-computed from the training feeders (same table SHA-256)"
        else:
            observed = "no observed_data: the training table differs from the recorded one"
        provenance["converted"] = {
            "from": source.name,
            "date": _dt.date.today().isoformat(),
            "how": (
                "parameter arrays copied unchanged (1000 stored draws = 2 chains x 500); "
                f"{observed}; no sample_stats (not stored in the JSON file)"
            ),
            "script": "scripts/convert_posteriors_to_netcdf.py",
        }
        out = args.out_dir / f"{stem}.nc"
        write_parameters_netcdf(
            out,
            model=params.MODEL,
            parameters=params.to_dict(),
            provenance=provenance,
            n_draws=params.n_draws,
            groups=groups,
            overwrite=True,
        )
        again = PowerParameters.load(out)
        for name in params.FIELDS:
            assert np.array_equal(getattr(again, name), getattr(params, name)), name
        print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB): {observed}")


if __name__ == "__main__":
    main()
