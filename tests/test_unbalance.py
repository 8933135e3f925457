"""Conditioned sampling; unbalancing real pandapower nets (totals kept, solved 3-phase)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandapower as pp
import pytest
from conftest import SHARED_DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayesgrid_plugins.errors import FeederValidationError, ParameterError
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.models.conditioned import bus_totals, sample_conditioned
from bayesgrid_plugins.models.power import PowerParameters
from bayesgrid_plugins.phases import PHASE_ABC, check_phase_consistency, n_phases
from bayesgrid_plugins.plugins import get_engine
from bayesgrid_plugins.scenarios import SCENARIOS, scenario_parameters
from pandapower_ext import solve_ensemble
from pandapower_ext.unbalance import (
    LargeLoadWarning,
    MissingDataWarning,
    add_zero_sequence_data,
    bus_load_totals,
    unbalance_feeder,
    unbalance_net,
)

NETS = Path(f"{SHARED_DATA}/feeders/pandapower")
EU_LV = NETS / "IEEE_European_LV_On_Peak_566.json"
OBERRHEIN = NETS / "mv_oberrhein.json"
SCHUTTERWALD = NETS / "lv_schutterwald.json"
#: Relative tolerance on each bus's total P and Q (the issue's 1e-9).
TOTAL_RTOL = 1e-9
# A line of the Schutterwald net is switched open at both ends: pandapower's 3-phase branch
# results divide 0 by 0 for that floating line (its flows come out NaN, nothing else).
FLOATING_LINE = pytest.mark.filterwarnings(
    "ignore:invalid value encountered in divide:RuntimeWarning"
)


@pytest.fixture(scope="module")
def params() -> PowerParameters:
    return PowerParameters.default()


def _read(path: Path):
    return pp.from_json(str(path))


def assert_totals_kept(ensemble, p_bus, q_bus):
    """Every realisation's per-phase loads sum to each bus's total, to TOTAL_RTOL."""
    scale_p = np.maximum(np.abs(p_bus), np.finfo(float).tiny)
    scale_q = np.maximum(np.abs(q_bus), np.finfo(float).tiny)
    err_p = np.abs(ensemble.p_kw.sum(axis=2) - p_bus) / scale_p
    err_q = np.abs(ensemble.q_kvar.sum(axis=2) - q_bus) / scale_q
    assert err_p.max() <= TOTAL_RTOL
    assert err_q.max() <= TOTAL_RTOL


def assert_consistent(feeder, ensemble):
    check_phase_consistency(feeder, ensemble.bus_phases)
    assert not ((ensemble.load_phases & ~ensemble.bus_phases) != 0).any()
    assert (ensemble.bus_phases[:, feeder.source] == PHASE_ABC).all()
    # loads sit only on their phases: no power on a phase the load does not connect to
    bits = (ensemble.load_phases[..., None] >> np.arange(3)) & 1
    assert not ((bits == 0) & (ensemble.p_kw != 0)).any()
    assert not ((bits == 0) & (ensemble.q_kvar != 0)).any()


# ----------------------------------------------------------------------------- core sampler
@st.composite
def feeders_with_demand(draw):
    n = draw(st.integers(2, 25))
    parent = [-1] + [draw(st.integers(0, i - 1)) for i in range(1, n)]
    lengths = [0.0] + [draw(st.floats(0.001, 2.0)) for _ in range(1, n)]
    feeder = Feeder(bus_id=[f"b{i}" for i in range(n)], parent=parent, length_km=lengths)
    has = np.asarray(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    has[draw(st.integers(0, n - 1))] = True
    p = np.asarray(draw(st.lists(st.floats(1e-3, 1e4), min_size=n, max_size=n)))
    # Reactive powers of either sign; magnitudes below 1 mvar would only probe float underflow.
    q_value = st.one_of(st.just(0.0), st.floats(1e-6, 1e3), st.floats(-1e3, -1e-6))
    q = np.asarray(draw(st.lists(q_value, min_size=n, max_size=n)))
    return feeder, np.where(has, p, 0.0), np.where(has, q, 0.0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=feeders_with_demand(),
    n=st.integers(1, 6),
    p3=st.floats(0.0, 1.0),
    shares=st.sampled_from([*SCENARIOS.values(), (0.2, 0.2, 0.6), (0.05, 0.05, 0.9)]),
    concentration=st.floats(0.05, 500.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_conditioned_sampling_properties(data, n, p3, shares, concentration, seed, params):
    feeder, p_bus, q_bus = data
    model = scenario_parameters(params, p3=p3, shares=shares, concentration=concentration)
    ens = sample_conditioned(feeder, p_bus, q_bus, n, model=model, rng=seed)
    assert_totals_kept(ens, p_bus, q_bus)
    assert_consistent(feeder, ens)
    assert (ens.p_kw >= 0).all()
    live = (p_bus != 0) | (q_bus != 0)
    assert np.array_equal(ens.has_load, np.broadcast_to(live, ens.has_load.shape))
    # single-phase loads put everything on one phase; every phase keeps the bus's own PF
    single = n_phases(ens.load_phases) == 1
    assert ((ens.p_kw > 0).sum(axis=2)[single & (p_bus > 0)] == 1).all()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = ens.q_kvar / ens.p_kw
    on = ens.p_kw > 0
    expected = np.broadcast_to((q_bus / np.where(p_bus > 0, p_bus, 1))[None, :, None], on.shape)
    np.testing.assert_allclose(ratio[on], expected[on], rtol=1e-12)


def test_tiny_phase_shares_do_not_lose_the_power_factor(params):
    """Dirichlet concentration 0.05 draws shares down to 1e-300 and below; the products with
    P and Q were subnormal floats, and a phase's Q/P came out 0.2499999948 for a bus at 0.25."""
    feeder = Feeder.from_edges([(0, i, 0.1) for i in range(1, 41)], 0)
    p = np.r_[0.0, np.full(40, 8.0)]
    model = scenario_parameters(params, p3=1.0, shares=(0.2, 0.2, 0.6), concentration=0.05)
    ens = sample_conditioned(feeder, p, p / 4, 200, model=model, rng=11)
    on = ens.p_kw > 0
    assert on.sum() < on.size * 0.9  # many phases carry nothing at this concentration
    assert ens.p_kw[on].min() >= 8.0 * 1e-12
    np.testing.assert_allclose(ens.q_kvar[on] / ens.p_kw[on], 0.25, rtol=1e-12)
    np.testing.assert_allclose(ens.p_kw.sum(axis=2)[:, 1:], 8.0, rtol=1e-12)


def test_same_seed_same_ensemble_and_q_from_the_model(params):
    feeder = Feeder.from_edges([(0, 1, 0.1), (1, 2, 0.2), (1, 3, 0.1)], 0)
    p = np.array([0.0, 2.0, 3.0, 1.0])
    a = sample_conditioned(feeder, p, None, 4, model=params, rng=7)
    b = sample_conditioned(feeder, p, None, 4, model=params, rng=7)
    np.testing.assert_array_equal(a.p_kw, b.p_kw)
    np.testing.assert_array_equal(a.q_kvar, b.q_kvar)
    # without Q the model's power factor of each realisation sets it
    tan = np.tan(np.arccos(a.power_factor))
    np.testing.assert_allclose(a.q_kvar, a.p_kw * tan[:, None, None])
    assert set(a.power_factor) <= set(params.pf_values)


def test_bus_totals_and_input_errors(params):
    feeder = Feeder.from_edges([("s", "a", 0.1), ("a", "b", 0.2)], "s")
    p, q = bus_totals(feeder, ["a", "b", "a"], [1.0, 2.0, 0.5], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(p, [0.0, 1.5, 2.0])
    np.testing.assert_allclose(q, [0.0, 0.4, 0.2])
    with pytest.raises(FeederValidationError, match="'x'"):
        bus_totals(feeder, ["a", "x"], [1.0, 2.0])
    with pytest.raises(ParameterError, match="p_kw is negative"):
        sample_conditioned(feeder, [0.0, -1.0, 1.0], None, 1, model=params)
    with pytest.raises(ParameterError, match="p_kw has shape"):
        sample_conditioned(feeder, [1.0, 2.0], None, 1, model=params)
    with pytest.raises(ParameterError, match="q_kvar is not finite"):
        sample_conditioned(feeder, [0.0, 1.0, 1.0], [0.0, np.nan, 0.0], 1, model=params)
    with pytest.raises(ParameterError, match="no load"):
        sample_conditioned(feeder, [0.0, 0.0, 0.0], None, 1, model=params)
    with pytest.raises(ParameterError, match="n must be"):
        sample_conditioned(feeder, [0.0, 1.0, 1.0], None, 0, model=params)


# ----------------------------------------------------------------------------- pandapower nets
def _check_net(net, result, before, n):
    feeder, ens = result.feeder, result.ensemble
    assert ens.n_realisations == n
    labels = feeder.bus_id.astype(np.int64)
    assert set(before.index) <= set(labels.tolist())
    p_bus = before["p_kw"].reindex(labels).fillna(0.0).to_numpy()
    q_bus = before["q_kvar"].reindex(labels).fillna(0.0).to_numpy()
    assert_totals_kept(ens, p_bus, q_bus)
    assert_consistent(feeder, ens)
    assert (ens.p_kw >= 0).all()
    assert len(net.load[net.load["in_service"]]) == 0
    for k in range(n):
        result.realisation(k)
        after = bus_load_totals(net).reindex(before.index)
        np.testing.assert_allclose(after["p_kw"], before["p_kw"], rtol=TOTAL_RTOL, atol=0)
        np.testing.assert_allclose(after["q_kvar"], before["q_kvar"], rtol=TOTAL_RTOL, atol=0)


def _solve(net, result):
    res = solve_ensemble(net, result.feeder, result.ensemble, raise_on_failure=True)
    assert res.all_converged
    low, high = res.voltage_range()
    assert np.isfinite(low).all() and np.isfinite(high).all()
    return res


def test_european_lv_keeps_demand_and_solves():
    net = _read(EU_LV)
    before = bus_load_totals(net)
    assert len(net.load) == 0 and len(net.asymmetric_load) == 55
    result = unbalance_net(net, n=3, rng=14)  # the net has every 3-phase datum: no warning
    assert result.filled == {}
    _check_net(net, result, before, 3)
    res = _solve(net, result)
    low, high = res.voltage_range()
    # the source is at 1.05 p.u.; a few kW per house cannot move the voltage far
    assert low.min() > 0.9 and high.max() < 1.1


def test_oberrhein_two_grids_keeps_demand_and_solves():
    net = _read(OBERRHEIN)
    before = bus_load_totals(net)
    with pytest.warns(LargeLoadWarning, match="147 loads exceed 100 kVA"):
        with pytest.warns(MissingDataWarning) as caught:
            result = unbalance_net(net, n=3, rng=14)
    missing = [w for w in caught if w.category is MissingDataWarning]
    assert len(missing) == 1
    message = str(missing[0].message)
    for column in ("line.r0_ohm_per_km", "trafo.vector_group", "ext_grid.s_sc_max_mva"):
        assert column in message
    # both external grids' parts are in the feeder and carry three phases at their grids
    grid_buses = net.ext_grid["bus"].astype(str).tolist()
    pos = result.feeder.index_of(grid_buses)
    assert (result.ensemble.bus_phases[:, pos] == PHASE_ABC).all()
    assert result.loop_elements == ()
    # static generators are kept
    assert len(net.sgen) == 153
    _check_net(net, result, before, 3)
    _solve(net, result)


@FLOATING_LINE
def test_schutterwald_fourteen_grids_and_a_loop():
    net = _read(SCHUTTERWALD)
    before = bus_load_totals(net)
    with pytest.warns(MissingDataWarning):
        result = unbalance_net(net, n=2, rng=14)
    # one loop of five lines: the closing line is left out, the loop is three-phase
    assert len(result.loop_elements) == 1
    loop = result.feeder.index_of(["2803", "2804", "2805", "3005", "3209"])
    assert (result.ensemble.bus_phases[:, loop] == PHASE_ABC).all()
    assert result.feeder.n_buses == len(net.bus)
    _check_net(net, result, before, 2)
    _solve(net, result)


@pytest.mark.slow
@FLOATING_LINE
@pytest.mark.parametrize("path", [SCHUTTERWALD, OBERRHEIN, EU_LV], ids=lambda p: p.stem)
def test_many_realisations_solve(path):
    net = _read(path)
    before = bus_load_totals(net)
    # Oberrhein's loads are whole MV/LV stations: as docs/unbalance.md advises for such nets,
    # they stay three-phase (p3 = 1); the posterior's single-phase draws would put a station's
    # megawatts on one phase of a 20 kV line.
    model = scenario_parameters(p3=1.0) if path == OBERRHEIN else None
    with pytest.warns(MissingDataWarning) if path != EU_LV else _no_warning():
        result = unbalance_net(net, n=20, rng=3, model=model, three_phase_above_kva=None)
    _check_net(net, result, before, 20)
    # Schutterwald carries its own 4.48 MW of peak loads: power-grid-model solves every
    # realisation, the lowest near voltage collapse (0.56-0.63 p.u.), where pandapower's
    # Newton-Raphson fails. pandapower must then say so, and fail nowhere else.
    res = solve_ensemble(net, result.feeder, result.ensemble)
    with get_engine("power-grid-model").open(result.feeder, result.ensemble) as case:
        reference = case.solve_batch(range(20))
    assert reference.all_converged
    lowest = np.nanmin(reference.vm_min_pu, axis=1)
    failed = ~res.converged
    assert (lowest[failed] < 0.65).all(), (np.flatnonzero(failed), lowest[failed])
    solved = np.nanmin(res.vm_min_pu[res.converged], axis=1)
    assert np.isfinite(solved).all() and (solved > 0).all()
    if path != SCHUTTERWALD:
        assert res.all_converged


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_copy_scenario_and_round_trip(tmp_path, params):
    net = _read(EU_LV)
    original = copy.deepcopy(net)
    result = unbalance_net(net, n=2, scenario="unbalanced", rng=1, inplace=False)
    assert result.net is not net
    assert net.asymmetric_load.equals(original.asymmetric_load)
    assert result.ensemble.metadata["scenario"] == "unbalanced"
    path = tmp_path / "net.json"
    pp.to_json(result.realisation(1, copy_net=True), str(path))
    again = pp.from_json(str(path))
    np.testing.assert_allclose(
        bus_load_totals(again)["p_kw"], bus_load_totals(original)["p_kw"], rtol=TOTAL_RTOL
    )
    phases = again.asymmetric_load["phases"].to_numpy()
    expected = result.ensemble.load_phases[1][result.ensemble.has_load[1]]
    names = np.asarray(["", "A", "B", "AB", "C", "CA", "BC", "ABC"], dtype=object)
    assert sorted(phases.tolist()) == sorted(names[expected].tolist())


def test_clear_errors_for_nets_it_cannot_unbalance():
    net = pp.create_empty_network()
    a, b = pp.create_buses(net, 2, vn_kv=0.4)
    pp.create_line(net, a, b, 0.1, "NAYY 4x50 SE")
    pp.create_load(net, b, p_mw=0.01)
    with pytest.raises(FeederValidationError, match="no in-service external grid"):
        unbalance_net(net)
    pp.create_ext_grid(net, a)
    net.load.loc[:, "in_service"] = False
    with pytest.raises(ParameterError, match="nothing to unbalance"):
        unbalance_net(net)


def test_zero_sequence_defaults_fill_only_what_is_missing():
    net = _read(OBERRHEIN)
    net.line.loc[net.line.index[0], "r0_ohm_per_km"] = 1.234
    net.line.loc[net.line.index[1:], "r0_ohm_per_km"] = np.nan
    with pytest.warns(MissingDataWarning, match=r"line.r0_ohm_per_km \(180 rows\)"):
        filled = add_zero_sequence_data(net)
    assert net.line.loc[net.line.index[0], "r0_ohm_per_km"] == 1.234
    rest = net.line.iloc[1:]
    cable = rest[rest["type"] == "cs"].iloc[0]
    assert cable["r0_ohm_per_km"] == pytest.approx(cable["r_ohm_per_km"] + 3 * 0.727)
    overhead = net.line[net.line["type"] == "ol"].iloc[0]
    assert overhead["x0_ohm_per_km"] == pytest.approx(3 * overhead["x_ohm_per_km"])
    assert (net.trafo["vector_group"] == "Dyn").all()
    assert filled["ext_grid.s_sc_max_mva"] == 2
    assert add_zero_sequence_data(net) == {}  # nothing left to fill: no second warning


# ----------------------------------------------------------------------------- Fig. 4
@pytest.fixture(scope="module")
def schutterwald_demand():
    net = _read(SCHUTTERWALD)
    feeder, info = unbalance_feeder(net)
    totals = bus_load_totals(net).reindex(feeder.bus_id.astype(np.int64)).fillna(0.0)
    return feeder, info, totals["p_kw"].to_numpy(), totals["q_kvar"].to_numpy()


@pytest.mark.parametrize("scenario", ["balanced", "unbalanced"])
def test_fig4_single_phase_means_match_the_scenario(scenario, schutterwald_demand, params):
    """1000 realisations: the mean share of single-phase P per phase is the user's share.

    Given the set of single-phase loads, each one's phase is drawn independently with the
    user's probabilities, so the share ``f_j`` of single-phase P on phase j has expectation
    ``s_j`` exactly. The test's tolerance is 4 standard errors of the mean of f_j over the
    realisations (a false alarm about once in 16 000 per comparison), and that tolerance is
    itself checked to be below the issue's 2 % of the input.
    """
    feeder, info, p_bus, q_bus = schutterwald_demand
    model = scenario_parameters(params, scenario=scenario)
    n = 1000
    ens = sample_conditioned(
        feeder, p_bus, q_bus, n, model=model, rng=2025, three_phase=info.three_phase
    )
    single = n_phases(ens.load_phases) == 1
    per_phase = (ens.p_kw * single[..., None]).sum(axis=1)  # (n, 3) kW
    share = per_phase / per_phase.sum(axis=1, keepdims=True)
    target = np.asarray(SCENARIOS[scenario])
    mean = share.mean(axis=0)
    tolerance = 4 * share.std(axis=0, ddof=1) / np.sqrt(n)
    assert (tolerance / target < 0.02).all()
    assert (np.abs(mean - target) <= tolerance).all(), (mean, target, tolerance)
