"""The built-in exporters (npz, csv, geojson), run through the plugin manager."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bayesgrid_plugins import Ensemble, Feeder, OutputExistsError, ParameterError
from bayesgrid_plugins.exporters.geojson import feature_collection
from bayesgrid_plugins.exporters.npz import load_export
from bayesgrid_plugins.phases import enforce_phase_consistency, n_phases, phases_from_mask
from bayesgrid_plugins.plugins import PluginManager

# A feeder in UTM zone 33N (central meridian 15 deg E): easting 500 000 m lies on it.
UTM33N = "EPSG:32633"
EDGES = [("s", "a", 0.10), ("a", "b", 0.20), ("a", "c", 0.15), ("c", "d", 0.10), ("c", "e", 0.12)]
COORDS = {
    "s": (500000.0, 5500000.0),
    "a": (500100.0, 5500000.0),
    "b": (500100.0, 5500200.0),
    "c": (500250.0, 5500000.0),
    "d": (500250.0, 5499900.0),
    "e": (500370.0, 5500000.0),
}
EARTH_RADIUS_M = 6371008.8  # mean radius


def make_feeder(crs: str | None = UTM33N, coords: dict | None = None) -> Feeder:
    return Feeder.from_edges(EDGES, "s", coords=COORDS if coords is None else coords, crs=crs)


def make_ensemble(feeder: Feeder, n: int = 4, seed: int = 7) -> Ensemble:
    """Random load phases made consistent, per-phase loads on the load's phases only."""
    rng = np.random.default_rng(seed)
    choices = np.array([1, 2, 4, 7], dtype=np.uint8)
    load = choices[rng.integers(0, 4, size=(n, feeder.n_buses))]
    load[:, ~feeder.is_load] = 0
    bus = enforce_phase_consistency(feeder, load).astype(np.uint8)
    on_phase = (load[..., None] >> np.arange(3, dtype=np.uint8)) & 1
    p_kw = rng.uniform(0.5, 5.0, size=(n, feeder.n_buses, 3)) * on_phase
    pf = rng.choice([0.85, 0.90, 0.95], size=n)
    q_kvar = p_kw * np.tan(np.arccos(pf))[:, None, None]
    return Ensemble(
        bus_id=feeder.bus_id.copy(),
        source=feeder.source,
        load_phases=load,
        bus_phases=bus,
        p_kw=p_kw,
        q_kvar=q_kvar,
        power_factor=pf,
        draw=np.arange(n),
        caidi_h=rng.uniform(0.5, 3.0, size=(n, feeder.n_buses)),
        metadata={"seed": seed},
    )


@pytest.fixture(scope="module")
def manager() -> PluginManager:
    # The host adapters' exporters are other modules' business: block them to keep this fast.
    return PluginManager(blocked={"pandapower", "opendss"})


@pytest.fixture(scope="module")
def case() -> tuple[Feeder, Ensemble]:
    feeder = make_feeder()
    return feeder, make_ensemble(feeder)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


# ---------------------------------------------------------------------- registration
def test_builtins_come_from_bayesgrid_entry_points(manager):
    infos = {info.name: info for info in manager.plugins()}
    for name in ("npz", "csv", "geojson"):
        assert infos[name].status == "loaded", infos[name]
        assert infos[name].distribution == "bayesgrid"
        assert infos[name].exporters == (name,)
        assert name in manager.available_exporters()
    assert infos["pandapower"].status == "blocked"


# ---------------------------------------------------------------------- npz
def test_npz_round_trip_of_chosen_realisations(manager, case, tmp_path):
    feeder, ensemble = case
    written = manager.export(feeder, ensemble, "npz", tmp_path, realisations=[2, -1])
    folder = tmp_path / "npz"
    assert sorted(written["npz"]) == sorted([folder / "ensemble.npz", folder / "feeder.npz"])
    feeder2, ens2 = load_export(folder)
    for name in ("bus_id", "parent", "length_km", "x", "y", "vn_kv", "is_load"):
        np.testing.assert_array_equal(getattr(feeder2, name), getattr(feeder, name))
    assert feeder2.crs == UTM33N and feeder2.n_zones == feeder.n_zones
    np.testing.assert_array_equal(feeder2.distance_km, feeder.distance_km)
    chosen = [2, 3]
    assert ens2.metadata == {"seed": 7, "exported_realisations": chosen}
    for name in ("load_phases", "bus_phases", "p_kw", "q_kvar", "power_factor", "caidi_h"):
        np.testing.assert_array_equal(getattr(ens2, name), getattr(ensemble, name)[chosen])
    assert ens2.caifi is None


def test_npz_never_overwrites_unless_asked(manager, case, tmp_path):
    feeder, ensemble = case
    manager.export(feeder, ensemble, "npz", tmp_path, realisations=[0])
    before = (tmp_path / "npz" / "ensemble.npz").read_bytes()
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        manager.export(feeder, ensemble, "npz", tmp_path, realisations=[1])
    assert (tmp_path / "npz" / "ensemble.npz").read_bytes() == before
    manager.export(feeder, ensemble, "npz", tmp_path, realisations=[1], overwrite=True)
    _, ens2 = load_export(tmp_path / "npz")
    np.testing.assert_array_equal(ens2.p_kw, ensemble.p_kw[[1]])
    assert not [p for p in (tmp_path / "npz").iterdir() if p.name.startswith(".")]


# ---------------------------------------------------------------------- csv
def test_csv_long_table_matches_ensemble(manager, case, tmp_path):
    import pandas as pd

    feeder, ensemble = case
    (path,) = manager.export(feeder, ensemble, ["csv"], tmp_path, realisations=[3, 1])["csv"]
    assert path == tmp_path / "csv" / "buses.csv"
    table = pd.read_csv(
        path,
        keep_default_na=False,
        dtype={"phases": str, "load_phases": str},
        float_precision="round_trip",
    )
    b = feeder.n_buses
    assert len(table) == 2 * b
    assert table["realisation"].tolist() == [3] * b + [1] * b
    assert table["bus_id"].tolist() == feeder.bus_id.tolist() * 2
    for block, k in enumerate((3, 1)):
        rows = table.iloc[block * b : (block + 1) * b]
        np.testing.assert_array_equal(rows["x"], feeder.x)
        np.testing.assert_array_equal(rows["y"], feeder.y)
        assert rows["phases"].tolist() == [phases_from_mask(m) for m in ensemble.bus_phases[k]]
        assert rows["load_phases"].tolist() == [
            phases_from_mask(m) for m in ensemble.load_phases[k]
        ]
        for j, phase in enumerate("abc"):  # full precision: exact round trip
            np.testing.assert_array_equal(rows[f"p_{phase}_kw"], ensemble.p_kw[k, :, j])
            np.testing.assert_array_equal(rows[f"q_{phase}_kvar"], ensemble.q_kvar[k, :, j])
        np.testing.assert_array_equal(rows["caidi_h"], ensemble.caidi_h[k])
    assert "caifi" not in table.columns
    parent_ids = table["parent_id"].tolist()[:b]
    assert parent_ids[feeder.source] == ""
    assert parent_ids[feeder.index_of("d")[0]] == "c"


def test_exporter_rejects_unknown_options(manager, case, tmp_path):
    feeder, ensemble = case
    with pytest.raises(ParameterError, match="unknown options"):
        manager.export(feeder, ensemble, "csv", tmp_path, options={"csv": {"sep": ";"}})
    assert not (tmp_path / "csv" / "buses.csv").exists()


# ---------------------------------------------------------------------- geojson
def _validate(document: dict) -> None:
    """Validate with the geojson package when it is installed; structural checks always."""
    try:
        import geojson
    except ImportError:
        geojson = None
    if geojson is not None:
        obj = geojson.loads(json.dumps(document))
        assert obj.is_valid, obj.errors()
    assert document["type"] == "FeatureCollection"
    for feature in document["features"]:
        assert feature["type"] == "Feature"
        assert isinstance(feature["properties"], dict)
        geometry = feature["geometry"]
        if geometry is not None:
            assert geometry["type"] in ("Point", "LineString")
            positions = (
                [geometry["coordinates"]]
                if geometry["type"] == "Point"
                else geometry["coordinates"]
            )
            assert all(len(p) == 2 and all(math.isfinite(c) for c in p) for p in positions)


def test_geojson_projected_crs_to_wgs84(manager, case, tmp_path):
    feeder, ensemble = case
    paths = manager.export(feeder, ensemble, "geojson", tmp_path, realisations=[0, 2])["geojson"]
    assert [p.name for p in paths] == ["realisation_0000.geojson", "realisation_0002.geojson"]
    for k, path in zip((0, 2), paths, strict=True):
        document = json.loads(path.read_text())
        _validate(document)
        assert "crs" not in document  # RFC 7946 default: WGS 84 lon/lat
        assert document["bayesgrid"]["realisation"] == k
        assert document["bayesgrid"]["feeder_crs"] == UTM33N
        buses = [f for f in document["features"] if f["properties"]["kind"] == "bus"]
        lines = [f for f in document["features"] if f["properties"]["kind"] == "line"]
        assert len(buses) == feeder.n_buses and len(lines) == feeder.n_buses - 1
        assert len(document["features"]) == 2 * feeder.n_buses - 1
        for i, feature in enumerate(buses):
            props = feature["properties"]
            assert props["bus_id"] == feeder.bus_id[i]
            assert props["phases"] == phases_from_mask(ensemble.bus_phases[k, i])
            assert props["phase_set"] == list(props["phases"])
            assert props["n_phases"] == n_phases(ensemble.bus_phases[k, i])
            assert props["load_phases"] == phases_from_mask(ensemble.load_phases[k, i])
            assert props["p_kw"] == pytest.approx(ensemble.p_kw[k, i].sum(), rel=1e-15)
            assert props["p_b_kw"] == ensemble.p_kw[k, i, 1]
        by_bus = {f["properties"]["bus_id"]: f["geometry"]["coordinates"] for f in buses}
        # Easting 500 000 m is the zone's central meridian, 15 deg E.
        assert by_bus["s"][0] == pytest.approx(15.0, abs=1e-9)
        assert 49.0 < by_bus["s"][1] < 50.0
        for feature in lines:
            props = feature["properties"]
            i = feeder.index_of(props["to_bus"])[0]
            assert props["from_bus"] == feeder.bus_id[feeder.parent[i]]
            assert props["phases"] == phases_from_mask(ensemble.bus_phases[k, i])
            assert props["phase_set"] == list(props["phases"])
            start, end = feature["geometry"]["coordinates"]
            assert start == by_bus[props["from_bus"]] and end == by_bus[props["to_bus"]]
            # Grid distance vs distance on the sphere: UTM's scale factor differs from 1 by
            # under 0.1 % this near the central meridian and the sphere from the ellipsoid by
            # under 0.5 %, so 0.6 % bounds the difference.
            grid_m = math.dist(COORDS[props["from_bus"]], COORDS[props["to_bus"]])
            assert haversine_m(*start, *end) == pytest.approx(grid_m, rel=6e-3)


def test_geojson_without_crs_writes_raw_coordinates(manager, tmp_path):
    feeder = make_feeder(crs=None)
    ensemble = make_ensemble(feeder, n=1)
    (path,) = manager.export(feeder, ensemble, "geojson", tmp_path)["geojson"]
    document = json.loads(path.read_text())
    _validate(document)
    assert "crs" in document and document["crs"] is None
    assert "raw" in document["bayesgrid"]["coordinates"]
    points = [f["geometry"]["coordinates"] for f in document["features"][: feeder.n_buses]]
    assert points == [[x, y] for x, y in zip(feeder.x, feeder.y, strict=True)]


def test_geojson_missing_coordinates_give_null_geometry(tmp_path):
    coords = {bus: xy for bus, xy in COORDS.items() if bus != "d"}
    feeder = make_feeder(coords=coords)
    ensemble = make_ensemble(feeder, n=1)
    document = feature_collection(feeder, ensemble, 0)
    _validate(document)
    null = [
        (f["properties"]["kind"], f["properties"].get("bus_id", f["properties"].get("line_id")))
        for f in document["features"]
        if f["geometry"] is None
    ]
    assert null == [("bus", "d"), ("line", "d")]  # the bus and the line into it


def test_geojson_unknown_crs_is_a_parameter_error(manager, tmp_path):
    feeder = make_feeder(crs="EPSG:not-a-code")
    with pytest.raises(ParameterError, match=r"feeder\.crs"):
        manager.export(feeder, make_ensemble(feeder, n=1), "geojson", tmp_path)
    assert not (tmp_path / "geojson").exists()  # a failed export leaves nothing behind


# ---------------------------------------------------------------------- a sampled ensemble
def test_power_model_ensemble_through_every_builtin_format(manager, tmp_path):
    from bayesgrid_plugins.models.power import BayesianPowerModel

    feeder = make_feeder()
    ensemble = BayesianPowerModel().sample(feeder, 3, rng=11)
    written = manager.export(feeder, ensemble, "npz,csv,geojson", tmp_path)
    assert list(written) == ["npz", "csv", "geojson"]
    _, reloaded = load_export(tmp_path / "npz")
    for name in ("load_phases", "bus_phases", "p_kw", "q_kvar", "power_factor", "draw"):
        np.testing.assert_array_equal(getattr(reloaded, name), getattr(ensemble, name))
    assert len(written["geojson"]) == 3
    for k, path in enumerate(written["geojson"]):
        document = json.loads(path.read_text())
        _validate(document)
        phases = [f["properties"]["phases"] for f in document["features"][: feeder.n_buses]]
        assert phases == [phases_from_mask(m) for m in ensemble.bus_phases[k]]
    rows = written["csv"][0].read_text().splitlines()
    assert len(rows) == 1 + 3 * feeder.n_buses
