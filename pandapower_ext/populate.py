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
electrically, carry only charging current, and are reported as absent (NaN) by the engines. Every
line type is registered in the net's own library (``net.std_types["line"]``, the data pandapower
knows: positive sequence, ampacity, kind) and named in the line's ``std_type`` column; its
zero-sequence data are kept per type name in ``net["bayesgrid_line_types"]``. The line table
holds no second copy that could contradict the real columns. Sampled line data (the impedance
model's) carry their own zero sequence and no ``std_type``.

Geodata and line kind
---------------------
``bus.geo`` and ``line.geo`` are GeoJSON text in longitude/latitude on WGS 84
(:mod:`pandapower_ext.geo`), so pandapower's plotting reads them; ``line.type`` is ``"ol"``
(overhead) or ``"cs"`` (cable) from the conductor: the line type's ``kind``, or, for sampled line
data, the impedance model's overhead flag of the conductor drawn in the realisation.

Units: the ensemble holds kW and kvar; pandapower holds MW and Mvar. The conversion happens here
and only here. Loads are stored rounded to :data:`MW_DECIMALS` decimals of a MW (1 mW): a net
written with ``pandapower.to_json``, which keeps 15 significant digits, then reads back bit for
bit, and the ensemble's values are kept to within 0.5 mW.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayesgrid_plugins.charging import lateral_capacitance
from bayesgrid_plugins.ensemble import Ensemble, check_line_data
from bayesgrid_plugins.equipment import branch_trafo_ratings_mva
from bayesgrid_plugins.errors import (
    AdapterError,
    PhaseConsistencyError,
)
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.no_load import no_load_shunt
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
)
from .geo import bus_geo, feeder_lonlat, line_geo
from .load_map import realisation_values

__all__ = ["MW_DECIMALS", "build_net", "populate_loads", "populate_net", "set_realisation"]

#: Decimals of a MW (Mvar) kept in the load table: 9 = 1 mW (1 mvar).
MW_DECIMALS = 9

logger = logging.getLogger(__name__)

_ZERO_SEQ = ("r0_ohm_per_km", "x0_ohm_per_km", "c0_nf_per_km")
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


def line_type_columns(
    types: Sequence[Any], *, net: Any = None, std_type: bool = True
) -> dict[str, Any]:
    """Sequence data and ampacity of one line type per line, as pandapower line columns.

    With ``net`` and ``std_type`` every distinct type is also registered in the net's line type
    library (:func:`register_line_types`) and named in the ``std_type`` column, which is where
    :func:`set_realisation` finds a line's three-phase zero-sequence data again.
    """
    columns: dict[str, Any] = {
        column: np.asarray([getattr(t, attr) for t in types], dtype=float)
        for column, attr in _LINE_TYPE_COLUMNS.items()
    }
    if net is not None and std_type:
        register_line_types(net, types)
        columns["std_type"] = [t.name for t in types]
    return columns


#: Key of the net holding each registered line type's zero-sequence data, by type name.
LINE_TYPES_KEY = "bayesgrid_line_types"


def register_line_types(net: Any, types: Sequence[Any]) -> None:
    """Add each distinct line type to the net's line type library.

    Positive-sequence data, ampacity and kind go to ``net.std_types["line"]`` (a type of the
    same name is updated); the zero-sequence data to ``net["bayesgrid_line_types"]``.
    """
    import pandapower as pp

    seen: dict[str, Any] = {}
    for t in types:
        seen.setdefault(t.name, t)
    zero = dict(net.get(LINE_TYPES_KEY, None) or {})
    for name, t in seen.items():
        data: dict[str, float | str] = {
            column: float(getattr(t, attr))
            for column, attr in _LINE_TYPE_COLUMNS.items()
            if column not in _ZERO_SEQ
        }
        data["type"] = getattr(t, "kind", "ol")
        pp.create_std_type(net, data, name, element="line", overwrite=True)
        zero[name] = {column: float(getattr(t, column)) for column in _ZERO_SEQ}
    net[LINE_TYPES_KEY] = zero


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
    feeder's x/y as longitude/latitude on WGS 84, whose CRS ``net["bayesgrid"]["crs"]``
    records), one line per feeder line with positive- and zero-sequence data, a transformer
    instead of a line where the voltage level changes, an external grid with the short-circuit
    data ``runpp_3ph`` needs at the source, and one ``asymmetric_load`` per bus that carries a
    load in any realisation. Lines are tagged with the id of the bus they feed, loads with the
    id of their bus.

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
        lon, lat, geo_crs = feeder_lonlat(feeder)
        net.bus["geo"] = bus_geo(lon, lat)
        labels = np.asarray(labels, dtype=np.int64)

        child = feeder.lines
        parent = feeder.parent[child]
        is_trafo = ~np.isclose(vn[child], vn[parent])
        line_child = child[~is_trafo]
        sampled_z = ensemble.r1_ohm_per_km
        if line_child.size:
            lv = vn[line_child] <= LV_MAX_KV
            types = [lv_line if flag else mv_line for flag in lv]
            line_ids = ids[line_child].tolist()
            line_labels = pp.create_lines_from_parameters(
                net,
                from_buses=labels[feeder.parent[line_child]],
                to_buses=labels[line_child],
                length_km=feeder.length_km[line_child],
                name=[f"l_{b}" for b in line_ids],
                type=[t.kind for t in types],
                **line_type_columns(types, net=net, std_type=sampled_z is None),
                **{ID_COLUMN: line_ids, "phases": "ABC"},
            )
            net.line.loc[line_labels, "geo"] = line_geo(
                lon, lat, feeder.parent[line_child], line_child
            )

        trafo_child = child[is_trafo]
        if trafo_child.size:
            tp = feeder.parent[trafo_child]
            hv_is_parent = vn[tp] >= vn[trafo_child]
            hv = np.where(hv_is_parent, tp, trafo_child)
            lv_ = np.where(hv_is_parent, trafo_child, tp)
            sn = branch_trafo_ratings_mva(feeder, ensemble, trafo_child, trafo)
            pp.create_transformers_from_parameters(
                net,
                hv_buses=labels[hv],
                lv_buses=labels[lv_],
                sn_mva=sn,
                vn_hv_kv=vn[hv],
                vn_lv_kv=vn[lv_],
                vkr_percent=trafo.vkr_percent,
                vk_percent=trafo.vk_percent,
                # no-load data go to a shunt at the high-voltage bus (bayesgrid_plugins.no_load)
                pfe_kw=0.0,
                i0_percent=0.0,
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
            p_mw, q_mvar = no_load_shunt(trafo.pfe_kw, trafo.i0_percent, sn)
            for j in range(trafo_child.size):
                pp.create_shunt(
                    net,
                    bus=int(labels[hv[j]]),
                    p_mw=float(p_mw[j]),
                    q_mvar=float(q_mvar[j]),
                    vn_kv=float(vn[hv[j]]),
                    name=f"no_load_{ids[trafo_child[j]]}",
                    **{ID_COLUMN: str(ids[trafo_child[j]])},
                )
            net["bayesgrid_no_load"] = {"pfe_kw": trafo.pfe_kw, "i0_percent": trafo.i0_percent}

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
        "crs": geo_crs,
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
        rows = loads.index[tagged]
        p, q = realisation_values(ensemble, k, pos, loads, rows)
        p, q = np.round(p, MW_DECIMALS), np.round(q, MW_DECIMALS)
        masks = ensemble.load_phases[k, pos]
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
            library = dict(net.get(LINE_TYPES_KEY, None) or {})
            changed |= _set_line_values(net, lines, tagged, index, ensemble, k, library)

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
            changed |= _set_no_load(net, trafo.loc[rows])

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


def _set_no_load(net: Any, trafos: pd.DataFrame) -> bool:
    """Size the no-load shunts of ``trafos`` for their ratings; True if any changed."""
    data = net.get("bayesgrid_no_load", None)
    shunt = net.shunt
    if not data or not len(shunt) or ID_COLUMN not in shunt.columns:
        return False
    rows = pd.Index(shunt[ID_COLUMN]).get_indexer(trafos[ID_COLUMN].to_numpy())
    found = rows >= 0
    if not found.any():
        return False
    labels = shunt.index[rows[found]]
    p_mw, q_mvar = no_load_shunt(
        data["pfe_kw"], data["i0_percent"], trafos["sn_mva"].to_numpy(float)[found]
    )
    changed = not np.allclose(shunt.loc[labels, "q_mvar"].to_numpy(float), q_mvar)
    shunt.loc[labels, "p_mw"] = p_mw
    shunt.loc[labels, "q_mvar"] = q_mvar
    return changed


def _type_values(lines: pd.DataFrame, rows: pd.Index, column: str, library: dict) -> np.ndarray:
    """``column`` of each line's type in ``library`` (by ``std_type``); its own value otherwise."""
    own = lines.loc[rows, column].to_numpy(dtype=float)
    if "std_type" not in lines.columns:
        return own
    names = lines.loc[rows, "std_type"].to_numpy(dtype=object)
    typed = np.asarray(
        [
            float(library.get(n, {}).get(column, np.nan)) if isinstance(n, str) else np.nan
            for n in names
        ],
        dtype=float,
    )
    return np.where(np.isfinite(typed), typed, own)


#: Net key: the standard type of each line (by bayesgrid id) while it is a lateral without its
#: capacitance (no longer that type), so the type and its capacitance come back with three phases.
BARE_LINES_KEY = "bayesgrid_bare_lines"


def _type_names(net: Any, lines: pd.DataFrame, rows: pd.Index) -> np.ndarray:
    """Each line's standard type name, also while it is set aside; None where it has none."""
    bare = dict(net.get(BARE_LINES_KEY, None) or {})
    ids = lines.loc[rows, ID_COLUMN].astype(str).to_numpy()
    if "std_type" in lines.columns:
        named = lines.loc[rows, "std_type"].to_numpy(dtype=object)
    else:
        named = np.full(len(rows), None, dtype=object)
    return np.asarray(
        [n if isinstance(n, str) else bare.get(i) for n, i in zip(named, ids)], dtype=object
    )


def _type_capacitance(
    net: Any, lines: pd.DataFrame, rows: pd.Index, names: np.ndarray, column: str, library: dict
) -> np.ndarray:
    """``c_nf_per_km`` or ``c0_nf_per_km`` of each line's type; the line's own value otherwise."""
    own = lines.loc[rows, column].to_numpy(dtype=float)
    if column == "c_nf_per_km":
        table = net.std_types.get("line", {}) if hasattr(net, "std_types") else {}
    else:
        table = library
    typed = np.asarray(
        [
            float(table.get(n, {}).get(column, np.nan)) if isinstance(n, str) else np.nan
            for n in names
        ],
        dtype=float,
    )
    return np.where(np.isfinite(typed), typed, own)


def _set_bare_types(
    net: Any, lines: pd.DataFrame, rows: pd.Index, names: np.ndarray, bare_now: np.ndarray
) -> None:
    """Clear the type of lines without their capacitance; give it back to the others."""
    bare = dict(net.get(BARE_LINES_KEY, None) or {})
    ids = lines.loc[rows, ID_COLUMN].astype(str).to_numpy()
    named = np.asarray([isinstance(n, str) for n in names])
    if not named.any() and not bare:
        return
    lines["std_type"] = lines["std_type"].astype(object)
    for row, ident, name, flag in zip(rows, ids, names, bare_now):
        if not isinstance(name, str):
            continue
        if flag:
            bare[ident] = name
            lines.at[row, "std_type"] = None
        elif ident in bare:
            lines.at[row, "std_type"] = bare.pop(ident)
    net[BARE_LINES_KEY] = bare


def _line_kind(ensemble: Ensemble, k: int, pos: np.ndarray) -> np.ndarray | None:
    """``"ol"``/``"cs"`` per line from the sampled conductor types, None when not recorded."""
    types = getattr(ensemble, "line_type", None)
    overhead = ensemble.metadata.get("line_type_overhead")
    if types is None or not isinstance(overhead, list) or not overhead:
        return None
    chosen = np.asarray(types[k, pos], dtype=np.int64)
    flag = np.asarray(overhead, dtype=float)[np.clip(chosen, 0, len(overhead) - 1)] > 0.5
    return np.where(flag, "ol", "cs").astype(object)


def _set_line_values(
    net: Any,
    lines: pd.DataFrame,
    tagged: np.ndarray,
    index: pd.Index,
    ensemble: Ensemble,
    k: int,
    library: dict,
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
    for column in _ZERO_SEQ:
        sampled = getattr(ensemble, column)
        if sampled is not None:
            base[column] = np.asarray(sampled[k, pos], dtype=float)
        else:
            base[column] = _type_values(lines, rows, column, library)
    masks = ensemble.bus_phases[k, pos]
    # Real Z0 on every line, partial-phase laterals included: the sequence model then has the
    # self and mutual impedances of the phase-accurate line on the phases that exist.
    values.update(base)
    # No capacitance on partial-phase laterals, as in every engine (bayesgrid_plugins.charging);
    # unsampled, it comes from the line's type when the line is three-phase again.
    names = _type_names(net, lines, rows)
    full = {}
    for column, field in (("c_nf_per_km", "c1_nf_per_km"), ("c0_nf_per_km", "c0_nf_per_km")):
        if getattr(ensemble, field) is None:
            values[column] = _type_capacitance(net, lines, rows, names, column, library)
        full[column] = values[column]
        values[column] = lateral_capacitance(values[column], masks)
    phases = _PHASE_TEXT[masks]
    changed = any(
        not np.array_equal(lines.loc[rows, column].to_numpy(dtype=float), array)
        for column, array in values.items()
    )
    kind = _line_kind(ensemble, k, pos)
    if tagged.all():
        for column, array in values.items():
            lines[column] = array
        lines["phases"] = phases
        if kind is not None:
            lines["type"] = kind
    else:
        for column, array in values.items():
            lines.loc[rows, column] = array
        lines.loc[rows, "phases"] = phases
        if kind is not None:
            lines.loc[rows, "type"] = kind
    if "std_type" in lines.columns and ensemble.r1_ohm_per_km is None:
        # a lateral without its capacitance is no longer its standard type either
        bare_now = (values["c_nf_per_km"] == 0) & (full["c_nf_per_km"] > 0)
        _set_bare_types(net, lines, rows, names, bare_now)
    if ensemble.r1_ohm_per_km is not None and "std_type" in lines.columns:
        # sampled data are no standard type: naming one would contradict the line's values
        sampled_rows = rows[lines.loc[rows, "std_type"].notna().to_numpy()]
        if len(sampled_rows):
            lines["std_type"] = lines["std_type"].astype(object)
            lines.loc[sampled_rows, "std_type"] = None
    return changed
