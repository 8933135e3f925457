"""Every result object prints as one short line: shape, ids and a few figures."""

from __future__ import annotations

import pytest
from conftest import SHARED_DATA, random_tree

from bayesgrid_plugins.models.impedance import BayesianImpedanceModel
from bayesgrid_plugins.models.power import BayesianPowerModel

LIMIT = 300
IEEE13 = (
    SHARED_DATA / "feeders/electricdss-tst/Version8/Distrib/IEEETestCases/13Bus/IEEE13Nodeckt.dss"
)
EU_LV = SHARED_DATA / "feeders/pandapower/IEEE_European_LV_On_Peak_566.json"
LIECHTENSTEIN = SHARED_DATA / "osm" / "pyosmium_liechtenstein.osm.pbf"


def check(obj, name: str, *parts: str) -> None:
    text = repr(obj)
    assert len(text) <= LIMIT, (len(text), text)
    assert text.startswith(f"{name}(") and "\n" not in text, text
    for part in parts:
        assert part in text, (part, text)


@pytest.fixture(scope="module")
def big():
    feeder = random_tree(906, seed=1)
    ens = BayesianPowerModel().sample(feeder, 100, rng=1)
    return feeder, BayesianImpedanceModel().sample(feeder, 100, rng=2, ensemble=ens)


def test_feeder_and_ensemble(big) -> None:
    feeder, ens = big
    check(feeder, "Feeder", "buses=906", f"source='{feeder.bus_id[feeder.source]}'")
    check(ens, "Ensemble", "n=100", "buses=906", "r1_ohm_per_km", "bus_id=[")


def test_power_flow_results(big) -> None:
    from bayesgrid_plugins.feeder import Feeder
    from opendss_ext import solve_ensemble

    feeder = Feeder.from_edges([("s", "a", 0.1), ("a", "b", 0.05)], "s", vn_kv=0.4)
    result = solve_ensemble(feeder, BayesianPowerModel().sample(feeder, 3, rng=1))
    check(result, "PowerFlowResult", "engine='opendss'", "converged=3/3", "vm_pu=")


def test_osm_feeder_and_reliability() -> None:
    from bayesgrid_plugins.models.reliability import ReliabilityModel
    from bayesgrid_plugins.topology import feeder_from_osm

    osm = feeder_from_osm(dist_m=300)
    check(osm, "OsmFeeder", f"buses={osm.feeder.n_buses}")
    ens = BayesianPowerModel().sample(osm.feeder, 5, rng=1)
    result = ReliabilityModel().run(osm.feeder, 5, rng=2, ensemble=ens)
    check(result, "ReliabilityResult", "n=5", "saifi")


@pytest.mark.skipif(not EU_LV.exists(), reason="shared data missing")
@pytest.mark.filterwarnings("ignore::bayesgrid_plugins.errors.LargeLoadWarning")
def test_unbalanced_net_and_circuit() -> None:
    import pandapower as pp

    from opendss_ext import unbalance_circuit
    from pandapower_ext import unbalance_net

    result = unbalance_net(pp.from_json(str(EU_LV)), n=50, rng=1)
    check(result, "UnbalancedNet", "n=50", "loads=55")
    check(unbalance_circuit(IEEE13, n=20, rng=1), "UnbalancedCircuit", "n=20")


@pytest.mark.skipif(not LIECHTENSTEIN.exists(), reason="shared OSM data missing")
def test_area_objects() -> None:
    from bayesgrid_plugins.area import area_from_osm, sample_area
    from pandapower_ext.area import build_area_net, solve_area

    area = area_from_osm(LIECHTENSTEIN, point=(47.168, 9.50), dist_m=1500.0, max_span_m=100.0)
    check(area, "Area", f"feeders={area.n_feeders}")
    check(area.feeders[0], "AreaFeeder", "buses=")
    ens = sample_area(
        area, 2, rng=7, power_model=BayesianPowerModel("smartds-counting"), sampler="unconditioned"
    )
    check(ens, "AreaEnsemble", "n=2")
    net, combined = build_area_net(area, ens)
    check(solve_area(net, combined), "AreaPowerFlow", "converged=")


def test_power_flow_result_without_timings() -> None:
    import numpy as np

    from bayesgrid_plugins.results import PowerFlowResult

    vm = np.full((2, 3, 3), 1.0)
    result = PowerFlowResult(
        bus_id=np.array(["s", "a", "b"]),
        realisations=np.arange(2),
        vm_pu=vm,
        converged=np.array([True, False]),
        line_loading_percent=np.zeros((2, 3)),
        vm_min_pu=vm.min(axis=(1, 2)),
        vm_max_pu=vm.max(axis=(1, 2)),
        vuf_percent=np.zeros(2),
    )  # elapsed_s left out: None
    check(result, "PowerFlowResult", "converged=1/2")
