"""The summary of a generated ensemble: ``summary.json`` for programs, ``summary.md`` for people."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..ensemble import Ensemble
from ..fileio import atomic_write_text

__all__ = ["build_summary", "write_summary"]

#: Voltage bands [p.u.] reported: the usual operating band and the wider statutory one.
VOLTAGE_BANDS = ((0.95, 1.05), (0.90, 1.10))


def _stats(values: np.ndarray) -> dict[str, float]:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"mean": float("nan"), "sd": float("nan"), "p5": float("nan"), "p95": float("nan")}
    return {
        "mean": float(values.mean()),
        "sd": float(values.std(ddof=1)) if values.size > 1 else 0.0,
        "p5": float(np.percentile(values, 5)),
        "p95": float(np.percentile(values, 95)),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def power_flow_summary(result: Any) -> dict[str, Any]:
    """Convergence, voltage range per phase, violations and unbalance of a power-flow result."""
    converged = np.asarray(result.converged, dtype=bool)
    vm = np.asarray(result.vm_pu, dtype=float)[converged]
    phases = {}
    for k, name in enumerate("ABC"):
        v = vm[..., k]
        finite = v[np.isfinite(v)]
        phases[name] = {
            "min_pu": float(finite.min()) if finite.size else None,
            "max_pu": float(finite.max()) if finite.size else None,
            "mean_pu": float(finite.mean()) if finite.size else None,
        }
    low_high = {}
    with np.errstate(invalid="ignore"):
        v_min = np.nanmin(vm.reshape(len(vm), -1), axis=1) if len(vm) else np.array([])
        v_max = np.nanmax(vm.reshape(len(vm), -1), axis=1) if len(vm) else np.array([])
    for low, high in VOLTAGE_BANDS:
        outside = (v_min < low) | (v_max > high)
        low_high[f"{low:.2f}-{high:.2f}"] = {
            "realisations_outside": int(outside.sum()),
            "share_outside": float(outside.mean()) if outside.size else None,
        }
    vuf = np.asarray(getattr(result, "vuf_percent", np.full(len(converged), np.nan)))[converged]
    loading = np.asarray(getattr(result, "line_loading_percent", np.full((1, 1), np.nan)))
    loading = loading[converged] if loading.shape[0] == converged.size else loading
    max_loading = np.nanmax(loading, axis=1) if loading.size and np.isfinite(loading).any() else []
    return {
        "engine": str(getattr(result, "engine", "")),
        "realisations_solved": int(converged.size),
        "converged": int(converged.sum()),
        "convergence_rate": float(converged.mean()) if converged.size else None,
        "voltage_pu_by_phase": phases,
        "voltage_bands": low_high,
        "max_vuf_percent": _stats(vuf),
        "max_line_loading_percent": _stats(np.asarray(max_loading, dtype=float)),
    }


def reliability_summary(result: Any) -> dict[str, Any]:
    """System indices over the ensemble: expected (rates) and one sampled year."""
    out: dict[str, Any] = {
        "model": result.metadata.get("reliability_model"),
        "protection": result.metadata.get("protection"),
    }
    for kind in ("expected", "sampled"):
        indices = getattr(result, kind)
        out[kind] = {
            name: {
                "median": float(np.nanmedian(indices[name])),
                "q25": float(np.nanpercentile(indices[name], 25)),
                "q75": float(np.nanpercentile(indices[name], 75)),
            }
            for name in ("saifi", "saidi_h", "caifi", "caidi_h")
            if np.isfinite(indices[name]).any()
        }
    return out


def build_summary(
    config: Any,
    osm: Any,
    model: Any,
    ensemble: Ensemble,
    power_flow: Any,
    timings: dict[str, float],
    *,
    seed: int,
    reliability: Any = None,
) -> dict[str, Any]:
    """Everything a reader of the output folder wants to know, as plain data."""
    from .. import __version__

    feeder = osm.feeder
    totals = ensemble.phase_totals_kw()
    shares = ensemble.single_phase_shares()
    summary: dict[str, Any] = {
        "bayesgrid_version": __version__,
        "python": platform.python_version(),
        "inputs": {k: v for k, v in asdict(config).items()},
        "seed": seed,
        "place": {
            "source": osm.source,
            "substation_lat_lon": list(osm.substation),
            "attribution": osm.attribution,
        },
        "feeder": {
            "buses": feeder.n_buses,
            "loads": int(feeder.is_load.sum()),
            "lines": int(feeder.n_buses - 1),
            "branches": feeder.n_branches,
            "line_length_km": float(feeder.length_km.sum()),
            "longest_distance_km": float(feeder.distance_km.max()),
            "vn_kv": float(np.median(feeder.vn_kv)),
        },
        "power_model": {
            "provenance": model.parameters.provenance,
            "draws": model.parameters.n_draws,
        },
        "ensemble": {
            "realisations": len(ensemble),
            "total_p_kw_by_phase": {p: _stats(totals[:, k]) for k, p in enumerate("ABC")},
            "total_p_kw": _stats(totals.sum(axis=1)),
            "unbalance_max_over_mean": _stats(totals.max(axis=1) / totals.mean(axis=1)),
            "single_phase_share_by_phase": {p: _stats(shares[:, k]) for k, p in enumerate("ABC")},
            "three_phase_share": _stats(ensemble.three_phase_share()),
            "power_factor": _stats(ensemble.power_factor),
        },
        "power_flow": None if power_flow is None else power_flow_summary(power_flow),
        "reliability": None if reliability is None else reliability_summary(reliability),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    return _jsonable(summary)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _cross_check_line(check: dict[str, Any] | None) -> list[str]:
    if not check:
        return []
    if check["max_abs_diff_pu"] is None:
        return [
            f"Cross-check: {check['reference']} could not compare realisations "
            f"{check['realisations']} (none converged in both engines).",
            "",
        ]
    return [
        f"Cross-check: on realisations {check['realisations']}, the largest voltage difference "
        f"between {check['engine']} and {check['reference']} (phase accurate) is "
        f"{check['max_abs_diff_pu']:.2e} p.u.",
        "",
    ]


def _demand_lines(d: dict[str, Any] | None) -> list[str]:
    """The demand level, its country and its source, for the Markdown report."""
    if not d:
        return []
    t = d["feeder_total_kw"]
    lines = [
        "## Demand level",
        "",
        f"Country: {d['country_name']} ({d['country']}), found by {d['country_found_by']}.",
        f"Demand level: {_fmt(d['kw_per_customer'], 2)} kW per customer after diversity, "
        f"{_fmt(d['commercial_w_per_m2'], 1)} W/m2 of commercial floor area. "
        f"Source: {d['source']}.",
        f"Method: {d['method']}; {_fmt(d['customers'], 0)} customers, design peak "
        f"{_fmt(d['design_total_kw'], 0)} kW; sampler: {d['sampler']}.",
        f"Level uncertainty: CV {_fmt(d['level_cv'], 3)} ({d['level_cv_source']}); feeder total "
        f"over the realisations p5 {_fmt(t['p5'], 0)} / median {_fmt(t['median'], 0)} / p95 "
        f"{_fmt(t['p95'], 0)} kW (CV {_fmt(t['cv'], 3)}).",
    ]
    lines += [f"- note: {n}" for n in d.get("notes", [])]
    return [*lines, ""]


def to_markdown(summary: dict[str, Any]) -> str:
    """The summary as a short Markdown report."""
    f, e, pf = summary["feeder"], summary["ensemble"], summary["power_flow"]
    prov = summary["power_model"]["provenance"]
    lines = [
        "# bayesgrid ensemble",
        "",
        f"Place: {summary['place']['source']} (substation at "
        f"{_fmt(summary['place']['substation_lat_lon'][0], 5)}, "
        f"{_fmt(summary['place']['substation_lat_lon'][1], 5)}). "
        f"{summary['place']['attribution']}.",
        "",
        f"Feeder: {f['buses']} buses, {f['loads']} loads, {f['lines']} lines in "
        f"{f['branches']} branches, {_fmt(f['line_length_km'], 2)} km of line, farthest bus "
        f"{_fmt(f['longest_distance_km'], 2)} km from the substation, {_fmt(f['vn_kv'], 2)} kV.",
        "",
        f"Ensemble: {e['realisations']} realisations, seed {summary['seed']}. Power model "
        f"`{prov.get('id')}` ({prov.get('method')}; data: {prov.get('data_source')}).",
        "",
        *_demand_lines(summary.get("demand")),
        "## Demand per phase over the ensemble",
        "",
        "| phase | mean total P [kW] | sd | 5 % | 95 % | share of 1-phase loads |",
        "|---|---|---|---|---|---|",
    ]
    for p in "ABC":
        s = e["total_p_kw_by_phase"][p]
        share = e["single_phase_share_by_phase"][p]["mean"]
        lines.append(
            f"| {p} | {_fmt(s['mean'], 1)} | {_fmt(s['sd'], 1)} | {_fmt(s['p5'], 1)} | "
            f"{_fmt(s['p95'], 1)} | {_fmt(share)} |"
        )
    lines += [
        "",
        f"Three-phase loads: {_fmt(e['three_phase_share']['mean'])} of loads on average; "
        f"max/mean phase load: {_fmt(e['unbalance_max_over_mean']['mean'])}; "
        f"power factor {_fmt(e['power_factor']['mean'])} on average.",
        "",
    ]
    if pf is None:
        lines += ["No power flow was run (`--engine none`).", ""]
    else:
        lines += [
            f"## Power flow ({pf['engine']})",
            "",
            f"Converged: {pf['converged']} of {pf['realisations_solved']} realisations.",
            "",
            *_cross_check_line(pf.get("cross_check")),
            "| phase | min V [p.u.] | mean V | max V |",
            "|---|---|---|---|",
        ]
        for p in "ABC":
            v = pf["voltage_pu_by_phase"][p]
            lines.append(
                f"| {p} | {_fmt(v['min_pu'], 4)} | {_fmt(v['mean_pu'], 4)} | "
                f"{_fmt(v['max_pu'], 4)} |"
            )
        lines.append("")
        for band, outside in pf["voltage_bands"].items():
            lines.append(
                f"- Realisations with a voltage outside {band} p.u.: "
                f"{outside['realisations_outside']}"
            )
        lines += [
            f"- Largest voltage unbalance factor: {_fmt(pf['max_vuf_percent']['p95'], 2)} % "
            "(95th percentile over realisations)",
            f"- Highest line loading: {_fmt(pf['max_line_loading_percent']['p95'], 1)} % "
            "(95th percentile over realisations)",
            "",
        ]
    from .feasibility_report import feasibility_markdown

    lines += feasibility_markdown(summary)
    rel = summary.get("reliability")
    if rel:
        lines += [
            "## Reliability (IEEE 1366 indices per realisation)",
            "",
            f"Model `{rel['model']}`, protection: {rel['protection']}. Median and interquartile "
            "range over the realisations:",
            "",
            "| index | expected (from rates) | one sampled year |",
            "|---|---|---|",
        ]
        names = {
            "saifi": "SAIFI [1/yr]",
            "saidi_h": "SAIDI [h/yr]",
            "caifi": "CAIFI",
            "caidi_h": "CAIDI [h]",
        }
        for key, label in names.items():
            cells = []
            for kind in ("expected", "sampled"):
                v = rel[kind].get(key)
                cells.append(
                    "n/a"
                    if v is None
                    else f"{_fmt(v['median'])} ({_fmt(v['q25'])}-{_fmt(v['q75'])})"
                )
            lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
        lines.append("")
    lines += ["## Timings", ""]
    lines += [f"- {k}: {_fmt(v, 2)} s" for k, v in summary["timings_s"].items()]
    lines += ["", f"bayesgrid {summary['bayesgrid_version']}, Python {summary['python']}.", ""]
    return "\n".join(lines)


def write_summary(folder: Path, summary: dict[str, Any]) -> list[Path]:
    """Write ``summary.json`` and ``summary.md`` into ``folder`` atomically."""
    text = json.dumps(summary, indent=2, sort_keys=False, allow_nan=False) + "\n"
    return [
        atomic_write_text(folder / "summary.json", text, what="summary"),
        atomic_write_text(folder / "summary.md", to_markdown(summary), what="summary"),
    ]
