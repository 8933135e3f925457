"""The pictures of the main job (matplotlib, PNG, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..ensemble import Ensemble
from ..fileio import atomic_path

__all__ = ["plot_demand", "plot_voltages", "save_png", "write_figures"]

PHASE_COLOURS = {"A": "#d62728", "B": "#2ca02c", "C": "#1f77b4"}

# Histograms as one filled outline each, not one patch per bar, and fixed margins instead of
# a layout engine: each figure is drawn once, in about half the time.
HIST: dict[str, Any] = {"histtype": "stepfilled"}
ROW_OF_THREE = {"left": 0.05, "right": 0.99, "bottom": 0.14, "top": 0.86, "wspace": 0.22}


def plot_demand(ensemble: Ensemble) -> Any:
    """Histograms over the ensemble: total P per phase, single-phase shares, three-phase share."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 4))
    fig.subplots_adjust(**ROW_OF_THREE)
    axes = fig.subplots(1, 3)
    totals = ensemble.phase_totals_kw()
    shares = ensemble.single_phase_shares()
    bins = max(10, min(40, len(ensemble) // 5))
    for k, phase in enumerate("ABC"):
        colour = PHASE_COLOURS[phase]
        for ax, values in ((axes[0], totals[:, k]), (axes[1], shares[:, k])):
            ax.hist(values, bins=bins, **HIST, alpha=0.5, color=colour, label=f"phase {phase}")
    axes[0].set(
        xlabel="total active power of the phase [kW]",
        ylabel="realisations",
        title="Demand per phase",
    )
    axes[1].set(
        xlabel="share of single-phase loads on the phase",
        ylabel="realisations",
        title="Phase allocation",
    )
    axes[2].hist(ensemble.three_phase_share(), bins=bins, **HIST, color="0.4")
    axes[2].set(
        xlabel="share of loads that are three-phase",
        ylabel="realisations",
        title="Three-phase loads",
    )
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(5))
    for ax in axes[:2]:
        ax.legend()
    fig.suptitle(f"{len(ensemble)} realisations")
    return fig


def plot_voltages(result: Any) -> Any:
    """Distribution of bus voltages per phase over all converged realisations, with limits."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5))
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.12, top=0.86)
    ax = fig.subplots()
    vm = np.asarray(result.vm_pu)[np.asarray(result.converged, dtype=bool)]
    lows, highs = [], []
    for k, phase in enumerate("ABC"):
        v = vm[..., k].ravel()
        v = v[np.isfinite(v)]
        if v.size:
            ax.hist(
                v,
                bins=60,
                **HIST,
                alpha=0.5,
                color=PHASE_COLOURS[phase],
                label=f"phase {phase}",
                density=True,
            )
            lows.append(v.min())
            highs.append(v.max())
    lo, hi = (min(lows), max(highs)) if lows else (0.9, 1.1)
    pad = max(0.1 * (hi - lo), 0.002)
    ax.set_xlim(lo - pad, hi + pad)
    shown = []
    for limit, style in ((0.9, "-"), (1.1, "-"), (0.95, "--"), (1.05, "--")):
        if lo - pad <= limit <= hi + pad:  # draw a limit only where it is in view
            ax.axvline(limit, color="k", linestyle=style, linewidth=1)
            shown.append(f"{limit:.2f}")
    inside = (
        "all voltages within 0.95-1.05 p.u."
        if lows and lo >= 0.95 and hi <= 1.05
        else ("limits in view: " + ", ".join(shown) if shown else "")
    )
    ax.set(
        xlabel="bus voltage [p.u.]",
        ylabel="density",
        title=f"Bus voltages of {int(np.sum(result.converged))} converged realisations "
        f"({getattr(result, 'engine', '')})\n{inside}",
    )
    ax.legend()
    return fig


def save_png(fig: Any, path: Path) -> Path:
    """Write ``fig`` to ``path`` as a PNG (110 dpi), atomically; return ``path``."""
    with atomic_path(path, what="figure") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


def plot_reliability(result: Any) -> Any:
    """Histograms over the ensemble of SAIFI, SAIDI and CAIDI (expected and one sampled year)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 4))
    fig.subplots_adjust(**ROW_OF_THREE)
    axes = fig.subplots(1, 3)
    for ax, (key, label) in zip(
        axes,
        (
            ("saifi", "SAIFI [interruptions / customer / year]"),
            ("saidi_h", "SAIDI [h / customer / year]"),
            ("caidi_h", "CAIDI [h / interruption]"),
        ),
    ):
        for kind, colour in (("expected", "0.3"), ("sampled", "#ff7f0e")):
            values = np.asarray(getattr(result, kind)[key], dtype=float)
            values = values[np.isfinite(values)]
            if values.size:
                ax.hist(values, bins=30, **HIST, alpha=0.55, color=colour, label=f"{kind}")
        ax.set(xlabel=label, ylabel="realisations")
        ax.legend(title="per realisation")
    fig.suptitle(
        f"Reliability of {len(result.sampled['saifi'])} realisations "
        "(expected from failure rates; one sampled year)"
    )
    return fig


def write_figures(
    folder: Path, osm: Any, ensemble: Ensemble, power_flow: Any, reliability: Any = None
) -> list[Path]:
    """Write the feeder map, demand, voltage and reliability figures as PNGs."""
    from matplotlib.figure import Figure

    from ..topology import plot_feeder

    written = []
    fig = Figure(figsize=(10.5, 9))
    fig.subplots_adjust(left=0.02, right=0.80, bottom=0.02, top=0.95)  # legend on the right
    ax = fig.subplots()
    plot_feeder(
        osm, ensemble, realisation=0, ax=ax, title="Feeder coloured by phase set (realisation 0)"
    )
    written.append(save_png(fig, folder / "feeder_phases.png"))
    written.append(save_png(plot_demand(ensemble), folder / "demand.png"))
    if power_flow is not None:
        written.append(save_png(plot_voltages(power_flow), folder / "voltages.png"))
    if reliability is not None:
        written.append(save_png(plot_reliability(reliability), folder / "reliability.png"))
    return written
