"""Impedance model: conductor types drawn by zone and phase count, learned from real feeders."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHARED_DATA, random_tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import ParameterError, PosteriorMismatchError
from bayesgrid_plugins.models.impedance import (
    TYPE_FIELDS,
    BayesianImpedanceModel,
    ImpedanceParameters,
)
from bayesgrid_plugins.models.power import BayesianPowerModel
from bayesgrid_plugins.phases import PHASE_ABC, n_phases

DATA = SHARED_DATA
AUSTIN = (
    DATA
    / "feeders/smart-ds-disco/tests/data/smart-ds/substations/p1uhs23_1247"
    / "p1uhs23_1247--p1udt21301/Master.dss"
)


@pytest.fixture(scope="module")
def austin():
    if not AUSTIN.is_file():
        pytest.skip(f"real feeder data not found at {AUSTIN}")
    from opendss_ext.reader import read_circuit

    return read_circuit(AUSTIN)


def _hand_ensemble(feeder, masks: np.ndarray) -> Ensemble:
    n, b = masks.shape
    return Ensemble(
        bus_id=feeder.bus_id,
        source=feeder.source,
        load_phases=np.zeros((n, b), dtype=np.uint8),
        bus_phases=masks.astype(np.uint8),
        p_kw=np.zeros((n, b, 3)),
        q_kvar=np.zeros((n, b, 3)),
        power_factor=np.full(n, 0.95),
        draw=np.zeros(n, dtype=np.int64),
    )


def test_default_parameters_load_with_provenance():
    params = ImpedanceParameters.default()
    assert params.provenance["id"] == "impedance-smartds-counting-v1"
    assert "SMART-DS" in params.provenance["data_source"]
    assert len(params.type_names) == params.n_types >= 4
    # every phase count and zone can draw a type; single-phase types are real one-phase codes
    assert (params.alpha.sum(axis=-1) > 0).all()
    single = params.expected_type_probs()[0].mean(axis=0) > 0.01
    assert all(name.startswith("1p_") for name, s in zip(params.type_names, single) if s)


def test_every_line_has_finite_positive_sequence_data(small_feeder):
    feeder = random_tree(300, seed=4)
    ens = BayesianPowerModel().sample(feeder, 20, rng=1)
    out = BayesianImpedanceModel().sample(feeder, 20, rng=2, ensemble=ens)
    lines = feeder.lines
    for name in TYPE_FIELDS:
        values = getattr(out, name)
        assert values.shape == (20, feeder.n_buses)
        assert np.isnan(values[:, feeder.source]).all()
        assert np.isfinite(values[:, lines]).all(), name
        if name.startswith("c"):
            assert (values[:, lines] >= 0).all()
        else:
            assert (values[:, lines] > 0).all(), name
    # loads and phases are untouched
    np.testing.assert_array_equal(out.bus_phases, ens.bus_phases)
    np.testing.assert_array_equal(out.p_kw, ens.p_kw)
    assert out.metadata["impedance_model"] == "impedance-smartds-counting-v1"


def test_single_phase_lines_get_single_phase_types():
    feeder = random_tree(200, seed=1)
    masks = np.where(np.arange(feeder.n_buses) % 2 == 0, 1, PHASE_ABC)[np.newaxis].repeat(50, 0)
    masks[:, feeder.source] = PHASE_ABC
    model = BayesianImpedanceModel()
    types, _ = model.sample_types(feeder, masks, rng=3)
    probs = model.parameters.alpha.sum(axis=0)  # (3, Z, T): > 0 where eligible
    k = n_phases(masks)
    lines = feeder.lines
    eligible = probs[k[:, lines] - 1, feeder.zone[lines], types[:, lines]]
    assert (eligible > 0).all()


def test_type_shares_by_zone_match_posterior_within_sampling_error():
    """Per (phase count, zone), the share of each type matches the Dirichlet predictive mean."""
    params = ImpedanceParameters.default()
    feeder = random_tree(400, seed=7)
    n = 400
    masks = np.full((n, feeder.n_buses), PHASE_ABC, dtype=np.uint8)
    masks[:, ::3] = 2  # a third single-phase (B)
    masks[:, feeder.source] = PHASE_ABC
    types, _ = BayesianImpedanceModel(params).sample_types(feeder, masks, rng=11)
    expected = params.expected_type_probs()
    k = n_phases(masks)
    checked = 0
    for kk in (1, 3):
        for z in range(params.n_zones):
            cols = np.flatnonzero((k[0] == kk) & (feeder.zone == z) & (feeder.parent != -1))
            if cols.size < 5:
                continue
            for t in range(params.n_types):
                # one share per realisation: realisations are independent (lines within one share
                # their Dirichlet draw), so the standard error comes from the spread across them
                share = (types[:, cols] == t).mean(axis=1)
                se = share.std(ddof=1) / np.sqrt(n)
                p = expected[kk - 1, z, t]
                tol = 4 * max(se, np.sqrt(p * (1 - p) / (n * cols.size)), 1e-12)
                assert abs(share.mean() - p) <= tol, (kk, z, t, share.mean(), p, tol)
                checked += 1
    assert checked > 20


def test_learned_model_reproduces_real_r1_x1_joint_distribution(austin):
    """Learned from a real feeder and sampled on its own topology and phases, the sampled
    (R1, X1) pairs are real pairs and their correlation and type shares match the training
    lines'."""
    table = austin.training_table()
    model = BayesianImpedanceModel.learn(table, prior_weight=1.0)
    feeder = austin.feeder
    n = 300
    masks = np.full((n, feeder.n_buses), PHASE_ABC, dtype=np.uint8)
    masks[:, austin.line_bus] = austin.line_phases
    out = model.sample(feeder, n, rng=5, ensemble=_hand_ensemble(feeder, masks))
    lines = table.lines
    keep = lines["r1_ohm_per_km"].to_numpy() >= 0.005  # connectors are not conductors
    bus = austin.line_bus[keep]
    r_train = lines["r1_ohm_per_km"].to_numpy()[keep]
    x_train = lines["x1_ohm_per_km"].to_numpy()[keep]
    r = out.r1_ohm_per_km[:, bus]
    x = out.x1_ohm_per_km[:, bus]
    # every sampled pair is a training pair (R and X are never mixed across types)
    pairs = set(zip(np.round(r_train, 4), np.round(x_train, 4)))
    assert set(zip(np.round(r.ravel(), 4), np.round(x.ravel(), 4))) <= pairs
    rho_train = np.corrcoef(r_train, x_train)[0, 1]
    rho = np.corrcoef(r.ravel(), x.ravel())[0, 1]
    # standard error from 20 batches of realisations (independent), plus the shrinkage that the
    # prior (weight 1 per phase count and zone) puts between the predictive and the data
    batches = [
        np.corrcoef(rb.ravel(), xb.ravel())[0, 1]
        for rb, xb in zip(np.array_split(r, 20), np.array_split(x, 20))
    ]
    se = np.std(batches, ddof=1) / np.sqrt(20)
    probs = model.parameters.expected_type_probs()
    k = n_phases(lines["phases"].to_numpy()[keep])
    z = lines["zone"].to_numpy()[keep]
    p_line = probs[k - 1, z]  # (lines, T): predictive type probabilities of each line
    pr, px = model.parameters.r1_ohm_per_km, model.parameters.x1_ohm_per_km
    m_r, m_x = (p_line @ pr).mean(), (p_line @ px).mean()
    cov = (p_line @ (pr * px)).mean() - m_r * m_x
    var_r = (p_line @ pr**2).mean() - m_r**2
    var_x = (p_line @ px**2).mean() - m_x**2
    rho_pred = cov / np.sqrt(var_r * var_x)
    assert abs(rho_pred - rho_train) < 0.05  # the prior only shrinks a little
    assert abs(rho - rho_train) <= 4 * se + abs(rho_pred - rho_train), (rho, rho_train, se)
    assert abs(rho_train) > 0.3  # a real joint structure to reproduce, not zero
    # share of each type overall
    _, train_type = np.unique(
        np.c_[np.round(r_train, 4), np.round(x_train, 4)], axis=0, return_inverse=True
    )
    for t in np.unique(train_type):
        rt, xt = np.round(r_train[train_type == t][0], 4), np.round(x_train[train_type == t][0], 4)
        share = ((np.round(r, 4) == rt) & (np.round(x, 4) == xt)).mean(axis=1)
        target = (p_line[:, (np.round(pr, 4) == rt) & (np.round(px, 4) == xt)].sum(axis=1)).mean()
        se_t = share.std(ddof=1) / np.sqrt(n)
        assert abs(share.mean() - target) <= 4 * max(se_t, 1e-9), (t, share.mean(), target)


def test_variation_keeps_each_types_r_over_x():
    feeder = random_tree(100, seed=2)
    base = BayesianImpedanceModel()
    varied = BayesianImpedanceModel(variation=0.1)
    ens = BayesianPowerModel().sample(feeder, 30, rng=0)
    a = base.sample(feeder, 30, rng=9, ensemble=ens)
    b = varied.sample(feeder, 30, rng=9, ensemble=ens)
    lines = feeder.lines
    np.testing.assert_allclose(
        (b.r1_ohm_per_km / b.x1_ohm_per_km)[:, lines], (a.r1_ohm_per_km / a.x1_ohm_per_km)[:, lines]
    )
    factor = np.log(b.r1_ohm_per_km[:, lines] / a.r1_ohm_per_km[:, lines])
    assert abs(factor.std() - 0.1) < 4 * 0.1 / np.sqrt(2 * factor.size)
    np.testing.assert_array_equal(a.max_i_ka, b.max_i_ka)


def test_parameters_round_trip_and_validation(tmp_path):
    params = ImpedanceParameters.default()
    path = params.save(tmp_path / "imp.json")
    again = ImpedanceParameters.load(path)
    np.testing.assert_array_equal(again.alpha, params.alpha)
    assert again.type_names == params.type_names
    with pytest.raises(PosteriorMismatchError):
        BayesianPowerModel(path)
    arrays = params.to_dict()
    arrays["x0_ohm_per_km"] = -arrays["x0_ohm_per_km"]
    with pytest.raises(ParameterError, match="x0_ohm_per_km"):
        ImpedanceParameters(**arrays)
    arrays = params.to_dict()
    arrays["alpha"] = arrays["alpha"][..., :2]
    with pytest.raises(ParameterError, match="alpha"):
        ImpedanceParameters(**arrays)


def test_zone_mismatch_and_bad_n_are_clear_errors():
    feeder = random_tree(30, seed=3).with_zones(40)
    with pytest.raises(ParameterError, match="with_zones"):
        BayesianImpedanceModel().sample(feeder, 2, rng=0)
    with pytest.raises(ValueError, match="positive integer"):
        BayesianImpedanceModel().sample(random_tree(30, seed=3), 0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n_buses=st.integers(2, 60), n=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_sampler_properties(n_buses, n, seed):
    feeder = random_tree(n_buses, seed=seed % 1000)
    model = BayesianImpedanceModel()
    a = model.sample(feeder, n, rng=seed)
    b = model.sample(feeder, n, rng=seed)
    lines = feeder.lines
    for name in TYPE_FIELDS:
        va, vb = getattr(a, name), getattr(b, name)
        assert va.shape == (n, n_buses)
        np.testing.assert_array_equal(va, vb)  # deterministic per seed
        assert (va[:, lines] > 0).all() if not name.startswith("c") else (va[:, lines] >= 0).all()


def test_sampled_impedances_solve_in_both_engines():
    pp_ext = pytest.importorskip("pandapower_ext")
    dss_ext = pytest.importorskip("opendss_ext")
    for module, names in (
        (pp_ext, ("build_net", "solve_ensemble")),
        (dss_ext, ("solve_ensemble",)),
    ):
        missing = [n for n in names if not hasattr(module, n)]
        if missing:
            pytest.skip(f"{module.__name__} lacks {missing}")
    from bayesgrid_plugins.feeder import Feeder

    # a 13.8 kV radial feeder: a 3 km trunk with laterals
    edges = [(f"t{i}", f"t{i + 1}", 0.3) for i in range(10)]
    edges += [(f"t{i}", f"l{i}_{j}", 0.15) for i in range(1, 11, 2) for j in range(3)]
    feeder = Feeder.from_edges(edges, "t0", vn_kv=13.8)
    ens = BayesianPowerModel().sample(feeder, 3, rng=1)
    ens = BayesianImpedanceModel().sample(feeder, 3, rng=2, ensemble=ens)
    net = pp_ext.build_net(feeder, ens, 0)
    res_pp = pp_ext.solve_ensemble(net, feeder, ens)
    res_dss = dss_ext.solve_ensemble(feeder, ens)
    assert bool(np.all(res_pp.converged)) and bool(np.all(res_dss.converged))
    for res in (res_pp, res_dss):
        vm = res.vm_pu[np.isfinite(res.vm_pu)]
        assert 0.9 < vm.min() <= vm.max() < 1.1
