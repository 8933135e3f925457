"""The power model's sampler: statistics, determinism, consistency and parameter validation.

The statistical checks compare empirical frequencies with the parameters within 4 standard
errors, each derived from the number of draws it rests on.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import random_tree
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from bayesgrid_plugins.errors import ParameterError, PosteriorMismatchError
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.models.power import BayesianPowerModel, PowerParameters
from bayesgrid_plugins.phases import n_phases, phase_inconsistencies

Z = 4.0  # standard errors allowed

PARAMS = dict(
    p3=np.array([0.6, 0.5, 0.4, 0.35, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05]),
    phase_probs=np.array([0.335, 0.3296, 0.3354]),
    share_alpha=np.array([2.0, 12.0, 6.0]),
    p_mu_kw=1.2,
    p_sigma_kw=1.5,
    pf_values=np.array([0.85, 0.90, 0.95]),
    pf_probs=np.array([0.1649, 0.1051, 0.7300]),
)


def chain_feeder(n_loads: int) -> Feeder:
    return Feeder(
        bus_id=[f"n{i}" for i in range(n_loads + 1)],
        parent=np.arange(-1, n_loads),
        length_km=np.r_[0.0, np.full(n_loads, 0.1)],
    )


@pytest.fixture(scope="module")
def big_sample():  # type: ignore[no-untyped-def]
    """100,000 realisations of 20 loads; zones assigned round-robin (2 loads per zone)."""
    feeder = chain_feeder(20)
    zones = np.r_[0, np.arange(20) % 10]
    model = BayesianPowerModel(PowerParameters(**PARAMS))
    return feeder, zones, model.sample(feeder, 100_000, rng=20250101, zones=zones)


def within(observed: float, expected: float, se: float) -> bool:
    return abs(observed - expected) <= Z * se


def test_three_phase_probability_per_zone(big_sample) -> None:  # type: ignore[no-untyped-def]
    _, zones, ens = big_sample
    three = ens.is_three_phase[:, 1:]
    for z in range(10):
        in_zone = zones[1:] == z
        draws = three[:, in_zone]
        p = PARAMS["p3"][z]
        se = np.sqrt(p * (1 - p) / draws.size)
        assert within(draws.mean(), p, se), (z, draws.mean(), p)


def test_single_phase_shares(big_sample) -> None:  # type: ignore[no-untyped-def]
    _, _, ens = big_sample
    phases = ens.load_phases[:, 1:]
    single = phases[n_phases(phases) == 1]
    for bit, p in zip((1, 2, 4), PARAMS["phase_probs"]):
        se = np.sqrt(p * (1 - p) / single.size)
        assert within((single == bit).mean(), p, se)
    assert set(np.unique(phases)) <= {1, 2, 4, 7}


def test_three_phase_shares_follow_the_dirichlet(big_sample) -> None:  # type: ignore[no-untyped-def]
    _, _, ens = big_sample
    three = ens.is_three_phase
    p = ens.p_kw[three]
    shares = p / p.sum(axis=1, keepdims=True)
    alpha = PARAMS["share_alpha"]
    mean = alpha / alpha.sum()
    var = mean * (1 - mean) / (alpha.sum() + 1)
    for k in range(3):
        assert within(shares[:, k].mean(), mean[k], np.sqrt(var[k] / len(shares)))
        # The variance too (se of a sample variance ~ sqrt(2/n) var for near-normal data; use
        # the exact fourth moment of the Beta marginal instead of that approximation).
        a, b = alpha[k], alpha.sum() - alpha[k]
        beta = stats.beta(a, b)
        mu4 = (
            beta.moment(4)
            - 4 * beta.mean() * beta.moment(3)
            + 6 * beta.mean() ** 2 * beta.moment(2)
            - 3 * beta.mean() ** 4
        )
        se_var = np.sqrt((mu4 - var[k] ** 2) / len(shares))
        assert within(shares[:, k].var(), var[k], se_var)


def test_total_power_is_a_truncated_normal(big_sample) -> None:  # type: ignore[no-untyped-def]
    _, _, ens = big_sample
    total = ens.p_kw[:, 1:].sum(axis=2).ravel()
    mu, sigma = PARAMS["p_mu_kw"], PARAMS["p_sigma_kw"]
    dist = stats.truncnorm(-mu / sigma, np.inf, loc=mu, scale=sigma)
    n = total.size
    assert total.min() >= 0
    assert within(total.mean(), dist.mean(), dist.std() / np.sqrt(n))
    mu4 = dist.expect(lambda x: (x - dist.mean()) ** 4)
    se_var = np.sqrt((mu4 - dist.var() ** 2) / n)
    assert within(total.var(), dist.var(), se_var)
    # Single-phase loads carry all of P on their one phase.
    single = n_phases(ens.load_phases) == 1
    assert (np.count_nonzero(ens.p_kw[single], axis=1) <= 1).all()


def test_power_factor_mix_and_reactive_power(big_sample) -> None:  # type: ignore[no-untyped-def]
    _, _, ens = big_sample
    n = len(ens)
    for value, p in zip(PARAMS["pf_values"], PARAMS["pf_probs"]):
        se = np.sqrt(p * (1 - p) / n)
        assert within((ens.power_factor == value).mean(), p, se)
    tan = np.tan(np.arccos(ens.power_factor))[:, None, None]
    np.testing.assert_allclose(ens.q_kvar, ens.p_kw * tan, rtol=1e-12, atol=0)


def test_same_seed_same_output_different_seed_differs() -> None:
    feeder = random_tree(200, 1)
    model = BayesianPowerModel(PowerParameters(**PARAMS))
    a = model.sample(feeder, 50, rng=7)
    b = model.sample(feeder, 50, rng=np.random.default_rng(7))
    c = model.sample(feeder, 50, rng=8)
    for name in ("load_phases", "bus_phases", "p_kw", "q_kvar", "power_factor"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.p_kw, c.p_kw)
    assert not np.array_equal(a.load_phases, c.load_phases)


def test_each_realisation_uses_its_own_posterior_draw() -> None:
    feeder = random_tree(100, 2)
    two_draws = dict(PARAMS)
    two_draws["p3"] = np.stack([np.zeros(10), np.ones(10)])
    for name in ("phase_probs", "share_alpha", "pf_probs"):
        two_draws[name] = np.stack([PARAMS[name]] * 2)
    two_draws["p_mu_kw"] = [1.0, 5.0]
    two_draws["p_sigma_kw"] = [0.5, 0.5]
    ens = BayesianPowerModel(PowerParameters(**two_draws)).sample(feeder, 400, rng=3)
    loads = feeder.load_buses
    assert set(ens.draw.tolist()) == {0, 1}
    assert not ens.is_three_phase[ens.draw == 0][:, loads].any()
    assert ens.is_three_phase[ens.draw == 1][:, loads].all()


def test_given_draws_are_used_and_checked() -> None:
    feeder = random_tree(50, 4)
    two_draws = {**PARAMS, "p3": np.stack([np.zeros(10), np.ones(10)])}
    for name in ("phase_probs", "share_alpha", "pf_probs"):
        two_draws[name] = np.stack([PARAMS[name]] * 2)
    two_draws["p_mu_kw"] = [1.0, 1.0]
    two_draws["p_sigma_kw"] = [0.5, 0.5]
    model = BayesianPowerModel(PowerParameters(**two_draws))
    draws = np.array([1, 0, 1, 1])
    ens = model.sample(feeder, 4, rng=0, draws=draws)
    assert ens.draw.tolist() == draws.tolist()
    assert ens.is_three_phase[[0, 2, 3]][:, feeder.load_buses].all()
    assert not ens.is_three_phase[1].any()
    with pytest.raises(ParameterError, match=r"draws must be 4 integer indices in \[0, 2\)"):
        model.sample(feeder, 4, draws=np.array([0, 1, 2, 0]))


@settings(max_examples=60, deadline=None)
@given(
    n_buses=st.integers(2, 80),
    seed=st.integers(0, 10_000),
    p3=st.floats(0, 1),
    pa=st.floats(0.01, 1),
    pb=st.floats(0.01, 1),
    mu=st.floats(-3, 10),
    sigma=st.floats(0.05, 5),
    load_share=st.floats(0.1, 1),
)
def test_sampler_invariants(n_buses, seed, p3, pa, pb, mu, sigma, load_share) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    feeder = random_tree(n_buses, seed)
    is_load = rng.random(n_buses) < load_share
    is_load[feeder.source] = False
    if not is_load.any():
        is_load[feeder.lines[0]] = True
    feeder = feeder.with_loads(is_load)
    probs = np.array([pa, pb, 1.0])
    params = PowerParameters(
        **{
            **PARAMS,
            "p3": np.full(10, p3),
            "phase_probs": probs / probs.sum(),
            "p_mu_kw": mu,
            "p_sigma_kw": sigma,
        }
    )
    ens = BayesianPowerModel(params).sample(feeder, 5, rng=rng)
    assert not phase_inconsistencies(feeder, ens.bus_phases).any()
    assert (ens.bus_phases != 0).all() and (ens.bus_phases[:, feeder.source] == 7).all()
    # Loads sit exactly on load buses, and power only on the load's phases.
    assert np.array_equal(ens.has_load, np.broadcast_to(feeder.is_load, ens.has_load.shape))
    allowed = (ens.load_phases[..., None] >> np.arange(3)) & 1
    assert (ens.p_kw[allowed == 0] == 0).all()
    assert (ens.p_kw >= 0).all() and np.isfinite(ens.p_kw).all()
    # Every load phase is present on its bus.
    assert ((ens.load_phases & ~ens.bus_phases) == 0).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"phase_probs": [0.5, 0.3, 0.3]}, "phase_probs must sum to 1"),
        ({"pf_probs": [0.2, 0.2, 0.2]}, "pf_probs must sum to 1"),
        ({"p_sigma_kw": -1.0}, "p_sigma_kw must be positive"),
        ({"p_mu_kw": float("nan")}, "p_mu_kw contains NaN"),
        ({"p3": [0.1, float("inf")]}, "p3 contains NaN or infinite"),
        ({"p3": [0.1, 1.2]}, r"p3 must lie in \[0, 1\]"),
        ({"share_alpha": [1.0, 0.0, 1.0]}, "share_alpha must be positive"),
        ({"share_alpha": [1.0, 1.0]}, r"share_alpha has shape \(2,\)"),
        ({"pf_values": [0.9, 1.2, 0.95]}, r"pf_values must be power factors in \(0, 1\]"),
        ({"p_mu_kw": [1.0, 2.0]}, "same number of posterior draws"),
        ({"p3": []}, "p3 must hold one probability per zone"),
    ],
)
def test_bad_parameters_name_the_parameter(change, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ParameterError, match=message):
        PowerParameters(**{**PARAMS, **change})


def test_zone_count_mismatch_is_reported(small_feeder: Feeder) -> None:
    model = BayesianPowerModel(PowerParameters(**{**PARAMS, "p3": [0.1, 0.2]}))
    with pytest.raises(ParameterError, match=r"p3 has 2 zones.*with_zones\(2\)"):
        model.sample(small_feeder, 3, rng=0)
    ens = model.sample(small_feeder.with_zones(2), 3, rng=0)
    assert len(ens) == 3


@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_bad_realisation_count(small_feeder: Feeder, n) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="n must be a positive integer"):
        BayesianPowerModel(PowerParameters(**PARAMS)).sample(small_feeder, n)


def test_feeder_without_loads_is_rejected(small_feeder: Feeder) -> None:
    feeder = small_feeder.with_loads(np.zeros(5, dtype=bool))
    with pytest.raises(ValueError, match="no load buses"):
        BayesianPowerModel(PowerParameters(**PARAMS)).sample(feeder, 2)


def test_parameters_round_trip_through_a_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    params = PowerParameters(
        **PARAMS,
        provenance={
            "id": "test",
            "data_source": "unit test",
            "method": "hand-set",
            "created": "2026-01-01",
            "bayesgrid_version": "0",
        },
    )
    path = params.save(tmp_path / "p.json")
    loaded = PowerParameters.load(path)
    for name, value in params.to_dict().items():
        assert np.array_equal(getattr(loaded, name), value)
    assert loaded.provenance["id"] == "test"
    with pytest.raises(FileExistsError, match="overwrite=True"):
        params.save(path)
    params.save(path, overwrite=True)


def test_bad_parameter_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    good = PowerParameters.default().mean().save(tmp_path / "good.json")
    text = good.read_text()
    (tmp_path / "truncated.json").write_text(text[: len(text) // 2])
    with pytest.raises(PosteriorMismatchError, match="truncated"):
        PowerParameters.load(tmp_path / "truncated.json")
    (tmp_path / "other.json").write_text(text.replace('"model": "power"', '"model": "impedance"'))
    with pytest.raises(PosteriorMismatchError, match="impedance"):
        PowerParameters.load(tmp_path / "other.json")
    (tmp_path / "version.json").write_text(
        text.replace('"format_version": 1', '"format_version": 99')
    )
    with pytest.raises(PosteriorMismatchError, match="version 99"):
        PowerParameters.load(tmp_path / "version.json")
    document = json.loads(text)
    document["parameters"]["p_sigma_kw"] = [-1.0]
    (tmp_path / "negative.json").write_text(json.dumps(document))
    with pytest.raises(ParameterError, match="p_sigma_kw must be positive"):
        PowerParameters.load(tmp_path / "negative.json")
    del document["parameters"]["p3"]
    (tmp_path / "missing.json").write_text(json.dumps(document))
    with pytest.raises(PosteriorMismatchError, match=r"lacks \['p3'\]"):
        PowerParameters.load(tmp_path / "missing.json")
    with pytest.raises(FileNotFoundError):
        PowerParameters.load(tmp_path / "absent.json")


def test_default_parameters_load_offline_and_sample(small_feeder: Feeder) -> None:
    model = BayesianPowerModel()
    prov = model.parameters.provenance
    assert "SMART-DS" in prov["data_source"]
    assert prov["n_loads"] > 1000
    ens = model.sample(small_feeder, 10, rng=0)
    assert ens.p_kw.sum() > 0


@pytest.mark.parametrize(("mu", "sigma"), [(-2.0, 0.05), (-50.0, 1.0), (0.0, 1.0), (5.0, 0.1)])
def test_truncated_normal_is_exact_even_far_in_the_tail(mu: float, sigma: float) -> None:
    from bayesgrid_plugins.models.power import sample_truncated_normal

    n = 100_000
    x = sample_truncated_normal(
        np.array([[mu]]), np.array([[sigma]]), np.random.default_rng(1), (1, n)
    )
    dist = stats.truncnorm(-mu / sigma, np.inf, loc=mu, scale=sigma)
    assert np.isfinite(x).all() and (x >= 0).all()
    assert within(x.mean(), dist.mean(), dist.std() / np.sqrt(n))
