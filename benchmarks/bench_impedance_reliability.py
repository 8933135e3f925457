"""Benchmark: impedance and reliability sampling; SAIFI / CAIDI of OSM feeders vs EIA-861.

1. Time to sample impedances and reliability for 1000 realisations on a 1000-bus random tree
   (best of ``--repeat``).
2. Over an ensemble of OpenStreetMap feeders (the shipped Monaco extract, several centres and
   radii), the distribution of SAIFI and CAIDI (sampled years and expectations, default
   posterior, path model) side by side with the distribution across US utilities in EIA-861
   (2014-2017, IEEE, without major event days): median and interquartile range.

Usage::

    python benchmarks/bench_impedance_reliability.py [--repeat 3] [--realisations 200]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.models.impedance import BayesianImpedanceModel
from bayesgrid_plugins.models.power import BayesianPowerModel
from bayesgrid_plugins.models.reliability import ReliabilityModel

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
#: (lat, lon) centres in Monaco and radii [m] of the OSM feeders.
AREAS = [
    ((43.7384, 7.4246), 500),
    ((43.7384, 7.4246), 900),
    ((43.7311, 7.4197), 600),
    ((43.7440, 7.4300), 600),
    ((43.7270, 7.4150), 500),
    ((43.7480, 7.4350), 700),
]


def random_tree(n_buses: int, seed: int = 0) -> Feeder:
    rng = np.random.default_rng(seed)
    parent = np.full(n_buses, -1)
    parent[1:] = [rng.integers(max(0, i - 20), i) for i in range(1, n_buses)]
    return Feeder(
        bus_id=[f"b{i}" for i in range(n_buses)],
        parent=parent,
        length_km=rng.uniform(0.02, 0.08, n_buses),
        vn_kv=13.8,
    )


def quartiles(values: np.ndarray) -> str:
    q25, q50, q75 = np.nanpercentile(values, [25, 50, 75])
    return f"{q50:7.3f}  [{q25:6.3f}, {q75:6.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--realisations", type=int, default=200)
    args = parser.parse_args()

    feeder = random_tree(1000)
    ens = BayesianPowerModel().sample(feeder, 1000, rng=0)
    imp, rel = BayesianImpedanceModel(), ReliabilityModel()
    t_imp, t_rel = [], []
    for k in range(args.repeat):
        t0 = time.perf_counter()
        out = imp.sample(feeder, 1000, rng=k, ensemble=ens)
        t1 = time.perf_counter()
        rel.run(feeder, 1000, rng=k, ensemble=out)
        t2 = time.perf_counter()
        t_imp.append(t1 - t0)
        t_rel.append(t2 - t1)
    print(f"1000 realisations x {feeder.n_buses} buses (best of {args.repeat}):")
    print(f"  impedance   {min(t_imp):.3f} s  (median {np.median(t_imp):.3f} s)")
    print(f"  reliability {min(t_rel):.3f} s  (median {np.median(t_rel):.3f} s)")

    from bayesgrid_plugins.topology import feeder_from_osm

    saifi, caidi, saifi_e, caidi_e, rows = [], [], [], [], []
    for k, (point, dist) in enumerate(AREAS):
        t0 = time.perf_counter()
        fd = feeder_from_osm(point=point, dist_m=dist).feeder
        built = time.perf_counter() - t0
        ens = imp.sample(fd, args.realisations, rng=100 + k)
        res = rel.run(fd, args.realisations, rng=200 + k, ensemble=ens)
        saifi.append(res.sampled["saifi"])
        caidi.append(res.sampled["caidi_h"])
        saifi_e.append(res.expected["saifi"])
        caidi_e.append(res.expected["caidi_h"])
        rows.append(
            (
                k,
                fd.n_buses,
                fd.length_km.sum(),
                fd.distance_km.max(),
                np.median(res.expected["saifi"]),
                built,
            )
        )
    print("\nOSM feeders (Monaco extract):")
    for k, n_b, km, reach, s, built in rows:
        print(
            f"  #{k}: {n_b} buses, {km:.1f} km of line, farthest bus {reach:.2f} km, "
            f"median expected SAIFI {s:.3f} (built in {built:.1f} s)"
        )

    utilities = pd.read_csv(
        DATA / "reliability/llavin13_EIAReliabilityData.csv", encoding="latin-1", low_memory=False
    )
    utilities = utilities[utilities["Year"].isin((2014, 2015, 2016, 2017))]
    s = pd.to_numeric(utilities["IEEE SAIFI Excluding MED"], errors="coerce")
    d = pd.to_numeric(utilities["IEEE SAIDI Excluding MED"], errors="coerce")
    ok = (s > 0) & (d > 0)
    eia_saifi, eia_caidi = s[ok].to_numpy(), (d[ok] / s[ok]).to_numpy() / 60
    n_real = len(AREAS) * args.realisations
    print(f"\n{'':34s} median   [q25, q75]")
    print(f"SAIFI EIA-861 ({ok.sum()} utility-years)  {quartiles(eia_saifi)}")
    print(f"SAIFI OSM, sampled year ({n_real})      {quartiles(np.concatenate(saifi))}")
    print(f"SAIFI OSM, expected ({n_real})          {quartiles(np.concatenate(saifi_e))}")
    print(f"CAIDI [h] EIA-861                   {quartiles(eia_caidi)}")
    print(f"CAIDI [h] OSM, sampled year         {quartiles(np.concatenate(caidi))}")
    print(f"CAIDI [h] OSM, expected             {quartiles(np.concatenate(caidi_e))}")
    no_interruption = np.mean(np.isnan(np.concatenate(caidi)))
    print(f"(sampled years without any interruption: {no_interruption:.1%}; CAIDI undefined there)")


if __name__ == "__main__":
    main()
