"""Fill a pandapower net with a feeder and one realisation of an ensemble, and switch realisations.

:func:`populate_net` builds the whole net (buses, lines, transformers, external grid, loads) in
place with pandapower's vectorised creators; :func:`populate_loads` replaces only the loads of a net
the user already has; :func:`set_realisation` switches either kind of net to another realisation
by rewriting a few columns, without rebuilding anything.

Single-phase and two-phase laterals
-----------------------------------
pandapower lines are three-phase sequence models: there is no one- or two-phase line. A line whose
bus has fewer than three phases in a realisation is built as a three-phase line with the line's
real Z1 and Z0 (and C1, C0), and only the phases it serves carry load. On the phases that exist
this gives the self and mutual impedances of OpenDSS's phase-accurate line built from the same
sequence data (``Zs = (2 Z1 + Z0) / 3``, ``Zm = (Z0 - Z1) / 3``); the absent phases exist
electrically, carry only charging current, and are reported as absent (NaN) by the engines. The
columns ``bayesgrid_r0_ohm_per_km``, ``bayesgrid_x0_ohm_per_km`` and ``bayesgrid_c0_nf_per_km`` keep
the line type's zero-sequence data, which :func:`set_realisation` writes to every line.

Units: the ensemble holds kW and kvar; pandapower holds MW and Mvar. The conversion happens here
and only here. Loads are stored rounded to :data:`MW_DECIMALS` decimals of a MW (1 mW): a net
written with ``pandapower.to_json``, which keeps 15 significant digits, then reads back bit for
bit, and the ensemble's values are kept to within 0.5 mW.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayesgrid_plugins.ensemble import Ensemble, check_line_data
from bayesgrid_plugins.equipment import subtree_peak_mva
from bayesgrid_plugins.errors import (
    AdapterError,
    PhaseConsistencyError,
)
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.phases import PHASE_NAMES, check_phase_consistency

from ._netmap import ID_COLUMN, bus_labels, check_aligned
from .defaults import (
    DEFAULT_LV_LINE,
    DEFAULT_MV_LINE,
    DEFAULT_SOURCE,
    DEFAULT_TRAFO,
    LV_MAX_KV,
    LineParameters,
    SourceParameters,
    TrafoParameters,
    trafo_rating_mva,
)

__all__ = ["MW_DECIMALS", "build_net", "populate_loads", "populate_net", "set_realisation"]

#: Decimals of a MW (Mvar) kept in the load table: 9 = 1 mW (1 mvar).
MW_DECIMALS = 9

logger = logging.getLogger(__name__)

_ZERO_SEQ_BASE = ("bayesgrid_r0_ohm_per_km", "bayesgrid_x0_ohm_per_km", "bayesgrid_c0_nf_per_km")
#: pandapower's line columns <- the attributes of a line type (``equipment.LineType``).
_LINE_TYPE_COLUMNS = {
    "r_ohm_per_km": "r1_ohm_per_km",
    "x_ohm_per_km": "x1_ohm_per_km",
    "c_nf_per_km": "c1_nf_per_km",
    "max_i_ka": "max_i_ka",
    "r0_ohm_per_km": "r0_ohm_per_km",
    "x0_ohm_per_km": "x0_ohm_per_km",
    "c0_nf_per_km": "c0_nf_per_km",
}
_PHASE_TEXT = np.asarray(["" if name == "none" else name for name in PHASE_NAMES], dtype=object)
_LOAD_P = ("p_a_mw", "p_b_mw", "p_c_mw")
_LOAD_Q = ("q_a_mvar", "q_b_mvar", "q_c_mvar")


def line_type_columns(types: Sequence[Any], *, zero_sequence_base: bool) -> dict[str, np.ndarray]:
    """Sequence data and ampacity of one line type per line, as pandapower line columns.

    With ``zero_sequence_base`` the zero-sequence values are also returned under the columns
    that :func:`set_realisation` restores a full three-phase line from.
    """
    columns = {
        column: np.asarray([getattr(t, attr) for t in types], dtype=float)
        for column, attr in _LINE_TYPE_COLUMNS.items()
    }
    if zero_sequence_base:
        for base, column in zip(_ZERO_SEQ_BASE, ("r0_ohm_per_km", "x0_ohm_per_km", "c0_nf_per_km")):
            columns[base] = columns[column]
    return columns


# ---------------------------------------------------------------------------- checks
def _check_realisation(ensemble: Ensemble, realisation: int) -> int:
    n = ensemble.n_realisations
    if not isinstance(realisation, (int, np.integer)) or not -n <= realisation < n:
        raise IndexError(f"realisation {realisation!r} is out of range for {n} realisations.")
    return int(realisation) % n


def _check_phases(feeder: Feeder, ensemble: Ensemble) -> None:
    check_phase_consistency(feeder, ensemble.bus_phases)
    outside = (ensemble.load_phases & ~ensemble.bus_phases) != 0
    if outside.any():
        r, b = np.nonzero(outside)
        raise PhaseConsistencyError(
            f"{r.size} loads connect to phases their bus lacks, for example realisation {r[0]} bus "
            f"{feeder.bus_id[b[0]]!r} (load {PHASE_NAMES[ensemble.load_phases[r[0], b[0]]]}, bus "
            f"{PHASE_NAMES[ensemble.bus_phases[r[0], b[0]]]}). Enforce consistency over the load "
            "phases (enforce_phase_consistency) before building the net."
        )


# ---------------------------------------------------------------------------- helpers
def _geo_points(x: np.ndarray, y: np.ndarray) -> list[str | None]:
    return [
        json.dumps({"coordinates": [float(a), float(b)], "type": "Point"})
        if np.isfinite(a) and np.isfinite(b)
        else None
        for a, b in zip(x, y)
    ]


def _append_rows(net: Any, table: str, frame: pd.DataFrame) -> None:
    """Append ``frame`` to ``net[table]`` keeping the table's column dtypes."""
    old = net[table]
    dtypes = old.dtypes
    if old.empty:
        new = frame.reindex(columns=list(old.columns) + [c for c in frame.columns if c not in old])
    else:
        new = pd.concat([old, frame], sort=False)
    for column, dtype in dtypes.items():
        if column in frame.columns and not new[column].isna().any():
            new[column] = new[column].astype(dtype)
    net[table] = new


def load_rows(
    ensemble: Ensemble, buses: np.ndarray, labels: np.ndarray, start: int, *, prefix: str = "load"
) -> pd.DataFrame:
    """Empty ``asymmetric_load`` rows (zero power) for ``buses``, tagged with our bus ids.

    Rows are named ``<prefix>_<bus id>``, indexed from ``start``, on the net buses
    ``labels[buses]``; :func:`set_realisation` fills in the powers.
    """
    ids = ensemble.bus_id[buses].astype(str)
    m = buses.size
    frame = pd.DataFrame(
        {
            "name": [f"{prefix}_{b}" for b in ids],
            "bus": labels[buses].astype(np.uint32),
            "p_a_mw": 0.0,
            "q_a_mvar": 0.0,
            "p_b_mw": 0.0,
            "q_b_mvar": 0.0,
            "p_c_mw": 0.0,
            "q_c_mvar": 0.0,
            "sn_a_mva": np.nan,
            "sn_b_mva": np.nan,
            "sn_c_mva": np.nan,
            "sn_mva": np.nan,
            "scaling": 1.0,
            "in_service": True,
            "type": "wye",
            ID_COLUMN: ids,
            "phases": "",
        },
        index=pd.RangeIndex(start, start + m),
    )
    return frame


# ---------------------------------------------------------------------------- public API
def populate_net(
    net: Any,
    feeder: Feeder,
    ensemble: Ensemble,
    realisation: int = 0,
    *,
    lv_line: LineParameters = DEFAULT_LV_LINE,
    mv_line: LineParameters = DEFAULT_MV_LINE,
    trafo: TrafoParameters = DEFAULT_TRAFO,
    source: SourceParameters = DEFAULT_SOURCE,
) -> Any:
    """Build ``feeder`` and one realisation of ``ensemble`` into an empty net, in place.

    Creates one bus per feeder bus (name and ``bayesgrid_id`` = our bus id, geodata from the
    feeder's x/y in the feeder's CRS, recorded in ``net["bayesgrid"]["crs"]``), one line per
    feeder line with positive- and zero-sequence data, a transformer instead of a line where
    the voltage level changes, an external grid with the short-circuit data ``runpp_3ph`` needs
    at the source, and one ``asymmetric_load`` per bus that carries a load in any realisation.
    Lines are tagged with the id of the bus they feed, loads with the id of their bus.

    Parameters
    ----------
    net : pandapowerNet
        An empty net (``pandapower.create_empty_network()``); it is modified in place.
    feeder : Feeder
        The topology.
    ensemble : Ensemble
        Realisations sampled on ``feeder``.
    realisation : int, default 0
        Which realisation to load into the net.
    lv_line, mv_line : LineParameters
        Line type used at low voltage (``vn_kv <= 1`` kV) and above, where the ensemble has no
        sampled line data. Defaults and their sources: :mod:`pandapower_ext.defaults`.
    trafo : TrafoParameters
        Transformer data used where the voltage level changes.
    source : SourceParameters
        External grid set point and short-circuit data.

    Returns
    -------
    pandapowerNet
        ``net`` itself.

    Raises
    ------
    FeederValidationError
        If the ensemble belongs to another feeder.
    PhaseConsistencyError
        If a realisation is not phase-consistent.
    ParameterError
        If sampled line data are not finite and positive.
    AdapterError
        If ``net`` is not empty or pandapower rejects an element.

    Examples
    --------
    >>> import pandapower as pp
    >>> from pandapower_ext import populate_net
    >>> net = populate_net(pp.create_empty_network(), feeder, ensemble)  # doctest: +SKIP
    >>> len(net.asymmetric_load)  # one load per loaded bus  # doctest: +SKIP
    """
    import pandapower as pp

    check_aligned(feeder, ensemble)
    k = _check_realisation(ensemble, realisation)
    _check_phases(feeder, ensemble)
    check_line_data(ensemble, feeder.lines, feeder.bus_id)
    if len(net.bus):
        raise AdapterError(
            f"populate_net fills an empty net, but this one has {len(net.bus)} buses. Start from "
            "pandapower.create_empty_network(), or use populate_loads() to put sampled loads "
            "on an existing net."
        )
    n = feeder.n_buses
    ids = feeder.bus_id
    vn = feeder.vn_kv
    try:
        labels = pp.create_buses(
            net,
            n,
            vn_kv=vn,
            name=ids.tolist(),
            type="b",
            zone="bayesgrid",
            **{ID_COLUMN: ids.tolist(), "phases": ""},
        )
        net.bus["geo"] = _geo_points(feeder.x, feeder.y)
        labels = np.asarray(labels, dtype=np.int64)

        child = feeder.lines
        parent = feeder.parent[child]
        is_trafo = ~np.isclose(vn[child], vn[parent])
        line_child = child[~is_trafo]
        sampled_z = ensemble.r1_ohm_per_km
        if line_child.size:
            lv = vn[line_child] <= LV_MAX_KV
            types = [lv_line if flag else mv_line for flag in lv]
            geodata = None
            xy = np.column_stack([feeder.x, feeder.y])
            if np.isfinite(xy).all():
                geodata = [
                    [tuple(xy[a]), tuple(xy[b])]
                    for a, b in zip(feeder.parent[line_child], line_child)
                ]
            line_ids = ids[line_child].tolist()
            pp.create_lines_from_parameters(
                net,
                from_buses=labels[feeder.parent[line_child]],
                to_buses=labels[line_child],
                length_km=feeder.length_km[line_child],
                name=[f"line_{b}" for b in line_ids],
                type=[t.kind for t in types],
                geodata=geodata,
                std_type=[t.name if sampled_z is None else None for t in types],
                **line_type_columns(types, zero_sequence_base=True),
                **{ID_COLUMN: line_ids, "phases": "ABC"},
            )

        trafo_child = child[is_trafo]
        if trafo_child.size:
            tp = feeder.parent[trafo_child]
            hv_is_parent = vn[tp] >= vn[trafo_child]
            hv = np.where(hv_is_parent, tp, trafo_child)
            lv_ = np.where(hv_is_parent, trafo_child, tp)
            if trafo.sn_mva is None:
                peak = subtree_peak_mva(feeder, ensemble)[trafo_child]
                sn = np.asarray([trafo_rating_mva(p) for p in peak])
            else:
                sn = np.full(trafo_child.size, float(trafo.sn_mva))
            pp.create_transformers_from_parameters(
                net,
                hv_buses=labels[hv],
                lv_buses=labels[lv_],
                sn_mva=sn,
                vn_hv_kv=vn[hv],
                vn_lv_kv=vn[lv_],
                vkr_percent=trafo.vkr_percent,
                vk_percent=trafo.vk_percent,
                pfe_kw=trafo.pfe_kw,
                i0_percent=trafo.i0_percent,
                shift_degree=trafo.shift_degree,
                tap_side="hv",
                tap_neutral=0,
                tap_min=-2,
                tap_max=2,
                tap_step_percent=2.5,
                tap_step_degree=0.0,
                tap_pos=0,
                tap_changer_type="Ratio",
                vector_group=trafo.vector_group,
                vk0_percent=trafo.vk0_percent,
                vkr0_percent=trafo.vkr0_percent,
                mag0_percent=trafo.mag0_percent,
                mag0_rx=trafo.mag0_rx,
                si0_hv_partial=trafo.si0_hv_partial,
                name=[f"trafo_{b}" for b in ids[trafo_child]],
                **{ID_COLUMN: ids[trafo_child].tolist()},
            )

        pp.create_ext_grid(
            net,
            bus=int(labels[feeder.source]),
            vm_pu=source.vm_pu,
            va_degree=source.va_degree,
            name=f"source_{ids[feeder.source]}",
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
        raise AdapterError(f"pandapower rejected the net built from the feeder: {exc!r}") from exc

    _replace_loads(net, ensemble, labels)
    net["bayesgrid"] = {
        "crs": feeder.crs,
        "n_buses": int(n),
        "realisation": k,
        "ensemble": dict(ensemble.metadata),
    }
    set_realisation(net, ensemble, k)
    logger.debug(
        "built a pandapower net of %d buses, %d lines, %d transformers, %d loads",
        len(net.bus),
        len(net.line),
        len(net.trafo),
        len(net.asymmetric_load),
    )
    return net


def build_net(
    feeder: Feeder,
    ensemble: Ensemble,
    realisation: int = 0,
    *,
    f_hz: float = 50.0,
    name: str = "bayesgrid",
    **options: Any,
) -> Any:
    """A new pandapower net holding ``feeder`` and one realisation (see :func:`populate_net`).

    Parameters
    ----------
    feeder : Feeder
        The topology (bus ids, coordinates, line lengths [km], nominal voltages [kV]).
    ensemble : Ensemble
        Realisations for ``feeder``.
    realisation : int, default 0
        Which realisation the net holds.
    f_hz : float, default 50.0
        System frequency [Hz].
    name : str
        Name of the net.
    **options
        Keyword options of :func:`populate_net`.

    Examples
    --------
    >>> import bayesgrid_plugins as bg
    >>> from pandapower_ext import build_net
    >>> feeder = bg.feeder_from_osm(dist_m=300).feeder  # embedded Monaco extract  # doctest: +SKIP
    >>> net = build_net(feeder, bg.BayesianPowerModel().sample(feeder, 10, rng=1))  # doctest: +SKIP
    """
    import pandapower as pp

    net = pp.create_empty_network(name=name, f_hz=f_hz)
    return populate_net(net, feeder, ensemble, realisation, **options)


def _replace_loads(net: Any, ensemble: Ensemble, labels: np.ndarray) -> None:
    buses = np.flatnonzero(ensemble.has_load.any(axis=0))
    net.asymmetric_load = net.asymmetric_load.iloc[0:0]
    frame = load_rows(ensemble, buses, labels, 0)
    _append_rows(net, "asymmetric_load", frame)


def populate_loads(net: Any, feeder: Feeder, ensemble: Ensemble, realisation: int = 0) -> Any:
    """Replace the loads of an existing net by the sampled per-phase loads, in place.

    Every row of ``net.load`` and ``net.asymmetric_load`` is removed; one ``asymmetric_load`` per
    bus that carries a sampled load in any realisation is added (tagged with our bus id in
    ``bayesgrid_id``). Lines, transformers, switches and the external grid are kept as they are.

    Parameters
    ----------
    net : pandapowerNet
        The net ``feeder`` was read from (:func:`~pandapower_ext.reader.feeder_from_net`), or one
        built by :func:`populate_net`.
    feeder : Feeder
        The net as a feeder.
    ensemble : Ensemble
        Realisations sampled on ``feeder``.
    realisation : int, default 0
        Which realisation to load.

    Returns
    -------
    pandapowerNet
        ``net`` itself.

    Examples
    --------
    >>> from bayesgrid_plugins import BayesianPowerModel
    >>> from pandapower_ext import feeder_from_net, populate_loads
    >>> feeder = feeder_from_net(net)  # doctest: +SKIP
    >>> ensemble = BayesianPowerModel().sample(feeder, 10, rng=1)  # doctest: +SKIP
    >>> net = populate_loads(net, feeder, ensemble)  # doctest: +SKIP
    """
    check_aligned(feeder, ensemble)
    k = _check_realisation(ensemble, realisation)
    _check_phases(feeder, ensemble)
    labels = bus_labels(net, feeder)
    dropped = len(net.load)
    net.load = net.load.iloc[0:0]
    _replace_loads(net, ensemble, labels)
    if dropped:
        logger.info("replaced %d balanced loads by sampled per-phase loads", dropped)
    meta = dict(net.get("bayesgrid", None) or {})
    meta.update({"realisation": k, "ensemble": dict(ensemble.metadata)})
    net["bayesgrid"] = meta
    set_realisation(net, ensemble, k)
    return net


def set_realisation(net: Any, ensemble: Ensemble, realisation: int) -> bool:
    """Switch a populated net to another realisation, in place, without rebuilding it.

    Rewrites the per-phase P and Q of the tagged ``asymmetric_load`` rows (kW -> MW), their
    ``in_service`` flag and ``phases``; for tagged lines their ``phases`` and their real Z1/Z0 data
    (whatever the number of phases), sampled where the ensemble carries sampled line data.
    Vectorised over rows.

    Parameters
    ----------
    net : pandapowerNet
        A net filled by :func:`populate_net` or :func:`populate_loads` from this ensemble.
    ensemble : Ensemble
        The ensemble.
    realisation : int
        The realisation to switch to.

    Returns
    -------
    bool
        True when more than the load powers changed: line data, or which loads are in service
        (pandapower's cached admittance matrices and element masks are then out of date).

    Raises
    ------
    AdapterError
        If the net's tagged rows name buses the ensemble does not have.

    Examples
    --------
    >>> import pandapower as pp
    >>> from pandapower_ext import build_net, set_realisation
    >>> net = build_net(feeder, ensemble, realisation=0)  # doctest: +SKIP
    >>> set_realisation(net, ensemble, 5)  # switch without rebuilding  # doctest: +SKIP
    >>> pp.runpp_3ph(net)  # doctest: +SKIP
    """
    k = _check_realisation(ensemble, realisation)
    changed = False
    index = pd.Index(np.asarray(ensemble.bus_id, dtype=str))

    loads = net.asymmetric_load
    if ID_COLUMN in loads.columns and len(loads):
        tagged = loads[ID_COLUMN].notna().to_numpy()
        pos = index.get_indexer(loads[ID_COLUMN].to_numpy()[tagged].astype(str))
        if (pos < 0).any():
            raise AdapterError(
                f"asymmetric_load rows {loads.index[tagged][pos < 0][:10].tolist()} name buses "
                "that are not in the ensemble: populate the net from this ensemble first."
            )
        p = np.round(ensemble.p_kw[k, pos] / 1000.0, MW_DECIMALS)
        q = np.round(ensemble.q_kvar[k, pos] / 1000.0, MW_DECIMALS)
        masks = ensemble.load_phases[k, pos]
        rows = loads.index[tagged]
        in_service = masks != 0
        changed |= not np.array_equal(loads.loc[rows, "in_service"].to_numpy(bool), in_service)
        if tagged.all():
            for j in range(3):
                loads[_LOAD_P[j]] = p[:, j]
                loads[_LOAD_Q[j]] = q[:, j]
            loads["in_service"] = in_service
            loads["phases"] = _PHASE_TEXT[masks]
        else:
            for j in range(3):
                loads.loc[rows, _LOAD_P[j]] = p[:, j]
                loads.loc[rows, _LOAD_Q[j]] = q[:, j]
            loads.loc[rows, "in_service"] = in_service
            loads.loc[rows, "phases"] = _PHASE_TEXT[masks]

    lines = net.line
    if ID_COLUMN in lines.columns and len(lines):
        tagged = lines[ID_COLUMN].notna().to_numpy()
        if tagged.any():
            changed |= _set_line_values(lines, tagged, index, ensemble, k)

    if ensemble.source_vm_pu is not None and len(net.ext_grid) == 1:  # the planned tap
        vm = float(ensemble.source_vm_pu[k])
        changed |= not np.isclose(float(net.ext_grid["vm_pu"].iloc[0]), vm)
        net.ext_grid["vm_pu"] = vm

    trafo = net.trafo
    if ensemble.trafo_sn_mva is not None and ID_COLUMN in trafo.columns and len(trafo):
        # The planned rating of this realisation (vk and vkr are per unit of it).
        tagged = trafo[ID_COLUMN].notna().to_numpy()
        pos = index.get_indexer(trafo[ID_COLUMN].to_numpy()[tagged].astype(str))
        sn = np.where(pos >= 0, ensemble.trafo_sn_mva[k, np.maximum(pos, 0)], np.nan)
        planned = np.isfinite(sn)
        if planned.any():
            rows = trafo.index[tagged][planned]
            changed |= not np.allclose(trafo.loc[rows, "sn_mva"].to_numpy(float), sn[planned])
            trafo.loc[rows, "sn_mva"] = sn[planned]

    bus = net.bus
    if ID_COLUMN in bus.columns and "phases" in bus.columns and len(bus):
        tagged = bus[ID_COLUMN].notna().to_numpy()
        pos = index.get_indexer(bus[ID_COLUMN].to_numpy()[tagged].astype(str))
        ok = pos >= 0
        rows = bus.index[tagged][ok]
        bus.loc[rows, "phases"] = _PHASE_TEXT[ensemble.bus_phases[k, pos[ok]]]
    if "bayesgrid" in net and isinstance(net["bayesgrid"], dict):
        net["bayesgrid"]["realisation"] = k
    return changed


def _set_line_values(
    lines: pd.DataFrame, tagged: np.ndarray, index: pd.Index, ensemble: Ensemble, k: int
) -> bool:
    """Write realisation ``k``'s line data; True if any value changed."""
    pos = index.get_indexer(lines[ID_COLUMN].to_numpy()[tagged].astype(str))
    if (pos < 0).any():
        raise AdapterError(
            f"line rows {lines.index[tagged][pos < 0][:10].tolist()} name buses that are not in "
            "the ensemble: populate the net from this ensemble first."
        )
    rows = lines.index[tagged]
    values: dict[str, np.ndarray] = {}
    for column, field in (
        ("r_ohm_per_km", "r1_ohm_per_km"),
        ("x_ohm_per_km", "x1_ohm_per_km"),
        ("c_nf_per_km", "c1_nf_per_km"),
        ("max_i_ka", "max_i_ka"),
    ):
        sampled = getattr(ensemble, field)
        values[column] = (
            np.asarray(sampled[k, pos], dtype=float)
            if sampled is not None
            else lines.loc[rows, column].to_numpy(dtype=float)
        )
    base = {}
    for column, stored, field in (
        ("r0_ohm_per_km", _ZERO_SEQ_BASE[0], "r0_ohm_per_km"),
        ("x0_ohm_per_km", _ZERO_SEQ_BASE[1], "x0_ohm_per_km"),
        ("c0_nf_per_km", _ZERO_SEQ_BASE[2], "c0_nf_per_km"),
    ):
        sampled = getattr(ensemble, field)
        if sampled is not None:
            base[column] = np.asarray(sampled[k, pos], dtype=float)
        elif stored in lines.columns:
            base[column] = lines.loc[rows, stored].to_numpy(dtype=float)
        else:
            base[column] = lines.loc[rows, column].to_numpy(dtype=float)
    masks = ensemble.bus_phases[k, pos]
    # Real Z0 on every line, partial-phase laterals included: the sequence model then has the
    # self and mutual impedances of the phase-accurate line on the phases that exist.
    values.update(base)
    phases = _PHASE_TEXT[masks]
    changed = any(
        not np.array_equal(lines.loc[rows, column].to_numpy(dtype=float), array)
        for column, array in values.items()
    )
    if tagged.all():
        for column, array in values.items():
            lines[column] = array
        lines["phases"] = phases
    else:
        for column, array in values.items():
            lines.loc[rows, column] = array
        lines.loc[rows, "phases"] = phases
    return changed
