"""NUTS fits of the frequency (CAIFI) and duration (CAIDI) models with PyMC.

NUTS runs through :func:`.sampling.run_nuts` (NumPyro with JAX's compilation cache by default,
``sampler="pymc"`` or ``"nutpie"`` on request) and every fit is checked by
:func:`.diagnostics.diagnose`. PyMC is imported inside the fitting functions only. Both return
parameter sets whose leading axis holds the posterior draws (chains x draws), ready for the
samplers.

- Frequency: ``N_i ~ NegativeBinomial(mu[zone_i] * customers_i, shape * customers_i)`` (a sum of
  ``customers_i`` independent customers' Gamma-Poisson counts when the row aggregates several),
  ``log mu[z] ~ Normal(0, 2)``, ``shape ~ Gamma(2, 0.5)``.
- Duration (hurdle): ``interrupted_i ~ Bernoulli(1 - p_zero[zone_i])``,
  ``p_zero[z] ~ Beta(1, 1)``; for the interrupted, ``log CAIDI_i ~ Normal(mu_log[zone_i],
  sigma_log)``, ``mu_log[z] ~ Normal(0, 2)``, ``sigma_log ~ HalfNormal(1)``.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np

from ..models.reliability import DurationParameters, FrequencyParameters
from .diagnostics import diagnose
from .reliability_counting import _columns, _version
from .sampling import run_nuts, sampler_versions

__all__ = ["fit_duration_nuts", "fit_frequency_nuts"]


def _sample(
    model: Any,
    draws: int,
    tune: int,
    chains: int,
    random_seed: int,
    sampler: str | None,
    warn: bool,
) -> tuple[Any, dict[str, Any]]:
    idata, used = run_nuts(
        model, sampler=sampler, draws=draws, tune=tune, chains=chains, seed=random_seed
    )
    diagnostics = diagnose(idata, warn=warn)
    record = {
        "method": f"NUTS ({used} through PyMC), {chains} chains x {draws} draws, {tune} tuning",
        "sampler": {"nuts_sampler": used, "seed": random_seed},
        "versions": sampler_versions(used),
        "diagnostics": diagnostics.as_dict(),
    }
    return idata, record


def _stack(idata: Any, name: str) -> np.ndarray:
    values = idata.posterior[name].values  # (chain, draw, ...)
    return values.reshape(-1, *values.shape[2:])


def fit_frequency_nuts(
    table: Any,
    *,
    n_zones: int,
    draws: int = 500,
    tune: int = 500,
    chains: int = 2,
    random_seed: int = 0,
    sampler: str | None = None,
    warn: bool = True,
    provenance: dict[str, Any] | None = None,
) -> FrequencyParameters:
    """Fit the negative-binomial frequency model by NUTS (see the module docstring).

    ``sampler`` is one of ``"numpyro"`` (default), ``"pymc"``, ``"nutpie"``; ``warn=False``
    turns the :class:`~.diagnostics.ConvergenceWarning` of a doubtful fit into a log record.
    """
    import pymc as pm

    cols = _columns(table, ("zone", "interruptions"), n_zones)
    w = np.maximum(cols["customers"], 1e-9)
    with pm.Model() as model:
        log_mu = pm.Normal("log_mu", 0.0, 2.0, shape=n_zones)
        shape = pm.Gamma("shape", alpha=2.0, beta=0.5)
        mu = pm.math.exp(log_mu)
        pm.NegativeBinomial(
            "n", mu=mu[cols["zone"]] * w, alpha=shape * w, observed=cols["interruptions"]
        )
        pm.Deterministic("mu", mu)
    idata, fitted = _sample(model, draws, tune, chains, random_seed, sampler, warn)
    record = {
        "id": "frequency-nuts",
        **fitted,
        "data_source": "interruption table",
        "created": _dt.date.today().isoformat(),
        "bayesgrid_version": _version(),
        "rows": len(table),
    }
    record.update(provenance or {})
    return FrequencyParameters(
        mu=_stack(idata, "mu"), shape=_stack(idata, "shape"), provenance=record
    )


def fit_duration_nuts(
    table: Any,
    *,
    n_zones: int,
    draws: int = 500,
    tune: int = 500,
    chains: int = 2,
    random_seed: int = 0,
    sampler: str | None = None,
    warn: bool = True,
    provenance: dict[str, Any] | None = None,
) -> DurationParameters:
    """Fit the hurdle duration model by NUTS (see the module docstring).

    Rows aggregating several customers are treated as one observation each. ``sampler`` and
    ``warn`` as for :func:`fit_frequency_nuts`.
    """
    import pymc as pm

    cols = _columns(table, ("zone", "interruptions", "duration_h"), n_zones)
    y, h, z = cols["interruptions"], cols["duration_h"], cols["zone"]
    hit = (y > 0) & (h > 0)
    with pm.Model() as model:
        p_zero = pm.Beta("p_zero", 1.0, 1.0, shape=n_zones)
        pm.Bernoulli("interrupted", p=1 - p_zero[z], observed=hit.astype(np.int64))
        mu_log = pm.Normal("mu_log", 0.0, 2.0, shape=n_zones)
        sigma = pm.HalfNormal("sigma_log", 1.0)
        pm.Normal("log_caidi", mu_log[z[hit]], sigma, observed=np.log(h[hit] / y[hit]))
    idata, fitted = _sample(model, draws, tune, chains, random_seed, sampler, warn)
    record = {
        "id": "duration-nuts",
        **fitted,
        "data_source": "interruption table",
        "created": _dt.date.today().isoformat(),
        "bayesgrid_version": _version(),
        "rows": len(table),
    }
    record.update(provenance or {})
    return DurationParameters(
        p_zero=np.minimum(_stack(idata, "p_zero"), 1 - 1e-9),
        mu_log=_stack(idata, "mu_log"),
        sigma_log=_stack(idata, "sigma_log"),
        provenance=record,
    )
