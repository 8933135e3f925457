"""User scenarios: set any parameter of the power model, or pick a named scenario.

The paper's Section III-B generates systems from user-chosen parameters: a *balanced* scenario
(mean phase shares 1/3 each) and an *unbalanced* one (shares 0.1, 0.6, 0.3 on phases A, B, C).
Here a scenario is a :class:`~bayesgrid_plugins.models.power.PowerParameters` built from a base
parameter set (the shipped posterior by default) with some parameters replaced:

- ``p3``: probability that a load is three-phase, one number for every zone or one per zone;
- ``shares``: phases of single-phase loads ``(pA, pB, pC)``; unless ``share_mean`` or
  ``share_alpha`` is given they also become the mean per-phase shares of three-phase loads
  (what the paper's scenarios set);
- ``share_mean`` (+ ``concentration``) or ``share_alpha``: the Dirichlet of three-phase shares;
- ``p_mu_kw``, ``p_sigma_kw``: the truncated normal of a load's total active power [kW];
- ``pf``: one power factor, or a ``{pf: probability}`` mapping.

An override replaces the parameter in every posterior draw; parameters not given keep the base's
draws. Every check names the parameter at fault.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .errors import ParameterError
from .models.power import BayesianPowerModel, PowerParameters

__all__ = [
    "SCENARIOS",
    "parse_shares",
    "resolve_parameters",
    "scenario_names",
    "scenario_parameters",
]

#: Named scenarios of the paper's Section III-B: mean phase shares (A, B, C).
SCENARIOS: dict[str, tuple[float, float, float]] = {
    "balanced": (1 / 3, 1 / 3, 1 / 3),
    "unbalanced": (0.1, 0.6, 0.3),
}
_SUM_TOL = 1e-6


def scenario_names() -> list[str]:
    """Names of the built-in scenarios."""
    return sorted(SCENARIOS)


def _shares(name: str, value: Any) -> np.ndarray:
    arr = np.asarray(value, dtype=float).ravel() if value is not None else np.zeros(0)
    if arr.size != 3:
        raise ParameterError(
            f"{name} must have three entries (phases A, B, C), got {np.shape(value)}: {value!r}."
        )
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ParameterError(f"{name} must be finite and non-negative, got {arr.tolist()}.")
    if abs(arr.sum() - 1.0) > _SUM_TOL:
        raise ParameterError(
            f"{name} must sum to 1, got {arr.tolist()} (sum {arr.sum():.6g}); normalise them."
        )
    return arr / arr.sum()


def parse_shares(text: str) -> tuple[float, float, float]:
    """Parse ``"0.1,0.6,0.3"`` into three shares (checked, as for ``shares=``)."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ParameterError(
            f"shares must be three numbers separated by commas, like 0.1,0.6,0.3; got {text!r}."
        ) from None
    a, b, c = _shares("shares", values)
    return float(a), float(b), float(c)


def _not_text_or_bool(name: str, value: Any) -> None:
    """Refuse booleans and strings, which ``float()`` would silently turn into numbers."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise ParameterError(
            f"{name} must be a number, got {value!r} ({type(value).__name__}); pass a float."
        )


def _positive(name: str, value: Any) -> float:
    _not_text_or_bool(name, value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, got {value!r}.") from None
    if not (np.isfinite(number) and number > 0):
        raise ParameterError(f"{name} must be positive and finite, got {value!r}.")
    return number


def _p3(value: Any, n_zones: int) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n_zones, float(arr))
    elif arr.shape != (n_zones,):
        raise ParameterError(
            f"p3 must be one probability or one per zone ({n_zones} zones in the base "
            f"parameters), got shape {arr.shape}."
        )
    if not np.isfinite(arr).all() or (arr < 0).any() or (arr > 1).any():
        raise ParameterError(f"p3 must lie in [0, 1], got {arr.tolist()}.")
    return arr


def _pf(value: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(value, Mapping):
        values = np.asarray(list(value.keys()), dtype=float)
        probs = np.asarray(list(value.values()), dtype=float)
    else:
        values = np.asarray([value], dtype=float).ravel()
        probs = np.ones(values.size) / max(values.size, 1)
    if values.size == 0 or not np.isfinite(values).all() or ((values <= 0) | (values > 1)).any():
        raise ParameterError(f"pf must be power factors in (0, 1], got {value!r}.")
    if not np.isfinite(probs).all() or (probs < 0).any() or abs(probs.sum() - 1) > _SUM_TOL:
        raise ParameterError(
            f"pf probabilities must be non-negative and sum to 1, got {probs.tolist()}."
        )
    return values, probs / probs.sum()


def scenario_parameters(
    base: PowerParameters | str | os.PathLike[str] | None = None,
    *,
    scenario: str | None = None,
    p3: float | Sequence[float] | np.ndarray | None = None,
    shares: Sequence[float] | None = None,
    share_alpha: Sequence[float] | None = None,
    share_mean: Sequence[float] | None = None,
    concentration: float | None = None,
    p_mu_kw: float | None = None,
    p_sigma_kw: float | None = None,
    pf: float | Mapping[float, float] | None = None,
) -> PowerParameters:
    """Power-model parameters with user-chosen values.

    Parameters
    ----------
    base : PowerParameters or path, optional
        Parameters the scenario starts from; default the shipped posterior.
    scenario : {"balanced", "unbalanced"}, optional
        A named scenario of the paper (sets ``shares``; an explicit ``shares`` wins).
    p3 : float or array-like of shape (n_zones,), optional
        Probability that a load is three-phase, for every zone or per zone.
    shares : (pA, pB, pC), optional
        Phase probabilities of single-phase loads; sum to 1. Also the mean shares of
        three-phase loads unless ``share_alpha`` or ``share_mean`` is given.
    share_alpha : (aA, aB, aC), optional
        Dirichlet concentration of three-phase shares; positive.
    share_mean : (mA, mB, mC), optional
        Mean shares of three-phase loads (sum to 1, each positive); the concentration
        ``sum(alpha)`` is ``concentration`` or the base's.
    concentration : float, optional
        Total Dirichlet concentration ``sum(alpha)``; positive. Alone it rescales the base's
        (or the scenario's) mean shares.
    p_mu_kw, p_sigma_kw : float, optional
        Location and scale [kW] of a load's total active power (truncated normal).
    pf : float or mapping, optional
        One power factor in (0, 1], or ``{power_factor: probability}``.

    Returns
    -------
    PowerParameters
        With ``provenance["scenario"]`` naming the scenario (``"custom"`` when only overrides
        are given) and ``provenance["overrides"]`` listing the values set.

    Raises
    ------
    ParameterError
        Naming the parameter whose value is invalid, or an unknown scenario.

    Examples
    --------
    >>> from bayesgrid_plugins import BayesianPowerModel, scenario_parameters
    >>> params = scenario_parameters(scenario="unbalanced", p3=0.2, p_mu_kw=3.0)  # mean [kW]
    >>> params.provenance["scenario"], params.phase_probs[0].tolist()
    ('unbalanced', [0.1, 0.6, 0.3])
    >>> model = BayesianPowerModel(params)
    """
    if base is None:
        base = PowerParameters.default()
    elif not isinstance(base, PowerParameters):
        base = PowerParameters.load(base)
    draws = base.n_draws
    overrides: dict[str, Any] = {}
    if scenario is not None:
        if scenario not in SCENARIOS:
            raise ParameterError(
                f"scenario {scenario!r} is unknown; choose one of {scenario_names()}."
            )
        if shares is None:
            shares = SCENARIOS[scenario]
    if share_alpha is not None and (share_mean is not None or concentration is not None):
        raise ParameterError(
            "give share_alpha, or share_mean and/or concentration, not both: share_alpha "
            "already fixes the mean and the concentration."
        )

    phase_probs = base.phase_probs
    if shares is not None:
        probs = _shares("shares", shares)
        phase_probs = np.broadcast_to(probs, (draws, 3)).copy()
        overrides["shares"] = probs.tolist()

    alpha = base.share_alpha
    if share_alpha is not None:
        arr = np.asarray(share_alpha, dtype=float).ravel()
        if arr.size != 3 or not np.isfinite(arr).all() or (arr <= 0).any():
            raise ParameterError(
                f"share_alpha must be three positive numbers (Dirichlet concentration of phases "
                f"A, B, C), got {share_alpha!r}."
            )
        alpha = np.broadcast_to(arr, (draws, 3)).copy()
        overrides["share_alpha"] = arr.tolist()
    else:
        mean = None
        if share_mean is not None:
            mean = _shares("share_mean", share_mean)
        elif shares is not None:
            mean = _shares("shares", shares)
        if mean is not None and (mean <= 0).any():
            which = "share_mean" if share_mean is not None else "shares"
            raise ParameterError(
                f"{which} {mean.tolist()} has a zero share: a Dirichlet mean must be positive on "
                "every phase. Give share_mean (or share_alpha) for three-phase loads separately."
            )
        conc = base.share_alpha.sum(axis=1)
        if concentration is not None:
            conc = np.full(draws, _positive("concentration", concentration))
            overrides["concentration"] = float(conc[0])
        if mean is not None or concentration is not None:
            if mean is None:
                mean_draws = base.share_alpha / base.share_alpha.sum(axis=1, keepdims=True)
            else:
                mean_draws = np.broadcast_to(mean, (draws, 3))
                overrides["share_mean"] = mean.tolist()
            alpha = conc[:, np.newaxis] * mean_draws

    p3_draws = base.p3
    if p3 is not None:
        p3_draws = np.broadcast_to(_p3(p3, base.n_zones), (draws, base.n_zones)).copy()
        overrides["p3"] = p3_draws[0].tolist()
    mu = base.p_mu_kw
    if p_mu_kw is not None:
        _not_text_or_bool("p_mu_kw", p_mu_kw)
        try:
            value = float(p_mu_kw)
        except (TypeError, ValueError):
            raise ParameterError(f"p_mu_kw must be a number [kW], got {p_mu_kw!r}.") from None
        if not np.isfinite(value):
            raise ParameterError(f"p_mu_kw must be finite [kW], got {p_mu_kw!r}.")
        mu = np.full(draws, value)
        overrides["p_mu_kw"] = value
    sigma = base.p_sigma_kw
    if p_sigma_kw is not None:
        sigma = np.full(draws, _positive("p_sigma_kw", p_sigma_kw))
        overrides["p_sigma_kw"] = float(sigma[0])
    pf_values, pf_probs = base.pf_values, base.pf_probs
    if pf is not None:
        pf_values, probs = _pf(pf)
        pf_probs = np.broadcast_to(probs, (draws, probs.size)).copy()
        overrides["pf"] = dict(zip(pf_values.tolist(), probs.tolist()))
        overrides["pf"] = {str(k): v for k, v in overrides["pf"].items()}

    name = scenario if scenario is not None else ("custom" if overrides else None)
    provenance = dict(base.provenance)
    if name is not None:
        provenance["scenario"] = name
        provenance["overrides"] = overrides
        provenance["base_id"] = base.provenance.get("id")
    return PowerParameters(
        p3=p3_draws,
        phase_probs=phase_probs,
        share_alpha=alpha,
        p_mu_kw=mu,
        p_sigma_kw=sigma,
        pf_values=pf_values,
        pf_probs=pf_probs,
        provenance=provenance,
    )


def resolve_parameters(model: Any, scenario: Any = None) -> PowerParameters:
    """The parameters an unbalancing run samples from: a model, optionally under a scenario.

    Parameters
    ----------
    model : BayesianPowerModel, PowerParameters, path or None
        The power model, its parameters or a parameter file; None: the shipped default.
    scenario : str or PowerParameters, optional
        A scenario name (applied to ``model``'s parameters by :func:`scenario_parameters`), or
        parameters that replace them.

    Returns
    -------
    PowerParameters

    Raises
    ------
    ParameterError
        If ``scenario`` is neither a name nor parameters.

    Examples
    --------
    >>> params = resolve_parameters(None, "unbalanced")  # doctest: +SKIP
    """
    if model is None:
        params = PowerParameters.default()
    elif isinstance(model, BayesianPowerModel):
        params = model.parameters
    elif isinstance(model, PowerParameters):
        params = model
    else:
        params = PowerParameters.load(model)
    if scenario is None:
        return params
    if isinstance(scenario, str):
        return scenario_parameters(params, scenario=scenario)
    if isinstance(scenario, PowerParameters):
        return scenario
    raise ParameterError(
        f"scenario must be a scenario name or PowerParameters, got {type(scenario).__name__}."
    )
