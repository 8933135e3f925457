"""Reliability models: physical failures of lines, and CAIFI / CAIDI models learned per bus.

:class:`ReliabilityModel` (physical). Per realisation, one posterior draw gives the permanent
failure rate per km of overhead lines and of cables, their mean repair times and the sectioning
time; each line's rate is that of its kind times a Gamma(``line_shape``, 1/``line_shape``) factor
(lines differ in age and surroundings). The fault model and the indices are in
:mod:`bayesgrid_plugins.reliability.indices`. The shipped posterior takes the rates and repair
times of the CINELDI MV reference system and scales them to the US utilities of EIA-861 (see
``docs/reliability.md`` and ``scripts/compute_default_reliability_parameters.py``).

:class:`BayesianFrequencyModel` (CAIFI) and :class:`BayesianDurationModel` (CAIDI) are the
statistical per-bus models for users who have per-customer or per-bus interruption data (such as
the Brazilian DIC/FIC): learned by zone of normalised distance, sampled for a new feeder.

- Frequency, a count model: a customer's yearly interruptions ``N ~ Poisson(lam)``,
  ``lam ~ Gamma(shape, shape / mu[zone])`` (a negative binomial of mean ``mu[zone]``). A bus's
  CAIFI is the expected count of an interrupted customer, ``lam / (1 - exp(-lam))``.
- Duration, a hurdle model: a customer is not interrupted in a year with probability
  ``p_zero[zone]``; an interrupted customer's mean interruption duration (its CAIDI) is
  ``LogNormal(mu_log[zone], sigma_log)`` [h].

Nothing here imports PyMC (the NUTS fits are in ``bayesgrid_plugins.learn.reliability_pymc``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, cast

import numpy as np

from ..ensemble import Ensemble
from ..errors import ParameterError
from ..feeder import Feeder
from ..posterior import ParameterFile
from ..reliability.indices import ReliabilityResult, reliability_indices
from .consistent import ConsistentDataMixin

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_DURATION_PARAMETERS",
    "DEFAULT_FAILURE_PARAMETERS",
    "DEFAULT_FREQUENCY_PARAMETERS",
    "BayesianDurationModel",
    "BayesianFrequencyModel",
    "DurationParameters",
    "FailureParameters",
    "FrequencyParameters",
    "ReliabilityModel",
    "overhead_from_impedance",
]

DEFAULT_FAILURE_PARAMETERS = "reliability_failure_cineldi_eia.json"
DEFAULT_FREQUENCY_PARAMETERS = "reliability_frequency_smartds.json"
DEFAULT_DURATION_PARAMETERS = "reliability_duration_smartds.json"
_FAILURE_DRAWN = (
    "lambda_oh_per_km",
    "lambda_ug_per_km",
    "repair_oh_h",
    "repair_ug_h",
    "sectioning_h",
)


def _vector(name: str, value: Any, width: int | None = None) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    target = 1 if width is None else 2
    if arr.ndim == target - 1:
        arr = arr[np.newaxis, ...]
    if arr.ndim != target or arr.shape[0] == 0 or (width is not None and arr.shape[1] != width):
        shape = "(draws,)" if width is None else f"(draws, {width})"
        raise ParameterError(f"{name} has shape {np.shape(value)}; expected {shape}.")
    if not np.isfinite(arr).all():
        raise ParameterError(f"{name} contains NaN or infinite values.")
    arr.setflags(write=False)
    return arr


def _same_draws(**arrays: np.ndarray) -> int:
    counts = {name: a.shape[0] for name, a in arrays.items()}
    if len(set(counts.values())) != 1:
        raise ParameterError(f"every parameter needs the same number of draws; got {counts}.")
    return next(iter(counts.values()))


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"n must be a positive integer number of realisations, got {n!r}")
    return int(n)


def _zones(feeder: Feeder, zones: np.ndarray | None, n_zones: int) -> np.ndarray:
    zone = feeder.zone if zones is None else np.asarray(zones, dtype=np.int64)
    if zone.shape != (feeder.n_buses,):
        raise ParameterError(f"zones must have one entry per bus ({feeder.n_buses}).")
    if zone.min() < 0 or zone.max() >= n_zones:
        raise ParameterError(
            f"the parameters have {n_zones} zones but the feeder's zones run "
            f"{zone.min()}..{zone.max()}; use feeder.with_zones({n_zones})."
        )
    return zone


# ============================================================================ physical model
@dataclass(frozen=True, eq=False)
class FailureParameters(ParameterFile):
    """Posterior draws of line failure rates and restoration times.

    Parameters
    ----------
    lambda_oh_per_km, lambda_ug_per_km : array-like, shape (draws,)
        Permanent failure rate of overhead lines and of underground cables
        [failures / km / year].
    repair_oh_h, repair_ug_h : array-like, shape (draws,)
        Mean repair (outage) time of a failure [h].
    sectioning_h : array-like, shape (draws,)
        Time to isolate a fault and restore customers upstream of the sectionalising point [h].
    repair_shape : float, default 2
        Gamma shape of one failure's repair time (coefficient of variation ``1/sqrt(shape)``).
    line_shape : float, default 4
        Gamma shape of a line's rate factor around its kind's rate (0 or inf: no spread).
    provenance : dict
    """

    lambda_oh_per_km: np.ndarray
    lambda_ug_per_km: np.ndarray
    repair_oh_h: np.ndarray
    repair_ug_h: np.ndarray
    sectioning_h: np.ndarray
    repair_shape: float = 2.0
    line_shape: float = 4.0
    provenance: dict[str, Any] = field(default_factory=dict)

    MODEL: ClassVar[str] = "reliability-failure"
    DEFAULT_FILE: ClassVar[str] = DEFAULT_FAILURE_PARAMETERS
    FIELDS: ClassVar[tuple[str, ...]] = (*_FAILURE_DRAWN, "repair_shape", "line_shape")

    def __post_init__(self) -> None:
        arrays = {name: _vector(name, getattr(self, name)) for name in _FAILURE_DRAWN}
        _same_draws(**arrays)
        for name, arr in arrays.items():
            if (arr < 0).any() or (name.startswith("repair") and (arr <= 0).any()):
                raise ParameterError(f"{name} must be non-negative (repair times positive).")
            object.__setattr__(self, name, arr)
        for name in ("repair_shape", "line_shape"):
            value = float(np.asarray(getattr(self, name), dtype=float).ravel()[0])
            if not value >= 0 or (
                name == "repair_shape" and not (value > 0 and np.isfinite(value))
            ):
                raise ParameterError(f"{name} must be positive, got {value!r}.")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "provenance", dict(self.provenance))

    @property
    def n_draws(self) -> int:
        """Number of posterior draws."""
        return int(self.lambda_oh_per_km.shape[0])

    def to_dict(self) -> dict[str, Any]:
        """The parameter arrays by name."""
        out: dict[str, Any] = {name: getattr(self, name) for name in _FAILURE_DRAWN}
        out["repair_shape"] = np.asarray([self.repair_shape])
        out["line_shape"] = np.asarray([self.line_shape])
        return out


def overhead_from_impedance(ensemble: Ensemble, types: Any = None) -> np.ndarray:
    """Whether each line is overhead, from its sampled impedances, shape (n, n_buses).

    Each line is matched to the nearest conductor type (relative distance in R1, X1, R0, X0) of
    ``types`` (an :class:`~bayesgrid_plugins.models.impedance.ImpedanceParameters`; default the
    shipped impedance parameters) and takes that type's overhead flag.
    """
    from .impedance import ImpedanceParameters

    params = ImpedanceParameters.default() if types is None else types
    if ensemble.line_type is not None and int(ensemble.line_type.max()) < params.n_types:
        # A planned ensemble records each line's type (parallel circuits change impedances).
        return params.overhead[np.maximum(ensemble.line_type, 0)] > 0.5
    names = ("r1_ohm_per_km", "x1_ohm_per_km", "r0_ohm_per_km", "x0_ohm_per_km")
    if any(getattr(ensemble, name) is None for name in names):
        raise ParameterError("the ensemble has no line impedances; sample them first")
    lines = np.stack([getattr(ensemble, name) for name in names], axis=-1)  # (n, b, 4)
    ref = np.stack([getattr(params, name) for name in names], axis=-1)  # (T, 4)
    dist = np.zeros((*lines.shape[:2], ref.shape[0]))
    for j in range(4):
        dist += np.log(np.abs(lines[..., j, np.newaxis]) / ref[:, j]) ** 2
    best = np.nan_to_num(dist, nan=np.inf).argmin(axis=-1)
    return params.overhead[best] > 0.5


class ReliabilityModel:
    """Failures of lines -> per-bus and system reliability indices (IEEE 1366).

    Parameters
    ----------
    parameters : FailureParameters or path-like, optional
        Default: the shipped posterior.

    Examples
    --------
    >>> result = ReliabilityModel().run(feeder, 1000, rng=3, ensemble=ensemble)  # doctest: +SKIP
    >>> result.ensemble.caifi.shape, result.sampled["saifi"].shape  # doctest: +SKIP
    """

    def __init__(self, parameters: FailureParameters | str | os.PathLike[str] | None = None):
        parameters = FailureParameters.coerce(parameters)
        self.parameters = parameters

    def __repr__(self) -> str:
        return (
            f"ReliabilityModel(id={self.parameters.provenance.get('id')!r}, "
            f"draws={self.parameters.n_draws})"
        )

    def line_rates(
        self, feeder: Feeder, overhead: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per-line rates [1/km/year], mean repair times [h], sectioning times, draws."""
        p = self.parameters
        n = int(overhead.shape[0])
        draw = rng.integers(p.n_draws, size=n)
        col = np.newaxis
        rate = np.where(overhead, p.lambda_oh_per_km[draw, col], p.lambda_ug_per_km[draw, col])
        if 0 < p.line_shape < np.inf:
            rate = rate * rng.gamma(p.line_shape, 1.0 / p.line_shape, size=overhead.shape)
        repair = np.where(overhead, p.repair_oh_h[draw, col], p.repair_ug_h[draw, col])
        return rate, repair, p.sectioning_h[draw], draw

    def run(
        self,
        feeder: Feeder,
        n: int,
        *,
        rng: Any = None,
        ensemble: Ensemble | None = None,
        customers: np.ndarray | None = None,
        overhead: np.ndarray | bool | None = None,
        protection: Any = "every_line",
        switches: np.ndarray | None = None,
    ) -> ReliabilityResult:
        """Sample failure rates and compute the reliability of ``n`` realisations.

        Parameters
        ----------
        feeder : Feeder
        n : int
            Realisations (``len(ensemble)`` when an ensemble is given).
        rng : seed or numpy.random.Generator, optional
        ensemble : Ensemble, optional
            Its loads give the customers (one customer per load bus) and its impedances the
            line kinds (:func:`overhead_from_impedance`); the result's ``ensemble`` is it with
            ``caifi`` and ``caidi_h`` set.
        customers : ndarray, shape (n_buses,) or (n, n_buses), optional
            Customers per bus; default one per load (``ensemble.has_load``, else
            ``feeder.is_load``).
        overhead : bool or ndarray of bool, shape (n_buses,) or (n, n_buses), optional
            Line kinds; default from the ensemble's impedances, else all overhead.
        protection, switches
            Protective devices and sectionalising switches (see
            :func:`~bayesgrid_plugins.reliability.indices.reliability_indices`).

        Returns
        -------
        ReliabilityResult
            With the attribute ``ensemble`` (None if none was given) holding ``caifi`` and
            ``caidi_h``.
        """
        n = _check_n(n)
        rng = np.random.default_rng(rng)
        b = feeder.n_buses
        if ensemble is not None:
            if len(ensemble) != n or not np.array_equal(ensemble.bus_id, feeder.bus_id):
                raise ParameterError(
                    f"the ensemble ({len(ensemble)} realisations of {ensemble.n_buses} buses) "
                    f"does not match n={n} and the feeder's {b} buses."
                )
        if customers is None:
            customers = (
                ensemble.has_load.astype(float)
                if ensemble is not None
                else cast(np.ndarray, feeder.is_load).astype(float)
            )
        cust = np.asarray(customers, dtype=float)
        if cust.shape not in ((b,), (n, b)) or not (np.isfinite(cust).all() and (cust >= 0).all()):
            raise ParameterError(
                f"customers must be non-negative counts of shape ({b},) or ({n}, {b}); got "
                f"shape {cust.shape}."
            )
        if overhead is None:
            if ensemble is not None and ensemble.r1_ohm_per_km is not None:
                kind = overhead_from_impedance(ensemble)
            else:
                kind = np.ones((n, b), dtype=bool)
        else:
            kind = np.broadcast_to(np.asarray(overhead, dtype=bool), (n, b))
        rate, repair, t_s, draw = self.line_rates(feeder, kind, rng)
        result = reliability_indices(
            feeder,
            rate,
            repair,
            t_s,
            customers=cust,
            protection=protection,
            switches=switches,
            repair_shape=self.parameters.repair_shape,
            rng=rng,
        )
        result.metadata.update(
            {"reliability_model": self.parameters.provenance.get("id"), "draw": draw}
        )
        out = None
        if ensemble is not None:
            out = ensemble.with_fields(
                caifi=result.caifi,
                caidi_h=result.caidi_h,
                metadata={
                    **ensemble.metadata,
                    "reliability_model": self.parameters.provenance.get("id"),
                    "reliability_protection": result.metadata["protection"],
                },
            )
        return dataclasses.replace(result, ensemble=out)

    def sample(
        self,
        feeder: Feeder,
        n: int,
        *,
        rng: Any = None,
        ensemble: Ensemble | None = None,
        **options: Any,
    ) -> Ensemble:
        """:meth:`run`, returning the ensemble with ``caifi`` and ``caidi_h`` set.

        Without ``ensemble``, loads, phases and impedances are sampled first with the default
        power and impedance models (streams spawned off ``rng``).
        """
        rng = np.random.default_rng(rng)
        if ensemble is None:
            from .impedance import BayesianImpedanceModel

            sub, rng = rng.spawn(2)
            ensemble = BayesianImpedanceModel().sample(feeder, _check_n(n), rng=sub)
        return self.run(feeder, n, rng=rng, ensemble=ensemble, **options).ensemble


# ============================================================================ statistical models
@dataclass(frozen=True, eq=False)
class FrequencyParameters(ParameterFile):
    """Negative-binomial yearly interruptions per customer, by zone.

    Parameters
    ----------
    mu : array-like, shape (draws, n_zones) or (n_zones,)
        Mean interruptions per customer and year in each zone; positive.
    shape : array-like, shape (draws,) or scalar
        Gamma shape of the customers' rates (large: close to Poisson); positive.
    provenance : dict
    """

    mu: np.ndarray
    shape: np.ndarray
    provenance: dict[str, Any] = field(default_factory=dict)

    MODEL: ClassVar[str] = "reliability-frequency"
    DEFAULT_FILE: ClassVar[str] = DEFAULT_FREQUENCY_PARAMETERS
    FIELDS: ClassVar[tuple[str, ...]] = ("mu", "shape")

    def __post_init__(self) -> None:
        mu_in = np.asarray(self.mu, dtype=float)
        mu = _vector("mu", mu_in, mu_in.shape[-1] if mu_in.ndim else 1)
        shape = _vector("shape", self.shape)
        _same_draws(mu=mu, shape=shape)
        if (mu <= 0).any() or (shape <= 0).any():
            raise ParameterError("mu and shape must be positive.")
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "provenance", dict(self.provenance))

    @property
    def n_zones(self) -> int:
        """Number of zones."""
        return int(self.mu.shape[1])

    @property
    def n_draws(self) -> int:
        """Number of posterior draws."""
        return int(self.mu.shape[0])


@dataclass(frozen=True, eq=False)
class DurationParameters(ParameterFile):
    """Hurdle model of yearly interruption duration per customer, by zone.

    Parameters
    ----------
    p_zero : array-like, shape (draws, n_zones) or (n_zones,)
        Probability that a customer has no sustained interruption in a year.
    mu_log : array-like, shape (draws, n_zones) or (n_zones,)
        Mean of the log of an interrupted customer's CAIDI [log h].
    sigma_log : array-like, shape (draws,) or scalar
        Standard deviation of that log; positive.
    provenance : dict
    """

    p_zero: np.ndarray
    mu_log: np.ndarray
    sigma_log: np.ndarray
    provenance: dict[str, Any] = field(default_factory=dict)

    MODEL: ClassVar[str] = "reliability-duration"
    DEFAULT_FILE: ClassVar[str] = DEFAULT_DURATION_PARAMETERS
    FIELDS: ClassVar[tuple[str, ...]] = ("p_zero", "mu_log", "sigma_log")

    def __post_init__(self) -> None:
        width = np.asarray(self.p_zero, dtype=float).shape[-1]
        p_zero = _vector("p_zero", self.p_zero, width)
        mu_log = _vector("mu_log", self.mu_log, width)
        sigma = _vector("sigma_log", self.sigma_log)
        _same_draws(p_zero=p_zero, mu_log=mu_log, sigma_log=sigma)
        if (p_zero < 0).any() or (p_zero >= 1).any():
            raise ParameterError("p_zero must lie in [0, 1).")
        if (sigma <= 0).any():
            raise ParameterError("sigma_log must be positive.")
        object.__setattr__(self, "p_zero", p_zero)
        object.__setattr__(self, "mu_log", mu_log)
        object.__setattr__(self, "sigma_log", sigma)
        object.__setattr__(self, "provenance", dict(self.provenance))

    @property
    def n_zones(self) -> int:
        """Number of zones."""
        return int(self.p_zero.shape[1])

    @property
    def n_draws(self) -> int:
        """Number of posterior draws."""
        return int(self.p_zero.shape[0])


def _base_ensemble(feeder: Feeder, n: int, rng: np.random.Generator, ensemble: Ensemble | None):
    if ensemble is not None:
        if len(ensemble) != n or not np.array_equal(ensemble.bus_id, feeder.bus_id):
            raise ParameterError("the ensemble does not match n and the feeder's buses.")
        return ensemble, rng
    from .power import BayesianPowerModel

    sub, rng = rng.spawn(2)
    return BayesianPowerModel().sample(feeder, n, rng=sub), rng


class BayesianFrequencyModel(ConsistentDataMixin):
    """Per-bus CAIFI from a negative-binomial count model by zone.

    Parameters
    ----------
    parameters : FrequencyParameters or path-like, optional
        Default: the shipped parameters (learned from the physical model on SMART-DS feeders).

    Examples
    --------
    >>> from bayesgrid_plugins import BayesianFrequencyModel, Feeder
    >>> feeder = Feeder.from_edges([("s", "a", 0.1), ("a", "b", 0.05)], "s")  # lengths [km]
    >>> ensemble = BayesianFrequencyModel().sample(feeder, 100, rng=1)
    >>> ensemble.caifi.shape  # [interruptions / customer interrupted / year], NaN at the source
    (100, 3)
    """

    def __init__(self, parameters: FrequencyParameters | str | os.PathLike[str] | None = None):
        parameters = FrequencyParameters.coerce(parameters)
        self.parameters = parameters

    def __repr__(self) -> str:
        p = self.parameters
        return f"BayesianFrequencyModel(id={p.provenance.get('id')!r}, draws={p.n_draws})"

    @classmethod
    def learn(cls, table: pd.DataFrame, *, n_zones: int, **options: Any) -> BayesianFrequencyModel:
        """Learn from per-customer or per-bus yearly interruption counts (conjugate fit).

        ``table`` has columns ``zone`` and ``interruptions`` and optionally ``customers``; see
        :func:`bayesgrid_plugins.learn.reliability_counting.count_frequency_parameters`.
        """
        from ..plugins import get_fitter

        return cls(get_fitter("frequency")(table, n_zones=n_zones, **options))

    def sample_rates(
        self, feeder: Feeder, n: int, *, rng: Any = None, zones: np.ndarray | None = None
    ) -> np.ndarray:
        """Each bus's yearly interruption rate, shape (n, n_buses) (NaN at the source)."""
        n = _check_n(n)
        p = self.parameters
        rng = np.random.default_rng(rng)
        zone = _zones(feeder, zones, p.n_zones)
        draw = rng.integers(p.n_draws, size=n)
        mu = p.mu[draw][:, zone]
        shape = p.shape[draw, np.newaxis]
        lam = rng.gamma(np.broadcast_to(shape, mu.shape), mu / shape)
        lam[:, feeder.source] = np.nan
        return lam

    def sample(
        self,
        feeder: Feeder,
        n: int,
        *,
        rng: Any = None,
        ensemble: Ensemble | None = None,
        zones: np.ndarray | None = None,
    ) -> Ensemble:
        """Ensemble with ``caifi`` set: ``lam / (1 - exp(-lam))`` of each bus's sampled rate."""
        n = _check_n(n)
        rng = np.random.default_rng(rng)
        ensemble, rng = _base_ensemble(feeder, n, rng, ensemble)
        lam = self.sample_rates(feeder, n, rng=rng, zones=zones)
        with np.errstate(invalid="ignore", divide="ignore"):
            caifi = np.where(lam > 0, lam / -np.expm1(-lam), 1.0)
        caifi[:, feeder.source] = np.nan
        metadata = {**ensemble.metadata, "frequency_model": self.parameters.provenance.get("id")}
        return ensemble.with_fields(caifi=caifi, metadata=metadata)


class BayesianDurationModel(ConsistentDataMixin):
    """Per-bus CAIDI from a hurdle model by zone.

    Parameters
    ----------
    parameters : DurationParameters or path-like, optional
        Default: the shipped parameters (learned from the physical model on SMART-DS feeders).

    Examples
    --------
    >>> from bayesgrid_plugins import BayesianDurationModel, Feeder
    >>> feeder = Feeder.from_edges([("s", "a", 0.1), ("a", "b", 0.05)], "s")  # lengths [km]
    >>> ensemble = BayesianDurationModel().sample(feeder, 100, rng=1)
    >>> ensemble.caidi_h.shape  # [h / interruption], NaN at the source
    (100, 3)
    """

    def __init__(self, parameters: DurationParameters | str | os.PathLike[str] | None = None):
        parameters = DurationParameters.coerce(parameters)
        self.parameters = parameters

    def __repr__(self) -> str:
        p = self.parameters
        return f"BayesianDurationModel(id={p.provenance.get('id')!r}, draws={p.n_draws})"

    @classmethod
    def learn(cls, table: pd.DataFrame, *, n_zones: int, **options: Any) -> BayesianDurationModel:
        """Learn from per-customer or per-bus yearly interruption counts and hours.

        ``table`` has columns ``zone``, ``interruptions``, ``duration_h`` and optionally
        ``customers``; see
        :func:`bayesgrid_plugins.learn.reliability_counting.count_duration_parameters`.
        """
        from ..plugins import get_fitter

        return cls(get_fitter("duration")(table, n_zones=n_zones, **options))

    def sample_year(
        self, feeder: Feeder, n: int, *, rng: Any = None, zones: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(interrupted, caidi_h), each (n, n_buses): the hurdle and the positive part."""
        n = _check_n(n)
        p = self.parameters
        rng = np.random.default_rng(rng)
        zone = _zones(feeder, zones, p.n_zones)
        draw = rng.integers(p.n_draws, size=n)
        interrupted = rng.random((n, feeder.n_buses)) >= p.p_zero[draw][:, zone]
        caidi = np.exp(
            p.mu_log[draw][:, zone]
            + p.sigma_log[draw, np.newaxis] * rng.standard_normal((n, feeder.n_buses))
        )
        interrupted[:, feeder.source] = False
        caidi[:, feeder.source] = np.nan
        return interrupted, caidi

    def sample(
        self,
        feeder: Feeder,
        n: int,
        *,
        rng: Any = None,
        ensemble: Ensemble | None = None,
        zones: np.ndarray | None = None,
    ) -> Ensemble:
        """Ensemble with ``caidi_h`` set: each bus's CAIDI given that it is interrupted [h]."""
        n = _check_n(n)
        rng = np.random.default_rng(rng)
        ensemble, rng = _base_ensemble(feeder, n, rng, ensemble)
        _, caidi = self.sample_year(feeder, n, rng=rng, zones=zones)
        metadata = {**ensemble.metadata, "duration_model": self.parameters.provenance.get("id")}
        return ensemble.with_fields(caidi_h=caidi, metadata=metadata)
