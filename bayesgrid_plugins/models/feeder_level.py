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
  shift, at most a few percent for ``r`` below 0.7);
- otherwise (a user's posterior): the stored draws, with every draw whose location is not
  positive replaced by a positive draw of the same posterior (a fixed mapping, so feeders that
  share draws stay aligned). Parameters whose locations are all <= 0 (a point estimate, say)
  are kept as they are: the truncated normal's mean is still positive.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from ..posterior import default_parameter_path

if TYPE_CHECKING:
    from .power import PowerParameters

__all__ = ["FeederLevelPrior", "feeder_level_prior", "load_parameters"]

logger = logging.getLogger(__name__)

_FILE = "power_feeder_levels.csv"


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
    """

    log_mean: float
    log_sd: float
    low_kw: float
    high_kw: float
    cv_within: float
    feeders: tuple[str, ...]


@cache
def _rows() -> tuple[dict[str, str], ...]:
    with default_parameter_path(_FILE).open(newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def feeder_level_prior(posterior_id: str | None) -> FeederLevelPrior | None:
    """The level prior of a shipped posterior (by provenance id), or None when unknown."""
    rows = [r for r in _rows() if r["posterior_id"] == posterior_id]
    if len(rows) < 2:
        return None
    means = np.asarray([float(r["mean_p_kw_single_phase"]) for r in rows])
    sds = np.asarray([float(r["sd_p_kw_single_phase"]) for r in rows])
    logs = np.log(means)
    return FeederLevelPrior(
        float(logs.mean()),
        float(logs.std(ddof=1)),
        float(means.min()),
        float(means.max()),
        float(np.median(sds / means)),
        tuple(r["feeder"] for r in rows),
    )


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
    positive = np.flatnonzero(mu_all > 0)
    if positive.size in (0, mu_all.size):
        # All locations positive, or a point estimate (or draws) whose locations are all
        # <= 0: a valid truncated normal the user chose; keep it.
        return mu_all[draw], sigma_all[draw]
    p_draw = np.asarray(draw).copy()
    bad = mu_all[p_draw] <= 0
    if bad.any():
        # A fixed mapping (not a random one) keeps feeders that share draws aligned.
        p_draw[bad] = positive[p_draw[bad] % positive.size]
    return mu_all[p_draw], sigma_all[p_draw]
