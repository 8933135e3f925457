"""Counting estimator of the power-model parameters, and the shipped defaults it produced."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA
from scipy import stats

from bayesgrid_plugins.errors import ParameterError
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.learn.counting import count_power_parameters, truncated_normal_from_moments
from bayesgrid_plugins.learn.table import TrainingTable, make_training_table
from bayesgrid_plugins.models.power import PowerParameters
from bayesgrid_plugins.posterior import default_parameter_path

DATA = SHARED_DATA


def table_from(
    phases: list[int], zones: list[int], p: list[float], pf: float = 0.95
) -> TrainingTable:
    n = len(phases)
    feeder = Feeder(
        bus_id=[f"b{i}" for i in range(n + 1)],
        parent=np.arange(-1, n),
        length_km=np.r_[0, np.ones(n)],
        n_zones=4,
    )
    # Zones come from the feeder; remap the requested ones onto the table afterwards.
    masks = np.asarray(phases)
    per_phase = np.zeros((n, 3))
    for i, (mask, total) in enumerate(zip(masks, p)):
        bits = [k for k in range(3) if mask >> k & 1]
        per_phase[i, bits] = total / len(bits)
    table = make_training_table(
        feeder,
        system="hand",
        load_id=[f"l{i}" for i in range(n)],
        load_bus=np.arange(1, n + 1),
        load_phases=masks,
        p_kw=per_phase,
        q_kvar=per_phase * np.tan(np.arccos(pf)),
    )
    table.loads["zone"] = zones
    return table


def test_counts_match_hand_computed_values() -> None:
    phases = [7, 1, 1, 2, 4, 7, 2, 2, 3, 1]
    zones = [0, 0, 0, 1, 1, 1, 1, 2, 2, 2]
    p = [9.0, 1.0, 2.0, 3.0, 4.0, 6.0, 2.0, 3.0, 5.0, 4.0]
    params = count_power_parameters(table_from(phases, zones, p))
    # zone 0: 1 of 3; zone 1: 1 of 4; zone 2: 0 of 3 (the two-phase load counts among the
    # loads); zone 3 has no load and takes the overall share 2/10.
    np.testing.assert_allclose(params.p3[0], [1 / 3, 1 / 4, 0, 2 / 10])
    np.testing.assert_allclose(params.phase_probs[0], [3 / 7, 3 / 7, 1 / 7])
    assert params.provenance["n_two_phase"] == 1
    # one two-phase load (AB) among the eight that are not three-phase
    np.testing.assert_allclose(params.p2, [1 / 8])
    np.testing.assert_allclose(params.pair_probs[0], [1, 0, 0])
    # Equal splits have no spread: the precision is capped.
    np.testing.assert_allclose(params.share_alpha[0], [1000 / 3] * 3)
    single_p = np.array([1.0, 2.0, 3.0, 4.0, 2.0, 3.0, 4.0])
    dist = stats.truncnorm(
        -params.p_mu_kw[0] / params.p_sigma_kw[0],
        np.inf,
        loc=params.p_mu_kw[0],
        scale=params.p_sigma_kw[0],
    )
    assert dist.mean() == pytest.approx(single_p.mean(), rel=1e-6)
    assert dist.std() == pytest.approx(single_p.std(ddof=1), rel=1e-6)
    np.testing.assert_allclose(params.pf_probs[0], [0, 0, 1])


@pytest.mark.parametrize(("mean", "sd"), [(4.56, 3.40), (1.0, 0.2), (2.0, 1.9)])
def test_truncated_normal_moment_matching(mean: float, sd: float) -> None:
    mu, sigma = truncated_normal_from_moments(mean, sd)
    dist = stats.truncnorm(-mu / sigma, np.inf, loc=mu, scale=sigma)
    assert dist.mean() == pytest.approx(mean, rel=1e-6)
    assert dist.std() == pytest.approx(sd, rel=1e-6)


def test_impossible_moments_are_explained() -> None:
    with pytest.raises(ParameterError, match=r"coefficient of variation 5\.000 >= 1"):
        truncated_normal_from_moments(1.0, 5.0)


def test_shipped_defaults_carry_provenance() -> None:
    path = default_parameter_path("power_smartds_counting.json")
    document = json.loads(path.read_text())
    prov = document["provenance"]
    for key in ("id", "data_source", "method", "created", "bayesgrid_version", "script", "licence"):
        assert prov[key]
    params = PowerParameters.load(path)
    assert params.n_zones == 10 and params.n_draws == 1
    assert 0 < params.p3.mean() < 0.2  # SMART-DS is mostly single-phase


@pytest.mark.slow
def test_shipped_defaults_are_reproduced_by_the_script(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "scripts" / "compute_default_power_parameters.py"
    out = tmp_path / "power.json"
    subprocess.run(
        [sys.executable, str(script), "--data", str(DATA), "--out", str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    fresh = PowerParameters.load(out)
    shipped = PowerParameters.load(default_parameter_path("power_smartds_counting.json"))
    for name, value in shipped.to_dict().items():
        np.testing.assert_allclose(getattr(fresh, name), value, rtol=1e-9, err_msg=name)
