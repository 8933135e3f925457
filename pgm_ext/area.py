"""A whole area (transmission + every feeder) as one power-grid-model model, solved asymmetrically.

The same grid as :mod:`pandapower_ext.area` and :mod:`opendss_ext.area` build, in
power-grid-model's input arrays:

- the source at the transmission slack bus
  (:data:`~bayesgrid_plugins.equipment.DEFAULT_SOURCE_MODEL`);
- transmission lines: sequence-model lines of the area's overhead line types (``parallel``
  circuits as one line of ``Z / circuits`` and ``C x circuits``); HV/HV transformers ``YNyn0``;
- each substation's HV/MV transformer and every MV/LV transformer ``Dyn1`` (the low-voltage side
  lags by 30 degrees, as pandapower's ``Dyn`` with a 30 degree shift and OpenDSS's delta-wye);
  a transformer has no no-load data itself: its iron losses and magnetising current are a
  ``shunt`` at its high-voltage node (:mod:`bayesgrid_plugins.no_load`), and its zero-sequence
  magnetising impedance is the no-load impedance;
- feeders: MV and LV cables with the lines of :func:`pgm_ext.build.line_arrays` (real Z1 and Z0,
  no capacitance on partial-phase laterals: :mod:`bayesgrid_plugins.charging`), per-phase
  constant-power ``asym_load``. The substation busbar is the source bus of its feeders.

The plan of each realisation is applied as in the other engines: the planned conductors (the
feeders' line data), the planned MV/LV and HV/MV ratings (``trafo_sn_mva``, ``hv_mv_sn_mva``;
``vk`` and ``vkr`` per unit of the rating, the no-load shunt re-sized for it), and the HV/MV
on-load tap rule of :func:`pandapower_ext.area.solve_area` (``regulate``). Line and transformer
loadings are reported as pandapower reports them: the highest phase current over the line's
ampacity, and over the rated current of the transformer's side (the higher of the two sides).

Each realisation gets its own model (line data follow the realisation's phases), solved with
Newton-Raphson. Buses come in the order of the other engines' area results: transmission buses,
substation busbars (``<substation>~mvbus``), then every feeder bus but its source.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from power_grid_model import (
    CalculationMethod,
    ComponentType,
    DatasetType,
    PowerGridModel,
    initialize_array,
)
from power_grid_model.enum import LoadGenType, WindingType
from power_grid_model.errors import PowerGridError

from bayesgrid_plugins.area import Area, AreaEnsemble, AreaPowerFlow, TrafoType
from bayesgrid_plugins.area.equipment import OLTC_POSITIONS, OLTC_STEP_PERCENT, OLTC_TARGET_PU
from bayesgrid_plugins.engines import phase_present
from bayesgrid_plugins.equipment import (
    DEFAULT_LV_LINE,
    DEFAULT_MV_LINE,
    DEFAULT_SOURCE_MODEL,
    LV_MAX_KV,
    LineParameters,
    SourceModel,
)
from bayesgrid_plugins.errors import AdapterError
from bayesgrid_plugins.no_load import no_load_shunt

from .build import (
    LINE_FIELDS,
    OutputFilter,
    fill_lines,
    fill_transformer_series,
    line_arrays,
    source_array,
)

__all__ = ["solve_area"]

logger = logging.getLogger(__name__)

#: Clock number of the area's Dyn transformers (30 degrees, as the other engines build them).
DYN_CLOCK = 1


@dataclass
class _AreaArrays:
    """Input arrays of an area, with what changes per realisation."""

    data: dict[ComponentType, np.ndarray]
    bus_id: np.ndarray
    level: np.ndarray
    vn_kv: np.ndarray
    feeder_node: list[np.ndarray]  # per feeder: node of each feeder bus (source: its busbar)
    feeder_line_bus: list[np.ndarray]  # per feeder: buses fed by a line
    line_slice: list[slice]  # per feeder: its rows of the line array
    load_bus: list[np.ndarray]  # per feeder: buses that carry a load
    load_slice: list[slice]
    hv_mv_slice: slice  # rows of the HV/MV transformers (and of their shunts)
    site_slice: list[slice]  # per feeder: rows of its MV/LV transformers (and shunts)
    trafo_pfe_kw: np.ndarray  # per transformer row: its type's iron losses [kW]
    trafo_i0_percent: np.ndarray  # and no-load current [%]


def _transformers(
    t: np.ndarray,
    ids: np.ndarray,
    hv: np.ndarray,
    lv: np.ndarray,
    vn_hv: np.ndarray,
    vn_lv: np.ndarray,
    types: Sequence[TrafoType],
    vector_group: str,
) -> None:
    sn = np.asarray([x.sn_mva for x in types], dtype=float) * 1e6
    vk = np.asarray([x.vk_percent for x in types], dtype=float) / 100.0
    vkr = np.asarray([x.vkr_percent for x in types], dtype=float) / 100.0
    i0 = np.asarray([x.i0_percent for x in types], dtype=float) / 100.0
    fill_transformer_series(
        t, ids=ids, hv=hv, lv=lv, vn_hv_kv=vn_hv, vn_lv_kv=vn_lv, sn_va=sn, vk=vk, vkr=vkr
    )
    # zero-sequence magnetising impedance = the no-load impedance (1 / i0 p.u.), lossless
    t["i0_zero_sequence"] = i0
    t["p0_zero_sequence"] = 0.0
    if vector_group == "YNyn":
        t["winding_from"], t["winding_to"], t["clock"] = WindingType.wye_n, WindingType.wye_n, 0
    else:
        t["winding_from"], t["winding_to"] = WindingType.delta, WindingType.wye_n
        t["clock"] = DYN_CLOCK


def _shunts(shunt: np.ndarray, ids: np.ndarray, t: np.ndarray, types: Sequence[TrafoType]) -> None:
    pfe = np.asarray([x.pfe_kw for x in types], dtype=float)
    i0 = np.asarray([x.i0_percent for x in types], dtype=float)
    p_mw, q_mvar = no_load_shunt(pfe, i0, t["sn"] / 1e6)
    u2 = t["u1"] ** 2
    shunt["id"] = ids
    shunt["node"] = t["from_node"]
    shunt["status"] = 1
    shunt["g1"] = p_mw * 1e6 / u2
    shunt["b1"] = -q_mvar * 1e6 / u2
    shunt["g0"] = shunt["g1"]
    shunt["b0"] = shunt["b1"]


def build_area_arrays(
    area: Area, ensemble: AreaEnsemble, *, source: SourceModel = DEFAULT_SOURCE_MODEL
) -> _AreaArrays:
    """The input arrays of ``area`` (loads and feeder lines of realisation 0)."""
    if len(ensemble.ensembles) != area.n_feeders:
        raise AdapterError(
            f"the ensemble has {len(ensemble.ensembles)} feeders but the area {area.n_feeders}; "
            "sample it with sample_area(area, n)."
        )
    tr = area.transmission
    subs = area.substations
    n_t, n_s = int(tr.n_buses), len(subs)
    bus_id = [*tr.bus_id.astype(str).tolist(), *[f"{s.id}~mvbus" for s in subs]]
    level = ["hv"] * n_t + ["mv"] * n_s
    vn = [*np.asarray(tr.vn_kv, dtype=float).tolist(), *[float(area.mv_kv)] * n_s]
    feeder_node: list[np.ndarray] = []
    next_node = n_t + n_s
    for f in area.feeders:
        fd = f.feeder
        nodes = np.full(fd.n_buses, -1, dtype=np.int64)
        rest = np.flatnonzero(np.arange(fd.n_buses) != fd.source)
        nodes[fd.source] = n_t + f.substation
        nodes[rest] = next_node + np.arange(rest.size)
        next_node += rest.size
        feeder_node.append(nodes)
        bus_id += fd.bus_id[rest].astype(str).tolist()
        level += np.where(fd.vn_kv[rest] <= LV_MAX_KV, "lv", "mv").tolist()
        vn += fd.vn_kv[rest].astype(float).tolist()
    n_nodes = next_node
    node = initialize_array(DatasetType.input, ComponentType.node, n_nodes)
    node["id"] = np.arange(n_nodes)
    node["u_rated"] = np.asarray(vn) * 1000.0
    next_id = n_nodes

    def ids(count: int) -> np.ndarray:
        nonlocal next_id
        out = np.arange(next_id, next_id + count)
        next_id += count
        return out

    # Lines: transmission, then each feeder's cables.
    feeder_line_bus = []
    for f in area.feeders:
        site = np.zeros(f.feeder.n_buses, dtype=bool)
        site[f.sites] = True
        lines = f.feeder.lines
        feeder_line_bus.append(lines[~site[lines]].astype(np.int64))
    n_lines = int(tr.n_lines) + sum(b.size for b in feeder_line_bus)
    line = initialize_array(DatasetType.input, ComponentType.line, n_lines)
    line["id"] = ids(n_lines)
    line["from_status"] = 1
    line["to_status"] = 1
    m = int(tr.n_lines)
    if m:
        par = np.asarray(tr.line_parallel, dtype=float)
        per_km = {
            name: np.asarray([getattr(t, name) for t in tr.line_type], dtype=float)
            for name in LINE_FIELDS
        }
        for name in ("r1_ohm_per_km", "x1_ohm_per_km", "r0_ohm_per_km", "x0_ohm_per_km"):
            per_km[name] = per_km[name] / par
        for name in ("c1_nf_per_km", "c0_nf_per_km", "max_i_ka"):
            per_km[name] = per_km[name] * par
        line["from_node"][:m] = tr.line_from
        line["to_node"][:m] = tr.line_to
        fill_lines(line[:m], np.asarray(tr.line_length_km, dtype=float), per_km)
    line_slice = []
    start = m
    for f, nodes, lb in zip(area.feeders, feeder_node, feeder_line_bus):
        part = slice(start, start + lb.size)
        line["from_node"][part] = nodes[f.feeder.parent[lb]]
        line["to_node"][part] = nodes[lb]
        line_slice.append(part)
        start += lb.size

    # Transformers: HV/HV, HV/MV, MV/LV; each with its no-load shunt.
    groups = []
    if tr.trafo_hv.size:
        groups.append(
            (
                tr.trafo_hv,
                tr.trafo_lv,
                tr.vn_kv[tr.trafo_hv],
                tr.vn_kv[tr.trafo_lv],
                tr.trafo_type,
                "YNyn",
            )
        )
    if n_s:
        groups.append(
            (
                np.asarray(tr.substation_bus, dtype=np.int64),
                n_t + np.arange(n_s),
                tr.vn_kv[tr.substation_bus],
                np.full(n_s, float(area.mv_kv)),
                area.hv_mv,
                "Dyn",
            )
        )
    for f, nodes in zip(area.feeders, feeder_node):
        if f.sites.size:
            fd = f.feeder
            par = fd.parent[f.sites]
            groups.append(
                (nodes[par], nodes[f.sites], fd.vn_kv[par], fd.vn_kv[f.sites], f.trafos, "Dyn")
            )
    parts = []
    shunts = []
    pfe, i0 = [], []
    n_thh = int(tr.trafo_hv.size)
    hv_mv_slice = slice(n_thh, n_thh + n_s)
    site_slice, start = [], n_thh + n_s
    for f in area.feeders:
        site_slice.append(slice(start, start + f.sites.size))
        start += f.sites.size
    for hv, lv, vn_hv, vn_lv, types, group in groups:
        t = initialize_array(DatasetType.input, ComponentType.transformer, len(types))
        _transformers(t, ids(len(types)), hv, lv, vn_hv, vn_lv, types, group)
        sh = initialize_array(DatasetType.input, ComponentType.shunt, len(types))
        _shunts(sh, ids(len(types)), t, types)
        parts.append(t)
        shunts.append(sh)
        pfe += [x.pfe_kw for x in types]
        i0 += [x.i0_percent for x in types]

    # Loads: one per feeder bus loaded in any realisation.
    load_bus, load_slice, load_parts = [], [], []
    start = 0
    for ens, nodes in zip(ensemble.ensembles, feeder_node):
        loaded = ens.has_load.any(axis=0) | ((ens.p_kw != 0) | (ens.q_kvar != 0)).any(axis=(0, 2))
        buses = np.flatnonzero(loaded).astype(np.int64)
        load = initialize_array(DatasetType.input, ComponentType.asym_load, buses.size)
        load["id"] = ids(buses.size)
        load["node"] = nodes[buses]
        load["status"] = 1
        load["type"] = LoadGenType.const_power
        load_parts.append(load)
        load_bus.append(buses)
        load_slice.append(slice(start, start + buses.size))
        start += buses.size

    data = {
        ComponentType.node: node,
        ComponentType.line: line,
        ComponentType.source: source_array(int(tr.slack), int(ids(1)[0]), source, source.vm_pu),
        ComponentType.asym_load: np.concatenate(load_parts)
        if load_parts
        else initialize_array(DatasetType.input, ComponentType.asym_load, 0),
    }
    if parts:
        data[ComponentType.transformer] = np.concatenate(parts)
        data[ComponentType.shunt] = np.concatenate(shunts)
    return _AreaArrays(
        data=data,
        bus_id=np.asarray(bus_id, dtype=str),
        level=np.asarray(level, dtype=str),
        vn_kv=np.asarray(vn, dtype=float),
        feeder_node=feeder_node,
        feeder_line_bus=feeder_line_bus,
        line_slice=line_slice,
        load_bus=load_bus,
        load_slice=load_slice,
        hv_mv_slice=hv_mv_slice,
        site_slice=site_slice,
        trafo_pfe_kw=np.asarray(pfe, dtype=float),
        trafo_i0_percent=np.asarray(i0, dtype=float),
    )


def _write_realisation(
    arrays: _AreaArrays,
    area: Area,
    ensemble: AreaEnsemble,
    k: int,
    lv_line: LineParameters,
    mv_line: LineParameters,
) -> None:
    line = arrays.data[ComponentType.line]
    load = arrays.data[ComponentType.asym_load]
    for f, ens, lb, part, buses, lpart in zip(
        area.feeders,
        ensemble.ensembles,
        arrays.feeder_line_bus,
        arrays.line_slice,
        arrays.load_bus,
        arrays.load_slice,
    ):
        fd = f.feeder
        if lb.size:
            data = line_arrays(fd, ens, np.asarray([k]), lb, lv_line=lv_line, mv_line=mv_line)
            fill_lines(line[part], fd.length_km[lb], {name: v[0] for name, v in data.items()})
        load["p_specified"][lpart] = np.asarray(ens.p_kw[k], dtype=float)[buses] * 1000.0
        load["q_specified"][lpart] = np.asarray(ens.q_kvar[k], dtype=float)[buses] * 1000.0
    _write_ratings(arrays, area, ensemble, k)


def _write_ratings(arrays: _AreaArrays, area: Area, ensemble: AreaEnsemble, k: int) -> None:
    """The planned transformer ratings of realisation ``k`` (vk, vkr per unit of the rating)."""
    if ComponentType.transformer not in arrays.data:
        return
    t = arrays.data[ComponentType.transformer]
    sn_mva = t["sn"] / 1e6
    changed = False
    if ensemble.hv_mv_sn_mva is not None and len(area.substations):
        sn_mva[arrays.hv_mv_slice] = np.asarray(ensemble.hv_mv_sn_mva[k], dtype=float)
        changed = True
    for f, ens, part in zip(area.feeders, ensemble.ensembles, arrays.site_slice):
        if ens.trafo_sn_mva is not None and f.sites.size:
            planned = np.asarray(ens.trafo_sn_mva[k], dtype=float)[f.sites]
            base = np.asarray([x.sn_mva for x in f.trafos], dtype=float)
            sn_mva[part] = np.where(np.isfinite(planned) & (planned > 0), planned, base)
            changed = True
    if not changed:
        return
    vkr = t["pk"] / t["sn"]
    t["sn"] = sn_mva * 1e6
    t["pk"] = vkr * t["sn"]
    shunt = arrays.data[ComponentType.shunt]
    p_mw, q_mvar = no_load_shunt(arrays.trafo_pfe_kw, arrays.trafo_i0_percent, sn_mva)
    u2 = t["u1"] ** 2
    shunt["g1"] = p_mw * 1e6 / u2
    shunt["b1"] = -q_mvar * 1e6 / u2
    shunt["g0"] = shunt["g1"]
    shunt["b0"] = shunt["b1"]


def solve_area(
    area: Area,
    ensemble: AreaEnsemble,
    *,
    realisations: Sequence[int] | None = None,
    source: SourceModel = DEFAULT_SOURCE_MODEL,
    lv_line: LineParameters = DEFAULT_LV_LINE,
    mv_line: LineParameters = DEFAULT_MV_LINE,
    tolerance: float = 1e-8,
    max_iterations: int = 30,
    regulate: bool = True,
) -> AreaPowerFlow:
    """Solve realisations of the whole area with power-grid-model (asymmetric Newton-Raphson).

    Parameters
    ----------
    area : Area
        The area (from :func:`bayesgrid_plugins.area.area_from_osm`).
    ensemble : AreaEnsemble
        Aligned realisations of its feeders (:func:`bayesgrid_plugins.area.sample_area`).
    realisations : sequence of int, optional
        Which realisations to solve; default all.
    source : SourceModel
        The source at the transmission slack.
    lv_line, mv_line : LineParameters
        Cables at and below / above 1 kV where the ensemble has no sampled line data.
    tolerance : float, default 1e-8
        Convergence tolerance [p.u. voltage].
    max_iterations : int, default 30
        Newton-Raphson iteration limit.
    regulate : bool, default True
        Hold each substation busbar with its HV/MV on-load tap changer, as
        :func:`pandapower_ext.area.solve_area` does (same steps and rule, a tap on the HV
        side); the positions are in ``metadata["hv_mv_tap"]``.

    Returns
    -------
    AreaPowerFlow
        Voltages of the transmission buses, substation busbars and every feeder bus except the
        feeders' sources, in the order of the other engines' area results; NaN where a feeder
        bus lacks the phase.

    Examples
    --------
    >>> from bayesgrid_plugins.area import area_from_osm, sample_area
    >>> from pgm_ext.area import solve_area
    >>> area = area_from_osm(dist_m=1000)  # embedded Monaco extract, radius [m]  # doctest: +SKIP
    >>> flows = solve_area(area, sample_area(area, 5, rng=1))  # doctest: +SKIP
    """
    arrays = build_area_arrays(area, ensemble, source=source)
    chosen = (
        np.arange(ensemble.n_realisations)
        if realisations is None
        else np.asarray(realisations, dtype=np.int64).ravel()
    )
    n_nodes = arrays.bus_id.size
    n_t = int(area.transmission.n_buses)
    busbars = np.arange(n_t, n_t + len(area.substations))
    vm = np.full((chosen.size, n_nodes, 3), np.nan)
    converged = np.zeros(chosen.size, dtype=bool)
    elapsed = np.zeros(chosen.size)
    line_loading = np.full(chosen.size, np.nan)
    trafo_loading = np.full(chosen.size, np.nan)
    taps = np.zeros((chosen.size, busbars.size), dtype=np.int64)
    trafo = arrays.data.get(ComponentType.transformer)
    if trafo is not None and busbars.size:
        rows = arrays.hv_mv_slice
        trafo["tap_min"][rows] = -OLTC_POSITIONS
        trafo["tap_max"][rows] = OLTC_POSITIONS
        trafo["tap_size"][rows] = OLTC_STEP_PERCENT / 100.0 * trafo["u1"][rows]
    regulating = regulate and trafo is not None and busbars.size > 0
    outputs: OutputFilter = {ComponentType.node: ["u_pu"]}
    if arrays.data[ComponentType.line].size:
        outputs[ComponentType.line] = ["loading"]
    if trafo is not None:
        outputs[ComponentType.transformer] = ["i_from", "i_to"]

    def run(k: int) -> dict[Any, Any] | None:
        try:
            return PowerGridModel(arrays.data).calculate_power_flow(
                symmetric=False,
                error_tolerance=tolerance,
                max_iterations=max_iterations,
                calculation_method=CalculationMethod.newton_raphson,
                output_component_types=outputs,
            )
        except PowerGridError as exc:
            logger.warning("area realisation %d did not solve in power-grid-model: %s", k, exc)
            return None

    for row, k in enumerate(chosen.tolist()):
        start = time.perf_counter()
        _write_realisation(arrays, area, ensemble, k, lv_line, mv_line)
        if regulating and trafo is not None:
            trafo["tap_pos"][arrays.hv_mv_slice] = 0
        out = run(k)
        if out is not None and regulating and trafo is not None:
            u = np.asarray(out[ComponentType.node]["u_pu"], dtype=float).reshape(n_nodes, 3)
            low = np.nanmin(u[busbars], axis=1)
            raise_by = np.ceil((OLTC_TARGET_PU - low) / OLTC_STEP_PERCENT * 100.0)
            taps[row] = np.clip(-raise_by, -OLTC_POSITIONS, OLTC_POSITIONS).astype(np.int64)
            if taps[row].any():
                trafo["tap_pos"][arrays.hv_mv_slice] = taps[row]
                out = run(k)
        if out is not None:
            converged[row] = True
            u = np.asarray(out[ComponentType.node]["u_pu"], dtype=float).reshape(n_nodes, 3)
            for f, ens, nodes in zip(area.feeders, ensemble.ensembles, arrays.feeder_node):
                sub = np.flatnonzero(np.arange(f.feeder.n_buses) != f.feeder.source)
                present = phase_present(ens.bus_phases[k, sub])
                u[nodes[sub]] = np.where(present, u[nodes[sub]], np.nan)
            vm[row] = u
            line_loading[row], trafo_loading[row] = _loadings(out, trafo)
        elapsed[row] = time.perf_counter() - start
    return AreaPowerFlow(
        bus_id=arrays.bus_id,
        level=arrays.level,
        vn_kv=arrays.vn_kv,
        realisations=chosen,
        vm_pu=vm,
        converged=converged,
        elapsed_s=elapsed,
        engine="power-grid-model",
        metadata={
            "method": "newton_raphson",
            "tolerance": tolerance,
            **({"hv_mv_tap": taps.tolist()} if regulate else {}),
        },
        line_loading_pct=line_loading,
        trafo_loading_pct=trafo_loading,
    )


def _loadings(out: Any, trafo: np.ndarray | None) -> tuple[float, float]:
    """Highest line and transformer loading [%] of a solved model (NaN: none of them).

    A line's is power-grid-model's (the highest phase current over ``i_n``); a transformer's
    the highest phase current over the rated current of its side, the higher side.
    """
    line = float("nan")
    if ComponentType.line in out and len(out[ComponentType.line]["loading"]):
        line = 100.0 * float(np.nanmax(out[ComponentType.line]["loading"]))
    if trafo is None or not trafo.size:
        return line, float("nan")
    res = out[ComponentType.transformer]
    rated_from = trafo["sn"] / (np.sqrt(3.0) * trafo["u1"])
    rated_to = trafo["sn"] / (np.sqrt(3.0) * trafo["u2"])
    highest = np.maximum(
        np.asarray(res["i_from"], dtype=float).max(axis=1) / rated_from,
        np.asarray(res["i_to"], dtype=float).max(axis=1) / rated_to,
    )
    return line, 100.0 * float(np.nanmax(highest))
