"""Benchmark: the power model plus phase consistency, vectorised over realisations.

Prints realisations/s, bus-realisations/s and peak memory for 1000 realisations on the IEEE
European LV topology (906 buses, its 55 loads) and on random trees of 1,000 to 10,000 buses with
every bus a load, plus the import time of the core. Target: 1000 realisations of the European
LV feeder in under 0.2 s.

Usage::

    python benchmarks/bench_sampling.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.models.power import BayesianPowerModel

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "feeders" / "pandapower"


def european_lv() -> Feeder:
    import pandapower as pp

    from pandapower_ext.reader import feeder_from_net

    net = pp.from_json(str(DATA / "IEEE_European_LV_On_Peak_566.json"))
    return feeder_from_net(net)


def random_tree(n_buses: int, seed: int = 0) -> Feeder:
    rng = np.random.default_rng(seed)
    parent = (rng.random(n_buses) * np.arange(n_buses)).astype(np.int64)
    parent[0] = -1
    return Feeder(
        bus_id=np.arange(n_buses), parent=parent, length_km=rng.uniform(0.01, 0.1, n_buses)
    )


def measure(model: BayesianPowerModel, feeder: Feeder, n: int, repeat: int) -> tuple[float, float]:
    model.sample(feeder, n, rng=0)  # warm caches
    times = []
    for k in range(repeat):
        start = time.perf_counter()
        model.sample(feeder, n, rng=k)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    model.sample(feeder, n, rng=0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return float(np.median(times)), peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("-n", type=int, default=1000, help="realisations per run")
    args = parser.parse_args()
    model = BayesianPowerModel()
    cases = [("IEEE European LV", european_lv())]
    cases += [(f"random tree {b}", random_tree(b)) for b in (1_000, 3_000, 10_000)]
    print(
        f"{'feeder':<22}{'buses':>7}{'loads':>7}{'median s':>10}{'real/s':>10}"
        f"{'bus-real/s':>13}{'peak MiB':>10}"
    )
    for name, feeder in cases:
        seconds, peak = measure(model, feeder, args.n, args.repeat)
        print(
            f"{name:<22}{feeder.n_buses:>7}{feeder.load_buses.size:>7}{seconds:>10.4f}"
            f"{args.n / seconds:>10.0f}{args.n * feeder.n_buses / seconds:>13.3g}{peak:>10.1f}"
        )
    code = (
        "import time; t = time.perf_counter(); import bayesgrid_plugins; "
        "print(time.perf_counter() - t)"
    )
    runs = [float(subprocess.check_output([sys.executable, "-c", code])) for _ in range(3)]
    print(f"import bayesgrid_plugins: median {np.median(runs):.3f} s over 3 fresh processes")


if __name__ == "__main__":
    main()
