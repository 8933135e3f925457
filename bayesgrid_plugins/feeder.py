"""The neutral radial feeder shared by the samplers and both adapters.

A :class:`Feeder` is a tree of buses stored as index-aligned NumPy arrays. Bus ``i`` is fed by the
line from ``parent[i]``; the source (substation) has ``parent == -1`` and no line. Line arrays are
therefore aligned with buses too: "line ``i``" is the line *into* bus ``i``, and its length is
``length_km[i]`` (zero at the source).

Derived arrays (topological order, hop depth, distance from the source, feeder membership,
normalised distance and zone) are computed once, when the feeder is built, and are read-only.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import breadth_first_order, depth_first_order

from bayesgrid_plugins.reprs import compact_repr, id_preview, value_range

from .errors import FeederValidationError

__all__ = ["DEFAULT_N_ZONES", "Feeder"]

DEFAULT_N_ZONES = 10
_MAX_NAMED = 10  # how many offending buses an error message lists


def _names(ids: np.ndarray) -> str:
    shown = ", ".join(repr(str(b)) for b in ids[:_MAX_NAMED])
    more = len(ids) - _MAX_NAMED
    return shown + (f" and {more} more" if more > 0 else "")


def _as_float(name: str, values: Any, n: int, default: float) -> np.ndarray:
    if values is None:
        return np.full(n, default, dtype=float)
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise FeederValidationError(
            f"{name} has shape {arr.shape}, expected ({n},): one value per bus, aligned with "
            "bus_id."
        )
    return arr.copy()


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Feeder:
    """A radial distribution feeder as index-aligned arrays.

    Parameters
    ----------
    bus_id : sequence of str
        Unique bus names, one per bus. Stored as strings.
    parent : sequence of int
        Index of each bus's upstream bus; exactly one bus (the source) has ``-1``.
    length_km : sequence of float
        Length [km] of the line into each bus; must be positive for every bus except the source.
    x, y : sequence of float, optional
        Bus coordinates in ``crs`` (NaN where unknown).
    crs : str, optional
        Coordinate reference system of ``x`` and ``y`` (for example ``"EPSG:4326"``).
    vn_kv : float or sequence of float, default 0.4
        Nominal line-to-line voltage [kV] of each bus.
    is_load : sequence of bool, optional
        Which buses carry a load. Default: every bus except the source.
    demand_kw : sequence of float, optional
        Aggregated demand [kW] per bus, where known (for example from building footprints).
    n_zones : int, default 10
        Number of equal-width bins of the normalised distance ``d`` (the model's zones).

    Attributes
    ----------
    source : int
        Index of the source bus.
    order : ndarray of int
        Breadth-first (topological) order from the source: parents come before children.
    depth : ndarray of int
        Hops from the source.
    distance_km : ndarray of float
        Distance [km] from the source along the network.
    feeder : ndarray of int
        Index of the branch leaving the source that serves each bus (-1 at the source).
    d : ndarray of float
        Normalised distance in [0, 1]: ``distance_km`` over the longest distance in its branch.
    zone : ndarray of int
        Zone index in ``[0, n_zones)``: equal-width bins of ``d``.
    preorder, subtree_end : ndarray of int
        Depth-first preorder, and for each bus the end of its subtree in it: the subtree of bus
        ``i`` is ``preorder[position[i]:subtree_end[i]]``.
    position : ndarray of int
        Position of each bus in ``preorder``.

    Examples
    --------
    >>> from bayesgrid_plugins import Feeder
    >>> feeder = Feeder(["s", "a", "b"], parent=[-1, 0, 1], length_km=[0.0, 0.12, 0.05])
    >>> feeder.n_buses, feeder.source, feeder.distance_km.round(2).tolist()  # distances [km]
    (3, 0, [0.0, 0.12, 0.17])
    """

    bus_id: np.ndarray
    parent: np.ndarray
    length_km: np.ndarray
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    crs: str | None = None
    vn_kv: Any = 0.4
    is_load: np.ndarray | None = None
    demand_kw: np.ndarray | None = None
    n_zones: int = DEFAULT_N_ZONES

    source: int = field(init=False)
    order: np.ndarray = field(init=False, repr=False)
    depth: np.ndarray = field(init=False, repr=False)
    distance_km: np.ndarray = field(init=False, repr=False)
    feeder: np.ndarray = field(init=False, repr=False)
    d: np.ndarray = field(init=False, repr=False)
    zone: np.ndarray = field(init=False, repr=False)
    preorder: np.ndarray = field(init=False, repr=False)
    position: np.ndarray = field(init=False, repr=False)
    subtree_end: np.ndarray = field(init=False, repr=False)

    def __repr__(self) -> str:
        return compact_repr(
            "Feeder",
            buses=self.n_buses,
            source=str(self.bus_id[self.source]),
            loads=int(np.asarray(self.is_load).sum()),
            length_km=float(np.sum(self.length_km)),
            vn_kv=value_range(self.vn_kv),
            crs=self.crs,
            zones=self.n_zones,
            bus_id=id_preview(self.bus_id),
        )

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        bus_id = np.asarray([str(b) for b in np.asarray(self.bus_id, dtype=object).ravel()])
        n = bus_id.size
        if n < 2:
            raise FeederValidationError(
                f"bus_id has {n} bus(es): a feeder needs a source and at least one more bus."
            )
        unique, counts = np.unique(bus_id, return_counts=True)
        if (counts > 1).any():
            raise FeederValidationError(
                f"bus_id is not unique: {_names(unique[counts > 1])} appear more than once."
            )
        parent = np.asarray(self.parent)
        if parent.shape != (n,) or not np.issubdtype(parent.dtype, np.integer):
            raise FeederValidationError(
                f"parent must be {n} integer indices aligned with bus_id, got shape "
                f"{parent.shape} of dtype {parent.dtype}."
            )
        parent = parent.astype(np.int64)
        sources = np.flatnonzero(parent == -1)
        if sources.size != 1:
            raise FeederValidationError(
                f"a radial feeder has exactly one source (parent == -1); found {sources.size}: "
                f"{_names(bus_id[sources])}. Split the network into one feeder per source."
            )
        bad = (parent < -1) | (parent >= n) | (parent == np.arange(n))
        if bad.any():
            raise FeederValidationError(
                f"parent holds invalid indices (out of range or pointing at the bus itself) for "
                f"buses {_names(bus_id[bad])}."
            )
        source = int(sources[0])
        length = _as_float("length_km", self.length_km, n, 0.0)
        length[source] = 0.0
        nonsource = parent != -1
        bad = nonsource & ~(np.isfinite(length) & (length > 0))
        if bad.any():
            raise FeederValidationError(
                f"length_km must be positive and finite for every line; the lines into buses "
                f"{_names(bus_id[bad])} have {_names(length[bad])} km. Give each line its length "
                "or merge zero-length lines into their end bus."
            )
        if not isinstance(self.n_zones, (int, np.integer)) or self.n_zones < 1:
            raise FeederValidationError(
                f"n_zones must be a positive integer, got {self.n_zones!r}."
            )

        # Children as a sparse adjacency (parent -> child); reachability finds cycles.
        children = np.flatnonzero(nonsource)
        adj = csr_array(
            (np.ones(children.size, dtype=np.int8), (parent[children], children)), shape=(n, n)
        )
        order = breadth_first_order(adj, source, directed=True, return_predecessors=False)
        if order.size != n:
            unreached = np.setdiff1d(np.arange(n), order)
            raise FeederValidationError(
                f"buses {_names(bus_id[unreached])} cannot be reached from the source "
                f"{str(bus_id[source])!r}: following their parents leads round a cycle. Fix their "
                "parent entries so every path ends at the source."
            )
        order = order.astype(np.int64)

        # Level by level (BFS order is sorted by depth): depth, distance and branch membership.
        n_children = np.bincount(parent[children], minlength=n)
        depth = np.zeros(n, dtype=np.int64)
        distance = np.zeros(n, dtype=float)
        branch = np.full(n, -1, dtype=np.int64)
        start, stop, level = 0, 1, 0
        levels = []  # slices of `order`, one per depth
        while stop < n:
            count = int(n_children[order[start:stop]].sum())
            start, stop, level = stop, stop + count, level + 1
            levels.append(slice(start, stop))
            nodes = order[start:stop]
            depth[nodes] = level
            distance[nodes] = distance[parent[nodes]] + length[nodes]
            if level == 1:
                branch[nodes] = np.arange(nodes.size)
            else:
                branch[nodes] = branch[parent[nodes]]

        branch_length = np.zeros(int(branch.max()) + 1)
        np.maximum.at(branch_length, branch[nonsource], distance[nonsource])
        d = np.zeros(n)
        d[nonsource] = distance[nonsource] / branch_length[branch[nonsource]]
        d = np.clip(d, 0.0, 1.0)
        zone = np.minimum((d * self.n_zones).astype(np.int64), self.n_zones - 1)

        preorder = depth_first_order(adj, source, directed=True, return_predecessors=False)
        preorder = preorder.astype(np.int64)
        position = np.empty(n, dtype=np.int64)
        position[preorder] = np.arange(n)
        size = np.ones(n, dtype=np.int64)
        for level_slice in reversed(levels):  # deepest level first
            nodes = order[level_slice]
            np.add.at(size, parent[nodes], size[nodes])
        subtree_end = position + size

        is_load = nonsource.copy() if self.is_load is None else np.asarray(self.is_load, dtype=bool)
        if is_load.shape != (n,):
            raise FeederValidationError(
                f"is_load has shape {is_load.shape}, expected ({n},): one flag per bus."
            )
        demand = None if self.demand_kw is None else _as_float("demand_kw", self.demand_kw, n, 0)
        if demand is not None and not (np.isfinite(demand).all() and (demand >= 0).all()):
            raise FeederValidationError("demand_kw must be finite and non-negative at every bus.")
        vn_kv = _as_float("vn_kv", self.vn_kv, n, 0.4)
        if not (np.isfinite(vn_kv).all() and (vn_kv > 0).all()):
            raise FeederValidationError("vn_kv must be positive and finite at every bus [kV].")

        for name, value in (
            ("bus_id", bus_id),
            ("parent", parent),
            ("length_km", length),
            ("x", _as_float("x", self.x, n, np.nan)),
            ("y", _as_float("y", self.y, n, np.nan)),
            ("vn_kv", vn_kv),
            ("is_load", is_load.copy()),
            ("demand_kw", demand),
            ("order", order),
            ("depth", depth),
            ("distance_km", distance),
            ("feeder", branch),
            ("d", d),
            ("zone", zone),
            ("preorder", preorder),
            ("position", position),
            ("subtree_end", subtree_end),
        ):
            set_(self, name, None if value is None else _readonly(value))
        set_(self, "source", source)
        set_(self, "n_zones", int(self.n_zones))

    # ------------------------------------------------------------------ derived views
    @property
    def n_buses(self) -> int:
        """Number of buses (the source included)."""
        return int(self.bus_id.size)

    @property
    def lines(self) -> np.ndarray:
        """Indices of the buses that have a line into them (every bus except the source)."""
        return np.flatnonzero(self.parent != -1)

    @property
    def load_buses(self) -> np.ndarray:
        """Indices of the buses that carry a load."""
        return np.flatnonzero(cast(np.ndarray, self.is_load))

    @property
    def n_branches(self) -> int:
        """Number of branches (feeders) leaving the source."""
        return int(self.feeder.max()) + 1

    def index_of(self, bus_ids: Hashable | Iterable[Hashable]) -> np.ndarray:
        """Indices of the given bus ids; a ``KeyError`` names any unknown one."""
        lookup = {b: i for i, b in enumerate(self.bus_id.tolist())}
        wanted = (
            list(bus_ids)
            if isinstance(bus_ids, Iterable) and not isinstance(bus_ids, str)
            else [bus_ids]
        )
        missing = [b for b in wanted if str(b) not in lookup]
        if missing:
            raise KeyError(f"unknown bus ids {missing[:_MAX_NAMED]} in this feeder")
        return np.asarray([lookup[str(b)] for b in wanted], dtype=np.int64)

    def with_zones(self, n_zones: int) -> Feeder:
        """The same feeder with ``n_zones`` equal-width zones of normalised distance."""
        return self._replace(n_zones=n_zones)

    def with_loads(self, is_load: Sequence[bool] | np.ndarray) -> Feeder:
        """The same feeder with another set of load buses."""
        return self._replace(is_load=is_load)

    def with_demand(self, demand_kw: Sequence[float] | np.ndarray) -> Feeder:
        """The same feeder with another aggregated demand [kW] per bus."""
        return self._replace(demand_kw=demand_kw)

    def _replace(self, **changes: Any) -> Feeder:
        kwargs = {
            name: getattr(self, name)
            for name in (
                "bus_id",
                "parent",
                "length_km",
                "x",
                "y",
                "crs",
                "vn_kv",
                "is_load",
                "demand_kw",
                "n_zones",
            )
        }
        kwargs.update(changes)
        return Feeder(**kwargs)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_edges(
        cls,
        edges: Iterable[tuple[Hashable, Hashable, float]],
        source: Hashable,
        *,
        coords: Mapping[Hashable, tuple[float, float]] | None = None,
        crs: str | None = None,
        vn_kv: float = 0.4,
        loads: Iterable[Hashable] | None = None,
        demand_kw: Mapping[Hashable, float] | None = None,
        n_zones: int = DEFAULT_N_ZONES,
    ) -> Feeder:
        """Build a feeder from undirected edges ``(bus_u, bus_v, length_km)``.

        The edges are oriented away from ``source``. They must form a tree: a cycle, a bus that
        cannot be reached, a self-loop or a non-positive length raise
        :class:`~bayesgrid_plugins.errors.FeederValidationError` naming the buses.

        Parameters
        ----------
        edges : iterable of (bus, bus, float)
            Undirected lines and their lengths [km].
        source : hashable
            Id of the source (substation) bus.
        coords : mapping of bus to (x, y), optional
            Coordinates in ``crs``.
        crs : str, optional
            Coordinate reference system of ``coords``.
        vn_kv : float, default 0.4
            Nominal voltage [kV] of every bus.
        loads : iterable of bus ids, optional
            Load buses; default every bus except the source.
        demand_kw : mapping of bus to float, optional
            Aggregated demand [kW] per bus (0 where missing).
        n_zones : int, default 10
            Number of zones of normalised distance.
        """
        edge_list = list(edges)
        if not edge_list:
            raise FeederValidationError("edges is empty: a feeder needs at least one line.")
        names: dict[str, int] = {}
        u_idx, v_idx, lengths = [], [], []
        for k, edge in enumerate(edge_list):
            if len(edge) != 3:
                raise FeederValidationError(
                    f"edges[{k}] is {edge!r}: each edge must be (bus_u, bus_v, length_km)."
                )
            u, v, length = edge
            u_idx.append(names.setdefault(str(u), len(names)))
            v_idx.append(names.setdefault(str(v), len(names)))
            lengths.append(length)
        bus_id = np.asarray(list(names))
        n = bus_id.size
        u_arr, v_arr = np.asarray(u_idx), np.asarray(v_idx)
        length_arr = np.asarray(lengths, dtype=float)
        loops = u_arr == v_arr
        if loops.any():
            raise FeederValidationError(
                f"edges hold self-loops at buses {_names(bus_id[u_arr[loops]])}: remove them."
            )
        bad = ~(np.isfinite(length_arr) & (length_arr > 0))
        if bad.any():
            pairs = [f"{bus_id[a]}-{bus_id[b]}" for a, b in zip(u_arr[bad], v_arr[bad])]
            raise FeederValidationError(
                f"length_km must be positive and finite; lines {pairs[:_MAX_NAMED]} have "
                f"{length_arr[bad][:_MAX_NAMED].tolist()} km."
            )
        if str(source) not in names:
            raise FeederValidationError(
                f"source {source!r} is not an endpoint of any edge; pass one of the edge buses."
            )
        src = names[str(source)]
        adj = csr_array(
            (np.ones(2 * u_arr.size), (np.r_[u_arr, v_arr], np.r_[v_arr, u_arr])), shape=(n, n)
        )
        order, pred = breadth_first_order(adj, src, directed=False, return_predecessors=True)
        if order.size != n:
            unreached = np.setdiff1d(np.arange(n), order)
            raise FeederValidationError(
                f"the network is disconnected: buses {_names(bus_id[unreached])} cannot be "
                f"reached from the source {source!r}. Keep only the connected part that holds "
                "the source, or connect the islands."
            )
        tree = (pred[v_arr] == u_arr) | (pred[u_arr] == v_arr)
        if u_arr.size != n - 1 or not tree.all():
            off_tree = ~tree
            # Parallel edges count as a cycle too; name one closing line of each cycle.
            keys = np.minimum(u_arr, v_arr) * n + np.maximum(u_arr, v_arr)
            _, first = np.unique(keys, return_index=True)
            duplicate = np.ones(u_arr.size, dtype=bool)
            duplicate[first] = False
            closing = np.flatnonzero(off_tree | duplicate)
            pairs = [f"{bus_id[u_arr[k]]}-{bus_id[v_arr[k]]}" for k in closing]
            raise FeederValidationError(
                f"the network is not radial: {len(pairs)} line(s) close a loop, for example "
                f"{pairs[:_MAX_NAMED]}. Open one line per loop (a normally-open switch) or build "
                "the feeder from a spanning tree."
            )
        parent = pred.astype(np.int64)
        parent[src] = -1
        length_into = np.zeros(n)
        child = np.where(pred[v_arr] == u_arr, v_arr, u_arr)
        length_into[child] = length_arr
        xy = np.full((n, 2), np.nan)
        if coords is not None:
            for name, i in names.items():
                for key in (name, _maybe_int(name)):
                    if key in coords:
                        xy[i] = coords[key]
                        break
        is_load = None
        if loads is not None:
            is_load = np.zeros(n, dtype=bool)
            load_list = [str(b) for b in loads]
            unknown = [b for b in load_list if b not in names]
            if unknown:
                raise FeederValidationError(f"loads name buses not in edges: {unknown[:10]}")
            is_load[[names[b] for b in load_list]] = True
        demand = None
        if demand_kw is not None:
            demand = np.zeros(n)
            for bus, value in demand_kw.items():
                if str(bus) in names:
                    demand[names[str(bus)]] = value
        return cls(
            bus_id=bus_id,
            parent=parent,
            length_km=length_into,
            x=xy[:, 0],
            y=xy[:, 1],
            crs=crs,
            vn_kv=vn_kv,
            is_load=is_load,
            demand_kw=demand,
            n_zones=n_zones,
        )

    @classmethod
    def from_networkx(
        cls,
        graph: Any,
        source: Hashable,
        *,
        length_attr: str = "length_km",
        length_scale: float = 1.0,
        x_attr: str = "x",
        y_attr: str = "y",
        crs: str | None = None,
        vn_kv: float = 0.4,
        loads: Iterable[Hashable] | None = None,
        n_zones: int = DEFAULT_N_ZONES,
    ) -> Feeder:
        """Build a feeder from a networkx graph whose edges form a tree.

        Parameters
        ----------
        graph : networkx.Graph
            Undirected or directed graph (direction is ignored); parallel edges count as a loop.
        source : hashable
            The source node.
        length_attr : str, default "length_km"
            Edge attribute with the line length; multiplied by ``length_scale`` to get km
            (osmnx stores ``"length"`` in metres: use ``length_scale=1e-3``).
        x_attr, y_attr : str
            Node attributes with the coordinates, if present.
        crs : str, optional
            CRS of the coordinates; defaults to ``graph.graph["crs"]`` when set.
        vn_kv, loads, n_zones
            As in :meth:`from_edges`.
        """
        edges = []
        for u, v, data in graph.edges(data=True):
            if length_attr not in data:
                raise FeederValidationError(
                    f"edge ({u!r}, {v!r}) has no {length_attr!r} attribute; pass length_attr= "
                    "with the name of the edge attribute that holds the length."
                )
            edges.append((u, v, float(data[length_attr]) * length_scale))
        if graph.number_of_edges() == 0:
            raise FeederValidationError("graph has no edges: a feeder needs at least one line.")
        coords = {
            node: (float(data[x_attr]), float(data[y_attr]))
            for node, data in graph.nodes(data=True)
            if x_attr in data and y_attr in data
        }
        if crs is None:
            crs = getattr(graph, "graph", {}).get("crs")
            crs = None if crs is None else str(crs)
        return cls.from_edges(
            edges, source, coords=coords, crs=crs, vn_kv=vn_kv, loads=loads, n_zones=n_zones
        )


def _maybe_int(name: str) -> Hashable:
    try:
        return int(name)
    except ValueError:
        return name
