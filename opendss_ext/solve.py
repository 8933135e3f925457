"""Switch a built circuit between realisations and solve an ensemble.

:func:`populate_circuit` (here wrapped to remember the circuit's layout) builds once;
:func:`set_realisation` then rewrites load kW/kvar (and line matrices when the line data differ
between realisations) through the engine's interfaces, without rebuilding; :func:`solve_ensemble`
does both for many realisations and collects per-bus, per-phase voltages.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bayesgrid_plugins.engines import result_from_arrays
from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import AdapterError
from bayesgrid_plugins.feeder import Feeder

from . import builder
from .builder import CircuitOptions, check_inputs, circuit_masks, dss_bus_names, line_parameters
from .results import PowerFlowResult
from .transformers import NO_LOAD_PREFIX, FeederTransformers

logger = logging.getLogger(__name__)

__all__ = ["populate_circuit", "set_realisation", "solve", "solve_ensemble"]

_SAMPLED_LINE_FIELDS = (
    "r1_ohm_per_km",
    "x1_ohm_per_km",
    "r0_ohm_per_km",
    "x0_ohm_per_km",
    "c1_nf_per_km",
    "c0_nf_per_km",
    "max_i_ka",
)
_LAYOUTS: weakref.WeakKeyDictionary[Any, _Layout] = weakref.WeakKeyDictionary()


@dataclass
class _Layout:
    """What a built circuit holds, to update and read it quickly."""

    feeder: Feeder
    options: CircuitOptions
    line_mask: np.ndarray  # (n_buses,) phases wired per line
    load_idx: np.ndarray  # engine load index (1-based) per load element
    load_bus: np.ndarray
    load_phase: np.ndarray
    node_bus: np.ndarray  # per engine node: bus index
    node_phase: np.ndarray
    node_base_v: np.ndarray  # per engine node: base phase-to-neutral voltage [V]
    line_names: list[str]  # engine line names, in PDElements order
    line_bus: np.ndarray
    line_short_names: list[str] = field(default_factory=list)  # names without "line."
    line_n_phases: list[int] = field(default_factory=list)
    line_params: dict[str, np.ndarray] | None = None  # per-km data the lines hold, by bus
    union_of: tuple[int, ...] | None = None  # realisations built for; None: one realisation
    line_pos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # in PDElements
    transformers: FeederTransformers | None = None
    trafo_names: list[str] = field(default_factory=list)  # engine names, in transformers order
    no_load_names: list[str] = field(default_factory=list)  # their no-load loads
    trafo_sn_mva: np.ndarray | None = None  # ratings the transformers hold


def _layout(dss: Any, feeder: Feeder, options: CircuitOptions, line_mask: np.ndarray) -> _Layout:
    names = dss_bus_names(feeder)
    index = {name: i for i, name in enumerate(names.tolist())}
    all_loads = [s.lower() for s in dss.Loads.AllNames()]
    load_idx, load_bus, load_phase = [], [], []
    for j, name in enumerate(all_loads):
        if name.startswith(NO_LOAD_PREFIX):
            continue  # a transformer's no-load load
        body, letter = name[2:].rsplit("_", 1)  # "d_<bus>_<a|b|c>"
        load_idx.append(j + 1)
        load_bus.append(index[body])
        load_phase.append("abc".index(letter))
    nodes = dss.Circuit.AllNodeNames()
    node_bus = np.empty(len(nodes), dtype=np.int64)
    node_phase = np.empty(len(nodes), dtype=np.int64)
    for j, node in enumerate(nodes):
        bus, phase = node.lower().rsplit(".", 1)
        node_bus[j] = index[bus]
        node_phase[j] = int(phase) - 1
    pd_names = [s.lower() for s in dss.PDElements.AllNames()]
    line_pos = [j for j, s in enumerate(pd_names) if s.startswith("line.")]
    line_names = [pd_names[j] for j in line_pos]
    transformers = FeederTransformers.of(feeder, options.trafo)
    trafo_names = [f"t_{names[i]}" for i in transformers.child.tolist()]
    others = set(pd_names) - set(line_names) - {f"transformer.{t}" for t in trafo_names}
    if others:
        raise AdapterError(
            f"the circuit holds power-delivery elements bayesgrid did not build: {sorted(others)}"
        )
    line_bus = np.asarray([index[s[len("line.l_") :]] for s in line_names], dtype=np.int64)
    short = [s[len("line.") :] for s in line_names]
    n_phases = []
    for name in short:
        dss.Lines.Name(name)
        n_phases.append(int(dss.Lines.Phases()))
    return _Layout(
        feeder=feeder,
        options=options,
        line_mask=line_mask,
        load_idx=np.asarray(load_idx, dtype=np.int64),
        load_bus=np.asarray(load_bus, dtype=np.int64),
        load_phase=np.asarray(load_phase, dtype=np.int64),
        node_bus=node_bus,
        node_phase=node_phase,
        node_base_v=feeder.vn_kv[node_bus] / np.sqrt(3.0) * 1000.0,
        line_names=line_names,
        line_bus=line_bus,
        line_short_names=short,
        line_n_phases=n_phases,
        line_pos=np.asarray(line_pos, dtype=np.int64),
        transformers=transformers if transformers.child.size else None,
        trafo_names=trafo_names,
        no_load_names=[NO_LOAD_PREFIX + t for t in trafo_names],
    )


def populate_circuit(
    feeder: Feeder,
    ensemble: Ensemble,
    realisation: int = 0,
    *,
    dss: Any = None,
    options: CircuitOptions | None = None,
    union_of: Sequence[int] | None = None,
) -> Any:
    """Build one realisation's circuit in an engine (see :func:`.builder.populate_circuit`).

    The engine is remembered so that :func:`set_realisation` can switch it to another
    realisation without rebuilding.

    Parameters
    ----------
    feeder : Feeder
        The topology.
    ensemble : Ensemble
        Realisations for ``feeder``.
    realisation : int, default 0
        Which realisation to build.
    dss : opendssdirect context, optional
        Engine to build in; default a fresh ``opendssdirect.NewContext()``.
    options : CircuitOptions, optional
        How the circuit is built (frequency, source, default lines, load voltage band).
    union_of : sequence of int, optional
        Build every line and load phase these realisations use, so that
        :func:`set_realisation` can switch between them.

    Returns
    -------
    opendssdirect context
        The engine holding the circuit (not yet solved).

    Examples
    --------
    >>> from opendss_ext import populate_circuit, set_realisation, solve
    >>> dss = populate_circuit(feeder, ensemble, union_of=range(10))  # doctest: +SKIP
    >>> set_realisation(dss, feeder, ensemble, 3); solve(dss)  # doctest: +SKIP
    True
    """
    options = options or CircuitOptions()
    engine = builder.populate_circuit(
        feeder, ensemble, realisation, dss=dss, options=options, union_of=union_of
    )
    k = int(realisation) % ensemble.n_realisations
    line_mask, _ = circuit_masks(ensemble, k, union_of)
    layout = _layout(engine, feeder, options, line_mask)
    layout.line_params = line_parameters(feeder, ensemble, k, options)
    if layout.transformers is not None:
        layout.trafo_sn_mva = layout.transformers.ratings_mva(feeder, ensemble, k)
    layout.union_of = None if union_of is None else tuple(int(r) for r in union_of)
    _LAYOUTS[engine] = layout
    return engine


def _set_lines(
    dss: Any, layout: _Layout, params: dict[str, np.ndarray], only: np.ndarray | None = None
) -> None:
    """Write ``params`` (by bus) into the circuit's lines, or into the lines ``only`` flags."""
    bus = layout.line_bus
    # Self and mutual values of the symmetric phase matrices, for every line at once.
    values = []
    for first, zero in (("r1", "r0"), ("x1", "x0"), ("c1", "c0")):
        unit = "nf_per_km" if first == "c1" else "ohm_per_km"
        one_v = np.asarray(params[f"{first}_{unit}"], dtype=float)[bus]
        zero_v = np.asarray(params[f"{zero}_{unit}"], dtype=float)[bus]
        values.append((((2 * one_v + zero_v) / 3).tolist(), ((zero_v - one_v) / 3).tolist()))
    amps = (1000.0 * np.asarray(params["max_i_ka"], dtype=float)[bus]).tolist()
    lines = dss.Lines
    for j, (name, n) in enumerate(zip(layout.line_short_names, layout.line_n_phases)):
        if only is not None and not only[j]:
            continue
        lines.Name(name)
        pattern = _DIAGONAL[n]
        for setter, (selfs, mutuals) in zip((lines.RMatrix, lines.XMatrix, lines.CMatrix), values):
            s_j, m_j = selfs[j], mutuals[j]
            setter([s_j if d else m_j for d in pattern])
        lines.NormAmps(amps[j])


#: Row-major flags of the diagonal of an n x n matrix, for n = 1, 2, 3.
_DIAGONAL = {n: [i == j for i in range(n) for j in range(n)] for n in (1, 2, 3)}


def _apply(dss: Any, layout: _Layout, ensemble: Ensemble, k: int) -> None:
    p = ensemble.p_kw[k, layout.load_bus, layout.load_phase]
    q = ensemble.q_kvar[k, layout.load_bus, layout.load_phase]
    loads = dss.Loads
    for idx, kw, kvar in zip(layout.load_idx.tolist(), p.tolist(), q.tolist()):
        loads.Idx(idx)
        loads.kW(kw)
        loads.kvar(kvar)
    if ensemble.source_vm_pu is not None:  # the planned substation tap
        dss.Vsources.First()
        dss.Vsources.PU(float(ensemble.source_vm_pu[k]))
    if layout.transformers is not None and ensemble.trafo_sn_mva is not None:
        _set_transformers(dss, layout, layout.transformers.ratings_mva(layout.feeder, ensemble, k))
    if (
        layout.options.partial_phase_charging
        and not layout.options.all_three_phase
        and all(getattr(ensemble, name) is None for name in _SAMPLED_LINE_FIELDS)
    ):
        return  # line data are the default types: the same in every realisation
    # Line data differ between realisations (sampled data, or the capacitance of laterals that
    # are three-phase in some realisations only): rewrite the lines whose data changed.
    params = line_parameters(layout.feeder, ensemble, k, layout.options)
    held = layout.line_params
    bus = layout.line_bus
    if held is None:
        _set_lines(dss, layout, params)
    else:
        changed = np.zeros(bus.size, dtype=bool)
        for name, values in params.items():
            changed |= values[bus] != held[name][bus]
        if changed.any():
            _set_lines(dss, layout, params, changed)
    layout.line_params = params


def _set_transformers(dss: Any, layout: _Layout, sn_mva: np.ndarray) -> None:
    """Give the transformers whose rating changed ``sn_mva``, and their no-load loads."""
    assert layout.transformers is not None and layout.trafo_sn_mva is not None
    changed = np.flatnonzero(sn_mva != layout.trafo_sn_mva)
    if not changed.size:
        return
    p_kw, q_kvar = layout.transformers.no_load_kw_kvar(sn_mva)
    for j in changed.tolist():
        dss.Transformers.Name(layout.trafo_names[j])
        for winding in (1, 2):  # %r and xhl stay: they are per unit of the rating
            dss.Transformers.Wdg(winding)
            dss.Transformers.kVA(1000.0 * float(sn_mva[j]))
        dss.Loads.Name(layout.no_load_names[j])
        dss.Loads.kW(float(p_kw[j]))
        dss.Loads.kvar(float(q_kvar[j]))
    layout.trafo_sn_mva = np.array(sn_mva, dtype=float)


def set_realisation(dss: Any, feeder: Feeder, ensemble: Ensemble, realisation: int) -> None:
    """Switch a circuit built by :func:`populate_circuit` to another realisation.

    Load kW and kvar are rewritten through the Loads interface; when the line data of the
    realisation differ from those in the circuit (sampled impedances, or laterals that gain or
    lose their capacitance with their third phase: :mod:`bayesgrid_plugins.charging`), the
    matrices of the lines that differ are rewritten too.
    A circuit built for one realisation (no ``union_of``) is rebuilt once, in the same engine,
    with every phase of the ensemble when the realisation needs phases it lacks; a circuit built
    with ``union_of`` must cover the realisation.

    Parameters
    ----------
    dss : opendssdirect context
        The engine returned by :func:`populate_circuit`.
    feeder : Feeder
        The feeder it was built for.
    ensemble : Ensemble
        The ensemble it was built from.
    realisation : int
        The realisation to switch to.

    Raises
    ------
    AdapterError
        If the engine was not built by :func:`populate_circuit` for this feeder, or the
        realisation needs line or load phases a circuit built with ``union_of`` lacks.

    Examples
    --------
    >>> from opendss_ext import populate_circuit, set_realisation, solve
    >>> dss = populate_circuit(feeder, ensemble, union_of=[0, 1])  # doctest: +SKIP
    >>> set_realisation(dss, feeder, ensemble, 1)  # doctest: +SKIP
    >>> solve(dss)  # doctest: +SKIP
    True
    """
    layout = _LAYOUTS.get(dss)
    if layout is None or (
        layout.feeder is not feeder and not np.array_equal(layout.feeder.bus_id, feeder.bus_id)
    ):
        raise AdapterError(
            "this engine holds no circuit built by opendss_ext.populate_circuit for this feeder; "
            "populate it first."
        )
    k = int(realisation) % ensemble.n_realisations
    if _misfit(layout, feeder, ensemble, k) is not None:
        if layout.union_of is not None:
            _check_fits(layout, feeder, ensemble, k)
        # Built for one realisation: rebuild once with every phase of the ensemble.
        logger.debug("rebuilding the circuit with the union of %d realisations", len(ensemble))
        populate_circuit(
            feeder, ensemble, k, dss=dss, options=layout.options, union_of=range(len(ensemble))
        )
        return
    _apply(dss, layout, ensemble, k)


def _misfit(layout: _Layout, feeder: Feeder, ensemble: Ensemble, k: int) -> int | None:
    """The first bus whose phases realisation ``k`` uses but the circuit lacks, or None."""
    missing = ensemble.bus_phases[k] & ~layout.line_mask
    missing[feeder.source] = 0
    has = np.zeros((feeder.n_buses, 3), dtype=bool)
    has[layout.load_bus, layout.load_phase] = True
    powered = (ensemble.p_kw[k] != 0) | (ensemble.q_kvar[k] != 0)
    if missing.any() or (powered & ~has).any():
        return int(np.flatnonzero(missing.astype(bool) | (powered & ~has).any(axis=1))[0])
    return None


def _check_fits(layout: _Layout, feeder: Feeder, ensemble: Ensemble, k: int) -> None:
    bus = _misfit(layout, feeder, ensemble, k)
    if bus is not None:
        built = "for one realisation"
        if layout.union_of is not None:
            built = f"with union_of={list(layout.union_of)}"
        raise AdapterError(
            f"realisation {k} uses phases at bus '{feeder.bus_id[bus]}' that the circuit built "
            f"{built} lacks; leave union_of out (the circuit is "
            "then rebuilt with every phase of the ensemble when needed) or include realisation "
            f"{k} in it."
        )


def solve(dss: Any) -> bool:
    """Solve the circuit (snapshot); return whether it converged.

    Parameters
    ----------
    dss : opendssdirect context
        An engine holding a circuit.

    Returns
    -------
    bool
        Whether the solution converged; an engine error raises ``AdapterError``.

    Examples
    --------
    >>> from opendss_ext import populate_circuit, solve
    >>> dss = populate_circuit(feeder, ensemble)  # doctest: +SKIP
    >>> solve(dss)  # doctest: +SKIP
    True
    """
    try:
        dss.Text.Command("solve")
    except Exception as exc:
        raise AdapterError(f"OpenDSS failed to solve: {exc}") from exc
    return bool(dss.Solution.Converged())


def read_voltages(dss: Any, layout: _Layout) -> np.ndarray:
    """Complex phase-to-neutral voltages [p.u.] of the solved circuit, (n_buses, 3), NaN where
    the circuit has no node."""
    volts = np.asarray(dss.Circuit.AllBusVolts(), dtype=float)
    v_pu = np.full((layout.feeder.n_buses, 3), np.nan + 0j)
    v_pu[layout.node_bus, layout.node_phase] = (volts[0::2] + 1j * volts[1::2]) / layout.node_base_v
    return v_pu


def read_loading(dss: Any, layout: _Layout) -> np.ndarray:
    """Loading [%] of the line into each bus (highest phase), NaN at the source."""
    loading = np.full(layout.feeder.n_buses, np.nan)
    pct = np.asarray(dss.PDElements.AllPctNorm(False), dtype=float)
    loading[layout.line_bus] = pct[layout.line_pos]
    if layout.transformers is not None:
        loading[layout.transformers.child] = [
            _transformer_loading(dss, name) for name in layout.trafo_names
        ]
    return loading


def _transformer_loading(dss: Any, name: str) -> float:
    """Highest phase current of either winding over its rated current [%], as the sequence
    engines report a transformer's loading."""
    dss.Transformers.Name(name)
    n_cond = int(dss.CktElement.NumConductors())
    mags = np.asarray(dss.CktElement.CurrentsMagAng(), dtype=float)[0::2]
    per_winding = mags.reshape(-1, n_cond)[:, :3].max(axis=1)
    rated = []
    for winding in range(1, per_winding.size + 1):
        dss.Transformers.Wdg(winding)
        rated.append(dss.Transformers.kVA() / (np.sqrt(3.0) * dss.Transformers.kV()))
    return 100.0 * float(np.max(per_winding / np.asarray(rated)))


def read_losses_kw(dss: Any, layout: _Layout | None = None) -> float:
    """Total active losses [kW] of the solved circuit, the transformers' no-load losses
    included (their no-load loads, as the other engines count them)."""
    losses = dss.Circuit.Losses()
    total = float(np.real(losses[0] if np.ndim(losses) else losses)) / 1000.0
    for name in [] if layout is None else layout.no_load_names:
        dss.Loads.Name(name)
        total += float(np.sum(np.asarray(dss.CktElement.Powers(), dtype=float)[0::2]))
    return total


def solve_ensemble(
    feeder: Feeder,
    ensemble: Ensemble,
    *,
    dss: Any = None,
    realisations: Sequence[int] | None = None,
    options: CircuitOptions | None = None,
) -> PowerFlowResult:
    """Solve many realisations, building the circuit once.

    The circuit is built with the union of the phases of the requested realisations; each
    realisation then only rewrites load powers (and line matrices when its line data differ) and
    solves. Voltages of phases a bus lacks in a realisation are NaN.

    Parameters
    ----------
    feeder : Feeder
        The topology.
    ensemble : Ensemble
        Realisations for this feeder.
    dss : opendssdirect context, optional
        Engine to use; default a fresh context.
    realisations : sequence of int, optional
        Which realisations to solve; default all.
    options : CircuitOptions, optional
        How the circuit is built.

    Returns
    -------
    PowerFlowResult
        Per realisation: voltages (n, n_buses, 3) [p.u.], convergence, line loading [%],
        per-phase extreme voltages, highest unbalance [%], losses [kW], wall time [s].

    Examples
    --------
    >>> import bayesgrid_plugins as bg
    >>> from opendss_ext import solve_ensemble
    >>> feeder = bg.feeder_from_osm(dist_m=300).feeder  # embedded Monaco extract  # doctest: +SKIP
    >>> ensemble = bg.BayesianPowerModel().sample(feeder, 20, rng=1)  # doctest: +SKIP
    >>> result = solve_ensemble(feeder, ensemble)  # voltages [p.u.]  # doctest: +SKIP
    """
    options = options or CircuitOptions()
    check_inputs(feeder, ensemble)
    rows = (
        np.arange(ensemble.n_realisations)
        if realisations is None
        else np.asarray(realisations, dtype=np.int64) % ensemble.n_realisations
    )
    if rows.size == 0:
        raise ValueError("realisations is empty: give at least one realisation to solve.")
    engine = populate_circuit(
        feeder, ensemble, int(rows[0]), dss=dss, options=options, union_of=rows.tolist()
    )
    layout = _LAYOUTS[engine]
    n, b = rows.size, feeder.n_buses
    v = np.full((n, b, 3), np.nan + 0j)
    loading = np.full((n, b), np.nan)
    converged = np.zeros(n, dtype=bool)
    losses = np.full(n, np.nan)
    elapsed = np.zeros(n)
    for j, k in enumerate(rows.tolist()):
        start = time.perf_counter()
        if j:
            _apply(engine, layout, ensemble, k)
        converged[j] = solve(engine)
        if converged[j]:
            v[j] = read_voltages(engine, layout)
            loading[j] = read_loading(engine, layout)
            losses[j] = read_losses_kw(engine, layout)
        elapsed[j] = time.perf_counter() - start
    # Counted as converged only with every voltage finite (the core's one rule).
    return result_from_arrays(
        feeder,
        ensemble,
        rows,
        v,
        converged,
        loading,
        engine="opendss",
        losses_kw=losses,
        elapsed_s=elapsed,
        metadata={"options": repr(options)},
    )
