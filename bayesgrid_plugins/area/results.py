"""Power-flow results of a whole area (both engines return this)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bayesgrid_plugins.reprs import compact_repr, value_range

__all__ = ["AreaPowerFlow"]


@dataclass(frozen=True, eq=False)
class AreaPowerFlow:
    """Three-phase voltages of every bus of an area, per solved realisation.

    Attributes
    ----------
    bus_id : ndarray of str
        Bus names (transmission ids, ``<substation>~mvbus`` busbars, feeder bus ids).
    level : ndarray of str
        ``"hv"``, ``"mv"`` or ``"lv"``.
    vn_kv : ndarray of float
        Nominal voltage [kV].
    realisations : ndarray of int
        The solved realisations.
    vm_pu : ndarray of float, shape (n, n_buses, 3)
        Phase-to-neutral voltage magnitude [p.u.]; NaN where a bus lacks the phase.
    converged : ndarray of bool
        Per realisation.
    elapsed_s : ndarray of float
        Wall time [s] per realisation (update and solve).
    engine : str
        ``"pandapower"`` or ``"opendss"``.
    metadata : dict
        Solver options.
    line_loading_pct, trafo_loading_pct : ndarray of float, shape (n,), optional
        Highest loading [%] of any line / transformer (of its ampacity / rating) per solved
        realisation (NaN where not converged); None when the engine does not report it.
    """

    bus_id: np.ndarray
    level: np.ndarray
    vn_kv: np.ndarray
    realisations: np.ndarray
    vm_pu: np.ndarray
    converged: np.ndarray
    elapsed_s: np.ndarray
    engine: str
    metadata: dict[str, Any] = field(default_factory=dict)
    line_loading_pct: np.ndarray | None = None
    trafo_loading_pct: np.ndarray | None = None

    def __repr__(self) -> str:
        ok = np.asarray(self.converged, dtype=bool)
        return compact_repr(
            "AreaPowerFlow",
            engine=self.engine,
            realisations=int(ok.size),
            buses=len(self.bus_id),
            converged=f"{int(ok.sum())}/{ok.size}",
            vm_pu=value_range(np.asarray(self.vm_pu)[ok]),
            elapsed_s=float(np.sum(self.elapsed_s)),
        )

    def voltage_range(self, level: str | None = None) -> tuple[float, float]:
        """Lowest and highest voltage [p.u.] over converged realisations (and a level)."""
        sel = np.ones(self.bus_id.size, dtype=bool) if level is None else self.level == level
        v = self.vm_pu[self.converged][:, sel]
        if not np.isfinite(v).any():
            return (np.nan, np.nan)
        return float(np.nanmin(v)), float(np.nanmax(v))

    def max_loading(self) -> tuple[float, float]:
        """Highest line and transformer loading [%] over converged realisations (NaN: none)."""

        def top(values: np.ndarray | None) -> float:
            if values is None:
                return float("nan")
            v = np.asarray(values, dtype=float)[np.asarray(self.converged, dtype=bool)]
            return float(np.nanmax(v)) if np.isfinite(v).any() else float("nan")

        return top(self.line_loading_pct), top(self.trafo_loading_pct)

    def summary(self) -> str:
        """Voltage ranges per level."""
        parts = []
        for level in ("hv", "mv", "lv"):
            if (self.level == level).any():
                lo, hi = self.voltage_range(level)
                parts.append(f"{level.upper()} {lo:.4f}..{hi:.4f}")
        return (
            f"{self.engine}: {int(self.converged.sum())}/{self.converged.size} converged, "
            f"{self.bus_id.size} buses, vm [p.u.] " + ", ".join(parts)
        )
