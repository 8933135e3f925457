"""Per-feeder load levels of the public training feeders, for the demand uncertainty and the
unconditioned predictive.

For every feeder of the two shipped NUTS posteriors (SMART-DS; EPRI ckt5/ckt7 + IEEE 8500) this
writes one row to ``bayesgrid_plugins/data/posteriors/power_feeder_levels.csv``: the number of
loads, the feeder total P [kW], the mean and standard deviation of the single-phase loads' P
[kW] (the quantity the truncated normal of the power model is fitted to) and the mean P over
all loads.

Usage::

    python scripts/compute_feeder_load_levels.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import bayesgrid_plugins
from bayesgrid_plugins.fileio import atomic_write_text
from bayesgrid_plugins.learn.sources import EPRI_IEEE8500, SMARTDS, read_tables

POSTERIORS = {"power-smartds-nuts-v2": SMARTDS, "power-epri-ieee8500-nuts-v2": EPRI_IEEE8500}
COLUMNS = (
    "posterior_id",
    "feeder",
    "n_loads",
    "n_single_phase",
    "total_p_kw",
    "mean_p_kw_all",
    "mean_p_kw_single_phase",
    "sd_p_kw_single_phase",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / "data")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(bayesgrid_plugins.__file__).parent
        / "data"
        / "posteriors"
        / "power_feeder_levels.csv",
    )
    args = parser.parse_args()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for posterior_id, sources in POSTERIORS.items():
        table, _ = read_tables(sources, data_dir=args.data)
        loads = table.loads
        p = table.p_kw
        phases = (loads[["p_a_kw", "p_b_kw", "p_c_kw"]].to_numpy() != 0).sum(axis=1)
        for feeder in dict.fromkeys(loads["system"]):
            mine = (loads["system"] == feeder).to_numpy()
            single = mine & (phases == 1)
            writer.writerow(
                [
                    posterior_id,
                    feeder,
                    int(mine.sum()),
                    int(single.sum()),
                    f"{p[mine].sum():.3f}",
                    f"{p[mine].mean():.4f}",
                    f"{p[single].mean():.4f}",
                    f"{p[single].std(ddof=1):.4f}",
                ]
            )
    atomic_write_text(args.out, buffer.getvalue(), what="feeder levels", overwrite=True)
    print(buffer.getvalue())


if __name__ == "__main__":
    main()
