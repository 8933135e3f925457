"""The load level of a new feeder in the unconditioned predictive: positive and bounded.

The hierarchical posteriors store new-feeder draws of the truncated normal's location
``p_mu_kw``; with five or three training feeders the population spread is wide and part of the
draws are negative (16 % for ``smartds``, 20 % for ``epri``; 61 % in its earlier fit), so a
realisation's mean demand per load ranged from about zero to several times the largest training
feeder.

Here the level of each realisation is re-drawn on the log scale instead:

- when the training feeders of the posterior are known
  (``data/posteriors/power_feeder_levels.csv``, written by
  ``scripts/compute_feeder_load_levels.py``): the mean single-phase load ``m`` of a new feeder
  is ``exp(Normal(a, b))`` with ``a``, ``b`` the mean and standard deviation of the training
  feeders' log means, clipped to the training range ``[min, max]``; the scale is
  ``sigma = r m`` with ``r`` the median ratio sd/mean of the training feeders. The location of
  the truncated normal is ``m``, so no realisation has a negative or zero mean, and the mean
  demand per load stays within the range the training feeders show (up to the small truncation
  shift, at most a few percent for ``r`` below 0.7); the heavy-tailed three-phase class is
  then bounded too: each realisation's mean over all its loads stays within the training
  feeders' range (:func:`bound_feeder_level`);
- otherwise (a user's posterior): the stored draws, with every draw whose truncated normal has
  a mean below a tenth of the draws' median mean (:data:`LOW_LEVEL_FRACTION`) replaced by a
  draw of the same posterior that does not (a fixed mapping, so feeders that share draws stay
  aligned). A negative location alone is no defect: loads more variable than a truncated normal
  with a positive location can be (IEEE 34's single-phase loads, coefficient of variation 1.3)
  are fitted with ``mu < 0`` in 98 % of the draws and a mean near the data's. Replacing those
  draws by the 2 % with ``mu > 0``, as an earlier rule did, raised the mean load by 36 %.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import log_ndtr

from ..posterior import default_parameter_path

if TYPE_CHECKING:
    from .power import PowerParameters

__all__ = [
    "LOW_LEVEL_FRACTION",
    "FeederLevelPrior",
    "bound_feeder_level",
    "feeder_level_prior",
    "load_parameters",
    "truncated_normal_mean",
]

logger = logging.getLogger(__name__)

_FILE = "power_feeder_levels.csv"
#: A draw whose mean load is below this fraction of the draws' median is replaced (module doc).
LOW_LEVEL_FRACTION = 0.1


def truncated_normal_mean(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Mean [kW] of ``Normal(mu, sigma)`` truncated below at zero (always positive)."""
    mu = np.asarray(mu, dtype=float)
    a = mu / np.asarray(sigma, dtype=float)
    # phi(a) / Phi(a) in logs: stable far in the lower tail (mu << 0), where it tends to -a
    ratio = np.exp(-0.5 * a**2 - 0.5 * np.log(2 * np.pi) - log_ndtr(a))
    return mu + sigma * ratio


@dataclass(frozen=True)
class FeederLevelPrior:
    """Log-normal prior of a new feeder's mean single-phase load, from its training feeders.

    Attributes
    ----------
    log_mean, log_sd : float
        Mean and standard deviation of the training feeders' log mean loads [log kW].
    low_kw, high_kw : float
        Smallest and largest training feeder mean [kW]; draws are clipped to this range.
    cv_within : float
        Median ratio sd/mean of the loads within a training feeder.
    feeders : tuple of str
        The training feeders.
    low_all_kw, high_all_kw : float
        Smallest and largest training feeder mean over *all* its loads, three-phase included
        [kW]: the range :func:`bound_feeder_level` keeps each realisation's mean load in.
    """

    log_mean: float
    log_sd: float
    low_kw: float
    high_kw: float
    cv_within: float
    feeders: tuple[str, ...]
    low_all_kw: float = 0.0
    high_all_kw: float = float("inf")


@cache
def _rows() -> tuple[dict[str, str], ...]:
    with default_parameter_path(_FILE).open(newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


@cache
def feeder_level_prior(posterior_id: str | None) -> FeederLevelPrior | None:
    """The level prior of a shipped posterior (by provenance id), or None when unknown."""
    rows = [r for r in _rows() if r["posterior_id"] == posterior_id]
    if len(rows) < 2:
        return None
    means = np.asarray([float(r["mean_p_kw_single_phase"]) for r in rows])
    sds = np.asarray([float(r["sd_p_kw_single_phase"]) for r in rows])
    means_all = np.asarray([float(r["mean_p_kw_all"]) for r in rows])
    logs = np.log(means)
    return FeederLevelPrior(
        float(logs.mean()),
        float(logs.std(ddof=1)),
        float(means.min()),
        float(means.max()),
        float(np.median(sds / means)),
        tuple(r["feeder"] for r in rows),
        float(means_all.min()),
        float(means_all.max()),
    )


def bound_feeder_level(
    params: PowerParameters, total: np.ndarray, three: np.ndarray
) -> tuple[np.ndarray, int]:
    """Keep every realisation's mean load within the range of the training feeders.

    The single-phase level is drawn within its training range (:func:`load_parameters`), but
    the three-phase class is heavy-tailed (a coefficient of variation above 2 for ``smartds``):
    on a feeder with a few three-phase loads one draw can carry the feeder's total to several
    times any training feeder's. A realisation whose mean load is above the largest training
    feeder's mean (all loads, three-phase included) has its three-phase loads scaled down until
    it is at that mean (all its loads, if the single-phase ones alone are above it); one below
    the smallest is scaled up as a whole. Realisations within the range are untouched.

    Parameters
    ----------
    params : PowerParameters
        The power model's parameters (their provenance id finds the training feeders).
    total : ndarray, shape (n, n_loads)
        Total active power of every load [kW].
    three : ndarray of bool, shape (n, n_loads)
        Which loads are three-phase.

    Returns
    -------
    (ndarray, int)
        ``total`` bounded (a new array when any realisation moved), and the number of
        realisations moved.
    """
    provenance = getattr(params, "provenance", {}) or {}
    prior = feeder_level_prior(provenance.get("id"))
    if prior is None or total.size == 0:
        return total, 0
    n_loads = total.shape[1]
    s_all = total.sum(axis=1)
    high, low = prior.high_all_kw * n_loads, prior.low_all_kw * n_loads
    over, under = s_all > high, s_all < low
    if not (over.any() or under.any()):
        return total, 0
    s_three = np.where(three, total, 0.0).sum(axis=1)
    s_single = s_all - s_three
    by_three = over & (s_single < high) & (s_three > 0)
    g_three = np.where(by_three, (high - s_single) / np.where(by_three, s_three, 1.0), 1.0)
    g_all = np.where(over & ~by_three, high / s_all, np.where(under, low / s_all, 1.0))
    bounded = total * g_all[:, np.newaxis]
    bounded = np.where(three, bounded * g_three[:, np.newaxis], bounded)
    return bounded, int((over | under).sum())


def load_parameters(
    params: PowerParameters, draw: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Location and scale [kW] of the truncated normal of every realisation, shape (n,).

    Parameters
    ----------
    params : PowerParameters
        The power model's parameters (``p_mu_kw``, ``p_sigma_kw``, ``provenance``).
    draw : ndarray of int, shape (n,)
        Posterior draw of each realisation.
    rng : numpy.random.Generator
        Random generator (used only with a level prior).
    """
    mu_all = np.asarray(params.p_mu_kw)
    sigma_all = np.asarray(params.p_sigma_kw)
    provenance = getattr(params, "provenance", {}) or {}
    prior = feeder_level_prior(provenance.get("id"))
    if prior is not None and mu_all.size > 1:
        m = np.exp(prior.log_mean + prior.log_sd * rng.standard_normal(draw.size))
        m = np.clip(m, prior.low_kw, prior.high_kw)
        return m, prior.cv_within * m
    level = truncated_normal_mean(mu_all, sigma_all)
    low = level < LOW_LEVEL_FRACTION * np.median(level)
    if not low.any():
        return mu_all[draw], sigma_all[draw]
    healthy = np.flatnonzero(~low)
    p_draw = np.asarray(draw).copy()
    bad = low[p_draw]
    if bad.any():
        # A fixed mapping (not a random one) keeps feeders that share draws aligned.
        p_draw[bad] = healthy[p_draw[bad] % healthy.size]
    return mu_all[p_draw], sigma_all[p_draw]
