"""Reproduce the paper's Fig. 4: per-phase active power under a balanced and an unbalanced scenario.

For each scenario (balanced: mean phase shares 1/3 each; unbalanced: 0.1, 0.6, 0.3) the script
samples 1000 realisations of a real pandapower net's loads with each bus's total P and Q kept
(:func:`bayesgrid_plugins.models.conditioned.sample_conditioned`), and plots, per phase, the
distribution over realisations of the total active power of the single-phase loads on that phase,
with the mean and the value the scenario asks for (share x mean single-phase total).

Run: ``python scripts/figure_scenarios.py [--net lv_schutterwald.json] [-n 1000]
[--out fig_scenarios.png] [--seed 2025]``. Prints the mean per-phase P and share per scenario.
"""

from __future__ import annotations

import argparse
import logging
import os
import warnings
from pathlib import Path

import numpy as np

#: The shared real data beside the checkout (override with BAYESGRID_SHARED_DATA).
SHARED_DATA = Path(
    os.environ.get("BAYESGRID_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)

NETS = Path(f"{SHARED_DATA}/feeders/pandapower")
COLOURS = ("#1b9e77", "#d95f02", "#7570b3")


def sample(net_path: Path, scenario: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-phase single-phase P [kW] (n, 3) and all-load P [kW] (n, 3) for one scenario."""
    import pandapower as pp

    from bayesgrid_plugins.models.conditioned import sample_conditioned
    from bayesgrid_plugins.phases import n_phases
    from bayesgrid_plugins.scenarios import scenario_parameters
    from pandapower_ext.unbalance import bus_load_totals, unbalance_feeder

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        net = pp.from_json(str(net_path))
    feeder, info = unbalance_feeder(net)
    totals = bus_load_totals(net).reindex(feeder.bus_id.astype(np.int64)).fillna(0.0)
    ens = sample_conditioned(
        feeder,
        totals["p_kw"].to_numpy(),
        totals["q_kvar"].to_numpy(),
        n,
        model=scenario_parameters(scenario=scenario),
        rng=seed,
        three_phase=info.three_phase,
    )
    single = n_phases(ens.load_phases) == 1
    return (ens.p_kw * single[..., None]).sum(axis=1), ens.p_kw.sum(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--net", type=Path, default=NETS / "lv_schutterwald.json")
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--out", type=Path, default=Path("fig_scenarios.png"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bayesgrid_plugins.scenarios import SCENARIOS

    scenarios = ("balanced", "unbalanced")
    results = {s: sample(args.net, s, args.n, args.seed + i) for i, s in enumerate(scenarios)}
    low = min(r[0].min() for r in results.values())
    high = max(r[0].max() for r in results.values())
    bins = np.linspace(low, high, 90)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, scenario in zip(axes, scenarios):
        single, _ = results[scenario]
        target = np.asarray(SCENARIOS[scenario]) * single.sum(axis=1).mean()
        for j, phase in enumerate("ABC"):
            ax.hist(single[:, j], bins=bins, alpha=0.55, color=COLOURS[j], label=f"phase {phase}")
            ax.axvline(single[:, j].mean(), color=COLOURS[j], lw=1.8)
            ax.axvline(target[j], color="k", lw=0.9, ls="--")
        shares = ", ".join(f"{s:.2g}" for s in SCENARIOS[scenario])
        ax.set_title(f"{scenario} scenario (shares {shares})")
        ax.set_xlabel("active power of single-phase loads per phase [kW]")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"realisations (of {args.n})")
    axes[0].legend(title="solid: mean; dashed: input", fontsize=8, title_fontsize=8)
    fig.suptitle(
        f"{args.net.stem}: {args.n} realisations per scenario, each bus's total P and Q kept"
    )
    fig.tight_layout()
    fig.savefig(args.out, dpi=130)
    for scenario in scenarios:
        single, total = results[scenario]
        share = single.mean(axis=0) / single.sum(axis=1).mean()
        print(
            f"{scenario:>10}: single-phase P per phase mean "
            f"{np.round(single.mean(axis=0), 1).tolist()} kW, share {np.round(share, 4).tolist()} "
            f"(input {list(SCENARIOS[scenario])}); all loads {np.round(total.mean(0), 1).tolist()}"
        )
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
