"""The engine protocol: how a power-flow engine plugin builds, updates and solves an ensemble.

An *engine* (pandapower, OpenDSS, power-grid-model or a third party's) is registered through the
``bayesgrid_register_engines`` hook and found by name
(:func:`bayesgrid_plugins.plugins.get_engine`).
It opens a *case*, one network built from a :class:`~bayesgrid_plugins.feeder.Feeder` and an
:class:`~bayesgrid_plugins.ensemble.Ensemble`, which is then switched between realisations in
place::

    engine = get_engine("power-grid-model")
    with engine.open(feeder, ensemble) as case:
        result = case.solve_batch(range(ensemble.n_realisations))   # PowerFlowResult

    with get_engine("opendss").open(feeder, ensemble) as case:
        case.set_realisation(3)
        ok = case.solve()            # converged AND every voltage finite
        v = case.voltages_pu()       # complex (n_buses, 3), NaN where a phase is absent

Results are the core's :class:`~bayesgrid_plugins.results.PowerFlowResult` whatever the engine.
This module holds no engine code: the adapters implement :class:`EngineCase`; the core and the
application only call it.
"""

from __future__ import annotations

import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, cast, runtime_checkable

import numpy as np

from .ensemble import Ensemble
from .errors import BayesGridError, ParameterError
from .feeder import Feeder
from .phases import PHASE_ABC
from .results import PowerFlowResult, voltage_unbalance_percent

__all__ = [
    "Engine",
    "EngineCase",
    "InvalidEngineError",
    "check_case_inputs",
    "check_finite_loads",
    "phase_present",
    "result_from_arrays",
    "validate_engine",
]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_BITS = np.array([1, 2, 4], dtype=np.uint8)


class InvalidEngineError(BayesGridError, TypeError):
    """An object given to ``register`` does not follow the :class:`Engine` protocol."""


@runtime_checkable
class Engine(Protocol):
    """A power-flow engine plugin.

    Attributes
    ----------
    name : str
        Lower-case name, what ``--engine`` takes (``"opendss"``, ``"power-grid-model"``...).
    description : str
        One line for ``bayesgrid plugins``.
    phase_accurate : bool
        True when one- and two-phase laterals are built with their real number of conductors
        (OpenDSS); False for sequence-model engines, which build them as three-phase lines with
        the lateral's real Z1 and Z0 and report the absent phases as absent.
    """

    name: str
    description: str
    phase_accurate: bool

    def open(
        self, feeder: Feeder, ensemble: Ensemble, *, options: Mapping[str, Any] | None = None
    ) -> EngineCase:
        """Build ``feeder`` with every phase any realisation of ``ensemble`` uses."""
        ...


def validate_engine(engine: object) -> Engine:
    """Check that ``engine`` follows the :class:`Engine` protocol and return it.

    Raises
    ------
    InvalidEngineError
        Naming the attribute that is missing or malformed.
    """
    name = getattr(engine, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidEngineError(
            f"engine {engine!r} has name {name!r}; give it a `name` of lower-case letters, "
            "digits, '_', '-' or '.' (it is what --engine takes)."
        )
    description = getattr(engine, "description", None)
    if not isinstance(description, str) or not description.strip():
        raise InvalidEngineError(f"engine {name!r} needs a non-empty one-line `description`.")
    if not isinstance(getattr(engine, "phase_accurate", None), bool):
        raise InvalidEngineError(f"engine {name!r} needs a boolean `phase_accurate` attribute.")
    if not callable(getattr(engine, "open", None)):
        raise InvalidEngineError(
            f"engine {name!r} has no callable `open(feeder, ensemble, *, options)` method."
        )
    return cast(Engine, engine)  # checked above, attribute by attribute


def check_case_inputs(feeder: Feeder, ensemble: Ensemble, *, action: str = "open") -> None:
    """Raise :class:`ParameterError` unless ``ensemble`` was sampled on ``feeder``.

    Parameters
    ----------
    feeder, ensemble
        What is to be opened (or exported).
    action : str, default "open"
        The verb for the message: ``"open"`` (an engine) or ``"export"`` (the exporters).
    """
    if not isinstance(feeder, Feeder) or not isinstance(ensemble, Ensemble):
        who = "an engine opens" if action == "open" else f"{action} needs"
        raise ParameterError(
            f"{who} a Feeder and an Ensemble, got {type(feeder).__name__} and "
            f"{type(ensemble).__name__}."
        )
    if ensemble.n_buses != feeder.n_buses or not np.array_equal(
        np.asarray(ensemble.bus_id, dtype=str), feeder.bus_id
    ):
        raise ParameterError(
            f"ensemble.bus_id ({ensemble.n_buses} buses) does not match feeder.bus_id "
            f"({feeder.n_buses} buses); {action} an ensemble with the feeder it was sampled on."
        )


def check_finite_loads(feeder: Feeder, ensemble: Ensemble) -> None:
    """Raise :class:`ParameterError` where a per-phase load of ``ensemble`` is not finite."""
    for name in ("p_kw", "q_kvar"):
        values = np.asarray(getattr(ensemble, name), dtype=float)
        if not np.isfinite(values).all():
            r, b, _ = np.nonzero(~np.isfinite(values))
            raise ParameterError(
                f"ensemble.{name} is not finite at bus {feeder.bus_id[b[0]]!r} in realisation "
                f"{r[0]} ({r.size} entries): loads must be finite numbers."
            )


def phase_present(masks: np.ndarray) -> np.ndarray:
    """Boolean array ``(..., 3)``: whether phase A, B, C is in each 3-bit mask."""
    return (np.asarray(masks, dtype=np.uint8)[..., None] & _BITS) != 0


def result_from_arrays(
    feeder: Feeder,
    ensemble: Ensemble,
    realisations: np.ndarray,
    v_pu: np.ndarray,
    engine_converged: np.ndarray,
    loading_percent: np.ndarray,
    *,
    engine: str,
    losses_kw: np.ndarray | None = None,
    elapsed_s: np.ndarray | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> PowerFlowResult:
    """Assemble a :class:`PowerFlowResult` from complex voltages, honestly.

    A realisation counts as converged only when the engine said so AND every voltage of a phase
    that exists is finite and positive; the others hold NaN everywhere.

    Parameters
    ----------
    feeder, ensemble
        What was solved.
    realisations : ndarray of int, shape (n,)
        Which realisations, in the order of the arrays.
    v_pu : ndarray of complex, shape (n, n_buses, 3)
        Phase-to-neutral voltages [p.u.]; values of absent phases are ignored.
    engine_converged : ndarray of bool, shape (n,)
        What the engine reported.
    loading_percent : ndarray of float, shape (n, n_buses)
        Loading [%] of the branch into each bus (NaN where it has no rating).
    engine : str
        The engine's name.
    losses_kw, elapsed_s : ndarray, shape (n,), optional
        Active losses [kW] and wall time [s] per realisation.
    metadata : mapping, optional
        Solver options, kept in the result.
    """
    rows = np.asarray(realisations, dtype=np.int64)
    present = phase_present(ensemble.bus_phases[rows])
    v = np.where(present, np.asarray(v_pu, dtype=complex), np.nan + 0j)
    vm = np.abs(v)
    live = np.where(present, vm, 1.0)
    finite = (np.isfinite(live) & (live > 0)).all(axis=(1, 2))
    converged = np.asarray(engine_converged, dtype=bool) & finite
    bad = ~converged
    if (np.asarray(engine_converged, dtype=bool) & ~finite).any():
        which = rows[np.asarray(engine_converged, dtype=bool) & ~finite]
        logger.warning(
            "%s reported convergence with non-finite voltages in realisations %s; counted as "
            "not converged",
            engine,
            which[:10].tolist(),
        )
    vm[bad] = np.nan
    v[bad] = np.nan
    loading = np.asarray(loading_percent, dtype=float).copy()
    loading[bad] = np.nan
    with np.errstate(all="ignore"):
        vm_min = np.fmin.reduce(vm, axis=1)
        vm_max = np.fmax.reduce(vm, axis=1)
        three = ensemble.bus_phases[rows] == PHASE_ABC
        vuf = np.where(three, voltage_unbalance_percent(v), np.nan)
        vuf_max = np.fmax.reduce(vuf, axis=1)
    losses = None if losses_kw is None else np.where(bad, np.nan, losses_kw)
    return PowerFlowResult(
        bus_id=feeder.bus_id.copy(),
        realisations=rows,
        vm_pu=vm,
        converged=converged,
        line_loading_percent=loading,
        vm_min_pu=vm_min,
        vm_max_pu=vm_max,
        vuf_percent=vuf_max,
        engine=engine,
        losses_kw=losses,
        elapsed_s=elapsed_s,
        metadata=dict(metadata or {}),
    )


class EngineCase(ABC):
    """One network built by an engine from a feeder and an ensemble.

    Subclasses implement :meth:`set_realisation`, :meth:`_solve_engine`, :meth:`voltages_pu`,
    :meth:`line_loading_percent`, :meth:`set_injection` and :meth:`native`; :meth:`solve`,
    :meth:`solve_batch` and :meth:`close` have working defaults. A sequence-model engine may
    override :meth:`solve_batch` to solve many realisations in one call.

    Parameters
    ----------
    feeder : Feeder
        The topology.
    ensemble : Ensemble
        The realisations the case switches between.
    engine : str
        The engine's name, recorded in results.
    """

    def __init__(self, feeder: Feeder, ensemble: Ensemble, engine: str) -> None:
        check_case_inputs(feeder, ensemble)
        self.feeder = feeder
        self.ensemble = ensemble
        self.engine = engine
        self.realisation: int | None = None
        self.closed = False

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"realisation {self.realisation}"
        return (
            f"{type(self).__name__}(engine={self.engine!r}, buses={self.feeder.n_buses}, "
            f"realisations={self.ensemble.n_realisations}, {state})"
        )

    def __enter__(self) -> EngineCase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- to implement
    @abstractmethod
    def set_realisation(self, k: int) -> None:
        """Switch the built network to realisation ``k`` (loads, and lines where they differ)."""

    @abstractmethod
    def _solve_engine(self) -> bool:
        """Run the engine once; return what the engine reports as convergence."""

    @abstractmethod
    def voltages_pu(self) -> np.ndarray:
        """Complex phase-to-neutral voltages [p.u.], shape (n_buses, 3), NaN where absent."""

    @abstractmethod
    def line_loading_percent(self) -> np.ndarray:
        """Loading [%] of the branch into each bus, shape (n_buses,), highest phase."""

    @abstractmethod
    def set_injection(self, p_kw: np.ndarray | None, q_kvar: np.ndarray | None = None) -> None:
        """Add a generation injection per bus and phase on top of the loads.

        Parameters
        ----------
        p_kw, q_kvar : ndarray, shape (n_buses, 3), optional
            Injected active [kW] and reactive [kvar] power per phase; None removes the
            injection. It stays until changed, across :meth:`set_realisation`.
        """

    @abstractmethod
    def native(self) -> Any:
        """The engine's own object (pandapower net, OpenDSS context, PGM model)."""

    # ---------------------------------------------------------------- defaults
    def losses_kw(self) -> float:
        """Total active losses [kW] of the last solve (NaN where the engine has none)."""
        return float("nan")

    def reset(self) -> None:
        """Put the engine back in a clean state after a failed solve (default: nothing)."""
        return None

    def solve(self) -> bool:
        """Solve the current realisation.

        Returns
        -------
        bool
            True only when the engine converged AND every voltage of a phase that exists is
            finite and positive. After a failure the case is reset, so the next realisation
            starts clean.
        """
        if self.realisation is None:
            self.set_realisation(0)
        try:
            ok = bool(self._solve_engine())
        except BayesGridError:
            self.reset()
            raise
        if ok:
            v = np.abs(self.voltages_pu())
            present = phase_present(self.ensemble.bus_phases[self.realisation])
            live = np.where(present, v, 1.0)
            ok = bool((np.isfinite(live) & (live > 0)).all())
        if not ok:
            self.reset()
        return ok

    def solve_batch(self, realisations: Iterable[int] | None = None) -> PowerFlowResult:
        """Solve many realisations; default: a loop of :meth:`set_realisation` and :meth:`solve`.

        Parameters
        ----------
        realisations : iterable of int, optional
            Which realisations (negative ones count from the end); default all.

        Returns
        -------
        PowerFlowResult
        """
        rows = self._rows(realisations)
        n, b = rows.size, self.feeder.n_buses
        v = np.full((n, b, 3), np.nan + 0j)
        loading = np.full((n, b), np.nan)
        ok = np.zeros(n, dtype=bool)
        losses = np.full(n, np.nan)
        elapsed = np.zeros(n)
        for j, k in enumerate(rows.tolist()):
            start = time.perf_counter()
            self.set_realisation(k)
            ok[j] = self.solve()
            if ok[j]:
                v[j] = self.voltages_pu()
                loading[j] = self.line_loading_percent()
                losses[j] = self.losses_kw()
            elapsed[j] = time.perf_counter() - start
        return result_from_arrays(
            self.feeder,
            self.ensemble,
            rows,
            v,
            ok,
            loading,
            engine=self.engine,
            losses_kw=losses,
            elapsed_s=elapsed,
        )

    def close(self) -> None:
        """Release the engine's resources; the case cannot be used afterwards."""
        self.closed = True

    # ---------------------------------------------------------------- helpers
    def _rows(self, realisations: Iterable[int] | None) -> np.ndarray:
        n = self.ensemble.n_realisations
        if realisations is None:
            return np.arange(n)
        rows = np.asarray(list(realisations), dtype=np.int64).ravel()
        if rows.size == 0:
            raise ParameterError("realisations is empty: give at least one realisation to solve.")
        bad = (rows < -n) | (rows >= n)
        if bad.any():
            raise ParameterError(
                f"realisations {rows[bad][:10].tolist()} are out of range for an ensemble of {n}."
            )
        return rows % n

    def _check_k(self, k: int) -> int:
        n = self.ensemble.n_realisations
        if not -n <= int(k) < n:
            raise ParameterError(f"realisation {k} is out of range for an ensemble of {n}.")
        return int(k) % n
