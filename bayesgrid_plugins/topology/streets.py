"""Street selection and the simplified, undirected street graph.

Which ways are streets
----------------------
A way is a street when its ``highway`` tag is one of :data:`STREET_HIGHWAYS` (roads that carry
vehicles or that buildings front onto, where distribution cables run), and none of these holds:

- ``area=yes`` (a pedestrian square drawn as a polygon, not a street centre line);
- ``access`` is ``private`` or ``no``;
- ``highway=service`` with ``service`` in :data:`EXCLUDED_SERVICE` (parking aisles, private
  driveways, drive-throughs, emergency accesses).

Left out, with everything not listed: ``motorway`` and ``motorway_link`` (access-controlled, no
customers along them), ``footway``, ``cycleway``, ``path``, ``steps``, ``bridleway``, ``track``,
``corridor``, ``elevator``, ``platform``, ``bus_guideway``, ``raceway``, ``construction``,
``proposed``, ``abandoned``.

Simplification
--------------
The raw OSM graph has a node at every bend. The simplified graph keeps as *junctions* the nodes
with a number of distinct street neighbours other than two (intersections and dead ends); each
chain of bend nodes between two junctions becomes one edge that keeps the chain as its geometry.
A closed ring without any junction keeps its first node as a junction. Nodes that share exactly
the same position (duplicate nodes, to 1e-7 degree) are merged first. Street direction (one-way
streets) is ignored: a cable can be laid both ways.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from .geo import haversine_m

__all__ = [
    "EXCLUDED_SERVICE",
    "STREET_HIGHWAYS",
    "RawStreets",
    "StreetNetwork",
    "is_street",
    "osmnx_custom_filter",
]

#: ``highway`` values that count as streets.
STREET_HIGHWAYS = frozenset(
    {
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "pedestrian",
        "service",
        "road",
    }
)
#: ``service`` values of ``highway=service`` ways that are not streets.
EXCLUDED_SERVICE = frozenset({"parking_aisle", "driveway", "drive-through", "emergency_access"})
_EXCLUDED_ACCESS = frozenset({"private", "no"})


class Tags(Protocol):
    """OSM tags read by key: a dict, or osmium's ``TagList``."""

    def get(self, key: str, /) -> str | None:
        """The tag's value, or None when the object has no such tag."""
        ...


def is_street(tags: Tags) -> bool:
    """Whether a way with these OSM tags is a street (see the module documentation)."""
    highway = tags.get("highway")
    if highway not in STREET_HIGHWAYS:
        return False
    if tags.get("area") == "yes" or tags.get("access") in _EXCLUDED_ACCESS:
        return False
    return not (highway == "service" and tags.get("service") in EXCLUDED_SERVICE)


def osmnx_custom_filter() -> str:
    """The same street rule as an Overpass filter for osmnx's ``custom_filter``."""
    highways = "|".join(sorted(STREET_HIGHWAYS))
    services = "|".join(sorted(EXCLUDED_SERVICE))
    return (
        f'["highway"~"^({highways})$"]["area"!~"^yes$"]["access"!~"^(private|no)$"]'
        f'["service"!~"^({services})$"]'
    )


@dataclass(frozen=True, eq=False)
class RawStreets:
    """Street segments between consecutive OSM nodes, undirected.

    Attributes
    ----------
    node_id : ndarray of int64
        OSM ids of the nodes (unique).
    lon, lat : ndarray of float
        Node positions [deg].
    seg_a, seg_b : ndarray of int64
        Node indices of each segment's ends.
    seg_way : ndarray of int64
        OSM id of the way each segment belongs to.
    bounds : (float, float, float, float) or None
        ``(west, south, east, north)`` [deg] of every street node in the source, before cropping
        (for messages about points outside the extract).
    """

    node_id: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    seg_a: np.ndarray
    seg_b: np.ndarray
    seg_way: np.ndarray
    bounds: tuple[float, float, float, float] | None = None

    @classmethod
    def from_ways(
        cls,
        node_ids: np.ndarray,
        lon: np.ndarray,
        lat: np.ndarray,
        way_index: np.ndarray,
        way_ids: np.ndarray,
        *,
        keep: np.ndarray | None = None,
        bounds: tuple[float, float, float, float] | None = None,
    ) -> RawStreets:
        """Segments from ways given as flat, concatenated node lists.

        Parameters
        ----------
        node_ids, lon, lat : ndarray
            The ways' node references and positions, way after way.
        way_index : ndarray of int
            Index (into ``way_ids``) of the way each entry belongs to; non-decreasing.
        way_ids : ndarray of int64
            OSM ids of the ways.
        keep : ndarray of bool, optional
            Entries to keep (inside the area); a segment needs both ends kept, so ways are cut
            where they leave the area.
        bounds : tuple, optional
            Stored as :attr:`bounds`.
        """
        node_ids = np.asarray(node_ids, dtype=np.int64)
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        way_index = np.asarray(way_index, dtype=np.int64)
        ok = np.isfinite(lon) & np.isfinite(lat)
        if keep is not None:
            ok &= np.asarray(keep, dtype=bool)
        pair = (way_index[:-1] == way_index[1:]) & ok[:-1] & ok[1:]
        a_ref = node_ids[:-1][pair]
        b_ref = node_ids[1:][pair]
        seg_way = np.asarray(way_ids, dtype=np.int64)[way_index[:-1][pair]]

        used = np.flatnonzero(ok)
        ids, first = np.unique(node_ids[used], return_index=True)
        node_lon = lon[used][first]
        node_lat = lat[used][first]
        # Merge nodes at identical positions (duplicate nodes) into the one with the lowest id.
        key = np.round(node_lon * 1e7).astype(np.int64) * 4_000_000_000 + np.round(
            node_lat * 1e7
        ).astype(np.int64)
        _, rep, inverse = np.unique(key, return_index=True, return_inverse=True)
        inverse = inverse.ravel()
        a = inverse[np.searchsorted(ids, a_ref)] if a_ref.size else np.zeros(0, np.int64)
        b = inverse[np.searchsorted(ids, b_ref)] if b_ref.size else np.zeros(0, np.int64)
        node_id, node_lon, node_lat = ids[rep], node_lon[rep], node_lat[rep]
        # Drop self-loops and repeated segments (undirected).
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        valid = lo != hi
        lo, hi, seg_way = lo[valid], hi[valid], seg_way[valid]
        _, uniq = np.unique(lo * max(node_id.size, 1) + hi, return_index=True)
        uniq.sort()
        return cls(
            node_id=node_id,
            lon=node_lon,
            lat=node_lat,
            seg_a=lo[uniq],
            seg_b=hi[uniq],
            seg_way=seg_way[uniq],
            bounds=bounds,
        )

    @classmethod
    def from_osmnx(cls, graph: Any) -> RawStreets:
        """Segments of an *unsimplified* osmnx graph (``simplify=False``), direction ignored."""
        nodes = list(graph.nodes)
        if not nodes:
            return cls.from_ways(*(np.zeros(0),) * 5)
        node_id = np.asarray(nodes, dtype=np.int64)
        lon = np.asarray([graph.nodes[n]["x"] for n in nodes], dtype=float)
        lat = np.asarray([graph.nodes[n]["y"] for n in nodes], dtype=float)
        lookup = {n: i for i, n in enumerate(nodes)}
        us, vs, ways = [], [], []
        for u, v, data in graph.edges(data=True):
            osmid = data.get("osmid", -1)
            if isinstance(osmid, list):
                osmid = osmid[0]
            us.append(lookup[u])
            vs.append(lookup[v])
            ways.append(int(osmid))
        # Each edge as a two-entry "way" so the common constructor does the merging.
        k = len(us)
        flat = np.empty(2 * k, dtype=np.int64)
        flat[0::2], flat[1::2] = us, vs
        return cls.from_ways(
            node_id[flat],
            lon[flat],
            lat[flat],
            np.repeat(np.arange(k), 2),
            np.asarray(ways, dtype=np.int64),
            bounds=_bounds(lon, lat),
        )

    @property
    def seg_length_m(self) -> np.ndarray:
        """Great-circle length [m] of each segment."""
        return haversine_m(
            self.lon[self.seg_a], self.lat[self.seg_a], self.lon[self.seg_b], self.lat[self.seg_b]
        )

    def simplify(self) -> StreetNetwork:
        """Merge chains of bend nodes into edges between junctions (see the module docs)."""
        n = self.node_id.size
        a, b = self.seg_a, self.seg_b
        m = a.size
        degree = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
        junction = degree != 2
        junction[degree == 0] = False
        # Incidence lists in CSR form: for node i, segments inc[ptr[i]:ptr[i+1]].
        ends = np.concatenate([a, b])
        segs = np.concatenate([np.arange(m), np.arange(m)])
        order = np.argsort(ends, kind="stable")
        inc = segs[order]
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(ends, minlength=n), out=ptr[1:])
        inc_l, ptr_l = inc.tolist(), ptr.tolist()
        a_l, b_l = a.tolist(), b.tolist()
        visited = bytearray(m)
        is_junction = junction.tolist()

        edge_u: list[int] = []
        edge_v: list[int] = []
        geom: list[int] = []
        geom_ptr: list[int] = [0]
        edge_way: list[int] = []
        seg_way = self.seg_way.tolist()

        def walk(start: int, first_seg: int) -> None:
            cur, seg = start, first_seg
            geom.append(start)
            while True:
                visited[seg] = 1
                nxt = b_l[seg] if a_l[seg] == cur else a_l[seg]
                geom.append(nxt)
                if is_junction[nxt]:
                    break
                s0, s1 = inc_l[ptr_l[nxt]], inc_l[ptr_l[nxt] + 1]
                seg = s1 if s0 == seg else s0
                cur = nxt
            edge_u.append(start)
            edge_v.append(geom[-1])
            edge_way.append(seg_way[first_seg])
            geom_ptr.append(len(geom))

        for node in np.flatnonzero(junction).tolist():
            for k in range(ptr_l[node], ptr_l[node + 1]):
                seg = inc_l[k]
                if not visited[seg]:
                    walk(node, seg)
        # Rings made only of bend nodes: the first node of each becomes a junction.
        for seg in range(m):
            if not visited[seg]:
                start = a_l[seg]
                is_junction[start] = True
                walk(start, seg)

        geometry = np.asarray(geom, dtype=np.int64)
        gptr = np.asarray(geom_ptr, dtype=np.int64)
        # Edge length: sum of the segment lengths along the chain.
        step = np.zeros(geometry.size)
        if geometry.size:
            step[1:] = haversine_m(
                self.lon[geometry[:-1]],
                self.lat[geometry[:-1]],
                self.lon[geometry[1:]],
                self.lat[geometry[1:]],
            )
            step[gptr[:-1]] = 0.0
        cum = np.cumsum(step)
        length = cum[gptr[1:] - 1] - cum[gptr[:-1]] if gptr.size > 1 else np.zeros(0)
        return StreetNetwork(
            raw=self,
            u=np.asarray(edge_u, dtype=np.int64),
            v=np.asarray(edge_v, dtype=np.int64),
            length_m=length,
            way_id=np.asarray(edge_way, dtype=np.int64),
            geometry=geometry,
            geometry_ptr=gptr,
        )


def _bounds(lon: np.ndarray, lat: np.ndarray) -> tuple[float, float, float, float] | None:
    if lon.size == 0:
        return None
    return (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))


@dataclass(frozen=True, eq=False)
class StreetNetwork:
    """The simplified, undirected street graph: junctions joined by edges with geometry.

    Attributes
    ----------
    raw : RawStreets
        The OSM nodes (every index below points into ``raw.node_id``, ``raw.lon``, ``raw.lat``).
    u, v : ndarray of int64
        End nodes of each edge (equal for a loop).
    length_m : ndarray of float
        Length [m] of each edge along its geometry (great circle, segment by segment).
    way_id : ndarray of int64
        OSM id of (the first) way the edge follows.
    geometry, geometry_ptr : ndarray of int64
        Node chain of edge ``e``: ``geometry[geometry_ptr[e]:geometry_ptr[e + 1]]`` (from ``u`` to
        ``v``).
    """

    raw: RawStreets
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    way_id: np.ndarray
    geometry: np.ndarray
    geometry_ptr: np.ndarray

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return int(self.u.size)

    @property
    def junctions(self) -> np.ndarray:
        """Indices (into ``raw``) of the junction nodes."""
        return np.unique(np.concatenate([self.u, self.v]))

    @property
    def total_length_m(self) -> float:
        """Total street length [m]."""
        return float(self.length_m.sum())

    def edge_subset(self, keep: np.ndarray) -> StreetNetwork:
        """The network restricted to the edges where ``keep`` is true."""
        idx = np.flatnonzero(keep)
        starts, stops = self.geometry_ptr[idx], self.geometry_ptr[idx + 1]
        counts = stops - starts
        ptr = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        take = np.repeat(starts - ptr[:-1], counts) + np.arange(ptr[-1])
        return StreetNetwork(
            raw=self.raw,
            u=self.u[idx],
            v=self.v[idx],
            length_m=self.length_m[idx],
            way_id=self.way_id[idx],
            geometry=self.geometry[take],
            geometry_ptr=ptr,
        )

    def largest_component(self) -> StreetNetwork:
        """The connected part with the greatest total street length."""
        if self.n_edges == 0:
            return self
        n = self.raw.node_id.size
        graph = coo_array((np.ones(self.n_edges), (self.u, self.v)), shape=(n, n)).tocsr()
        _, label = connected_components(graph, directed=False)
        weight = np.bincount(label[self.u], weights=self.length_m)
        return self.edge_subset(label[self.u] == int(np.argmax(weight)))

    def lines_lonlat(self) -> list[np.ndarray]:
        """Each edge's geometry as an ``(k, 2)`` array of ``(lon, lat)`` [deg]."""
        pts = np.column_stack([self.raw.lon[self.geometry], self.raw.lat[self.geometry]])
        return np.split(pts, self.geometry_ptr[1:-1])

    def to_networkx(self) -> Any:
        """A ``networkx.MultiGraph`` with OSM node ids, ``x``/``y`` = lon/lat and ``length`` [m]."""
        import networkx as nx

        graph: nx.MultiGraph[int] = nx.MultiGraph(crs="EPSG:4326")
        junctions = self.junctions
        ids = self.raw.node_id
        graph.add_nodes_from(
            (int(ids[i]), {"x": float(self.raw.lon[i]), "y": float(self.raw.lat[i])})
            for i in junctions
        )
        graph.add_edges_from(
            (int(ids[u]), int(ids[v]), {"length": float(length), "osmid": int(way)})
            for u, v, length, way in zip(self.u, self.v, self.length_m, self.way_id)
        )
        return graph
