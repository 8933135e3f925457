"""From a street graph to a radial feeder: spans, shortest-path tree, loads and demand.

Rules
-----
- **Spans.** Every street edge of length ``L`` is cut into ``ceil(L / max_span_m)`` equal spans
  along its geometry (at least three for a street that loops back to its own junction), so no
  span is longer than ``max_span_m``. The cut points become buses. All streets are cut before the
  tree is built, so every street keeps its buses.
- **Tree.** The feeder is the shortest-path tree by length (Dijkstra) from the substation bus over
  the span graph: every bus is fed along its shortest street route, and each street loop is
  opened at one span (where the two routes round it meet). A bus's ``distance_km`` therefore
  equals its shortest street distance from the substation.
- **Loads.** Every bus except the source is a load (``loads="all"``), or only the buses that have
  building footprint area assigned (``loads="buildings"``).
- **Demand.** Each footprint (closed ``building=*`` way) is assigned to the nearest bus within
  ``building_max_distance_m`` of its centroid; the bus's weight is the assigned footprint area. The
  load buses' ``demand_kw`` is ``mean_demand_kw * area / mean(area over load buses)``, so it
  averages ``mean_demand_kw``. Without any footprint in reach every load bus gets
  ``mean_demand_kw``.
- **Voltage.** Every bus is at the primary voltage ``vn_kv`` (default 13.8 kV): the feeder is the
  medium-voltage primary; low-voltage secondaries are not modelled (each bus stands for the
  distribution transformers and customers it aggregates).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

from ..errors import FeederValidationError, ParameterError
from ..feeder import DEFAULT_N_ZONES, Feeder
from .geo import haversine_m, to_utm, utm_crs
from .osm import Buildings
from .streets import StreetNetwork

__all__ = [
    "DEFAULT_MAX_SPAN_M",
    "DEFAULT_MEAN_DEMAND_KW",
    "DEFAULT_VN_KV",
    "SUBSTATION_SNAP_M",
    "RadialBuild",
    "SpanGraph",
    "build_radial",
    "nearest_junction",
    "subdivide",
]

#: Longest span [m] between two buses (pole spacing scale on urban streets).
DEFAULT_MAX_SPAN_M = 50.0
#: Primary (medium-voltage) line-to-line voltage [kV].
DEFAULT_VN_KV = 13.8
#: Average aggregated demand per load bus [kW].
DEFAULT_MEAN_DEMAND_KW = 10.0
#: A footprint farther than this [m] from every bus is not counted.
DEFAULT_BUILDING_MAX_DISTANCE_M = 100.0
#: A substation point farther than this [m] from every street junction is refused.
SUBSTATION_SNAP_M = 1000.0


@dataclass(frozen=True, eq=False)
class SpanGraph:
    """Buses (junctions and cut points) and the spans between them.

    Attributes
    ----------
    bus_id : ndarray of str
        ``"n<osm node id>"`` for junctions, ``"e<edge>.<k>"`` for the k-th cut point of edge
        ``<edge>`` of the street network.
    lon, lat : ndarray of float
        Bus positions [deg].
    junction : ndarray of int64
        Raw street node index of each junction bus (-1 for cut points).
    edge, offset_m : ndarray
        Street edge of each cut point and its distance [m] from the edge's ``u`` end (-1 and 0
        for junctions).
    span_a, span_b : ndarray of int64
        Bus indices of each span (``span_a < span_b``, no duplicates).
    span_length_m : ndarray of float
        Span lengths [m].
    """

    bus_id: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    junction: np.ndarray
    edge: np.ndarray
    offset_m: np.ndarray
    span_a: np.ndarray
    span_b: np.ndarray
    span_length_m: np.ndarray

    @property
    def n_buses(self) -> int:
        """Number of buses."""
        return int(self.bus_id.size)


def check_positive(name: str, value: float) -> float:
    """``value`` as a float; a :class:`ParameterError` names ``name`` unless it is positive."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a positive number, got {value!r}.") from None
    if not (math.isfinite(out) and out > 0):
        raise ParameterError(f"{name}={value!r} must be positive and finite.")
    return out


def subdivide(streets: StreetNetwork, *, max_span_m: float = DEFAULT_MAX_SPAN_M) -> SpanGraph:
    """Cut every street edge into equal spans no longer than ``max_span_m`` [m]."""
    max_span_m = check_positive("max_span_m", max_span_m)
    raw = streets.raw
    junctions = streets.junctions
    n_j = junctions.size
    length = streets.length_m
    n_spans = np.maximum(np.ceil(length / max_span_m).astype(np.int64), 1)
    n_spans[streets.u == streets.v] = np.maximum(n_spans[streets.u == streets.v], 3)
    n_cut = n_spans - 1
    cut_base = n_j + np.concatenate([[0], np.cumsum(n_cut)[:-1]]).astype(np.int64)
    total_cut = int(n_cut.sum())

    # Cut points: global arc-length positions along the concatenated geometries.
    geom, ptr = streets.geometry, streets.geometry_ptr
    step = np.zeros(geom.size)
    step[1:] = haversine_m(
        raw.lon[geom[:-1]], raw.lat[geom[:-1]], raw.lon[geom[1:]], raw.lat[geom[1:]]
    )
    step[ptr[:-1]] = 0.0
    cum = np.cumsum(step)
    cut_edge = np.repeat(np.arange(streets.n_edges), n_cut)
    k = np.arange(total_cut) - np.repeat(cut_base - n_j, n_cut) + 1
    offset = k * (length / n_spans)[cut_edge]
    target = cum[ptr[:-1]][cut_edge] + offset
    j = np.searchsorted(cum, target, side="right")
    j = np.clip(j, ptr[:-1][cut_edge] + 1, ptr[1:][cut_edge] - 1)
    seg = cum[j] - cum[j - 1]
    frac = np.clip((target - cum[j - 1]) / np.where(seg > 0, seg, 1.0), 0.0, 1.0)
    p0, p1 = geom[j - 1], geom[j]
    cut_lon = raw.lon[p0] + frac * (raw.lon[p1] - raw.lon[p0])
    cut_lat = raw.lat[p0] + frac * (raw.lat[p1] - raw.lat[p0])

    # Spans: bus(u), cut 1, ..., cut n-1, bus(v) along each edge.
    bus_u = np.searchsorted(junctions, streets.u)
    bus_v = np.searchsorted(junctions, streets.v)
    span_edge = np.repeat(np.arange(streets.n_edges), n_spans)
    start = np.concatenate([[0], np.cumsum(n_spans)[:-1]])
    kk = np.arange(int(n_spans.sum())) - np.repeat(start, n_spans)
    last = kk == n_spans[span_edge] - 1
    a = np.where(kk == 0, bus_u[span_edge], cut_base[span_edge] + kk - 1)
    b = np.where(last, bus_v[span_edge], cut_base[span_edge] + kk)
    span_len = (length / n_spans)[span_edge]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    lo, hi, span_len = lo[keep], hi[keep], span_len[keep]
    n_bus = n_j + total_cut
    order = np.lexsort((span_len, hi, lo))  # shortest first among parallel spans
    key = lo[order] * n_bus + hi[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    sel = order[first]

    bus_id = np.concatenate(
        [
            np.char.add("n", raw.node_id[junctions].astype(str)),
            np.char.add(np.char.add("e", cut_edge.astype(str)), np.char.add("_", k.astype(str))),
        ]
    )
    return SpanGraph(
        bus_id=bus_id,
        lon=np.concatenate([raw.lon[junctions], cut_lon]),
        lat=np.concatenate([raw.lat[junctions], cut_lat]),
        junction=np.concatenate([junctions, np.full(total_cut, -1, dtype=np.int64)]),
        edge=np.concatenate([np.full(n_j, -1, dtype=np.int64), cut_edge]),
        offset_m=np.concatenate([np.zeros(n_j), offset]),
        span_a=lo[sel],
        span_b=hi[sel],
        span_length_m=span_len[sel],
    )


def nearest_junction(
    streets: StreetNetwork, point: tuple[float, float], *, max_distance_m: float = SUBSTATION_SNAP_M
) -> int:
    """Raw index of the street junction nearest ``point`` = ``(lat, lon)`` [deg].

    Raises
    ------
    FeederValidationError
        If the nearest junction is farther than ``max_distance_m`` [m] (the point lies outside
        the streets of the area).
    """
    junctions = streets.junctions
    lat, lon = point
    dist = haversine_m(lon, lat, streets.raw.lon[junctions], streets.raw.lat[junctions])
    best = int(np.argmin(dist))
    if dist[best] > max_distance_m:
        raw = streets.raw
        raise FeederValidationError(
            f"substation point (lat, lon) = ({lat:.5f}, {lon:.5f}) is {dist[best]:.0f} m from the "
            f"nearest street of the feeder area (limit {max_distance_m:.0f} m): it lies outside "
            f"the area, whose streets span lon {raw.lon[junctions].min():.4f}.."
            f"{raw.lon[junctions].max():.4f}, lat {raw.lat[junctions].min():.4f}.."
            f"{raw.lat[junctions].max():.4f}. Pass a point inside it (as (lat, lon))."
        )
    return int(junctions[best])


@dataclass(frozen=True, eq=False)
class RadialBuild:
    """The feeder built from a street network, with the geographic arrays it came from."""

    feeder: Feeder
    spans: SpanGraph
    footprint_m2: np.ndarray


def build_radial(
    streets: StreetNetwork,
    substation: int,
    *,
    max_span_m: float = DEFAULT_MAX_SPAN_M,
    vn_kv: float = DEFAULT_VN_KV,
    n_zones: int = DEFAULT_N_ZONES,
    buildings: Buildings | None = None,
    loads: str = "all",
    mean_demand_kw: float = DEFAULT_MEAN_DEMAND_KW,
    building_max_distance_m: float = DEFAULT_BUILDING_MAX_DISTANCE_M,
) -> RadialBuild:
    """Radial feeder over ``streets`` fed from the junction ``substation`` (raw node index).

    See the module documentation for the rules. Coordinates ``x``, ``y`` are in the UTM zone of
    the substation (``feeder.crs``); the returned spans keep lon/lat.
    """
    vn_kv = check_positive("vn_kv", vn_kv)
    mean_demand_kw = check_positive("mean_demand_kw", mean_demand_kw)
    building_max_distance_m = check_positive("building_max_distance_m", building_max_distance_m)
    if loads not in ("all", "buildings"):
        raise ParameterError(f"loads must be 'all' or 'buildings', got {loads!r}.")
    spans = subdivide(streets, max_span_m=max_span_m)
    n = spans.n_buses
    source = int(np.flatnonzero(spans.junction == substation)[0])
    graph = csr_array((spans.span_length_m, (spans.span_a, spans.span_b)), shape=(n, n))
    # scipy-stubs lacks the overload of a single int source index (1-D results)
    dist, pred = dijkstra(  # type: ignore[call-overload]
        graph, directed=False, indices=source, return_predecessors=True
    )
    unreached = np.flatnonzero(~np.isfinite(dist))
    if unreached.size:
        raise FeederValidationError(
            f"{unreached.size} buses cannot be reached from the substation (for example "
            f"{spans.bus_id[unreached[:5]].tolist()}): the street network is not connected; "
            "use its largest connected component."
        )
    parent = pred.astype(np.int64)
    parent[source] = -1
    child = np.flatnonzero(parent >= 0)
    lo, hi = np.minimum(parent[child], child), np.maximum(parent[child], child)
    key = spans.span_a * n + spans.span_b
    pos = np.searchsorted(key, lo * n + hi)  # span keys are sorted (lexsorted by a, b)
    length_km = np.zeros(n)
    length_km[child] = spans.span_length_m[pos] / 1000.0

    crs = utm_crs(float(spans.lon[source]), float(spans.lat[source]))
    x, y = to_utm(spans.lon, spans.lat, crs)
    far = ~(np.isfinite(x) & np.isfinite(y))
    if far.any():
        raise FeederValidationError(
            f"{int(far.sum())} buses lie too far from the substation to be projected to its UTM "
            f"zone {crs} (for example at lon {float(spans.lon[far][0]):.4f}, lat "
            f"{float(spans.lat[far][0]):.4f}): the streets span continents. Check the input's "
            "node positions, or crop it to the area you want."
        )
    is_load = parent >= 0
    area: np.ndarray = np.zeros(n)
    if buildings is not None and len(buildings):
        from scipy.spatial import cKDTree

        bx, by = to_utm(buildings.lon, buildings.lat, crs)
        candidates = np.flatnonzero(is_load)
        tree = cKDTree(np.column_stack([x[candidates], y[candidates]]))
        d, idx = cast(  # one query point per row: arrays
            tuple[np.ndarray, np.ndarray],
            tree.query(np.column_stack([bx, by]), distance_upper_bound=building_max_distance_m),
        )
        hit = np.isfinite(d)
        area = np.bincount(candidates[idx[hit]], weights=buildings.area_m2[hit], minlength=n)
    if loads == "buildings":
        if not (area > 0).any():
            raise FeederValidationError(
                "loads='buildings' but no building footprint lies within "
                f"{building_max_distance_m:g} m of a bus; use loads='all'."
            )
        is_load = area > 0
    demand = np.zeros(n)
    mean_area = area[is_load].mean() if is_load.any() else 0.0
    if mean_area > 0:
        demand[is_load] = mean_demand_kw * area[is_load] / mean_area
    else:
        demand[is_load] = mean_demand_kw
    feeder = Feeder(
        bus_id=spans.bus_id,
        parent=parent,
        length_km=length_km,
        x=x,
        y=y,
        crs=crs,
        vn_kv=vn_kv,
        is_load=is_load,
        demand_kw=demand,
        n_zones=n_zones,
    )
    return RadialBuild(feeder=feeder, spans=spans, footprint_m2=area)
