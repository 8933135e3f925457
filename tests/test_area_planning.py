"""Areas planned per realisation: equipment sized to the sampled place demand, feasible flows."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from bayesgrid_plugins.area import area_from_osm, plan_area, sample_area
from bayesgrid_plugins.area.partition import DEFAULT_OWN_SITE_KW, partition_streets
from bayesgrid_plugins.area.planning import hv_mv_ratings_mva, substation_power_kva
from bayesgrid_plugins.planning import DESIGN_MARGIN, downstream_current_ka, downstream_power_kva

SHARED_DATA = Path(
    os.environ.get("BAYESGRID_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
LIECHTENSTEIN = SHARED_DATA / "osm" / "pyosmium_liechtenstein.osm.pbf"
#: 700 m around the OSM substation node in Vaduz: one substation, 4 feeders, 21 LV networks.
VADUZ = {"point": (47.1609, 9.5053), "dist_m": 700.0, "max_span_m": 100.0}

needs_data = pytest.mark.skipif(not LIECHTENSTEIN.exists(), reason="shared OSM data missing")


@pytest.fixture(scope="module")
def vaduz():
    return area_from_osm(LIECHTENSTEIN, **VADUZ)


def test_large_customer_gets_its_own_transformer():
    # A path 0-1-2-3-4 (50 m spans) from a substation at 0; bus 2 carries a 300 kW customer.
    n = 5
    a, b = np.arange(n - 1), np.arange(1, n)
    demand = np.array([0.0, 10.0, 300.0, 10.0, 10.0])
    part = partition_streets(n, a, b, np.full(n - 1, 50.0), np.array([0]), demand)
    assert part.site[2] and part.site_of[2] == 2  # its own LV network's root
    assert part.site_of[1] != 2
    assert DEFAULT_OWN_SITE_KW == pytest.approx(144.8, abs=0.1)
    # Without the rule it shares the LV network of the feeder head (400 kW limit not reached).
    old = partition_streets(n, a, b, np.full(n - 1, 50.0), np.array([0]), demand, own_site_kw=None)
    assert not old.site[2]


def test_hv_mv_ratings():
    power = np.array([[10_000.0, 25_000.0, 100_000.0]])  # kVA
    assert hv_mv_ratings_mva(power, margin=1.25).tolist() == [[25.0, 40.0, 126.0]]


@needs_data
def test_plan_area_sizes_every_conductor_and_transformer(vaduz):
    ens = sample_area(vaduz, 4, rng=5, plan=False)
    planned = plan_area(vaduz, ens, rng=2)
    assert planned.plan is not None and planned.hv_mv_sn_mva.shape == (4, 1)
    for f, e in zip(vaduz.feeders, planned.ensembles):
        fd = f.feeder
        need = DESIGN_MARGIN * downstream_current_ka(fd, e)
        lines = np.setdiff1d(fd.lines, f.sites)
        assert (e.max_i_ka[:, lines] >= need[:, lines] - 1e-9).all()
        s = 3 * np.abs(downstream_power_kva(fd, e)[:, f.sites]).max(axis=2) / 1000.0
        assert (e.trafo_sn_mva[:, f.sites] >= DESIGN_MARGIN * s - 1e-6).all()
        # the plan does not change the sampled demand
        assert np.array_equal(e.p_kw, ens.ensembles[vaduz.feeders.index(f)].p_kw)
    s_sub = substation_power_kva(vaduz, planned) / 1000.0
    assert (planned.hv_mv_sn_mva >= DESIGN_MARGIN * s_sub).all()
    # The combined ensemble (what the area adapters and exports read) carries the plan.
    combined = planned.combined(vaduz)
    assert combined.line_type is not None and combined.trafo_sn_mva is not None
    assert combined.metadata["planning"]["margin"] == DESIGN_MARGIN
    assert combined.metadata["hv_mv_sn_mva"] == planned.hv_mv_sn_mva.tolist()
    # The area's fixed planning equipment is not enough for the sampled demand.
    fixed = np.concatenate(
        [[t.sn_mva for t in f.trafos] for f in vaduz.feeders if len(f.trafos)]
    ).max()
    assert np.nanmax(combined.trafo_sn_mva) > fixed


@needs_data
def test_opendss_script_carries_the_planned_ratings(vaduz):
    pytest.importorskip("opendssdirect")
    from opendss_ext.area import to_area_dss_commands

    planned = sample_area(vaduz, 2, rng=5)
    script = "\n".join(to_area_dss_commands(vaduz, planned, realisation=1))
    sn = planned.hv_mv_sn_mva[1, 0] * 1000.0
    assert f"kvas=[{sn:g} {sn:g}]" in script


@needs_data
@pytest.mark.slow
def test_planned_area_is_feasible_at_the_place_demand(vaduz):
    """Place demand, conditioned sampler: every realisation converges within all limits;
    the same realisations with the area's fixed equipment overload lines and transformers."""
    pytest.importorskip("pandapower")
    from pandapower_ext.area import build_area_net, solve_area

    flows = {}
    for plan in (False, True):
        ens = sample_area(vaduz, 3, rng=3, plan=plan, engine="pandapower" if plan else None)
        net, combined = build_area_net(vaduz, ens)
        flows[plan] = solve_area(net, combined)
    old, new = flows[False], flows[True]
    assert max(old.max_loading()) > 100.0  # measured 238 % (lines), 261 % (transformers)
    assert new.converged.all()
    assert max(new.max_loading()) <= 100.0
    lo, hi = new.voltage_range("mv")
    assert 0.95 <= lo and hi <= 1.05
    lo, hi = new.voltage_range("lv")
    assert 0.90 <= lo and hi <= 1.10
    assert len(new.metadata["hv_mv_tap"]) == 3


@needs_data
def test_both_engines_hold_the_busbars_alike_on_a_planned_area(vaduz):
    pytest.importorskip("pandapower")
    pytest.importorskip("opendssdirect")
    from opendss_ext.area import solve_area as solve_dss
    from opendss_ext.builder import CircuitOptions
    from opendss_ext.defaults import SourceType
    from pandapower_ext.area import build_area_net
    from pandapower_ext.area import solve_area as solve_pp
    from pandapower_ext.defaults import SourceParameters

    planned = sample_area(vaduz, 2, rng=3)
    dss = solve_dss(
        vaduz,
        planned,
        options=CircuitOptions(all_three_phase=True, source=SourceType(s_sc_mva=None)),
    )
    net, combined = build_area_net(vaduz, planned, source=SourceParameters(s_sc_max_mva=1e7))
    res = solve_pp(net, combined)
    assert dss.converged.all() and res.converged.all()
    tap_dss = np.asarray(dss.metadata["hv_mv_tap"])
    tap_pp = np.asarray(res.metadata["hv_mv_tap"])
    assert (tap_pp != 0).any()  # the taps act
    # One rule in both engines: the same position, or one step apart where a busbar sits on a
    # step boundary (the engines' LV zero-sequence models differ by up to 4e-3 p.u.).
    assert (np.abs(tap_dss - tap_pp) <= 1).all()
    pos = {b: i for i, b in enumerate(res.bus_id)}
    cols = np.asarray([pos[b] for b in dss.bus_id])
    busbar = np.char.endswith(dss.bus_id.astype(str), "~mvbus")
    for flows, at in ((res, cols), (dss, np.arange(dss.bus_id.size))):
        assert (np.nanmin(flows.vm_pu[:, at][:, busbar], axis=2) >= 1.0 - 1e-9).all()
    same = (tap_dss == tap_pp).all(axis=1)
    assert same.any()
    diff = np.abs(dss.vm_pu[same] - res.vm_pu[same][:, cols])
    assert np.nanmax(diff[:, busbar]) < 1e-3


@needs_data
def test_voltage_step_plans_alike_in_opendss_and_power_grid_model(vaduz):
    """The OpenDSS feeder engine builds the MV/LV transformers inside area feeders, so it runs
    the voltage step too, and upgrades the same conductors as power-grid-model."""
    pytest.importorskip("opendssdirect")
    planned = {
        engine: sample_area(vaduz, 3, rng=3, engine=engine)
        for engine in ("power-grid-model", "opendss")
    }
    a, b = planned["power-grid-model"], planned["opendss"]
    assert a.plan["voltage_rounds"] >= 1  # the step upgrades something
    assert a.plan["feeder_realisations_left"] == b.plan["feeder_realisations_left"] == 0
    for x, y in zip(a.ensembles, b.ensembles):
        np.testing.assert_array_equal(x.line_type, y.line_type)
        np.testing.assert_array_equal(x.n_parallel, y.n_parallel)
