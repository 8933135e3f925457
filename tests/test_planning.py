"""Planning: conductors, transformers, feeder splits and voltages sized to each realisation."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_tree

from bayesgrid_plugins import BayesianImpedanceModel, BayesianPowerModel, Feeder
from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import ParameterError
from bayesgrid_plugins.feasibility import feasibility_of
from bayesgrid_plugins.models.impedance import ImpedanceParameters
from bayesgrid_plugins.planning import (
    PlanningRules,
    choose_conductors,
    downstream_current_ka,
    plan_ensemble,
    plan_transformers,
    plan_voltages,
    split_feeders,
    subtree_sum,
)
from bayesgrid_plugins.results import PowerFlowResult


def _chain(n: int, length_km: float = 0.2, vn_kv: float = 13.8) -> Feeder:
    return Feeder(
        [f"b{i}" for i in range(n)], np.arange(n) - 1, [0.0] + [length_km] * (n - 1), vn_kv=vn_kv
    )


@pytest.mark.parametrize("sparse_limit", [0, 6, 10**9])  # cumulative sum, either, sparse
@pytest.mark.parametrize("loaded", [3, 60])
def test_subtree_sum_matches_a_loop_over_the_tree(
    monkeypatch: pytest.MonkeyPatch, sparse_limit: int, loaded: int
) -> None:
    import bayesgrid_plugins.planning as planning

    monkeypatch.setattr(planning, "_SPARSE_NNZ_PER_BUS", sparse_limit)
    feeder = random_tree(60, seed=3)
    values = np.random.default_rng(0).random((4, feeder.n_buses, 3))
    values[:, loaded:] = 0.0
    expected = values.copy()
    for i in feeder.order[::-1]:  # children before parents
        if feeder.parent[i] >= 0:
            expected[:, feeder.parent[i]] += expected[:, i]
    np.testing.assert_allclose(subtree_sum(feeder, values), expected)


def test_downstream_current_of_a_chain_is_the_phase_current_of_the_total() -> None:
    feeder = _chain(3, vn_kv=0.4)
    p = np.zeros((1, 3, 3))
    p[0, 1, 0] = 20.0  # kW on phase A at bus 1
    p[0, 2, 0] = 10.0
    ens = Ensemble(
        bus_id=feeder.bus_id,
        source=0,
        load_phases=np.array([[0, 1, 1]], np.uint8),
        bus_phases=np.array([[7, 7, 7]], np.uint8),
        p_kw=p,
        q_kvar=np.zeros_like(p),
        power_factor=np.ones(1),
        draw=np.zeros(1, int),
    )
    current = downstream_current_ka(feeder, ens)
    # 30 kVA on one phase at 0.4/sqrt3 kV = 129.9 A into bus 1; 10 kVA = 43.3 A into bus 2.
    np.testing.assert_allclose(
        current[0], [0.0, 30 / (0.4 / np.sqrt(3)) / 1000, 10 / (0.4 / np.sqrt(3)) / 1000]
    )


def test_every_planned_conductor_is_adequate_and_variety_stays() -> None:
    feeder = random_tree(300, seed=5).with_zones(10)
    # A heavy demand: many lines need more than the smallest types carry.
    ens = BayesianPowerModel().sample(feeder, 40, rng=1)
    ens = ens.with_fields(p_kw=ens.p_kw * 30, q_kvar=ens.q_kvar * 30)
    planned = plan_ensemble(feeder, ens, rng=2)
    lines = feeder.lines
    need = 1.25 * downstream_current_ka(feeder, planned)
    assert (planned.max_i_ka[:, lines] >= need[:, lines] * (1 - 1e-6)).all()
    # Unplanned, the same model puts inadequate conductors on many lines.
    unplanned = BayesianImpedanceModel().sample(feeder, 40, rng=2, ensemble=ens)
    assert (unplanned.max_i_ka[:, lines] < need[:, lines]).mean() > 0.05
    # Variety: more than one type is used on three-phase lines in a zone.
    three = planned.bus_phases[:, lines] == 7
    assert np.unique(planned.line_type[:, lines][three]).size >= 2
    assert planned.line_type[:, feeder.source].tolist() == [-1] * 40


def test_planned_types_follow_the_renormalised_model_probabilities() -> None:
    # One zone, three-phase lines, tiny demand: every type is adequate, so the type shares are
    # the model's posterior mean probabilities (within a binomial tolerance).
    feeder = _chain(401, length_km=0.05).with_zones(10)
    params = ImpedanceParameters.default()
    ens = BayesianPowerModel().sample(feeder, 50, rng=3)
    ens = ens.with_fields(
        p_kw=ens.p_kw * 1e-3, q_kvar=ens.q_kvar * 1e-3, bus_phases=np.full_like(ens.bus_phases, 7)
    )
    types, _ = choose_conductors(feeder, ens, params, rng=4)
    zone = feeder.zone[1:]
    expected = params.expected_type_probs()[2][zone].mean(axis=0)
    share = np.bincount(types[:, 1:].ravel(), minlength=params.n_types) / types[:, 1:].size
    # Dirichlet draws per realisation dominate the spread: 50 realisations.
    assert np.abs(share - expected).max() < 4 * np.sqrt(expected.max() / 50)


def test_no_adequate_type_takes_parallel_circuits() -> None:
    feeder = _chain(3, vn_kv=0.4).with_zones(10)
    params = ImpedanceParameters.default()
    ens = BayesianPowerModel().sample(feeder, 2, rng=1)
    current = np.full((2, 3), 2.5)  # kA: more than any type's 0.96 kA
    types, n_par = choose_conductors(feeder, ens, params, rng=1, current_ka=current)
    assert (types[:, 1:] == int(np.argmax(params.max_i_ka))).all()
    assert (n_par[:, 1:] == int(np.ceil(1.25 * 2.5 / params.max_i_ka.max()))).all()


def test_transformer_ratings_are_standard_and_adequate() -> None:
    feeder = Feeder(
        ["s", "m", "t", "l"], [-1, 0, 1, 2], [0, 1.0, 0.001, 0.1], vn_kv=[20, 20, 0.4, 0.4]
    )
    ens = BayesianPowerModel().sample(feeder, 30, rng=2)
    sn = plan_transformers(feeder, ens)
    assert np.isnan(sn[:, [0, 1, 3]]).all()
    below = np.abs((ens.p_kw + 1j * ens.q_kvar)[:, 2:].sum(axis=(1, 2))) / 1000
    assert (sn[:, 2] >= 1.25 * below).all() or (sn[:, 2] == 40.0).any()
    assert set(np.unique(sn[:, 2])) <= set(PlanningRules().trafo_ratings_mva)


def test_split_feeders_keeps_buses_and_respects_the_demand_limit() -> None:
    feeder = random_tree(400, seed=7)
    demand = np.full(feeder.n_buses, 50.0)  # 400 x 50 kW = 20 MW on few feeders
    split = split_feeders(feeder, demand, max_feeder_kw=4000.0, max_feeder_km=1e9)
    assert np.array_equal(split.bus_id, feeder.bus_id)
    totals = np.bincount(split.feeder[split.lines], weights=demand[split.lines])
    assert totals.max() <= 4000.0 + 50.0  # a head's own demand may tip it by one bus
    assert split.n_branches > feeder.n_branches
    moved = np.flatnonzero(split.parent != feeder.parent)
    np.testing.assert_allclose(split.length_km[moved], feeder.distance_km[moved])
    np.testing.assert_allclose(split.distance_km, feeder.distance_km)


def test_split_feeders_leaves_a_light_feeder_alone() -> None:
    feeder = random_tree(50, seed=1)
    assert split_feeders(feeder, np.ones(feeder.n_buses)) is feeder


def test_rules_refuse_nonsense() -> None:
    with pytest.raises(ParameterError, match="margin"):
        PlanningRules(margin=0.5)
    with pytest.raises(ParameterError, match="mv_limits_pu"):
        PlanningRules(mv_limits_pu=(1.05, 0.95))


def test_ensemble_with_a_planning_record_saves_and_loads(tmp_path) -> None:
    feeder = random_tree(30, seed=2).with_zones(10)
    planned = plan_ensemble(feeder, BayesianPowerModel().sample(feeder, 3, rng=1), rng=1)
    planned = planned.with_fields(source_vm_pu=np.array([1.0, 1.0125, 1.025]))
    back = Ensemble.load(planned.save(tmp_path / "e.npz"))
    np.testing.assert_array_equal(back.line_type, planned.line_type)
    np.testing.assert_array_equal(back.n_parallel, planned.n_parallel)
    np.testing.assert_array_equal(back.source_vm_pu, planned.source_vm_pu)
    assert back[1].source_vm_pu.tolist() == [1.0125]


def test_plan_voltages_brings_a_long_feeder_within_limits_with_opendss() -> None:
    # An 8 km 13.8 kV chain carrying 4 MW: adequate conductors alone leave the far end low.
    feeder = _chain(41, length_km=0.2).with_zones(10)
    ens = BayesianPowerModel().sample(feeder, 6, rng=8)
    scale = 4000.0 / ens.p_kw.sum(axis=(1, 2))[:, None, None]
    ens = ens.with_fields(p_kw=ens.p_kw * scale, q_kvar=ens.q_kvar * scale)
    planned = plan_ensemble(feeder, ens, rng=1)
    from bayesgrid_plugins.plugins import get_engine

    with get_engine("opendss").open(feeder, planned) as case:
        before = feasibility_of(case.solve_batch(), feeder)
    assert not before.voltage_ok.all()
    after_ens, result = plan_voltages(feeder, planned, "opendss")
    after = feasibility_of(result, feeder)
    assert after.voltage_ok.all() and after.converged.all()
    assert after_ens.source_vm_pu is not None
    # The result is the solve of the final ensemble.
    with get_engine("opendss").open(feeder, after_ens) as case:
        again = case.solve_batch()
    np.testing.assert_allclose(again.vm_pu, result.vm_pu, atol=1e-6, equal_nan=True)


def test_plan_voltages_upgrades_a_realisation_that_does_not_converge_until_it_does() -> None:
    # A 20 km 13.8 kV chain carrying 30 MW: with conductors only adequate for the current, no
    # realisation converges, not even at the top tap; the voltage step must upgrade them.
    feeder = _chain(41, length_km=0.5).with_zones(10)
    ens = BayesianPowerModel().sample(feeder, 3, rng=8)
    scale = 30000.0 / ens.p_kw.sum(axis=(1, 2))[:, None, None]
    ens = ens.with_fields(p_kw=ens.p_kw * scale, q_kvar=ens.q_kvar * scale)
    planned = plan_ensemble(feeder, ens, rng=1)
    from bayesgrid_plugins.plugins import get_engine

    top = planned.with_fields(source_vm_pu=np.full(len(planned), 1.05))
    with get_engine("opendss").open(feeder, top) as case:
        assert not case.solve_batch().converged.any()
    after_ens, result = plan_voltages(feeder, planned, "opendss")
    after = feasibility_of(result, feeder)
    assert after.converged.all() and after.voltage_ok.all()
    assert after_ens.metadata["planning"]["unconverged_upgrades"] >= 3
    assert (after_ens.n_parallel > planned.n_parallel).any() or (
        after_ens.line_type != planned.line_type
    ).any()


def test_estimated_drop_of_a_chain_adds_up_along_the_path() -> None:
    from bayesgrid_plugins.planning import estimated_drop_pu

    feeder = _chain(4, length_km=1.0)
    params = ImpedanceParameters.default()
    z = float(np.hypot(params.r1_ohm_per_km[0], params.x1_ohm_per_km[0]))
    types = np.array([-1, 0, 0, 0])
    current = np.array([0.0, 0.3, 0.2, 0.1])  # kA
    drop = estimated_drop_pu(feeder, params, types, np.array([1, 1, 2, 1]), current)
    vph = 13.8 / np.sqrt(3.0)
    own = z * np.array([0.0, 0.3, 0.2 / 2, 0.1]) / vph
    np.testing.assert_allclose(drop, np.cumsum(own))


def test_feasibility_record_names_what_is_violated() -> None:
    feeder = Feeder(
        ["s", "m", "t", "l"], [-1, 0, 1, 2], [0, 1.0, 0.001, 0.1], vn_kv=[20, 20, 0.4, 0.4]
    )
    vm = np.ones((3, 4, 3))
    vm[1, 3] = 0.85  # LV undervoltage
    vm[2] = np.nan
    loading = np.array([[np.nan, 50, 120, 30], [np.nan, 150, 10, 10], [np.nan] * 4])
    result = PowerFlowResult(
        bus_id=feeder.bus_id,
        realisations=np.arange(3),
        vm_pu=vm,
        converged=np.array([True, True, False]),
        line_loading_percent=loading,
        vm_min_pu=np.fmin.reduce(vm, axis=1),
        vm_max_pu=np.fmax.reduce(vm, axis=1),
        vuf_percent=np.zeros(3),
    )
    report = feasibility_of(result, feeder)
    assert report.infeasible.tolist() == [0, 1, 2]
    assert report.record(0).violations == ("transformer into bus t loaded 120 %",)
    words = report.record(1).violations
    assert any("LV voltage 0.8500" in w for w in words)
    assert any("line into bus m loaded 150 %" in w for w in words)
    assert report.record(2).violations == ("did not converge",)
    assert report.summary()["feasible"] == 0


def test_pandapower_builds_each_realisation_with_its_planned_transformer() -> None:
    pytest.importorskip("pandapower")
    from bayesgrid_plugins.plugins import get_engine

    # 20 kV line, a transformer, and an LV chain carrying 60-400 kW.
    n_lv = 8
    ids = ["s", "m", "t"] + [f"l{i}" for i in range(n_lv)]
    parent = [-1, 0, 1, *range(2, 2 + n_lv)]
    feeder = Feeder(
        ids, parent, [0, 1.0, 0.001] + [0.03] * n_lv, vn_kv=[20, 20] + [0.4] * (n_lv + 1)
    ).with_zones(10)
    ens = BayesianPowerModel().sample(feeder, 4, rng=5)
    scale = np.array([60.0, 150.0, 250.0, 400.0]) / ens.p_kw.sum(axis=(1, 2))
    ens = ens.with_fields(
        p_kw=ens.p_kw * scale[:, None, None], q_kvar=ens.q_kvar * scale[:, None, None]
    )
    planned = plan_ensemble(feeder, ens, rng=1)
    sn = planned.trafo_sn_mva[:, 2]
    assert len(np.unique(sn)) >= 2  # sized to each realisation's demand
    with get_engine("pandapower").open(feeder, planned, options={"numba": False}) as case:
        result = case.solve_batch()
        for k in range(4):
            case.set_realisation(k)
            assert case.native().trafo["sn_mva"].tolist() == [sn[k]]
    report = feasibility_of(result, feeder)
    assert report.converged.all()
    # Rated for 1.25 times the heaviest phase's demand: loaded at most 80 % (plus losses) where
    # the voltages hold. This chain's conductors are planned for current only (the voltage
    # step is the areas'), and a realisation whose LV phase sags to 0.72-0.86 p.u. draws its
    # constant power with that much more current (89-103 % over seeds 5-9): it is reported
    # as infeasible, not hidden.
    ok = report.voltage_ok
    assert ok.sum() >= 2
    assert (report.trafo_loading_percent[ok] < 85).all()
    assert not report.feasible[~ok].any()
