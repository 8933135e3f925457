"""The ``pandapower`` engine: a native pandapower net switched between realisations in place.

One net is built per ensemble (:func:`~pandapower_ext.populate.build_net`); switching rewrites the
``asymmetric_load`` rows (and line data where they differ) and ``runpp_3ph`` solves it. Lines are
pandapower's sequence-model three-phase lines: one- and two-phase laterals keep their real Z1 and
Z0 and their absent phases are reported as absent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from bayesgrid_plugins import hookimpl
from bayesgrid_plugins.engines import EngineCase
from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import ParameterError
from bayesgrid_plugins.feeder import Feeder

from ._netmap import KIND_LINE, KIND_TRAFO, bus_labels, fed_branches
from .populate import build_net, populate_loads, set_realisation
from .solve import _RECYCLE, _default_init, check_3ph_ready, solve_with_retries

__all__ = ["PandapowerCase", "PandapowerEngine"]

logger = logging.getLogger(__name__)

_OPTIONS = frozenset({"numba", "init", "reuse", "max_iteration", "tolerance_mva", "net", "f_hz"})


class PandapowerCase(EngineCase):
    """A pandapower net holding a feeder, switched between the ensemble's realisations.

    Parameters
    ----------
    feeder, ensemble
        What to build.
    options : mapping, optional
        ``numba`` (default True), ``init`` (default flat, or DC behind phase-shifting
        transformers), ``reuse`` (recycle pandapower's matrices while only loads change, default
        True), ``max_iteration``, ``tolerance_mva``, ``f_hz``, or ``net``: the user's own net to
        solve instead of building one (its loads are replaced, in place, by the ensemble's
        per-phase loads: :func:`~pandapower_ext.populate.populate_loads`).
    """

    def __init__(
        self, feeder: Feeder, ensemble: Ensemble, options: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(feeder, ensemble, "pandapower")
        opts = dict(options or {})
        unknown = sorted(set(opts) - _OPTIONS)
        if unknown:
            raise ParameterError(
                f"pandapower engine options {unknown} are unknown; known: {sorted(_OPTIONS)}."
            )
        net = opts.pop("net", None)
        f_hz = float(opts.pop("f_hz", 50.0))
        if net is None:
            self._net = build_net(feeder, ensemble, 0, f_hz=f_hz)
        else:  # the net solves this ensemble: its loads become the ensemble's, in place
            self._net = populate_loads(net, feeder, ensemble, 0)
        check_3ph_ready(self._net)
        self.realisation = 0
        self._numba = bool(opts.get("numba", True))
        self._init = opts.get("init") or _default_init(self._net)
        self._reuse = bool(opts.get("reuse", True))
        self._max_iteration = opts.get("max_iteration", "auto")
        self._tolerance = float(opts.get("tolerance_mva", 1e-8))
        self._recycle_ok = False
        self._labels = bus_labels(self._net, feeder)
        self._kind, self._element = fed_branches(self._net, feeder, self._labels)
        self._sgen_rows: np.ndarray | None = None

    def set_realisation(self, k: int) -> None:
        """Switch the net to realisation ``k``."""
        k = self._check_k(k)
        if set_realisation(self._net, self.ensemble, k):
            self._recycle_ok = False
        self.realisation = k

    def _solve_engine(self) -> bool:
        import pandapower as pp

        k = int(self.realisation or 0)
        recycle = _RECYCLE if (self._reuse and self._recycle_ok) else None
        failure, self._init = solve_with_retries(
            pp,
            self._net,
            k,
            self._labels,
            self.ensemble.bus_phases[k],
            numba=self._numba,
            init=self._init,
            max_iteration=self._max_iteration,
            tolerance_mva=self._tolerance,
            recycle=recycle,
        )
        self._recycle_ok = failure is None
        return failure is None

    def reset(self) -> None:
        """Forget pandapower's cached matrices, so a failure cannot poison the next solve."""
        self._recycle_ok = False
        self._net.converged = False

    def voltages_pu(self) -> np.ndarray:
        """Complex phase-to-neutral voltages [p.u.], (n_buses, 3)."""
        res = self._net.res_bus_3ph
        rows = res.index.get_indexer(self._labels)
        vm = res[["vm_a_pu", "vm_b_pu", "vm_c_pu"]].to_numpy(dtype=float)[rows]
        va = res[["va_a_degree", "va_b_degree", "va_c_degree"]].to_numpy(dtype=float)[rows]
        return vm * np.exp(1j * np.deg2rad(va))

    def line_loading_percent(self) -> np.ndarray:
        """Loading [%] of the line or transformer into each bus, NaN at the source."""
        out = np.full(self.feeder.n_buses, np.nan)
        for kind, table in ((KIND_LINE, "res_line_3ph"), (KIND_TRAFO, "res_trafo_3ph")):
            chosen = self._kind == kind
            if chosen.any():
                res = self._net[table]
                rows = res.index.get_indexer(self._element[chosen])
                out[chosen] = res["loading_percent"].to_numpy(dtype=float)[rows]
        return out

    def losses_kw(self) -> float:
        """Total active losses [kW] of lines and transformers (no-load included)."""
        total = 0.0
        for table, cols in (
            ("res_line_3ph", ("pl_a_mw", "pl_b_mw", "pl_c_mw")),
            ("res_trafo_3ph", ("pl_a_mw", "pl_b_mw", "pl_c_mw")),
        ):
            res = self._net[table]
            present = [c for c in cols if c in res.columns]
            if len(res) and present:
                total += float(np.nansum(res[present].to_numpy(dtype=float)))
        return 1000.0 * (total + self._shunt_losses_mw())

    def _shunt_losses_mw(self) -> float:
        """Active power [MW] of the shunts (the transformers' no-load losses).

        ``runpp_3ph`` writes no shunt results: a shunt draws ``p_mw / 3`` per phase at its rated
        voltage, times the square of the phase voltage [p.u.].
        """
        shunt = self._net.shunt
        if not len(shunt):
            return 0.0
        on = shunt[shunt["in_service"].to_numpy(bool)]
        res = self._net.res_bus_3ph.loc[on["bus"].to_numpy()]
        vm2 = (res[["vm_a_pu", "vm_b_pu", "vm_c_pu"]].to_numpy(dtype=float) ** 2).sum(axis=1)
        ratio = (
            self._net.bus.loc[on["bus"].to_numpy(), "vn_kv"].to_numpy(float) / on["vn_kv"]
        ) ** 2
        return float((on["p_mw"].to_numpy(float) * ratio.to_numpy(float) * vm2 / 3.0).sum())

    def set_injection(self, p_kw: np.ndarray | None, q_kvar: np.ndarray | None = None) -> None:
        """Per-phase generation [kW], [kvar] at every bus, as ``asymmetric_sgen`` rows."""
        import pandas as pd

        b = self.feeder.n_buses
        p = np.zeros((b, 3)) if p_kw is None else np.asarray(p_kw, dtype=float)
        q = np.zeros((b, 3)) if q_kvar is None else np.asarray(q_kvar, dtype=float)
        if p.shape != (b, 3) or q.shape != (b, 3):
            raise ParameterError(f"p_kw and q_kvar must have shape {(b, 3)}, got {p.shape}.")
        net = self._net
        if self._sgen_rows is None:
            if p_kw is None and q_kvar is None:
                return
            start = int(net.asymmetric_sgen.index.max()) + 1 if len(net.asymmetric_sgen) else 0
            rows = np.arange(start, start + b)
            frame = pd.DataFrame(
                {
                    "name": [f"inj_{bus}" for bus in self.feeder.bus_id.tolist()],
                    "bus": self._labels,
                    "p_a_mw": 0.0,
                    "p_b_mw": 0.0,
                    "p_c_mw": 0.0,
                    "q_a_mvar": 0.0,
                    "q_b_mvar": 0.0,
                    "q_c_mvar": 0.0,
                    "sn_mva": np.nan,
                    "scaling": 1.0,
                    "in_service": True,
                    "type": "wye",
                    "current_source": False,
                },
                index=rows,
            )
            net.asymmetric_sgen = pd.concat([net.asymmetric_sgen, frame]).astype(
                {"bus": np.int64, "in_service": bool}
            )
            self._sgen_rows = rows
        table = net.asymmetric_sgen
        for j, phase in enumerate("abc"):
            table.loc[self._sgen_rows, f"p_{phase}_mw"] = p[:, j] / 1000.0
            table.loc[self._sgen_rows, f"q_{phase}_mvar"] = q[:, j] / 1000.0
        self._recycle_ok = False

    def native(self) -> Any:
        """The pandapower net."""
        return self._net


class PandapowerEngine:
    """The ``pandapower`` engine: ``runpp_3ph`` on a native net."""

    name = "pandapower"
    description = "pandapower runpp_3ph on a native net (sequence-model lines, real Z0)"
    phase_accurate = False

    def __repr__(self) -> str:
        return "PandapowerEngine()"

    def open(
        self, feeder: Feeder, ensemble: Ensemble, *, options: Mapping[str, Any] | None = None
    ) -> PandapowerCase:
        """Build one pandapower net for every realisation of ``ensemble``.

        Examples
        --------
        >>> from bayesgrid_plugins import get_engine
        >>> case = get_engine("pandapower").open(feeder, ensemble)  # doctest: +SKIP
        >>> net = case.native()  # the pandapower net, realisation 0 loaded  # doctest: +SKIP
        """
        return PandapowerCase(feeder, ensemble, options)


@hookimpl
def bayesgrid_register_engines(register: Any) -> None:
    """Register the ``pandapower`` engine."""
    register(PandapowerEngine())
