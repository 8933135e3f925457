"""Power-model parameters by counting (the paper's Algorithm 1 and empirical moments).

This is the quick, transparent estimator used for the shipped defaults until a NUTS fit
replaces them; it gives one point estimate (a single "draw").

- ``p3[z]``: share of three-phase loads among the loads of zone ``z`` (zones with no load take
  the overall share). Two-phase loads count among the loads; where the data has them, ``p2`` is
  their share among the loads that are not three-phase and ``pair_probs`` the shares of AB, BC
  and CA among them.
- ``phase_probs``: share of single-phase loads on A, B and C.
- ``share_alpha``: Dirichlet concentration of the three-phase loads' per-phase shares by the
  method of moments (mean shares times a common precision). Where readers split a load equally
  over its phases the shares have no spread; the precision is then capped at
  ``max_precision``, which keeps the shares within about 1 % of the mean.
- ``p_mu_kw``, ``p_sigma_kw``: the normal truncated at zero whose mean and standard deviation
  equal those of the single-phase loads' total active power (moment matching). Three-phase loads
  are left out of this fit by default: in the SMART-DS feeders they are commercial loads
  (mean 96 kW, coefficient of variation above 2) that no zero-truncated normal can represent
  (its coefficient of variation is below 1), and pooling them would distort the residential
  majority. ``p_from="all"`` pools every load instead.
- ``pf_probs``: each load's power factor ``P / |S|`` snapped to the nearest value of
  ``pf_values`` (the paper's 0.85, 0.90, 0.95), counted.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
from scipy import optimize, stats

from .. import __version__
from ..errors import ParameterError
from ..models.power import PowerParameters
from ..phases import PHASE_ABC, n_phases
from ..training import loads_per_bus
from .balance import learn_balance
from .power_data import power_data
from .table import TrainingTable
from .three_phase import three_phase_class_point

__all__ = ["PAPER_PF_VALUES", "count_power_parameters", "truncated_normal_from_moments"]

#: The power factors of the paper's network-level power-factor distribution.
PAPER_PF_VALUES = (0.85, 0.90, 0.95)


def truncated_normal_from_moments(mean: float, sd: float) -> tuple[float, float]:
    """(mu, sigma) of the normal truncated at 0 whose mean and sd are ``mean`` and ``sd``.

    Raises
    ------
    ParameterError
        If the moments are not those of any normal truncated at zero (for example a mean below
        zero, or a standard deviation too large for the mean).
    """
    if not (mean > 0 and sd > 0 and np.isfinite(mean) and np.isfinite(sd)):
        raise ParameterError(f"need a positive mean and sd of P, got mean={mean}, sd={sd}")
    if sd / mean >= 1.0:
        # The coefficient of variation of a zero-truncated normal is below 1 (it tends to 1 as
        # mu -> -inf, the exponential limit); a larger one cannot be matched.
        raise ParameterError(
            f"the loads' P has a coefficient of variation {sd / mean:.3f} >= 1, which no normal "
            "truncated at zero can reproduce; fit another distribution or clean the data."
        )

    def residual(theta: np.ndarray) -> np.ndarray:
        mu, log_sigma = theta
        sigma = np.exp(log_sigma)
        dist = stats.truncnorm(-mu / sigma, np.inf, loc=mu, scale=sigma)
        return np.array([dist.mean() / mean - 1.0, dist.std() / sd - 1.0])

    solution = optimize.least_squares(residual, x0=[mean, np.log(sd)], xtol=1e-12, ftol=1e-12)
    mu, sigma = float(solution.x[0]), float(np.exp(solution.x[1]))
    if np.abs(residual(solution.x)).max() > 1e-6:
        raise ParameterError(f"could not match mean={mean} and sd={sd} with a truncated normal")
    return mu, sigma


def count_power_parameters(
    table: TrainingTable,
    *,
    pf_values: tuple[float, ...] = PAPER_PF_VALUES,
    max_precision: float = 1000.0,
    p_from: str = "single-phase",
    provenance: dict[str, Any] | None = None,
) -> PowerParameters:
    """Estimate power-model parameters from a training table by counting.

    Parameters
    ----------
    table : TrainingTable
        Loads of one or more real feeders.
    pf_values : tuple of float
        Support of the power-factor distribution.
    max_precision : float, default 1000
        Cap on the Dirichlet precision (sum of alphas) of the three-phase shares.
    p_from : {"single-phase", "all"}
        Which loads the truncated normal of P is matched to.
    provenance : dict, optional
        Merged into the provenance recorded with the parameters.

    Returns
    -------
    PowerParameters
        A single-draw parameter set with provenance (counts, sources, method, date).
    """
    if len(table.loads) == 0:
        raise ParameterError("the training table has no loads; read a feeder that has some")
    loads = loads_per_bus(table)  # one load per bus, as the sampler places them
    phases = loads["phases"].to_numpy(dtype=np.int64)
    k = n_phases(phases)
    three = phases == PHASE_ABC
    single = k == 1
    two = k == 2
    modelled = three | single | two
    if not three.any() and not single.any():
        raise ParameterError("the training table has no one- or three-phase loads to count")
    zone = loads["zone"].to_numpy(dtype=np.int64)
    n_zones = table.n_zones

    n_modelled = np.bincount(zone[modelled], minlength=n_zones)
    n_three = np.bincount(zone[three], minlength=n_zones)
    overall = three.sum() / modelled.sum()
    p3 = np.where(n_modelled > 0, n_three / np.maximum(n_modelled, 1), overall)

    single_counts = np.array([(phases[single] == bit).sum() for bit in (1, 2, 4)], dtype=float)
    phase_probs = (
        single_counts / single_counts.sum() if single_counts.sum() > 0 else np.full(3, 1 / 3)
    )

    per_phase = loads[["p_a_kw", "p_b_kw", "p_c_kw"]].to_numpy(dtype=float)
    total = per_phase.sum(axis=1)
    if three.sum() >= 2:
        shares = per_phase[three] / np.maximum(total[three, np.newaxis], 1e-12)
        mean_share = shares.mean(axis=0)
        var = shares.var(axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            moments = float(
                np.nanmean(np.where(var > 0, mean_share * (1 - mean_share) / var - 1, np.inf))
            )
        precision = float(min(moments, max_precision)) if np.isfinite(moments) else max_precision
    else:
        mean_share, precision = np.full(3, 1 / 3), max_precision
    share_alpha = mean_share / mean_share.sum() * precision

    positive = total > 0
    if p_from not in ("single-phase", "all"):
        raise ValueError(f"p_from must be 'single-phase' or 'all', got {p_from!r}")
    fitted = positive & (single if p_from == "single-phase" else True)
    if fitted.sum() < 2:
        raise ParameterError(f"fewer than two {p_from} loads with P > 0 to fit P to")
    mu, sigma = truncated_normal_from_moments(
        float(total[fitted].mean()), float(total[fitted].std(ddof=1))
    )

    q_total = loads[["q_a_kvar", "q_b_kvar", "q_c_kvar"]].to_numpy(dtype=float).sum(axis=1)
    pf = total[positive] / np.hypot(total[positive], q_total[positive])
    support = np.asarray(pf_values, dtype=float)
    nearest = np.abs(pf[:, np.newaxis] - support).argmin(axis=1)
    pf_probs = np.bincount(nearest, minlength=support.size) / nearest.size

    systems = sorted(set(loads["system"].astype(str)))
    record = {
        "id": "power-counting",
        "bayesgrid_version": __version__,
        "method": "counting (Algorithm 1), empirical phase shares, moment-matched P",
        "data_source": ", ".join(systems),
        "created": _dt.date.today().isoformat(),
        "n_loads": len(loads),
        "n_three_phase": int(three.sum()),
        "n_single_phase": int(single.sum()),
        "n_two_phase": int(two.sum()),
        "n_zero_power_left_out": int((~positive).sum()),
        "loads_per_zone": n_modelled.tolist(),
        "p_fitted_to": p_from,
        "p_kw_mean_fitted": float(total[fitted].mean()),
        "p_kw_sd_fitted": float(total[fitted].std(ddof=1)),
        "p_kw_mean_all": float(total[positive].mean()),
        "p_kw_mean_three_phase": float(total[positive & three].mean())
        if (positive & three).any()
        else None,
        "pf_observed_range": [float(pf.min()), float(pf.max())],
    }
    optional: dict[str, Any] = {}
    point = three_phase_class_point(power_data(table))
    if point is not None:
        optional.update(p3class_log_mu_kw=point[0], p3class_log_sigma=point[1])
        record["p_three_phase_class"] = {
            "distribution": "lognormal: log P ~ Normal(log_mu, log_sigma), P in kW",
            "used_by_sampler": True,
            "method": "pooled moments of log P",
            "log_mu": round(point[0], 4),
            "log_sigma": round(point[1], 4),
        }
    balance = learn_balance(table)
    if balance is not None:
        optional.update(
            balance_eps=float(np.median(list(balance.eps.values()))),
            lateral_max_loads=balance.lateral_max_loads,
        )
        record["phase_balancing"] = balance.as_provenance()
    if two.any():
        pair_counts = np.array([(phases[two] == m).sum() for m in (3, 6, 5)], dtype=float)
        optional.update(
            p2=two.sum() / (two.sum() + single.sum()), pair_probs=pair_counts / two.sum()
        )
    record.update(provenance or {})
    return PowerParameters(
        p3=p3,
        phase_probs=phase_probs,
        share_alpha=share_alpha,
        p_mu_kw=np.asarray(mu),
        p_sigma_kw=np.asarray(sigma),
        pf_values=support,
        pf_probs=pf_probs,
        **optional,
        provenance=record,
    )
