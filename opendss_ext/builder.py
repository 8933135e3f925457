"""Build a live OpenDSS circuit from a feeder and an ensemble realisation.

:func:`to_dss_commands` is pure: it returns the OpenDSS script (golden-testable text).
:func:`populate_circuit` checks the input, then hands the script to an engine in one block.

Modelling choices
-----------------
* Frequency: ``set defaultbasefrequency`` comes before ``new circuit`` (default 50 Hz).
* Source: a three-phase Vsource at the feeder's source bus with the impedance of the core's
  source model (:data:`~bayesgrid_plugins.equipment.DEFAULT_SOURCE_MODEL`: 1e8 MVA, R/X = 0.1,
  X0/X1 = 1, R0/X0 = 0.1, stiff as in the other engines), written as explicit ``r1 x1 r0 x0`` in
  ohm; ``s_sc_mva=None`` makes it ideal.
* Lines: phase-accurate (``bus1=b17.2.3 bus2=b18.2.3 phases=2``); the line into bus ``i`` has
  the phases ``ensemble.bus_phases[k, i]``. Each line code is a symmetric phase matrix built from
  the sequence data (``Zs = (2 Z1 + Z0) / 3``, ``Zm = (Z0 - Z1) / 3``, the same for C), cut to
  the line's phases: a one- or two-phase line keeps the self and mutual impedances of the
  three-phase cable it belongs to (OpenDSS would otherwise give a ``phases=1`` line Z1 only).
  Sequence data come from the ensemble's sampled fields, field by field, or else from the default
  line type of the voltage level (:mod:`opendss_ext.defaults`). Identical codes are shared.
  A line into a bus with fewer than three phases in the realisation has no shunt capacitance, as
  in the other engines (:mod:`bayesgrid_plugins.charging`; ``partial_phase_charging=True``
  keeps it).
* ``all_three_phase=True`` wires every line three-phase with its real Z1 and Z0, as the
  sequence-model engines (pandapower, power-grid-model) build it, so all engines solve the same
  grid; on the phases that exist it matches the phase-accurate build.
* Loads: one single-phase, line-to-neutral, constant-PQ load (``model=1``) per bus and phase
  (``bus1=b17.2 phases=1 kv=vn/sqrt(3)``), so per-phase P and Q are exact; three-phase loads are
  three of them. ``vminpu=0.5 vmaxpu=1.5``: the load stays constant PQ over that band (OpenDSS
  would switch to constant impedance outside 0.95-1.05).
* Transformers: the branch into a bus whose nominal voltage differs from its parent's is a
  three-phase two-winding transformer with its no-load load at the high-voltage bus
  (:mod:`opendss_ext.transformers`), as in the other engines.
* Voltage bases: every distinct ``vn_kv`` of the feeder, then ``calcvoltagebases``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np

from bayesgrid_plugins.charging import lateral_capacitance
from bayesgrid_plugins.engines import check_finite_loads
from bayesgrid_plugins.ensemble import Ensemble, check_line_data
from bayesgrid_plugins.equipment import DEFAULT_TRAFO, TrafoParameters
from bayesgrid_plugins.errors import AdapterError, ParameterError, PhaseConsistencyError
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.phases import PHASE_ABC, PHASE_NAMES, check_phase_consistency
from bayesgrid_plugins.planning import is_transformer

from .defaults import (
    DEFAULT_LV_LINE,
    DEFAULT_MV_LINE,
    DEFAULT_SOURCE,
    LV_MAX_KV,
    LineType,
    SourceType,
)
from .engine import new_engine, run_commands
from .linecode_names import conductor_names, linecode_name
from .quoting import dss_bus, dss_element, dss_number, dss_quote
from .transformers import FeederTransformers

__all__ = [
    "CircuitOptions",
    "dss_bus_names",
    "line_parameters",
    "populate_circuit",
    "to_dss_commands",
]

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^a-z0-9_\-]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PHASE_LETTERS = ("a", "b", "c")
_NODES = ("", "1", "2", "1.2", "3", "1.3", "2.3", "1.2.3")
_LINE_FIELDS = (
    "r1_ohm_per_km",
    "x1_ohm_per_km",
    "r0_ohm_per_km",
    "x0_ohm_per_km",
    "c1_nf_per_km",
    "c0_nf_per_km",
    "max_i_ka",
)


@dataclass(frozen=True)
class CircuitOptions:
    """How a circuit is built (see the module docstring for the choices).

    Attributes
    ----------
    frequency_hz : float
        System frequency [Hz].
    source : SourceType
        Source voltage and short-circuit strength.
    lv_line, mv_line : LineType
        Line types for buses at or below / above 1 kV when the ensemble has no sampled data.
    all_three_phase : bool
        Wire every line three-phase (for comparison with pandapower).
    vminpu, vmaxpu : float
        Band [p.u.] within which loads stay constant PQ.
    tolerance : float
        Solver convergence tolerance [p.u. voltage change] (OpenDSS default 1e-4; the tighter
        default makes constant-PQ loads draw their power to about 1e-9 relative).
    name : str
        Circuit name.
    partial_phase_charging : bool
        Keep the shunt capacitance of one- and two-phase laterals (default False: no engine
        gives it to them, :mod:`bayesgrid_plugins.charging`); True gives the phase-accurate
        charging that the sequence-model engines cannot build.
    trafo : TrafoParameters
        The transformer placed where the feeder's nominal voltage changes
        (:mod:`opendss_ext.transformers`), as in the other engines.

    Examples
    --------
    >>> from opendss_ext import CircuitOptions, to_dss_commands
    >>> options = CircuitOptions(frequency_hz=60.0, all_three_phase=True)  # [Hz]
    >>> script = to_dss_commands(feeder, ensemble, options=options)  # doctest: +SKIP
    """

    frequency_hz: float = 50.0
    source: SourceType = DEFAULT_SOURCE
    lv_line: LineType = DEFAULT_LV_LINE
    mv_line: LineType = DEFAULT_MV_LINE
    all_three_phase: bool = False
    vminpu: float = 0.5
    vmaxpu: float = 1.5
    tolerance: float = 1e-8
    name: str = "bayesgrid"
    partial_phase_charging: bool = False
    trafo: TrafoParameters = DEFAULT_TRAFO


def dss_bus_names(feeder: Feeder) -> np.ndarray:
    """OpenDSS-safe bus names for the feeder's buses (lower case, ``[a-z0-9_-]``, unique).

    Ids that are already safe are kept; others have unsafe characters replaced by ``_`` (so no
    id can add a command, a property or a node to the script), and a name that would collide
    gets the bus index appended (then ``_2``, ``_3``, ... until it is unique).

    Parameters
    ----------
    feeder : Feeder
        The feeder whose ``bus_id`` are named.

    Returns
    -------
    ndarray of str, shape (n_buses,)
        The OpenDSS bus names, aligned with ``feeder.bus_id``.

    Examples
    --------
    >>> from bayesgrid_plugins import Feeder
    >>> from opendss_ext import dss_bus_names
    >>> dss_bus_names(Feeder.from_edges([("Sub 1", "A/2", 0.1)], "Sub 1")).tolist()
    ['sub_1', 'a_2']
    """
    names = [_UNSAFE.sub("_", str(b).lower()) or "bus" for b in feeder.bus_id]
    taken = set(names)
    seen: set[str] = set()
    out = []
    for i, name in enumerate(names):
        if name in seen:
            candidate, k = f"{name}_{i}", 1
            while candidate in seen or candidate in taken:
                k += 1
                candidate = f"{name}_{i}_{k}"
            name = candidate
        seen.add(name)
        out.append(name)
    return np.asarray(out)


_fmt = dss_number


def _check_realisation(ensemble: Ensemble, realisation: int) -> int:
    n = ensemble.n_realisations
    if not isinstance(realisation, (int, np.integer)) or not -n <= int(realisation) < n:
        raise IndexError(f"realisation {realisation!r} is out of range for {n} realisations.")
    return int(realisation) % n


def check_inputs(feeder: Feeder, ensemble: Ensemble) -> None:
    """Raise before anything reaches the engine: alignment, phase consistency, line voltages."""
    if ensemble.n_buses != feeder.n_buses or not np.array_equal(
        np.asarray(ensemble.bus_id, dtype=str), feeder.bus_id
    ):
        raise ParameterError(
            f"the ensemble's {ensemble.n_buses} buses are not the feeder's {feeder.n_buses} "
            "buses in the same order; sample the ensemble for this feeder."
        )
    check_phase_consistency(feeder, ensemble.bus_phases)
    outside = (ensemble.load_phases & ~ensemble.bus_phases) != 0
    if outside.any():
        r, b = np.nonzero(outside)
        raise PhaseConsistencyError(
            f"{r.size} loads connect to phases their bus lacks, for example realisation {r[0]} bus "
            f"{feeder.bus_id[b[0]]!r} (load {PHASE_NAMES[ensemble.load_phases[r[0], b[0]]]}, bus "
            f"{PHASE_NAMES[ensemble.bus_phases[r[0], b[0]]]}). Enforce consistency over the load "
            "phases before building the circuit."
        )
    check_finite_loads(feeder, ensemble)
    bits = (ensemble.bus_phases[..., None] >> np.arange(3)) & 1
    powered = (ensemble.p_kw != 0) | (ensemble.q_kvar != 0)
    if (powered & (bits == 0)).any():
        r, b, p = np.nonzero(powered & (bits == 0))
        raise PhaseConsistencyError(
            f"realisation {r[0]} puts load on phase {'ABC'[p[0]]} of bus "
            f"{feeder.bus_id[b[0]]!r}, which lacks it ({r.size} such entries)."
        )
    child = feeder.lines
    # A branch joining two nominal voltages is a transformer: it has no line data.
    check_line_data(ensemble, child[~is_transformer(feeder)[child]], feeder.bus_id)


def line_parameters(
    feeder: Feeder, ensemble: Ensemble, realisation: int, options: CircuitOptions
) -> dict[str, np.ndarray]:
    """Sequence data of every line in a realisation, shape (n_buses,) each (line into bus i).

    Sampled fields of the ensemble are used where present, the default line type of the bus's
    voltage level elsewhere (the same real Z1 and Z0 whatever the number of phases). Lines into
    buses with fewer than three phases in the realisation have no capacitance
    (:mod:`bayesgrid_plugins.charging`) unless ``options.partial_phase_charging``.
    """
    k = realisation
    lv = feeder.vn_kv <= LV_MAX_KV
    out = {}
    for name in _LINE_FIELDS:
        sampled = getattr(ensemble, name)
        if sampled is not None:
            out[name] = np.asarray(sampled[k], dtype=float).copy()
        else:
            out[name] = np.where(
                lv, getattr(options.lv_line, name), getattr(options.mv_line, name)
            ).astype(float)
    if not options.partial_phase_charging:
        for name in ("c1_nf_per_km", "c0_nf_per_km"):
            out[name] = lateral_capacitance(out[name], ensemble.bus_phases[k])
    return out


def _matrix(self_value: float, mutual_value: float, n: int) -> str:
    rows = []
    for i in range(n):
        rows.append(" ".join([_fmt(mutual_value)] * i + [_fmt(self_value)]))
    return "(" + " | ".join(rows) + ")"


def _linecode(
    name: str, n: int, r1: float, x1: float, r0: float, x0: float, c1: float, c0: float, amps: float
) -> str:
    rs, rm = (2 * r1 + r0) / 3, (r0 - r1) / 3
    xs, xm = (2 * x1 + x0) / 3, (x0 - x1) / 3
    cs, cm = (2 * c1 + c0) / 3, (c0 - c1) / 3
    return (
        f"new {dss_element('linecode', name)} nphases={n} units=km rmatrix={_matrix(rs, rm, n)} "
        f"xmatrix={_matrix(xs, xm, n)} cmatrix={_matrix(cs, cm, n)} normamps={_fmt(amps)}"
    )


def _source_impedance(vn_kv: float, source: SourceType) -> tuple[float, float, float, float]:
    return source.impedance_ohm(vn_kv)


def circuit_masks(
    ensemble: Ensemble, realisation: int, union_of: Sequence[int] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Line masks and load-element masks (n_buses,) the circuit is built with."""
    rows = [realisation] if union_of is None else sorted({realisation, *map(int, union_of)})
    bus = np.bitwise_or.reduce(ensemble.bus_phases[rows], axis=0)
    powered = (ensemble.p_kw[rows] != 0) | (ensemble.q_kvar[rows] != 0)
    load_bits = powered.any(axis=0) | (
        ((ensemble.load_phases[rows, :, None] >> np.arange(3)) & 1).astype(bool).any(axis=0)
    )
    load = (load_bits * np.array([1, 2, 4])).sum(axis=1).astype(np.int64)
    return bus.astype(np.int64), load & bus


@overload
def to_dss_commands(
    feeder: Feeder,
    ensemble: Ensemble,
    realisation: int = ...,
    *,
    options: CircuitOptions | None = ...,
    union_of: Sequence[int] | None = ...,
    as_text: Literal[False] = ...,
    check: bool = ...,
) -> list[str]: ...


@overload
def to_dss_commands(
    feeder: Feeder,
    ensemble: Ensemble,
    realisation: int = ...,
    *,
    options: CircuitOptions | None = ...,
    union_of: Sequence[int] | None = ...,
    as_text: Literal[True],
    check: bool = ...,
) -> str: ...


def to_dss_commands(
    feeder: Feeder,
    ensemble: Ensemble,
    realisation: int = 0,
    *,
    options: CircuitOptions | None = None,
    union_of: Sequence[int] | None = None,
    as_text: bool = False,
    check: bool = True,
) -> list[str] | str:
    """The OpenDSS script that builds one realisation (pure: no engine involved).

    Parameters
    ----------
    feeder : Feeder
        The topology (one voltage level).
    ensemble : Ensemble
        Realisations for this feeder.
    realisation : int, default 0
        Which realisation's loads and line data to write.
    options : CircuitOptions, optional
        Frequency, source, default line types, all-three-phase mode, load voltage band.
    union_of : sequence of int, optional
        Build lines with the union of the phases of these realisations (and a load element on
        every bus phase any of them loads, at zero where ``realisation`` has none), so that
        :func:`~opendss_ext.solve.set_realisation` can switch between them without rebuilding.
        A conductor that carries no current changes no other voltage (with line capacitance it
        adds a small charging current).
    as_text : bool, default False
        Return one newline-joined string instead of a list of commands.
    check : bool, default True
        Check alignment and phase consistency first (raises before any text is produced).

    Returns
    -------
    list of str or str
        The commands, in order: clear, frequency, circuit, line codes, lines and transformers,
        loads, voltage bases, ``calcvoltagebases``, solver tolerance and iteration limit.

    Examples
    --------
    >>> from bayesgrid_plugins import BayesianPowerModel, Feeder
    >>> from opendss_ext import to_dss_commands
    >>> feeder = Feeder.from_edges([("s", "a", 0.1), ("a", "b", 0.05)], "s")  # lengths [km]
    >>> to_dss_commands(feeder, BayesianPowerModel().sample(feeder, 5, rng=1))[:2]
    ['clear', 'set defaultbasefrequency=50']
    """
    options = options or CircuitOptions()
    if not isinstance(options.name, str) or _CONTROL.search(options.name):
        # A line break would start a second command in the script.
        raise ParameterError(
            f"circuit name {options.name!r} holds a line break or control character; use "
            "lower-case letters, digits, '_' or '-'."
        )
    k = _check_realisation(ensemble, realisation)
    if check:
        check_inputs(feeder, ensemble)
    names = dss_bus_names(feeder)
    line_mask, load_mask = circuit_masks(ensemble, k, union_of)
    if options.all_three_phase:
        line_mask = np.where(line_mask > 0, PHASE_ABC, 0)
    src = feeder.source
    vn = feeder.vn_kv
    r1s, x1s, r0s, x0s = _source_impedance(float(vn[src]), options.source)
    source_pu = (
        options.source.vm_pu if ensemble.source_vm_pu is None else float(ensemble.source_vm_pu[k])
    )
    commands = [
        "clear",
        f"set defaultbasefrequency={_fmt(options.frequency_hz)}",
        f"new {dss_element('circuit', options.name)} bus1={dss_bus(names[src], '1.2.3')} "
        "phases=3 "
        f"basekv={_fmt(vn[src])} pu={_fmt(source_pu)} angle=0 "
        f"r1={_fmt(r1s)} x1={_fmt(x1s)} r0={_fmt(r0s)} x0={_fmt(x0s)}",
    ]
    params = line_parameters(feeder, ensemble, k, options)
    conductors = conductor_names(feeder, ensemble, k, options)
    codes: dict[tuple[Any, ...], str] = {}
    line_commands = []
    transformers = FeederTransformers.of(feeder, options.trafo).commands(feeder, ensemble, k, names)
    for i in feeder.order[1:]:
        if i in transformers:
            line_commands.extend(transformers[i])
            continue
        mask = int(line_mask[i])
        if mask == 0:
            continue
        n_ph = int(bin(mask).count("1"))
        key = (conductors[i], n_ph, *(round(float(params[f][i]), 12) for f in _LINE_FIELDS))
        code = codes.get(key)
        if code is None:
            code = linecode_name(conductors[i], n_ph, set(codes.values()))
            codes[key] = code
            r1, x1, r0, x0, c1, c0 = (float(params[f][i]) for f in _LINE_FIELDS[:6])
            amps = 1000.0 * float(params["max_i_ka"][i])
            commands.append(_linecode(code, n_ph, r1, x1, r0, x0, c1, c0, amps=amps))
        nodes = _NODES[mask]
        line_commands.append(
            f"new {dss_element('line', f'l_{names[i]}')} "
            f"bus1={dss_bus(names[feeder.parent[i]], nodes)} "
            f"bus2={dss_bus(names[i], nodes)} phases={n_ph} linecode={dss_quote(code)} "
            f"length={_fmt(feeder.length_km[i])} units=km"
        )
    commands.extend(line_commands)
    p = ensemble.p_kw[k]
    q = ensemble.q_kvar[k]
    for i in np.flatnonzero(load_mask):
        kv = vn[i] / np.sqrt(3.0)
        for phase in range(3):
            if not (int(load_mask[i]) >> phase) & 1:
                continue
            commands.append(
                f"new {dss_element('load', f'd_{names[i]}_{_PHASE_LETTERS[phase]}')} "
                f"bus1={dss_bus(names[i], (phase + 1,))} "
                f"phases=1 conn=wye kv={_fmt(kv)} kw={_fmt(p[i, phase])} "
                f"kvar={_fmt(q[i, phase])} model=1 vminpu={_fmt(options.vminpu)} "
                f"vmaxpu={_fmt(options.vmaxpu)}"
            )
    bases = ", ".join(_fmt(v) for v in np.unique(np.round(vn, 9))[::-1])
    commands.append(f"set voltagebases=[{bases}]")
    commands.append("calcvoltagebases")
    commands.append(f"set tolerance={_fmt(options.tolerance)}")
    # Heavy realisations need more than the default 15 iterations from a flat start.
    commands.append("set maxiterations=50")
    return "\n".join(commands) + "\n" if as_text else commands


def populate_circuit(
    feeder: Feeder,
    ensemble: Ensemble,
    realisation: int = 0,
    *,
    dss: Any = None,
    options: CircuitOptions | None = None,
    union_of: Sequence[int] | None = None,
) -> Any:
    """Clear the engine and build one realisation's circuit in it.

    The inputs are checked first (alignment, phase consistency of lines and loads, sampled line
    data), so an inconsistent ensemble never reaches the engine. An engine error is raised as
    :class:`~bayesgrid_plugins.errors.AdapterError` quoting the failing command.

    Parameters
    ----------
    feeder, ensemble, realisation, options, union_of
        As for :func:`to_dss_commands`.
    dss : opendssdirect context, optional
        Engine to build in; default a fresh ``opendssdirect.NewContext()``.

    Returns
    -------
    opendssdirect context
        The engine holding the circuit (not yet solved).
    """
    commands = to_dss_commands(
        feeder, ensemble, realisation, options=options, union_of=union_of, check=True
    )
    engine = new_engine(dss)
    try:
        run_commands(engine, commands, what="bayesgrid circuit")
    except AdapterError:
        # A failed "new" can leave a half-built element behind: leave a clean engine.
        engine.Text.Command("clear")
        raise
    return engine
