"""A bayesgrid engine plugin: a three-phase backward/forward sweep in NumPy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from bayesgrid_plugins import hookimpl
from bayesgrid_plugins.engines import EngineCase

#: Line data used where the ensemble carries none [ohm/km], [kA].
DEFAULT_LINE = {"r1": 0.2, "x1": 0.08, "r0": 0.8, "x0": 0.32, "max_i_ka": 0.3}


class SweepCase(EngineCase):
    """The feeder as arrays; each solve sweeps currents up and voltages down the tree."""

    def __init__(self, feeder: Any, ensemble: Any, options: Mapping[str, Any] | None) -> None:
        super().__init__(feeder, ensemble, "sweep")
        opts = dict(options or {})
        self.tolerance = float(opts.get("tolerance_pu", 1e-10))
        self.max_iterations = int(opts.get("max_iterations", 100))
        self.order = np.asarray(feeder.preorder)
        self.base_v = feeder.vn_kv * 1e3 / np.sqrt(3.0)  # phase-to-neutral [V]
        self.injection = np.zeros((feeder.n_buses, 3), dtype=complex)
        self.v = np.zeros((feeder.n_buses, 3), dtype=complex)
        self.i_line = np.zeros((feeder.n_buses, 3), dtype=complex)
        self.set_realisation(0)

    def _field(self, name: str, k: int) -> np.ndarray:
        values = getattr(self.ensemble, f"{name}_ohm_per_km" if name != "max_i_ka" else name)
        if values is None:
            return np.full(self.feeder.n_buses, DEFAULT_LINE[name])
        return np.asarray(values[k], dtype=float)

    def set_realisation(self, k: int) -> None:
        k = self._check_k(k)
        z1 = self._field("r1", k) + 1j * self._field("x1", k)
        z0 = self._field("r0", k) + 1j * self._field("x0", k)
        length = self.feeder.length_km
        zs, zm = (2 * z1 + z0) / 3 * length, (z0 - z1) / 3 * length
        self.z = zm[:, None, None] * np.ones((3, 3)) + (zs - zm)[:, None, None] * np.eye(3)
        self.ampacity = self._field("max_i_ka", k) * 1e3
        self.s_load = (self.ensemble.p_kw[k] + 1j * self.ensemble.q_kvar[k]) * 1e3  # [VA]
        self.realisation = k

    def set_injection(self, p_kw: Any, q_kvar: Any = None) -> None:
        b = self.feeder.n_buses
        p = np.zeros((b, 3)) if p_kw is None else np.asarray(p_kw, dtype=float)
        q = np.zeros((b, 3)) if q_kvar is None else np.asarray(q_kvar, dtype=float)
        self.injection = (p + 1j * q) * 1e3

    def _solve_engine(self) -> bool:
        shift = np.exp(-2j * np.pi / 3 * np.arange(3))
        v = self.base_v[:, None] * shift[None, :]
        parent = self.feeder.parent
        s = self.s_load - self.injection
        for _ in range(self.max_iterations):
            with np.errstate(all="ignore"):
                current = np.conj(s / v)
            branch = current.copy()
            for i in self.order[::-1]:  # leaves first
                if parent[i] >= 0:
                    branch[parent[i]] += branch[i]
            new = v.copy()
            for i in self.order:  # source first
                if parent[i] >= 0:
                    new[i] = new[parent[i]] - self.z[i] @ branch[i]
            change = np.nanmax(np.abs(new - v) / self.base_v[:, None])
            v = new
            if not np.isfinite(change):
                return False
            if change < self.tolerance:
                self.v, self.i_line = v, branch
                return True
        return False

    def voltages_pu(self) -> np.ndarray:
        return self.v / self.base_v[:, None]

    def line_loading_percent(self) -> np.ndarray:
        out = 100.0 * np.abs(self.i_line).max(axis=1) / self.ampacity
        out[self.feeder.source] = np.nan
        return out

    def native(self) -> Any:
        return {"z_ohm": self.z, "v_v": self.v}


class SweepEngine:
    """A three-phase backward/forward sweep (constant-power loads, ideal source)."""

    name = "sweep"
    description = "example: three-phase backward/forward sweep in NumPy (ideal source)"
    phase_accurate = False

    def open(self, feeder: Any, ensemble: Any, *, options: Any = None) -> SweepCase:
        return SweepCase(feeder, ensemble, options)


@hookimpl
def bayesgrid_register_engines(register: Any) -> None:
    """Register the ``sweep`` engine."""
    register(SweepEngine())
