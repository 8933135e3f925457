"""Line impedances: a conductor type per line, drawn by zone and phase count.

Every line of a realisation gets one *conductor type* (a real line code: R1, X1, R0, X0 [ohm/km],
C1, C0 [nF/km] and ampacity [kA]) drawn from a Dirichlet-categorical model:

1. per realisation, for each phase count ``k`` (1, 2, 3) and zone ``z``, the type probabilities
   ``pi[k, z] ~ Dirichlet(alpha[k, z])``;
2. per line with ``k`` phases in zone ``z``, ``type ~ Categorical(pi[k, z])``;
3. optionally (``variation > 0``), one log-normal factor ``exp(variation * eps)`` with
   ``eps ~ N(0, 1)`` multiplies all four sequence impedances of the line (capacitance and ampacity
   are kept). It stands for conductor temperature, sag and length uncertainty; it keeps each
   type's R/X ratio, so the joint structure of R and X is that of the real line codes.

Because whole line codes are drawn, R1 and X1 keep their real joint distribution (their
correlation, and which pairs occur at all) and every line has zero-sequence data for
``runpp_3ph`` and OpenDSS. ``alpha`` carries a leading axis of posterior draws, like
:class:`~bayesgrid_plugins.models.power.PowerParameters`: each realisation picks one draw, then
its probabilities from the Dirichlet. With the conjugate estimator
(:func:`bayesgrid_plugins.learn.impedance_counting.count_impedance_parameters`) there is one draw,
the exact posterior ``Dirichlet(prior + counts)``. Nothing here imports PyMC.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..ensemble import Ensemble
from ..errors import ParameterError
from ..feeder import Feeder
from ..memory import check_realisations
from ..phases import n_phases
from ..posterior import ParameterFile
from .consistent import ConsistentDataMixin

if TYPE_CHECKING:
    from ..training import TrainingTable

__all__ = [
    "DEFAULT_IMPEDANCE_PARAMETERS",
    "TYPE_FIELDS",
    "BayesianImpedanceModel",
    "ImpedanceParameters",
]

#: File name of the shipped default parameters (in ``bayesgrid_plugins/data/posteriors``).
DEFAULT_IMPEDANCE_PARAMETERS = "impedance_smartds_counting.json"
#: Per-type arrays of :class:`ImpedanceParameters`, in the order they are stored.
TYPE_FIELDS = (
    "r1_ohm_per_km",
    "x1_ohm_per_km",
    "r0_ohm_per_km",
    "x0_ohm_per_km",
    "c1_nf_per_km",
    "c0_nf_per_km",
    "max_i_ka",
)


@dataclass(frozen=True, eq=False)
class ImpedanceParameters(ParameterFile):
    """Conductor types and their Dirichlet posterior by phase count and zone.

    Parameters
    ----------
    r1_ohm_per_km, x1_ohm_per_km, r0_ohm_per_km, x0_ohm_per_km : array-like, shape (n_types,)
        Sequence impedances of each conductor type [ohm/km]; positive.
    c1_nf_per_km, c0_nf_per_km : array-like, shape (n_types,)
        Sequence capacitances [nF/km]; non-negative.
    max_i_ka : array-like, shape (n_types,)
        Ampacity [kA]; positive.
    overhead : array-like, shape (n_types,)
        1.0 for an overhead line type, 0.0 for an underground cable (used by the reliability
        model to pick failure rates).
    alpha : array-like, shape (draws, 3, n_zones, n_types) or (3, n_zones, n_types)
        Dirichlet concentrations of the type probabilities for lines of 1, 2 and 3 phases in each
        zone; non-negative, with a positive sum over types.
    variation : float, default 0
        Standard deviation of the log-normal factor on the line's impedances (0: none).
    provenance : dict
        Where the parameters came from; ``type_names`` names the types.

    Examples
    --------
    >>> from bayesgrid_plugins import BayesianImpedanceModel, ImpedanceParameters
    >>> params = ImpedanceParameters.default()  # the shipped posterior
    >>> params.n_types, params.n_zones
    (8, 10)
    >>> model = BayesianImpedanceModel(params.with_variation(0.1))  # sd of log impedance
    """

    r1_ohm_per_km: np.ndarray
    x1_ohm_per_km: np.ndarray
    r0_ohm_per_km: np.ndarray
    x0_ohm_per_km: np.ndarray
    c1_nf_per_km: np.ndarray
    c0_nf_per_km: np.ndarray
    max_i_ka: np.ndarray
    overhead: np.ndarray
    alpha: np.ndarray
    variation: float = 0.0
    provenance: dict[str, Any] = field(default_factory=dict)

    MODEL: ClassVar[str] = "impedance"
    DEFAULT_FILE: ClassVar[str] = DEFAULT_IMPEDANCE_PARAMETERS
    FIELDS: ClassVar[tuple[str, ...]] = (*TYPE_FIELDS, "overhead", "alpha", "variation")

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        r1 = np.asarray(self.r1_ohm_per_km, dtype=float).ravel()
        n_types = r1.size
        if n_types == 0:
            raise ParameterError("r1_ohm_per_km is empty: at least one conductor type is needed.")
        for name in (*TYPE_FIELDS, "overhead"):
            value = np.asarray(getattr(self, name), dtype=float).ravel()
            if value.shape != (n_types,):
                raise ParameterError(
                    f"{name} has {value.size} entries; every per-type array needs {n_types} "
                    "(one per conductor type)."
                )
            if not np.isfinite(value).all():
                raise ParameterError(f"{name} contains NaN or infinite values.")
            positive = name in TYPE_FIELDS[:4] or name == "max_i_ka"
            if (value <= 0).any() if positive else (value < 0).any():
                sign = "positive" if positive else "non-negative"
                bad = np.flatnonzero(value <= 0 if positive else value < 0)
                raise ParameterError(f"{name} must be {sign}; types {bad.tolist()} are not.")
            value.setflags(write=False)
            set_(self, name, value)
        alpha = np.asarray(self.alpha, dtype=float)
        if alpha.ndim == 3:
            alpha = alpha[np.newaxis]
        if (
            alpha.ndim != 4
            or alpha.shape[0] == 0
            or alpha.shape[1] != 3
            or alpha.shape[3] != n_types
        ):
            raise ParameterError(
                f"alpha has shape {np.shape(self.alpha)}; expected (draws, 3, n_zones, {n_types}) "
                "or (3, n_zones, n_types): phase counts 1-3, zones, conductor types."
            )
        if not np.isfinite(alpha).all() or (alpha < 0).any():
            raise ParameterError(
                "alpha must be finite and non-negative (Dirichlet concentrations)."
            )
        if (alpha.sum(axis=-1) <= 0).any():
            raise ParameterError(
                "alpha sums to zero over types for some draw, phase count and zone: every "
                "(phase count, zone) needs at least one eligible conductor type."
            )
        alpha.setflags(write=False)
        set_(self, "alpha", alpha)
        variation = float(np.asarray(self.variation, dtype=float).ravel()[0])
        if not (np.isfinite(variation) and variation >= 0):
            raise ParameterError(
                f"variation must be a non-negative number, got {self.variation!r}."
            )
        set_(self, "variation", variation)
        set_(self, "provenance", dict(self.provenance))

    @property
    def n_types(self) -> int:
        """Number of conductor types."""
        return int(self.r1_ohm_per_km.size)

    @property
    def n_zones(self) -> int:
        """Number of zones of normalised distance."""
        return int(self.alpha.shape[2])

    @property
    def n_draws(self) -> int:
        """Number of posterior draws."""
        return int(self.alpha.shape[0])

    @property
    def type_names(self) -> list[str]:
        """Names of the conductor types (from the provenance, else ``type0``, ``type1``...)."""
        names = self.provenance.get("type_names")
        if isinstance(names, list) and len(names) == self.n_types:
            return [str(n) for n in names]
        return [f"type{t}" for t in range(self.n_types)]

    def expected_type_probs(self) -> np.ndarray:
        """Posterior mean type probabilities, shape (3, n_zones, n_types)."""
        return (self.alpha / self.alpha.sum(axis=-1, keepdims=True)).mean(axis=0)

    def with_variation(self, variation: float) -> ImpedanceParameters:
        """The same parameters with another continuous variation."""
        arrays = self.to_dict()
        arrays["variation"] = variation
        return ImpedanceParameters(**arrays, provenance=self.provenance)

    def to_dict(self) -> dict[str, Any]:
        """The parameter arrays by name."""
        out: dict[str, Any] = {name: getattr(self, name) for name in TYPE_FIELDS}
        out["overhead"] = self.overhead
        out["alpha"] = self.alpha
        out["variation"] = np.asarray([self.variation])
        return out


def sample_type_probs(alpha: np.ndarray, draw: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-realisation type probabilities ``~ Dirichlet(alpha[draw])``, shape (n, 3, Z, T).

    Types with zero concentration get probability zero.
    """
    a = alpha[draw]
    gamma = np.zeros_like(a)
    eligible = a > 0
    gamma[eligible] = rng.standard_gamma(a[eligible])
    total = gamma.sum(axis=-1, keepdims=True)
    # A Dirichlet with tiny concentrations can underflow to all zeros: fall back to its mean.
    mean = a / a.sum(axis=-1, keepdims=True)
    return np.where(total > 0, gamma / np.where(total > 0, total, 1.0), mean)


def sample_line_types(
    params: ImpedanceParameters,
    zone: np.ndarray,
    phase_count: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Conductor type of every line of every realisation.

    Parameters
    ----------
    params : ImpedanceParameters
    zone : ndarray of int, shape (n_buses,)
        Zone of each line (of the bus it feeds).
    phase_count : ndarray of int, shape (n, n_buses)
        Phases of each line (0 where there is no line: the type is then -1).
    rng : numpy.random.Generator

    Returns
    -------
    types : ndarray of int, shape (n, n_buses)
        Type index (-1 where there is no line).
    draw : ndarray of int, shape (n,)
        Posterior draw each realisation used.
    """
    n = int(phase_count.shape[0])
    draw = rng.integers(params.n_draws, size=n)
    probs = sample_type_probs(params.alpha, draw, rng)  # (n, 3, Z, T)
    cum = np.cumsum(probs, axis=-1)
    k_index = np.clip(phase_count, 1, 3) - 1
    rows = np.arange(n)[:, np.newaxis]
    u = rng.random(phase_count.shape)
    types = np.zeros(phase_count.shape, dtype=np.int64)
    # Inverse CDF, one threshold at a time: memory stays O(n x buses).
    for t in range(params.n_types - 1):
        types += u >= cum[rows, k_index, zone[np.newaxis, :], t]
    # Rounding can leave cum[-1] a hair below 1: never pick a type of probability zero.
    chosen_p = probs[rows, k_index, zone[np.newaxis, :], types]
    if (chosen_p == 0).any():
        best = probs.argmax(axis=-1)[rows, k_index, zone[np.newaxis, :]]
        types = np.where(chosen_p == 0, best, types)
    types[phase_count == 0] = -1
    return types, draw


class BayesianImpedanceModel(ConsistentDataMixin):
    """Line conductor types, hence R1, X1, R0, X0, C1, C0 and ampacity, for each line.

    Parameters
    ----------
    parameters : ImpedanceParameters or path-like, optional
        Parameters or a parameter file. Default: the shipped parameters counted from the
        SMART-DS feeders' medium-voltage line codes (no network access).
    variation : float, optional
        Override the parameters' continuous variation (log-normal sd on the impedances).

    Examples
    --------
    >>> ensemble = BayesianPowerModel().sample(feeder, 100, rng=1)  # doctest: +SKIP
    >>> model = BayesianImpedanceModel()
    >>> ensemble = model.sample(feeder, 100, rng=2, ensemble=ensemble)  # doctest: +SKIP
    """

    def __init__(
        self,
        parameters: ImpedanceParameters | str | os.PathLike[str] | None = None,
        *,
        variation: float | None = None,
    ):
        parameters = ImpedanceParameters.coerce(parameters)
        if variation is not None:
            parameters = parameters.with_variation(variation)
        self.parameters = parameters

    def __repr__(self) -> str:
        p = self.parameters
        return (
            f"BayesianImpedanceModel(id={p.provenance.get('id')!r}, types={p.n_types}, "
            f"draws={p.n_draws}, zones={p.n_zones}, variation={p.variation})"
        )

    @classmethod
    def learn(cls, table: TrainingTable, **options: Any) -> BayesianImpedanceModel:
        """A model learned from the lines of a training table (conjugate Dirichlet counts).

        ``options`` go to
        :func:`bayesgrid_plugins.learn.impedance_counting.count_impedance_parameters`.
        """
        from ..plugins import get_fitter

        return cls(get_fitter("impedance")(table, **options))

    def sample_types(
        self,
        feeder: Feeder,
        bus_phases: np.ndarray,
        *,
        rng: Any = None,
        zones: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Conductor type index per line, shape (n, n_buses) (-1 at the source), and draws."""
        params = self.parameters
        masks = np.asarray(bus_phases)
        if masks.ndim != 2 or masks.shape[1] != feeder.n_buses:
            raise ParameterError(
                f"bus_phases has shape {masks.shape}; expected (n_realisations, "
                f"{feeder.n_buses}) aligned with the feeder's buses."
            )
        zone = feeder.zone if zones is None else np.asarray(zones, dtype=np.int64)
        if zone.shape != (feeder.n_buses,):
            raise ParameterError(f"zones must have one entry per bus ({feeder.n_buses}).")
        if zone.min() < 0 or zone.max() >= params.n_zones:
            raise ParameterError(
                f"the impedance parameters have {params.n_zones} zones but the feeder's zones "
                f"run {zone.min()}..{zone.max()}; use feeder.with_zones({params.n_zones})."
            )
        k = n_phases(masks).astype(np.int64)
        k[:, feeder.source] = 0
        missing = (k == 0) & (feeder.parent != -1)[np.newaxis, :]
        if missing.any():
            bus = feeder.bus_id[np.flatnonzero(missing.any(axis=0))[:5]].tolist()
            raise ParameterError(
                f"lines into buses {bus} have no phases in bus_phases; enforce phase consistency "
                "(every bus served) before sampling impedances."
            )
        return sample_line_types(params, zone, k, np.random.default_rng(rng))

    def sample(
        self,
        feeder: Feeder,
        n: int,
        *,
        rng: Any = None,
        ensemble: Ensemble | None = None,
        zones: np.ndarray | None = None,
    ) -> Ensemble:
        """Sample the impedances of ``n`` realisations.

        Parameters
        ----------
        feeder : Feeder
            The topology.
        n : int
            Number of realisations (must equal ``len(ensemble)`` when ``ensemble`` is given).
        rng : seed or numpy.random.Generator, optional
            Anything :func:`numpy.random.default_rng` accepts.
        ensemble : Ensemble, optional
            Realisations whose ``bus_phases`` give each line's phase count; the result is
            ``ensemble.with_fields(...)``. Default: loads and phases are sampled first with the
            default :class:`~bayesgrid_plugins.models.power.BayesianPowerModel` (from a stream
            spawned off ``rng``).
        zones : ndarray of int, shape (n_buses,), optional
            Zone of every bus, overriding ``feeder.zone``.

        Returns
        -------
        Ensemble
            With ``r1_ohm_per_km``, ``x1_ohm_per_km``, ``r0_ohm_per_km``, ``x0_ohm_per_km``
            [ohm/km], ``c1_nf_per_km``, ``c0_nf_per_km`` [nF/km] and ``max_i_ka`` [kA], each
            (n, n_buses) with NaN at the source; ``line_type`` the conductor type drawn for each
            line (-1 at the source), named in ``metadata["line_type_names"]`` with its overhead
            flag in ``metadata["line_type_overhead"]``; ``metadata["impedance_model"]`` names
            the model.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ParameterError(f"n must be a positive integer number of realisations, got {n!r}")
        check_realisations(int(n), feeder.n_buses)
        rng = np.random.default_rng(rng)
        if ensemble is None:
            from .power import BayesianPowerModel

            power_rng, rng = rng.spawn(2)
            ensemble = BayesianPowerModel().sample(feeder, int(n), rng=power_rng, zones=zones)
        if len(ensemble) != n:
            raise ParameterError(f"n={n} but the ensemble holds {len(ensemble)} realisations.")
        if ensemble.n_buses != feeder.n_buses or not np.array_equal(ensemble.bus_id, feeder.bus_id):
            raise ParameterError("the ensemble's buses are not the feeder's (bus_id differs).")
        types, _ = self.sample_types(feeder, ensemble.bus_phases, rng=rng, zones=zones)
        arrays = self.line_arrays(types, rng=rng)
        metadata = {
            **ensemble.metadata,
            "impedance_model": self.parameters.provenance.get("id"),
            "impedance_variation": self.parameters.variation,
            "line_type_names": self.parameters.type_names,
            "line_type_overhead": [float(v) for v in self.parameters.overhead],
        }
        return ensemble.with_fields(**arrays, line_type=types, metadata=metadata)

    def line_arrays(self, types: np.ndarray, *, rng: Any = None) -> dict[str, np.ndarray]:
        """Per-line arrays (``TYPE_FIELDS``) of given type indices (-1: NaN), with variation."""
        params = self.parameters
        valid = types >= 0
        safe = np.where(valid, types, 0)
        out = {}
        for name in TYPE_FIELDS:
            values = getattr(params, name)[safe]
            values[~valid] = np.nan
            out[name] = values
        if params.variation > 0:
            factor = np.exp(
                params.variation * np.random.default_rng(rng).standard_normal(types.shape)
            )
            for name in TYPE_FIELDS[:4]:
                out[name] = out[name] * factor
        return out
