"""Feasibility of every realisation: did it converge, are voltages and loadings within limits?

:func:`feasibility_of` turns a :class:`~bayesgrid_plugins.results.PowerFlowResult` and its
feeder into a :class:`Feasibility` (arrays over realisations); :meth:`Feasibility.record` gives
the :class:`FeasibilityRecord` of one realisation with what it violates. Voltage limits are
those of planning (:data:`~bayesgrid_plugins.planning.MV_LIMITS_PU` for buses above
:data:`~bayesgrid_plugins.equipment.LV_MAX_KV`, :data:`~bayesgrid_plugins.planning.LV_LIMITS_PU`
below); a line or transformer is overloaded above 100 % of its rating. A branch whose two buses
have different nominal voltages is a transformer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .equipment import LV_MAX_KV
from .errors import ParameterError
from .feeder import Feeder
from .planning import PlanningRules, is_transformer

__all__ = ["MAX_LOADING_PERCENT", "Feasibility", "FeasibilityRecord", "feasibility_of"]

#: Loading [%] of a line or transformer above which it is overloaded.
MAX_LOADING_PERCENT = 100.0


def _num(value: float) -> float | None:
    return round(float(value), 6) if np.isfinite(value) else None


@dataclass(frozen=True)
class FeasibilityRecord:
    """Feasibility of one realisation.

    Attributes
    ----------
    realisation : int
        Index in the ensemble.
    converged : bool
        The engine converged and every voltage is finite.
    mv_vm_min_pu, mv_vm_max_pu, lv_vm_min_pu, lv_vm_max_pu : float
        Lowest and highest phase voltage [p.u.] of the medium- and low-voltage buses (NaN where
        the feeder has no bus of that level or the realisation did not converge).
    line_loading_percent : float
        Highest line loading [%].
    line_element : str or None
        Bus id the most loaded line feeds.
    trafo_loading_percent : float
        Highest transformer loading [%] (NaN without transformers).
    trafo_element : str or None
        Bus id the most loaded transformer feeds.
    violations : tuple of str
        What is violated, in words (empty when feasible).
    """

    realisation: int
    converged: bool
    mv_vm_min_pu: float
    mv_vm_max_pu: float
    lv_vm_min_pu: float
    lv_vm_max_pu: float
    line_loading_percent: float
    line_element: str | None
    trafo_loading_percent: float
    trafo_element: str | None
    violations: tuple[str, ...]

    @property
    def feasible(self) -> bool:
        """True when nothing is violated."""
        return not self.violations

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready copy."""
        return {
            "realisation": self.realisation,
            "converged": self.converged,
            "feasible": self.feasible,
            "mv_vm_min_pu": _num(self.mv_vm_min_pu),
            "mv_vm_max_pu": _num(self.mv_vm_max_pu),
            "lv_vm_min_pu": _num(self.lv_vm_min_pu),
            "lv_vm_max_pu": _num(self.lv_vm_max_pu),
            "line_loading_percent": _num(self.line_loading_percent),
            "line_element": self.line_element,
            "trafo_loading_percent": _num(self.trafo_loading_percent),
            "trafo_element": self.trafo_element,
            "violations": list(self.violations),
        }


@dataclass(frozen=True, eq=False)
class Feasibility:
    """Feasibility of every solved realisation, as arrays aligned with ``realisations``.

    Attributes
    ----------
    realisations : ndarray of int, shape (n,)
    converged : ndarray of bool, shape (n,)
    vm_min_pu, vm_max_pu : ndarray, shape (n, 2)
        Lowest and highest phase voltage [p.u.] of the MV (column 0) and LV (column 1) buses.
    line_loading_percent, trafo_loading_percent : ndarray, shape (n,)
        Highest line and transformer loading [%].
    line_element, trafo_element : ndarray of str, shape (n,)
        Bus id fed by the most loaded line and transformer ("" where none).
    voltage_ok, loading_ok : ndarray of bool, shape (n,)
    mv_limits_pu, lv_limits_pu : (float, float)
    max_loading_percent : float
    """

    realisations: np.ndarray
    converged: np.ndarray
    vm_min_pu: np.ndarray
    vm_max_pu: np.ndarray
    line_loading_percent: np.ndarray
    line_element: np.ndarray
    trafo_loading_percent: np.ndarray
    trafo_element: np.ndarray
    voltage_ok: np.ndarray
    loading_ok: np.ndarray
    mv_limits_pu: tuple[float, float]
    lv_limits_pu: tuple[float, float]
    max_loading_percent: float

    def __repr__(self) -> str:
        return (
            f"Feasibility(realisations={self.realisations.size}, "
            f"converged={int(self.converged.sum())}, feasible={int(self.feasible.sum())})"
        )

    @property
    def feasible(self) -> np.ndarray:
        """Boolean (n,): converged, voltages within limits and nothing overloaded."""
        return self.converged & self.voltage_ok & self.loading_ok

    @property
    def infeasible(self) -> np.ndarray:
        """Indices (into the ensemble) of the realisations that are not feasible."""
        return self.realisations[~self.feasible]

    @property
    def all_feasible(self) -> bool:
        """True when every realisation is feasible."""
        return bool(self.feasible.all())

    def record(self, j: int) -> FeasibilityRecord:
        """The record of the ``j``-th solved realisation (position in ``realisations``)."""
        conv = bool(self.converged[j])
        words: list[str] = []
        if not conv:
            words.append("did not converge")
        else:
            for col, level, (lo, hi) in (
                (0, "MV", self.mv_limits_pu),
                (1, "LV", self.lv_limits_pu),
            ):
                vmin, vmax = self.vm_min_pu[j, col], self.vm_max_pu[j, col]
                if np.isfinite(vmin) and (vmin < lo or vmax > hi):
                    words.append(
                        f"{level} voltage {vmin:.4f}-{vmax:.4f} p.u. outside {lo:.2f}-{hi:.2f}"
                    )
            for what, value, element in (
                ("line", self.line_loading_percent[j], self.line_element[j]),
                ("transformer", self.trafo_loading_percent[j], self.trafo_element[j]),
            ):
                if np.isfinite(value) and value > self.max_loading_percent:
                    words.append(f"{what} into bus {element} loaded {value:.0f} %")
        return FeasibilityRecord(
            realisation=int(self.realisations[j]),
            converged=conv,
            mv_vm_min_pu=float(self.vm_min_pu[j, 0]),
            mv_vm_max_pu=float(self.vm_max_pu[j, 0]),
            lv_vm_min_pu=float(self.vm_min_pu[j, 1]),
            lv_vm_max_pu=float(self.vm_max_pu[j, 1]),
            line_loading_percent=float(self.line_loading_percent[j]),
            line_element=str(self.line_element[j]) or None,
            trafo_loading_percent=float(self.trafo_loading_percent[j]),
            trafo_element=str(self.trafo_element[j]) or None,
            violations=tuple(words),
        )

    def records(self) -> list[FeasibilityRecord]:
        """One record per solved realisation."""
        return [self.record(j) for j in range(self.realisations.size)]

    def summary(self, *, listed: int = 50) -> dict[str, Any]:
        """Counts, and the first ``listed`` infeasible realisations with their violations."""
        bad = np.flatnonzero(~self.feasible)
        return {
            "realisations": int(self.realisations.size),
            "converged": int(self.converged.sum()),
            "feasible": int(self.feasible.sum()),
            "voltage_ok": int((self.converged & self.voltage_ok).sum()),
            "loading_ok": int((self.converged & self.loading_ok).sum()),
            "mv_limits_pu": list(self.mv_limits_pu),
            "lv_limits_pu": list(self.lv_limits_pu),
            "max_loading_percent": self.max_loading_percent,
            "infeasible": [self.record(int(j)).as_dict() for j in bad[:listed]],
            "infeasible_more": max(int(bad.size) - listed, 0),
        }


def _worst(values: np.ndarray, mask: np.ndarray, ids: np.ndarray) -> tuple[Any, Any]:
    n = values.shape[0]
    if not mask.any():
        return np.full(n, np.nan), np.full(n, "", dtype=object)
    sub = np.where(np.isfinite(values[:, mask]), values[:, mask], -np.inf)
    pos = sub.argmax(axis=1)
    best = sub[np.arange(n), pos]
    element = np.where(np.isfinite(best), ids[mask][pos], "")
    return np.where(np.isfinite(best), best, np.nan), element.astype(object)


def feasibility_of(
    result: Any,
    feeder: Feeder,
    *,
    rules: PlanningRules | None = None,
    max_loading_percent: float = MAX_LOADING_PERCENT,
) -> Feasibility:
    """The :class:`Feasibility` of a power-flow result.

    Parameters
    ----------
    result : PowerFlowResult
        Solved realisations of ``feeder``.
    feeder : Feeder
        Gives each bus's voltage level and which branches are transformers.
    rules : PlanningRules, optional
        Voltage limits (default: MV 0.95-1.05 p.u., LV 0.90-1.10 p.u.).
    max_loading_percent : float, default 100
        Loading [%] above which a line or transformer is overloaded.

    Examples
    --------
    >>> from bayesgrid_plugins.feasibility import feasibility_of
    >>> report = feasibility_of(result, feeder)  # doctest: +SKIP
    >>> report.infeasible, report.record(0).violations  # doctest: +SKIP
    """
    rules = rules or PlanningRules()
    vm = np.asarray(result.vm_pu, dtype=float)
    if vm.ndim != 3 or vm.shape[1] != feeder.n_buses:
        raise ParameterError(
            f"result.vm_pu has shape {vm.shape}; expected (n, {feeder.n_buses}, 3) for this "
            "feeder's buses: pass the feeder the result was solved on."
        )
    n = vm.shape[0]
    converged = np.asarray(result.converged, dtype=bool).copy()
    lv = np.asarray(feeder.vn_kv, dtype=float) <= LV_MAX_KV
    vmin = np.full((n, 2), np.nan)
    vmax = np.full((n, 2), np.nan)
    with np.errstate(invalid="ignore"):
        for col, mask in ((0, ~lv), (1, lv)):
            if mask.any():
                v = vm[:, mask, :].reshape(n, -1)
                finite = np.isfinite(v)
                has = finite.any(axis=1)
                vmin[:, col] = np.where(has, np.where(finite, v, np.inf).min(axis=1), np.nan)
                vmax[:, col] = np.where(has, np.where(finite, v, -np.inf).max(axis=1), np.nan)
    vmin[~converged] = np.nan
    vmax[~converged] = np.nan
    voltage_ok = np.ones(n, dtype=bool)
    for col, (lo, hi) in ((0, rules.mv_limits_pu), (1, rules.lv_limits_pu)):
        present = np.isfinite(vmin[:, col])
        voltage_ok &= ~present | ((vmin[:, col] >= lo) & (vmax[:, col] <= hi))
    loading = np.asarray(result.line_loading_percent, dtype=float)
    trafo = is_transformer(feeder)
    line = np.zeros(feeder.n_buses, dtype=bool)
    line[feeder.lines] = True
    line &= ~trafo
    ids = np.asarray(feeder.bus_id, dtype=str)
    line_max, line_el = _worst(loading, line, ids)
    trafo_max, trafo_el = _worst(loading, trafo, ids)
    with np.errstate(invalid="ignore"):
        loading_ok = ~(line_max > max_loading_percent) & ~(trafo_max > max_loading_percent)
    return Feasibility(
        realisations=np.asarray(result.realisations, dtype=np.int64).copy(),
        converged=converged,
        vm_min_pu=vmin,
        vm_max_pu=vmax,
        line_loading_percent=line_max,
        line_element=line_el,
        trafo_loading_percent=trafo_max,
        trafo_element=trafo_el,
        voltage_ok=voltage_ok,
        loading_ok=loading_ok,
        mv_limits_pu=(rules.mv_limits_pu[0], rules.mv_limits_pu[1]),
        lv_limits_pu=(rules.lv_limits_pu[0], rules.lv_limits_pu[1]),
        max_loading_percent=float(max_loading_percent),
    )
