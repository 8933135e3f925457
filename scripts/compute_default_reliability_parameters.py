"""Re-create the shipped default reliability parameters (CINELDI rates, EIA-861 scale).

1. Failure rates and repair times by line kind from the CINELDI MV reference system
   (``reldata_for_component_types.csv``: permanent failures per 100 km and year, outage time
   per failure; ``CINELDI_MV_reference_system_reldata.csv``: sectioning time), cross-checked
   against the per-branch rates of the reference grid.
2. The distribution of SAIFI and CAIDI across US utilities from EIA-861 (utility-year rows
   2014-2017 of ``llavin13_EIAReliabilityData.csv``, IEEE 1366 standard, major event days
   excluded; 2013 and 2018 rows are skipped, see the data's PROVENANCE caveats).
3. The expected SAIFI and CAIDI that the CINELDI values give on five real SMART-DS feeders
   (their own overhead / underground line codes and lengths, one customer per load, a
   protective device at every line). Their ratio to the EIA medians scales the rates and the
   repair times; the EIA spread across utilities (sd of the logs) becomes the spread of the
   posterior draws (an upper bound: topology explains part of that spread).
4. The frequency (CAIFI) and duration (CAIDI) models are then learned, by their conjugate
   counting estimators, from sampled years of the physical model on the same feeders.

Writes ``reliability_failure_cineldi_eia.json``, ``reliability_frequency_smartds.json`` and
``reliability_duration_smartds.json`` to ``bayesgrid_plugins/data/posteriors``.

Usage::

    python scripts/compute_default_reliability_parameters.py [--data ../shared/data] [--overwrite]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import bayesgrid_plugins
from bayesgrid_plugins.learn.reliability_counting import (
    count_duration_parameters,
    count_frequency_parameters,
)
from bayesgrid_plugins.models.reliability import (
    DEFAULT_DURATION_PARAMETERS,
    DEFAULT_FAILURE_PARAMETERS,
    DEFAULT_FREQUENCY_PARAMETERS,
    FailureParameters,
    ReliabilityModel,
)
from bayesgrid_plugins.reliability import reliability_indices
from opendss_ext.reader import compile_master, read_circuit

sys.path.insert(0, str(Path(__file__).parent))
from compute_default_power_parameters import FEEDERS, SOURCES

CINELDI = "reliability/cineldi_mv_reference_system_v_2023-03-06"
EIA = "reliability/llavin13_EIAReliabilityData.csv"
EIA_YEARS = (2014, 2015, 2016, 2017)
N_DRAWS = 1000
SEED = 20240607


def cineldi(data: Path) -> dict[str, float]:
    """Permanent failure rates [1/km/year], repair and sectioning times [h] by line kind."""
    types = pd.read_csv(
        data / CINELDI / "reldata_for_component_types.csv", sep=";", encoding="utf-8-sig"
    )
    oh = types[types["main_type"].str.startswith("Overhead line")].iloc[0]
    ug = types[types["main_type"].str.startswith("Underground cable")].iloc[0]
    rel = pd.read_csv(data / CINELDI / "CINELDI_MV_reference_system_reldata.csv", sep=";")
    extra = pd.read_csv(data / CINELDI / "CINELDI_MV_reference_grid_base_branch_extra.csv", sep=";")
    kinds = pd.read_csv(
        data / CINELDI / "distribution_line_types_in_reference_grid.csv",
        sep=";",
        encoding="utf-8-sig",
    )
    branch = pd.concat([rel, extra], axis=1).merge(kinds[["type", "main_type"]], on="type")
    branch = branch[branch["length_km"] > 0.01]
    per_km = branch["lambda_perm"] / branch["length_km"] * 100
    for kind, row in (("Overhead", oh), ("Underground", ug)):
        sel = branch["main_type"].str.startswith(kind)
        print(
            f"CINELDI {kind}: table {row['lambda_perm']}/100 km/yr, r={row['r_perm']} h; "
            f"branches {per_km[sel].min():.3f}-{per_km[sel].max():.3f}/100 km/yr "
            f"({sel.sum()} branches)"
        )
    return {
        "lambda_oh_per_km": float(oh["lambda_perm"]) / 100,
        "lambda_ug_per_km": float(ug["lambda_perm"]) / 100,
        "repair_oh_h": float(oh["r_perm"]),
        "repair_ug_h": float(ug["r_perm"]),
        "sectioning_h": float(rel["sectioning_time"].median()),
        "temporary_oh_per_km": float(oh["lambda_temp"]) / 100,
    }


def eia(data: Path) -> pd.DataFrame:
    """Utility-year SAIFI and CAIDI [h] (IEEE, without major event days), 2014-2017."""
    raw = pd.read_csv(data / EIA, encoding="latin-1", low_memory=False)
    raw = raw[raw["Year"].isin(EIA_YEARS)]
    saifi = pd.to_numeric(raw["IEEE SAIFI Excluding MED"], errors="coerce")
    saidi = pd.to_numeric(raw["IEEE SAIDI Excluding MED"], errors="coerce")
    ok = (saifi > 0) & (saidi > 0)
    return pd.DataFrame({"saifi": saifi[ok], "caidi_h": saidi[ok] / saifi[ok] / 60.0})


def smartds_feeders(data: Path) -> list[tuple[str, object, np.ndarray]]:
    """(name, feeder, overhead mask per bus) of the SMART-DS feeders."""
    out = []
    for system, master, loads_file in FEEDERS:
        circuit = read_circuit(data / master, loads_file=loads_file)
        dss = compile_master(data / master, loads_file=loads_file)
        codes = {}
        index = dss.Lines.First()
        while index > 0:
            codes[dss.Lines.Name().lower()] = dss.Lines.LineCode().lower()
            index = dss.Lines.Next()
        overhead = np.zeros(circuit.feeder.n_buses, dtype=bool)
        for line, bus in zip(circuit.line_id, circuit.line_bus):
            overhead[bus] = "_oh_" in codes.get(str(line).lower(), "")
        out.append((system, circuit.feeder, overhead))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / "data")
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=Path(bayesgrid_plugins.__file__).parent / "data" / "posteriors",
    )
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    base = cineldi(args.data)
    utilities = eia(args.data)
    log_saifi, log_caidi = np.log(utilities["saifi"]), np.log(utilities["caidi_h"])
    eia_stats = {
        "rows": len(utilities),
        "saifi_median": float(utilities["saifi"].median()),
        "saifi_iqr": [float(utilities["saifi"].quantile(q)) for q in (0.25, 0.75)],
        "caidi_h_median": float(utilities["caidi_h"].median()),
        "caidi_h_iqr": [float(utilities["caidi_h"].quantile(q)) for q in (0.25, 0.75)],
        "saifi_log_sd": float(log_saifi.std()),
        "caidi_log_sd": float(log_caidi.std()),
        "log_correlation": float(np.corrcoef(log_saifi, log_caidi)[0, 1]),
    }
    print(f"EIA-861 {EIA_YEARS[0]}-{EIA_YEARS[-1]}: {eia_stats}")

    feeders = smartds_feeders(args.data)
    ci = cmi = cust = 0.0
    for system, feeder, overhead in feeders:
        rate = np.where(overhead, base["lambda_oh_per_km"], base["lambda_ug_per_km"])[np.newaxis]
        repair = np.where(overhead, base["repair_oh_h"], base["repair_ug_h"])[np.newaxis]
        res = reliability_indices(
            feeder,
            rate,
            repair,
            base["sectioning_h"],
            customers=feeder.is_load.astype(float),
            rng=0,
        )
        c = res.customers[0]
        ci += float((c * res.frequency[0]).sum())
        cmi += float((c * res.duration_h[0]).sum())
        cust += float(c.sum())
        lines = feeder.lines
        print(
            f"{system}: {feeder.n_buses} buses, {feeder.length_km[lines].sum():.1f} km "
            f"({feeder.length_km[lines][overhead[lines]].sum():.1f} km overhead), "
            f"CINELDI SAIFI {res.expected['saifi'][0]:.4f}, "
            f"CAIDI {res.expected['caidi_h'][0]:.2f} h"
        )
    saifi0, caidi0 = ci / cust, cmi / ci
    rate_scale = eia_stats["saifi_median"] / saifi0
    repair_scale = eia_stats["caidi_h_median"] / caidi0
    print(
        f"pooled CINELDI SAIFI {saifi0:.4f}, CAIDI {caidi0:.2f} h -> scales "
        f"{rate_scale:.2f}, {repair_scale:.3f}"
    )

    gen = np.random.default_rng(SEED)
    m = rate_scale * np.exp(eia_stats["saifi_log_sd"] * gen.standard_normal(N_DRAWS))
    c = repair_scale * np.exp(eia_stats["caidi_log_sd"] * gen.standard_normal(N_DRAWS))
    created = pd.Timestamp.today().date().isoformat()
    common = {
        "created": created,
        "bayesgrid_version": bayesgrid_plugins.__version__,
        "script": "scripts/compute_default_reliability_parameters.py",
    }
    failure = FailureParameters(
        lambda_oh_per_km=base["lambda_oh_per_km"] * m,
        lambda_ug_per_km=base["lambda_ug_per_km"] * m,
        repair_oh_h=base["repair_oh_h"] * c,
        repair_ug_h=base["repair_ug_h"] * c,
        sectioning_h=np.full(N_DRAWS, base["sectioning_h"]),
        repair_shape=2.0,
        line_shape=4.0,
        provenance={
            **common,
            "id": "reliability-failure-cineldi-eia-v1",
            "data_source": (
                "CINELDI MV reference system v2023-03-06 (SINTEF, CC BY 4.0, doi "
                "10.5281/zenodo.7703070): permanent failure rates and outage times by line kind; "
                "EIA-861 utility reliability 2014-2017 (US public domain, via llavin13/PDS_Final "
                "@59b6a46); SMART-DS feeders (NREL, CC BY 4.0): " + SOURCES
            ),
            "method": (
                "empirical Bayes: CINELDI rates and repair times times log-normal scale factors "
                "whose medians match the EIA medians of SAIFI and CAIDI on the SMART-DS feeders "
                "(path model) and whose log-sds are the EIA log-sds across utilities"
            ),
            "licence": "derived from CC BY 4.0 (CINELDI, SMART-DS) and public-domain (EIA) data",
            "cineldi": base,
            "eia": eia_stats,
            "smartds_pooled_cineldi_saifi": saifi0,
            "smartds_pooled_cineldi_caidi_h": caidi0,
            "rate_scale_median": rate_scale,
            "repair_scale_median": repair_scale,
            "assumptions": (
                "repair time per failure Gamma(shape 2); per-line rate factor Gamma(4, 1/4); "
                "sectioning time fixed at the CINELDI value; temporary failures (CINELDI "
                "r_temp 0.02 h) are momentary and not counted (IEEE 1366 sustained > 5 min)"
            ),
        },
    )
    failure.save(args.out_dir / DEFAULT_FAILURE_PARAMETERS, overwrite=args.overwrite)

    model = ReliabilityModel(failure)
    frames = []
    for k, (system, feeder, overhead) in enumerate(feeders):
        res = model.run(feeder, 40, rng=SEED + k, overhead=overhead)
        table = res.interruption_table(feeder)
        table["system"] = system
        frames.append(table)
    table = pd.concat(frames, ignore_index=True)
    n_zones = feeders[0][1].n_zones
    shared = {
        **common,
        "data_source": (
            "sampled years of the physical reliability model (reliability-failure-cineldi-eia-v1) "
            "on the SMART-DS feeders, 40 per feeder: " + SOURCES
        ),
        "rows": len(table),
    }
    freq = count_frequency_parameters(
        table, n_zones=n_zones, rng=SEED, provenance={**shared, "id": "frequency-smartds-v1"}
    )
    freq.save(args.out_dir / DEFAULT_FREQUENCY_PARAMETERS, overwrite=args.overwrite)
    dur = count_duration_parameters(
        table, n_zones=n_zones, rng=SEED, provenance={**shared, "id": "duration-smartds-v1"}
    )
    dur.save(args.out_dir / DEFAULT_DURATION_PARAMETERS, overwrite=args.overwrite)
    print("frequency mu by zone:", freq.mu.mean(axis=0).round(3).tolist(), "shape", freq.shape[0])
    print("duration p_zero:", dur.p_zero.mean(axis=0).round(3).tolist())
    print("duration CAIDI median h:", np.exp(dur.mu_log.mean(axis=0)).round(2).tolist())
    print(f"wrote {args.out_dir}")


if __name__ == "__main__":
    main()
