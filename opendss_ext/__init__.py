"""OpenDSS adapter: build live circuits from ensembles, solve them, export them, read real ones.

Public API
----------
:func:`to_dss_commands`
    The OpenDSS script of one realisation (pure text).
:func:`populate_circuit`
    Build a realisation in an engine context (checked first; engine errors as ``AdapterError``).
:func:`set_realisation`, :func:`solve_ensemble`
    Switch a built circuit to another realisation; solve many realisations.
:func:`training_table`, :func:`read_circuit`
    Read a real OpenDSS circuit for training.
:class:`OpenDSSExporter`
    The ``opendss`` exporter (one folder of ``.dss`` files per realisation).
"""

from __future__ import annotations

from .builder import CircuitOptions, dss_bus_names, to_dss_commands
from .reader import OpenDSSCircuit, read_circuit, training_table
from .results import PowerFlowResult
from .solve import populate_circuit, set_realisation, solve, solve_ensemble
from .unbalance import UnbalancedCircuit, circuit_load_totals, unbalance_circuit

__all__ = [
    "CircuitOptions",
    "OpenDSSCircuit",
    "OpenDSSExporter",
    "PowerFlowResult",
    "UnbalancedCircuit",
    "circuit_load_totals",
    "dss_bus_names",
    "populate_circuit",
    "read_circuit",
    "set_realisation",
    "solve",
    "solve_area_dss",
    "solve_ensemble",
    "to_area_dss_commands",
    "to_dss_commands",
    "training_table",
    "unbalance_circuit",
]


_AREA = {
    "solve_area_dss": "solve_area",
    "to_area_dss_commands": "to_area_dss_commands",
}


def __getattr__(name: str) -> object:
    if name in _AREA:  # the area builder imports the topology stack: load it on first use
        from . import area

        return getattr(area, _AREA[name])
    if name == "OpenDSSExporter":
        from .exporter import OpenDSSExporter

        return OpenDSSExporter
    raise AttributeError(f"module 'opendss_ext' has no attribute {name!r}")
