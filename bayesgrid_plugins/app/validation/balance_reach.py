"""How many balance comparisons any prediction learned from the other feeders can win.

In leave one feeder out the model *wins* the balance statistic (max/mean of the three phase
totals) on a held-out feeder when its median is nearer the real value than both baselines'
medians. Each feeder therefore has a **win window**: the real value plus or minus the smaller
of the two baseline errors. A window of a few thousandths (a feeder balanced to 1.000 against
a constant baseline that is balanced by construction) is won only by chance.

To read the model's win count against what is reachable, this module scores **reference
predictors** in the same leave-one-out protocol. Each reads the *real* max/mean of the other
feeders directly, which is more than a model trained on them knows, and makes one point
prediction for the held-out feeder:

``median of the others``
    The median real max/mean of the other feeders (the best constant under absolute error).
``median of the 5 nearest in size``
    The same over the five other feeders nearest in log load buses.
``Theil-Sen on size``
    A robust line of ``log(max/mean - 1 + 0.01)`` on ``log(load buses)``
    (:func:`scipy.stats.theilslopes`): real feeders with few loads are less balanced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.stats import theilslopes

from ...errors import ParameterError
from .skill import SkillScore
from .tables import render

__all__ = [
    "BalanceWins",
    "balance_wins",
    "reference_predictions",
    "table_balance_reach",
    "table_win_windows",
    "win_windows",
]

#: Neighbours of the size-similar predictor.
NEAREST = 5
#: Offset of ``max/mean - 1`` before the log of the Theil-Sen line (feeders balanced to 1.000).
LOG_OFFSET = 0.01


def win_windows(results: Mapping[str, Mapping[str, SkillScore]]) -> dict[str, tuple[float, float]]:
    """Per feeder, the real max/mean and the half-width of the window a prediction must hit.

    The half-width is the smaller of the pooled and the constant baseline's balance errors:
    a median inside ``real ± half-width`` beats both.
    """
    return {
        name: (
            float(by["model"].real_balance),
            float(min(by["pooled"].errors["balance"], by["constant"].errors["balance"])),
        )
        for name, by in results.items()
    }


def _theil_sen(x: np.ndarray, y: np.ndarray, x_new: float) -> float:
    fit = theilslopes(np.log(y - 1.0 + LOG_OFFSET), np.log(x))
    return float(1.0 - LOG_OFFSET + np.exp(fit.intercept + fit.slope * np.log(x_new)))


def _nearest_median(x: np.ndarray, y: np.ndarray, x_new: float) -> float:
    order = np.argsort(np.abs(np.log(x) - np.log(x_new)), kind="stable")
    return float(np.median(y[order[:NEAREST]]))


PREDICTORS: dict[str, Callable[[np.ndarray, np.ndarray, float], float]] = {
    "median of the others": lambda x, y, x_new: float(np.median(y)),
    f"median of the {NEAREST} nearest in size": _nearest_median,
    "Theil-Sen on size": _theil_sen,
}


def reference_predictions(
    real_balance: Mapping[str, float], n_loads: Mapping[str, int]
) -> dict[str, dict[str, float]]:
    """Leave-one-out point predictions of each feeder's max/mean by each reference predictor.

    Parameters
    ----------
    real_balance : mapping of str to float
        Real max/mean phase total of every feeder (at least 1).
    n_loads : mapping of str to int
        Load buses of every feeder (the same keys).

    Returns
    -------
    dict of str to dict of str to float
        ``{predictor: {feeder: prediction}}``, each feeder predicted from the others only.
    """
    names = list(real_balance)
    if set(names) != set(n_loads) or len(names) < 3:
        raise ParameterError(
            "real_balance and n_loads must name the same feeders, at least three of them."
        )
    y = np.array([real_balance[k] for k in names], dtype=float)
    x = np.array([n_loads[k] for k in names], dtype=float)
    if (y < 1.0).any() or (x < 1).any() or not np.isfinite(y).all():
        raise ParameterError(
            "real_balance must be max/mean ratios (at least 1) and n_loads positive counts."
        )
    out: dict[str, dict[str, float]] = {}
    for label, predict in PREDICTORS.items():
        out[label] = {}
        for i, name in enumerate(names):
            others = np.arange(len(names)) != i
            out[label][name] = predict(x[others], y[others], float(x[i]))
    return out


@dataclass(frozen=True)
class BalanceWins:
    """Balance comparisons won by one predictor over the held-out feeders.

    Attributes
    ----------
    both, constant, pooled : int
        Feeders where its error is below both baselines', below the constant's, below the
        pooled model's.
    mean_error : float
        Mean absolute error of its (median) max/mean.
    won : tuple of str
        The feeders counted in ``both``.
    """

    both: int
    constant: int
    pooled: int
    mean_error: float
    won: tuple[str, ...]


def balance_wins(
    results: Mapping[str, Mapping[str, SkillScore]], prediction: Mapping[str, float]
) -> BalanceWins:
    """Score one set of max/mean predictions against the baselines of ``results``."""
    errors = {k: abs(float(prediction[k]) - by["model"].real_balance) for k, by in results.items()}
    pooled = {k: by["pooled"].errors["balance"] for k, by in results.items()}
    constant = {k: by["constant"].errors["balance"] for k, by in results.items()}
    won = tuple(k for k in results if errors[k] < min(pooled[k], constant[k]))
    return BalanceWins(
        both=len(won),
        constant=sum(errors[k] < constant[k] for k in results),
        pooled=sum(errors[k] < pooled[k] for k in results),
        mean_error=float(np.mean(list(errors.values()))),
        won=won,
    )


def table_balance_reach(
    results: Mapping[str, Mapping[str, SkillScore]],
    n_loads: Mapping[str, int],
    *,
    fmt: str = "text",
) -> str:
    """The model's balance wins beside those of the reference predictors (module docstring).

    Parameters
    ----------
    results : mapping
        Leave-one-out scores (:func:`~.skill.leave_one_out`).
    n_loads : mapping of str to int
        Load buses of every feeder in ``results``.
    fmt : str
        ``"text"`` or ``"markdown"``.
    """
    model = {k: by["model"].synthetic_balance for k, by in results.items()}
    real = {k: by["model"].real_balance for k, by in results.items()}
    rows_pred = {"model (median of its realisations)": model}
    rows_pred.update(reference_predictions(real, {k: n_loads[k] for k in results}))
    n = len(results)
    headers = [
        "Prediction",
        f"Beats both /{n}",
        f"Beats constant /{n}",
        f"Beats pooled /{n}",
        "Mean error",
        "Feeders won",
    ]
    rows = []
    for label, prediction in rows_pred.items():
        w = balance_wins(results, prediction)
        rows.append(
            [
                label,
                str(w.both),
                str(w.constant),
                str(w.pooled),
                f"{w.mean_error:.3f}",
                ", ".join(w.won) or "none",
            ]
        )
    return render(headers, rows, fmt)


def table_win_windows(
    results: Mapping[str, Mapping[str, SkillScore]],
    n_loads: Mapping[str, int],
    *,
    fmt: str = "text",
) -> str:
    """Per feeder: load buses, real max/mean and the window that beats both baselines."""
    rows = []
    for name, (real, half) in win_windows(results).items():
        rows.append(
            [
                name,
                str(n_loads[name]),
                f"{real:.3f}",
                f"{real - half:.3f}-{real + half:.3f}",
                f"{half:.3f}",
            ]
        )
    return render(["Feeder", "Load buses", "Real max/mean", "Window", "Half-width"], rows, fmt)
