"""Fit the power model to real feeders with PyMC/NUTS, hierarchically across feeders.

The model (one feeder ``f`` per value of the training table's ``system`` column, zones ``z`` of
normalised distance, one row per load):

**Three-phase or single-phase**, ``c3 ~ Bernoulli(p3[f, z])`` with
``logit p3[f, z] = a[z] + b[f]``:

- ``a[z] = level + w[z] - mean(w)``, ``w`` a Gaussian random walk over the zones with step
  ``sd_zone``: neighbouring distance bins get similar probabilities (partial pooling across
  zones: a zone with few loads borrows from its neighbours, an empty zone is interpolated).
  ``level ~ Normal(-2, 1.5)``: three-phase loads are a minority on distribution feeders (prior
  median 12 %, 95 % range 1 % to 72 %); ``sd_zone ~ HalfNormal(0.5)``: a change of one logit
  between adjacent tenths of the feeder is already large.
- ``b[f] ~ Normal(0, sd_feeder)``, ``sd_feeder ~ HalfNormal(1)``: feeders differ in their
  overall share of three-phase loads by up to about a factor e^2 either way (partial pooling
  across feeders).

**Phase of a single-phase load**, ``Categorical(phase_probs[f])`` with
``phase_probs[f] ~ Dirichlet(kappa_phase * m_phase)``, marginalised into a
Dirichlet-multinomial per feeder. ``m_phase ~ Dirichlet(4, 4, 4)``: utilities balance phases,
so the population mean is near 1/3 each while an imbalance of 0.2 stays plausible;
``kappa_phase ~ LogNormal(log 30, 1.5)``: a feeder's share of a phase typically within +-0.08
of the mean, with room for strongly unbalanced feeders (kappa of 2) or very balanced ones (500).

**Shares of a three-phase load**, ``Dirichlet(kappa_share * m_share)`` pooled over all feeders
(three-phase loads are few per feeder). ``m_share ~ Dirichlet(4, 4, 4)`` (balanced on
average); ``log kappa_share ~ Uniform(0, log 1000)``: below 1 the shares would pile at the
corners, above 1000 a share moves by less than about 1.5 %, which no reader resolves. Readers
that split a load's power equally over its phases give no spread at all: the posterior of
``kappa_share`` then sits at the upper bound, as the counting estimator's cap.

**Active power** ``P`` [kW] **by load class.** Loads differ by class: on SMART-DS 94 % are
single-phase residential (mean 4.6 kW, sd 3.4) and 6 % three-phase commercial (mean 96 kW,
coefficient of variation above 2). The sampler has one P distribution, a normal truncated at
zero, whose coefficient of variation is below 1 and cannot hold both classes, so it is fitted to
the **single-phase** loads: ``P ~ TruncatedNormal(mu[f], sigma[f], lower=0)`` with
``mu[f] ~ Normal(mu_pop, sd_mu)``, ``log sigma[f] ~ Normal(log_sigma_pop, sd_log_sigma)``;
``mu_pop ~ Normal(5, 20)`` [kW] (households draw a few kW; wide enough for feeders whose
single-phase loads are aggregated), ``sd_mu ~ HalfNormal(10)`` [kW],
``log_sigma_pop ~ Normal(log 3, 1.5)``, ``sd_log_sigma ~ HalfNormal(1)``.
The **three-phase** loads get their own class, ``log P ~ Normal(lm[f], ls[f])`` (log-normal,
which holds a coefficient of variation above 1) with ``lm[f] ~ Normal(lm_pop, sd_lm)``,
``log ls[f] ~ Normal(lls_pop, sd_lls)``, ``lm_pop ~ Normal(log 30, 2)``, ``sd_lm ~
HalfNormal(1)``, ``lls_pop ~ Normal(0, 1)``, ``sd_lls ~ HalfNormal(0.5)``. Its posterior is
recorded in the provenance (``p_three_phase_class_nuts``). The sampler's three-phase class is the
mean-matched, empirical-Bayes one of :mod:`.three_phase` (a log-normal fitted to log P puts the
class's mean 20-35 % below the real one on the Greensboro feeders, whose three-phase loads have a
heavier tail than a log-normal), drawn for every retained posterior draw; the phase balancing is
calibrated by :mod:`.balance`. Both are added by :func:`.extensions.extension_draws`.

**Power factor** (one per realisation in the sampler): each training load's ``P/|S|`` snapped to
the nearest value of ``pf_values``, ``Categorical(pf_probs[f])`` with
``pf_probs[f] ~ Dirichlet(kappa_pf * m_pf)`` marginalised as for the phases;
``m_pf ~ Dirichlet(1, ..., 1)`` (no preferred power factor), ``kappa_pf ~ LogNormal(log 10,
1.5)`` (feeders differ markedly: 0.92 on one, 0.98 on another).

**The parameters for a new feeder.** For every retained posterior draw the parameters of a new,
unseen feeder are drawn from the population distributions above (``b_new ~ Normal(0,
sd_feeder)``, ``phase_probs_new ~ Dirichlet(kappa_phase m_phase)``, ...). These are what
:class:`~bayesgrid_plugins.models.power.PowerParameters` stores, so an ensemble carries the
between-feeder spread as well as the posterior uncertainty.

With one feeder (or ``hierarchical=False``) the loads are pooled into the paper's single
population with independent conjugate priors: ``p3[z] ~ Beta(a, b)`` centred so that the
feeder's three-phase count is kept, with the weight of 10 loads (:func:`pooled_p3_prior`),
``phase_probs ~ Dirichlet(1, 1, 1)``, ``pf_probs ~ Dirichlet(1, ..., 1)``, and the paper's
``mu ~ Normal(5, 20)``, ``log sigma ~ Normal(log 3, 1.5)`` restated in the data's own scale
(``mu ~ Normal(mean, 4 rms)``, ``log sigma ~ Normal(log sd, 1.5)``,
:func:`.conjugate.data_scaled_prior`) and the same share and three-phase-class priors;
:mod:`.conjugate` samples that posterior without MCMC.

Every likelihood is written on the sufficient statistics of :mod:`.power_data`, so the compiled
model has the same size whatever the number of loads. PyMC is imported inside the functions:
``import bayesgrid_plugins`` never imports it.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..models.power import PowerParameters
from .diagnostics import Diagnostics, diagnose, import_arviz
from .extensions import extension_draws
from .power_data import DEFAULT_PF_VALUES, PowerData, power_data, table_sha256
from .sampling import resolve_sampler, run_nuts, sampler_versions
from .table import TrainingTable

__all__ = [
    "MODEL_NAME",
    "MODEL_VERSION",
    "PRIORS",
    "PowerFit",
    "build_power_model",
    "fit_power_model",
    "fit_power_posterior",
    "round_parameters",
]

logger = logging.getLogger(__name__)

#: Name and version of the statistical model, recorded in the provenance of every fit.
MODEL_NAME = "power-hierarchical-nuts"
MODEL_VERSION = 2

#: Prior constants (see the module docstring for their justification).
PRIORS: dict[str, Any] = {
    "p3_beta": (1.0, 1.0),
    "p3_level": (-2.0, 1.5),
    "p3_sd_zone": 0.5,
    "p3_sd_feeder": 1.0,
    "phase_mean_concentration": 4.0,
    "phase_kappa_lognormal": (float(np.log(30.0)), 1.5),
    "pf_kappa_lognormal": (float(np.log(10.0)), 1.5),
    "share_mean_concentration": 4.0,
    "share_log_kappa_uniform": (0.0, float(np.log(1000.0))),
    "p_mu_kw": (5.0, 20.0),
    "p_log_sigma": (float(np.log(3.0)), 1.5),
    "p_sd_mu_kw": 10.0,
    "p_sd_log_sigma": 1.0,
    "p3class_log_mu": (float(np.log(30.0)), 2.0),
    "p3class_log_sigma": (0.0, 1.0),
}


@dataclass(frozen=True, eq=False)
class PowerFit:
    """The result of :func:`fit_power_posterior`.

    Attributes
    ----------
    parameters : PowerParameters
        New-feeder posterior-predictive parameters with provenance.
    idata : arviz.InferenceData
        The NUTS trace (every chain and draw, before thinning).
    diagnostics : Diagnostics
        r-hat, ESS and divergences.
    data : PowerData
        The sufficient statistics fitted.
    hierarchical : bool
        Whether the hierarchical model was used.
    timings_s : dict
        Seconds spent building and sampling.
    """

    parameters: PowerParameters
    idata: Any
    diagnostics: Diagnostics
    data: PowerData
    hierarchical: bool
    timings_s: dict[str, float] = field(default_factory=dict)


def _import_pymc() -> Any:
    with warnings.catch_warnings():
        # ArviZ announces its refactor with a FutureWarning on import.
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"arviz(\.|$)")
        import_arviz()
        import pymc

    return pymc


def _pooled_moments(n: np.ndarray, mean: np.ndarray, var: np.ndarray) -> tuple[float, float, float]:
    total = float(n.sum())
    if total == 0:
        return 0.0, 0.0, 0.0
    m = float((n * mean).sum() / total)
    v = float((n * (var + (mean - m) ** 2)).sum() / total)
    return total, m, v


def _log_normal_cdf(x: Any) -> Any:
    """log Phi(x), written with erfc only so that every PyTensor backend (C, Numba, JAX) has it.

    ``log(erfc(-x / sqrt 2) / 2)`` is exact until erfc underflows near x = -37; below x = -20
    the first terms of the asymptotic series take over (relative error below 1e-7 there).
    """
    import pytensor.tensor as pt

    tail = -0.5 * x**2 - pt.log(-pt.minimum(x, -20.0)) - 0.5 * np.log(2 * np.pi)
    tail = tail + pt.log1p(-1.0 / x**2 + 3.0 / x**4)
    body = pt.log(0.5 * pt.erfc(-pt.maximum(x, -20.0) / np.sqrt(2.0)))
    return pt.switch(x < -20.0, tail, body)


def _tn_loglik(pm: Any, n: Any, mean: Any, var: Any, mu: Any, sigma: Any) -> Any:
    """Log-likelihood [up to a constant] of n values with given mean/var under TN(mu, sigma, 0)."""
    pt = pm.math
    log_z = _log_normal_cdf(mu / sigma)
    return pt.sum(n * (-pt.log(sigma) - ((mean - mu) ** 2 + var) / (2 * sigma**2) - log_z))


def _lognormal_loglik(pm: Any, n: Any, logmean: Any, logvar: Any, m: Any, s: Any) -> Any:
    pt = pm.math
    return pt.sum(n * (-pt.log(s) - ((logmean - m) ** 2 + logvar) / (2 * s**2)))


def _dirichlet_loglik(pm: Any, n: int, logsum: np.ndarray, alpha: Any) -> Any:
    pt = pm.math
    from pytensor.tensor import gammaln

    return n * (gammaln(pt.sum(alpha)) - pt.sum(gammaln(alpha))) + pt.sum((alpha - 1) * logsum)


def build_power_model(data: PowerData, *, hierarchical: bool) -> Any:
    """The PyMC model of the power parameters (see the module docstring).

    Parameters
    ----------
    data : PowerData
        Sufficient statistics from :func:`~.power_data.power_data`.
    hierarchical : bool
        Partial pooling across feeders (True) or one pooled population (False).

    Returns
    -------
    pymc.Model
    """
    pm = _import_pymc()
    pt = pm.math
    n_f, k = data.n_feeders, data.pf_values.size
    pr = PRIORS
    # Every free parameter lives on its support through its transform (log, simplex, interval),
    # so PyMC's parameter checks only add nodes to the graph: they are left out.
    with pm.Model(check_bounds=False) as model:
        # --- shares of three-phase loads (pooled in both variants)
        share_mean = pm.Dirichlet("share_mean", a=np.full(3, pr["share_mean_concentration"]))
        share_log_kappa = pm.Uniform("share_log_kappa", *pr["share_log_kappa_uniform"])
        share_alpha = pm.Deterministic("share_alpha", pt.exp(share_log_kappa) * share_mean)
        if data.share_n:
            pm.Potential(
                "share_loglik", _dirichlet_loglik(pm, data.share_n, data.share_logsum, share_alpha)
            )
        has_p3class = float(data.p3_n.sum()) > 0
        if not hierarchical:
            _flat_terms(pm, data, has_p3class)
            return model

        # --- p3 by zone and feeder (see _p3_terms for the parameterisation)
        _p3_terms(pm, data)

        # --- phase of single-phase loads, and power factor: Dirichlet-multinomial per feeder
        phase_mean = pm.Dirichlet("phase_mean", a=np.full(3, pr["phase_mean_concentration"]))
        phase_kappa = pm.LogNormal("phase_kappa", *pr["phase_kappa_lognormal"])
        _dirichlet_multinomial(pm, "phase_counts", data.phase_counts, phase_kappa * phase_mean)
        pf_mean = pm.Dirichlet("pf_mean", a=np.ones(k))
        pf_kappa = pm.LogNormal("pf_kappa", *pr["pf_kappa_lognormal"])
        _dirichlet_multinomial(pm, "pf_counts", data.pf_counts, pf_kappa * pf_mean)

        # --- P of single-phase loads: truncated normal per feeder, partially pooled
        mu_pop = pm.Normal("p_mu_pop", *pr["p_mu_kw"])
        sd_mu = pm.HalfNormal("p_sd_mu", pr["p_sd_mu_kw"])
        ls_pop = pm.Normal("p_log_sigma_pop", *pr["p_log_sigma"])
        sd_ls = pm.HalfNormal("p_sd_log_sigma", pr["p_sd_log_sigma"])
        # Centred: every feeder has hundreds of loads, so its own parameters are well
        # identified and the centred form samples better than the non-centred one.
        mu_f = pm.Normal("p_mu_feeder", mu_pop, sd_mu, shape=n_f)
        sigma_f = pt.exp(pm.Normal("p_log_sigma_feeder", ls_pop, sd_ls, shape=n_f))
        pm.Potential(
            "p_loglik", _tn_loglik(pm, data.p1_n, data.p1_mean, data.p1_var, mu_f, sigma_f)
        )

        # --- P of three-phase loads: one pooled log-normal class (recorded in provenance)
        if has_p3class:
            _p3class_terms(pm, data)
    return model


def _p3_terms(pm: Any, data: PowerData) -> None:
    """The three-phase share by zone and feeder, parameterised for NUTS.

    The model of the module docstring, ``logit p3[f, z] = a[z] + b[f]`` with ``b[f] ~ Normal(0,
    sd_feeder)`` i.i.d., is sampled in an equivalent form without the correlation between the
    level and the mean feeder effect (1.5 times fewer leapfrog steps on SMART-DS): the feeder
    effects centred on their mean, ``b'[f] = b[f] - mean(b)``, a zero-sum normal of scale
    ``sd_feeder``; the level absorbs that mean, ``level' = level + mean(b)``, so its prior is
    ``Normal(-2, sqrt(1.5^2 + sd_feeder^2 / F))`` (the sum of two independent normals); the
    likelihood depends on ``level'`` and ``b'`` only. ``b'`` and the zone steps are non-centred
    (unit normals times their scale): feeders or zones that do not differ would otherwise make
    a funnel. :func:`_new_feeder_p3` undoes the shift for a new feeder.
    """
    pt = pm.math
    pr = PRIORS
    n_f, n_z = data.n_feeders, data.n_zones
    sd_zone = pm.HalfNormal("p3_sd_zone", pr["p3_sd_zone"])
    steps = pm.Normal("p3_zone_steps", 0.0, 1.0, shape=n_z - 1)
    walk = pt.concatenate([pt.zeros(1), pt.cumsum(steps * sd_zone)])
    sd_feeder = pm.HalfNormal("p3_sd_feeder", pr["p3_sd_feeder"])
    mean, sd = pr["p3_level"]
    level = pm.Normal("p3_level", mean, pt.sqrt(sd**2 + sd_feeder**2 / n_f))
    zone_logit = pm.Deterministic("p3_zone_logit", level + walk - pt.mean(walk))
    feeder = sd_feeder * pm.ZeroSumNormal("p3_feeder_raw", sigma=1.0, shape=n_f)
    logit_p = zone_logit[None, :] + feeder[:, None]
    pm.Binomial("n_three", n=data.n_modelled, logit_p=logit_p, observed=data.n_three)


def _new_feeder_p3(
    zone_logit: np.ndarray, sd_feeder: np.ndarray, n_feeders: int, rng: np.random.Generator
) -> np.ndarray:
    """p3 by zone of a new feeder, one row per posterior draw (see :func:`_p3_terms`).

    ``zone_logit`` holds ``level'`` = level + mean(b) of the training feeders. Given ``level'``,
    the mean feeder effect ``m`` is normal (the split of a sum of two independent normals): with
    ``A^2`` the prior variance of the level and ``B^2 = sd_feeder^2 / F``, ``m ~ Normal(B^2 /
    (A^2 + B^2) (level' - prior mean), A B / sqrt(A^2 + B^2))``. A new feeder's logit is then
    ``zone_logit - m + b_new`` with ``b_new ~ Normal(0, sd_feeder)``.
    """
    mean, sd = PRIORS["p3_level"]
    a2 = sd**2
    b2 = sd_feeder**2 / n_feeders
    level = zone_logit.mean(axis=1)
    m = b2 / (a2 + b2) * (level - mean) + np.sqrt(a2 * b2 / (a2 + b2)) * rng.standard_normal(
        level.shape
    )
    b_new = sd_feeder * rng.standard_normal(level.shape)
    return 1.0 / (1.0 + np.exp(-(zone_logit + (b_new - m)[:, None])))


def _dirichlet_multinomial(pm: Any, name: str, counts: np.ndarray, alpha: Any) -> None:
    rows = counts[counts.sum(axis=1) > 0]
    if rows.size == 0:
        return
    a = pm.math.stack([alpha] * rows.shape[0])
    pm.DirichletMultinomial(name, n=rows.sum(axis=1), a=a, observed=rows)


def _p3class_terms(pm: Any, data: PowerData) -> None:
    """Pooled log-normal P [kW] of the three-phase loads (few per feeder: no feeder level)."""
    pr = PRIORS
    lm = pm.Normal("p3class_log_mu", *pr["p3class_log_mu"])
    lls = pm.Normal("p3class_log_sigma", *pr["p3class_log_sigma"])
    n3, m3, v3 = _pooled_moments(data.p3_n, data.p3_logmean, data.p3_logvar)
    pm.Potential("p3class_loglik", _lognormal_loglik(pm, n3, m3, v3, lm, pm.math.exp(lls)))


#: Weight [loads] of the pooled model's prior of p3 per zone, centred on the overall share.
P3_PRIOR_LOADS = 10.0


def pooled_p3_prior(data: PowerData) -> tuple[float, float]:
    """Beta prior ``(a, b)`` of p3 per zone in the pooled model (empirical Bayes).

    With the weight of :data:`P3_PRIOR_LOADS` loads per zone: zones borrow from the whole
    feeder, so a zone of five loads on a feeder without three-phase loads is not given a share
    near 1/7 by a flat prior.

    The centre ``p`` is the share for which the posterior means keep the feeder's count: with
    ``n_z`` loads and ``k_z`` three-phase loads in zone ``z`` and the weight ``w``,
    ``sum_z n_z (w p + k_z) / (w + n_z) = n_three``, that is
    ``p = sum_z (k_z / (w + n_z)) / sum_z (n_z / (w + n_z))`` (the plain share when every zone
    has as many loads), kept within ``[1 / (2 (n + 1)), 1 - 1 / (2 (n + 1))]`` so that a feeder
    without three-phase loads still gives a Beta prior. Shrinkage then moves three-phase loads
    between zones without adding any. Centred on the overall share, it added three-phase loads
    wherever they are not spread evenly: on IEEE 34, eight of its ten sit in the last zone, and
    the posterior means summed to 11.3 three-phase loads.
    """
    n_z = data.n_modelled.sum(axis=0).astype(float)
    k_z = data.n_three.sum(axis=0).astype(float)
    n = float(n_z.sum())
    weight = n_z / (P3_PRIOR_LOADS + n_z)
    found = float((k_z / (P3_PRIOR_LOADS + n_z)).sum()) / max(float(weight.sum()), 1e-12)
    floor = 0.5 / (n + 1.0)
    overall = float(np.clip(found, floor, 1.0 - floor))
    return P3_PRIOR_LOADS * overall, P3_PRIOR_LOADS * (1.0 - overall)


def _flat_terms(pm: Any, data: PowerData, has_p3class: bool) -> None:
    """The pooled, conjugate-prior variant (inside the model context)."""
    pr = PRIORS
    k = data.pf_values.size
    p3 = pm.Beta("p3", *pooled_p3_prior(data), shape=data.n_zones)
    pm.Binomial("n_three", n=data.n_modelled.sum(axis=0), p=p3, observed=data.n_three.sum(axis=0))
    phase_probs = pm.Dirichlet("phase_probs", a=np.ones(3))
    phase_counts = data.phase_counts.sum(axis=0)
    if phase_counts.sum():
        pm.Multinomial("phase_counts", n=phase_counts.sum(), p=phase_probs, observed=phase_counts)
    pf_probs = pm.Dirichlet("pf_probs", a=np.ones(k))
    pf_counts = data.pf_counts.sum(axis=0)
    if pf_counts.sum():
        pm.Multinomial("pf_counts", n=pf_counts.sum(), p=pf_probs, observed=pf_counts)
    n, mean, var = _pooled_moments(data.p1_n, data.p1_mean, data.p1_var)
    if n:
        from .conjugate import data_scaled_prior  # the same prior as the closed-form fit

        m0, s0, l0, t0 = data_scaled_prior(mean, var)
    else:
        (m0, s0), (l0, t0) = pr["p_mu_kw"], pr["p_log_sigma"]
    mu = pm.Normal("p_mu", m0, s0)
    log_sigma = pm.Normal("p_log_sigma", l0, t0)
    if n:
        pm.Potential("p_loglik", _tn_loglik(pm, n, mean, var, mu, pm.math.exp(log_sigma)))
    if has_p3class:
        _p3class_terms(pm, data)


# ----------------------------------------------------------------------------- predictive
def _stacked(idata: Any, name: str, index: np.ndarray) -> np.ndarray:
    values = np.asarray(idata.posterior[name])  # (chain, draw, ...)
    return values.reshape(-1, *values.shape[2:])[index]


def dirichlet_draws(alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One Dirichlet draw per row of ``alpha`` (rows, k), exact also for tiny concentrations.

    Gamma variates are drawn on the log scale (``log G(a) = log G(a + 1) + log(U) / a``), so a
    concentration far below 1 does not underflow to a row of zeros.
    """
    alpha = np.asarray(alpha, dtype=float)
    log_g = np.log(rng.standard_gamma(alpha + 1.0)) + np.log1p(-rng.random(alpha.shape)) / alpha
    log_g -= log_g.max(axis=-1, keepdims=True)
    g = np.exp(log_g)
    return g / g.sum(axis=-1, keepdims=True)


def _new_feeder_draws(
    idata: Any, data: PowerData, hierarchical: bool, index: np.ndarray, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    s = index.size
    get = lambda name: _stacked(idata, name, index)  # noqa: E731
    has_p3class = float(data.p3_n.sum()) > 0
    if hierarchical:
        p3 = _new_feeder_p3(get("p3_zone_logit"), get("p3_sd_feeder"), data.n_feeders, rng)
        phase_probs = dirichlet_draws(get("phase_kappa")[:, None] * get("phase_mean"), rng)
        pf_probs = dirichlet_draws(get("pf_kappa")[:, None] * get("pf_mean"), rng)
        p_mu = get("p_mu_pop") + get("p_sd_mu") * rng.standard_normal(s)
        p_sigma = np.exp(get("p_log_sigma_pop") + get("p_sd_log_sigma") * rng.standard_normal(s))
    else:
        p3, phase_probs, pf_probs = get("p3"), get("phase_probs"), get("pf_probs")
        p_mu, p_sigma = get("p_mu"), np.exp(get("p_log_sigma"))
    if has_p3class:
        lm, ls = get("p3class_log_mu"), np.exp(get("p3class_log_sigma"))
    arrays = {
        "p3": p3,
        "phase_probs": phase_probs,
        "share_alpha": get("share_alpha"),
        "p_mu_kw": p_mu,
        "p_sigma_kw": p_sigma,
        "pf_probs": pf_probs,
    }
    extra: dict[str, Any] = {}
    if has_p3class:
        mean_kw = np.exp(lm + ls**2 / 2)
        extra["p_three_phase_class_nuts"] = {
            "distribution": "lognormal fitted to log P (pooled); the sampler uses the "
            "mean-matched class of p_three_phase_class",
            "log_mu": _quantiles(lm),
            "log_sigma": _quantiles(ls),
            "mean_kw": _quantiles(mean_kw),
            "median_kw": _quantiles(np.exp(lm)),
        }
    return arrays, extra


def _quantiles(x: np.ndarray) -> dict[str, float]:
    q = np.quantile(x, [0.05, 0.5, 0.95])
    return {
        "mean": float(np.round(np.mean(x), 4)),
        "q05": float(np.round(q[0], 4)),
        "q50": float(np.round(q[1], 4)),
        "q95": float(np.round(q[2], 4)),
    }


def _round_sig(x: np.ndarray, digits: int) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        mag = np.where(x != 0, np.floor(np.log10(np.abs(x))), 0)
    scale = 10.0 ** (digits - 1 - mag)
    return np.round(x * scale) / scale


def _round_simplex(p: np.ndarray, decimals: int = 7) -> np.ndarray:
    p = np.clip(np.round(p, decimals), 0.0, 1.0)
    rows = np.arange(p.shape[0])
    top = p.argmax(axis=1)
    p[rows, top] += 1.0 - p.sum(axis=1)
    return p


def round_parameters(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Round parameter draws for storage (about 6 significant digits, simplexes kept exact)."""
    out = {
        "p3": np.clip(np.round(arrays["p3"], 7), 0.0, 1.0),
        "phase_probs": _round_simplex(arrays["phase_probs"]),
        "share_alpha": _round_sig(arrays["share_alpha"], 6),
        "p_mu_kw": _round_sig(arrays["p_mu_kw"], 6),
        "p_sigma_kw": _round_sig(arrays["p_sigma_kw"], 6),
        "pf_probs": _round_simplex(arrays["pf_probs"]),
    }
    for name in ("p3class_log_mu_kw", "p3class_log_sigma", "lateral_max_loads"):
        if name in arrays:
            out[name] = _round_sig(arrays[name], 6)
    if "p2" in arrays:
        out["p2"] = np.clip(np.round(arrays["p2"], 7), 0.0, 1.0)
        out["pair_probs"] = _round_simplex(arrays["pair_probs"])
    if "balance_eps" in arrays:
        out["balance_eps"] = np.clip(np.round(arrays["balance_eps"], 4), 0.0, 1.0)
    for name in ("balance_shares", "balance_phase_probs"):
        if name in arrays:
            out[name] = _round_simplex(arrays[name])
    return out


def thin_index(n_total: int, max_draws: int) -> np.ndarray:
    """Evenly spaced indices keeping at most ``max_draws`` of ``n_total`` draws."""
    if n_total <= max_draws:
        return np.arange(n_total)
    return np.unique(np.linspace(0, n_total - 1, max_draws).round().astype(np.int64))


# ----------------------------------------------------------------------------- fitting
def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def fit_power_posterior(
    table: TrainingTable,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    cores: int | None = None,
    seed: int = 0,
    hierarchical: bool | str = "auto",
    pf_values: tuple[float, ...] | str = DEFAULT_PF_VALUES,
    max_stored_draws: int = 1000,
    target_accept: float = 0.9,
    sampler: str | None = None,
    mode: str | None = None,
    progressbar: bool = False,
    warn: bool = True,
    provenance: dict[str, Any] | None = None,
) -> PowerFit:
    """Fit the power model with NUTS and return the parameters with the trace and diagnostics.

    Parameters
    ----------
    table : TrainingTable
        Loads of one or more real feeders (``system`` names the feeder).
    draws, tune : int
        NUTS draws and tuning steps per chain.
    chains : int, default 2
        Number of chains (at least 2 are needed for a meaningful r-hat).
    cores : int, optional
        Chains run in parallel on this many processes (1: sequentially); default: one per chain
        up to the number of CPUs. The draws do not depend on it.
    seed : int, default 0
        Seeds NUTS and the new-feeder draws; the same seed gives the same file.
    hierarchical : bool or "auto"
        Partial pooling across feeders; ``"auto"``: when the table has several feeders.
    pf_values : tuple of float or "auto"
        Support of the power-factor distribution (see :func:`~.power_data.power_data`).
    max_stored_draws : int, default 1000
        Posterior draws kept (evenly thinned) in the returned parameters.
    target_accept : float, default 0.9
        NUTS target acceptance rate.
    sampler : {"numpyro", "pymc", "nutpie"}, optional
        NUTS implementation (see :mod:`.sampling`); default ``"numpyro"`` with JAX's persistent
        compilation cache, or PyMC's own when JAX/NumPyro are not installed.
    mode : str, optional
        PyTensor compilation mode for ``sampler="pymc"``, e.g. ``"NUMBA"``; default PyTensor's.
    progressbar : bool, default False
        Show PyMC's progress bar.
    warn : bool, default True
        Issue a :class:`~.diagnostics.ConvergenceWarning` on a doubtful fit.
    provenance : dict, optional
        Merged into the recorded provenance (data sources, hashes, id).

    Returns
    -------
    PowerFit
    """
    draws = _check_int("draws", draws, 10)
    tune = _check_int("tune", tune, 0)
    chains = _check_int("chains", chains, 1)
    cores = min(chains, os.cpu_count() or 1) if cores is None else _check_int("cores", cores, 1)
    seed = _check_int("seed", seed, 0)
    max_stored_draws = _check_int("max_stored_draws", max_stored_draws, 1)
    sampler = resolve_sampler(sampler)
    data = power_data(table, pf_values=pf_values)
    if hierarchical == "auto":
        hierarchical = data.n_feeders > 1
    elif not isinstance(hierarchical, bool):
        raise ParameterError(f"hierarchical must be True, False or 'auto', got {hierarchical!r}")
    if hierarchical and data.n_feeders < 2:
        raise ParameterError(
            "the hierarchical model needs loads of at least two feeders (distinct 'system' "
            "values); pass hierarchical=False or 'auto' for one feeder."
        )
    pm = _import_pymc()
    logger.info(
        "fitting the %s power model to %d loads of %d feeder(s): %d chains x (%d tune + %d draws)",
        "hierarchical" if hierarchical else "pooled",
        data.counts["n_loads"],
        data.n_feeders,
        chains,
        tune,
        draws,
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        # Harmless here (the model is element-wise): PyTensor found no BLAS library.
        warnings.filterwarnings(
            "ignore", message="PyTensor could not link to a BLAS", category=UserWarning
        )
        model = build_power_model(data, hierarchical=hierarchical)
    idata, sampler = run_nuts(
        model,
        sampler=sampler,
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        seed=seed,
        target_accept=target_accept,
        progressbar=progressbar,
        mode=mode,
    )
    t1 = time.perf_counter()
    diagnostics = diagnose(idata, warn=warn)

    n_total = idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"]
    index = thin_index(n_total, max_stored_draws)
    rng = np.random.default_rng([seed, 20250108])
    arrays, extra = _new_feeder_draws(idata, data, hierarchical, index, rng)
    more, records = extension_draws(table, data, index.size, rng, seed=seed)
    arrays.update(more)
    extra.update(records)
    record = {
        "id": f"power-fit-{MODEL_NAME}-seed{seed}",
        "method": (
            f"NUTS ({sampler} through PyMC) on the "
            + (
                "hierarchical model, new-feeder posterior predictive"
                if hierarchical
                else "pooled model"
            )
        ),
        "model": MODEL_NAME,
        "model_version": MODEL_VERSION,
        "data_source": ", ".join(data.systems),
        "feeders": list(data.systems),
        "training_table_sha256": table_sha256(table),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "bayesgrid_version": _package_version(),
        "pymc_version": pm.__version__,
        "versions": sampler_versions(sampler),
        "hierarchical": hierarchical,
        **data.counts,
        "p_fitted_to": "single-phase loads (truncated normal); three-phase loads: own class",
        "sampler": {
            "nuts_sampler": sampler,
            "draws": draws,
            "tune": tune,
            "chains": chains,
            "target_accept": target_accept,
            "seed": seed,
            "stored_draws": int(index.size),
            "mode": mode,
            "chain_method": idata.sample_stats.attrs.get("chain_method"),
        },
        "diagnostics": diagnostics.as_dict(),
        "priors": {k: list(v) if isinstance(v, tuple) else v for k, v in PRIORS.items()},
        "fit_seconds": round(t1 - t0, 2),
        **extra,
    }
    record.update(provenance or {})
    params = PowerParameters(
        **round_parameters(arrays), pf_values=data.pf_values, provenance=record
    )
    return PowerFit(
        parameters=params,
        idata=idata,
        diagnostics=diagnostics,
        data=data,
        hierarchical=hierarchical,
        timings_s={"build_and_sample": t1 - t0},
    )


def fit_power_model(
    table: TrainingTable,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = 0,
    hierarchical: bool | str = "auto",
    progressbar: bool = False,
    **options: Any,
) -> PowerParameters:
    """Fit the power model with NUTS; return new-feeder posterior-predictive parameters.

    A shortcut for ``fit_power_posterior(...).parameters``; ``options`` are passed on (see
    :func:`fit_power_posterior`).

    Examples
    --------
    >>> params = fit_power_model(table, draws=1000, tune=1000, seed=1)  # doctest: +SKIP
    >>> params.save("my_power.json")  # doctest: +SKIP
    """
    return fit_power_posterior(
        table,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        hierarchical=hierarchical,
        progressbar=progressbar,
        **options,
    ).parameters


def _package_version() -> str:
    from .. import __version__

    return __version__
