"""Read a real OpenDSS circuit into a feeder and a training table.

The circuit is compiled in a fresh engine context. Its topology (lines, closed switches,
transformers and other two-terminal power-delivery elements as edges) becomes a radial
:class:`~bayesgrid_plugins.feeder.Feeder` by the spanning-forest rule every reader shares
(:mod:`bayesgrid_plugins.topology.forest`); the elements that close loops are listed and
logged. Each load's phases are the phases it draws from on the *primary*:

* on a primary bus, the bus nodes it connects to (``b.1`` -> A, ``b.1.2`` delta -> AB);
* behind a one- or two-phase step-down transformer (a service transformer feeding a split-phase
  120/240 V secondary, or a single-phase lateral transformer), the primary phases of the
  uppermost such transformer on its path to the source: node numbers below it name secondary
  legs, not phases. Regulators (windings of equal voltage) and banks of several single-phase
  units between the same two buses keep the phase numbering, so below them the nodes count.

Each load's kW and kvar are split equally over those phases. Line impedances come from the
engine's phase impedance matrices, so lines given by line codes, matrices or geometries are read
alike (see :func:`line_sequence_impedances`).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components

from bayesgrid_plugins.errors import AdapterError, ParameterError
from bayesgrid_plugins.feeder import DEFAULT_N_ZONES, Feeder
from bayesgrid_plugins.topology.forest import LINK_LENGTH_KM, spanning_forest
from bayesgrid_plugins.training import TrainingTable, make_training_table

from .engine import LENGTH_UNIT_KM, bus_name, new_engine, node_mask, run_commands
from .quoting import dss_path
from .scripts import check_script_files

__all__ = [
    "OpenDSSCircuit",
    "compile_master",
    "line_sequence_impedances",
    "read_circuit",
    "training_table",
]

logger = logging.getLogger(__name__)

#: Length [km] given to edges without a length (transformers, switches, zero-length lines) so the
#: feeder's strictly positive lengths hold; 1 mm changes no distance noticeably. The same as the
#: spanning forest's link length.
MIN_EDGE_KM = LINK_LENGTH_KM
#: Default time limit [s] of compiling a master: None (no limit) unless the environment variable
#: ``BAYESGRID_DSS_TIMEOUT_S`` sets one. With a limit the engine compiles in a helper thread,
#: which one test-suite run showed can crash the engine (a segmentation fault compiling the
#: European LV test case), so it is opt-in; cycles and nesting are bounded anyway
#: (:mod:`opendss_ext.scripts`), so only long solves in the script can take long.
COMPILE_TIMEOUT_S: float | None = None
_PATH_COMMAND = re.compile(r"^(\s*)(redirect|compile|buscoords)(\s+)(\S+)(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class OpenDSSCircuit:
    """A real circuit read from OpenDSS, as a feeder plus per-load and per-line arrays.

    Attributes
    ----------
    name : str
        The circuit's name.
    feeder : Feeder
        Radial feeder of the reachable buses, rooted at the feeder head (see
        :func:`read_circuit`).
    load_id : ndarray of str
        Load names (without ``Load.``), for the loads on reachable buses.
    load_bus : ndarray of int
        Index of each load's bus in ``feeder``.
    load_phases : ndarray of int
        Primary phase mask of each load.
    p_kw, q_kvar : ndarray, shape (n_loads, 3)
        Nominal active [kW] and reactive [kvar] power per phase A, B, C.
    line_id : ndarray of str
        Names of the lines in the spanning tree (switches excluded).
    line_bus : ndarray of int
        Index of the bus each line feeds.
    line_phases : ndarray of int
        Primary phase mask of each line.
    r1_ohm_per_km, x1_ohm_per_km, r0_ohm_per_km, x0_ohm_per_km : ndarray
        Sequence impedances [ohm/km].
    line_length_km : ndarray
        Line lengths [km].
    max_i_ka : ndarray
        Normal ampacity [kA] (NaN where the circuit gives none).
    left_out : tuple of str
        Elements that close loops and are not in the spanning tree.
    isolated_load_id, isolated_load_phases, isolated_p_kw : ndarray
        Loads on islands the source cannot reach (de-energised in the circuit as given): names,
        primary phase masks (found as for the other loads, each island walked from its
        highest-voltage bus) and total active power [kW]. They are not in the table.
    on_loop : ndarray of bool or None
        Per feeder bus: a source bus or a bus on a loop (its branches are three-phase in any
        engine; the unbalancing keeps it three-phase, :mod:`bayesgrid_plugins.unbalancing`).

    Examples
    --------
    >>> from opendss_ext import read_circuit
    >>> circuit = read_circuit("IEEE13/Master.dss")  # doctest: +SKIP
    >>> circuit.feeder.n_buses, circuit.p_kw.sum()  # total load [kW]  # doctest: +SKIP
    """

    name: str
    feeder: Feeder
    load_id: np.ndarray
    load_bus: np.ndarray
    load_phases: np.ndarray
    p_kw: np.ndarray
    q_kvar: np.ndarray
    line_id: np.ndarray
    line_bus: np.ndarray
    line_phases: np.ndarray
    r1_ohm_per_km: np.ndarray
    x1_ohm_per_km: np.ndarray
    r0_ohm_per_km: np.ndarray
    x0_ohm_per_km: np.ndarray
    line_length_km: np.ndarray
    max_i_ka: np.ndarray
    left_out: tuple[str, ...]
    isolated_load_id: np.ndarray
    isolated_load_phases: np.ndarray
    isolated_p_kw: np.ndarray
    on_loop: np.ndarray | None = None

    def training_table(self, *, system: str | None = None) -> TrainingTable:
        """The circuit as a :class:`~bayesgrid_plugins.training.TrainingTable`."""
        return make_training_table(
            self.feeder,
            system=self.name if system is None else system,
            load_id=self.load_id,
            load_bus=self.load_bus,
            load_phases=self.load_phases,
            p_kw=self.p_kw,
            q_kvar=self.q_kvar,
            line_id=self.line_id,
            line_bus=self.line_bus,
            line_phases=self.line_phases,
            r1_ohm_per_km=self.r1_ohm_per_km,
            x1_ohm_per_km=self.x1_ohm_per_km,
            r0_ohm_per_km=self.r0_ohm_per_km,
            x0_ohm_per_km=self.x0_ohm_per_km,
            max_i_ka=self.max_i_ka,
        )


# ---------------------------------------------------------------------------------- compiling
def _rewritten_master(master: Path, loads_file: str) -> str:
    """The master's text with absolute paths and every ``Loads.dss`` redirect swapped."""
    text = master.read_text(encoding="utf-8", errors="replace")
    out = []
    swapped = 0
    for line in text.splitlines():
        match = _PATH_COMMAND.match(line)
        if match is None:
            out.append(line)
            continue
        indent, verb, gap, arg, rest = match.groups()
        quoted = arg[:1] in "\"'[(" and arg[-1:] in "\"')]"
        raw = arg[1:-1] if quoted else arg
        target = (master.parent / raw).resolve()
        if verb.lower() == "redirect" and target.name.lower() == "loads.dss":
            replacement = target.with_name(loads_file)
            if not replacement.is_file():
                raise ParameterError(
                    f"loads_file={loads_file!r}: {str(replacement)!r} does not exist beside "
                    f"{str(target)!r}; name a file in the same folder as the Loads.dss it replaces."
                )
            target = replacement
            swapped += 1
        out.append(f"{indent}{verb}{gap}{dss_path(target)}{rest}")
    if swapped == 0:
        raise ParameterError(
            f"loads_file={loads_file!r}: the master {str(master)!r} redirects to no Loads.dss, "
            "so there is nothing to replace; omit loads_file."
        )
    return "\n".join(out) + "\n"


def _compile_within(engine: Any, command: str, *, what: str, timeout_s: float | None) -> None:
    """Run ``command`` in ``engine``, giving up after ``timeout_s`` seconds.

    The engine releases the interpreter while it works, so the command runs in a daemon thread
    and this thread waits for it. On a timeout the engine context is abandoned (it finishes or
    dies with the process) and an error is raised.
    """
    if timeout_s is None:
        run_commands(engine, [command], what=what)
        return
    failure: list[BaseException] = []

    def work() -> None:
        try:
            run_commands(engine, [command], what=what)
        except BaseException as exc:  # re-raised in the calling thread
            failure.append(exc)

    worker = threading.Thread(target=work, name="bayesgrid-dss-compile", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise AdapterError(
            f"compiling the {what} took longer than {timeout_s:g} s, so it was abandoned: the "
            "script probably solves many steps (a yearly or daily solve, a large 'number='). "
            "Remove long solves from the master, or pass timeout_s= (set "
            "BAYESGRID_DSS_TIMEOUT_S) if it really needs longer."
        )
    if failure:
        raise failure[0]


def _default_timeout() -> float | None:
    text = os.environ.get("BAYESGRID_DSS_TIMEOUT_S")
    if not text:
        return COMPILE_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        raise ParameterError(
            f"BAYESGRID_DSS_TIMEOUT_S={text!r} is not a number of seconds."
        ) from None
    return value if value > 0 else None


def compile_master(
    master_dss_path: str | os.PathLike[str],
    *,
    dss: Any = None,
    loads_file: str | None = None,
    max_iterations: int = 20,
    allowed_dirs: list[str | os.PathLike[str]] | None = None,
    timeout_s: float | str | None = "default",
) -> Any:
    """Compile a master ``.dss`` file in an isolated engine context.

    Before the engine sees anything, the files the master reads are checked
    (:func:`~opendss_ext.scripts.check_script_files`): no redirect cycle, at most 16 nested
    files, every file a regular file inside the master's folder or the folder above it (or in
    ``allowed_dirs``).

    Parameters
    ----------
    master_dss_path : path
        The circuit's master file.
    dss : opendssdirect context, optional
        Engine to use; default a fresh ``opendssdirect.NewContext()``.
    loads_file : str, optional
        File name that replaces every redirected ``Loads.dss`` (same folder), for example
        ``"Loads_original.dss"`` for the SMART-DS Greensboro feeders, whose ``Loads.dss`` was
        modified for EV scenarios. The master is rewritten to a temporary copy with absolute
        paths; nothing is written beside the data.
    max_iterations : int, default 20
        ``Set Maxiterations`` after compiling (IEEE 8500 needs 20 to converge).
    allowed_dirs : list of path, optional
        More folders the circuit's scripts may read from.
    timeout_s : float or None, optional
        Give up compiling after this many seconds [s]; ``None``: wait however long it takes.
        Default :data:`COMPILE_TIMEOUT_S` (no limit) or ``BAYESGRID_DSS_TIMEOUT_S``.

    Returns
    -------
    opendssdirect context
        The engine holding the compiled circuit. The working directory is left unchanged.

    Raises
    ------
    FileNotFoundError
        If the master does not exist.
    CircuitFileError
        If the master or a file it reads breaks the rules above.
    AdapterError
        If OpenDSS rejects the script, or compiling takes longer than ``timeout_s``.
    """
    master = Path(master_dss_path).resolve()
    if not master.exists():
        raise FileNotFoundError(f"master_dss_path {str(master)!r} is not a file.")
    check_script_files(master, allowed_dirs=allowed_dirs)
    limit = _default_timeout() if timeout_s == "default" else timeout_s
    if limit is not None and not (isinstance(limit, (int, float)) and limit > 0):
        raise ParameterError(
            f"timeout_s must be a positive number of seconds or None, not {limit!r}."
        )
    engine = new_engine(dss)
    what = f"circuit {master.name}"
    if loads_file is None:
        _compile_within(engine, f"compile {dss_path(master)}", what=what, timeout_s=limit)
    else:
        text = _rewritten_master(master, loads_file)
        with tempfile.TemporaryDirectory(prefix="bayesgrid-dss-") as tmp:
            copy = Path(tmp) / master.name
            copy.write_text(text, encoding="utf-8")
            _compile_within(engine, f"compile {dss_path(copy)}", what=what, timeout_s=limit)
    run_commands(engine, [f"set maxiterations={int(max_iterations)}"])
    return engine


# ---------------------------------------------------------------------------------- impedances
def line_sequence_impedances(
    r_matrix: np.ndarray, x_matrix: np.ndarray
) -> tuple[float, float, float, float]:
    """Sequence impedances of a line from its (Kron-reduced) phase impedance matrix.

    With ``Zs`` the mean self and ``Zm`` the mean mutual impedance, ``Z1 = Zs - Zm`` and
    ``Z0 = Zs + 2 Zm`` (exact for a transposed three-phase line; for a two-phase line the same
    formulas are used). A single-phase line has one self impedance: ``Z1 = Z0 = Zs``, which is
    the impedance the engine actually applies to it.

    Returns
    -------
    tuple of float
        ``(r1, x1, r0, x0)`` in the matrix's units.
    """
    z = np.asarray(r_matrix, dtype=float) + 1j * np.asarray(x_matrix, dtype=float)
    n = z.shape[0]
    zs = np.trace(z) / n
    if n == 1:
        z1 = z0 = zs
    else:
        zm = (z.sum() - np.trace(z)) / (n * (n - 1))
        z1, z0 = zs - zm, zs + 2 * zm
    return float(z1.real), float(z1.imag), float(z0.real), float(z0.imag)


# ---------------------------------------------------------------------------------- reading
def _element_edges(dss: Any) -> list[tuple[str, list[str], bool]]:
    """Enabled, closed power-delivery elements: (name, terminal bus references, is_line)."""
    out = []
    index = dss.PDElements.First()
    while index > 0:
        name = dss.CktElement.Name()
        buses = list(dss.CktElement.BusNames())
        n_terminals = dss.CktElement.NumTerminals()
        is_open = any(dss.CktElement.IsOpen(t, 0) for t in range(1, n_terminals + 1))
        if dss.CktElement.Enabled() and not is_open and n_terminals >= 2:
            out.append((name, buses, name.lower().startswith("line.")))
        elif is_open:
            logger.info("%s is open: not part of the topology", name)
        index = dss.PDElements.Next()
    return out


def _pd_buses(dss: Any) -> set[str]:
    """Names of the buses any power-delivery element touches (open or disabled included)."""
    out: set[str] = set()
    index = dss.PDElements.First()
    while index > 0:
        out.update(bus_name(b) for b in dss.CktElement.BusNames())
        index = dss.PDElements.Next()
    return out


def _referenced_buses(dss: Any) -> set[str]:
    """Buses named by the sources, the power-delivery elements and the loads."""
    out = _pd_buses(dss) | set(_source_buses(dss))
    index = dss.Loads.First()
    while index > 0:
        out.update(bus_name(b) for b in dss.CktElement.BusNames())
        index = dss.Loads.Next()
    return out


def _line_data(dss: Any, length_unit: str | None) -> dict[str, dict[str, Any]]:
    """Per enabled line (lower-case ``line.name``): length [km], impedances [ohm/km], etc."""
    data: dict[str, dict[str, Any]] = {}
    code_units: dict[str, int] = {}
    index = dss.LineCodes.First()
    while index > 0:
        code_units[dss.LineCodes.Name().lower()] = int(dss.LineCodes.Units())
        index = dss.LineCodes.Next()
    fallback = None if length_unit is None else LENGTH_UNIT_KM.get(length_unit.lower())
    if length_unit is not None and fallback is None:
        raise ParameterError(
            f"length_unit={length_unit!r} is not an OpenDSS length unit; use one of "
            "'mi', 'kft', 'km', 'm', 'ft', 'in', 'cm', 'mm'."
        )
    unitless = []
    index = dss.Lines.First()
    while index > 0:
        name = dss.Lines.Name().lower()
        phases = int(dss.Lines.Phases())
        units = int(dss.Lines.Units())
        if units == 0:
            units = code_units.get(dss.Lines.LineCode().lower(), 0)
        if units == 0:
            km_per_unit = 1.0 if fallback is None else fallback
            if not dss.Lines.IsSwitch():
                unitless.append(name)
        else:
            km_per_unit = LENGTH_UNIT_KM[units]
        r = np.asarray(dss.Lines.RMatrix(), dtype=float).reshape(phases, phases)
        x = np.asarray(dss.Lines.XMatrix(), dtype=float).reshape(phases, phases)
        r1, x1, r0, x0 = line_sequence_impedances(r, x)
        norm_amps = float(dss.Lines.NormAmps())
        data["line." + name] = {
            "length_km": float(dss.Lines.Length()) * km_per_unit,
            "r1": r1 / km_per_unit,
            "x1": x1 / km_per_unit,
            "r0": r0 / km_per_unit,
            "x0": x0 / km_per_unit,
            "max_i_ka": norm_amps / 1000.0 if norm_amps > 0 else np.nan,
            "switch": bool(dss.Lines.IsSwitch()),
            "bus1": dss.Lines.Bus1(),
            "phases": phases,
        }
        index = dss.Lines.Next()
    if unitless:
        logger.warning(
            "%d lines (for example %s) and their line codes have no length unit; lengths taken "
            "as %s. Pass length_unit= to state the unit.",
            len(unitless),
            unitless[0],
            "km" if length_unit is None else length_unit,
        )
    return data


def _step_transformers(dss: Any, *, min_ratio: float = 1.1) -> set[str]:
    """Names (``transformer.x``, lower case) of transformers whose windings' kV differ.

    Regulators and other same-voltage transformers are left out: below them the node numbers
    still name phases.
    """
    out = set()
    index = dss.Transformers.First()
    while index > 0:
        kvs = []
        for winding in range(1, int(dss.Transformers.NumWindings()) + 1):
            dss.Transformers.Wdg(winding)
            kvs.append(float(dss.Transformers.kV()))
        kvs_arr = np.asarray(kvs)
        if kvs_arr.min() > 0 and kvs_arr.max() / kvs_arr.min() > min_ratio:
            out.add("transformer." + dss.Transformers.Name().lower())
        index = dss.Transformers.Next()
    return out


def _source_bus(dss: Any) -> str:
    index = dss.Vsources.First()
    if index <= 0:
        raise AdapterError("the circuit has no Vsource: there is no source bus to root it at.")
    return bus_name(dss.CktElement.BusNames()[0])


def _source_buses(dss: Any) -> list[str]:
    """Buses of the enabled Vsources, the circuit's source (the first Vsource) first."""
    out = [_source_bus(dss)]
    index = dss.Vsources.Next()
    while index > 0:
        bus = bus_name(dss.CktElement.BusNames()[0])
        if dss.CktElement.Enabled() and bus not in out:
            out.append(bus)
        index = dss.Vsources.Next()
    return out


def read_circuit(
    master_dss_path: str | os.PathLike[str],
    *,
    dss: Any = None,
    loads_file: str | None = None,
    length_unit: str | None = None,
    n_zones: int = DEFAULT_N_ZONES,
    max_iterations: int = 20,
) -> OpenDSSCircuit:
    """Compile a circuit and read its radial topology, loads and lines.

    The tree is grown by :func:`~bayesgrid_plugins.topology.forest.spanning_forest`, the rule
    every reader shares, so a network read from OpenDSS and the same network read from
    pandapower give the same feeder:

    * every enabled, closed power-delivery element joins its first bus to each other bus; a
      plain line has its length, transformers, switches and other elements are links of
      :data:`~bayesgrid_plugins.topology.forest.LINK_LENGTH_KM`;
    * elements joining the same two buses are one edge whose length is the *shortest* of them
      (a regulator bank bridged by a jumper line, as in the IEEE 37-bus feeder, is a link: the
      jumper's length is not a distance), and every parallel line on a tree edge keeps its row
      in the training table;
    * every enabled Vsource is a source, the circuit's own (the first) leading: the tree grows
      breadth-first from all of them, each bus hanging below the source it reaches in the fewest
      branches, and the other sources hang below the first by a link;
    * elements that close loops are left out and listed in :attr:`OpenDSSCircuit.left_out`;
      buses no source reaches are dropped and logged.

    Unlike the pandapower readers, buses on opened loops are *not* made three-phase: a
    circuit's node numbers state its phases, and they are kept.

    On top of that tree, three OpenDSS rules: the feeder is rooted at the *feeder head*, the
    source bus moved down through transformers and switches (the substation transformer,
    regulators, breakers) as long as they lead to a single bus and no plain line joins the same
    two buses, so that the feeder's branches are the circuit's feeders and distances start
    where the primary lines start; loads below a one- or two-phase step-down transformer take
    its primary phases (see the module); and islands are grown too, each from its
    highest-voltage bus, so their loads' primary phases are counted apart
    (``isolated_load_*``).

    Parameters
    ----------
    master_dss_path : path
        The circuit's master ``.dss`` file.
    dss : opendssdirect context, optional
        Engine to compile in; default a fresh context.
    loads_file : str, optional
        Replacement for every redirected ``Loads.dss`` (see :func:`compile_master`).
    length_unit : str, optional
        Unit of lines whose line and line code state none (``"kft"`` for the IEEE 37 feeder);
        default km, with a logged warning.
    n_zones : int, default 10
        Zones of normalised distance.
    max_iterations : int, default 20
        Solver iteration limit set after compiling.

    Examples
    --------
    >>> from opendss_ext import read_circuit
    >>> circuit = read_circuit("ieee37/ieee37.dss", length_unit="kft")  # doctest: +SKIP
    >>> circuit.feeder.distance_km.max()  # longest path from the feeder head [km]  # doctest: +SKIP
    """
    master = Path(master_dss_path)
    dss = compile_master(master, dss=dss, loads_file=loads_file, max_iterations=max_iterations)
    name = dss.Circuit.Name()
    bus_names = [b.lower() for b in dss.Circuit.AllBusNames()]
    if not _referenced_buses(dss) <= set(bus_names):
        # Elements were defined after the last solve or calcvoltagebases (or there was none):
        # the engine has not listed their buses yet.
        logger.info("%s: buses defined after the last solve; rebuilding the bus list", name)
        run_commands(dss, ["makebuslist"], what=f"bus list of {master.name}")
        bus_names = [b.lower() for b in dss.Circuit.AllBusNames()]
    bus_index = {b: i for i, b in enumerate(bus_names)}
    n = len(bus_names)
    kv_base = np.zeros(n)
    xy = np.full((n, 2), np.nan)
    for i in range(n):
        dss.Circuit.SetActiveBusi(i)
        kv_base[i] = dss.Bus.kVBase()
        if dss.Bus.Coorddefined():
            xy[i] = (dss.Bus.X(), dss.Bus.Y())

    lines = _line_data(dss, length_unit)
    elements = _element_edges(dss)
    step = _step_transformers(dss)

    def is_plain_line(k: int) -> bool:
        return elements[k][2] and not lines[elements[k][0].lower()]["switch"]

    # Branches between distinct buses: a plain line carries its length, every other element
    # (transformer, switch, reactor) is a link; elements joining the same pair share one edge.
    pair_elements: dict[tuple[int, int], list[int]] = defaultdict(list)
    branch_u, branch_v, branch_km, branch_name = [], [], [], []
    for k, (elem_name, buses, _) in enumerate(elements):
        first = bus_index[bus_name(buses[0])]
        km = lines[elem_name.lower()]["length_km"] if is_plain_line(k) else np.nan
        for other in buses[1:]:
            j = bus_index[bus_name(other)]
            if j != first:
                pair_elements[(min(first, j), max(first, j))].append(k)
                branch_u.append(first)
                branch_v.append(j)
                branch_km.append(km)
                branch_name.append(elem_name)
    sources = [bus_index[b] for b in _source_buses(dss)]
    source = sources[0]
    forest = spanning_forest(n, branch_u, branch_v, branch_km, branch_name, sources)
    order = forest.order
    # Parent bus of every bus (-1 at the source; other sources hang below it by a link).
    pred = np.full(n, -1, dtype=np.int64)
    pred[order] = np.where(forest.parent >= 0, order[np.maximum(forest.parent, 0)], -1)
    length = np.zeros(n)
    length[order] = forest.length_km
    left_out = list(forest.loop_elements)
    on_loop = np.zeros(n, dtype=bool)
    on_loop[order] = forest.on_loop
    # Islands the sources cannot reach are grown too (each from its highest-voltage bus) so
    # their loads' primary phases can still be counted; they are not part of the feeder.
    n_islands = 0
    all_order = order
    if forest.unreached.size:
        ends = (np.asarray(branch_u, dtype=np.int64), np.asarray(branch_v, dtype=np.int64))
        adj = csr_array((np.ones(len(branch_u)), ends), shape=(n, n))
        _, labels = connected_components(adj, directed=False)
        roots = []
        for label in np.unique(labels[forest.unreached]):
            members = np.flatnonzero(labels == label)
            roots.append(int(members[np.argmax(kv_base[members])]))
        n_islands = len(roots)
        islands = spanning_forest(n, branch_u, branch_v, branch_km, branch_name, roots)
        island_parent = np.where(
            islands.parent >= 0, islands.order[np.maximum(islands.parent, 0)], -1
        )
        island_parent[np.isin(islands.order, roots)] = -1  # the links between island roots
        pred[islands.order] = island_parent
        left_out.extend(islands.loop_elements)
        all_order = np.r_[order, islands.order]
    edge_of: dict[int, list[int]] = {
        int(child): pair_elements.get(
            (min(int(pred[child]), int(child)), max(int(pred[child]), int(child))), []
        )
        for child in np.flatnonzero(pred >= 0)
    }
    unreachable = n - order.size
    if unreachable:
        logger.info(
            "%s: %d buses in %d islands cannot be reached from the source: dropped",
            name,
            unreachable,
            n_islands,
        )
    if left_out:
        logger.info(
            "%s: %d elements close loops and are left out of the spanning tree: %s",
            name,
            len(left_out),
            ", ".join(left_out[:20]) + (" ..." if len(left_out) > 20 else ""),
        )

    # Move the root down through non-line edges while they lead to a single bus.
    children: dict[int, list[int]] = defaultdict(list)
    for child in order[1:]:
        children[int(pred[child])].append(int(child))
    head = source
    while len(children[head]) == 1 and not any(map(is_plain_line, edge_of[children[head][0]])):
        head = children[head][0]
    # Buses in the head's subtree, in breadth-first order.
    keep = np.zeros(n, dtype=bool)
    keep[head] = True
    for bus in order:
        if bus != head and pred[bus] >= 0 and keep[pred[bus]]:
            keep[bus] = True
    kept = order[keep[order]]
    if head != source:
        logger.info(
            "%s: feeder rooted at %r, below the source bus %r (%d buses above it dropped)",
            name,
            bus_names[head],
            bus_names[source],
            int(order.size - kept.size),
        )

    # Primary phase lock: the uppermost edge that is one step-down transformer with a one- or
    # two-phase primary. Regulators and banks of single-phase units keep the phase numbering.
    lock = np.zeros(n, dtype=np.int64)
    for child in all_order:
        child = int(child)
        par = int(pred[child])
        if par < 0:
            continue
        if lock[par]:
            lock[child] = lock[par]
            continue
        units = sorted({k for k in edge_of[child] if elements[k][0].lower() in step})
        if len(units) == 1:
            buses = elements[units[0]][1]
            upstream = next((b for b in buses if bus_index[bus_name(b)] == par), buses[0])
            mask = node_mask(upstream, 3)
            if 0 < mask < 7:
                lock[child] = mask

    # Voltage bases: propagate down where a bus has none.
    vn_kv = kv_base * np.sqrt(3.0)
    for bus in kept[1:]:
        if vn_kv[bus] <= 0:
            vn_kv[bus] = vn_kv[pred[bus]]
    if vn_kv[head] <= 0:
        positive = vn_kv[kept][vn_kv[kept] > 0]
        vn_kv[kept[vn_kv[kept] <= 0]] = positive.max() if positive.size else 1.0

    # Loads (every enabled load gets its primary phases; those off the feeder are kept apart).
    load_id, load_bus, load_mask, p_total, q_total = [], [], [], [], []
    isolated_id, isolated_mask, isolated_p = [], [], []
    touched = _pd_buses(dss) | {bus_names[b] for b in sources}
    unconnected: list[str] = []
    index = dss.Loads.First()
    while index > 0:
        ref = dss.CktElement.BusNames()[0]
        bus = bus_index[bus_name(ref)]
        if bus_names[bus] not in touched:
            unconnected.append(f"Load.{dss.Loads.Name()} on bus {bus_names[bus]!r}")
        if dss.CktElement.Enabled():
            mask = int(lock[bus]) or node_mask(
                ref, int(dss.Loads.Phases()), delta=bool(dss.Loads.IsDelta())
            )
            mask = mask or 7
            if keep[bus]:
                load_id.append(dss.Loads.Name())
                load_bus.append(bus)
                load_mask.append(mask)
                p_total.append(dss.Loads.kW())
                q_total.append(dss.Loads.kvar())
            else:
                isolated_id.append(dss.Loads.Name())
                isolated_mask.append(mask)
                isolated_p.append(dss.Loads.kW())
        index = dss.Loads.Next()
    if unconnected:
        raise ParameterError(
            f"{str(master)!r}: {len(unconnected)} loads sit on buses that no line, transformer "
            f"or switch connects, for example {', '.join(unconnected[:5])}: a misspelt or "
            "undefined bus name. Fix the bus names in the circuit, or disable those loads."
        )
    if isolated_id:
        logger.info(
            "%s: %d loads (%.1f kW) sit on buses the source cannot reach: left out of the table",
            name,
            len(isolated_id),
            sum(isolated_p),
        )

    # Feeder arrays in BFS order of the kept subtree.
    position = np.full(n, -1, dtype=np.int64)
    position[kept] = np.arange(kept.size)
    parent = np.full(kept.size, -1, dtype=np.int64)
    parent[1:] = position[pred[kept[1:]]]
    is_load = np.zeros(n, dtype=bool)
    is_load[np.asarray(load_bus, dtype=np.int64)] = True
    feeder = Feeder(
        bus_id=np.asarray(bus_names)[kept],
        parent=parent.astype(np.int64),
        length_km=length[kept],
        x=xy[kept, 0],
        y=xy[kept, 1],
        vn_kv=vn_kv[kept],
        is_load=is_load[kept],
        n_zones=n_zones,
    )

    masks = np.asarray(load_mask, dtype=np.int64)
    bits = ((masks[:, None] >> np.arange(3)) & 1).astype(float)
    share = bits / np.maximum(bits.sum(axis=1, keepdims=True), 1)
    p = np.asarray(p_total, dtype=float)[:, None] * share
    q = np.asarray(q_total, dtype=float)[:, None] * share

    # Lines of the tree (switches excluded).
    line_rows = []
    for child in kept[1:]:
        for k in edge_of[int(child)]:
            elem_name, _, is_line = elements[k]
            if not is_line:
                continue
            info = lines[elem_name.lower()]
            if info["switch"]:
                continue
            mask = int(lock[child]) or node_mask(info["bus1"], info["phases"])
            line_rows.append((elem_name.split(".", 1)[1], int(position[child]), mask, info))

    def column(key: str) -> np.ndarray:
        return np.asarray([row[3][key] for row in line_rows], dtype=float)

    return OpenDSSCircuit(
        name=name,
        feeder=feeder,
        load_id=np.asarray(load_id, dtype=str),
        load_bus=position[np.asarray(load_bus, dtype=np.int64)],
        load_phases=masks,
        p_kw=p.reshape(-1, 3),
        q_kvar=q.reshape(-1, 3),
        line_id=np.asarray([row[0] for row in line_rows], dtype=str),
        line_bus=np.asarray([row[1] for row in line_rows], dtype=np.int64),
        line_phases=np.asarray([row[2] for row in line_rows], dtype=np.int64),
        r1_ohm_per_km=column("r1"),
        x1_ohm_per_km=column("x1"),
        r0_ohm_per_km=column("r0"),
        x0_ohm_per_km=column("x0"),
        line_length_km=column("length_km"),
        max_i_ka=column("max_i_ka"),
        left_out=tuple(left_out),
        isolated_load_id=np.asarray(isolated_id, dtype=str),
        isolated_load_phases=np.asarray(isolated_mask, dtype=np.int64),
        isolated_p_kw=np.asarray(isolated_p, dtype=float),
        on_loop=on_loop[kept],
    )


def training_table(
    master_dss_path: str | os.PathLike[str],
    *,
    system: str | None = None,
    n_zones: int = DEFAULT_N_ZONES,
    loads_file: str | None = None,
    length_unit: str | None = None,
    dss: Any = None,
) -> TrainingTable:
    """Training table of a real OpenDSS circuit.

    Parameters
    ----------
    master_dss_path : path
        The circuit's master ``.dss`` file.
    system : str, optional
        Name written in the table's ``system`` column; default the circuit's name.
    n_zones : int, default 10
        Zones of normalised distance.
    loads_file : str, optional
        Replacement for every redirected ``Loads.dss`` (``"Loads_original.dss"`` for the
        SMART-DS Greensboro feeders).
    length_unit : str, optional
        Unit of lines that state none (see :func:`read_circuit`).
    dss : opendssdirect context, optional
        Engine to compile in; default a fresh context.

    Returns
    -------
    TrainingTable
        One row per load (primary phases, P and Q per phase [kW, kvar], distance [km], d, zone,
        branch) and per line (phases, R1, X1, R0, X0 [ohm/km], length [km], ampacity [kA]).

    Examples
    --------
    >>> from opendss_ext import training_table
    >>> master = "p1uhs0_1247/Master.dss"  # a SMART-DS feeder
    >>> table = training_table(master, loads_file="Loads_original.dss")  # doctest: +SKIP
    """
    circuit = read_circuit(
        master_dss_path,
        dss=dss,
        loads_file=loads_file,
        length_unit=length_unit,
        n_zones=n_zones,
    )
    return circuit.training_table(system=system)
