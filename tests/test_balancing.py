"""Phase balancing by lateral, the three-phase load class, and their learners."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA, random_tree

from bayesgrid_plugins.app.validation import consistency_violations
from bayesgrid_plugins.balancing import (
    assign_laterals,
    balance_ratio,
    lateral_roots,
    lateral_sizes,
    quotas,
)
from bayesgrid_plugins.errors import ParameterError
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.models.conditioned import sample_conditioned
from bayesgrid_plugins.models.power import BayesianPowerModel, PowerParameters, p3_given_power

GREENSBORO = (
    Path(SHARED_DATA)
    / "feeders/smart-ds-gso-greenevt/data/open_dss/uhs0_1247/uhs0_1247--udt16115/Master.dss"
)
IEEE123 = (
    Path(SHARED_DATA)
    / "feeders/electricdss-tst/Version8/Distrib/IEEETestCases/123Bus/IEEE123Master.dss"
)
needs_data = pytest.mark.skipif(not GREENSBORO.is_file(), reason="shared feeder data missing")


def _params(**extra) -> PowerParameters:
    base = {
        "p3": np.full(10, 0.05),
        "phase_probs": [0.4, 0.35, 0.25],
        "share_alpha": [300.0, 300.0, 300.0],
        "p_mu_kw": 5.0,
        "p_sigma_kw": 3.0,
        "pf_values": [0.95],
        "pf_probs": [1.0],
    }
    provenance = {
        "id": "test",
        "data_source": "hand-set",
        "method": "hand-set",
        "created": "2026-01-01",
        "bayesgrid_version": "0",
    }
    return PowerParameters(**{**base, **extra}, provenance=provenance)


def _comb() -> Feeder:
    """Source s, trunk s-t1-t2-t3; at each t, a lateral of three buses in a chain."""
    edges = [("s", "t1", 0.1), ("t1", "t2", 0.1), ("t2", "t3", 0.1)]
    for t in ("t1", "t2", "t3"):
        edges += [(t, f"{t}a", 0.05), (f"{t}a", f"{t}b", 0.05), (f"{t}b", f"{t}c", 0.05)]
    loads = [b for _, b, _ in edges if len(b) == 3]
    return Feeder.from_edges(edges, "s", loads=loads)


def test_quotas_are_whole_numbers_that_sum_to_the_loads() -> None:
    q = quotas(np.array([10, 7, 0]), np.array([[0.5, 0.3, 0.2], [1 / 3] * 3, [0.2, 0.2, 0.6]]))
    np.testing.assert_array_equal(q, [[5, 3, 2], [3, 2, 2], [0, 0, 0]])


def test_quotas_break_ties_at_random() -> None:
    # one load, equal probabilities: each phase gets it in a third of 3000 rows
    # (binomial sd sqrt(3000 / 3 * 2 / 3) = 26, so 5 sd is 130)
    n = 3000
    q = quotas(np.ones(n, dtype=int), np.full((n, 3), 1 / 3), np.random.default_rng(0))
    assert (q.sum(axis=1) == 1).all()
    assert np.abs(q.sum(axis=0) - n / 3).max() < 130
    # unequal remainders are not moved by the tie-break
    q = quotas(np.array([10]), np.array([[0.5, 0.3, 0.2]]), np.random.default_rng(0))
    np.testing.assert_array_equal(q, [[5, 3, 2]])


def test_laterals_of_a_comb_are_its_teeth() -> None:
    feeder = _comb()
    single = np.broadcast_to(feeder.is_load, (1, feeder.n_buses))
    root = lateral_roots(feeder, single, np.zeros_like(single), np.array([3.0]))[0]
    heads = set()
    for t in ("t1", "t2", "t3"):
        tooth = feeder.index_of([f"{t}a", f"{t}b", f"{t}c"])
        assert len(set(root[tooth])) == 1  # one lateral per tooth
        heads |= set(root[tooth])
    assert len(heads) == 3
    # t1 and t2 carry more than three loads below them: trunk; the last tooth hangs from t3
    assert root[feeder.index_of(["t1b"])[0]] == feeder.index_of(["t1a"])[0]
    assert root[feeder.index_of(["t3b"])[0]] == feeder.index_of(["t3"])[0]
    # with room for two loads only, every tooth is split: its head joins the trunk
    root2 = lateral_roots(feeder, single, np.zeros_like(single), np.array([2.0]))[0]
    head = feeder.index_of(["t1a"])[0]
    assert root2[head] == head and root2[feeder.index_of(["t1b"])[0]] != head


def test_each_lateral_takes_one_phase_and_greedy_balances_equal_teeth() -> None:
    feeder = _comb()
    loads = feeder.load_buses
    n = 50
    rng = np.random.default_rng(0)
    single = np.ones((n, loads.size), bool)
    phase = np.zeros((n, loads.size), dtype=np.int8)
    p = np.full((n, loads.size), 2.0)
    out = assign_laterals(
        feeder, loads, single, phase, np.full((n, 3), 3.0), p, np.zeros((n, 3)),
        np.zeros(n), np.full(n, 3.0), rng,
    )  # fmt: skip
    for t in ("t1", "t2", "t3"):
        cols = np.searchsorted(loads, feeder.index_of([f"{t}a", f"{t}b", f"{t}c"]))
        assert (out[:, cols] == out[:, cols[:1]]).all()  # one phase per lateral
    # three equal teeth, three phases, no randomness: one tooth per phase, exactly balanced
    assert (np.sort(out[:, ::3], axis=1) == [0, 1, 2]).all()


def test_greedy_allocation_is_more_balanced_than_a_random_one() -> None:
    feeder = random_tree(400, 3)
    loads = feeder.load_buses
    n = 200
    rng = np.random.default_rng(1)
    p = rng.lognormal(1.0, 0.6, size=(n, loads.size))
    single = np.ones_like(p, dtype=bool)
    q = quotas(np.full(n, loads.size), np.full((n, 3), 1 / 3))
    ratios = {}
    for eps in (0.0, 1.0):
        phase = assign_laterals(
            feeder, loads, single, np.zeros_like(p, dtype=np.int8), q, p, np.zeros((n, 3)),
            np.full(n, eps), np.full(n, 10.0), np.random.default_rng(2),
        )  # fmt: skip
        per_phase = np.stack([np.where(phase == j, p, 0).sum(axis=1) for j in range(3)], 1)
        ratios[eps] = per_phase.max(axis=1) / per_phase.mean(axis=1)
        # the counts per phase are the quotas (laterals of up to 10 loads fit them here)
        counts = np.stack([(phase == j).sum(axis=1) for j in range(3)], 1)
        assert np.abs(counts - q).max() <= 10
    assert np.median(ratios[0.0]) < 1.02
    assert np.median(ratios[0.0]) < np.median(ratios[1.0]) - 0.02


def test_balance_ratio_of_known_totals() -> None:
    p = np.zeros((2, 4, 3))
    p[0, 1] = [1.0, 1.0, 1.0]
    p[1, 1, 0], p[1, 2, 1] = 3.0, 3.0
    np.testing.assert_allclose(balance_ratio(p), [1.0, 1.5])


def test_sampler_balances_laterals_and_stays_phase_consistent() -> None:
    feeder = random_tree(600, 5)
    plain = _params()
    balanced = _params(balance_eps=0.0, lateral_max_loads=8.0)
    ratio = {}
    for name, params in (("plain", plain), ("balanced", balanced)):
        ens = BayesianPowerModel(params).sample(feeder, 200, rng=7)
        assert consistency_violations(feeder, ens).sum() == 0
        ratio[name] = np.median(balance_ratio(ens.p_kw))
        singles = ens.load_phases[(ens.load_phases > 0) & (ens.load_phases < 7)]
        shares = np.array([(singles == bit).mean() for bit in (1, 2, 4)])
        # the phase shares keep the learned probabilities (quotas), to a few loads
        np.testing.assert_allclose(shares, [0.4, 0.35, 0.25], atol=0.02)
    assert ratio["balanced"] < ratio["plain"] - 0.03


def test_three_phase_loads_draw_their_own_log_normal_power() -> None:
    feeder = random_tree(500, 2)
    params = _params(p3class_log_mu_kw=np.log(60.0), p3class_log_sigma=0.8)
    ens = BayesianPowerModel(params).sample(feeder, 100, rng=3)
    three = ens.load_phases == 7
    log_p = np.log(ens.p_kw.sum(axis=2)[three])
    n = log_p.size  # about 2500 loads
    assert abs(log_p.mean() - np.log(60.0)) < 4 * 0.8 / np.sqrt(n)
    assert abs(log_p.std() - 0.8) < 4 * 0.8 / np.sqrt(2 * n)
    single = ens.p_kw.sum(axis=2)[(ens.load_phases > 0) & ~three]
    assert single.mean() < 10.0  # the single-phase truncated normal, not the class


def test_parameters_come_in_pairs_and_in_range() -> None:
    with pytest.raises(ParameterError, match="together"):
        _params(balance_eps=0.5)
    with pytest.raises(ParameterError, match="balance_eps"):
        _params(balance_eps=1.5, lateral_max_loads=3.0)
    params = _params(balance_eps=0.5, lateral_max_loads=3.0)
    assert params.mean().balance_eps.shape == (1,)


def test_parameter_files_keep_the_new_fields_and_old_files_still_load(tmp_path) -> None:
    params = _params(
        p3class_log_mu_kw=3.0, p3class_log_sigma=1.0, balance_eps=0.2, lateral_max_loads=5.0
    )
    params.save(tmp_path / "p.json")
    back = PowerParameters.load(tmp_path / "p.json")
    assert back.has_three_phase_class and back.balances_phases
    assert float(back.balance_eps[0]) == 0.2
    _params().save(tmp_path / "old.json")
    old = PowerParameters.load(tmp_path / "old.json")
    assert not old.has_three_phase_class and not old.balances_phases


def test_conditioned_sampler_keeps_totals_and_makes_large_buses_three_phase() -> None:
    feeder = random_tree(300, 4)
    params = _params(
        p3class_log_mu_kw=np.log(80.0), p3class_log_sigma=0.6, balance_eps=0.0,
        lateral_max_loads=5.0,
    )  # fmt: skip
    p = np.full(feeder.n_buses, 4.0)
    p[feeder.source] = 0.0
    big = np.arange(feeder.n_buses) % 25 == 1
    p[big] = 150.0
    ens = sample_conditioned(feeder, p, n=100, model=params, rng=1)
    np.testing.assert_allclose(ens.p_kw.sum(axis=2), np.broadcast_to(p, (100, feeder.n_buses)))
    assert consistency_violations(feeder, ens).sum() == 0
    three = ens.load_phases == 7
    assert three[:, big].mean() > 0.9 and three[:, ~big & (p > 0)].mean() < 0.01
    # Bayes' rule: the probability grows with the bus's P
    probs = p3_given_power(params, np.full((1, 3), 0.05), np.array([4.0, 9.0, 12.0]))
    assert probs[0, 0] < probs[0, 1] < probs[0, 2]


def test_lateral_sizes_of_a_real_allocation() -> None:
    feeder = _comb()
    bus = np.zeros(feeder.n_buses, dtype=np.uint8)
    bus[feeder.index_of(["s", "t1", "t2", "t3"])] = 7
    bus[feeder.index_of(["t1a", "t1b", "t1c"])] = 1
    bus[feeder.index_of(["t2a", "t2b", "t2c"])] = 2
    bus[feeder.index_of(["t3a"])] = 7
    bus[feeder.index_of(["t3b", "t3c"])] = 4
    loads = np.where(feeder.is_load, bus, 0)
    loads[feeder.index_of(["t3a"])] = 7
    assert sorted(lateral_sizes(feeder, bus, loads).tolist()) == [2, 3, 3]


@needs_data
def test_self_reproduction_on_a_real_feeder_meets_the_targets() -> None:
    """Trained on one SMART-DS feeder, sampled on its topology (200 realisations): the mean
    phase totals within 10 %, p3 and the shares within 0.02, the median max/mean within 0.05.
    Before the three-phase class and the balancing the totals were 22 % low and max/mean 0.1
    too high on this feeder."""
    from bayesgrid_plugins.app.validation import load_real_feeder
    from bayesgrid_plugins.app.validation.skill import self_reproduction

    real = load_real_feeder(GREENSBORO, name="udt16115", loads_file="Loads_original.dss")
    result = self_reproduction({"udt16115": real}, n=200, seed=0)["udt16115"]
    model = result["model"]
    assert all(model.meets().values()), model.errors
    # the paper's pooled model misses the totals by far on the same feeder
    assert result["pooled"].errors["total_pct"] > 50
    assert model.errors["ks"] < result["pooled"].errors["ks"]


@needs_data
def test_learned_balance_reproduces_the_real_feeder() -> None:
    from bayesgrid_plugins.app.validation import load_real_feeder
    from bayesgrid_plugins.learn.balance import learn_balance

    real = load_real_feeder(GREENSBORO, name="udt16115", loads_file="Loads_original.dss")
    fit = learn_balance(real.table, n=32)
    assert fit is not None
    assert fit.real_ratio["udt16115"] == pytest.approx(1.0059, abs=1e-3)
    assert abs(fit.simulated_ratio["udt16115"] - fit.real_ratio["udt16115"]) < 0.01
    assert fit.eps["udt16115"] <= 0.2  # a tightly balanced feeder: mostly greedy
    # without topology in the table there is nothing to learn
    bare = dataclasses.replace(real.table, buses=None)
    assert learn_balance(bare) is None


def test_greedy_towards_target_shares_reaches_them() -> None:
    # 400 single-phase loads on a random tree, laterals of at most 10 loads: the granularity
    # of the allocation is one lateral, so the phase shares can miss the target by at most
    # the heaviest lateral's share of the total (plus the quotas' room).
    feeder = random_tree(400, 3)
    loads = feeder.load_buses
    n = 100
    rng = np.random.default_rng(1)
    p = rng.lognormal(1.0, 0.6, size=(n, loads.size))
    single = np.ones_like(p, dtype=bool)
    target = np.tile([0.45, 0.30, 0.25], (n, 1))
    q = quotas(np.full(n, loads.size), target)  # counts in line with the target
    phase = assign_laterals(
        feeder, loads, single, np.zeros_like(p, dtype=np.int8), q, p, np.zeros((n, 3)),
        np.zeros(n), np.full(n, 10.0), np.random.default_rng(2), target=target,
    )  # fmt: skip
    per_phase = np.stack([np.where(phase == j, p, 0).sum(axis=1) for j in range(3)], 1)
    shares = per_phase / per_phase.sum(axis=1, keepdims=True)
    heaviest = 10 * p.max(axis=1) / p.sum(axis=1)  # upper bound of one lateral's share
    assert (np.abs(shares - target).max(axis=1) <= heaviest).all()
    # the balance statistic follows the target, 3 x 0.45 = 1.35, not equal thirds
    assert np.median(balance_ratio(per_phase[:, np.newaxis, :])) == pytest.approx(1.35, abs=0.02)
    with pytest.raises(ParameterError, match="target"):
        assign_laterals(
            feeder, loads, single, np.zeros_like(p, dtype=np.int8), q, p, np.zeros((n, 3)),
            np.zeros(n), np.full(n, 10.0), rng, target=target[:1],
        )  # fmt: skip


def test_balance_shares_need_the_balancing_and_sum_to_one() -> None:
    with pytest.raises(ParameterError, match="balance_eps"):
        _params(balance_shares=[0.4, 0.3, 0.3])
    with pytest.raises(ParameterError, match="balance_shares"):
        _params(balance_eps=0.0, lateral_max_loads=8.0, balance_shares=[0.5, 0.3, 0.3])
    params = _params(balance_eps=0.0, lateral_max_loads=8.0, balance_shares=[0.5, 0.3, 0.2])
    np.testing.assert_allclose(params.mean().balance_shares, [[0.5, 0.3, 0.2]])
    with pytest.raises(ParameterError, match="balance_shares"):
        _params(balance_eps=0.0, lateral_max_loads=8.0, balance_phase_probs=[0.4, 0.3, 0.3])


def test_sampler_reaches_the_learned_phase_shares() -> None:
    # Half of the single-phase loads on A, and A is to carry half of the feeder's P: the plain
    # greedy evens the phase totals out instead (A gets the light loads).
    feeder = random_tree(600, 5)
    kw = {"balance_eps": 0.0, "lateral_max_loads": 8.0, "phase_probs": [0.5, 0.25, 0.25]}
    base = {k: v for k, v in kw.items() if k != "phase_probs"}
    shares = {}
    for name, extra in (("thirds", {}), ("target", {"balance_shares": [0.5, 0.25, 0.25]})):
        params = dataclasses.replace(_params(**base, **extra), phase_probs=kw["phase_probs"])
        ens = BayesianPowerModel(params).sample(feeder, 100, rng=3)
        totals = ens.p_kw.sum(axis=1)
        shares[name] = np.median(totals / totals.sum(axis=1, keepdims=True), axis=0)
    # one lateral is at most 8 loads of about 5 kW of some 3000 kW: 0.015 of the total
    assert shares["target"] == pytest.approx([0.5, 0.25, 0.25], abs=0.015)
    assert shares["thirds"][0] < 0.5 - 0.03


@needs_data
def test_learned_shares_are_the_real_phase_shares_and_pair_with_eps() -> None:
    from bayesgrid_plugins.app.validation import load_real_feeder
    from bayesgrid_plugins.learn.balance import learn_balance

    real = load_real_feeder(GREENSBORO, name="udt16115", loads_file="Loads_original.dss")
    fit = learn_balance(real.table, n=16)
    totals = real.table.loads[["p_a_kw", "p_b_kw", "p_c_kw"]].to_numpy(float).sum(axis=0)
    np.testing.assert_allclose(fit.shares["udt16115"], totals / totals.sum(), atol=1e-9)
    np.testing.assert_allclose(fit.counts["udt16115"], [0.320, 0.331, 0.350], atol=5e-4)
    # two feeders: each draw takes the eps, the shares and the counts of the same feeder
    two = dataclasses.replace(
        fit,
        eps={"a": 0.0, "b": 1.0},
        shares={"a": [0.5, 0.25, 0.25], "b": [0.2, 0.4, 0.4]},
        counts={"a": [0.6, 0.2, 0.2], "b": [0.1, 0.3, 0.6]},
    )
    eps, _, shares, counts = two.draws(200, np.random.default_rng(0))
    assert set(np.unique(eps)) == {0.0, 1.0}
    a, b = eps == 0.0, eps == 1.0
    np.testing.assert_allclose(shares[a], [[0.5, 0.25, 0.25]] * int(a.sum()))
    np.testing.assert_allclose(shares[b], [[0.2, 0.4, 0.4]] * int(b.sum()))
    np.testing.assert_allclose(counts[a], [[0.6, 0.2, 0.2]] * int(a.sum()))
    np.testing.assert_allclose(counts[b], [[0.1, 0.3, 0.6]] * int(b.sum()))


def test_quotas_follow_the_balancing_phase_counts() -> None:
    feeder = random_tree(600, 5)
    params = _params(
        balance_eps=1.0,
        lateral_max_loads=8.0,
        balance_shares=[0.6, 0.2, 0.2],
        balance_phase_probs=[0.6, 0.2, 0.2],
    )
    ens = BayesianPowerModel(params).sample(feeder, 50, rng=4)
    masks = ens.load_phases
    single = np.array([(masks == b).sum() for b in (1, 2, 4)], dtype=float)
    # the quotas are whole numbers of the 0.6/0.2/0.2 split of each realisation's single-phase
    # loads; laterals of up to 8 loads can overrun a quota by at most 8 per realisation
    n_single = single.sum()
    assert single / n_single == pytest.approx([0.6, 0.2, 0.2], abs=8 * 50 / n_single)
    assert abs(single[0] / n_single - params.phase_probs[0, 0]) > 0.1  # not phase_probs


@pytest.mark.skipif(not IEEE123.is_file(), reason="shared feeder data missing")
def test_ieee123_self_reproduction_meets_the_four_targets() -> None:
    # Before the target shares the greedy balanced IEEE 123 to equal thirds: phase B's total
    # came out 13.5 % above the real one and max/mean 1.14 against 1.20.
    from bayesgrid_plugins.app.validation import load_real_feeder
    from bayesgrid_plugins.app.validation.skill import self_reproduction

    real = load_real_feeder(IEEE123, name="IEEE 123")
    result = self_reproduction({"IEEE 123": real}, n=200, seed=0)["IEEE 123"]
    model = result["model"]
    assert all(model.meets().values()), model.errors
    assert model.errors["balance"] < result["constant"].errors["balance"]


@pytest.mark.parametrize("suffix", [".json", ".nc"])
def test_balance_targets_survive_a_parameter_file(tmp_path: Path, suffix: str) -> None:
    params = _params(
        balance_eps=[0.0, 1.0],
        lateral_max_loads=[8.0, 8.0],
        balance_shares=[[0.5, 0.3, 0.2], [0.2, 0.4, 0.4]],
        balance_phase_probs=[[0.6, 0.2, 0.2], [0.1, 0.3, 0.6]],
        p3=np.full((2, 10), 0.05),
        phase_probs=[[0.4, 0.35, 0.25]] * 2,
        share_alpha=[[300.0] * 3] * 2,
        p_mu_kw=[5.0, 5.0],
        p_sigma_kw=[3.0, 3.0],
        pf_probs=[[1.0]] * 2,
    )
    path = tmp_path / f"power{suffix}"
    params.save(path)
    back = PowerParameters.load(path)
    np.testing.assert_allclose(back.balance_shares, params.balance_shares)
    np.testing.assert_allclose(back.balance_phase_probs, params.balance_phase_probs)
