"""The neutral radial feeder: construction, derived arrays and validation."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from conftest import random_tree

from bayesgrid_plugins.errors import FeederValidationError
from bayesgrid_plugins.feeder import Feeder


def test_small_feeder_derived_arrays(small_feeder: Feeder) -> None:
    f = small_feeder
    ids = list(f.bus_id)
    assert f.source == ids.index("s")
    dist = dict(zip(ids, f.distance_km))
    assert dist == {"s": 0.0, "a": 1.0, "b": 1.5, "c": 3.0, "d": 1.0}
    depth = dict(zip(ids, f.depth))
    assert depth == {"s": 0, "a": 1, "b": 2, "c": 2, "d": 1}
    branch = dict(zip(ids, f.feeder))
    assert branch["s"] == -1
    assert branch["a"] == branch["b"] == branch["c"] != branch["d"]
    d = dict(zip(ids, f.d))
    # Branch 1 is 3 km long, branch 2 is 1 km long.
    assert d["a"] == pytest.approx(1 / 3) and d["b"] == pytest.approx(0.5)
    assert d["c"] == 1.0 and d["d"] == 1.0 and d["s"] == 0.0
    zone = dict(zip(ids, f.zone))
    assert zone == {"s": 0, "a": 3, "b": 5, "c": 9, "d": 9}
    assert f.is_load.tolist() == [b != "s" for b in ids]
    assert f.n_branches == 2
    assert f.index_of(["c", "a"]).tolist() == [ids.index("c"), ids.index("a")]
    with pytest.raises(KeyError, match="zz"):
        f.index_of("zz")


def test_arrays_are_read_only(small_feeder: Feeder) -> None:
    with pytest.raises(ValueError):
        small_feeder.distance_km[0] = 5.0
    with pytest.raises(ValueError):
        small_feeder.parent[1] = 0


@pytest.mark.parametrize("seed", range(5))
def test_distances_equal_dijkstra_and_subtrees_are_preorder_ranges(seed: int) -> None:
    f = random_tree(300, seed)
    graph = nx.Graph()
    for child in f.lines:
        graph.add_edge(child, int(f.parent[child]), weight=f.length_km[child])
    dist = nx.single_source_dijkstra_path_length(graph, f.source)
    assert np.allclose([dist[i] for i in range(f.n_buses)], f.distance_km)
    hops = nx.single_source_shortest_path_length(graph, f.source)
    assert [hops[i] for i in range(f.n_buses)] == f.depth.tolist()
    # Parents come before children in the topological order.
    rank = np.empty(f.n_buses, dtype=int)
    rank[f.order] = np.arange(f.n_buses)
    assert (rank[f.lines] > rank[f.parent[f.lines]]).all()
    # The subtree of every bus is its preorder range.
    tree = nx.DiGraph((int(f.parent[c]), int(c)) for c in f.lines)
    for bus in range(0, f.n_buses, 7):
        expected = {bus} | nx.descendants(tree, bus)
        got = set(f.preorder[f.position[bus] : f.subtree_end[bus]].tolist())
        assert got == expected
    # Normalised distance reaches exactly 1 once per branch, zones span the bins.
    assert f.d.min() == 0.0 and f.d.max() == 1.0
    for b in range(f.n_branches):
        assert f.d[f.feeder == b].max() == 1.0
    assert np.array_equal(f.zone, np.minimum((f.d * 10).astype(int), 9))


def test_with_zones_changes_only_zones(small_feeder: Feeder) -> None:
    f3 = small_feeder.with_zones(3)
    assert f3.n_zones == 3
    assert f3.zone.max() == 2
    assert np.array_equal(f3.distance_km, small_feeder.distance_km)


def test_from_networkx_uses_lengths_and_coordinates() -> None:
    graph = nx.Graph(crs="EPSG:32632")
    graph.add_node(1, x=0.0, y=0.0)
    graph.add_node(2, x=100.0, y=0.0)
    graph.add_node(3, x=100.0, y=50.0)
    graph.add_edge(1, 2, length=100.0)
    graph.add_edge(2, 3, length=50.0)
    f = Feeder.from_networkx(graph, 1, length_attr="length", length_scale=1e-3)
    assert f.crs == "EPSG:32632"
    assert f.distance_km[f.index_of(3)[0]] == pytest.approx(0.15)
    assert f.x.tolist() == [0.0, 100.0, 100.0]


@pytest.mark.parametrize(
    ("edges", "source", "message"),
    [
        ([("s", "a", 1.0), ("a", "b", 1.0), ("b", "s", 1.0)], "s", "not radial.*close a loop"),
        ([("s", "a", 1.0), ("s", "a", 2.0)], "s", "not radial"),
        ([("s", "a", 1.0), ("b", "c", 1.0)], "s", "disconnected.*'b', 'c'"),
        ([("s", "a", 0.0)], "s", "positive.*s-a"),
        ([("s", "a", -1.0)], "s", "positive"),
        ([("s", "a", float("nan"))], "s", "positive"),
        ([("s", "s", 1.0)], "s", "self-loops"),
        ([("s", "a", 1.0)], "x", "source 'x' is not an endpoint"),
        ([], "s", "edges is empty"),
        ([("s", "a")], "s", r"edges\[0\]"),
    ],
)
def test_from_edges_rejects_bad_topologies(edges, source, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FeederValidationError, match=message):
        Feeder.from_edges(edges, source)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"parent": [-1, -1, 0]}, "exactly one source.*found 2: 'a', 'b'"),
        ({"parent": [1, 2, 0]}, "exactly one source.*found 0"),
        ({"parent": [-1, 2, 1]}, "buses 'b', 'c' cannot be reached from the source 'a'.*cycle"),
        ({"parent": [-1, 5, 0]}, "invalid indices.*'b'"),
        ({"parent": [-1, 1, 0]}, "invalid indices.*'b'"),
        ({"length_km": [0, 0.0, 1.0]}, "positive and finite.*'b'"),
        ({"bus_id": ["a", "a", "c"]}, "not unique.*'a'"),
        ({"bus_id": ["a"], "parent": [-1], "length_km": [0]}, "at least one more bus"),
        ({"vn_kv": -1.0}, "vn_kv"),
        ({"is_load": [True, False]}, "is_load has shape"),
        ({"n_zones": 0}, "n_zones"),
        ({"x": [1.0, 2.0]}, r"x has shape \(2,\), expected \(3,\)"),
    ],
)
def test_constructor_validation_names_the_problem(kwargs, message) -> None:  # type: ignore[no-untyped-def]
    base = {"bus_id": ["a", "b", "c"], "parent": [-1, 0, 1], "length_km": [0, 1.0, 1.0]}
    base.update(kwargs)
    with pytest.raises(FeederValidationError, match=message):
        Feeder(**base)


def test_feeder_validation_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        Feeder(bus_id=["a", "b"], parent=[-1, -1], length_km=[0, 1])
