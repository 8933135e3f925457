"""The transmission layer: OSM power lines and substations joined to the distribution substations.

Rules
-----
- **Voltage of a line**: the highest value of its ``voltage`` tag. A line without the tag takes
  the most common voltage of the tagged lines it shares a node with (directly or through other
  untagged lines), else ``default_kv`` (110 kV). Lines below ``min_kv`` (30 kV) are medium
  voltage and are left out: the MV layer comes from the streets.
- **Topology**: the lines' OSM nodes are merged into junctions and chains of towers as in the
  street graph (:meth:`~bayesgrid_plugins.topology.streets.RawStreets.simplify`); lengths are
  great-circle lengths along the towers. A line's ``circuits`` tag (else ``cables // 3``) gives
  the number of parallel circuits.
- **Substations in the grid**: a junction within ``attach_m`` (150 m) of an OSM substation's
  outline (its radius around its centre) is the substation's busbar of that voltage. Where one
  substation holds busbars of several voltages, HV/HV transformers join them
  (:data:`~bayesgrid_plugins.area.equipment.HV_HV_TRAFOS`).
- **Slack**: the substation busbar of highest voltage (where the area's grid is fed from
  outside); without any busbar, the line junction of highest voltage (lines cut at the area's
  edge end in junctions). Only the connected part holding the slack is kept.
- **Distribution substations**: an OSM substation with a busbar in that part connects through
  its lowest-voltage busbar. Any other gets a *synthetic* line, at the voltage of the nearest
  busbar or junction of the kept part, of ``detour`` (1.3) times the straight distance (at least
  100 m), ending at a new HV busbar ``<substation>~hv``. Without any transmission line in the
  area, the distribution substation of largest demand holds the slack at ``default_kv`` and the
  others reach it by synthetic lines.
- **Parameters**: overhead line types by voltage (:mod:`~bayesgrid_plugins.area.equipment`).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from ..topology.geo import haversine_m
from ..topology.streets import RawStreets
from .equipment import HV_HV_TRAFOS, OverheadLineType, TrafoType, line_type_for
from .placement import Substation
from .power_osm import PowerFeatures

__all__ = [
    "DEFAULT_ATTACH_M",
    "DEFAULT_DETOUR",
    "DEFAULT_HV_KV",
    "DEFAULT_MIN_KV",
    "Transmission",
    "build_transmission",
]

logger = logging.getLogger(__name__)

#: Voltage [kV] of lines without a usable voltage tag, and of a synthetic grid.
DEFAULT_HV_KV = 110.0
#: Lines below this voltage [kV] are not transmission.
DEFAULT_MIN_KV = 30.0
#: A line junction this close [m] to a substation's outline is its busbar.
DEFAULT_ATTACH_M = 150.0
#: Synthetic lines are this many times the straight distance.
DEFAULT_DETOUR = 1.3
_MIN_SYNTHETIC_KM = 0.1


@dataclass(frozen=True, eq=False)
class Transmission:
    """The transmission layer as arrays of buses, lines and transformers.

    Attributes
    ----------
    bus_id : ndarray of str
        ``"t<kv>_<osm node>"`` junctions, ``"<substation>@<kv>"`` substation busbars,
        ``"<substation>~hv"`` ends of synthetic lines.
    lon, lat : ndarray of float
        Positions [deg].
    vn_kv : ndarray of float
        Nominal line-to-line voltage [kV].
    kind : ndarray of str
        ``"junction"``, ``"busbar"`` or ``"synthetic"``.
    slack : int
        The bus behind which the rest of the grid is an ideal source.
    line_from, line_to : ndarray of int
        End buses of each line.
    line_length_km, line_kv : ndarray of float
        Length [km] and voltage [kV].
    line_parallel : ndarray of int
        Parallel circuits.
    line_type : tuple of OverheadLineType
        Parameters per circuit.
    line_synthetic : ndarray of bool
        Lines made by the rule rather than read from OSM.
    line_osm_id : ndarray of int
        OSM way id (-1 for synthetic lines).
    line_geometry : list of ndarray
        ``(k, 2)`` lon/lat points of each line.
    trafo_hv, trafo_lv : ndarray of int
        HV/HV transformers between busbars of one substation.
    trafo_type : tuple of TrafoType
        Their types.
    substation_bus : ndarray of int
        HV bus of each distribution substation (aligned with the area's substations).
    notes : list of str
        What the rules did (synthetic lines, defaulted voltages).
    """

    bus_id: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    vn_kv: np.ndarray
    kind: np.ndarray
    slack: int
    line_from: np.ndarray
    line_to: np.ndarray
    line_length_km: np.ndarray
    line_kv: np.ndarray
    line_parallel: np.ndarray
    line_type: tuple[OverheadLineType, ...]
    line_synthetic: np.ndarray
    line_osm_id: np.ndarray
    line_geometry: list[np.ndarray]
    trafo_hv: np.ndarray
    trafo_lv: np.ndarray
    trafo_type: tuple[TrafoType, ...]
    substation_bus: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def n_buses(self) -> int:
        """Number of buses."""
        return int(self.bus_id.size)

    @property
    def n_lines(self) -> int:
        """Number of lines."""
        return int(self.line_from.size)

    def summary(self) -> str:
        """One line: buses, lines (OSM and synthetic), voltages, slack."""
        volts = sorted(set(np.round(self.vn_kv, 3).tolist()), reverse=True)
        return (
            f"transmission: {self.n_buses} buses at {', '.join(f'{v:g}' for v in volts)} kV, "
            f"{int((~self.line_synthetic).sum())} OSM lines "
            f"({self.line_length_km[~self.line_synthetic].sum():.2f} km), "
            f"{int(self.line_synthetic.sum())} synthetic lines, {self.trafo_hv.size} HV/HV "
            f"transformers, slack {self.bus_id[self.slack]}"
        )


def _line_voltages(power: PowerFeatures, default_kv: float) -> tuple[np.ndarray, list[str]]:
    """Voltage [kV] of each line piece (see the module rules) and notes."""
    n = power.n_lines
    kv = np.asarray([max(v) if v else np.nan for v in power.line_kv], dtype=float)
    notes: list[str] = []
    if n == 0 or not np.isnan(kv).any():
        return kv, notes
    refs = np.concatenate(power.line_nodes)
    piece = np.repeat(np.arange(n), [r.size for r in power.line_nodes])
    uniq, node = np.unique(refs, return_inverse=True)
    m = uniq.size
    graph = coo_array((np.ones(refs.size), (piece, n + node)), shape=(n + m, n + m)).tocsr()
    _, label = connected_components(graph, directed=False)
    filled = 0
    for comp in np.unique(label[:n][np.isnan(kv)]):
        members = np.flatnonzero(label[:n] == comp)
        tagged = kv[members][np.isfinite(kv[members])]
        value = Counter(tagged.tolist()).most_common(1)[0][0] if tagged.size else np.nan
        untagged = members[np.isnan(kv[members])]
        if np.isfinite(value):
            kv[untagged] = value
            filled += untagged.size
    defaulted = int(np.isnan(kv).sum())
    kv[np.isnan(kv)] = default_kv
    if filled:
        notes.append(f"{filled} line pieces without voltage took a connected line's voltage")
    if defaulted:
        notes.append(f"{defaulted} line pieces without voltage set to {default_kv:g} kV")
    return kv, notes


def build_transmission(
    power: PowerFeatures,
    substations: list[Substation],
    substation_demand_kw: np.ndarray,
    *,
    default_kv: float = DEFAULT_HV_KV,
    min_kv: float = DEFAULT_MIN_KV,
    attach_m: float = DEFAULT_ATTACH_M,
    detour: float = DEFAULT_DETOUR,
) -> Transmission:
    """The transmission layer joining ``substations`` to one slack (see the module rules)."""
    kv, notes = _line_voltages(power, default_kv)
    keep = np.flatnonzero(kv >= min_kv) if kv.size else np.zeros(0, dtype=np.int64)
    if kv.size and keep.size < kv.size:
        notes.append(f"{kv.size - keep.size} line pieces below {min_kv:g} kV left out")

    bus_key: dict[tuple, int] = {}
    b_lon: list[float] = []
    b_lat: list[float] = []
    b_kv: list[float] = []
    b_kind: list[str] = []
    b_id: list[str] = []

    def add_bus(key: tuple, ident: str, lon: float, lat: float, volt: float, kind: str) -> int:
        if key not in bus_key:
            bus_key[key] = len(b_id)
            b_id.append(ident)
            b_lon.append(float(lon))
            b_lat.append(float(lat))
            b_kv.append(float(volt))
            b_kind.append(kind)
        return bus_key[key]

    lf: list[int] = []
    lt: list[int] = []
    l_len: list[float] = []
    l_kv: list[float] = []
    l_par: list[int] = []
    l_syn: list[bool] = []
    l_osm: list[int] = []
    l_geom: list[np.ndarray] = []
    sub_busbars: dict[str, dict[float, int]] = {}

    if keep.size:
        nodes = [power.line_nodes[i] for i in keep]
        raw = RawStreets.from_ways(
            np.concatenate(nodes),
            np.concatenate([power.line_lon[i] for i in keep]),
            np.concatenate([power.line_lat[i] for i in keep]),
            np.repeat(np.arange(keep.size), [r.size for r in nodes]),
            np.arange(keep.size),
        )
        net = raw.simplify()
        junctions = net.junctions
        # Attach junctions to the nearest substation whose outline (+ attach_m) holds them.
        attached = np.full(raw.node_id.size, -1, dtype=np.int64)
        if power.n_substations:
            d = haversine_m(
                raw.lon[junctions][:, None],
                raw.lat[junctions][:, None],
                power.sub_lon[None, :],
                power.sub_lat[None, :],
            )
            reach = power.sub_radius_m[None, :] + attach_m
            d = np.where(d <= reach, d, np.inf)
            best = np.argmin(d, axis=1)
            ok = np.isfinite(d[np.arange(junctions.size), best])
            attached[junctions[ok]] = best[ok]

        def endpoint(j: int, volt: float) -> int:
            s = int(attached[j])
            if s >= 0:
                sid = power.sub_id[s]
                b = add_bus(
                    ("s", s, volt),
                    f"{sid}@{volt:g}",
                    power.sub_lon[s],
                    power.sub_lat[s],
                    volt,
                    "busbar",
                )
                sub_busbars.setdefault(sid, {})[volt] = b
                return b
            return add_bus(
                ("j", j, volt),
                f"t{volt:g}_{raw.node_id[j]}",
                raw.lon[j],
                raw.lat[j],
                volt,
                "junction",
            )

        for e, (u, v) in enumerate(zip(net.u.tolist(), net.v.tolist())):
            piece = keep[int(net.way_id[e])]
            volt = float(kv[piece])
            a, b = endpoint(u, volt), endpoint(v, volt)
            if a == b:
                continue
            g = net.geometry[net.geometry_ptr[e] : net.geometry_ptr[e + 1]]
            lf.append(a)
            lt.append(b)
            l_len.append(float(net.length_m[e]) / 1000.0)
            l_kv.append(volt)
            l_par.append(int(power.line_circuits[piece]))
            l_syn.append(False)
            l_osm.append(int(power.line_id[piece]))
            l_geom.append(np.column_stack([raw.lon[g], raw.lat[g]]))

    th: list[int] = []
    tl: list[int] = []
    tt: list[TrafoType] = []
    for busbars in sub_busbars.values():
        volts = sorted(busbars, reverse=True)
        for hi, lo in pairwise(volts):
            th.append(busbars[hi])
            tl.append(busbars[lo])
            hv_volts = np.asarray([float(t.name.split()[2].split("/")[0]) for t in HV_HV_TRAFOS])
            tt.append(HV_HV_TRAFOS[int(np.argmin(np.abs(hv_volts - hi)))])

    n_sub = len(substations)
    demand = np.asarray(substation_demand_kw, dtype=float)
    main = np.zeros(0, dtype=np.int64)
    slack = -1
    if b_id:
        n = len(b_id)
        ends_a = np.asarray(lf + th, dtype=np.int64)
        ends_b = np.asarray(lt + tl, dtype=np.int64)
        graph = coo_array((np.ones(ends_a.size), (ends_a, ends_b)), shape=(n, n)).tocsr()
        _, label = connected_components(graph, directed=False)
        bus_kv = np.asarray(b_kv)
        busbar = np.asarray(b_kind) == "busbar"
        slack = int(np.lexsort((np.arange(n), -bus_kv, ~busbar))[0])
        main = np.flatnonzero(label == label[slack])
        if main.size < n:
            notes.append(f"{n - main.size} transmission buses not connected to the slack left out")
        # Renumber to the main part.
        new = np.full(n, -1, dtype=np.int64)
        new[main] = np.arange(main.size)
        keep_l = [k for k in range(len(lf)) if new[lf[k]] >= 0]
        lf = [int(new[lf[k]]) for k in keep_l]
        lt = [int(new[lt[k]]) for k in keep_l]
        l_len = [l_len[k] for k in keep_l]
        l_kv = [l_kv[k] for k in keep_l]
        l_par = [l_par[k] for k in keep_l]
        l_syn = [l_syn[k] for k in keep_l]
        l_osm = [l_osm[k] for k in keep_l]
        l_geom = [l_geom[k] for k in keep_l]
        keep_t = [k for k in range(len(th)) if new[th[k]] >= 0]
        th = [int(new[th[k]]) for k in keep_t]
        tl = [int(new[tl[k]]) for k in keep_t]
        tt = [tt[k] for k in keep_t]
        b_id = [b_id[i] for i in main]
        b_lon = [b_lon[i] for i in main]
        b_lat = [b_lat[i] for i in main]
        b_kv = [b_kv[i] for i in main]
        b_kind = [b_kind[i] for i in main]
        slack = int(new[slack])
        sub_busbars = {
            sid: {v: int(new[b]) for v, b in bb.items() if new[b] >= 0}
            for sid, bb in sub_busbars.items()
        }

    substation_bus = np.full(n_sub, -1, dtype=np.int64)
    if slack < 0:
        # No transmission line: the substation of largest demand holds the slack.
        first = int(np.argmax(demand)) if n_sub else 0
        s = substations[first]
        slack = len(b_id)
        b_id.append(f"{s.id}~hv")
        b_lon.append(s.lon)
        b_lat.append(s.lat)
        b_kv.append(float(default_kv))
        b_kind.append("synthetic")
        substation_bus[first] = slack
        notes.append(
            f"no transmission line in the area: a {default_kv:g} kV slack at substation {s.id}"
        )
    for i, s in enumerate(substations):
        if substation_bus[i] >= 0:
            continue
        busbars = sub_busbars.get(s.id, {})
        if busbars:
            substation_bus[i] = busbars[min(busbars)]
            continue
        lon_arr, lat_arr = np.asarray(b_lon), np.asarray(b_lat)
        d = haversine_m(s.lon, s.lat, lon_arr, lat_arr)
        target = int(np.argmin(d))
        volt = b_kv[target]
        bus = len(b_id)
        b_id.append(f"{s.id}~hv")
        b_lon.append(s.lon)
        b_lat.append(s.lat)
        b_kv.append(volt)
        b_kind.append("synthetic")
        lf.append(target)
        lt.append(bus)
        l_len.append(max(detour * float(d[target]) / 1000.0, _MIN_SYNTHETIC_KM))
        l_kv.append(volt)
        l_par.append(1)
        l_syn.append(True)
        l_osm.append(-1)
        l_geom.append(np.asarray([[lon_arr[target], lat_arr[target]], [s.lon, s.lat]]))
        substation_bus[i] = bus
        notes.append(
            f"substation {s.id}: synthetic {volt:g} kV line of {l_len[-1]:.2f} km to {b_id[target]}"
        )
    result = Transmission(
        bus_id=np.asarray(b_id, dtype=str),
        lon=np.asarray(b_lon, dtype=float),
        lat=np.asarray(b_lat, dtype=float),
        vn_kv=np.asarray(b_kv, dtype=float),
        kind=np.asarray(b_kind, dtype=str),
        slack=int(slack),
        line_from=np.asarray(lf, dtype=np.int64),
        line_to=np.asarray(lt, dtype=np.int64),
        line_length_km=np.asarray(l_len, dtype=float),
        line_kv=np.asarray(l_kv, dtype=float),
        line_parallel=np.asarray(l_par, dtype=np.int64),
        line_type=tuple(line_type_for(v) for v in l_kv),
        line_synthetic=np.asarray(l_syn, dtype=bool),
        line_osm_id=np.asarray(l_osm, dtype=np.int64),
        line_geometry=l_geom,
        trafo_hv=np.asarray(th, dtype=np.int64),
        trafo_lv=np.asarray(tl, dtype=np.int64),
        trafo_type=tuple(tt),
        substation_bus=substation_bus,
        notes=notes,
    )
    logger.info("%s", result.summary())
    return result
