"""Re-create the shipped default power-model parameters from the SMART-DS feeders.

Reads five real SMART-DS feeders (Austin through NREL/disco's test data, Greensboro through
GreenEVT's copy, with the original SMART-DS loads) with the OpenDSS reader, counts the
parameters (Algorithm 1 and empirical moments, see ``bayesgrid_plugins.learn.counting``) and
writes ``bayesgrid_plugins/data/posteriors/power_smartds_counting.json``.

Usage::

    python scripts/compute_default_power_parameters.py [--data ../shared/data] [--overwrite]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import bayesgrid_plugins
from bayesgrid_plugins.learn.counting import count_power_parameters
from bayesgrid_plugins.learn.table import TrainingTable
from opendss_ext.reader import training_table

AUSTIN = "feeders/smart-ds-disco/tests/data/smart-ds/substations"
GREENSBORO = "feeders/smart-ds-gso-greenevt/data/open_dss/uhs0_1247"
#: (system name, master file relative to the data folder, replacement loads file)
FEEDERS = [
    (
        "SMART-DS Austin p1udt21301",
        f"{AUSTIN}/p1uhs23_1247/p1uhs23_1247--p1udt21301/Master.dss",
        None,
    ),
    (
        "SMART-DS Austin p1udt5257",
        f"{AUSTIN}/p1uhs21_1247/p1uhs21_1247--p1udt5257/Master.dss",
        None,
    ),
    (
        "SMART-DS Greensboro udt12274",
        f"{GREENSBORO}/uhs0_1247--udt12274/Master.dss",
        "Loads_original.dss",
    ),
    (
        "SMART-DS Greensboro udt14717",
        f"{GREENSBORO}/uhs0_1247--udt14717/Master.dss",
        "Loads_original.dss",
    ),
    (
        "SMART-DS Greensboro udt16115",
        f"{GREENSBORO}/uhs0_1247--udt16115/Master.dss",
        "Loads_original.dss",
    ),
]
SOURCES = (
    "SMART-DS synthetic feeders (NREL, CC BY 4.0): Austin p1uhs23_1247--p1udt21301 and "
    "p1uhs21_1247--p1udt5257 from NREL/disco @041b717 tests/data; Greensboro uhs0_1247 feeders "
    "udt12274, udt14717, udt16115 from GreenEVT/GreenEVT @6aff1ca (Loads_original.dss)"
)


#: The counted parameters' file (the default posterior is the NUTS fit, not this one).
COUNTING_FILE = "power_smartds_counting.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / "data")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(bayesgrid_plugins.__file__).parent
        / "data"
        / "posteriors"
        / COUNTING_FILE,
    )
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    tables = []
    for system, master, loads_file in FEEDERS:
        table = training_table(args.data / master, system=system, loads_file=loads_file)
        print(f"{system}: {len(table.loads)} loads, {len(table.lines)} lines")
        tables.append(table)
    params = count_power_parameters(
        TrainingTable.concat(tables),
        provenance={
            "id": "power-smartds-counting-v1",
            "data_source": SOURCES,
            "licence": "parameters derived from SMART-DS data, CC BY 4.0 (NREL)",
            "bayesgrid_version": bayesgrid_plugins.__version__,
            "script": "scripts/compute_default_power_parameters.py",
            "feeders": [system for system, _, _ in FEEDERS],
        },
    )
    params.save(args.out, overwrite=args.overwrite)
    print(f"wrote {args.out}")
    for name, value in params.to_dict().items():
        print(f"  {name} = {value.round(4).tolist()}")


if __name__ == "__main__":
    main()
