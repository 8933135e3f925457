"""Areas: substations, partition into feeders, MV/LV layers, transmission, combined solves."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

from bayesgrid_plugins.area import (
    MV_SUFFIX,
    area_from_osm,
    parse_voltage_kv,
    read_power,
    sample_area,
)
from bayesgrid_plugins.area.equipment import (
    HV_HV_TRAFOS,
    HV_MV_TRAFOS,
    MV_LV_TRAFOS,
    OVERHEAD_LINES,
    choose_trafo,
)
from bayesgrid_plugins.area.partition import partition_streets
from bayesgrid_plugins.errors import FeederValidationError, ParameterError
from bayesgrid_plugins.models.power import BayesianPowerModel
from bayesgrid_plugins.phases import PHASE_ABC, check_phase_consistency

OSM = Path(f"{SHARED_DATA}/osm")
LIECHTENSTEIN = OSM / "pyosmium_liechtenstein.osm.pbf"
MONACO = OSM / "osrm_monaco.osm.pbf"
#: Vaduz and Schaan: the OSM substation node in Vaduz and "Umspannwerk Schaan".
LI_AREA = {"point": (47.168, 9.50), "dist_m": 1500.0, "max_span_m": 100.0}

needs_data = pytest.mark.skipif(not LIECHTENSTEIN.exists(), reason="shared OSM data missing")


@pytest.fixture(scope="module")
def li_area():
    return area_from_osm(LIECHTENSTEIN, **LI_AREA)


@pytest.fixture(scope="module")
def li_ensemble(li_area):
    # Point estimates of the unconditioned model: the test checks the engines, not the
    # demand. (The place's design demand puts single-phase loads of up to about 1 MW on
    # 0.4 kV buses, which no LV network carries until large customers get three phases.)
    return sample_area(
        li_area,
        2,
        rng=7,
        power_model=_engine_test_model(),
        sampler="unconditioned",
        plan=False,
    )


def _engine_test_model() -> BayesianPowerModel:
    """The counted SMART-DS model without its three-phase class: its commercial loads (about
    100 kW) on 0.4 kV buses are a question of demand, not of the engines."""
    params = dataclasses.replace(
        BayesianPowerModel("smartds-counting").parameters,
        p3class_log_mu_kw=None,
        p3class_log_sigma=None,
    )
    return BayesianPowerModel(params)


# ------------------------------------------------------------------------- small pieces
def test_parse_voltage():
    assert parse_voltage_kv("20000;400") == (20.0, 0.4)
    assert parse_voltage_kv("220000") == (220.0,)
    assert parse_voltage_kv("unknown;110000") == (110.0,)
    assert parse_voltage_kv(None) == ()


def test_equipment_matches_pandapower_standard_types():
    pp = pytest.importorskip("pandapower")
    net = pp.create_empty_network()
    for t in OVERHEAD_LINES:
        data = pp.load_std_type(net, t.name, "line")
        assert data["r_ohm_per_km"] == pytest.approx(t.r1_ohm_per_km)
        assert data["x_ohm_per_km"] == pytest.approx(t.x1_ohm_per_km)
        assert data["c_nf_per_km"] == pytest.approx(t.c1_nf_per_km)
        assert data["max_i_ka"] == pytest.approx(t.max_i_ka)
    for t in HV_HV_TRAFOS + HV_MV_TRAFOS + MV_LV_TRAFOS:
        data = pp.load_std_type(net, t.name, "trafo")
        for ours, theirs in (
            ("sn_mva", "sn_mva"),
            ("vk_percent", "vk_percent"),
            ("vkr_percent", "vkr_percent"),
            ("pfe_kw", "pfe_kw"),
            ("i0_percent", "i0_percent"),
        ):
            assert getattr(t, ours) == pytest.approx(data[theirs]), (t.name, ours)


def test_choose_trafo_uses_margin():
    # 0.25 MVA carries 0.25 * 0.95 / 1.25 = 190 kW of planning demand.
    assert choose_trafo(190.0, MV_LV_TRAFOS).sn_mva == 0.25
    assert choose_trafo(191.0, MV_LV_TRAFOS).sn_mva == 0.4
    assert choose_trafo(1e6, MV_LV_TRAFOS).sn_mva == 0.63


def test_partition_by_street_distance_and_feeder_limit():
    # A path 0-1-2-...-9 (100 m spans), substations at 0 and 9; 10 kW per bus.
    n = 10
    a, b = np.arange(n - 1), np.arange(1, n)
    demand = np.full(n, 10.0)
    part = partition_streets(n, a, b, np.full(n - 1, 100.0), np.array([0, 9]), demand)
    assert part.owner.tolist() == [0] * 5 + [1] * 5
    assert part.heads.tolist() == [1, 8]
    # A 25 kW feeder limit cuts each side (4 buses, 40 kW) into two feeders.
    part = partition_streets(
        n, a, b, np.full(n - 1, 100.0), np.array([0, 9]), demand, max_feeder_kw=25.0
    )
    assert part.heads.size == 4
    assert set(np.unique(part.feeder_of[part.feeder_of >= 0])) == {0, 1, 2, 3}
    # LV networks: at most 150 m from their transformer.
    part = partition_streets(
        n, a, b, np.full(n - 1, 100.0), np.array([0, 9]), demand, lv_max_m=150.0
    )
    assert part.site.sum() == 4  # two LV networks of two buses per side
    assert (part.mv[part.site]).all()


# ------------------------------------------------------------------------- real extracts
@needs_data
def test_power_data_of_liechtenstein():
    power = read_power(LIECHTENSTEIN)
    # five power=substation (one node, four ways) and one power=station (Umspannwerk Schaan)
    assert power.n_substations == 6
    assert any(kv == (220.0,) for kv in power.line_kv)


@needs_data
def test_area_under_real_substations(li_area):
    area = li_area
    assert area.placement == "osm"
    assert {s.origin for s in area.substations} == {"osm"}
    assert len(area.substations) >= 2
    assert "Umspannwerk Schaan" in {s.name for s in area.substations}
    assert area.n_feeders >= 2 * len(area.substations)
    assert any("substation=transmission" in d for d in area.dropped)


@needs_data
def test_every_street_bus_in_exactly_one_feeder(li_area):
    area = li_area
    sub_ids = {area.spans.bus_id[s.bus] for s in area.substations}
    street = []
    for f in area.feeders:
        fd = f.feeder
        assert fd.bus_id[fd.source] in sub_ids
        lv = fd.vn_kv <= area.lv_kv + 1e-9
        street.extend(fd.bus_id[lv].tolist())
        twins = fd.bus_id[(~lv) & (np.arange(fd.n_buses) != fd.source)]
        assert all(t.endswith(MV_SUFFIX) for t in twins)
    assert len(street) == len(set(street))
    assert set(street) | sub_ids == set(area.spans.bus_id.tolist())


@needs_data
def test_feeders_are_radial_with_their_own_zones(li_area):
    for f in li_area.feeders:
        fd = f.feeder
        assert fd.order.size == fd.n_buses  # validated tree, reached from its one source
        assert fd.n_branches == 1
        assert fd.d.max() == pytest.approx(1.0)
        assert fd.d.min() == 0.0
        # Transformers at sites: MV parent, LV child; loads only at LV.
        par = fd.parent[f.sites]
        assert (fd.vn_kv[par] == li_area.mv_kv).all()
        assert (fd.vn_kv[f.sites] == li_area.lv_kv).all()
        assert (fd.vn_kv[fd.is_load] == li_area.lv_kv).all()
        changes = ~np.isclose(fd.vn_kv[fd.lines], fd.vn_kv[fd.parent[fd.lines]])
        assert np.array_equal(np.sort(fd.lines[changes]), np.sort(f.sites))


@needs_data
def test_placement_rule_when_no_substation():
    area = area_from_osm(MONACO, point=(43.7384, 7.4246), dist_m=1200.0, max_span_m=100.0)
    assert area.placement.startswith("placed by rule")
    assert "placed by rule" in area.summary()
    assert {s.origin for s in area.substations} == {"rule"}
    assert area.transmission.slack >= 0
    # Monaco's power lines carry no voltage tag: they get the default and a note says so.
    notes = " ".join(area.transmission.notes)
    assert "without voltage" in notes or "no transmission line" in notes


@needs_data
def test_user_substations_and_bad_arguments():
    area = area_from_osm(
        LIECHTENSTEIN,
        **LI_AREA,
        substations=[(47.1609, 9.5053), (47.1740, 9.4938), (47.1700, 9.5150)],
    )
    assert area.placement == "user"
    assert len(area.substations) == 3
    with pytest.raises(ParameterError, match="substations"):
        area_from_osm(LIECHTENSTEIN, **LI_AREA, substations="everywhere")
    with pytest.raises(FeederValidationError, match="substation point"):
        area_from_osm(LIECHTENSTEIN, **LI_AREA, substations=[(47.30, 9.60)])


@needs_data
def test_sampling_is_aligned_and_reproducible(li_area, li_ensemble):
    again = sample_area(
        li_area,
        2,
        rng=7,
        power_model=_engine_test_model(),
        sampler="unconditioned",
        plan=False,
    )
    assert len(li_ensemble.ensembles) == li_area.n_feeders
    for f, e, e2 in zip(li_area.feeders, li_ensemble.ensembles, again.ensembles):
        assert e.n_realisations == 2
        np.testing.assert_array_equal(e.p_kw, e2.p_kw)
        assert (e.bus_phases[:, f.mv_buses] == PHASE_ABC).all()
        check_phase_consistency(f.feeder, e.bus_phases)
    combined = li_ensemble.combined(li_area)
    assert np.unique(combined.bus_id).size == combined.n_buses
    other = sample_area(li_area, 2, rng=8, power_model=BayesianPowerModel("smartds-counting"))
    assert not np.array_equal(other.ensembles[0].p_kw, li_ensemble.ensembles[0].p_kw)
    # With a posterior of many draws, realisation k shares its draw across all feeders.
    posterior = sample_area(li_area, 3, rng=7)
    draws = {tuple(e.draw.tolist()) for e in posterior.ensembles}
    assert len(draws) == 1


@needs_data
def test_combined_system_solves_in_both_engines(li_area, li_ensemble):
    pytest.importorskip("pandapower")
    pytest.importorskip("opendssdirect")
    from opendss_ext.area import solve_area as solve_dss
    from opendss_ext.builder import CircuitOptions
    from opendss_ext.defaults import SourceType
    from pandapower_ext.area import build_area_net
    from pandapower_ext.area import solve_area as solve_pp
    from pandapower_ext.defaults import SourceParameters

    # Phase-accurate OpenDSS circuit with the default source.
    native = solve_dss(li_area, li_ensemble)
    assert native.converged.all()
    lo, hi = native.voltage_range()
    assert 0.85 < lo < hi < 1.1

    # Both engines modelled alike: stiff sources, every feeder line three-phase.
    dss = solve_dss(
        li_area,
        li_ensemble,
        options=CircuitOptions(all_three_phase=True, source=SourceType(s_sc_mva=None)),
        regulate=False,
    )
    net, combined = build_area_net(li_area, li_ensemble, source=SourceParameters(s_sc_max_mva=1e7))
    res = solve_pp(net, combined, regulate=False)  # OpenDSS holds no busbar either
    assert res.converged.all() and dss.converged.all()
    assert len(net.trafo) == len(li_area.substations) + sum(f.sites.size for f in li_area.feeders)
    pos = {b: i for i, b in enumerate(res.bus_id)}
    cols = np.asarray([pos[b] for b in dss.bus_id])
    diff = np.abs(dss.vm_pu - res.vm_pu[:, cols])
    assert np.isnan(dss.vm_pu).sum() == np.isnan(res.vm_pu[:, cols]).sum()
    # Positive-sequence transmission and MV agree closely (measured 2e-7 and 4e-5 p.u.); the LV
    # side differs by up to 4e-3 p.u. (measured) through the engines' zero-sequence models of
    # Dyn transformers under unbalanced load.
    assert np.nanmax(diff[:, dss.level == "hv"]) < 1e-6
    assert np.nanmax(diff[:, dss.level == "mv"]) < 1e-4
    assert np.nanmax(diff[:, dss.level == "lv"]) < 1e-2


@needs_data
def test_plot_area(li_area, tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from bayesgrid_plugins.area import plot_area

    ax = plot_area(li_area)
    out = tmp_path / "area.png"
    ax.figure.savefig(out, dpi=60)
    assert out.stat().st_size > 10_000
    assert len(ax.collections) >= li_area.n_feeders


@needs_data
def test_area_samples_the_place_demand_with_one_level_per_realisation(li_area):
    # Default sampler: conditioned on each bus's design demand from the buildings, and
    # realisation k scaled by one level multiplier shared by every feeder of the area.
    assert li_area.demand.level.country == "LI"
    ens = sample_area(li_area, 6, rng=3)
    ratios = []
    for f, e in zip(li_area.feeders, ens.ensembles):
        design = np.asarray(f.feeder.demand_kw)
        if design.sum() == 0:
            continue
        ratio = e.p_kw.sum(axis=(1, 2)) / design.sum()
        # Each bus keeps its share of the design demand in every realisation.
        np.testing.assert_allclose(e.p_kw.sum(-1), ratio[:, None] * design[None, :], rtol=1e-9)
        ratios.append(ratio)
    ratios = np.asarray(ratios)
    np.testing.assert_allclose(ratios, np.broadcast_to(ratios[:1], ratios.shape), rtol=1e-9)
    assert np.ptp(ratios[0]) > 0  # the level varies between realisations
