"""Feasibility of an ensemble: does every realisation solve, and how do its voltages look?

Per engine (pandapower ``runpp_3ph`` and OpenDSS): the share of realisations that converge, the
lowest and highest voltage per phase, the share of converged realisations whose voltages all stay
within limits (default 0.9-1.1 p.u.), the voltage unbalance factor ``|V2| / |V1|`` and the line
loading against ampacity.

How each engine sees the network:

- pandapower, with a real net: the net itself (its own lines, transformer and external grid),
  its loads replaced by the realisation's per-phase loads. Without a net: a net built from the
  feeder by the ``pandapower`` engine (transformers where the voltage level changes).
- OpenDSS: the feeder built phase-accurately by the ``opendss`` engine, with the
  real lines' sequence impedances and ampacities where the real feeder gives them (the
  adapter's default line type elsewhere). The OpenDSS builder draws lines only, so a feeder with
  several voltage levels is solved on the level most of its load buses sit on: a step-down
  transformer at the head becomes the source (the source bus above it is dropped), and the few
  buses of other levels further down (IEEE 123's bus 610 at 480 V) are taken at that level.
  The source keeps the real net's voltage set-point when there is a net (1.05 p.u. for the
  European LV net); regulators and capacitors of a real OpenDSS circuit are not modelled.

The engines are found by name through the plugin manager.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from ...ensemble import BUS_FIELDS, LINE_FIELDS, Ensemble
from ...equipment import DEFAULT_LV_LINE, DEFAULT_MV_LINE, LV_MAX_KV
from ...errors import ParameterError
from ...feeder import Feeder
from ...plugins import get_engine
from ...results import PowerFlowResult
from .real import RealFeeder

__all__ = [
    "ENGINES",
    "FeasibilityReport",
    "feasibility",
    "single_level",
    "solve_opendss",
    "solve_pandapower",
    "summarise",
]

logger = logging.getLogger(__name__)

#: Engines :func:`feasibility` knows.
ENGINES = ("pandapower", "opendss")


@dataclass(frozen=True, eq=False)
class FeasibilityReport:
    """Summary of a :class:`~bayesgrid_plugins.results.PowerFlowResult`.

    Attributes
    ----------
    engine : str
        ``"pandapower"`` or ``"opendss"``.
    n_realisations : int
        Realisations solved.
    converged_share : float
        Share that converged.
    vm_min_pu, vm_max_pu : ndarray, shape (3,)
        Lowest and highest voltage [p.u.] per phase A, B, C over the converged realisations.
    within_limits_share : float
        Share of converged realisations whose every voltage lies within ``v_limits``.
    v_limits : (float, float)
        The voltage limits [p.u.].
    vuf_max_percent, vuf_p95_percent : float
        Highest and 95th-percentile (over realisations) voltage unbalance factor [%].
    loading_max_percent : float
        Highest line loading [%] against ampacity over all realisations.
    overloaded_share : float
        Share of converged realisations with a line loaded above 100 %.
    seconds_per_realisation : float
        Mean solve time [s].
    """

    engine: str
    n_realisations: int
    converged_share: float
    vm_min_pu: np.ndarray
    vm_max_pu: np.ndarray
    within_limits_share: float
    v_limits: tuple[float, float]
    vuf_max_percent: float
    vuf_p95_percent: float
    loading_max_percent: float
    overloaded_share: float
    seconds_per_realisation: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""

        def num(v: Any) -> float | None:
            v = float(v)
            return round(v, 6) if np.isfinite(v) else None

        return {
            "engine": self.engine,
            "n_realisations": self.n_realisations,
            "converged_share": num(self.converged_share),
            "vm_min_pu": dict(zip("ABC", map(num, self.vm_min_pu), strict=True)),
            "vm_max_pu": dict(zip("ABC", map(num, self.vm_max_pu), strict=True)),
            "within_limits_share": num(self.within_limits_share),
            "v_limits": list(self.v_limits),
            "vuf_max_percent": num(self.vuf_max_percent),
            "vuf_p95_percent": num(self.vuf_p95_percent),
            "loading_max_percent": num(self.loading_max_percent),
            "overloaded_share": num(self.overloaded_share),
            "seconds_per_realisation": num(self.seconds_per_realisation),
        }


def _finite_max(values: np.ndarray) -> float:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.max()) if values.size else float("nan")


def summarise(
    result: PowerFlowResult, *, v_limits: tuple[float, float] = (0.9, 1.1)
) -> FeasibilityReport:
    """Summarise a power-flow result (see :class:`FeasibilityReport`)."""
    lo_lim, hi_lim = v_limits
    ok = np.asarray(result.converged, dtype=bool)
    n = result.n_realisations
    rng = result.voltage_range()
    within = np.zeros(n, dtype=bool)
    if ok.any():
        lo = np.fmin.reduce(result.vm_min_pu, axis=1)
        hi = np.fmax.reduce(result.vm_max_pu, axis=1)
        within = ok & (lo >= lo_lim) & (hi <= hi_lim)
    vuf = np.asarray(result.vuf_percent, dtype=float)[ok]
    vuf = vuf[np.isfinite(vuf)]
    loading = np.asarray(result.line_loading_percent, dtype=float)
    over = np.array([_finite_max(row) > 100.0 for row in loading]) & ok
    elapsed = result.elapsed_s
    return FeasibilityReport(
        engine=result.engine,
        n_realisations=n,
        converged_share=float(ok.mean()) if n else float("nan"),
        vm_min_pu=rng[0],
        vm_max_pu=rng[1],
        within_limits_share=float(within.sum() / ok.sum()) if ok.any() else float("nan"),
        v_limits=(float(lo_lim), float(hi_lim)),
        vuf_max_percent=float(vuf.max()) if vuf.size else float("nan"),
        vuf_p95_percent=float(np.percentile(vuf, 95)) if vuf.size else float("nan"),
        loading_max_percent=_finite_max(loading[ok]) if ok.any() else float("nan"),
        overloaded_share=float(over.sum() / ok.sum()) if ok.any() else float("nan"),
        seconds_per_realisation=float(np.mean(elapsed)) if elapsed is not None else float("nan"),
    )


def solve_pandapower(
    feeder: Feeder,
    ensemble: Ensemble,
    *,
    net: Any = None,
    realisations: Sequence[int] | None = None,
) -> PowerFlowResult:
    """Solve realisations with ``pandapower.runpp_3ph``.

    Parameters
    ----------
    feeder : Feeder
        The topology (read from ``net`` when one is given).
    ensemble : Ensemble
        Realisations on ``feeder``.
    net : pandapowerNet, optional
        The real net: a copy of it gets the realisations' loads (its lines, transformer and grid
        stay). Default: a net built from the feeder.
    realisations : sequence of int, optional
        Which realisations (default all).
    """
    options = None if net is None else {"net": copy.deepcopy(net)}
    with get_engine("pandapower").open(feeder, ensemble, options=options) as case:
        return case.solve_batch(realisations)


def _feeder_like(feeder: Feeder, keep: np.ndarray, vn_kv: np.ndarray) -> Feeder:
    """The sub-feeder of the buses ``keep`` (a subtree: one root), with new voltages."""
    index = np.full(feeder.n_buses, -1, dtype=np.int64)
    index[keep] = np.arange(keep.size)
    parent = np.where(feeder.parent[keep] >= 0, index[np.maximum(feeder.parent[keep], 0)], -1)
    length = feeder.length_km[keep].copy()
    length[parent < 0] = 0.0
    demand = None if feeder.demand_kw is None else feeder.demand_kw[keep]
    return Feeder(
        bus_id=feeder.bus_id[keep],
        parent=parent,
        length_km=length,
        x=cast(np.ndarray, feeder.x)[keep],
        y=cast(np.ndarray, feeder.y)[keep],
        crs=feeder.crs,
        vn_kv=vn_kv[keep],
        is_load=cast(np.ndarray, feeder.is_load)[keep],
        demand_kw=demand,
        n_zones=feeder.n_zones,
    )


def _ensemble_on(ensemble: Ensemble, keep: np.ndarray, source: int) -> Ensemble:
    fields = {
        name: None if getattr(ensemble, name) is None else getattr(ensemble, name)[:, keep]
        for name in (*LINE_FIELDS, *BUS_FIELDS)
    }
    bus_phases = ensemble.bus_phases[:, keep].copy()
    bus_phases[:, source] = 7
    return Ensemble(
        bus_id=ensemble.bus_id[keep],
        source=source,
        load_phases=ensemble.load_phases[:, keep],
        bus_phases=bus_phases,
        p_kw=ensemble.p_kw[:, keep],
        q_kvar=ensemble.q_kvar[:, keep],
        power_factor=ensemble.power_factor,
        draw=ensemble.draw,
        metadata=dict(ensemble.metadata),
        **fields,
    )


def single_level(feeder: Feeder, ensemble: Ensemble) -> tuple[Feeder, Ensemble]:
    """The feeder and ensemble on one voltage level (see the module notes).

    The level is that of most load buses. While the source is at another level and has a single
    child, the child becomes the source (a step-down transformer at the head). Buses of other
    levels left below are given the chosen level. Returns the inputs unchanged when the feeder
    has one level.
    """
    vn = np.asarray(feeder.vn_kv, dtype=float)
    if np.unique(vn).size <= 1:
        return feeder, ensemble
    loads = feeder.load_buses if feeder.load_buses.size else np.arange(feeder.n_buses)
    values, counts = np.unique(vn[loads], return_counts=True)
    level = float(values[np.argmax(counts)])
    root = feeder.source
    while not np.isclose(vn[root], level):
        children = np.flatnonzero(feeder.parent == root)
        if children.size != 1:
            break
        if ensemble.load_phases[:, root].any():
            break
        root = int(children[0])
    keep = np.arange(feeder.preorder.size)
    if root != feeder.source:
        keep = feeder.preorder[feeder.position[root] : feeder.subtree_end[root]]
        keep = np.sort(keep)
    other = ~np.isclose(vn[keep], level)
    if other.any():
        logger.info(
            "OpenDSS: %d buses of other voltage levels (%s) solved at %.4g kV",
            int(other.sum()),
            feeder.bus_id[keep][other][:5].tolist(),
            level,
        )
    new_vn = np.full(feeder.n_buses, level)
    sub = _feeder_like(feeder, keep, new_vn)
    return sub, _ensemble_on(ensemble, keep, int(sub.source))


def _with_real_lines(feeder: Feeder, ensemble: Ensemble, real: RealFeeder) -> Ensemble:
    """The ensemble with the real lines' impedances and ampacities where the feeder has them."""
    lines = real.table.lines
    if not len(lines):
        return ensemble
    lookup = {b: i for i, b in enumerate(feeder.bus_id.tolist())}
    pos = np.array([lookup.get(str(b), -1) for b in lines["bus_id"]])
    found = pos >= 0
    lv = np.asarray(feeder.vn_kv, dtype=float) <= LV_MAX_KV
    n = ensemble.n_realisations
    fields = {}
    for name in ("r1_ohm_per_km", "x1_ohm_per_km", "r0_ohm_per_km", "x0_ohm_per_km", "max_i_ka"):
        default = np.where(lv, getattr(DEFAULT_LV_LINE, name), getattr(DEFAULT_MV_LINE, name))
        values = default.astype(float)
        if name in lines.columns:
            given = lines[name].to_numpy(dtype=float)[found]
            ok = np.isfinite(given) & (given > 0)
            values[pos[found][ok]] = given[ok]
        fields[name] = np.broadcast_to(values, (n, feeder.n_buses)).copy()
    return ensemble.with_fields(**fields)


def solve_opendss(
    feeder: Feeder,
    ensemble: Ensemble,
    *,
    real: RealFeeder | None = None,
    realisations: Sequence[int] | None = None,
) -> PowerFlowResult:
    """Solve realisations in OpenDSS on the feeder (see the module notes).

    The result is aligned with the buses of the single-level feeder
    (``result.bus_id``), which may be a subset of ``feeder``'s.
    """
    level_feeder, level_ens = single_level(feeder, ensemble)
    options: dict[str, Any] = {}
    if real is not None and level_ens.r1_ohm_per_km is None:
        level_ens = _with_real_lines(level_feeder, level_ens, real)
    if real is not None and real.net is not None and len(real.net.ext_grid):
        # the real net's source set-point (the European LV net: 1.05 p.u.)
        options["source_vm_pu"] = float(real.net.ext_grid["vm_pu"].iloc[0])
    with get_engine("opendss").open(level_feeder, level_ens, options=options) as case:
        return case.solve_batch(realisations)


def feasibility(
    feeder: Feeder,
    ensemble: Ensemble,
    *,
    engines: Sequence[str] = ENGINES,
    real: RealFeeder | None = None,
    realisations: Sequence[int] | None = None,
    v_limits: tuple[float, float] = (0.9, 1.1),
) -> dict[str, tuple[FeasibilityReport, PowerFlowResult]]:
    """Solve an ensemble in each engine and summarise.

    Parameters
    ----------
    feeder, ensemble
        The ensemble and its feeder.
    engines : sequence of str
        Any of :data:`ENGINES`.
    real : RealFeeder, optional
        The real feeder the ensemble was sampled on: its pandapower net (if any) and its line
        impedances are used.
    realisations : sequence of int, optional
        Which realisations to solve (default all).
    v_limits : (float, float)
        Voltage limits [p.u.].

    Returns
    -------
    dict
        Engine -> (report, full result).
    """
    bad = [e for e in engines if e not in ENGINES]
    if bad:
        raise ParameterError(f"engines must be among {ENGINES}, got {bad}.")
    out = {}
    for engine in engines:
        if engine == "pandapower":
            net = real.net if real is not None else None
            result = solve_pandapower(feeder, ensemble, net=net, realisations=realisations)
        else:
            result = solve_opendss(feeder, ensemble, real=real, realisations=realisations)
        out[engine] = (summarise(result, v_limits=v_limits), result)
    return out
