"""The three-phase load model (the paper's Eqs. 1-5 and Algorithms 2-3), sampled with NumPy.

For every load bus of every realisation:

1. ``c3 ~ Bernoulli(p3[zone])``: three-phase (1) or single-phase (0);
2. a single-phase load's phase ``~ Categorical(pA, pB, pC)``;
3. a three-phase load's shares ``(rA, rB, rC) ~ Dirichlet(alpha)``;
4. its total active power ``P ~ TruncatedNormal(mu, sigma, lower=0)`` [kW]; with a three-phase
   class in the parameters, a three-phase load's ``log P ~ Normal(log_mu, log_sigma)``
   (heavy-tailed: commercial loads);
5. one power factor per realisation from a discrete distribution, ``Q = P tan(arccos PF)`` on
   every phase.

With balancing in the parameters, the single-phase loads' phases are then reassigned by
lateral, heaviest first, to balance the phase totals (:mod:`bayesgrid_plugins.balancing`).
A single-phase load puts all of P on its phase; a three-phase load puts ``P * r`` on each. Phase
consistency is then enforced (every bus gets the union of the phases below it; the source is
three-phase; a bus with nothing below it takes its parent's phases).

Parameters carry a leading axis of posterior draws; each realisation uses one draw chosen at
random, so an ensemble carries parameter uncertainty as well as the model's own randomness.
Nothing here imports PyMC.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from scipy.special import log_ndtr, ndtri_exp

from ..balancing import assign_laterals, quotas
from ..ensemble import Ensemble
from ..errors import DemandLevelWarning, ParameterError
from ..feeder import Feeder
from ..memory import check_realisations
from ..phases import PHASE_ABC, enforce_phase_consistency, fill_unserved_phases
from ..posterior import ParameterFile
from ..shipped import CONDITIONED_ONLY
from .consistent import ConsistentDataMixin
from .feeder_level import bound_feeder_level, load_parameters

__all__ = ["DEFAULT_POWER_PARAMETERS", "BayesianPowerModel", "PowerParameters"]

#: File name of the shipped default parameters (in ``bayesgrid_plugins/data/posteriors``).
DEFAULT_POWER_PARAMETERS = "power_smartds_nuts.nc"
_PROB_TOL = 1e-6


#: Most zones of normalised distance a parameter set may have.
MAX_ZONES = 100
#: Largest magnitude [kW] of the load distribution's location and scale (100 MW: far above any
#: single distribution load bus).
MAX_LOAD_KW = 1e5
#: Largest Dirichlet concentration of the per-phase shares.
MAX_ALPHA = 1e6
#: Smallest share of a three-phase load's power on one phase; smaller draws are set to zero.
MIN_PHASE_SHARE = 1e-12


def _draws(name: str, value: Any, width: int | None) -> np.ndarray:
    """``value`` as float array with a leading draw axis: (draws,) or (draws, width)."""
    kind = np.asarray(value).dtype.kind if not isinstance(value, np.ndarray) else value.dtype.kind
    if kind not in "iuf":
        raise ParameterError(
            f"{name} must be numbers (int or float), not {value!r}: booleans, strings and "
            "objects are refused."
        )
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be numbers, not {value!r} ({exc}).") from exc
    target_ndim = 1 if width is None else 2
    if arr.ndim == target_ndim - 1:
        arr = arr[np.newaxis, ...]
    if arr.ndim != target_ndim or arr.shape[0] == 0 or (width and arr.shape[1] != width):
        shape = "(draws,)" if width is None else f"(draws, {width})"
        raise ParameterError(
            f"{name} has shape {np.shape(value)}; expected {shape} or without draws."
        )
    if not np.isfinite(arr).all():
        raise ParameterError(f"{name} contains NaN or infinite values: every entry must be finite.")
    return arr


def _check_probabilities(name: str, probs: np.ndarray) -> None:
    if (probs < 0).any() or (probs > 1).any():
        raise ParameterError(f"{name} must lie in [0, 1]; got values {probs.min()}..{probs.max()}.")
    sums = probs.sum(axis=-1)
    if np.abs(sums - 1).max() > _PROB_TOL:
        raise ParameterError(
            f"{name} must sum to 1 over its last axis; sums range "
            f"{sums.min():.6g}..{sums.max():.6g}. Normalise them."
        )


@dataclass(frozen=True, eq=False)
class PowerParameters(ParameterFile):
    """Parameters of the power model, with a leading axis of posterior draws.

    Parameters
    ----------
    p3 : array-like, shape (draws, n_zones) or (n_zones,)
        Probability that a load in each zone of normalised distance is three-phase.
    phase_probs : array-like, shape (draws, 3) or (3,)
        Probabilities (pA, pB, pC) of a single-phase load's phase; sum to 1.
    share_alpha : array-like, shape (draws, 3) or (3,)
        Dirichlet concentration of a three-phase load's per-phase shares; positive.
    p_mu_kw : array-like, shape (draws,) or scalar
        Location [kW] of the truncated normal of a load's total active power.
    p_sigma_kw : array-like, shape (draws,) or scalar
        Scale [kW] of that truncated normal; positive.
    pf_values : array-like, shape (k,)
        Support of the power factor distribution, in (0, 1].
    pf_probs : array-like, shape (draws, k) or (k,)
        Probabilities of ``pf_values``; sum to 1.
    p3class_log_mu_kw, p3class_log_sigma : array-like, shape (draws,) or scalar, optional
        The three-phase load class: ``log P ~ Normal(log_mu, log_sigma)`` with P in kW (a
        log-normal, heavy-tailed). When given, three-phase loads draw their P from it instead of
        the single-phase truncated normal; None keeps one P distribution for every load.
    balance_eps : array-like, shape (draws,) or scalar, optional
        Randomness of the phase balancing in [0, 1] (see :mod:`bayesgrid_plugins.balancing`):
        0 assigns every single-phase lateral to the least-loaded phase it may take, 1 to a
        random one. None draws each load's phase independently (the paper's model).
    lateral_max_loads : array-like, shape (draws,) or scalar, optional
        Largest single-phase lateral [load buses]; with ``balance_eps``.
    balance_shares : array-like, shape (draws, 3) or (3,), optional
        Target share of the feeder's total P on phases A, B, C, towards which the balancing
        allocates laterals (rows sum to 1); needs ``balance_eps``. None: equal thirds.
    balance_phase_probs : array-like, shape (draws, 3) or (3,), optional
        Shares of the single-phase loads on A, B, C that the balancing's quotas follow (the
        counts of the training feeder whose target a draw takes); with ``balance_shares``.
        None: the quotas follow ``phase_probs``.
    p2 : array-like, shape (draws,) or scalar, optional
        Probability that a load that is not three-phase is two-phase (where the training data
        has two-phase loads); its P is drawn as a single-phase load's and split equally over
        its two phases. ``p3`` is then the share of three-phase loads among *all* loads.
    pair_probs : array-like, shape (draws, 3) or (3,), optional
        Probabilities of a two-phase load's pair: AB, BC, CA; with ``p2``.
    provenance : dict
        Where the parameters came from (id, data source, method, date, version).

    Examples
    --------
    >>> from bayesgrid_plugins import BayesianPowerModel, PowerParameters
    >>> params = PowerParameters.default()  # the shipped posterior
    >>> params.p3.shape  # (posterior draws, zones)
    (1000, 10)
    >>> model = BayesianPowerModel(params.mean())  # one draw: the posterior mean
    """

    MODEL: ClassVar[str] = "power"
    DEFAULT_FILE: ClassVar[str] = DEFAULT_POWER_PARAMETERS
    FIELDS: ClassVar[tuple[str, ...]] = (
        "p3",
        "phase_probs",
        "share_alpha",
        "p_mu_kw",
        "p_sigma_kw",
        "pf_values",
        "pf_probs",
        "p3class_log_mu_kw",
        "p3class_log_sigma",
        "balance_eps",
        "lateral_max_loads",
        "p2",
        "pair_probs",
        "balance_shares",
        "balance_phase_probs",
    )
    OPTIONAL_FIELDS: ClassVar[tuple[str, ...]] = (
        "p3class_log_mu_kw",
        "p3class_log_sigma",
        "balance_eps",
        "lateral_max_loads",
        "p2",
        "pair_probs",
        "balance_shares",
        "balance_phase_probs",
    )

    p3: np.ndarray
    phase_probs: np.ndarray
    share_alpha: np.ndarray
    p_mu_kw: np.ndarray
    p_sigma_kw: np.ndarray
    pf_values: np.ndarray
    pf_probs: np.ndarray
    p3class_log_mu_kw: np.ndarray | None = None
    p3class_log_sigma: np.ndarray | None = None
    balance_eps: np.ndarray | None = None
    lateral_max_loads: np.ndarray | None = None
    p2: np.ndarray | None = None
    pair_probs: np.ndarray | None = None
    balance_shares: np.ndarray | None = None
    balance_phase_probs: np.ndarray | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        p3 = np.asarray(self.p3, dtype=float)
        n_zones = p3.shape[-1] if p3.ndim else 0
        if n_zones == 0:
            raise ParameterError("p3 must hold one probability per zone (at least one zone).")
        if n_zones > MAX_ZONES:
            raise ParameterError(
                f"p3 has {n_zones} zones, more than the {MAX_ZONES} this model supports (zones "
                "of normalised distance; the shipped posteriors use 10); give one probability "
                "per zone for at most that many zones."
            )
        pf_values = np.asarray(self.pf_values, dtype=float).ravel()
        values = {
            "p3": _draws("p3", self.p3, n_zones),
            "phase_probs": _draws("phase_probs", self.phase_probs, 3),
            "share_alpha": _draws("share_alpha", self.share_alpha, 3),
            "p_mu_kw": _draws("p_mu_kw", self.p_mu_kw, None),
            "p_sigma_kw": _draws("p_sigma_kw", self.p_sigma_kw, None),
            "pf_probs": _draws("pf_probs", self.pf_probs, pf_values.size),
        }
        pairs = (
            ("p3class_log_mu_kw", "p3class_log_sigma"),
            ("balance_eps", "lateral_max_loads"),
            ("p2", "pair_probs"),
        )
        for pair in pairs:
            given = [getattr(self, name) is not None for name in pair]
            if any(given) and not all(given):
                raise ParameterError(f"give {pair[0]} and {pair[1]} together, or neither.")
            if all(given):
                for name in pair:
                    width = 3 if name == "pair_probs" else None
                    values[name] = _draws(name, getattr(self, name), width)
        if self.balance_shares is not None:
            if "balance_eps" not in values:
                raise ParameterError(
                    "balance_shares needs balance_eps and lateral_max_loads: give the "
                    "balancing parameters with it, or leave it out."
                )
            values["balance_shares"] = _draws("balance_shares", self.balance_shares, 3)
            _check_probabilities("balance_shares", values["balance_shares"])
        if self.balance_phase_probs is not None:
            if self.balance_shares is None:
                raise ParameterError(
                    "balance_phase_probs needs balance_shares: give the target shares with it, "
                    "or leave it out."
                )
            probs = _draws("balance_phase_probs", self.balance_phase_probs, 3)
            _check_probabilities("balance_phase_probs", probs)
            values["balance_phase_probs"] = probs
        counts = {name: v.shape[0] for name, v in values.items()}
        if len(set(counts.values())) != 1:
            raise ParameterError(
                f"every parameter needs the same number of posterior draws; got {counts}."
            )
        if ((values["p3"] < 0) | (values["p3"] > 1)).any():
            raise ParameterError("p3 must lie in [0, 1] in every zone.")
        _check_probabilities("phase_probs", values["phase_probs"])
        _check_probabilities("pf_probs", values["pf_probs"])
        if (values["share_alpha"] <= 0).any():
            raise ParameterError("share_alpha must be positive (Dirichlet concentration).")
        if (values["p_sigma_kw"] <= 0).any():
            raise ParameterError("p_sigma_kw must be positive [kW].")
        for name, limit in (
            ("p_mu_kw", MAX_LOAD_KW),
            ("p_sigma_kw", MAX_LOAD_KW),
            ("share_alpha", MAX_ALPHA),
        ):
            worst = float(np.abs(values[name]).max())
            if worst > limit:
                raise ParameterError(
                    f"{name} reaches {worst:.6g}, beyond the plausible range of +-{limit:g}"
                    f"{' [kW]' if name != 'share_alpha' else ''}; check the units (kW, not W) "
                    "and the file."
                )
        if "p3class_log_sigma" in values and (values["p3class_log_sigma"] <= 0).any():
            raise ParameterError("p3class_log_sigma must be positive.")
        if "balance_eps" in values:
            eps = values["balance_eps"]
            if ((eps < 0) | (eps > 1)).any():
                raise ParameterError("balance_eps must lie in [0, 1].")
            if (values["lateral_max_loads"] < 1).any():
                raise ParameterError("lateral_max_loads must be at least 1 load bus.")
        if "p2" in values:
            if ((values["p2"] < 0) | (values["p2"] > 1)).any():
                raise ParameterError("p2 must lie in [0, 1].")
            _check_probabilities("pair_probs", values["pair_probs"])
        if pf_values.size == 0 or not (
            np.isfinite(pf_values).all() and (pf_values > 0).all() and (pf_values <= 1).all()
        ):
            raise ParameterError("pf_values must be power factors in (0, 1].")
        for name, value in values.items():
            value.setflags(write=False)
            set_(self, name, value)
        pf_values.setflags(write=False)
        set_(self, "pf_values", pf_values)
        set_(self, "provenance", dict(self.provenance))

    @property
    def n_zones(self) -> int:
        """Number of zones of normalised distance."""
        return int(self.p3.shape[1])

    @property
    def n_draws(self) -> int:
        """Number of posterior draws."""
        return int(self.p3.shape[0])

    @property
    def has_three_phase_class(self) -> bool:
        """Whether three-phase loads have their own P distribution."""
        return self.p3class_log_mu_kw is not None

    @property
    def has_two_phase_class(self) -> bool:
        """Whether some loads are two-phase."""
        return self.p2 is not None

    @property
    def balances_phases(self) -> bool:
        """Whether single-phase laterals are assigned to phases by balancing."""
        return self.balance_eps is not None

    def mean(self) -> PowerParameters:
        """Posterior means as a single-draw parameter set."""
        return PowerParameters(
            p3=self.p3.mean(axis=0),
            phase_probs=self.phase_probs.mean(axis=0),
            share_alpha=self.share_alpha.mean(axis=0),
            p_mu_kw=self.p_mu_kw.mean(),
            p_sigma_kw=self.p_sigma_kw.mean(),
            pf_values=self.pf_values,
            pf_probs=self.pf_probs.mean(axis=0),
            p3class_log_mu_kw=_mean_or_none(self.p3class_log_mu_kw),
            p3class_log_sigma=_mean_or_none(self.p3class_log_sigma),
            balance_eps=_mean_or_none(self.balance_eps),
            lateral_max_loads=_mean_or_none(self.lateral_max_loads),
            p2=_mean_or_none(self.p2),
            pair_probs=None if self.pair_probs is None else self.pair_probs.mean(axis=0),
            balance_shares=None
            if self.balance_shares is None
            else self.balance_shares.mean(axis=0),
            balance_phase_probs=None
            if self.balance_phase_probs is None
            else self.balance_phase_probs.mean(axis=0),
            provenance={**self.provenance, "reduced": "posterior mean"},
        )


def _mean_or_none(values: np.ndarray | None) -> np.ndarray | None:
    return None if values is None else np.asarray(np.mean(values))


def sample_truncated_normal(
    mu: np.ndarray, sigma: np.ndarray, rng: np.random.Generator, size: tuple[int, ...]
) -> np.ndarray:
    """Draws from ``Normal(mu, sigma)`` truncated to ``[0, inf)``.

    Negative normal draws are replaced by inverse-CDF draws
    ``x = mu - sigma * ndtri(v * ndtr(mu / sigma))`` with ``v ~ U(0, 1]``, evaluated in log space
    (``ndtri_exp``, ``log_ndtr``) so they stay accurate both when the truncation is negligible and
    when almost all of the mass is cut off (``mu / sigma`` far below zero).
    """
    mu, sigma = np.broadcast_to(mu, size), np.broadcast_to(sigma, size)
    # Draw from the untruncated normal and replace the negative draws by exact inverse-CDF
    # draws: the mixture of the accepted draws and the replacements is exactly truncated.
    x = mu + sigma * rng.standard_normal(size)
    low = x < 0
    if low.any():
        m, s = mu[low], sigma[low]
        v = 1.0 - rng.random(m.size)  # in (0, 1]
        x[low] = m - s * ndtri_exp(np.log(v) + log_ndtr(m / s))
    return np.maximum(x, 0.0)


def _categorical(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Category index for uniforms ``u`` (rows, ...) given per-row probabilities (rows, k)."""
    cum = np.cumsum(probs, axis=1)[:, :-1]  # the last category takes the rest
    cum = cum.reshape(cum.shape[0], *([1] * (u.ndim - 1)), cum.shape[1])
    return (u[..., np.newaxis] >= cum).sum(axis=-1)


# The steps of the model, shared by the plain and the conditioned sampler. Each takes the
# posterior draw of every realisation and an explicit generator.
def check_zones(params: PowerParameters, feeder: Feeder, zones: np.ndarray | None) -> np.ndarray:
    """The zone of every bus (``zones`` or the feeder's), checked against ``p3``."""
    zone = feeder.zone if zones is None else np.asarray(zones, dtype=np.int64)
    if zone.shape != (feeder.n_buses,):
        raise ParameterError(f"zones must have one entry per bus ({feeder.n_buses}).")
    if zone.min() < 0 or zone.max() >= params.n_zones:
        raise ParameterError(
            f"p3 has {params.n_zones} zones but the feeder's zones run "
            f"{zone.min()}..{zone.max()}; build the feeder with "
            f"feeder.with_zones({params.n_zones}) or use parameters with matching zones."
        )
    return zone


def choose_draws(
    params: PowerParameters, n: int, rng: np.random.Generator, draws: np.ndarray | None
) -> np.ndarray:
    """Posterior draw of each realisation: ``draws`` (checked) or drawn at random."""
    if draws is None:
        return rng.integers(params.n_draws, size=n)
    draw = np.asarray(draws)
    if (
        draw.shape != (n,)
        or not np.issubdtype(draw.dtype, np.integer)
        or draw.min() < 0
        or draw.max() >= params.n_draws
    ):
        raise ParameterError(
            f"draws must be {n} integer indices in [0, {params.n_draws}), one per "
            f"realisation; got shape {draw.shape} of {draw.dtype}."
        )
    return draw


def p3_given_power(params: PowerParameters, p3: np.ndarray, p_kw: np.ndarray) -> np.ndarray:
    """Probability that a load of known total P [kW] is three-phase (Bayes' rule).

    ``p3 f3(P) / (p3 f3(P) + (1 - p3) f1(P))`` with ``f3`` and ``f1`` the posterior predictive
    densities of a three-phase and a single-phase load's P: the class densities (log-normal,
    truncated normal) averaged over every posterior draw, so that a single draw with an extreme
    single-phase location cannot make every small load three-phase. ``p3`` (shape (n, n_loads))
    is returned unchanged without a three-phase class.

    Parameters
    ----------
    params : PowerParameters
        The parameters.
    p3 : ndarray, shape (n, n_loads)
        Prior probability of each load being three-phase (by its zone).
    p_kw : ndarray, shape (n_loads,)
        Each load's known total active power [kW].
    """
    if not params.has_three_phase_class:
        return p3
    from scipy.special import logsumexp

    p = np.asarray(p_kw, dtype=float).ravel()
    positive = p > 0
    x = np.where(positive, p, 1.0)[:, np.newaxis]  # (loads, 1) against (draws,)
    lm, ls = params.p3class_log_mu_kw, params.p3class_log_sigma
    mu, sigma = params.p_mu_kw, params.p_sigma_kw
    log_f3 = -np.log(x * ls) - 0.5 * ((np.log(x) - lm) / ls) ** 2
    log_f1 = -np.log(sigma) - 0.5 * ((x - mu) / sigma) ** 2 - log_ndtr(mu / sigma)
    log_ratio = logsumexp(log_f3, axis=1) - logsumexp(log_f1, axis=1)  # (loads,)
    with np.errstate(divide="ignore"):
        logit = np.log(p3) - np.log1p(-p3) + log_ratio
    out = 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))
    return np.where(positive, out, 0.0)


def draw_phases(
    params: PowerParameters,
    draw: np.ndarray,
    load_zone: np.ndarray,
    rng: np.random.Generator,
    *,
    p_kw: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1-2: which loads are three-phase, and the phase (0, 1, 2) of the others.

    One uniform per load decides both: below ``p3`` the load is three-phase; above it, the
    uniform rescaled to [0, 1) is uniform again and independent of that outcome, and picks the
    phase. With ``p_kw`` (each load's known total [kW]) and a three-phase class, ``p3`` is the
    probability given that power (:func:`p3_given_power`). Returns boolean and int8 arrays of
    shape (n, n_loads).
    """
    p3 = params.p3[draw][:, load_zone]
    if p_kw is not None:
        p3 = p3_given_power(params, p3, p_kw)
    u = rng.random(p3.shape)
    three = u < p3
    v = (u - p3) / np.maximum(1.0 - p3, np.finfo(float).tiny)
    cum = np.cumsum(params.phase_probs[draw], axis=1)
    phase = (v >= cum[:, 0:1]).astype(np.int8) + (v >= cum[:, 1:2])
    return three, phase


def draw_shares(
    params: PowerParameters,
    draw: np.ndarray,
    three: np.ndarray,
    phase: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Step 3: per-phase shares of every load, shape (n, n_loads, 3), rows summing to 1.

    A single-phase load has share 1 on its phase; a three-phase load ``~ Dirichlet(alpha)``,
    sampled only where needed.
    """
    share = (phase[..., np.newaxis] == np.arange(3)).astype(float)
    r_idx, l_idx = np.nonzero(three)
    if r_idx.size:
        alpha = params.share_alpha
        if params.n_draws == 1:  # one concentration for all: the faster scalar-shape path
            gamma = np.stack([rng.standard_gamma(a, r_idx.size) for a in alpha[0]], axis=1)
        else:
            gamma = rng.standard_gamma(alpha[draw[r_idx]])
        total = gamma.sum(axis=1, keepdims=True)
        # With tiny concentrations all three gammas can underflow to zero: such a draw is a
        # corner of the simplex, so the load goes to one phase chosen uniformly.
        degenerate = total[:, 0] <= 0
        if degenerate.any():
            gamma[degenerate] = np.eye(3)[rng.integers(3, size=int(degenerate.sum()))]
            total = gamma.sum(axis=1, keepdims=True)
        split = gamma / total
        # A share of 1e-300 kW-per-kW is no load on that phase; kept, the products P * share
        # and Q * share fall among the subnormal floats and lose the bus's power factor. Only
        # the rows touched are normalised again, so every other draw stays bit for bit.
        tiny = split < MIN_PHASE_SHARE
        touched = tiny.any(axis=1)
        if touched.any():
            split[tiny] = 0.0
            split[touched] /= split[touched].sum(axis=1, keepdims=True)
        share[r_idx, l_idx] = split
    return share


def three_phase_power(
    params: PowerParameters,
    draw: np.ndarray,
    three: np.ndarray,
    total: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Step 4 for three-phase loads: their own class, ``log P ~ Normal(log_mu, log_sigma)``.

    Returns ``total`` with the three-phase loads' P [kW] redrawn from the class (unchanged, and
    no random numbers used, without a three-phase class).
    """
    if params.p3class_log_mu_kw is None or params.p3class_log_sigma is None or not three.any():
        return total
    r_idx, l_idx = np.nonzero(three)
    d = draw[r_idx]
    z = rng.standard_normal(r_idx.size)
    out = total.copy()
    out[r_idx, l_idx] = np.exp(params.p3class_log_mu_kw[d] + params.p3class_log_sigma[d] * z)
    return out


#: Masks of the two-phase pairs AB, BC, CA, and the phases (0, 1, 2) each holds.
PAIR_MASKS = np.array([3, 6, 5], dtype=np.uint8)
_PAIR_ON = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=float)


def two_phase_loads(
    params: PowerParameters,
    draw: np.ndarray,
    three: np.ndarray,
    share: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Which loads that are not three-phase are two-phase, and their shares (half on each).

    Returns ``(mask, share)``: the pair's phase mask per load (0 where the load is not
    two-phase) and the shares with the two-phase rows replaced. Without a two-phase class
    nothing changes and no random numbers are used.
    """
    if params.p2 is None or params.pair_probs is None:
        return np.zeros(three.shape, dtype=np.uint8), share
    u = rng.random(three.shape)
    p2 = params.p2[draw][:, np.newaxis]
    two = ~three & (u < p2)
    v = u / np.maximum(p2, np.finfo(float).tiny)  # uniform again given two-phase
    cum = np.cumsum(params.pair_probs[draw], axis=1)[:, np.newaxis, :2]
    pair = np.minimum((v[..., np.newaxis] >= cum).sum(axis=-1), 2)
    mask = np.where(two, PAIR_MASKS[pair], 0).astype(np.uint8)
    share = np.where(two[..., np.newaxis], _PAIR_ON[pair] / 2.0, share)
    return mask, share


def balance_phases(
    params: PowerParameters,
    draw: np.ndarray,
    feeder: Feeder,
    loads: np.ndarray,
    three: np.ndarray,
    phase: np.ndarray,
    share: np.ndarray,
    total: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Phases of single-phase loads by lateral, balanced (:mod:`bayesgrid_plugins.balancing`).

    Returns the new ``(phase, share)``; unchanged, and no random numbers used, when the
    parameters carry no balancing.
    """
    if params.balance_eps is None or params.lateral_max_loads is None:
        return phase, share
    probs = params.phase_probs if params.balance_phase_probs is None else params.balance_phase_probs
    base = np.einsum("rl,rlj->rj", np.where(three, total, 0.0), share)
    phase = assign_laterals(
        feeder,
        loads,
        ~three,
        phase,
        quotas((~three).sum(axis=1), probs[draw], rng),
        total,
        base,
        params.balance_eps[draw],
        params.lateral_max_loads[draw],
        rng,
        target=None if params.balance_shares is None else params.balance_shares[draw],
    )
    one_hot = (phase[..., np.newaxis] == np.arange(3)).astype(float)
    return phase, np.where(three[..., np.newaxis], share, one_hot)


def draw_power_factor(
    params: PowerParameters, draw: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Step 5: one power factor per realisation, shape (n,)."""
    return params.pf_values[_categorical(params.pf_probs[draw], rng.random(draw.size))]


def load_masks(three: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Phase masks of the loads themselves: ABC, or the bit of their single phase."""
    return np.where(three, PHASE_ABC, np.left_shift(1, phase)).astype(np.uint8)


def consistent_bus_phases(feeder: Feeder, wanted: np.ndarray) -> np.ndarray:
    """Bus phases from the loads' phases: enforced, the source three-phase, stubs filled."""
    bus_phases = enforce_phase_consistency(feeder, wanted)
    bus_phases[:, feeder.source] = PHASE_ABC
    return fill_unserved_phases(feeder, bus_phases)


class BayesianPowerModel(ConsistentDataMixin):
    """Per-phase loads and phase allocation of a feeder, sampled from learned parameters.

    Parameters
    ----------
    parameters : PowerParameters, str or path-like, optional
        Parameters, the name of a shipped posterior (``"smartds"``, ``"epri"``,
        ``"smartds-counting"``) or a parameter file. Default: the hierarchical NUTS posterior
        fitted on five SMART-DS feeders (no network access).

    Examples
    --------
    >>> model = BayesianPowerModel()
    >>> ensemble = model.sample(feeder, 1000, rng=42)  # doctest: +SKIP
    """

    def __init__(self, parameters: PowerParameters | str | os.PathLike[str] | None = None):
        if isinstance(parameters, str):
            from ..shipped import POSTERIORS, posterior_path

            if parameters.strip().lower() in POSTERIORS:
                parameters = PowerParameters.load(posterior_path(parameters))
            elif not os.path.exists(parameters):
                raise FileNotFoundError(
                    f"{parameters!r} does not exist: it is neither a shipped posterior "
                    f"({', '.join(POSTERIORS)}) nor a parameter file; pass one of those names "
                    "or a file path."
                )
        self.parameters = PowerParameters.coerce(parameters)

    @classmethod
    def learn(cls, table: Any, **options: Any) -> BayesianPowerModel:
        """Fit the model to a training table with NUTS (imports PyMC).

        Parameters
        ----------
        table : TrainingTable
            Loads of one or more real feeders (``opendss_ext.training_table``,
            ``pandapower_ext.training_table``); several feeders give a hierarchical fit.
        **options
            Keywords of :func:`bayesgrid_plugins.learn.power_fit.fit_power_model` (``draws``,
            ``tune``, ``chains``, ``seed``, ``hierarchical``, ``sampler``: ``"numpyro"`` by
            default, ``"pymc"`` or ``"nutpie"``).
        """
        from ..plugins import get_fitter

        return cls(get_fitter("power")(table, **options))

    def __repr__(self) -> str:
        return (
            f"BayesianPowerModel(id={self.parameters.provenance.get('id')!r}, "
            f"draws={self.parameters.n_draws}, zones={self.parameters.n_zones})"
        )

    def sample(
        self,
        feeder: Feeder,
        n: int,
        *,
        rng: Any = None,
        zones: np.ndarray | None = None,
        draws: np.ndarray | None = None,
    ) -> Ensemble:
        """Sample ``n`` phase-consistent realisations of the feeder's loads.

        Parameters
        ----------
        feeder : Feeder
            The topology; loads are placed at ``feeder.load_buses``.
        n : int
            Number of realisations.
        rng : seed or numpy.random.Generator, optional
            Anything :func:`numpy.random.default_rng` accepts.
        zones : ndarray of int, shape (n_buses,), optional
            Zone of every bus, overriding ``feeder.zone`` (for example hop zones).
        draws : ndarray of int, shape (n,), optional
            Posterior draw of each realisation (default: drawn at random). Pass the same draws
            to the feeders of one area so that realisation k shares its parameters everywhere.

        Returns
        -------
        Ensemble
            ``load_phases``, ``bus_phases`` (consistent), ``p_kw`` and ``q_kvar`` per phase,
            ``power_factor`` and the posterior ``draw`` of each realisation.
        """
        params = self.parameters
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ParameterError(f"n must be a positive integer number of realisations, got {n!r}")
        check_realisations(int(n), feeder.n_buses)
        zone = check_zones(params, feeder, zones)
        loads = feeder.load_buses
        if loads.size == 0:
            raise ParameterError(
                "the feeder has no load buses (is_load is all False); mark the buses that serve "
                "customers with Feeder.with_loads(...)."
            )
        note = CONDITIONED_ONLY.get(str(params.provenance.get("id")))
        if note is not None:
            warnings.warn(DemandLevelWarning(note), stacklevel=2)
        rng = np.random.default_rng(rng)
        n = int(n)
        draw = choose_draws(params, n, rng, draws)
        three, phase = draw_phases(params, draw, zone[loads], rng)  # steps 1-2
        share = draw_shares(params, draw, three, phase, rng)  # step 3
        # Step 4, with a positive level per realisation bounded by the training feeders.
        mu, sigma = load_parameters(params, draw, rng)
        total = sample_truncated_normal(
            mu[:, np.newaxis], sigma[:, np.newaxis], rng, share.shape[:2]
        )
        total = three_phase_power(params, draw, three, total, rng)  # step 4, three-phase class
        total, n_bounded = bound_feeder_level(params, total, three)
        pair, share = two_phase_loads(params, draw, three, share, rng)
        multi = three | (pair > 0)
        phase, share = balance_phases(params, draw, feeder, loads, multi, phase, share, total, rng)
        pf = draw_power_factor(params, draw, rng)  # step 5

        p_kw = np.zeros((n, feeder.n_buses, 3))
        contiguous = loads[-1] - loads[0] + 1 == loads.size  # then a view: no fancy indexing
        columns = slice(loads[0], loads[-1] + 1) if contiguous else loads
        if contiguous:
            np.multiply(share, total[..., np.newaxis], out=p_kw[:, columns])
        else:
            p_kw[:, columns] = share * total[..., np.newaxis]
        q_kvar = p_kw * np.tan(np.arccos(pf))[:, np.newaxis, np.newaxis]
        load_phases = np.zeros((n, feeder.n_buses), dtype=np.uint8)
        load_phases[:, loads] = np.where(pair > 0, pair, load_masks(three, phase))
        bus_phases = consistent_bus_phases(feeder, load_phases)
        return Ensemble(
            bus_id=feeder.bus_id,
            source=feeder.source,
            load_phases=load_phases,
            bus_phases=bus_phases,
            p_kw=p_kw,
            q_kvar=q_kvar,
            power_factor=pf,
            draw=draw,
            metadata={
                "power_model": params.provenance.get("id"),
                "n_zones": params.n_zones,
                "level_bounded_realisations": n_bounded,
            },
        )
