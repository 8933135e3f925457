"""Power-flow results of an ensemble, as arrays aligned with the feeder.

Both adapters return this class (``pandapower_ext.solve_ensemble`` and
``opendss_ext.solve_ensemble``), so code that reads results does not care which engine solved
them, and results of the two engines can be compared element by element.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .reprs import compact_repr, value_range

__all__ = ["PowerFlowResult", "power_flow_summary", "voltage_unbalance_percent"]

_A = np.exp(2j * np.pi / 3)


def voltage_unbalance_percent(v_abc: np.ndarray) -> np.ndarray:
    """Voltage unbalance factor |V2| / |V1| [%] of complex phase voltages.

    Parameters
    ----------
    v_abc : ndarray of complex, shape (..., 3)
        Phase-to-neutral voltages of phases A, B, C (any unit, any reference).

    Returns
    -------
    ndarray of float, shape (...)
        Negative- over positive-sequence magnitude, in percent (NaN where V1 is zero).

    Examples
    --------
    >>> import numpy as np
    >>> from pandapower_ext import voltage_unbalance_percent
    >>> a = np.exp(-2j * np.pi / 3)
    >>> print(f"{voltage_unbalance_percent(np.array([1.0, 0.95 * a, a**2])):.2f}")  # [%]
    1.69
    """
    v = np.asarray(v_abc, dtype=complex)
    v1 = (v[..., 0] + _A * v[..., 1] + _A**2 * v[..., 2]) / 3
    v2 = (v[..., 0] + _A**2 * v[..., 1] + _A * v[..., 2]) / 3
    mag1 = np.abs(v1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mag1 > 0, 100.0 * np.abs(v2) / mag1, np.nan)


@dataclass(frozen=True, eq=False)
class PowerFlowResult:
    """Three-phase power-flow results of several realisations of one feeder.

    Arrays have the solved realisations on their first axis (in the order of
    :attr:`realisations`) and the feeder's buses on the second, aligned with ``bus_id``.
    Realisations that did not converge hold NaN.

    Attributes
    ----------
    bus_id : ndarray of str, shape (n_buses,)
        The feeder's bus ids.
    realisations : ndarray of int, shape (n,)
        Which realisations of the ensemble were solved.
    vm_pu : ndarray of float, shape (n, n_buses, 3)
        Phase-to-neutral voltage magnitude [p.u.] of phases A, B, C; NaN where the bus lacks the
        phase in that realisation.
    converged : ndarray of bool, shape (n,)
        Whether the power flow converged.
    line_loading_percent : ndarray of float, shape (n, n_buses)
        Loading [%] of the line (or transformer) into each bus, highest phase; NaN at the source
        and for branches that have no rating (switches).
    vm_min_pu, vm_max_pu : ndarray of float, shape (n, 3)
        Lowest and highest voltage [p.u.] per phase over the buses that have the phase.
    vuf_percent : ndarray of float, shape (n,)
        Highest voltage unbalance factor |V2| / |V1| [%] over the three-phase buses.
    engine : str
        Which engine solved it (``"pandapower"`` or ``"opendss"``).
    losses_kw : ndarray of float, shape (n,), optional
        Total active losses [kW] (where the engine reports them).
    elapsed_s : ndarray of float, shape (n,), optional
        Wall time [s] of each realisation's update and solve.
    metadata : dict
        Solver options used.

    Examples
    --------
    >>> from pandapower_ext import build_net, solve_ensemble
    >>> net = build_net(feeder, ensemble)  # doctest: +SKIP
    >>> result = solve_ensemble(net, feeder, ensemble)  # doctest: +SKIP
    >>> result.vm_min_pu.min(), result.vuf_percent.max()  # [p.u.], [%]  # doctest: +SKIP
    """

    bus_id: np.ndarray
    realisations: np.ndarray
    vm_pu: np.ndarray
    converged: np.ndarray
    line_loading_percent: np.ndarray
    vm_min_pu: np.ndarray
    vm_max_pu: np.ndarray
    vuf_percent: np.ndarray
    engine: str = ""
    losses_kw: np.ndarray | None = None
    elapsed_s: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        ok = np.asarray(self.converged, dtype=bool)
        return compact_repr(
            "PowerFlowResult",
            engine=self.engine,
            realisations=int(ok.size),
            buses=len(self.bus_id),
            converged=f"{int(ok.sum())}/{ok.size}",
            vm_pu=value_range(self.vm_min_pu[ok].tolist() + self.vm_max_pu[ok].tolist()),
            vuf_max_percent=float(np.nanmax(self.vuf_percent))
            if np.isfinite(np.asarray(self.vuf_percent, dtype=float)).any()
            else None,
            elapsed_s=None if self.elapsed_s is None else float(np.sum(self.elapsed_s)),
        )

    @property
    def n_realisations(self) -> int:
        """Number of solved realisations."""
        return int(self.realisations.size)

    @property
    def all_converged(self) -> bool:
        """True when every realisation converged."""
        return bool(np.all(self.converged))

    def voltage_range(self) -> np.ndarray:
        """Lowest and highest voltage [p.u.] per phase over all converged realisations.

        Returns
        -------
        ndarray, shape (2, 3)
            Row 0: minimum per phase A, B, C; row 1: maximum.
        """
        ok = self.converged
        lo = np.fmin.reduce(self.vm_min_pu[ok], axis=0) if ok.any() else np.full(3, np.nan)
        hi = np.fmax.reduce(self.vm_max_pu[ok], axis=0) if ok.any() else np.full(3, np.nan)
        return np.vstack([lo, hi])


def power_flow_summary(converged: np.ndarray, vmin: np.ndarray, vmax: np.ndarray) -> dict[str, Any]:
    """Counts and extreme voltages [p.u.] of the converged realisations, for run summaries.

    Parameters
    ----------
    converged : ndarray of bool, shape (n,)
        Whether each realisation converged (with finite voltages).
    vmin, vmax : ndarray, shape (n, ...)
        Lowest and highest voltages [p.u.] of each realisation.

    Returns
    -------
    dict
        ``converged``, ``solved``, ``vm_min_pu`` and ``vm_max_pu`` (None when none converged).

    Examples
    --------
    >>> import numpy as np
    >>> power_flow_summary(np.array([True, False]), np.array([0.97, np.nan]), np.array([1.0, 1.0]))
    {'converged': 1, 'solved': 2, 'vm_min_pu': 0.97, 'vm_max_pu': 1.0}
    """
    ok = np.asarray(converged, dtype=bool)
    lo, hi = np.asarray(vmin, dtype=float)[ok], np.asarray(vmax, dtype=float)[ok]
    return {
        "converged": int(ok.sum()),
        "solved": int(ok.size),
        "vm_min_pu": float(np.nanmin(lo)) if ok.any() else None,
        "vm_max_pu": float(np.nanmax(hi)) if ok.any() else None,
    }
