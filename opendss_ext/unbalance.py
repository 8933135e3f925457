"""Unbalance an existing OpenDSS circuit while keeping each bus's demand.

:func:`unbalance_circuit` compiles a circuit, reads its radial feeder
(:func:`~opendss_ext.reader.read_circuit`) and its loads, and samples, for every bus that
holds a convertible load, the phases and per-phase split of the bus's total kW and kvar
(:func:`~bayesgrid_plugins.models.conditioned.sample_conditioned`). Each realisation is a set of
edits to the circuit: the original loads of those buses are disabled, and one single-phase wye
load per phase that carries power is added (``New Load.u_<bus>_<a|b|c> bus1=<bus>.<node>
phases=1 kV=<phase-to-neutral kV>``): a single-phase load sits on its one phase, a three-phase
load gets one element per phase with its share. The new loads copy the ``model``, ``vminpu`` and
``vmaxpu`` of the first original load of their bus. :meth:`UnbalancedCircuit.write` saves every
realisation as a complete ``.dss`` folder (OpenDSS's ``save circuit``), atomically.

Which loads are converted (``loads=``):

- ``"three_phase"`` (default): enabled loads connected to all three phases (wye or delta);
- ``"all"``: every enabled load on a bus that has all three phase nodes.

Loads on buses with fewer phases (laterals, loads behind single-phase service transformers)
keep their phases: their wiring fixes them. Lines are not changed: a bus keeps the phases its
lines bring, so every sampled phase exists at its bus. A delta load becomes wye loads between
each phase and neutral, with the same total kW and kvar.

The sampling follows the rules every engine shares (:mod:`bayesgrid_plugins.unbalancing`): a
source bus or a bus on a loop stays three-phase, and so does a load above
``three_phase_above_kva`` (100 kVA by default, with a warning naming those loads).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import AdapterError, OutputExistsError, ParameterError
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.models.power import BayesianPowerModel, PowerParameters
from bayesgrid_plugins.reprs import compact_repr
from bayesgrid_plugins.scenarios import resolve_parameters
from bayesgrid_plugins.staging import clean_stale_staging, make_staging_dir
from bayesgrid_plugins.unbalancing import (
    DEFAULT_THREE_PHASE_ABOVE_KVA,
    large_load_buses,
    sample_unbalanced,
)

from .engine import bus_name, node_mask, run_commands
from .quoting import dss_bus, dss_element, dss_path
from .reader import compile_master, read_circuit

__all__ = ["UnbalancedCircuit", "check_totals_kept", "circuit_load_totals", "unbalance_circuit"]

logger = logging.getLogger(__name__)

_LETTERS = ("a", "b", "c")
#: Decimals written for kW and kvar: 1e-9 kW keeps totals to 1e-9 relative above 1 W.
_DECIMALS = 12
#: Largest relative change of a bus's total kW or kvar accepted after a realisation is applied.
TOTALS_RTOL = 1e-9


@dataclass(frozen=True)
class _Load:
    name: str
    bus: str
    kw: float
    kvar: float
    mask: int
    model: int
    vminpu: float
    vmaxpu: float


def _loads(dss: Any) -> list[_Load]:
    out = []
    index = dss.Loads.First()
    while index > 0:
        if dss.CktElement.Enabled():
            ref = dss.CktElement.BusNames()[0]
            out.append(
                _Load(
                    name=dss.Loads.Name(),
                    bus=bus_name(ref),
                    kw=float(dss.Loads.kW()),
                    kvar=float(dss.Loads.kvar()),
                    mask=node_mask(ref, int(dss.Loads.Phases()), delta=bool(dss.Loads.IsDelta())),
                    model=int(dss.Loads.Model()),
                    vminpu=float(dss.Loads.Vminpu()),
                    vmaxpu=float(dss.Loads.Vmaxpu()),
                )
            )
        index = dss.Loads.Next()
    return out


def _three_phase_buses(dss: Any, names: set[str]) -> set[str]:
    out = set()
    for name in names:
        dss.Circuit.SetActiveBus(name)
        if {1, 2, 3} <= set(int(v) for v in dss.Bus.Nodes()):
            out.add(name)
    return out


def circuit_load_totals(dss: Any) -> dict[str, tuple[float, float]]:
    """Total kW and kvar of the enabled loads of a live circuit, by bus (lower case).

    Parameters
    ----------
    dss : opendssdirect context
        An engine holding a compiled circuit.

    Returns
    -------
    dict of str to (float, float)
        Bus name -> (P [kW], Q [kvar]).

    Examples
    --------
    >>> from opendss_ext import circuit_load_totals, populate_circuit
    >>> dss = populate_circuit(feeder, ensemble)  # doctest: +SKIP
    >>> circuit_load_totals(dss)  # {bus: (P [kW], Q [kvar])}  # doctest: +SKIP
    """
    totals: dict[str, list[float]] = {}
    for load in _loads(dss):
        entry = totals.setdefault(load.bus, [0.0, 0.0])
        entry[0] += load.kw
        entry[1] += load.kvar
    return {bus: (p, q) for bus, (p, q) in totals.items()}


def check_totals_kept(
    before: dict[str, tuple[float, float]],
    after: dict[str, tuple[float, float]],
    *,
    what: str,
    rtol: float = TOTALS_RTOL,
) -> float:
    """Largest relative change of a bus's total kW or kvar; refuse one above ``rtol``.

    Raises
    ------
    AdapterError
        Naming the first bus whose total changed.
    """
    worst, first = 0.0, None
    for bus in sorted(set(before) | set(after)):
        old = before.get(bus, (0.0, 0.0))
        new = after.get(bus, (0.0, 0.0))
        for a, b in zip(new, old):
            err = abs(a - b) / max(abs(b), 1e-9)
            if err > worst:
                worst = err
            if err > rtol and first is None:
                first = (bus, b, a)
    if first is not None:
        bus, b, a = first
        raise AdapterError(
            f"{what}: the total load of bus {bus!r} changed from {b:.6g} to {a:.6g} (kW or "
            "kvar) when the loads were replaced, so the circuit's element names or bus names "
            "do not survive OpenDSS commands. Rename the circuit's loads and buses to plain "
            "names (letters, digits, _ and -) and run again."
        )
    return worst


@dataclass(frozen=True, eq=False)
class UnbalancedCircuit:
    """Realisations of an OpenDSS circuit whose convertible loads were unbalanced.

    Attributes
    ----------
    master : Path
        The circuit's master file.
    feeder : Feeder
        The circuit's radial feeder (from :func:`~opendss_ext.reader.read_circuit`).
    ensemble : Ensemble
        The sampled phases and per-phase kW/kvar of the converted buses.
    replaced : dict
        Bus -> names of the original loads each realisation disables.
    template : dict
        Bus -> (phase-to-neutral kV, model, vminpu, vmaxpu) of the new loads.
    loads_file : str or None
        Passed to :func:`~opendss_ext.reader.compile_master` when the circuit is rebuilt.

    Examples
    --------
    >>> from opendss_ext import unbalance_circuit
    >>> result = unbalance_circuit("IEEE13/Master.dss", n=10, rng=1)  # doctest: +SKIP
    >>> result.ensemble.p_kw.shape  # (10, buses, 3) [kW]  # doctest: +SKIP
    """

    master: Path
    feeder: Feeder
    ensemble: Ensemble
    replaced: dict[str, list[str]]
    template: dict[str, tuple[float, int, float, float]]
    loads_file: str | None = None

    def __repr__(self) -> str:
        return compact_repr(
            "UnbalancedCircuit",
            master=str(self.master)[-80:],
            n=len(self.ensemble),
            buses=self.feeder.n_buses,
            replaced_loads=int(sum(len(v) for v in self.replaced.values())),
        )

    def commands(self, realisation: int) -> list[str]:
        """OpenDSS commands that turn the original circuit into realisation ``realisation``."""
        n = self.ensemble.n_realisations
        if not isinstance(realisation, (int, np.integer)) or not -n <= realisation < n:
            raise IndexError(f"realisation {realisation!r} is out of range for {n} realisations.")
        k = int(realisation) % n
        position = {b: i for i, b in enumerate(self.feeder.bus_id.tolist())}
        lines = [f"! realisation {k}: {len(self.replaced)} buses unbalanced by bayesgrid"]
        for names in self.replaced.values():
            lines += [f"edit {dss_element('Load', name)} enabled=no" for name in names]
        for bus in self.replaced:
            i = position[bus]
            kv, model, vmin, vmax = self.template[bus]
            for j in range(3):
                kw = float(self.ensemble.p_kw[k, i, j])
                kvar = float(self.ensemble.q_kvar[k, i, j])
                if kw == 0.0 and kvar == 0.0:
                    continue
                lines.append(
                    f"New {dss_element('Load', f'u_{bus}_{_LETTERS[j]}')} "
                    f"bus1={dss_bus(bus, (j + 1,))} phases=1 conn=wye "
                    f"kV={kv:.12g} kW={kw:.{_DECIMALS}g} kvar={kvar:.{_DECIMALS}g} "
                    f"model={model} vminpu={vmin:g} vmaxpu={vmax:g}"
                )
        return lines

    def build(self, realisation: int, *, dss: Any = None) -> Any:
        """Compile the circuit and apply a realisation; returns the engine context.

        Raises
        ------
        AdapterError
            If a bus's total kW or kvar after the edits differs from the original circuit's
            (by more than :data:`TOTALS_RTOL`): the edits did not do what they should.
        """
        engine = compile_master(self.master, dss=dss, loads_file=self.loads_file)
        before = circuit_load_totals(engine)
        run_commands(engine, self.commands(realisation), what=f"realisation {realisation}")
        check_totals_kept(before, circuit_load_totals(engine), what=f"realisation {realisation}")
        return engine

    def write(
        self,
        out_dir: str | os.PathLike[str],
        *,
        realisations: Sequence[int] | None = None,
        overwrite: bool = False,
    ) -> list[Path]:
        """Save realisations as complete ``.dss`` folders ``out_dir/realisation_<k>/``.

        Each folder is written beside its target and renamed into place; an existing folder is
        replaced only with ``overwrite``. Compile ``Master.DSS`` of a folder, then run
        ``calcvoltagebases`` (OpenDSS saves that command commented out).
        """
        # Absolute: OpenDSS resolves a relative save folder against the circuit's own folder.
        out = Path(out_dir).resolve()
        out.mkdir(parents=True, exist_ok=True)
        chosen = range(self.ensemble.n_realisations) if realisations is None else realisations
        written = []
        clean_stale_staging(out)
        for k in chosen:
            target = out / f"realisation_{int(k):04d}"
            if target.exists() and not overwrite:
                raise OutputExistsError(
                    f"{str(target)!r} exists already; pass overwrite=True to replace it."
                )
            stage = make_staging_dir(out, target.name, kind="unbalance")
            try:
                engine = self.build(int(k))
                # OpenDSS creates the folder it saves into: give it a fresh name inside stage.
                saved = stage / "circuit"
                expected = circuit_load_totals(engine)
                run_commands(engine, [f"save circuit dir={dss_path(saved)}"], what="saved circuit")
                if not (saved / "Master.dss").is_file():
                    raise AdapterError(
                        f"OpenDSS did not save realisation {int(k)} into {str(saved)!r}; "
                        "choose an output folder whose path OpenDSS can name."
                    )
                check_totals_kept(
                    expected,
                    circuit_load_totals(compile_master(saved / "Master.dss")),
                    what=f"saved realisation {int(k)}",
                )
                if target.exists():
                    shutil.rmtree(target)
                os.replace(saved, target)
            finally:
                shutil.rmtree(stage, ignore_errors=True)
            written.append(target)
        return written


def unbalance_circuit(
    master_dss_path: str | os.PathLike[str],
    *,
    n: int = 1,
    model: BayesianPowerModel | PowerParameters | str | None = None,
    scenario: str | PowerParameters | None = None,
    rng: Any = None,
    loads: str = "three_phase",
    loads_file: str | None = None,
    dss: Any = None,
    three_phase_above_kva: float | None = DEFAULT_THREE_PHASE_ABOVE_KVA,
) -> UnbalancedCircuit:
    """Sample phase-accurate loads that keep each bus's total kW and kvar.

    Parameters
    ----------
    master_dss_path : path
        The circuit's master ``.dss`` file.
    n : int, default 1
        Number of realisations.
    model : BayesianPowerModel, PowerParameters or path, optional
        Power-model parameters (default: the shipped posterior).
    scenario : str or PowerParameters, optional
        ``"balanced"``, ``"unbalanced"`` or parameters from
        :func:`~bayesgrid_plugins.scenarios.scenario_parameters`.
    rng : seed or numpy.random.Generator, optional
        Random generator or seed.
    loads : {"three_phase", "all"}
        Which loads are converted (see the module notes).
    loads_file : str, optional
        Replacement for every redirected ``Loads.dss`` (see
        :func:`~opendss_ext.reader.compile_master`).
    dss : opendssdirect context, optional
        Engine to compile in; default a fresh context.
    three_phase_above_kva : float or None, default 100
        A load larger than this [kVA] stays three-phase in every realisation, and one
        :class:`~bayesgrid_plugins.errors.LargeLoadWarning` names those loads; None lets the
        model choose every load's phases. Buses on loops and source buses stay three-phase
        too: the same rules as for a pandapower net (:mod:`bayesgrid_plugins.unbalancing`).

    Returns
    -------
    UnbalancedCircuit

    Raises
    ------
    ParameterError
        If ``loads`` is unknown or no load can be converted.

    Examples
    --------
    >>> from opendss_ext import unbalance_circuit
    >>> master = "IEEE13/Master.dss"
    >>> result = unbalance_circuit(master, n=100, scenario="unbalanced", rng=1)  # doctest: +SKIP
    >>> result.ensemble.bus_phases.shape  # (100, buses)  # doctest: +SKIP
    """
    if loads not in ("three_phase", "all"):
        raise ParameterError(f"loads must be 'three_phase' or 'all', got {loads!r}.")
    params = resolve_parameters(model, scenario)
    master = Path(master_dss_path).resolve()
    circuit = read_circuit(master, dss=dss, loads_file=loads_file, n_zones=params.n_zones)
    feeder = circuit.feeder
    engine = compile_master(master, loads_file=loads_file)
    on_feeder = set(feeder.bus_id.tolist())
    all_loads = [load for load in _loads(engine) if load.bus in on_feeder]
    full = _three_phase_buses(engine, {load.bus for load in all_loads})
    chosen = [load for load in all_loads if load.bus in full and (loads == "all" or load.mask == 7)]
    if not chosen:
        raise ParameterError(
            f"the circuit {master.name!r} has no {'three-phase ' if loads != 'all' else ''}load "
            "on a three-phase bus of its feeder: nothing to unbalance"
            + (" (try loads='all')." if loads != "all" else ".")
        )
    position = {b: i for i, b in enumerate(feeder.bus_id.tolist())}
    p_bus = np.zeros(feeder.n_buses)
    q_bus = np.zeros(feeder.n_buses)
    replaced: dict[str, list[str]] = {}
    template: dict[str, tuple[float, int, float, float]] = {}
    for load in chosen:
        i = position[load.bus]
        p_bus[i] += load.kw
        q_bus[i] += load.kvar
        replaced.setdefault(load.bus, []).append(load.name)
        if load.bus not in template:
            kv = float(feeder.vn_kv[i]) / np.sqrt(3.0)
            template[load.bus] = (kv, load.model, load.vminpu, load.vmaxpu)
    big = large_load_buses(
        feeder,
        [load.bus for load in chosen],
        np.asarray([np.hypot(load.kw, load.kvar) for load in chosen]),
        [load.name for load in chosen],
        three_phase_above_kva,
    )
    ensemble = sample_unbalanced(
        feeder, p_bus, q_bus, n, params=params, rng=rng, on_loop=circuit.on_loop, large=big
    )
    logger.info(
        "%s: %d loads on %d buses (%.1f kW) unbalanced into %d realisations",
        master.name,
        len(chosen),
        len(replaced),
        float(p_bus.sum()),
        ensemble.n_realisations,
    )
    return UnbalancedCircuit(
        master=master,
        feeder=feeder,
        ensemble=ensemble,
        replaced=replaced,
        template=template,
        loads_file=loads_file,
    )
