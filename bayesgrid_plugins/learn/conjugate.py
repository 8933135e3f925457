"""A fast fit of the pooled power model without MCMC (and without PyMC).

The pooled model of :mod:`.power_fit` (``hierarchical=False``) has closed-form posteriors for
its discrete parts, with the same priors:

- ``p3[z] | data ~ Beta(a + n_three[z], b + n_single[z])`` (Beta-Bernoulli), the prior
  centred on the overall three-phase share (:func:`.power_fit.pooled_p3_prior`);
- ``phase_probs | data ~ Dirichlet(1 + counts of A, B, C)`` (Dirichlet-categorical);
- ``pf_probs | data ~ Dirichlet(1 + counts per power factor)``.

The two parameters of the truncated normal of P have no conjugate prior; their posterior is
evaluated on a 2-D grid in ``(mu, log sigma)`` centred on the posterior mode and sampled
cell by cell with uniform jitter inside the cell, which is exact up to
the grid resolution (a cell is 1/20 of a posterior standard deviation wide). Their prior is the
NUTS model's, restated in the data's own scale (:func:`data_scaled_prior`): ``mu ~ Normal(mean,
4 rms)``, ``log sigma ~ Normal(log sd, 1.5)``. The three-phase
shares are not sampled: their Dirichlet concentration is the P-weighted mean of the real
shares (:func:`three_phase_mean_share`) times the mode of the precision under the NUTS model's
prior (:func:`share_precision`), repeated in every draw.

The three-phase loads' own P class comes from :mod:`.three_phase` (empirical Bayes across
feeders), and the phase balancing from :mod:`.balance` (calibrated on each training feeder's
topology, when the table carries it).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
from scipy import optimize
from scipy.special import gammaln, log_ndtr

from ..errors import ParameterError
from ..models.feeder_level import truncated_normal_mean
from ..models.power import PowerParameters
from .extensions import extension_draws
from .power_data import DEFAULT_PF_VALUES, PowerData, power_data, table_sha256
from .power_fit import (
    P3_PRIOR_LOADS,
    PRIORS,
    _pooled_moments,
    pooled_p3_prior,
    round_parameters,
)
from .table import TrainingTable

__all__ = ["CONJUGATE_MODEL_NAME", "data_scaled_prior", "fit_power_conjugate"]

CONJUGATE_MODEL_NAME = "power-pooled-conjugate"
_MAX_PRECISION = 1000.0


def keep_the_mean(mu: np.ndarray, sigma: np.ndarray, mean: float) -> tuple[np.ndarray, np.ndarray]:
    """Scale the truncated normal's draws so that their predictive mean is the data's mean.

    A truncated normal cannot reach a coefficient of variation above 1. On loads that vary more
    (IEEE 34's 12 single-phase loads: mean 20.2 kW, CV 1.3) the posterior runs along a ridge
    towards ``mu << 0`` with a right-skewed mean, and the posterior predictive mean came out
    15 % above the data's (23.2 kW). ``TN(k mu, k sigma) = k TN(mu, sigma)``, so multiplying
    both by ``k = mean / E[TN mean]`` keeps the shape of every draw and the spread between
    them, and gives back the sample mean, an unbiased estimate whatever the distribution.
    ``k`` is 0.997-1.000 on the SMART-DS and EPRI feeders, IEEE 8500 and 123, 0.989 on IEEE 13
    and 0.877 on IEEE 34, each fitted alone.
    """
    k = float(mean / np.mean(truncated_normal_mean(mu, sigma)))
    return mu * k, sigma * k


def three_phase_mean_share(data: PowerData) -> np.ndarray:
    """Mean per-phase shares of a three-phase load, weighted by P.

    ``sum_i P_i r_i / sum_i P_i`` over the real three-phase loads: with P and the shares drawn
    independently, the expected phase totals of the three-phase loads are then the real ones.
    The unweighted geometric mean let IEEE 13's small 670 (17 / 66 / 117 kW) pull phase C's
    share to 0.42 against a real 0.35 of the three-phase power (expected totals A -9 %,
    C +9 %). Equal thirds without three-phase loads; the geometric mean of the shares when the
    data carry no per-phase sums (statistics saved before they were recorded).
    """
    if data.share_n == 0:
        return np.full(3, 1 / 3)
    if data.share_p_kw is not None and float(np.sum(data.share_p_kw)) > 0:
        weighted = np.asarray(data.share_p_kw, dtype=float)
        return weighted / weighted.sum()
    geometric = np.exp(data.share_logsum / data.share_n)
    return geometric / geometric.sum()


def share_precision(n: int, logsum: np.ndarray, mean_share: np.ndarray) -> float:
    """Dirichlet precision ``kappa`` of the three-phase loads' per-phase shares.

    The mode of ``kappa`` given the mean shares, under the NUTS fit's prior
    ``log kappa ~ Uniform(0, log 1000)``: the likelihood of ``n`` shares with
    ``sum(log share_j) = logsum_j`` under ``Dirichlet(kappa * mean_share)``, maximised on that
    interval. Real three-phase loads split evenly (the SMART-DS and EPRI ones) reach the upper
    bound; IEEE 13's unequal ones (bus 675: 485 / 68 / 290 kW) give a small ``kappa``, so a
    sampled three-phase load is as unequal as the real ones, not split by the mean share.

    Parameters
    ----------
    n : int
        Three-phase loads with P > 0 (none: the upper bound).
    logsum : ndarray, shape (3,)
        Sum over those loads of the log of their share on each phase.
    mean_share : ndarray, shape (3,)
        Mean shares (sum to 1).
    """
    if n < 2:
        return _MAX_PRECISION
    m = np.asarray(mean_share, dtype=float)
    fixed = float(np.dot(m, logsum))

    def negative_loglik(log_kappa: float) -> float:
        kappa = np.exp(log_kappa)
        return -(n * (gammaln(kappa) - gammaln(kappa * m).sum()) + kappa * fixed)

    best = optimize.minimize_scalar(
        negative_loglik,
        bounds=(0.0, np.log(_MAX_PRECISION)),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(best.x))


def data_scaled_prior(mean: float, var: float) -> tuple[float, float, float, float]:
    """Prior ``(m0, s0, l0, t0)`` of the truncated normal in the data's own scale [kW].

    ``mu ~ Normal(mean, 4 rms)`` and ``log sigma ~ Normal(log sd, 1.5)``, with ``mean``, ``sd``
    and ``rms`` those of the loads fitted. As weak as the paper's ``Normal(5, 20)`` and
    ``Normal(log 3, 1.5)`` next to the data of any feeder, but stated in its units: the paper's
    prior is centred on US residential loads of a few kW, and on a feeder of three single-phase
    spot loads of 128-170 kW (IEEE 13) it held the location near 10 kW, so that the fitted
    loads' predictive mean came out at 118 kW instead of 156.
    """
    rms = float(np.sqrt(var + mean**2))
    sd = max(float(np.sqrt(max(var, 0.0))), 0.1 * abs(mean), 1e-6)
    return float(mean), 4.0 * max(rms, 1e-6), float(np.log(sd)), PRIORS["p_log_sigma"][1]


def _tn_log_posterior(
    theta: np.ndarray,
    n: float,
    mean: float,
    var: float,
    prior: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """Log posterior of (mu, log sigma) [up to a constant]; theta has shape (2, ...).

    ``prior`` is ``(m0, s0, l0, t0)``: ``mu ~ Normal(m0, s0)``, ``log sigma ~ Normal(l0, t0)``;
    None: the paper's (:data:`.power_fit.PRIORS`).
    """
    mu, log_sigma = theta[0], theta[1]
    sigma = np.exp(log_sigma)
    if prior is None:
        (m0, s0), (l0, t0) = PRIORS["p_mu_kw"], PRIORS["p_log_sigma"]
    else:
        m0, s0, l0, t0 = prior
    loglik = n * (-log_sigma - ((mean - mu) ** 2 + var) / (2 * sigma**2) - log_ndtr(mu / sigma))
    return loglik - 0.5 * ((mu - m0) / s0) ** 2 - 0.5 * ((log_sigma - l0) / t0) ** 2


def _grid_draws(
    n: float,
    mean: float,
    var: float,
    draws: int,
    rng: np.random.Generator,
    cells: int = 241,
    prior: tuple[float, float, float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    def objective(t: np.ndarray) -> float:
        return float(-_tn_log_posterior(t, n, mean, var, prior))

    start = np.array([mean, 0.5 * np.log(max(var, 1e-12))])
    mode = optimize.minimize(
        objective,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000},
    ).x
    # Curvature at the mode sets the grid's half-widths (6 standard deviations each way).
    h = 1e-4 * np.maximum(1.0, np.abs(mode))
    hess = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            e_i, e_j = np.eye(2)[i] * h[i], np.eye(2)[j] * h[j]
            hess[i, j] = (
                objective(mode + e_i + e_j)
                - objective(mode + e_i - e_j)
                - objective(mode - e_i + e_j)
                + objective(mode - e_i - e_j)
            ) / (4 * h[i] * h[j])
    try:
        sd = np.sqrt(np.diag(np.linalg.inv(hess)))
    except np.linalg.LinAlgError:
        sd = np.array([np.nan, np.nan])
    if not np.isfinite(sd).all():
        raise ParameterError(
            "the posterior of P's truncated normal is not concentrated; need more loads"
        )
    axes = [np.linspace(mode[i] - 6 * sd[i], mode[i] + 6 * sd[i], cells) for i in range(2)]
    mu_grid, ls_grid = np.meshgrid(*axes, indexing="ij")
    logp = _tn_log_posterior(np.stack([mu_grid, ls_grid]), n, mean, var, prior).ravel()
    weights = np.exp(logp - logp.max())
    pick = rng.choice(weights.size, size=draws, p=weights / weights.sum())
    step = np.array([axes[0][1] - axes[0][0], axes[1][1] - axes[1][0]])
    mu = mu_grid.ravel()[pick] + (rng.random(draws) - 0.5) * step[0]
    log_sigma = ls_grid.ravel()[pick] + (rng.random(draws) - 0.5) * step[1]
    return mu, np.exp(log_sigma)


def fit_power_conjugate(
    table: TrainingTable,
    *,
    draws: int = 1000,
    seed: int = 0,
    pf_values: tuple[float, ...] | str = DEFAULT_PF_VALUES,
    provenance: dict[str, Any] | None = None,
) -> PowerParameters:
    """Posterior draws of the pooled power model in closed form (no MCMC, milliseconds).

    Parameters
    ----------
    table : TrainingTable
        Loads of one or more feeders (pooled into one population).
    draws : int, default 1000
        Posterior draws to return.
    seed : int, default 0
        Seed of the draws.
    pf_values : tuple of float or "auto"
        Support of the power-factor distribution.
    provenance : dict, optional
        Merged into the recorded provenance.

    Returns
    -------
    PowerParameters
        ``draws`` posterior draws of the pooled model (see the module docstring).
    """
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ParameterError(f"draws must be a positive integer, got {draws!r}")
    data = power_data(table, pf_values=pf_values)
    rng = np.random.default_rng(seed)
    n3 = data.n_three.sum(axis=0)
    n1 = data.n_modelled.sum(axis=0) - n3
    a, b = pooled_p3_prior(data)
    p3 = rng.beta(a + n3, b + n1, size=(draws, data.n_zones))
    phase_probs = rng.dirichlet(1.0 + data.phase_counts.sum(axis=0), size=draws)
    pf_probs = rng.dirichlet(1.0 + data.pf_counts.sum(axis=0), size=draws)
    n, mean, var = _pooled_moments(data.p1_n, data.p1_mean, data.p1_var)
    if n < 2:
        raise ParameterError("fewer than two single-phase loads with P > 0 to fit P to")
    p_mu, p_sigma = _grid_draws(n, mean, var, int(draws), rng, prior=data_scaled_prior(mean, var))
    p_mu, p_sigma = keep_the_mean(p_mu, p_sigma, mean)

    mean_share = three_phase_mean_share(data)
    share_alpha = np.tile(
        mean_share * share_precision(data.share_n, data.share_logsum, mean_share), (draws, 1)
    )
    arrays_3, extra = extension_draws(table, data, int(draws), rng, seed=seed)
    record = {
        "id": f"power-fit-{CONJUGATE_MODEL_NAME}-seed{seed}",
        "method": "closed-form posterior of the pooled model (Beta/Dirichlet, grid for P)",
        "model": CONJUGATE_MODEL_NAME,
        "model_version": 1,
        "data_source": ", ".join(data.systems),
        "feeders": list(data.systems),
        "training_table_sha256": table_sha256(table),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "bayesgrid_version": _version(),
        "seed": seed,
        **data.counts,
        "p_fitted_to": "single-phase loads (truncated normal); three-phase loads: own class",
        "p_prior": "mu ~ Normal(mean, 4 rms), log sigma ~ Normal(log sd, 1.5) of the loads fitted",
        "share_alpha": (
            "P-weighted mean of the shares; precision the posterior mode on "
            f"log kappa ~ Uniform(0, log {_MAX_PRECISION:g}) (not sampled)"
        ),
        "p3_prior": f"Beta centred on the overall share, weight {P3_PRIOR_LOADS:g} loads",
        **extra,
    }
    record.update(provenance or {})
    arrays = {
        "p3": p3,
        "phase_probs": phase_probs,
        "share_alpha": share_alpha,
        "p_mu_kw": p_mu,
        "p_sigma_kw": p_sigma,
        "pf_probs": pf_probs,
        **arrays_3,
    }
    return PowerParameters(**round_parameters(arrays), pf_values=data.pf_values, provenance=record)


def _version() -> str:
    from .. import __version__

    return __version__
