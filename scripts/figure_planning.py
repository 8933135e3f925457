"""Before/after figures of planning on the default feeder, for docs/planning.md.

Usage: ``python scripts/figure_planning.py [--n 50] [--seed 1] [--out docs/figures/planning]``.
Runs the default ``bayesgrid generate`` (OpenDSS) with and without planning and draws, side by
side, the highest line loading per realisation, the loading of every line, and the lowest
voltage against distance from the substation.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np


def main() -> None:
    from matplotlib.figure import Figure

    from bayesgrid_plugins.app.pipeline import GenerateConfig, generate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("docs/figures/planning"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for plan in (False, True):
            runs[plan] = generate(
                GenerateConfig(
                    n=args.n,
                    seed=args.seed,
                    formats=("npz",),
                    engine="opendss",
                    out=Path(tmp) / str(plan),
                    plan=plan,
                )
            )
    fig = Figure(figsize=(11, 7.5))
    axes = fig.subplots(2, 2)
    colours = {False: "tab:red", True: "tab:blue"}
    labels = {False: "unplanned (--no-planning)", True: "planned (default)"}
    facts = {}
    for plan, run in runs.items():
        feas, flow, feeder = run.feasibility, run.power_flow, run.feeder
        ok = feas.converged
        worst = feas.line_loading_percent[ok]
        axes[0, 0].hist(worst, bins=30, alpha=0.6, color=colours[plan], label=labels[plan])
        loading = flow.line_loading_percent[ok].ravel()
        loading = loading[np.isfinite(loading)]
        axes[0, 1].hist(
            loading, bins=80, alpha=0.6, color=colours[plan], label=labels[plan], log=True
        )
        vm = np.where(np.isfinite(flow.vm_pu[ok]), flow.vm_pu[ok], np.inf).min(axis=2)
        low = int(np.argmin(vm.min(axis=1)))
        ax = axes[1, int(plan)]
        ax.plot(feeder.distance_km, vm[low], ".", ms=2, color=colours[plan])
        for y in (0.95, 1.05):
            ax.axhline(y, color="grey", linestyle="--", linewidth=0.8)
        ax.set_title(
            f"{labels[plan]}: lowest-voltage realisation ({feeder.n_branches} feeders)",
            fontsize=9,
        )
        ax.set_xlabel("distance from the substation [km]")
        ax.set_ylabel("lowest phase voltage [p.u.]")
        facts[labels[plan]] = {
            "feeders": feeder.n_branches,
            "feasible": int(feas.feasible.sum()),
            "realisations": int(feas.realisations.size),
            "highest_line_loading_median_percent": float(np.median(worst)),
            "highest_line_loading_max_percent": float(worst.max()),
            "lowest_voltage_pu": float(np.nanmin(feas.vm_min_pu[:, 0])),
        }
    for ax in axes[0]:
        ax.axvline(100, color="black", linestyle="--", linewidth=0.8)
        ax.legend(fontsize=8)
        ax.set_xlabel("loading [%]")
    axes[0, 0].set_title("highest line loading per realisation", fontsize=9)
    axes[0, 0].set_ylabel("realisations")
    axes[0, 1].set_title("loading of every line, all realisations", fontsize=9)
    axes[0, 1].set_ylabel("lines x realisations")
    lo = min(a.get_ylim()[0] for a in axes[1])
    hi = max(a.get_ylim()[1] for a in axes[1])
    for a in axes[1]:
        a.set_ylim(lo, hi)
    fig.suptitle(
        f"Default bayesgrid generate (Monaco, {args.n} realisations, seed {args.seed}, OpenDSS)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(args.out / "before_after.png", dpi=100)
    (args.out / "before_after.json").write_text(json.dumps(facts, indent=2) + "\n")
    print(json.dumps(facts, indent=2))


if __name__ == "__main__":
    main()
