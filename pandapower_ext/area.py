"""A whole area (transmission + every feeder) as one pandapower net, solved three-phase.

How transmission and distribution are joined
--------------------------------------------
One combined three-phase model, solved by ``pandapower.runpp_3ph``:

- the external grid (slack) sits at the transmission slack bus, with the short-circuit data of
  :data:`~pandapower_ext.defaults.DEFAULT_SOURCE`;
- transmission lines are three-phase sequence-model lines with the area's overhead line types
  (``parallel`` = circuits); HV/HV transformers are ``YNyn``;
- each distribution substation is an HV/MV transformer (``Dyn``) from its HV bus to its MV
  busbar; the busbar is the common source of the substation's feeders;
- feeders: MV and LV cables with the default line types of
  :mod:`pandapower_ext.defaults` (or the ensemble's sampled data), MV/LV transformers
  (``Dyn``) with the type chosen for each LV network, per-phase loads in ``asymmetric_load``;
- every transformer's no-load losses and magnetising current are a ``shunt`` at its high-voltage
  bus (the transformer has none: :mod:`bayesgrid_plugins.no_load`), and its zero-sequence
  magnetising impedance is the no-load impedance, as in the feeders.

Every transformer shifts by :data:`SHIFT_DEGREE` (30 degrees: the delta-wye connection OpenDSS
builds), so the two engines see the same phase angles up to a constant per voltage level.
Rows built from a feeder are tagged with our bus ids (``bayesgrid_id``), so
:func:`~pandapower_ext.populate.set_realisation` switches realisations of the combined ensemble
(:meth:`~bayesgrid_plugins.area.AreaEnsemble.combined`) in place.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayesgrid_plugins.area import Area, AreaEnsemble, AreaPowerFlow, TrafoType
from bayesgrid_plugins.area.equipment import OLTC_POSITIONS, OLTC_STEP_PERCENT, OLTC_TARGET_PU
from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import AdapterError
from bayesgrid_plugins.no_load import no_load_shunt

from ._netmap import ID_COLUMN
from .defaults import (
    DEFAULT_LV_LINE,
    DEFAULT_MV_LINE,
    DEFAULT_SOURCE,
    LV_MAX_KV,
    LineParameters,
    SourceParameters,
)
from .geo import bus_geo, feeder_lonlat, line_geo, xy_lonlat
from .populate import line_type_columns, set_realisation

__all__ = ["SHIFT_DEGREE", "AreaPowerFlow", "build_area_net", "solve_area"]

logger = logging.getLogger(__name__)

#: Phase shift [degree] of every Dyn transformer of the area.
SHIFT_DEGREE = 30.0
LEVEL_COLUMN = "bayesgrid_level"
#: Shunt columns of a transformer's no-load branch: the transformer row, its pfe [kW], i0 [%].
NO_LOAD_COLUMNS = ["bayesgrid_trafo", "bayesgrid_pfe_kw", "bayesgrid_i0_percent"]


def _trafos(
    pp: Any,
    net: Any,
    hv: np.ndarray,
    lv: np.ndarray,
    types: Sequence[TrafoType],
    vn_hv: np.ndarray,
    vn_lv: np.ndarray,
    vector_group: str,
    names: list[str],
    ids: list[str | None],
) -> None:
    if len(types) == 0:
        return
    vk = np.asarray([t.vk_percent for t in types])
    vkr = np.asarray([t.vkr_percent for t in types])
    sn = np.asarray([t.sn_mva for t in types])
    pfe = np.asarray([t.pfe_kw for t in types])
    i0 = np.asarray([t.i0_percent for t in types])
    rows = pp.create_transformers_from_parameters(
        net,
        hv_buses=hv,
        lv_buses=lv,
        sn_mva=sn,
        vn_hv_kv=vn_hv,
        vn_lv_kv=vn_lv,
        vk_percent=vk,
        vkr_percent=vkr,
        # the no-load branch is a shunt at the high-voltage bus (bayesgrid_plugins.no_load)
        pfe_kw=0.0,
        i0_percent=0.0,
        shift_degree=0.0 if vector_group == "YNyn" else SHIFT_DEGREE,
        vector_group=vector_group,
        vk0_percent=vk,
        vkr0_percent=vkr,
        # zero-sequence magnetising impedance = the no-load impedance, as in the feeders
        # (equipment.MAG0_PERCENT), OpenDSS and power-grid-model
        mag0_percent=100.0 * (100.0 / i0) / (vk / 100.0),
        mag0_rx=0.0,
        si0_hv_partial=0.9,
        name=names,
        **{ID_COLUMN: ids},
    )
    p_mw, q_mvar = no_load_shunt(pfe, i0, sn)
    created = []
    for j in range(len(types)):
        created.append(
            pp.create_shunt(
                net,
                bus=int(hv[j]),
                p_mw=float(p_mw[j]),
                q_mvar=float(q_mvar[j]),
                vn_kv=float(vn_hv[j]),
                name=f"no_load_{names[j]}",
            )
        )
    # what re-sizes it for a planned rating (_resize_no_load)
    for column, values in zip(NO_LOAD_COLUMNS, (rows, pfe, i0)):
        net.shunt.loc[created, column] = np.asarray(values, dtype=float)


def _resize_no_load(net: Any) -> None:
    """Size every transformer's no-load shunt for the transformer's present rating."""
    shunt = net.shunt
    if not len(shunt) or NO_LOAD_COLUMNS[0] not in shunt.columns:
        return
    tagged = shunt.index[shunt[NO_LOAD_COLUMNS[0]].notna()]
    trafo = shunt.loc[tagged, NO_LOAD_COLUMNS[0]].to_numpy(dtype=np.int64)
    p_mw, q_mvar = no_load_shunt(
        shunt.loc[tagged, NO_LOAD_COLUMNS[1]].to_numpy(float),
        shunt.loc[tagged, NO_LOAD_COLUMNS[2]].to_numpy(float),
        net.trafo.loc[trafo, "sn_mva"].to_numpy(float),
    )
    shunt.loc[tagged, "p_mw"] = p_mw
    shunt.loc[tagged, "q_mvar"] = q_mvar


def build_area_net(
    area: Area,
    ensemble: AreaEnsemble,
    realisation: int = 0,
    *,
    lv_line: LineParameters = DEFAULT_LV_LINE,
    mv_line: LineParameters = DEFAULT_MV_LINE,
    source: SourceParameters = DEFAULT_SOURCE,
    f_hz: float = 50.0,
) -> tuple[Any, Ensemble]:
    """The combined transmission + distribution net of ``area`` holding one realisation.

    Parameters
    ----------
    area : Area
        The area.
    ensemble : AreaEnsemble
        Aligned realisations of its feeders (:func:`~bayesgrid_plugins.area.sample_area`).
    realisation : int, default 0
        The realisation loaded.
    lv_line, mv_line : LineParameters
        Cable types where the ensemble has no sampled line data.
    source : SourceParameters
        External grid at the transmission slack.
    f_hz : float, default 50
        Frequency [Hz].

    Returns
    -------
    (pandapowerNet, Ensemble)
        The net, and the combined ensemble whose ids tag its distribution rows (pass it to
        :func:`solve_area` or :func:`~pandapower_ext.populate.set_realisation`).

    Examples
    --------
    >>> from bayesgrid_plugins.area import area_from_osm, sample_area
    >>> from pandapower_ext import build_area_net
    >>> area = area_from_osm(dist_m=1000)  # embedded Monaco extract, radius [m]  # doctest: +SKIP
    >>> net, combined = build_area_net(area, sample_area(area, 5, rng=1))  # doctest: +SKIP
    """
    import pandapower as pp

    if len(ensemble.ensembles) != area.n_feeders:
        raise AdapterError(
            f"the ensemble has {len(ensemble.ensembles)} feeders but the area {area.n_feeders}; "
            "sample it with sample_area(area, n)."
        )
    combined = ensemble.combined(area)
    net = pp.create_empty_network(name="bayesgrid area", f_hz=f_hz)
    tr = area.transmission
    try:
        t_bus = np.asarray(
            pp.create_buses(
                net,
                tr.n_buses,
                vn_kv=tr.vn_kv,
                name=tr.bus_id.tolist(),
                type="b",
                zone="bayesgrid",
                **{ID_COLUMN: None, LEVEL_COLUMN: "hv"},
            ),
            dtype=np.int64,
        )
        if tr.n_lines:
            pp.create_lines_from_parameters(
                net,
                from_buses=t_bus[tr.line_from],
                to_buses=t_bus[tr.line_to],
                length_km=tr.line_length_km,
                parallel=tr.line_parallel,
                type="ol",
                name=[f"tline_{k}" for k in range(tr.n_lines)],
                **line_type_columns(tr.line_type, net=net),
                **{ID_COLUMN: None},
            )
        _trafos(
            pp,
            net,
            t_bus[tr.trafo_hv],
            t_bus[tr.trafo_lv],
            tr.trafo_type,
            tr.vn_kv[tr.trafo_hv],
            tr.vn_kv[tr.trafo_lv],
            "YNyn",
            [f"thh_{k}" for k in range(tr.trafo_hv.size)],
            [None] * tr.trafo_hv.size,
        )
        # Substation MV busbars and HV/MV transformers.
        subs = area.substations
        sub_ids = [area.spans.bus_id[s.bus] for s in subs]
        busbar = np.asarray(
            pp.create_buses(
                net,
                len(subs),
                vn_kv=area.mv_kv,
                name=[f"{s.id}~mvbus" for s in subs],
                type="b",
                zone="bayesgrid",
                **{ID_COLUMN: sub_ids, LEVEL_COLUMN: "mv"},
            ),
            dtype=np.int64,
        )
        hv = t_bus[tr.substation_bus]
        _trafos(
            pp,
            net,
            hv,
            busbar,
            area.hv_mv,
            tr.vn_kv[tr.substation_bus],
            np.full(len(subs), area.mv_kv),
            "Dyn",
            [f"hvmv_{s.id}" for s in subs],
            [None] * len(subs),
        )
        # Feeders.
        label_of: dict[str, int] = {}
        feeder_labels: list[np.ndarray] = []
        for f in area.feeders:
            fd = f.feeder
            rest = np.flatnonzero(np.arange(fd.n_buses) != fd.source)
            labels = np.full(fd.n_buses, -1, dtype=np.int64)
            labels[fd.source] = busbar[f.substation]
            vn = fd.vn_kv
            labels[rest] = pp.create_buses(
                net,
                rest.size,
                vn_kv=vn[rest],
                name=fd.bus_id[rest].tolist(),
                type="b",
                zone="bayesgrid",
                **{
                    ID_COLUMN: fd.bus_id[rest].tolist(),
                    LEVEL_COLUMN: np.where(vn[rest] <= LV_MAX_KV, "lv", "mv").tolist(),
                    "phases": "",
                },
            )
            label_of.update(zip(fd.bus_id[rest].tolist(), labels[rest].tolist()))
            feeder_labels.append(labels)
            par = fd.parent[rest]
            is_trafo = ~np.isclose(vn[rest], vn[par])
            lines = rest[~is_trafo]
            lv = vn[lines] <= LV_MAX_KV
            chosen = [lv_line if flag else mv_line for flag in lv]
            pp.create_lines_from_parameters(
                net,
                from_buses=labels[fd.parent[lines]],
                to_buses=labels[lines],
                length_km=fd.length_km[lines],
                type=[t.kind for t in chosen],
                name=[f"l_{b}" for b in fd.bus_id[lines]],
                **line_type_columns(chosen, net=net, std_type=combined.r1_ohm_per_km is None),
                **{ID_COLUMN: fd.bus_id[lines].tolist(), "phases": "ABC"},
            )
            sites = f.sites
            _trafos(
                pp,
                net,
                labels[fd.parent[sites]],
                labels[sites],
                f.trafos,
                vn[fd.parent[sites]],
                vn[sites],
                "Dyn",
                [f"trafo_{b}" for b in fd.bus_id[sites]],
                fd.bus_id[sites].tolist(),
            )
        # Loads: one asymmetric load per bus loaded in any realisation.
        loaded = np.flatnonzero(combined.has_load.any(axis=0))
        ids = combined.bus_id[loaded].astype(str)
        frame = pd.DataFrame(
            {
                "name": [f"load_{b}" for b in ids],
                "bus": np.asarray([label_of[b] for b in ids], dtype=np.uint32),
                "p_a_mw": 0.0,
                "q_a_mvar": 0.0,
                "p_b_mw": 0.0,
                "q_b_mvar": 0.0,
                "p_c_mw": 0.0,
                "q_c_mvar": 0.0,
                "sn_mva": np.nan,
                "scaling": 1.0,
                "in_service": True,
                "type": "wye",
                ID_COLUMN: ids,
                "phases": "",
            }
        )
        for column, dtype in net.asymmetric_load.dtypes.items():
            if column in frame and not frame[column].isna().any():
                frame[column] = frame[column].astype(dtype)
        net.asymmetric_load = frame.reindex(
            columns=list(net.asymmetric_load.columns)
            + [c for c in frame.columns if c not in net.asymmetric_load.columns]
        )
        pp.create_ext_grid(
            net,
            bus=int(t_bus[tr.slack]),
            vm_pu=source.vm_pu,
            va_degree=source.va_degree,
            name="slack",
            s_sc_max_mva=source.s_sc_max_mva,
            rx_max=source.rx_max,
            x0x_max=source.x0x_max,
            r0x0_max=source.r0x0_max,
            s_sc_min_mva=source.s_sc_max_mva,
            rx_min=source.rx_max,
            x0x_min=source.x0x_max,
            r0x0_min=source.r0x0_max,
        )
    except (KeyError, ValueError, TypeError, AssertionError) as exc:
        raise AdapterError(f"pandapower rejected the area net: {exc!r}") from exc
    for table in ("line", "trafo"):  # built in parts: NaN, not None, marks "no standard type"
        if "std_type" in net[table]:
            column = net[table]["std_type"].astype(object)
            net[table]["std_type"] = column.where(column.notna(), None)
    crs = _area_geo(net, area, t_bus, busbar, feeder_labels)
    net["bayesgrid"] = {"crs": crs, "area": area.source, "realisation": 0}
    if ensemble.hv_mv_sn_mva is not None:  # the planned substation ratings per realisation
        net["bayesgrid"]["hv_mv_sn_mva"] = np.asarray(ensemble.hv_mv_sn_mva, float).tolist()
    set_realisation(net, combined, realisation)
    logger.debug(
        "area net: %d buses, %d lines, %d transformers, %d loads",
        len(net.bus),
        len(net.line),
        len(net.trafo),
        len(net.asymmetric_load),
    )
    return net, combined


def _area_geo(
    net: Any,
    area: Area,
    t_bus: np.ndarray,
    busbar: np.ndarray,
    feeder_labels: list[np.ndarray],
) -> str | None:
    """Write ``bus.geo`` and ``line.geo`` (GeoJSON, lon/lat on WGS 84); returns their CRS."""
    n = len(net.bus)
    position = pd.Index(net.bus.index)
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)
    tr = area.transmission
    lon[position.get_indexer(t_bus)], lat[position.get_indexer(t_bus)] = tr.lon, tr.lat
    spans = np.asarray([s.bus for s in area.substations], dtype=np.int64)
    if spans.size:
        sx, sy = xy_lonlat(area.x[spans], area.y[spans], area.crs)
        lon[position.get_indexer(busbar)], lat[position.get_indexer(busbar)] = sx, sy
    crs: str | None = "EPSG:4326" if area.crs is not None else None
    for f, labels in zip(area.feeders, feeder_labels):
        fx, fy, fcrs = feeder_lonlat(f.feeder)
        rest = labels != labels[f.feeder.source]
        at = position.get_indexer(labels[rest])
        lon[at], lat[at] = fx[rest], fy[rest]
        crs = crs if fcrs is not None else None
    net.bus["geo"] = bus_geo(lon, lat)
    lines = net.line
    net.line["geo"] = line_geo(
        lon,
        lat,
        position.get_indexer(lines.from_bus.to_numpy()),
        position.get_indexer(lines.to_bus.to_numpy()),
    )
    # Transmission lines follow their mapped route.
    for k, points in enumerate(tr.line_geometry[: tr.n_lines]):
        pts = np.asarray(points, dtype=float)
        if pts.ndim == 2 and len(pts) >= 2 and np.isfinite(pts).all():
            net.line.loc[lines.index[k], "geo"] = json.dumps(
                {"coordinates": pts[:, :2].tolist(), "type": "LineString"}
            )
    return crs


def _phase_mask(net: Any, combined: Ensemble, k: int) -> np.ndarray:
    """(n_buses, 3) bool of phases present at each net bus in realisation k."""
    ids = net.bus[ID_COLUMN].astype(str).to_numpy()
    pos = pd.Index(combined.bus_id.astype(str)).get_indexer(ids)
    mask = np.full(len(net.bus), 7, dtype=np.int64)
    ok = pos >= 0
    mask[ok] = combined.bus_phases[k, pos[ok]]
    return ((mask[:, None] >> np.arange(3)) & 1).astype(bool)


def solve_area(
    net: Any,
    combined: Ensemble,
    *,
    realisations: Sequence[int] | None = None,
    tolerance_mva: float = 1e-8,
    max_iteration: int | str = "auto",
    regulate: bool = True,
) -> AreaPowerFlow:
    """Solve realisations of an area net built by :func:`build_area_net` with ``runpp_3ph``.

    Each realisation is switched in place (loads, line data and phases, planned transformer
    ratings) and solved from a DC start (the transformers shift the phase by 30 degrees per
    level). With ``regulate``, each HV/MV transformer acts as an on-load tap changer
    (``OLTC_STEP_PERCENT`` per step, +-``OLTC_POSITIONS`` steps, on the HV side;
    :mod:`bayesgrid_plugins.area.equipment`): after a
    first solve its tap is set to the least raise that brings the lowest phase voltage of its MV
    busbar to ``OLTC_TARGET_PU`` or above, and the realisation is solved again; the
    positions are in ``metadata["hv_mv_tap"]``.

    Parameters
    ----------
    net : pandapowerNet
        The net returned by :func:`build_area_net`.
    combined : Ensemble
        The combined ensemble returned with it.
    realisations : sequence of int, optional
        Which realisations to solve; default all.
    tolerance_mva : float, default 1e-8
        Power-flow tolerance [MVA].
    max_iteration : int or "auto"
        Newton-Raphson iteration limit of ``runpp_3ph``.
    regulate : bool, default True
        Hold the substation busbars with the HV/MV tap changers (see above).

    Returns
    -------
    AreaPowerFlow

    Examples
    --------
    >>> from pandapower_ext import build_area_net, solve_area_pp
    >>> net, combined = build_area_net(area, area_ensemble)  # doctest: +SKIP
    >>> flows = solve_area_pp(net, combined, realisations=[0, 1])  # doctest: +SKIP
    """
    import pandapower as pp
    from pandapower.powerflow import LoadflowNotConverged

    chosen = (
        np.arange(combined.n_realisations)
        if realisations is None
        else np.asarray(realisations, dtype=np.int64).ravel()
    )
    n_bus = len(net.bus)
    vm = np.full((chosen.size, n_bus, 3), np.nan)
    converged = np.zeros(chosen.size, dtype=bool)
    elapsed = np.zeros(chosen.size)
    line_loading = np.full(chosen.size, np.nan)
    trafo_loading = np.full(chosen.size, np.nan)
    meta = net.get("bayesgrid", None)
    hv_mv_sn = (meta or {}).get("hv_mv_sn_mva") if isinstance(meta, dict) else None
    hv_mv_rows = net.trafo.index[net.trafo["name"].astype(str).str.startswith("hvmv_")]
    busbars = net.trafo.loc[hv_mv_rows, "lv_bus"].to_numpy()
    taps = np.zeros((chosen.size, hv_mv_rows.size), dtype=np.int64)
    if regulate and hv_mv_rows.size:
        net.trafo.loc[hv_mv_rows, "tap_side"] = "hv"
        net.trafo.loc[hv_mv_rows, "tap_changer_type"] = "Ratio"
        for column, value in (
            ("tap_neutral", 0.0),
            ("tap_min", -OLTC_POSITIONS),
            ("tap_max", OLTC_POSITIONS),
            ("tap_step_percent", OLTC_STEP_PERCENT),
            ("tap_step_degree", 0.0),
            ("tap_pos", 0.0),
        ):
            net.trafo.loc[hv_mv_rows, column] = value

    def run() -> bool:
        """Solve; converged only with every voltage finite (``runpp_3ph`` can report a
        converged case whose voltages are all NaN)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            pp.runpp_3ph(
                net,
                numba=False,
                init="dc",
                tolerance_mva=tolerance_mva,
                max_iteration=max_iteration,
            )
        if not net.converged:
            return False
        v = net.res_bus_3ph[["vm_a_pu", "vm_b_pu", "vm_c_pu"]].to_numpy(dtype=float)
        if not np.isfinite(v).all():
            logger.warning("runpp_3ph reported convergence with non-finite voltages")
            return False
        return True

    for row, k in enumerate(chosen.tolist()):
        start = time.perf_counter()
        set_realisation(net, combined, k)
        if hv_mv_sn is not None:
            net.trafo.loc[hv_mv_rows, "sn_mva"] = np.asarray(hv_mv_sn[k], dtype=float)
        _resize_no_load(net)  # for the planned ratings of this realisation
        try:
            if regulate and hv_mv_rows.size:
                net.trafo.loc[hv_mv_rows, "tap_pos"] = 0.0
            converged[row] = run()
            if converged[row] and regulate and hv_mv_rows.size:
                v = net.res_bus_3ph.loc[busbars, ["vm_a_pu", "vm_b_pu", "vm_c_pu"]].min(axis=1)
                raise_by = np.ceil((OLTC_TARGET_PU - v.to_numpy(float)) / OLTC_STEP_PERCENT * 100)
                taps[row] = np.clip(-raise_by, -OLTC_POSITIONS, OLTC_POSITIONS).astype(np.int64)
                if taps[row].any():
                    net.trafo.loc[hv_mv_rows, "tap_pos"] = taps[row].astype(float)
                    converged[row] = run()
        except LoadflowNotConverged:
            logger.warning("area realisation %d did not converge", k)
        except (KeyError, ValueError, IndexError, TypeError, np.linalg.LinAlgError) as exc:
            raise AdapterError(f"pandapower.runpp_3ph failed on realisation {k}: {exc!r}") from exc
        if converged[row]:
            res = net.res_bus_3ph.loc[net.bus.index, ["vm_a_pu", "vm_b_pu", "vm_c_pu"]]
            v = res.to_numpy(dtype=float)
            vm[row] = np.where(_phase_mask(net, combined, k), v, np.nan)
            if len(net.line):
                line_loading[row] = float(np.nanmax(net.res_line_3ph["loading_percent"]))
            if len(net.trafo):
                trafo_loading[row] = float(np.nanmax(net.res_trafo_3ph["loading_percent"]))
        elapsed[row] = time.perf_counter() - start
    return AreaPowerFlow(
        bus_id=net.bus["name"].astype(str).to_numpy(),
        level=net.bus[LEVEL_COLUMN].astype(str).to_numpy(),
        vn_kv=net.bus["vn_kv"].to_numpy(dtype=float),
        realisations=chosen,
        vm_pu=vm,
        converged=converged,
        elapsed_s=elapsed,
        engine="pandapower",
        metadata={
            "init": "dc",
            "tolerance_mva": tolerance_mva,
            **({"hv_mv_tap": taps.tolist()} if regulate else {}),
        },
        line_loading_pct=line_loading,
        trafo_loading_pct=trafo_loading,
    )
