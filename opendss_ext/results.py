"""Power-flow results of an ensemble solved in OpenDSS.

The field names and shapes are those of the pandapower adapter's ``PowerFlowResult``, so results
of the two engines can be compared directly; ``losses_kw`` is added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["PowerFlowResult", "voltage_unbalance_percent"]

_A = np.exp(2j * np.pi / 3)


def voltage_unbalance_percent(v_abc: np.ndarray) -> np.ndarray:
    """Voltage unbalance factor |V2| / |V1| [%] of complex phase voltages, shape (..., 3)."""
    v = np.asarray(v_abc, dtype=complex)
    v1 = (v[..., 0] + _A * v[..., 1] + _A**2 * v[..., 2]) / 3
    v2 = (v[..., 0] + _A**2 * v[..., 1] + _A * v[..., 2]) / 3
    mag1 = np.abs(v1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mag1 > 0, 100.0 * np.abs(v2) / mag1, np.nan)


@dataclass(frozen=True, eq=False)
class PowerFlowResult:
    """Three-phase power-flow results of several realisations of one feeder.

    Attributes
    ----------
    bus_id : ndarray of str, shape (n_buses,)
        The feeder's bus ids.
    realisations : ndarray of int, shape (n,)
        Which realisations were solved, in order.
    vm_pu : ndarray of float, shape (n, n_buses, 3)
        Phase-to-neutral voltage magnitude [p.u.] of phases A, B, C; NaN where the bus lacks the
        phase in that realisation, and everywhere for a realisation that did not converge.
    converged : ndarray of bool, shape (n,)
        Whether the power flow converged.
    line_loading_percent : ndarray of float, shape (n, n_buses)
        Loading [%] of the line into each bus (highest phase current over its normal rating);
        NaN at the source.
    vm_min_pu, vm_max_pu : ndarray of float, shape (n, 3)
        Lowest and highest voltage [p.u.] per phase over the buses that have the phase.
    vuf_percent : ndarray of float, shape (n,)
        Highest voltage unbalance factor |V2| / |V1| [%] over the three-phase buses.
    losses_kw : ndarray of float, shape (n,)
        Total active losses [kW].
    engine : str
        ``"opendss"``.
    elapsed_s : ndarray of float, shape (n,)
        Wall time [s] of each realisation's update and solve.
    metadata : dict
        Options used.
    """

    bus_id: np.ndarray
    realisations: np.ndarray
    vm_pu: np.ndarray
    converged: np.ndarray
    line_loading_percent: np.ndarray
    vm_min_pu: np.ndarray
    vm_max_pu: np.ndarray
    vuf_percent: np.ndarray
    losses_kw: np.ndarray
    engine: str = "opendss"
    elapsed_s: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_realisations(self) -> int:
        """Number of solved realisations."""
        return int(self.converged.size)
