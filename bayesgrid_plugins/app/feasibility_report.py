"""Feasibility in the run's report: the summary's section and its two figures.

``summary.md`` lists the infeasible realisations by index with what each violates
(:meth:`bayesgrid_plugins.feasibility.Feasibility.summary`); two figures show the distribution
of line loading over every line and realisation, and voltage against distance from the
substation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..feeder import Feeder
from .figures import HIST, save_png

__all__ = [
    "feasibility_markdown",
    "plot_line_loading",
    "plot_voltage_profile",
    "write_feasibility_figures",
]


def _num(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def feasibility_markdown(summary: dict[str, Any]) -> list[str]:
    """Lines of the feasibility section of ``summary.md`` (empty without a power flow)."""
    feas = summary.get("feasibility")
    planning = summary.get("planning")
    lines: list[str] = []
    if planning:
        lines += [
            "## Planning",
            "",
            f"Conductors and transformers sized to each realisation's demand (margin "
            f"{planning.get('margin')}), feeders split at {planning.get('max_feeder_kw')} kW / "
            f"{planning.get('max_feeder_km')} km, substation tap and conductor upgrades for "
            f"voltage ({planning.get('voltage_rounds', 0)} rounds, "
            f"{planning.get('path_upgrades', 0)} path upgrades). `--no-planning` switches it "
            "off.",
            "",
        ]
    elif "planning" in summary:
        lines += ["## Planning", "", "Not planned (`--no-planning`).", ""]
    if not feas:
        return lines
    lines += [
        "## Feasibility",
        "",
        f"Feasible: {feas['feasible']} of {feas['realisations']} realisations (converged "
        f"{feas['converged']}; voltages within MV {feas['mv_limits_pu'][0]}-"
        f"{feas['mv_limits_pu'][1]} p.u. and LV {feas['lv_limits_pu'][0]}-"
        f"{feas['lv_limits_pu'][1]} p.u.: {feas['voltage_ok']}; no line or transformer above "
        f"{feas['max_loading_percent']:.0f} %: {feas['loading_ok']}).",
        "",
    ]
    if feas["infeasible"]:
        lines += ["| realisation | violated |", "|---|---|"]
        for rec in feas["infeasible"]:
            lines.append(f"| {rec['realisation']} | {'; '.join(rec['violations'])} |")
        if feas["infeasible_more"]:
            lines.append(f"| ... | and {feas['infeasible_more']} more |")
        lines.append("")
    lines += [
        "Figures: `line_loading.png` (loading of every line over the realisations), "
        "`voltage_profile.png` (voltage against distance from the substation).",
        "",
    ]
    return lines


def plot_line_loading(result: Any) -> Any:
    """Histogram of line loading [%] over every line and converged realisation."""
    from matplotlib.figure import Figure

    ok = np.asarray(result.converged, dtype=bool)
    loading = np.asarray(result.line_loading_percent, dtype=float)[ok].ravel()
    loading = loading[np.isfinite(loading)]
    fig = Figure(figsize=(6, 3.6))
    ax = fig.add_subplot()
    if loading.size:
        ax.hist(loading, bins=60, **HIST, color="tab:blue", alpha=0.8)
        worst = np.fmax.reduce(np.asarray(result.line_loading_percent)[ok], axis=1)
        ax.set_title(
            f"Line loading, {int(ok.sum())} realisations: median of the highest "
            f"{np.nanmedian(worst):.0f} %, max {np.nanmax(worst):.0f} %",
            fontsize=9,
        )
    ax.axvline(100.0, color="tab:red", linestyle="--", label="rating")
    ax.set_xlabel("loading [%]")
    ax.set_ylabel("lines x realisations")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.14, top=0.9)
    return fig


def plot_voltage_profile(
    feeder: Feeder, result: Any, *, limits: tuple[float, float] | None = None
) -> Any:
    """Lowest phase voltage of every bus against its distance from the substation.

    The median and the 5th-95th percentile band over buses and converged realisations in 40
    bins of distance; the realisation with the lowest voltage is drawn as points.
    """
    from matplotlib.figure import Figure

    ok = np.asarray(result.converged, dtype=bool)
    fig = Figure(figsize=(6, 3.6))
    ax = fig.add_subplot()
    if ok.any():
        vm = np.asarray(result.vm_pu, dtype=float)[ok]
        finite = np.isfinite(vm)
        v = np.where(finite, vm, np.inf).min(axis=2)
        v[~finite.any(axis=2)] = np.nan
        dist = np.asarray(feeder.distance_km)
        edges = np.linspace(0.0, max(float(dist.max()), 1e-9), 41)
        which = np.clip(np.searchsorted(edges, dist, side="right") - 1, 0, 39)
        centre, lo, mid, hi = [], [], [], []
        for j in range(40):
            vals = v[:, which == j].ravel()
            vals = vals[np.isfinite(vals)]
            if vals.size:
                centre.append((edges[j] + edges[j + 1]) / 2)
                q = np.percentile(vals, [5, 50, 95])
                lo.append(q[0])
                mid.append(q[1])
                hi.append(q[2])
        ax.fill_between(
            centre, lo, hi, color="tab:blue", alpha=0.25, label="5-95 % (buses x realisations)"
        )
        ax.plot(centre, mid, color="tab:blue", label="median")
        worst = int(np.nanargmin(np.nanmin(v, axis=1)))
        ax.plot(
            dist,
            v[worst],
            ".",
            ms=2,
            color="tab:red",
            label=f"lowest realisation ({int(np.asarray(result.realisations)[ok][worst])})",
        )
    lv = np.asarray(feeder.vn_kv) <= 1.0
    band = limits or ((0.90, 1.10) if lv.all() else (0.95, 1.05))
    for y in band:
        ax.axhline(y, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("distance from the substation [km]")
    ax.set_ylabel("lowest phase voltage [p.u.]")
    ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.14, top=0.95)
    return fig


def write_feasibility_figures(folder: Path, feeder: Feeder, result: Any) -> list[Path]:
    """Write ``line_loading.png`` and ``voltage_profile.png`` into ``folder``."""
    return [
        save_png(plot_line_loading(result), Path(folder) / "line_loading.png"),
        save_png(plot_voltage_profile(feeder, result), Path(folder) / "voltage_profile.png"),
    ]
