"""The bayesgrid-style facade on real pandapower nets and networkx graphs."""

from __future__ import annotations

import gc

import networkx as nx
import numpy as np
import pandapower as pp
import pytest

import bayesgrid_plugins as bg
from bayesgrid_plugins.app.facade import attached
from bayesgrid_plugins.errors import ParameterError


@pytest.fixture(scope="module")
def osm_net():  # type: ignore[no-untyped-def]
    return bg.create_osm_pandapower_network(dist=300)


def test_create_generate_save_round_trip(osm_net, tmp_path) -> None:  # type: ignore[no-untyped-def]
    net, hop_zone_list, source_bus = osm_net
    assert int(net.ext_grid.bus.iloc[0]) == source_bus
    assert sorted(b for zone in hop_zone_list for b in zone) == sorted(net.bus.index)
    assert len(net.asymmetric_load) == 0  # no loads before generation
    ensemble = bg.BayesianPowerModel().generate_consistent_data(
        net, hop_zone_list, source_bus, n=5, rng=3
    )
    feeder, kept = attached(net)
    assert kept is ensemble
    # Realisation 0 is in the net, kW -> MW, per phase, on the right buses.
    loads = net.asymmetric_load.set_index("bus")
    labels = dict(zip(net.bus["bayesgrid_id"].astype(str), net.bus.index))
    for i in feeder.load_buses[:50]:
        row = loads.loc[labels[feeder.bus_id[i]]]
        # The adapter stores MW rounded to 1 mW so that JSON round trips are exact.
        np.testing.assert_allclose(
            row[["p_a_mw", "p_b_mw", "p_c_mw"]].to_numpy(float),
            ensemble.p_kw[0, i] / 1000,
            rtol=0,
            atol=5e-10,
        )
    pp.runpp_3ph(net, numba=False)
    assert net.converged
    written = bg.save_synthetic_network(
        base_net=net, format="pandapower,npz", output_dir=tmp_path / "out", realisations=[0, 4]
    )
    assert len(written["pandapower"]) == 3  # two nets and the index
    reloaded = pp.from_json(str(written["pandapower"][1]))
    assert len(reloaded.asymmetric_load) == len(net.asymmetric_load)


def test_hop_zones_steer_the_three_phase_probability(osm_net) -> None:  # type: ignore[no-untyped-def]
    net, hop_zone_list, source_bus = osm_net
    # Everything in zone 0 and its p3 at 1: every load three-phase.
    one_zone = [[b for zone in hop_zone_list for b in zone]] + [[] for _ in range(9)]
    params = bg.BayesianPowerModel().parameters.mean()
    p3 = np.zeros(10)
    p3[0] = 1.0
    model = bg.BayesianPowerModel(
        bg.PowerParameters(**{**params.to_dict(), "p3": p3}, provenance=params.provenance)
    )
    ensemble = model.generate_consistent_data(net, one_zone, source_bus, n=2, rng=0)
    assert ensemble.is_three_phase[ensemble.has_load].all()


def test_bad_calls_are_explained(osm_net) -> None:  # type: ignore[no-untyped-def]
    net, hop_zone_list, source_bus = osm_net
    model = bg.BayesianPowerModel()
    with pytest.raises(ParameterError, match="not in the network"):
        model.generate_consistent_data(net, [[999_999]], source_bus, n=1)
    with pytest.raises(ParameterError, match="leaves out buses"):
        model.generate_consistent_data(net, hop_zone_list[:3], source_bus, n=1)
    fresh = pp.create_empty_network()
    with pytest.raises(ParameterError, match="generate_consistent_data"):
        bg.save_synthetic_network(base_net=fresh, format="npz", output_dir="unused")
    with pytest.raises(
        ParameterError, match="Feeder, a networkx graph or a network an engine plugin reads"
    ):
        model.generate_consistent_data([1, 2, 3], n=1)


def test_networkx_graph_in_metres_like_osmnx() -> None:
    graph = nx.MultiDiGraph()
    graph.add_edge(1, 2, length=120.0)
    graph.add_edge(2, 3, length=80.0)
    graph.add_edge(2, 4, length=50.0)
    ensemble = bg.BayesianPowerModel().generate_consistent_data(graph, None, 1, n=3, rng=0)
    assert ensemble.n_buses == 4 and (ensemble.bus_phases[:, 0] == 7).all()
    with pytest.raises(ParameterError, match="source_bus is required"):
        bg.BayesianPowerModel().generate_consistent_data(graph, n=1)


def test_the_kept_ensemble_goes_with_the_net() -> None:
    net, _, _ = bg.create_osm_pandapower_network(dist=150)
    assert attached(net) is not None
    from pandapower_ext import reading

    before = len(reading._ATTACHED)
    del net
    gc.collect()
    assert len(reading._ATTACHED) == before - 1
