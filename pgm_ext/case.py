"""The ``power-grid-model`` engine: input arrays built from the feeder, many realisations per call.

The model is built once from NumPy structured arrays (:mod:`pgm_ext.build`). Realisations that
share their line data are solved in one batch call (``calculate_power_flow(symmetric=False,
update_data=...)``) whose update changes only the per-phase loads: power-grid-model cannot update
line impedances. When the line data differ between realisations (sampled impedances), each
realisation gets its own model, built from arrays filled for all of them at once (about 1 ms a
model on a 2000-bus feeder); ``islands=True`` instead solves chunks of realisations as islands of
one model (measured slower: ``docs/performance.md``).

The default method (``"auto"``) solves with power-grid-model's iterative-current method, which
factorises the admittance matrix once, and solves again with Newton-Raphson any realisation it
does not converge. A scenario that power-grid-model cannot solve (no convergence, a singular
matrix) is reported as not converged; the others of the batch are kept
(``continue_on_batch_error``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from power_grid_model import (
    CalculationMethod,
    ComponentType,
    DatasetType,
    PowerGridModel,
    initialize_array,
)
from power_grid_model.enum import LoadGenType
from power_grid_model.errors import PowerGridError

from bayesgrid_plugins import hookimpl
from bayesgrid_plugins.charging import line_charged
from bayesgrid_plugins.engines import (
    EngineCase,
    check_finite_loads,
    phase_present,
    result_from_arrays,
)
from bayesgrid_plugins.ensemble import Ensemble, check_line_data
from bayesgrid_plugins.equipment import (
    DEFAULT_LV_LINE,
    DEFAULT_MV_LINE,
    DEFAULT_SOURCE_MODEL,
    DEFAULT_TRAFO,
)
from bayesgrid_plugins.errors import ParameterError, PhaseConsistencyError
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.phases import check_phase_consistency
from bayesgrid_plugins.results import PowerFlowResult

from .build import (
    LINE_FIELDS,
    OutputFilter,
    build_input,
    fill_lines,
    layout_of,
    line_arrays,
    load_arrays,
    set_realisation_plan,
)

__all__ = ["PgmCase", "PgmEngine"]

logger = logging.getLogger(__name__)

_OPTIONS = frozenset(
    {
        "method",
        "tolerance",
        "max_iterations",
        "threading",
        "f_hz",
        "source",
        "lv_line",
        "mv_line",
        "trafo",
        "islands",
        "chunk",
    }
)
_PER_PHASE = frozenset({"u_pu", "u_angle", "p_from", "p_to", "i_from", "i_to", "p"})
_METHODS = {
    "newton_raphson": CalculationMethod.newton_raphson,
    "iterative_current": CalculationMethod.iterative_current,
}
#: Iterations allowed to the iterative-current method before ``"auto"`` falls back to
#: Newton-Raphson (it converges linearly; light feeders need 5-10).
_IC_ITERATIONS = 50


def check_case(feeder: Feeder, ensemble: Ensemble) -> None:
    """Raise before anything reaches the engine: phases, loads on absent phases, line data."""
    check_phase_consistency(feeder, ensemble.bus_phases)
    check_finite_loads(feeder, ensemble)
    powered = (ensemble.p_kw != 0) | (ensemble.q_kvar != 0)
    absent = ~phase_present(ensemble.bus_phases)
    if (powered & absent).any():
        r, b, p = np.nonzero(powered & absent)
        raise PhaseConsistencyError(
            f"realisation {r[0]} puts load on phase {'ABC'[p[0]]} of bus "
            f"{feeder.bus_id[b[0]]!r}, which lacks it ({r.size} such entries)."
        )
    check_line_data(ensemble, feeder.lines, feeder.bus_id)


class PgmCase(EngineCase):
    """A power-grid-model model of a feeder, switched between the ensemble's realisations.

    Parameters
    ----------
    feeder, ensemble
        What to build.
    options : mapping, optional
        ``method`` (``"auto"``, default: iterative current, then Newton-Raphson where it does
        not converge; ``"newton_raphson"``; ``"iterative_current"``), ``tolerance``
        [p.u. voltage, default 1e-8], ``max_iterations`` (Newton-Raphson, default 20),
        ``threading`` (-1: sequential, default; 0: one thread per core; n: n threads), ``f_hz``
        (default 50),
        ``source`` (:class:`~bayesgrid_plugins.equipment.SourceModel`), ``lv_line``, ``mv_line``
        (:class:`~bayesgrid_plugins.equipment.LineParameters`), ``trafo``
        (:class:`~bayesgrid_plugins.equipment.TrafoParameters`), ``islands`` (solve realisations
        whose lines differ as islands of one model instead of one model each, default False)
        and ``chunk`` (realisations per island model, default 20).

    Examples
    --------
    >>> from pgm_ext import PgmCase
    >>> case = PgmCase(feeder, ensemble, {"method": "newton_raphson"})  # doctest: +SKIP
    >>> case.solve_batch(range(10)).converged.all()  # doctest: +SKIP
    True
    """

    def __init__(
        self, feeder: Feeder, ensemble: Ensemble, options: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(feeder, ensemble, "power-grid-model")
        opts = dict(options or {})
        unknown = sorted(set(opts) - _OPTIONS)
        if unknown:
            raise ParameterError(
                f"power-grid-model engine options {unknown} are unknown; known: {sorted(_OPTIONS)}."
            )
        method = opts.get("method", "auto")
        if method != "auto" and method not in _METHODS:
            raise ParameterError(
                f"power-grid-model method {method!r} is unknown; use 'auto' or one of "
                f"{sorted(_METHODS)}."
            )
        check_case(feeder, ensemble)
        self._method = method
        self._tolerance = float(opts.get("tolerance", 1e-8))
        self._max_iterations = int(opts.get("max_iterations", 20))
        self._threading = int(opts.get("threading", -1))
        self._f_hz = float(opts.get("f_hz", 50.0))
        self._islands = bool(opts.get("islands", False))
        self._chunk = int(opts.get("chunk", 20))
        if self._chunk < 1:
            raise ParameterError(f"chunk must be at least 1, got {self._chunk}.")
        self._equipment = {
            "source": opts.get("source", DEFAULT_SOURCE_MODEL),
            "lv_line": opts.get("lv_line", DEFAULT_LV_LINE),
            "mv_line": opts.get("mv_line", DEFAULT_MV_LINE),
            "trafo": opts.get("trafo", DEFAULT_TRAFO),
        }
        self._layout = layout_of(feeder, ensemble)
        self._input = build_input(feeder, ensemble, self._layout, 0, **self._equipment)
        self._line_key = _line_keys(ensemble, self._layout.line_bus)
        self._lines_of = 0  # whose line data the model holds
        self._union = np.bitwise_or.reduce(ensemble.bus_phases, axis=0)
        self._model = self._new_model(self._input)
        self._output: dict[ComponentType, np.ndarray] | None = None
        self.realisation = 0

    # ---------------------------------------------------------------- model handling
    def _new_model(self, dataset: Mapping[ComponentType, np.ndarray]) -> PowerGridModel:
        return PowerGridModel(dict(dataset), system_frequency=self._f_hz)

    def _methods(self) -> list[CalculationMethod]:
        if self._method == "auto":
            return [CalculationMethod.iterative_current, CalculationMethod.newton_raphson]
        return [_METHODS[self._method]]

    def _calculate(
        self, model: PowerGridModel, update: Any = None, *, method: CalculationMethod
    ) -> dict[Any, Any]:
        ic = method == CalculationMethod.iterative_current
        return model.calculate_power_flow(
            symmetric=False,
            update_data=update,
            error_tolerance=self._tolerance,
            max_iterations=max(self._max_iterations, _IC_ITERATIONS)
            if ic
            else self._max_iterations,
            calculation_method=method,
            threading=self._threading,
            continue_on_batch_error=update is not None,
            output_component_types=self._outputs(),
        )

    def _calculate_one(self, model: PowerGridModel) -> dict[Any, Any] | None:
        """Solve the model as it is; None when no method converges."""
        for method in self._methods():
            try:
                return self._calculate(model, method=method)
            except PowerGridError as exc:
                logger.info("power-grid-model (%s) did not solve: %s", method.name, exc)
        return None

    def _outputs(self) -> OutputFilter:
        out: OutputFilter = {
            ComponentType.node: ["u_pu", "u_angle"],
            ComponentType.line: ["loading", "p_from", "p_to"],
        }
        if self._layout.trafo_bus.size:
            out[ComponentType.transformer] = ["i_from", "i_to", "p_from", "p_to"]
            out[ComponentType.shunt] = ["p"]
        return out

    def _write_plan(self, dataset: Mapping[ComponentType, np.ndarray], k: int) -> None:
        self._write_lines(dataset[ComponentType.line], k)
        self._set_plan(dataset, k)

    def _set_plan(self, dataset: Mapping[ComponentType, np.ndarray], k: int) -> None:
        """Realisation ``k``'s planned source voltage and transformer ratings into ``dataset``."""
        set_realisation_plan(
            dataset,
            self.feeder,
            self.ensemble,
            self._layout,
            k,
            source=self._equipment["source"],
            trafo=self._equipment["trafo"],
        )

    def _write_lines(self, line: np.ndarray, k: int) -> None:
        data = line_arrays(
            self.feeder,
            self.ensemble,
            np.asarray([k]),
            self._layout.line_bus,
            lv_line=self._equipment["lv_line"],
            mv_line=self._equipment["mv_line"],
        )
        fill_lines(
            line, self.feeder.length_km[self._layout.line_bus], {f: v[0] for f, v in data.items()}
        )

    # ---------------------------------------------------------------- protocol
    def set_realisation(self, k: int) -> None:
        """Switch the model to realisation ``k`` (loads; lines when they differ)."""
        k = self._check_k(k)
        load = self._input[ComponentType.asym_load]
        p, q = load_arrays(self.ensemble, np.asarray([k]), self._layout.load_bus)
        load["p_specified"] = p[0]
        load["q_specified"] = q[0]
        if self._line_key[k] != self._line_key[self._lines_of]:
            self._write_plan(self._input, k)
            self._lines_of = k
            self._model = self._new_model(self._input)
        else:
            update = initialize_array(
                DatasetType.update, ComponentType.asym_load, self._layout.load_bus.size
            )
            update["id"] = load["id"]
            update["p_specified"] = p[0]
            update["q_specified"] = q[0]
            self._model.update(update_data={ComponentType.asym_load: update})
        self.realisation = k
        self._output = None

    def _solve_engine(self) -> bool:
        self._output = self._calculate_one(self._model)
        return self._output is not None

    def reset(self) -> None:
        """Forget the last output (the model itself keeps no iteration state)."""
        self._output = None

    def voltages_pu(self) -> np.ndarray:
        """Complex phase-to-neutral voltages [p.u.], (n_buses, 3), NaN where absent."""
        v = np.full((self.feeder.n_buses, 3), np.nan + 0j)
        if self._output is None:
            return v
        v[:] = self._voltages(self._output, 1)[0]
        k = self.realisation if self.realisation is not None else 0
        return np.where(phase_present(self.ensemble.bus_phases[k]), v, np.nan + 0j)

    def line_loading_percent(self) -> np.ndarray:
        """Loading [%] of the branch into each bus (highest phase), NaN at the source."""
        if self._output is None:
            return np.full(self.feeder.n_buses, np.nan)
        return self._loading(self._output, 1)[0]

    def losses_kw(self) -> float:
        """Total active losses [kW] of lines and transformers (no-load too), last solve."""
        if self._output is None:
            return float("nan")
        return float(self._losses(self._output, 1)[0])

    def set_injection(self, p_kw: np.ndarray | None, q_kvar: np.ndarray | None = None) -> None:
        """Per-phase generation [kW], [kvar] at every bus, as constant-power ``asym_gen``."""
        b = self.feeder.n_buses
        p = np.zeros((b, 3)) if p_kw is None else np.asarray(p_kw, dtype=float)
        q = np.zeros((b, 3)) if q_kvar is None else np.asarray(q_kvar, dtype=float)
        if p.shape != (b, 3) or q.shape != (b, 3):
            raise ParameterError(f"p_kw and q_kvar must have shape {(b, 3)}, got {p.shape}.")
        outside = ~phase_present(self._union) & ((p != 0) | (q != 0))
        outside[self.feeder.source] |= (p[self.feeder.source] != 0) | (q[self.feeder.source] != 0)
        if outside.any():
            bus, phase = np.argwhere(outside)[0]
            raise ParameterError(
                f"injection at bus {self.feeder.bus_id[bus]!r} phase {'ABC'[phase]}, which no "
                "realisation wires; inject on phases that exist."
            )
        gen = self._input.get(ComponentType.asym_gen)
        if gen is None:
            if p_kw is None and q_kvar is None:
                return
            # One generator at every bus any realisation wires, created once; later
            # injections only update their powers.
            buses = np.flatnonzero(self._union != 0)
            buses = buses[buses != self.feeder.source]
            gen = initialize_array(DatasetType.input, ComponentType.asym_gen, buses.size)
            gen["id"] = 3 * self.feeder.n_buses + 1 + buses
            gen["node"] = buses
            gen["status"] = 1
            gen["type"] = LoadGenType.const_power
            gen["p_specified"] = 1000.0 * p[buses]
            gen["q_specified"] = 1000.0 * q[buses]
            self._input[ComponentType.asym_gen] = gen
            self._model = self._new_model(self._input)
        else:
            buses = gen["node"]
            gen["p_specified"] = 1000.0 * p[buses]
            gen["q_specified"] = 1000.0 * q[buses]
            update = initialize_array(DatasetType.update, ComponentType.asym_gen, buses.size)
            update["id"] = gen["id"]
            update["p_specified"] = gen["p_specified"]
            update["q_specified"] = gen["q_specified"]
            self._model.update(update_data={ComponentType.asym_gen: update})
        self._output = None

    def native(self) -> Any:
        """The ``PowerGridModel`` of the current realisation (its arrays: :meth:`input_data`)."""
        return self._model

    def input_data(self) -> dict[ComponentType, np.ndarray]:
        """The input arrays of the current realisation (a copy)."""
        return {c: a.copy() for c, a in self._input.items()}

    # ---------------------------------------------------------------- batch
    def solve_batch(self, realisations: Iterable[int] | None = None) -> PowerFlowResult:
        """Solve many realisations in as few power-grid-model calls as possible.

        Realisations sharing line data: one batch call updating the loads. Realisations whose
        lines differ: one model each (or chunks of ``chunk`` realisations as islands of one
        model with ``islands=True``).

        Returns
        -------
        PowerFlowResult
            ``elapsed_s`` holds each call's wall time shared equally by its realisations.
        """
        rows = self._rows(realisations)
        n, b = rows.size, self.feeder.n_buses
        v = np.full((n, b, 3), np.nan + 0j)
        loading = np.full((n, b), np.nan)
        losses = np.full(n, np.nan)
        ok = np.zeros(n, dtype=bool)
        elapsed = np.zeros(n)
        keys = self._line_key[rows]
        distinct = np.unique(keys)
        if distinct.size <= max(1, n // self._chunk):
            groups = [np.flatnonzero(keys == key) for key in distinct]
            solver = self._solve_shared
        else:
            groups = [np.arange(s, min(n, s + self._chunk)) for s in range(0, n, self._chunk)]
            solver = self._solve_islands if self._islands else self._solve_models
        for pos in groups:
            start = time.perf_counter()
            v[pos], loading[pos], losses[pos], ok[pos] = solver(rows[pos])
            elapsed[pos] = (time.perf_counter() - start) / pos.size
        result = result_from_arrays(
            self.feeder,
            self.ensemble,
            rows,
            v,
            ok,
            loading,
            engine=self.engine,
            losses_kw=losses,
            elapsed_s=elapsed,
            metadata={
                "method": self._method,
                "tolerance": self._tolerance,
                "threading": self._threading,
            },
        )
        self._output = None
        return result

    def _solve_shared(self, rows: np.ndarray) -> tuple[np.ndarray, ...]:
        """Realisations with the same line data: one batch call that updates the loads."""
        k0 = int(rows[0])
        model = self._model
        if self._line_key[k0] != self._line_key[self._lines_of]:
            dataset = self.input_data()
            self._write_plan(dataset, k0)
            model = self._new_model(dataset)
        m = rows.size
        p, q = load_arrays(self.ensemble, rows, self._layout.load_bus)
        update = initialize_array(
            DatasetType.update, ComponentType.asym_load, (m, self._layout.load_bus.size)
        )
        update["id"] = self._layout.load_id
        update["p_specified"] = p
        update["q_specified"] = q
        # A batch leaves the model as it was: the loads stay those of ``self.realisation``.
        v, loading, losses, ok = self._nothing(m)
        todo = np.arange(m)
        for method in self._methods():
            part = {ComponentType.asym_load: update[todo]}
            try:
                out = self._calculate(model, part, method=method)
            except PowerGridError as exc:  # an error that is not per scenario: nothing solved
                logger.info("power-grid-model (%s) batch failed: %s", method.name, exc)
                continue
            solved = np.ones(todo.size, dtype=bool)
            error = model.batch_error
            if error is not None:
                solved[np.asarray(error.failed_scenarios, dtype=np.int64)] = False
            good = todo[solved]
            v[good] = self._voltages(out, todo.size)[solved]
            loading[good] = self._loading(out, todo.size)[solved]
            losses[good] = self._losses(out, todo.size)[solved]
            ok[good] = True
            todo = todo[~solved]
            if not todo.size:
                break
        if todo.size:
            logger.info("power-grid-model did not solve realisations %s", rows[todo][:10].tolist())
        return v, loading, losses, ok

    def _island_dataset(self, rows: np.ndarray) -> dict[ComponentType, np.ndarray]:
        """One model holding ``rows.size`` disjoint copies of the feeder (one per realisation)."""
        m = rows.size
        n = self.feeder.n_buses
        stride = 5 * n + 3
        offset = (np.arange(m) * stride)[:, None]
        data: dict[ComponentType, np.ndarray] = {}
        for component, base in self._input.items():
            tiled = np.tile(base, m)
            shaped = tiled.reshape(m, base.size)
            shaped["id"] += offset
            names = base.dtype.names or ()  # structured: always named
            for field in ("node", "from_node", "to_node"):
                if field in names:
                    shaped[field] += offset
            data[component] = tiled
        lines = line_arrays(
            self.feeder,
            self.ensemble,
            rows,
            self._layout.line_bus,
            lv_line=self._equipment["lv_line"],
            mv_line=self._equipment["mv_line"],
        )
        fill_lines(
            data[ComponentType.line].reshape(m, -1),
            self.feeder.length_km[self._layout.line_bus],
            lines,
        )
        for j, k in enumerate(rows.tolist()):
            one = {c: a.reshape(m, -1)[j] for c, a in data.items()}
            self._set_plan(one, k)
        p, q = load_arrays(self.ensemble, rows, self._layout.load_bus)
        load = data[ComponentType.asym_load].reshape(m, -1)
        load["p_specified"] = p
        load["q_specified"] = q
        return data

    def _solve_islands(self, rows: np.ndarray) -> tuple[np.ndarray, ...]:
        """Realisations whose lines differ: copies of the feeder as islands of one model."""
        m = rows.size
        out = self._calculate_one(self._new_model(self._island_dataset(rows)))
        if out is None:
            if m == 1:
                return self._nothing(1)
            # One island failed the whole call: solve each realisation on its own.
            parts = [self._solve_islands(rows[j : j + 1]) for j in range(m)]
            return tuple(np.concatenate(arrays) for arrays in zip(*parts))
        ok = np.ones(m, dtype=bool)
        return self._voltages(out, m), self._loading(out, m), self._losses(out, m), ok

    def _solve_models(self, rows: np.ndarray) -> tuple[np.ndarray, ...]:
        """Realisations whose lines differ: one model per realisation, arrays filled at once."""
        m = rows.size
        lines = line_arrays(
            self.feeder,
            self.ensemble,
            rows,
            self._layout.line_bus,
            lv_line=self._equipment["lv_line"],
            mv_line=self._equipment["mv_line"],
        )
        p, q = load_arrays(self.ensemble, rows, self._layout.load_bus)
        length = self.feeder.length_km[self._layout.line_bus]
        dataset = self.input_data()
        line, load = dataset[ComponentType.line], dataset[ComponentType.asym_load]
        v, loading, losses, ok = self._nothing(m)
        for j in range(m):
            fill_lines(line, length, {f: a[j] for f, a in lines.items()})
            set_realisation_plan(
                dataset,
                self.feeder,
                self.ensemble,
                self._layout,
                int(rows[j]),
                source=self._equipment["source"],
                trafo=self._equipment["trafo"],
            )
            load["p_specified"] = p[j]
            load["q_specified"] = q[j]
            out = self._calculate_one(self._new_model(dataset))
            if out is None:
                logger.info("power-grid-model did not solve realisation %d", rows[j])
                continue
            v[j] = self._voltages(out, 1)[0]
            loading[j] = self._loading(out, 1)[0]
            losses[j] = self._losses(out, 1)[0]
            ok[j] = True
        return v, loading, losses, ok

    # ---------------------------------------------------------------- output helpers
    def _nothing(self, m: int) -> tuple[np.ndarray, ...]:
        b = self.feeder.n_buses
        return (
            np.full((m, b, 3), np.nan + 0j),
            np.full((m, b), np.nan),
            np.full(m, np.nan),
            np.zeros(m, dtype=bool),
        )

    def _voltages(self, out: Mapping[Any, Any], m: int) -> np.ndarray:
        u = _column(out, ComponentType.node, "u_pu", m)
        return u * np.exp(1j * _column(out, ComponentType.node, "u_angle", m))

    def _loading(self, out: Mapping[Any, Any], m: int) -> np.ndarray:
        loading = np.full((m, self.feeder.n_buses), np.nan)
        if self._layout.line_bus.size:
            line = _column(out, ComponentType.line, "loading", m)
            loading[:, self._layout.line_bus] = 100.0 * line
        if self._layout.trafo_bus.size:
            # The highest phase current over the rated current of its side, as pandapower and
            # OpenDSS report it (power-grid-model's own loading uses the three-phase power).
            t = self._input[ComponentType.transformer]
            rated_from = t["sn"] / (np.sqrt(3.0) * t["u1"])
            rated_to = t["sn"] / (np.sqrt(3.0) * t["u2"])
            i_from = _column(out, ComponentType.transformer, "i_from", m).max(axis=2)
            i_to = _column(out, ComponentType.transformer, "i_to", m).max(axis=2)
            highest = np.maximum(i_from / rated_from, i_to / rated_to)
            loading[:, self._layout.trafo_bus] = 100.0 * highest
        return loading

    def _losses(self, out: Mapping[Any, Any], m: int) -> np.ndarray:
        total = np.zeros(m)
        for component in (ComponentType.line, ComponentType.transformer):
            if component in out:
                p = _column(out, component, "p_from", m) + _column(out, component, "p_to", m)
                total += p.sum(axis=(1, 2))
        if ComponentType.shunt in out:  # the transformers' no-load losses
            total += _column(out, ComponentType.shunt, "p", m).sum(axis=(1, 2))
        return total / 1000.0


def _column(out: Mapping[Any, Any], component: ComponentType, attr: str, m: int) -> np.ndarray:
    """One output attribute as ``(m, n_elements)`` or ``(m, n_elements, 3)`` for per-phase ones."""
    a = np.asarray(out[component][attr])
    return a.reshape(m, -1, 3) if attr in _PER_PHASE else a.reshape(m, -1)


def _line_keys(ensemble: Ensemble, line_bus: np.ndarray) -> np.ndarray:
    """One integer per realisation, equal for realisations with identical line data and plan."""
    n = ensemble.n_realisations
    fields = [
        np.asarray(getattr(ensemble, f), dtype=float)[:, line_bus]
        for f in LINE_FIELDS
        if getattr(ensemble, f) is not None
    ]
    # the plan: transformer ratings and the substation tap need a model of their own too
    for extra in (ensemble.trafo_sn_mva, ensemble.source_vm_pu):
        if extra is not None:
            fields.append(np.asarray(extra, dtype=float).reshape(n, -1))
    # which lines keep their capacitance (three-phase in the realisation) is line data too
    fields.append(line_charged(ensemble.bus_phases[:, line_bus]))
    fields = [a for a in fields if not (a == a[0]).all()]  # fields that vary
    if not fields:
        return np.zeros(n, dtype=np.int64)
    seen: dict[bytes, int] = {}
    keys = np.empty(n, dtype=np.int64)
    for k in range(n):
        keys[k] = seen.setdefault(b"".join(a[k].tobytes() for a in fields), len(seen))
    return keys


class PgmEngine:
    """The ``power-grid-model`` engine: sequence-model lines, batch power flow in C++.

    Examples
    --------
    >>> from bayesgrid_plugins.plugins import get_engine
    >>> get_engine("power-grid-model").phase_accurate
    False
    """

    name = "power-grid-model"
    description = (
        "power-grid-model: asymmetric power flow of many realisations per call "
        "(sequence-model lines, real Z0)"
    )
    phase_accurate = False

    def __repr__(self) -> str:
        return "PgmEngine()"

    def open(
        self, feeder: Feeder, ensemble: Ensemble, *, options: Mapping[str, Any] | None = None
    ) -> PgmCase:
        """Build the power-grid-model input arrays of ``feeder`` for ``ensemble``.

        Examples
        --------
        >>> from bayesgrid_plugins import get_engine
        >>> case = get_engine("power-grid-model").open(feeder, ensemble)  # doctest: +SKIP
        >>> result = case.solve_batch()  # every realisation  # doctest: +SKIP
        """
        return PgmCase(feeder, ensemble, options)


@hookimpl
def bayesgrid_register_engines(register: Any) -> None:
    """Register the ``power-grid-model`` engine."""
    register(PgmEngine())
