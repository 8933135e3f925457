"""pandapower adapter of bayesgrid: build, update, solve and read native pandapower nets.

- :func:`populate_net` / :func:`build_net`: a feeder and one realisation as a pandapower net that
  ``pandapower.runpp_3ph`` solves (per-phase loads in ``asymmetric_load``, zero-sequence data,
  transformer and external grid with documented defaults, see :mod:`pandapower_ext.defaults`).
- :func:`set_realisation`: switch a populated net to another realisation in place.
- :func:`feeder_from_net` and :func:`populate_loads`: sample loads onto a net the user has.
- :func:`solve_ensemble`: ``runpp_3ph`` on every realisation -> :class:`PowerFlowResult`.
- :func:`training_table`: a real net's loads and lines for learning.
- :class:`PandapowerJsonExporter` / :func:`write_realisations`: one JSON net per realisation.
"""

from __future__ import annotations

from .defaults import (
    DEFAULT_LV_LINE,
    DEFAULT_MV_LINE,
    DEFAULT_SOURCE,
    DEFAULT_TRAFO,
    LineParameters,
    SourceParameters,
    TrafoParameters,
)
from .exporter import PandapowerJsonExporter, write_realisations
from .netfile import read_net
from .populate import build_net, populate_loads, populate_net, set_realisation
from .reader import feeder_from_net, training_table
from .results import PowerFlowResult, voltage_unbalance_percent
from .solve import check_3ph_ready, solve_ensemble
from .unbalance import (
    LargeLoadWarning,
    MissingDataWarning,
    UnbalancedNet,
    add_zero_sequence_data,
    bus_load_totals,
    unbalance_feeder,
    unbalance_net,
    write_realisation,
)

__all__ = [
    "DEFAULT_LV_LINE",
    "DEFAULT_MV_LINE",
    "DEFAULT_SOURCE",
    "DEFAULT_TRAFO",
    "LargeLoadWarning",
    "LineParameters",
    "MissingDataWarning",
    "PandapowerJsonExporter",
    "PowerFlowResult",
    "SourceParameters",
    "TrafoParameters",
    "UnbalancedNet",
    "add_zero_sequence_data",
    "build_area_net",
    "build_net",
    "bus_load_totals",
    "check_3ph_ready",
    "feeder_from_net",
    "populate_loads",
    "populate_net",
    "read_net",
    "set_realisation",
    "solve_area_pp",
    "solve_ensemble",
    "training_table",
    "unbalance_feeder",
    "unbalance_net",
    "voltage_unbalance_percent",
    "write_realisation",
    "write_realisations",
]

_AREA = {
    "build_area_net": "build_area_net",
    "solve_area_pp": "solve_area",
}


def __getattr__(name: str) -> object:
    if name in _AREA:  # the area builder imports the topology stack: load it on first use
        from . import area

        return getattr(area, _AREA[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
