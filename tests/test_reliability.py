"""Reliability: closed-form answers on hand-built feeders, IEEE 1366 indices, learners."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import random_tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayesgrid_plugins.errors import ParameterError
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.models.impedance import BayesianImpedanceModel
from bayesgrid_plugins.models.power import BayesianPowerModel
from bayesgrid_plugins.models.reliability import (
    BayesianDurationModel,
    BayesianFrequencyModel,
    DurationParameters,
    FailureParameters,
    FrequencyParameters,
    ReliabilityModel,
)
from bayesgrid_plugins.reliability import (
    lateral_heads,
    path_sum,
    reliability_indices,
    switches_every_km,
)


@pytest.fixture
def chain() -> Feeder:
    """s - a - b - c with lengths 1, 2, 3 km."""
    return Feeder.from_edges([("s", "a", 1.0), ("a", "b", 2.0), ("b", "c", 3.0)], "s")


def test_chain_frequency_is_sum_of_upstream_rates_times_lengths(chain):
    rate = np.array([[0.0, 0.1, 0.2, 0.05]])  # per km and year, line into each bus
    repair = np.array([[0.0, 4.0, 2.0, 6.0]])
    res = reliability_indices(chain, rate, repair, 0.5, customers=np.ones(4), rng=0)
    lam = rate[0] * chain.length_km  # 0, 0.1, 0.4, 0.15
    np.testing.assert_allclose(res.frequency[0], np.cumsum(lam))
    np.testing.assert_allclose(res.duration_h[0], np.cumsum(lam * repair[0]))
    np.testing.assert_allclose(
        res.caidi_h[0, 1:], np.cumsum(lam * repair[0])[1:] / np.cumsum(lam)[1:]
    )
    f = np.cumsum(lam)[1:]
    np.testing.assert_allclose(res.caifi[0, 1:], f / (1 - np.exp(-f)))
    # IEEE 1366 from the expectations, three customers
    np.testing.assert_allclose(res.expected["saifi"], f.mean())
    np.testing.assert_allclose(res.expected["saidi_h"], np.cumsum(lam * repair[0])[1:].mean())
    np.testing.assert_allclose(
        res.expected["caidi_h"], res.expected["saidi_h"] / res.expected["saifi"]
    )


def test_switch_splits_duration_as_documented(chain):
    """Protection at the source only: every failure interrupts everyone; with a switch at the
    head of line a-b, customers above it wait the sectioning time for failures beyond it."""
    rate = np.array([[0.0, 0.1, 0.1, 0.1]])
    repair = np.full((1, 4), 4.0)
    ts = 0.5
    lam = 0.1 * chain.length_km  # 0, 0.1, 0.2, 0.3
    total = lam.sum()
    no_switch = reliability_indices(
        chain, rate, repair, ts, customers=np.ones(4), protection="source"
    )
    np.testing.assert_allclose(no_switch.frequency[0, 1:], total)
    np.testing.assert_allclose(no_switch.duration_h[0, 1:], total * 4.0)
    switch = np.zeros(4, dtype=bool)
    switch[chain.index_of("b")] = True
    res = reliability_indices(
        chain, rate, repair, ts, customers=np.ones(4), protection="source", switches=switch
    )
    np.testing.assert_allclose(res.frequency[0, 1:], total)  # frequency unchanged
    a, b, c = chain.index_of(["a", "b", "c"])
    assert res.duration_h[0, a] == pytest.approx(lam[a] * 4.0 + (lam[b] + lam[c]) * ts)
    assert res.duration_h[0, b] == pytest.approx(total * 4.0)
    assert res.duration_h[0, c] == pytest.approx(total * 4.0)
    # with a protective device at every line the switch changes nothing (path model)
    path = reliability_indices(chain, rate, repair, ts, customers=np.ones(4), switches=switch)
    np.testing.assert_allclose(path.duration_h[0], np.cumsum(lam * 4.0))


def test_lateral_fuses(small_feeder):
    """s-a-b, a-c, s-d: fuses at laterals protect a-b and a-c; the breaker protects s-a, s-d."""
    f = small_feeder
    assert set(f.bus_id[lateral_heads(f)]) == {"a", "b", "c", "d"}
    rate = np.where(f.parent >= 0, 0.1, 0.0)[np.newaxis]
    res = reliability_indices(
        f, rate, np.full((1, 5), 2.0), 0.5, customers=1.0, protection="laterals"
    )
    lam = dict(zip(f.bus_id, 0.1 * f.length_km))
    freq = dict(zip(f.bus_id, res.frequency[0]))
    assert freq["a"] == pytest.approx(lam["a"])
    assert freq["b"] == pytest.approx(lam["a"] + lam["b"])
    assert freq["c"] == pytest.approx(lam["a"] + lam["c"])
    assert freq["d"] == pytest.approx(lam["d"])


def test_path_sum_matches_brute_force():
    feeder = random_tree(200, seed=5)
    values = np.random.default_rng(0).random((3, feeder.n_buses))
    out = path_sum(feeder, values)
    for bus in (0, 17, 99, 150):
        path, node = [], bus
        while node != -1:
            path.append(node)
            node = feeder.parent[node]
        np.testing.assert_allclose(out[:, bus], values[:, path].sum(axis=1))


def test_switches_every_km_on_a_chain():
    edges = [(f"n{i}", f"n{i + 1}", 0.4) for i in range(10)]  # 4 km
    feeder = Feeder.from_edges(edges, "n0")
    mask = switches_every_km(feeder, 1.0)
    # crossings of 1, 2, 3 km: lines into n3 (1.2 km), n5 (2.0 km), n8 (3.2 km)
    assert sorted(feeder.bus_id[mask]) == ["n3", "n5", "n8"]
    with pytest.raises(ParameterError, match="spacing_km"):
        switches_every_km(feeder, 0.0)


def test_sampled_year_matches_expectation_within_poisson_error(chain):
    n = 4000
    rate = np.tile([0.0, 0.1, 0.2, 0.05], (n, 1))
    repair = np.tile([0.0, 4.0, 2.0, 6.0], (n, 1))
    res = reliability_indices(chain, rate, repair, 0.5, customers=np.ones(4), rng=3)
    f = res.frequency[0]
    mean = res.interruptions.mean(axis=0)
    np.testing.assert_array_less(np.abs(mean - f)[1:], 4 * np.sqrt(f[1:] / n))
    # durations: compound Poisson with Gamma(2) repairs: var = lam * E[r^2] summed on the path
    lam = rate[0] * chain.length_km
    var = np.cumsum(lam * repair[0] ** 2 * (1 + 1 / 2.0))
    np.testing.assert_array_less(
        np.abs(res.interrupted_h.mean(axis=0) - res.duration_h[0])[1:], 4 * np.sqrt(var[1:] / n)
    )


def test_ieee1366_sampled_indices():
    feeder = Feeder.from_edges([("s", "a", 1.0), ("s", "b", 1.0)], "s")
    from bayesgrid_plugins.reliability import system_indices

    idx = system_indices(
        np.array([0, 2, 1.0]), np.array([[0, 3, 0.0]]), np.array([[0, 6, 0.0]]), expected=False
    )
    assert idx["saifi"][0] == pytest.approx(6 / 3)
    assert idx["saidi_h"][0] == pytest.approx(12 / 3)
    assert idx["caidi_h"][0] == pytest.approx(2.0)
    assert idx["caifi"][0] == pytest.approx(6 / 2)
    assert feeder.n_buses == 3


def test_default_model_on_sampled_ensemble():
    feeder = random_tree(300, seed=8)
    ens = BayesianImpedanceModel().sample(feeder, 30, rng=1)
    res = ReliabilityModel().run(feeder, 30, rng=2, ensemble=ens)
    out = res.ensemble
    lines = feeder.lines
    assert out.caifi.shape == out.caidi_h.shape == (30, feeder.n_buses)
    assert (out.caifi[:, lines] >= 1).all() and np.isfinite(out.caidi_h[:, lines]).all()
    assert (out.caidi_h[:, lines] > 0).all()
    assert res.sampled["saifi"].shape == (30,)
    assert set(res.summary()) >= {"expected_saifi", "sampled_caidi_h"}
    table = res.interruption_table(feeder, 0)
    assert len(table) == int(ens.has_load[0].sum())
    # overhead lines fail more often than cables: all-overhead raises the expected SAIFI
    oh = ReliabilityModel().run(feeder, 30, rng=2, ensemble=ens, overhead=True)
    assert oh.expected["saifi"].mean() > res.expected["saifi"].mean()


def test_failure_parameters_validate_and_round_trip(tmp_path):
    p = FailureParameters.default()
    assert p.provenance["eia"]["rows"] > 1000
    again = FailureParameters.load(p.save(tmp_path / "f.json"))
    np.testing.assert_array_equal(again.lambda_oh_per_km, p.lambda_oh_per_km)
    with pytest.raises(ParameterError):
        FailureParameters(
            lambda_oh_per_km=[0.1],
            lambda_ug_per_km=[0.1, 0.2],
            repair_oh_h=[1.0],
            repair_ug_h=[1.0],
            sectioning_h=[0.5],
        )


def _synthetic_table(
    rng: np.random.Generator, mu: np.ndarray, shape: float, n: int
) -> pd.DataFrame:
    zone = rng.integers(mu.size, size=n)
    lam = rng.gamma(shape, mu[zone] / shape)
    count = rng.poisson(lam)
    caidi = np.exp(np.log(1.5) + 0.4 * rng.standard_normal(n))
    return pd.DataFrame({"zone": zone, "interruptions": count, "duration_h": count * caidi})


def test_frequency_and_duration_learn_recover_known_parameters():
    rng = np.random.default_rng(0)
    mu = np.array([0.5, 1.0, 2.0])
    n = 6000
    table = _synthetic_table(rng, mu, 2.0, n)
    freq = BayesianFrequencyModel.learn(table, n_zones=3, draws=400)
    per_zone = n / 3
    # negative binomial: var = mu + mu^2/shape
    se = np.sqrt((mu + mu**2 / 2.0) / per_zone)
    np.testing.assert_array_less(np.abs(freq.parameters.mu.mean(axis=0) - mu), 4 * se)
    assert 1.5 < freq.parameters.shape[0] < 2.6
    dur = BayesianDurationModel.learn(table, n_zones=3, draws=400)
    p0 = np.array([np.mean(table[table.zone == z].interruptions == 0) for z in range(3)])
    np.testing.assert_allclose(
        dur.parameters.p_zero.mean(axis=0), p0, atol=4 * np.sqrt(0.25 / per_zone)
    )
    hit = table.interruptions > 0
    se_mu = 0.4 / np.sqrt(hit.sum() / 3)
    np.testing.assert_array_less(
        np.abs(dur.parameters.mu_log.mean(axis=0) - np.log(1.5)), 4 * se_mu
    )
    assert dur.parameters.sigma_log.mean() == pytest.approx(
        0.4, abs=4 * 0.4 / np.sqrt(2 * hit.sum())
    )


def test_frequency_learn_rejects_bad_tables():
    with pytest.raises(ParameterError, match="interruptions"):
        BayesianFrequencyModel.learn(pd.DataFrame({"zone": [0]}), n_zones=1)
    with pytest.raises(ParameterError, match="zone"):
        BayesianFrequencyModel.learn(pd.DataFrame({"zone": [5], "interruptions": [1]}), n_zones=2)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n_buses=st.integers(2, 50), n=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_statistical_samplers_properties(n_buses, n, seed):
    feeder = random_tree(n_buses, seed=seed % 997)
    ens = BayesianPowerModel().sample(feeder, n, rng=seed)
    f = BayesianFrequencyModel()
    d = BayesianDurationModel()
    a = d.sample(feeder, n, rng=seed, ensemble=f.sample(feeder, n, rng=seed, ensemble=ens))
    b = d.sample(feeder, n, rng=seed, ensemble=f.sample(feeder, n, rng=seed, ensemble=ens))
    lines = feeder.lines
    np.testing.assert_array_equal(a.caifi, b.caifi)
    np.testing.assert_array_equal(a.caidi_h, b.caidi_h)
    assert (a.caifi[:, lines] >= 1).all() and (a.caidi_h[:, lines] > 0).all()
    r1 = ReliabilityModel().run(feeder, n, rng=seed, ensemble=ens)
    r2 = ReliabilityModel().run(feeder, n, rng=seed, ensemble=ens)
    np.testing.assert_array_equal(r1.interruptions, r2.interruptions)
    assert (r1.frequency[:, lines] >= 0).all() and (r1.interrupted_h >= 0).all()


def test_shipped_statistical_defaults_load():
    assert FrequencyParameters.default().provenance["id"] == "frequency-smartds-v1"
    assert DurationParameters.default().n_zones == 10


def test_frequency_nuts_fit_small():
    pytest.importorskip("pymc")
    from bayesgrid_plugins.learn.reliability_pymc import fit_frequency_nuts

    rng = np.random.default_rng(1)
    mu = np.array([0.5, 2.0])
    table = _synthetic_table(rng, mu, 3.0, 400)
    params = fit_frequency_nuts(
        table, n_zones=2, draws=150, tune=150, chains=2, random_seed=1, warn=False
    )
    assert params.mu.shape == (300, 2)
    se = np.sqrt((mu + mu**2 / 3.0) / 200)
    np.testing.assert_array_less(np.abs(params.mu.mean(axis=0) - mu), 4 * se)


@pytest.mark.slow
def test_duration_nuts_fit():
    pytest.importorskip("pymc")
    from bayesgrid_plugins.learn.reliability_pymc import fit_duration_nuts

    table = _synthetic_table(np.random.default_rng(2), np.array([1.0, 2.0]), 3.0, 600)
    params = fit_duration_nuts(
        table, n_zones=2, draws=300, tune=300, chains=2, random_seed=2, warn=False
    )
    hit = table.interruptions > 0
    np.testing.assert_array_less(
        np.abs(params.mu_log.mean(axis=0) - np.log(1.5)), 4 * 0.4 / np.sqrt(hit.sum() / 2)
    )
