"""The ``opendss`` engine: a live OpenDSS circuit switched between realisations in place.

The circuit is built once per ensemble with the union of the phases every realisation uses
(one- and two-phase laterals phase-accurately, ``bus.1.2``); switching rewrites load kW/kvar and,
where they differ, line matrices. It is the phase-accurate reference of the three engines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from bayesgrid_plugins import hookimpl
from bayesgrid_plugins.engines import EngineCase
from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import ParameterError
from bayesgrid_plugins.feeder import Feeder

from .builder import CircuitOptions, check_inputs, dss_bus_names
from .engine import new_engine, run_commands
from .quoting import dss_bus, dss_element
from .solve import (
    _apply,
    _check_fits,
    populate_circuit,
    read_loading,
    read_losses_kw,
    read_voltages,
    solve,
)

__all__ = ["OpenDSSCase", "OpenDSSEngine", "circuit_options"]

#: Keys of ``options`` that map to :class:`~opendss_ext.builder.CircuitOptions` fields.
_OPTION_FIELDS = frozenset(CircuitOptions.__dataclass_fields__)


def circuit_options(options: Mapping[str, Any] | CircuitOptions | None) -> CircuitOptions:
    """:class:`CircuitOptions` from a mapping of its field names (or an instance, or None)."""
    if options is None:
        return CircuitOptions()
    if isinstance(options, CircuitOptions):
        return options
    extra = {"dss", "source_vm_pu"}
    unknown = sorted(set(options) - _OPTION_FIELDS - extra)
    if unknown:
        raise ParameterError(
            f"opendss engine options {unknown} are unknown; known: "
            f"{sorted(_OPTION_FIELDS | extra)}."
        )
    built = CircuitOptions(**{k: v for k, v in options.items() if k not in extra})
    if "source_vm_pu" in options:
        built = replace(built, source=replace(built.source, vm_pu=float(options["source_vm_pu"])))
    return built


class OpenDSSCase(EngineCase):
    """One OpenDSS circuit holding a feeder, switched between the ensemble's realisations.

    Parameters
    ----------
    feeder, ensemble
        What to build (every phase any realisation uses).
    options : mapping or CircuitOptions, optional
        Fields of :class:`~opendss_ext.builder.CircuitOptions`, plus ``dss`` (an engine context
        to build in; default a new one) and ``source_vm_pu`` (the source's set-point [p.u.]).
    """

    def __init__(
        self,
        feeder: Feeder,
        ensemble: Ensemble,
        options: Mapping[str, Any] | CircuitOptions | None = None,
    ) -> None:
        super().__init__(feeder, ensemble, "opendss")
        check_inputs(feeder, ensemble)
        dss = None if not isinstance(options, Mapping) else options.get("dss")
        self.options = circuit_options(options)
        self._dss = populate_circuit(
            feeder,
            ensemble,
            0,
            dss=new_engine(dss),
            options=self.options,
            union_of=range(ensemble.n_realisations),
        )
        from .solve import _LAYOUTS

        self._layout = _LAYOUTS[self._dss]
        self.realisation = 0
        self._gen_idx: np.ndarray | None = None
        self._gen_bus = np.zeros(0, dtype=np.int64)
        self._gen_phase = np.zeros(0, dtype=np.int64)

    def set_realisation(self, k: int) -> None:
        """Switch the circuit to realisation ``k``."""
        k = self._check_k(k)
        if k != self.realisation:
            _check_fits(self._layout, self.feeder, self.ensemble, k)
            _apply(self._dss, self._layout, self.ensemble, k)
        self.realisation = k

    def _solve_engine(self) -> bool:
        if solve(self._dss):
            return True
        # Started from the last realisation's solution, a case near voltage collapse can fail
        # where it converges from the no-load solution: retry once from there.
        self.reset()
        return solve(self._dss)

    def reset(self) -> None:
        """Start the next solve from the no-load solution (``calcvoltagebases`` solves it)."""
        try:
            self._dss.Solution.InitSnap()
            self._dss.Text.Command("calcvoltagebases")
        except Exception:  # an engine that cannot re-initialise is rebuilt by the next solve
            pass

    def voltages_pu(self) -> np.ndarray:
        """Complex phase-to-neutral voltages [p.u.], (n_buses, 3), NaN where absent."""
        return read_voltages(self._dss, self._layout)

    def line_loading_percent(self) -> np.ndarray:
        """Loading [%] of the line into each bus (highest phase), NaN at the source."""
        return read_loading(self._dss, self._layout)

    def losses_kw(self) -> float:
        """Total active losses [kW] of the last solve."""
        return read_losses_kw(self._dss, self._layout)

    def set_injection(self, p_kw: np.ndarray | None, q_kvar: np.ndarray | None = None) -> None:
        """Per-phase generation [kW], [kvar] at every bus (one-phase constant-PQ generators)."""
        b = self.feeder.n_buses
        p = np.zeros((b, 3)) if p_kw is None else np.asarray(p_kw, dtype=float)
        q = np.zeros((b, 3)) if q_kvar is None else np.asarray(q_kvar, dtype=float)
        if p.shape != (b, 3) or q.shape != (b, 3):
            raise ParameterError(f"p_kw and q_kvar must have shape {(b, 3)}, got {p.shape}.")
        if self._gen_idx is None:
            if p_kw is None and q_kvar is None:
                return
            self._build_generators()
        assert self._gen_idx is not None
        gens = self._dss.Generators
        for idx, kw, kvar in zip(
            self._gen_idx.tolist(),
            p[self._gen_bus, self._gen_phase].tolist(),
            q[self._gen_bus, self._gen_phase].tolist(),
        ):
            gens.Idx(idx)
            gens.kW(kw)
            gens.kvar(kvar)
        outside = np.ones((b, 3), dtype=bool)
        outside[self._gen_bus, self._gen_phase] = False
        if (np.abs(p[outside]) + np.abs(q[outside]) > 0).any():
            bus, phase = np.argwhere(outside & ((p != 0) | (q != 0)))[0]
            raise ParameterError(
                f"injection at bus {self.feeder.bus_id[bus]!r} phase {'ABC'[phase]}, which no "
                "realisation wires; inject on phases that exist."
            )

    def _build_generators(self) -> None:
        names = dss_bus_names(self.feeder)
        union = np.bitwise_or.reduce(self.ensemble.bus_phases, axis=0)
        union[self.feeder.source] = 0
        commands, bus, phase = [], [], []
        for i in np.flatnonzero(union).tolist():
            kv = self.feeder.vn_kv[i] / np.sqrt(3.0)
            for p in range(3):
                if (int(union[i]) >> p) & 1:
                    commands.append(
                        f"new {dss_element('generator', 'inj_' + names[i] + '_' + 'abc'[p])} "
                        f"bus1={dss_bus(names[i], (p + 1,))} phases=1 kv={kv:.10g} kw=0 kvar=0 "
                        "model=1 vminpu=0.5 vmaxpu=1.5"
                    )
                    bus.append(i)
                    phase.append(p)
        run_commands(self._dss, commands, what="injections")
        order = {s.lower(): j + 1 for j, s in enumerate(self._dss.Generators.AllNames())}
        self._gen_bus = np.asarray(bus, dtype=np.int64)
        self._gen_phase = np.asarray(phase, dtype=np.int64)
        self._gen_idx = np.asarray(
            [order[f"inj_{names[i]}_{'abc'[p]}"] for i, p in zip(bus, phase)], dtype=np.int64
        )

    def native(self) -> Any:
        """The OpenDSSDirect.py context holding the circuit."""
        return self._dss

    def close(self) -> None:
        """Clear the circuit."""
        if not self.closed:
            try:
                self._dss.Text.Command("clear")
            except Exception:  # a context already torn down has nothing to clear
                pass
        super().close()


class OpenDSSEngine:
    """The ``opendss`` engine: phase-accurate circuits through OpenDSSDirect.py."""

    name = "opendss"
    description = "OpenDSS through OpenDSSDirect.py: phase-accurate one- and two-phase laterals"
    phase_accurate = True

    def __repr__(self) -> str:
        return "OpenDSSEngine()"

    def open(
        self,
        feeder: Feeder,
        ensemble: Ensemble,
        *,
        options: Mapping[str, Any] | CircuitOptions | None = None,
    ) -> OpenDSSCase:
        """Build ``feeder`` once for every realisation of ``ensemble``.

        Examples
        --------
        >>> from bayesgrid_plugins import get_engine
        >>> case = get_engine("opendss").open(feeder, ensemble)  # doctest: +SKIP
        >>> case.solve_batch().converged.all()  # doctest: +SKIP
        True
        """
        return OpenDSSCase(feeder, ensemble, options)


@hookimpl
def bayesgrid_register_engines(register: Any) -> None:
    """Register the ``opendss`` engine."""
    register(OpenDSSEngine())
