"""Frequency (CAIFI) and duration (CAIDI) parameters from interruption data, by conjugacy.

Input: a table with one row per customer or per bus and year: ``zone``, ``interruptions``
(sustained interruptions in the year), ``duration_h`` (their total hours; duration model only)
and optionally ``customers`` (how many customers the row stands for; default 1).

Frequency (a Gamma-Poisson count model): the zone means get the conjugate posterior
``mu[z] ~ Gamma(a0 + sum of counts, b0 + customers)``; the Gamma shape of the customers' rates is
matched to the pooled over-dispersion, ``shape = mean^2 / (variance - mean)`` (a Poisson limit of
``max_shape`` when there is none).

Duration (a hurdle model): ``p_zero[z] ~ Beta(1 + customers without interruption, 1 + customers
with)``; for the interrupted, ``log(duration_h / interruptions)`` has per-zone means with the
normal posterior of a mean (``N(mean, s / sqrt(n))``, empty zones take the pooled mean) and a
pooled standard deviation drawn from its scaled inverse chi-square posterior.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..models.reliability import DurationParameters, FrequencyParameters

__all__ = ["count_duration_parameters", "count_frequency_parameters"]


def _columns(table: Any, needed: tuple[str, ...], n_zones: int) -> dict[str, np.ndarray]:
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ParameterError(
            f"the interruption table lacks columns {missing}; it needs {list(needed)} "
            "(and optionally 'customers')"
        )
    if len(table) == 0:
        raise ParameterError("the interruption table is empty")
    out = {c: table[c].to_numpy(dtype=float) for c in needed}
    out["customers"] = (
        table["customers"].to_numpy(dtype=float)
        if "customers" in table.columns
        else np.ones(len(table))
    )
    zone = out["zone"].astype(np.int64)
    if zone.min() < 0 or zone.max() >= n_zones:
        raise ParameterError(f"zone runs {zone.min()}..{zone.max()}, outside 0..{n_zones - 1}")
    out["zone"] = zone
    for name, arr in out.items():
        if not np.isfinite(arr).all() or (arr < 0).any():
            raise ParameterError(f"column {name!r} must be finite and non-negative")
    return out


def count_frequency_parameters(
    table: Any,
    *,
    n_zones: int,
    draws: int = 200,
    prior_shape: float = 1.0,
    prior_rate: float = 1.0,
    max_shape: float = 1000.0,
    rng: Any = 0,
    provenance: dict[str, Any] | None = None,
) -> FrequencyParameters:
    """Posterior draws of the frequency model (see the module docstring).

    Parameters
    ----------
    table : pandas.DataFrame
        ``zone``, ``interruptions`` [count / year], optional ``customers``.
    n_zones : int
    draws : int, default 200
    prior_shape, prior_rate : float
        Gamma prior of each zone's mean (default mean 1 interruption / year, weight 1 customer).
    max_shape : float
        Gamma shape used when the counts show no over-dispersion.
    rng : seed, default 0
    provenance : dict, optional
    """
    cols = _columns(table, ("zone", "interruptions"), n_zones)
    w, z, y = cols["customers"], cols["zone"], cols["interruptions"]
    total = np.bincount(z, weights=w * y, minlength=n_zones)
    exposure = np.bincount(z, weights=w, minlength=n_zones)
    gen = np.random.default_rng(rng)
    mu = gen.gamma(prior_shape + total, 1.0 / (prior_rate + exposure), size=(draws, n_zones))
    # Pooled over-dispersion around the zone means.
    mean_z = total / np.maximum(exposure, 1e-12)
    resid = (y - mean_z[z]) ** 2
    var_excess = (np.sum(w * (resid - mean_z[z])) / w.sum()) if w.sum() > 0 else 0.0
    mean_sq = np.sum(w * mean_z[z] ** 2) / w.sum()
    shape = mean_sq / var_excess if var_excess > 0 else max_shape
    shape = float(min(max(shape, 1e-3), max_shape))
    record = {
        "method": "Gamma-Poisson: conjugate Gamma posterior of zone means; moment-matched shape",
        "data_source": "interruption table",
        "created": _dt.date.today().isoformat(),
        "bayesgrid_version": _version(),
        "customers_per_zone": exposure.tolist(),
        "mean_per_zone": mean_z.tolist(),
        "shape": shape,
    }
    record.update(provenance or {})
    record.setdefault("id", "frequency-counting")
    return FrequencyParameters(mu=mu, shape=np.full(draws, shape), provenance=record)


def count_duration_parameters(
    table: Any,
    *,
    n_zones: int,
    draws: int = 200,
    rng: Any = 0,
    provenance: dict[str, Any] | None = None,
) -> DurationParameters:
    """Posterior draws of the hurdle duration model (see the module docstring).

    Parameters
    ----------
    table : pandas.DataFrame
        ``zone``, ``interruptions``, ``duration_h`` [h / year], optional ``customers``.
    n_zones : int
    draws : int, default 200
    rng : seed, default 0
    provenance : dict, optional
    """
    cols = _columns(table, ("zone", "interruptions", "duration_h"), n_zones)
    w, z, y, h = cols["customers"], cols["zone"], cols["interruptions"], cols["duration_h"]
    hit = (y > 0) & (h > 0)
    if hit.sum() < 2:
        raise ParameterError("fewer than two interrupted rows: the duration cannot be learned")
    gen = np.random.default_rng(rng)
    zeros = np.bincount(z, weights=w * ~hit, minlength=n_zones)
    ones = np.bincount(z, weights=w * hit, minlength=n_zones)
    p_zero = gen.beta(1 + zeros, 1 + ones, size=(draws, n_zones))
    p_zero = np.minimum(p_zero, 1 - 1e-9)

    logc = np.log(h[hit] / y[hit])
    wz, zz = w[hit], z[hit]
    n_z = np.bincount(zz, weights=wz, minlength=n_zones)
    pooled = np.sum(wz * logc) / wz.sum()
    mean_z = np.where(
        n_z > 0,
        np.bincount(zz, weights=wz * logc, minlength=n_zones) / np.maximum(n_z, 1e-12),
        pooled,
    )
    resid = logc - mean_z[zz]
    dof = max(wz.sum() - np.count_nonzero(n_z), 1.0)
    s2 = max(np.sum(wz * resid**2) / dof, 1e-6)
    sigma = np.sqrt(dof * s2 / gen.chisquare(dof, size=draws))
    se = sigma[:, np.newaxis] / np.sqrt(np.where(n_z > 0, n_z, wz.sum()))
    mu_log = mean_z + se * gen.standard_normal((draws, n_zones))
    record = {
        "method": (
            "hurdle: Beta posterior of P(no interruption) by zone; log-normal CAIDI of the "
            "interrupted with normal posterior zone means and a pooled scaled-inv-chi2 sd"
        ),
        "data_source": "interruption table",
        "created": _dt.date.today().isoformat(),
        "bayesgrid_version": _version(),
        "interrupted_customers_per_zone": n_z.tolist(),
        "caidi_h_median_per_zone": np.exp(mean_z).tolist(),
    }
    record.update(provenance or {})
    record.setdefault("id", "duration-counting")
    return DurationParameters(p_zero=p_zero, mu_log=mu_log, sigma_log=sigma, provenance=record)


def _version() -> str:
    from .. import __version__

    return __version__
