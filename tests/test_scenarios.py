"""User scenarios: parameter overrides, named scenarios, validation naming the parameter."""

from __future__ import annotations

import numpy as np
import pytest

from bayesgrid_plugins.errors import ParameterError
from bayesgrid_plugins.models.power import PowerParameters
from bayesgrid_plugins.scenarios import (
    SCENARIOS,
    parse_shares,
    scenario_names,
    scenario_parameters,
)


@pytest.fixture(scope="module")
def base() -> PowerParameters:
    return PowerParameters.default()


def test_named_scenarios_are_the_papers(base):
    assert scenario_names() == ["balanced", "unbalanced"]
    balanced = scenario_parameters(base, scenario="balanced")
    unbalanced = scenario_parameters(base, scenario="unbalanced")
    np.testing.assert_allclose(balanced.phase_probs, np.full((base.n_draws, 3), 1 / 3))
    np.testing.assert_allclose(unbalanced.phase_probs[0], [0.1, 0.6, 0.3])
    # three-phase shares get the same means, with the base's concentration
    mean = unbalanced.share_alpha / unbalanced.share_alpha.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(mean, np.broadcast_to([0.1, 0.6, 0.3], mean.shape))
    np.testing.assert_allclose(unbalanced.share_alpha.sum(axis=1), base.share_alpha.sum(axis=1))
    # the rest is the base's
    np.testing.assert_array_equal(unbalanced.p3, base.p3)
    np.testing.assert_array_equal(unbalanced.pf_probs, base.pf_probs)
    assert unbalanced.provenance["scenario"] == "unbalanced"
    assert unbalanced.provenance["base_id"] == base.provenance["id"]
    assert SCENARIOS["unbalanced"] == (0.1, 0.6, 0.3)


def test_every_parameter_can_be_set(base):
    params = scenario_parameters(
        base,
        p3=0.25,
        shares=(0.2, 0.3, 0.5),
        share_mean=(0.5, 0.25, 0.25),
        concentration=40.0,
        p_mu_kw=3.0,
        p_sigma_kw=1.5,
        pf={0.9: 0.5, 0.95: 0.5},
    )
    np.testing.assert_allclose(params.p3, 0.25)
    np.testing.assert_allclose(params.phase_probs[0], [0.2, 0.3, 0.5])
    np.testing.assert_allclose(params.share_alpha[0], [20.0, 10.0, 10.0])
    np.testing.assert_allclose(params.p_mu_kw, 3.0)
    np.testing.assert_allclose(params.p_sigma_kw, 1.5)
    np.testing.assert_allclose(params.pf_values, [0.9, 0.95])
    np.testing.assert_allclose(params.pf_probs[0], [0.5, 0.5])
    assert params.provenance["scenario"] == "custom"
    per_zone = scenario_parameters(base, p3=np.linspace(0, 0.9, base.n_zones), pf=0.97)
    np.testing.assert_allclose(per_zone.p3[0], np.linspace(0, 0.9, base.n_zones))
    np.testing.assert_allclose(per_zone.pf_values, [0.97])
    alpha = scenario_parameters(base, share_alpha=(1.0, 2.0, 3.0))
    np.testing.assert_allclose(alpha.share_alpha[0], [1.0, 2.0, 3.0])
    # explicit shares beat the scenario's; a scenario name alone keeps the rest
    mixed = scenario_parameters(base, scenario="unbalanced", shares=(0.3, 0.3, 0.4))
    np.testing.assert_allclose(mixed.phase_probs[0], [0.3, 0.3, 0.4])


def test_scenario_round_trips_through_a_file(base, tmp_path):
    params = scenario_parameters(base, scenario="unbalanced", p3=0.1)
    path = params.save(tmp_path / "scenario.json")
    again = PowerParameters.load(path)
    np.testing.assert_allclose(again.phase_probs, params.phase_probs)
    np.testing.assert_allclose(again.p3, params.p3)
    assert again.provenance["scenario"] == "unbalanced"
    # a file is a base too
    from_file = scenario_parameters(path, p_mu_kw=2.0)
    np.testing.assert_allclose(from_file.phase_probs, params.phase_probs)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"shares": (0.5, 0.6, 0.3)}, "shares"),
        ({"shares": (0.5, 0.5)}, "shares"),
        ({"shares": (-0.1, 0.6, 0.5)}, "shares"),
        ({"share_mean": (0.2, 0.2, 0.2)}, "share_mean"),
        ({"shares": (0.0, 0.5, 0.5)}, "shares"),
        ({"share_alpha": (1.0, 0.0, 1.0)}, "share_alpha"),
        ({"share_alpha": (1.0, 1.0, 1.0), "concentration": 3.0}, "share_alpha"),
        ({"concentration": -1.0}, "concentration"),
        ({"p3": 1.5}, "p3"),
        ({"p3": [0.1, 0.2]}, "p3"),
        ({"p_mu_kw": float("nan")}, "p_mu_kw"),
        ({"p_sigma_kw": 0.0}, "p_sigma_kw"),
        ({"pf": 1.2}, "pf"),
        ({"pf": {0.9: 0.4, 0.95: 0.4}}, "pf"),
        ({"scenario": "skewed"}, "scenario"),
    ],
)
def test_validation_names_the_parameter(base, kwargs, name):
    with pytest.raises(ParameterError, match=name):
        scenario_parameters(base, **kwargs)


def test_parse_shares():
    assert parse_shares("0.1,0.6,0.3") == pytest.approx((0.1, 0.6, 0.3))
    with pytest.raises(ParameterError, match="shares"):
        parse_shares("0.1;0.6;0.3")
    with pytest.raises(ParameterError, match="sum to 1"):
        parse_shares("0.1,0.6,0.6")


def test_resolve_parameters_applies_a_scenario_and_rejects_other_types():
    from bayesgrid_plugins.models.power import BayesianPowerModel, PowerParameters
    from bayesgrid_plugins.scenarios import resolve_parameters

    base = PowerParameters.default()
    assert resolve_parameters(BayesianPowerModel(base)) is base
    balanced = resolve_parameters(base, "balanced")
    np.testing.assert_array_equal(
        balanced.phase_probs, scenario_parameters(base, scenario="balanced").phase_probs
    )
    assert resolve_parameters(base, balanced) is balanced
    with pytest.raises(ParameterError, match="scenario must be a scenario name"):
        resolve_parameters(base, 3)
