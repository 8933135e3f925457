"""The reach of balance predictions in leave one feeder out (app.validation.balance_reach)."""

from __future__ import annotations

import numpy as np
import pytest

from bayesgrid_plugins.app.validation.balance_reach import (
    LOG_OFFSET,
    NEAREST,
    balance_wins,
    reference_predictions,
    table_balance_reach,
    table_win_windows,
    win_windows,
)
from bayesgrid_plugins.app.validation.skill import SkillScore
from bayesgrid_plugins.errors import ParameterError


def _score(real: float, synthetic: float) -> SkillScore:
    third = np.full(3, 1 / 3)
    return SkillScore(
        real_total_kw=np.ones(3),
        synthetic_total_kw=np.ones(3),
        real_p3=0.0,
        synthetic_p3=0.0,
        real_shares=third,
        synthetic_shares=third,
        real_balance=real,
        synthetic_balance=synthetic,
        ks_p=0.0,
    )


def _results(rows: dict[str, tuple[float, float, float, float]]) -> dict:
    """``{feeder: (real, model, pooled, constant)}`` max/mean medians as scores."""
    return {
        k: {"model": _score(r, m), "pooled": _score(r, p), "constant": _score(r, c)}
        for k, (r, m, p, c) in rows.items()
    }


RESULTS = _results(
    {
        # real, model, pooled, constant
        "balanced": (1.000, 1.040, 1.050, 1.001),  # constant unbeatable: window 0.001
        "mid": (1.060, 1.050, 1.150, 1.000),  # model wins both (0.010 < 0.060, 0.090)
        "small": (1.200, 1.100, 1.500, 1.080),  # model beats both (0.100 < 0.120, 0.300)
        "lumpy": (2.000, 1.100, 1.400, 1.000),  # model beats the constant only
    }
)


def test_win_windows_are_the_smaller_baseline_error() -> None:
    windows = win_windows(RESULTS)
    assert windows["balanced"] == pytest.approx((1.000, 0.001))
    assert windows["mid"] == pytest.approx((1.060, 0.060))
    assert windows["small"] == pytest.approx((1.200, 0.120))
    assert windows["lumpy"] == pytest.approx((2.000, 0.600))


def test_balance_wins_count_each_baseline_and_both() -> None:
    model = {k: by["model"].synthetic_balance for k, by in RESULTS.items()}
    wins = balance_wins(RESULTS, model)
    assert wins.won == ("mid", "small")
    assert (wins.both, wins.constant, wins.pooled) == (2, 3, 3)
    assert wins.mean_error == pytest.approx((0.040 + 0.010 + 0.100 + 0.900) / 4)
    # the real values themselves win every window that is not empty
    exact = balance_wins(RESULTS, {k: by["model"].real_balance for k, by in RESULTS.items()})
    assert exact.both == 4


def test_theil_sen_predicts_feeders_on_its_line_out_of_sample() -> None:
    sizes = {f"f{i}": n for i, n in enumerate([9, 30, 100, 300, 1000, 3000])}
    # exactly on log(r - 1 + offset) = 0.5 - 0.6 log n: every left-out point is predicted
    real = {k: 1.0 - LOG_OFFSET + np.exp(0.5 - 0.6 * np.log(n)) for k, n in sizes.items()}
    pred = reference_predictions(real, sizes)["Theil-Sen on size"]
    for k in sizes:
        assert pred[k] == pytest.approx(real[k], abs=1e-12)
    # the pooled median ignores size, so it misses the smallest feeder
    assert reference_predictions(real, sizes)["median of the others"]["f0"] < real["f0"] - 0.1


def test_nearest_in_size_uses_only_the_other_feeders() -> None:
    sizes = {"a": 10, "b": 11, "c": 12, "d": 13, "e": 14, "f": 15, "g": 5000}
    real = {"a": 1.1, "b": 1.2, "c": 1.3, "d": 1.4, "e": 1.5, "f": 1.6, "g": 1.0}
    pred = reference_predictions(real, sizes)[f"median of the {NEAREST} nearest in size"]
    assert pred["a"] == pytest.approx(np.median([1.2, 1.3, 1.4, 1.5, 1.6]))
    assert pred["g"] == pytest.approx(np.median([1.2, 1.3, 1.4, 1.5, 1.6]))  # a is the 6th


def test_tables_show_every_predictor_and_feeder() -> None:
    sizes = {"balanced": 1000, "mid": 300, "small": 30, "lumpy": 25}
    reach = table_balance_reach(RESULTS, sizes, fmt="markdown")
    assert "| model (median of its realisations) | 2 | 3 | 3 | 0.262 | mid, small |" in reach
    assert "Theil-Sen on size" in reach and "median of the others" in reach
    windows = table_win_windows(RESULTS, sizes, fmt="markdown")
    assert "| balanced | 1000 | 1.000 | 0.999-1.001 | 0.001 |" in windows


@pytest.mark.parametrize(
    ("real", "sizes", "match"),
    [
        ({"a": 1.1, "b": 1.2}, {"a": 1, "b": 2}, "at least three"),
        ({"a": 1.1, "b": 1.2, "c": 1.0}, {"a": 1, "b": 2, "d": 3}, "same feeders"),
        ({"a": 0.9, "b": 1.2, "c": 1.0}, {"a": 1, "b": 2, "c": 3}, "at least 1"),
        ({"a": 1.1, "b": 1.2, "c": 1.0}, {"a": 0, "b": 2, "c": 3}, "positive counts"),
    ],
)
def test_bad_input_is_named(real: dict, sizes: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        reference_predictions(real, sizes)
