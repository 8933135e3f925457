"""Skill of the power model on real feeders: self-reproduction and leave-one-feeder-out.

Reads every shared real feeder (SMART-DS Austin and Greensboro, EPRI ckt5 and ckt7, IEEE 8500,
IEEE 123, 13, 34, 37, the IEEE European LV test feeder at its daily mean load), then:

1. **self-reproduction**: each feeder trained alone (the closed-form learner of
   ``bayesgrid train --conjugate``) and sampled on its own topology; the targets are the mean
   phase totals within 10 %, p3 and the phase shares within 0.02, the median max/mean phase
   total within 0.05 of the real one;
2. **leave one feeder out**: trained on all the others, sampled on the held-out topology; the
   model's balance wins are set beside those of point predictions that read the other feeders'
   real max/mean (`app.validation.balance_reach`).

Every table shows the model beside two baselines: ``pooled`` (the paper's model, one truncated
normal of P for all loads, independent phases) and ``constant`` (every load the training mean
P, phases A, B, C in turn). Wins and losses are both printed.

Run: ``python benchmarks/bench_validation.py [-n 200] [--seed 0] [--data ../shared/data]
[--out docs/figures/validation]``; writes ``bench_validation.md`` and ``.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
TST = "feeders/electricdss-tst/Version8/Distrib"
AUSTIN = "feeders/smart-ds-disco/tests/data/smart-ds/substations"
GSO = "feeders/smart-ds-gso-greenevt/data/open_dss/uhs0_1247"
FEEDERS = {
    "SMART-DS Austin p1udt21301": (
        f"{AUSTIN}/p1uhs23_1247/p1uhs23_1247--p1udt21301/Master.dss",
        None,
    ),
    "SMART-DS Austin p1udt5257": (
        f"{AUSTIN}/p1uhs21_1247/p1uhs21_1247--p1udt5257/Master.dss",
        None,
    ),
    "SMART-DS Greensboro udt12274": (f"{GSO}/uhs0_1247--udt12274/Master.dss", "Loads_original.dss"),
    "SMART-DS Greensboro udt14717": (f"{GSO}/uhs0_1247--udt14717/Master.dss", "Loads_original.dss"),
    "SMART-DS Greensboro udt16115": (f"{GSO}/uhs0_1247--udt16115/Master.dss", "Loads_original.dss"),
    "EPRI ckt5": (f"{TST}/EPRITestCircuits/ckt5/Master_ckt5.dss", None),
    "EPRI ckt7": (f"{TST}/EPRITestCircuits/ckt7/Master_ckt7.dss", None),
    "IEEE 8500": (f"{TST}/IEEETestCases/8500-Node/Master.dss", None),
    "IEEE 123": (f"{TST}/IEEETestCases/123Bus/IEEE123Master.dss", None),
    "IEEE 13": (f"{TST}/IEEETestCases/13Bus/IEEE13Nodeckt.dss", None),
    "IEEE 34": (f"{TST}/IEEETestCases/34Bus/ieee34Mod1.dss", None),
    "IEEE 37": (f"{TST}/IEEETestCases/37Bus/ieee37.dss", None),
}
#: Feeders without two single-phase loads: the single-phase P cannot be fitted on them alone.
NO_SELF_FIT = ("IEEE 37",)


def read_feeders(data: Path) -> dict:
    """Every shared real feeder, and the European LV feeder at its daily mean load."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from paper_tables import daily_mean_net

    from bayesgrid_plugins.app.validation import load_real_feeder

    reals = {}
    for name, (rel, loads_file) in FEEDERS.items():
        path = data / rel
        if not path.is_file():
            print(f"skipped {name}: {path} missing")
            continue
        reals[name] = load_real_feeder(path, name=name, loads_file=loads_file)
    reals["European LV (daily mean)"] = load_real_feeder(
        daily_mean_net(data), name="European LV (daily mean)"
    )
    return reals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="realisations per feeder (200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures" / "validation")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # third-party deprecation noise in a benchmark's output
    logging.basicConfig(level=logging.WARNING)

    from bayesgrid_plugins.app.validation.balance_reach import (
        table_balance_reach,
        table_win_windows,
    )
    from bayesgrid_plugins.app.validation.real import real_ensemble
    from bayesgrid_plugins.app.validation.skill import (
        leave_one_out,
        self_reproduction,
        table_sampling_errors,
        table_scores,
        table_self_reproduction,
    )
    from bayesgrid_plugins.fileio import atomic_write_text

    start = time.perf_counter()
    reals = read_feeders(args.data)
    print(f"read {len(reals)} feeders in {time.perf_counter() - start:.1f} s")
    md = [f"# Skill on real feeders ({args.n} realisations, seed {args.seed})\n"]

    from bayesgrid_plugins.app.validation.tables import render
    from bayesgrid_plugins.learn.balance import learn_balance

    rows = []
    n_loads = {}
    for name, real in reals.items():
        fit = learn_balance(real.table, seed=args.seed)
        n_loads[name] = fit.n_loads[name]
        sizes = fit.lateral_sizes.get(name) or [0]
        rows.append(
            [
                name,
                f"{fit.real_ratio[name]:.3f}",
                "/".join(f"{v:.3f}" for v in fit.shares[name]),
                "/".join(f"{v:.3f}" for v in fit.counts[name]),
                f"{fit.eps[name]:.2f}",
                f"{fit.simulated_ratio[name]:.3f}",
                f"{len(fit.lateral_sizes.get(name, []))}",
                f"{sorted(sizes)[len(sizes) // 2]} / {max(sizes)}",
                f"{fit.lateral_max_loads:.0f}",
            ]
        )
    balance_table = render(
        [
            "Feeder",
            "Real max/mean",
            "Target shares of P A/B/C",
            "Single-phase counts A/B/C",
            "Learned eps",
            "Simulated median",
            "1-ph laterals",
            "Lateral size median / max",
            "lateral_max_loads",
        ],
        rows,
        "markdown",
    )

    t0 = time.perf_counter()
    own = {k: v for k, v in reals.items() if k not in NO_SELF_FIT}
    selfrep = self_reproduction(own, n=args.n, seed=args.seed)
    t_self = time.perf_counter() - t0
    t0 = time.perf_counter()
    lofo = leave_one_out(reals, n=args.n, seed=args.seed)
    t_lofo = time.perf_counter() - t0

    sections = [
        ("Phase balance learned on each feeder alone", balance_table),
        (
            "Self-reproduction: the model against the targets",
            table_self_reproduction(selfrep, fmt="markdown"),
        ),
        (
            "Self-reproduction: sampling error of each target on the real feeder",
            table_sampling_errors({k: real_ensemble(v) for k, v in own.items()}, fmt="markdown"),
        ),
        ("Self-reproduction: model / pooled / constant", table_scores(selfrep, fmt="markdown")),
        ("Leave one feeder out: model / pooled / constant", table_scores(lofo, fmt="markdown")),
        (
            "Leave one feeder out: the max/mean window that beats both baselines",
            table_win_windows(lofo, n_loads, fmt="markdown"),
        ),
        (
            "Leave one feeder out: balance wins of the model and of predictions that read the "
            "other feeders' real max/mean",
            table_balance_reach(lofo, n_loads, fmt="markdown"),
        ),
    ]
    for title, text in sections:
        md.append(f"## {title}\n\n{text}\n")
        print(f"\n== {title}\n{text}")
    met = {k: all(v["model"].meets().values()) for k, v in selfrep.items()}
    summary = (
        f"self-reproduction: all four targets met on {sum(met.values())} of {len(met)} feeders "
        f"({t_self:.1f} s); leave one out: {len(lofo)} folds ({t_lofo:.1f} s)"
    )
    md.append(summary + "\n")
    print("\n" + summary)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "bench_validation.md", "\n".join(md), overwrite=True)
    payload = {
        "n": args.n,
        "seed": args.seed,
        "self_reproduction": {
            k: {m: s.as_dict() for m, s in v.items()} for k, v in selfrep.items()
        },
        "leave_one_out": {k: {m: s.as_dict() for m, s in v.items()} for k, v in lofo.items()},
        "seconds": {"self_reproduction": round(t_self, 1), "leave_one_out": round(t_lofo, 1)},
    }
    atomic_write_text(
        args.out / "bench_validation.json", json.dumps(payload, indent=1) + "\n", overwrite=True
    )


if __name__ == "__main__":
    main()
