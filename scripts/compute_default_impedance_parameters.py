"""Re-create the shipped default impedance-model parameters from the SMART-DS feeders.

Reads the same five real SMART-DS feeders as the power model (Austin through NREL/disco's test
data, Greensboro through GreenEVT's copy) with the OpenDSS reader, keeps their medium-voltage
(12.47 kV) lines, adds from the engine each line's line-code name (overhead ``_oh_`` or
underground ``_ug_``) and its sequence capacitances, counts conductor types by phase count and
zone (conjugate Dirichlet, see ``bayesgrid_plugins.learn.impedance_counting``) and writes
``bayesgrid_plugins/data/posteriors/impedance_smartds_counting.json``.

The low-voltage secondaries (triplex service drops behind the service transformers) are left
out: the generated feeders are primaries, whose loads stand for service transformers.

Usage::

    python scripts/compute_default_impedance_parameters.py [--data ../shared/data] [--overwrite]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

import bayesgrid_plugins
from bayesgrid_plugins.learn.impedance_counting import count_impedance_parameters
from bayesgrid_plugins.learn.table import TrainingTable
from bayesgrid_plugins.models.impedance import DEFAULT_IMPEDANCE_PARAMETERS
from opendss_ext.engine import LENGTH_UNIT_KM
from opendss_ext.reader import compile_master, training_table

sys.path.insert(0, str(Path(__file__).parent))
from compute_default_power_parameters import FEEDERS, SOURCES

#: Line-to-neutral base voltage [kV] above which a line counts as medium voltage.
MIN_MV_KV_LN = 1.0
#: Zero- over positive-sequence capacitance of overhead lines (typical of MV overhead lines with
#: an earth return, 0.4-0.6; the exact value depends on the pole geometry).
OVERHEAD_C0_OVER_C1 = 0.5


def line_extras(master: Path, loads_file: str | None) -> dict[str, tuple[str, float, float, float]]:
    """Per line name (lower case): (line code, kV base L-N of bus 2, C1, C0 [nF/km])."""
    dss = compile_master(master, loads_file=loads_file)
    out = {}
    index = dss.Lines.First()
    while index > 0:
        n = int(dss.Lines.Phases())
        units = int(dss.Lines.Units())
        km_per_unit = LENGTH_UNIT_KM.get(units, 1.0) if units else 1.0
        c = np.asarray(dss.Lines.CMatrix(), dtype=float).reshape(n, n) / km_per_unit
        cs = np.trace(c) / n
        cm = (c.sum() - np.trace(c)) / (n * (n - 1)) if n > 1 else 0.0
        c1, c0 = (cs, cs) if n == 1 else (cs - cm, cs + 2 * cm)
        dss.Circuit.SetActiveBus(dss.Lines.Bus2().split(".")[0])
        out[dss.Lines.Name().lower()] = (dss.Lines.LineCode(), dss.Bus.kVBase(), c1, c0)
        index = dss.Lines.Next()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / "data")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(bayesgrid_plugins.__file__).parent
        / "data"
        / "posteriors"
        / DEFAULT_IMPEDANCE_PARAMETERS,
    )
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    tables, codes, c1s, c0s = [], [], [], []
    for system, master, loads_file in FEEDERS:
        table = training_table(args.data / master, system=system, loads_file=loads_file)
        extras = line_extras(args.data / master, loads_file)
        info = [extras[str(name).lower()] for name in table.lines["line_id"]]
        mv = np.asarray([row[1] > MIN_MV_KV_LN for row in info])
        lines = table.lines[mv].reset_index(drop=True)
        print(f"{system}: {len(table.lines)} lines, {mv.sum()} medium-voltage")
        tables.append(TrainingTable(loads=table.loads, lines=lines, n_zones=table.n_zones))
        codes += [row[0] for row, keep in zip(info, mv) if keep]
        c1s += [row[2] for row, keep in zip(info, mv) if keep]
        c0s += [row[3] for row, keep in zip(info, mv) if keep]
    combined = TrainingTable.concat(tables)
    overhead = np.asarray(["_oh_" in code.lower() for code in codes])
    c1 = np.asarray(c1s)
    # The SMART-DS matrices give a zero-sequence capacitance numerically equal to the line's X0
    # in ohm/km (0.9-2.2 nF/km), far below physical values; C0 is replaced by a documented rule:
    # screened cables C0 = C1, overhead lines C0 = OVERHEAD_C0_OVER_C1 * C1. Single-phase lines
    # keep their self capacitance (C1 = C0 = Cs).
    single = combined.lines["phases"].map(lambda m: bin(int(m)).count("1") == 1).to_numpy()
    c0 = np.where(single, np.asarray(c0s), np.where(overhead, OVERHEAD_C0_OVER_C1 * c1, c1))
    params = count_impedance_parameters(
        combined,
        c1_nf_per_km=c1,
        c0_nf_per_km=c0,
        overhead=overhead,
        type_names=codes,
        provenance={
            "id": "impedance-smartds-counting-v1",
            "data_source": SOURCES + "; medium-voltage (12.47 kV) lines only",
            "licence": "parameters derived from SMART-DS data, CC BY 4.0 (NREL)",
            "bayesgrid_version": bayesgrid_plugins.__version__,
            "script": "scripts/compute_default_impedance_parameters.py",
            "feeders": [system for system, _, _ in FEEDERS],
            "overhead_from": "line-code name (_oh_ overhead, _ug_ underground)",
            "capacitance_from": (
                "C1 from the engine CMatrix of each line; C0 = C1 for cables and "
                f"{OVERHEAD_C0_OVER_C1} C1 for overhead lines (the SMART-DS C0 values equal "
                "X0 in ohm/km and are not used)"
            ),
        },
    )
    params.save(args.out, overwrite=args.overwrite)
    print(f"wrote {args.out}")
    probs = params.expected_type_probs()
    for t, name in enumerate(params.type_names):
        print(
            f"  {name:45s} R1={params.r1_ohm_per_km[t]:.4f} X1={params.x1_ohm_per_km[t]:.4f} "
            f"R0={params.r0_ohm_per_km[t]:.4f} X0={params.x0_ohm_per_km[t]:.4f} "
            f"C1={params.c1_nf_per_km[t]:.2f} C0={params.c0_nf_per_km[t]:.2f} "
            f"I={params.max_i_ka[t]:.3f} OH={int(params.overhead[t])} "
            f"p(1ph)={probs[0].mean(axis=0)[t]:.3f} p(3ph)={probs[2].mean(axis=0)[t]:.3f}"
        )


if __name__ == "__main__":
    main()
