"""Streets shared among substations, substations' trees cut into feeders, MV and LV layers.

Rules
-----
- **Partition.** One multi-source shortest-path search (Dijkstra by street length) from all
  substation buses at once: each street bus goes to the substation nearest along the streets,
  and the search's predecessors form a shortest-path forest (one tree per substation).
- **Feeders.** Each branch leaving a substation is a feeder. Walking each tree from the leaves
  up, a bus whose subtree would push a feeder past ``max_feeder_kw`` planning demand or
  ``max_feeder_km`` of line cuts its heaviest child subtrees off (the heaviest by the larger of
  the two ratios) until it fits; every cut subtree becomes a feeder of its own, fed from the
  substation by an *express cable* laid along the streets (length = the street distance of its
  head from the substation, no intermediate buses). Every street bus except the substation
  buses belongs to exactly one feeder.
- **LV networks and distribution transformers.** Inside each feeder the same walk groups the
  buses into LV networks of at most ``lv_max_kw`` planning demand and at most ``lv_max_m`` of
  street distance from their root; the root of each group is a *transformer site*, and every
  feeder head is one. Every street bus is an LV bus (``lv_kv``, default 0.4 kV) carrying the
  customers of its span. The MV layer (``mv_kv``, default 20 kV) follows the streets from the
  substation to every site: each street bus on such a path gets an MV twin ``<id>~mv`` at the
  same place, joined to its MV parent by an MV cable of the span's length. At a site the MV twin
  feeds the LV bus through a three-phase MV/LV transformer (a feeder edge of
  :data:`TRAFO_EDGE_KM` whose voltage changes; adapters build a transformer there, not a line).
  Its rating is chosen from the LV network's planning demand
  (:func:`~bayesgrid_plugins.area.equipment.choose_trafo`).
- **Large customers.** A street bus whose planning demand exceeds ``own_site_kw`` (default
  :data:`DEFAULT_OWN_SITE_KW`) is too large for a shared LV network: as utilities connect such
  customers, it gets a transformer of its own (it becomes a site and never joins its parent's
  LV network). The default is what the common largest LV service cable carries at the planning
  margin: a 4 x 150 mm2 Al cable (NAYY 4x150 SE, 275 A: pandapower standard type data, after
  the manufacturers' sheets) carries sqrt(3) x 0.4 kV x 275 A = 190 kVA; over the margin 1.25
  and at power factor 0.95 that is 145 kW.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

from bayesgrid_plugins.reprs import compact_repr

from ..cutting import children as _children
from ..cutting import cut_pass as _cut_pass
from ..errors import FeederValidationError
from ..feeder import DEFAULT_N_ZONES, Feeder
from .equipment import MV_LV_TRAFOS, TrafoType, choose_trafo

__all__ = [
    "DEFAULT_LV_KV",
    "DEFAULT_LV_MAX_KW",
    "DEFAULT_LV_MAX_M",
    "DEFAULT_MAX_FEEDER_KM",
    "DEFAULT_MAX_FEEDER_KW",
    "DEFAULT_MV_KV",
    "DEFAULT_OWN_SITE_KW",
    "MV_SUFFIX",
    "TRAFO_EDGE_KM",
    "AreaFeeder",
    "Partition",
    "build_feeders",
    "partition_streets",
]

#: Medium-voltage line-to-line voltage [kV].
DEFAULT_MV_KV = 20.0
#: Low-voltage line-to-line voltage [kV].
DEFAULT_LV_KV = 0.4
#: Planning demand [kW] one MV feeder may carry.
DEFAULT_MAX_FEEDER_KW = 4000.0
#: Street length [km] one MV feeder may cover.
DEFAULT_MAX_FEEDER_KM = 8.0
#: Planning demand [kW] of one LV network (0.63 MVA transformer at the planning margin).
DEFAULT_LV_MAX_KW = 400.0
#: Street distance [m] from an LV network's transformer to its farthest bus.
DEFAULT_LV_MAX_M = 400.0
#: Planning demand [kW] above which a street bus gets its own MV/LV transformer (the largest
#: common LV service cable, NAYY 4x150 SE at 275 A and 0.4 kV, over the margin 1.25 at PF 0.95).
DEFAULT_OWN_SITE_KW = float(np.sqrt(3.0) * 0.4 * 275.0 / 1.25 * 0.95)
#: Length [km] written for a transformer edge of a feeder (ignored by the adapters).
TRAFO_EDGE_KM = 0.001
#: Suffix of the MV twin of a street bus.
MV_SUFFIX = "~mv"


@dataclass(frozen=True, eq=False)
class Partition:
    """The street buses shared among substations and cut into feeders.

    Attributes
    ----------
    owner : ndarray of int
        Substation index of each span bus.
    parent : ndarray of int
        Parent in the shortest-path forest (-1 at substation buses).
    distance_km : ndarray of float
        Street distance [km] to the owning substation.
    head : ndarray of bool
        Feeder heads (first bus of a feeder).
    feeder_of : ndarray of int
        Feeder index of each bus (-1 at substation buses).
    site : ndarray of bool
        Transformer sites (roots of LV networks).
    site_of : ndarray of int
        Site bus of each bus's LV network (-1 at substation buses).
    mv : ndarray of bool
        Street buses that have an MV twin.
    heads : ndarray of int
        Head bus of each feeder, in feeder order.
    span_km : ndarray of float
        Length [km] of the span into each bus of the forest (0 at substation buses).
    """

    owner: np.ndarray
    parent: np.ndarray
    distance_km: np.ndarray
    head: np.ndarray
    feeder_of: np.ndarray
    site: np.ndarray
    site_of: np.ndarray
    mv: np.ndarray
    heads: np.ndarray
    span_km: np.ndarray


def partition_streets(
    n_buses: int,
    span_a: np.ndarray,
    span_b: np.ndarray,
    span_length_m: np.ndarray,
    sources: np.ndarray,
    demand_kw: np.ndarray,
    *,
    max_feeder_kw: float = DEFAULT_MAX_FEEDER_KW,
    max_feeder_km: float = DEFAULT_MAX_FEEDER_KM,
    lv_max_kw: float = DEFAULT_LV_MAX_KW,
    lv_max_m: float = DEFAULT_LV_MAX_M,
    own_site_kw: float | None = DEFAULT_OWN_SITE_KW,
) -> Partition:
    """Share the span graph among ``sources`` and cut it into feeders and LV networks.

    See the module documentation for the rules. ``sources`` are span bus indices (distinct);
    ``own_site_kw`` [kW]: buses above it get their own transformer (None: no such rule).
    """
    sources = np.asarray(sources, dtype=np.int64)
    if np.unique(sources).size != sources.size:
        raise FeederValidationError("two substations sit on the same street bus; merge them.")
    graph = csr_array((span_length_m, (span_a, span_b)), shape=(n_buses, n_buses))
    dist, pred, src = dijkstra(
        graph, directed=False, indices=sources, return_predecessors=True, min_only=True
    )
    unreached = ~np.isfinite(dist)
    if unreached.any():
        raise FeederValidationError(
            f"{int(unreached.sum())} street buses cannot be reached from any substation: the "
            "street network is not connected; use its largest connected component."
        )
    owner = np.searchsorted(np.sort(sources), src)
    owner = np.argsort(sources)[owner]  # index into `sources`
    parent = pred.astype(np.int64)
    parent[sources] = -1
    child = np.flatnonzero(parent >= 0)
    key = span_a * n_buses + span_b
    lo, hi = np.minimum(parent[child], child), np.maximum(parent[child], child)
    order_keys = np.argsort(key)
    pos = order_keys[np.searchsorted(key[order_keys], lo * n_buses + hi)]
    span_km = np.zeros(n_buses)
    span_km[child] = span_length_m[pos] / 1000.0
    dist_km = dist / 1000.0

    order = np.argsort(dist, kind="stable").tolist()  # parents before children
    kids = _children(parent)
    is_source = np.zeros(n_buses, dtype=bool)
    is_source[sources] = True
    demand = np.where(is_source, 0.0, np.asarray(demand_kw, dtype=float))

    # Feeders: children of substations are heads; long or heavy branches are cut into more.
    head = np.zeros(n_buses, dtype=bool)
    head[child[is_source[parent[child]]]] = True
    cut = _cut_pass(
        order, kids, head | is_source, demand, span_km, max_feeder_kw, max_feeder_km, reach=False
    )
    head |= cut
    # LV networks inside feeders; large customers are the root of their own.
    large = np.zeros(n_buses, dtype=bool)
    if own_site_kw is not None:
        large = demand > float(own_site_kw)
    site = _cut_pass(
        order,
        kids,
        head | is_source | large,
        demand,
        span_km * 1000.0,
        lv_max_kw,
        lv_max_m,
        reach=True,
    )
    site |= head | large

    heads = np.asarray([v for v in order if head[v]], dtype=np.int64)
    feeder_index = np.full(n_buses, -1, dtype=np.int64)
    feeder_index[heads] = np.arange(heads.size)
    feeder_of = np.full(n_buses, -1, dtype=np.int64)
    site_of = np.full(n_buses, -1, dtype=np.int64)
    fo, so = feeder_of.tolist(), site_of.tolist()
    par = parent.tolist()
    fi, hd, st = feeder_index.tolist(), head.tolist(), site.tolist()
    for v in order:
        if par[v] < 0:
            continue
        fo[v] = fi[v] if hd[v] else fo[par[v]]
        so[v] = v if st[v] else so[par[v]]
    mv = site.copy()
    mv_l = mv.tolist()
    for v in reversed(order):
        if mv_l[v] and not hd[v] and par[v] >= 0:
            mv_l[par[v]] = True
    return Partition(
        owner=owner.astype(np.int64),
        parent=parent,
        distance_km=dist_km,
        head=head,
        feeder_of=np.asarray(fo, dtype=np.int64),
        site=site,
        site_of=np.asarray(so, dtype=np.int64),
        mv=np.asarray(mv_l, dtype=bool),
        heads=heads,
        span_km=span_km,
    )


@dataclass(frozen=True, eq=False)
class AreaFeeder:
    """One MV feeder of the area with its LV networks.

    Attributes
    ----------
    feeder : Feeder
        The radial feeder: the substation bus (source), MV twins (``<id>~mv``, ``mv_kv``) and
        the LV street buses (``lv_kv``, carrying the loads).
    substation : int
        Index of its substation.
    head : int
        Span bus index of its first street bus.
    express_km : float
        Length [km] of the express cable from the substation to the head (0 when the head is
        next to the substation, where the first span is the feeder's first cable).
    span : ndarray of int
        Span bus index of each feeder bus (the source: the substation's bus).
    sites : ndarray of int
        Feeder bus indices of the LV buses fed by a transformer.
    trafos : tuple of TrafoType
        The MV/LV transformer type at each site.
    site_demand_kw : ndarray of float
        Planning demand [kW] of each site's LV network.
    """

    feeder: Feeder
    substation: int
    head: int
    express_km: float
    span: np.ndarray
    sites: np.ndarray
    trafos: tuple[TrafoType, ...]
    site_demand_kw: np.ndarray

    def __repr__(self) -> str:
        return compact_repr(
            "AreaFeeder",
            buses=self.feeder.n_buses,
            substation=int(self.substation),
            lv_sites=int(np.asarray(self.sites).size),
            length_km=float(np.sum(self.feeder.length_km)),
        )

    @property
    def mv_buses(self) -> np.ndarray:
        """Feeder bus indices at medium voltage (the source included)."""
        vn = self.feeder.vn_kv
        return np.flatnonzero(vn > vn.min())


def build_feeders(
    part: Partition,
    bus_id: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    crs: str | None,
    is_load: np.ndarray,
    demand_kw: np.ndarray,
    sources: np.ndarray,
    *,
    mv_kv: float = DEFAULT_MV_KV,
    lv_kv: float = DEFAULT_LV_KV,
    n_zones: int = DEFAULT_N_ZONES,
) -> list[AreaFeeder]:
    """One :class:`AreaFeeder` per feeder head of ``part`` (see the module documentation)."""
    span_km = part.span_km
    feeders = []
    site_demand = np.bincount(
        part.site_of[part.site_of >= 0],
        weights=demand_kw[part.site_of >= 0],
        minlength=bus_id.size,
    )
    for f, h in enumerate(part.heads.tolist()):
        members = np.flatnonzero(part.feeder_of == f)
        members = members[np.argsort(part.distance_km[members], kind="stable")]
        twins = members[part.mv[members]]
        s = int(sources[part.owner[h]])
        m_lv = members.size
        n_mv = twins.size
        # Layout: [source] + MV twins + LV buses.
        lv_pos = np.full(bus_id.size, -1, dtype=np.int64)
        lv_pos[members] = 1 + n_mv + np.arange(m_lv)
        mv_pos = np.full(bus_id.size, -1, dtype=np.int64)
        mv_pos[twins] = 1 + np.arange(n_mv)
        n = 1 + n_mv + m_lv
        parent = np.full(n, -1, dtype=np.int64)
        length = np.zeros(n)
        # MV twins.
        tp = part.parent[twins]
        parent[mv_pos[twins]] = np.where(twins == h, 0, mv_pos[np.where(twins == h, h, tp)])
        length[mv_pos[twins]] = np.where(twins == h, part.distance_km[h], span_km[twins])
        # LV buses.
        is_site = part.site[members]
        lp = part.parent[members]
        parent[lv_pos[members]] = np.where(
            is_site, mv_pos[members], lv_pos[np.where(is_site, members, lp)]
        )
        length[lv_pos[members]] = np.where(is_site, TRAFO_EDGE_KM, span_km[members])
        ids = np.concatenate(
            [[bus_id[s]], np.char.add(bus_id[twins].astype(str), MV_SUFFIX), bus_id[members]]
        )
        span = np.concatenate([[s], twins, members])
        vn = np.concatenate([[mv_kv], np.full(n_mv, mv_kv), np.full(m_lv, lv_kv)])
        load = np.concatenate([[False], np.zeros(n_mv, dtype=bool), is_load[members]])
        demand = np.concatenate([[0.0], np.zeros(n_mv), demand_kw[members]])
        feeder = Feeder(
            bus_id=ids,
            parent=parent,
            length_km=length,
            x=x[span],
            y=y[span],
            crs=crs,
            vn_kv=vn,
            is_load=load,
            demand_kw=demand,
            n_zones=n_zones,
        )
        site_members = members[is_site]
        demand_sites = site_demand[site_members]
        feeders.append(
            AreaFeeder(
                feeder=feeder,
                substation=int(part.owner[h]),
                head=int(h),
                express_km=float(part.distance_km[h]) if part.parent[h] != s else 0.0,
                span=span,
                sites=lv_pos[site_members],
                trafos=tuple(choose_trafo(d, MV_LV_TRAFOS) for d in demand_sites),
                site_demand_kw=demand_sites,
            )
        )
    return feeders
