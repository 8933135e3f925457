"""Nets we build are nets pandapower's own tools accept: plotting, diagnostic, JSON round trip."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandapower as pp
import pytest
from conftest import SHARED_DATA
from test_pandapower import osm_like_feeder, run_diagnostic

from bayesgrid_plugins.models.impedance import BayesianImpedanceModel
from bayesgrid_plugins.models.power import BayesianPowerModel
from pandapower_ext import build_net, set_realisation

matplotlib.use("Agg")

OSM = SHARED_DATA / "osm"
LIECHTENSTEIN = OSM / "pyosmium_liechtenstein.osm.pbf"
EU_LV = SHARED_DATA / "feeders" / "pandapower" / "IEEE_European_LV_On_Peak_566.json"
#: Monaco, where the shipped extract lies [degrees].
MONACO_LON, MONACO_LAT = (7.40, 7.45), (43.72, 43.76)


def geometries(column) -> list[dict]:
    """Every non-empty entry of a ``geo`` column parsed as JSON (fails on anything else)."""
    return [json.loads(text) for text in column if text is not None]


def assert_pandapower_accepts(net) -> None:
    """simple_plot, a JSON round trip (and the plot again) on ``net``."""
    import matplotlib.pyplot as plt
    from pandapower.plotting import simple_plot

    simple_plot(net, show_plot=False)
    plt.close("all")
    again = pp.from_json_string(pp.to_json(net))
    simple_plot(again, show_plot=False)
    plt.close("all")
    assert again.bus.geo.tolist() == net.bus.geo.tolist()
    assert again.line.geo.tolist() == net.line.geo.tolist()
    assert again.line.type.tolist() == net.line.type.tolist()


#: Our own columns: tags and the mapping of the user's loads, no copies of pandapower's data.
OWN_COLUMNS = (
    "bayesgrid_id",
    "bayesgrid_level",
    "bayesgrid_origin",
    "bayesgrid_share_p",
    "bayesgrid_share_q",
)


def assert_no_shadow_columns(net) -> None:
    """No private copies of pandapower's own line data next to the real columns."""
    for table in ("bus", "line", "trafo", "asymmetric_load"):
        extra = [
            c for c in net[table].columns if c.startswith("bayesgrid_") and c not in OWN_COLUMNS
        ]
        assert extra == [], f"{table} has shadow columns {extra}"


@pytest.fixture(scope="module")
def sampled_case():
    feeder = osm_like_feeder()
    ens = BayesianPowerModel().sample(feeder, 3, rng=11)
    ens = BayesianImpedanceModel().sample(feeder, 3, rng=12, ensemble=ens)
    return feeder, ens


def test_feeder_net_geo_is_geojson_in_lonlat(sampled_case):
    feeder, ens = sampled_case
    net = build_net(feeder, ens, 0)
    buses = geometries(net.bus.geo)
    lines = geometries(net.line.geo)
    assert len(buses) == len(net.bus) and len(lines) == len(net.line)
    assert {g["type"] for g in buses} == {"Point"} and {g["type"] for g in lines} == {"LineString"}
    lon = np.asarray([g["coordinates"][0] for g in buses])
    lat = np.asarray([g["coordinates"][1] for g in buses])
    assert (MONACO_LON[0] < lon).all() and (lon < MONACO_LON[1]).all()
    assert (MONACO_LAT[0] < lat).all() and (lat < MONACO_LAT[1]).all()
    assert net["bayesgrid"]["crs"] == "EPSG:4326"
    # a line runs from its from-bus to its to-bus
    first = net.line.index[0]
    ends = json.loads(net.line.geo[first])["coordinates"]
    assert ends[0] == json.loads(net.bus.geo[net.line.from_bus[first]])["coordinates"]
    assert ends[1] == json.loads(net.bus.geo[net.line.to_bus[first]])["coordinates"]
    assert_pandapower_accepts(net)
    assert_no_shadow_columns(net)


def test_line_type_follows_the_sampled_conductor(sampled_case):
    feeder, ens = sampled_case
    net = build_net(feeder, ens, 0)
    overhead = np.asarray(ens.metadata["line_type_overhead"]) > 0.5
    for k in range(len(ens)):
        set_realisation(net, ens, k)
        pos = feeder.index_of(net.line.bayesgrid_id.astype(str).tolist())
        expected = np.where(overhead[ens.line_type[k, pos]], "ol", "cs")
        assert net.line.type.tolist() == expected.tolist()
    assert {"ol", "cs"} <= set(
        np.where(overhead[ens.line_type[:, feeder.lines]], "ol", "cs").ravel()
    )


def test_default_cables_keep_their_zero_sequence_in_the_type_library():
    feeder = osm_like_feeder()
    ens = BayesianPowerModel().sample(feeder, 4, rng=3)
    net = build_net(feeder, ens, 0)
    assert set(net.line.type) == {"cs"}
    assert_no_shadow_columns(net)
    library = net["bayesgrid_line_types"]
    for k in (1, 2, 3, 0):
        set_realisation(net, ens, k)
        # laterals without their capacitance (bayesgrid_plugins.charging) are no longer their
        # standard type; the net remembers it for when they are three-phase again
        bare = net["bayesgrid_bare_lines"]
        names = [
            t if isinstance(t, str) else bare[i]
            for t, i in zip(net.line.std_type, net.line.bayesgrid_id)
        ]
        assert (net.line.std_type.isna() == (net.line.c_nf_per_km == 0)).all()
        typed = np.asarray([library[t]["r0_ohm_per_km"] for t in names])
        # the real Z0 of the type on every line, partial-phase laterals included
        np.testing.assert_array_equal(net.line.r0_ohm_per_km, typed)
        three = net.line.phases == "ABC"
        assert (net.line.c_nf_per_km[three] > 0).all() and (net.line.c_nf_per_km[~three] == 0).all()
    report = run_diagnostic(net)
    assert set(report) <= {"implausible_impedance_values"}  # short street spans only
    assert_pandapower_accepts(net)


@pytest.mark.skipif(not LIECHTENSTEIN.exists(), reason="shared OSM data missing")
def test_area_net_is_plotted_and_round_trips():
    from bayesgrid_plugins.area import area_from_osm, sample_area
    from pandapower_ext.area import build_area_net

    area = area_from_osm(LIECHTENSTEIN, point=(47.168, 9.50), dist_m=1500.0, max_span_m=100.0)
    ens = sample_area(
        area, 2, rng=7, power_model=BayesianPowerModel("smartds-counting"), sampler="unconditioned"
    )
    net, _ = build_area_net(area, ens)
    buses = geometries(net.bus.geo)
    assert len(buses) == len(net.bus) and len(geometries(net.line.geo)) == len(net.line)
    lon = np.asarray([g["coordinates"][0] for g in buses])
    lat = np.asarray([g["coordinates"][1] for g in buses])
    assert (9.3 < lon).all() and (lon < 9.7).all() and (47.0 < lat).all() and (lat < 47.3).all()
    tlines = net.line.name.str.startswith("tline_")
    assert set(net.line.type[tlines]) == {"ol"}
    assert_no_shadow_columns(net)
    assert_pandapower_accepts(net)
    report = run_diagnostic(net)  # every check runs on the net: one zone, not one per level
    assert "deviation_from_std_type" not in report


@pytest.mark.skipif(not EU_LV.exists(), reason="shared pandapower data missing")
def test_unbalanced_net_is_plotted_and_round_trips():
    from pandapower_ext.unbalance import unbalance_net

    net = pp.from_json(str(EU_LV))
    unbalance_net(net, n=2, rng=3)
    assert_no_shadow_columns(net)
    assert_pandapower_accepts(net)
    run_diagnostic(net)  # every check runs (the shipped net's own findings are its own)
