"""bayesgrid: ensembles of synthetic, phase-consistent three-phase distribution grids.

The core works on NumPy arrays and imports neither pandapower nor OpenDSS; the adapters
``pandapower_ext`` and ``opendss_ext`` connect it to the engines. Typical use::

    import bayesgrid_plugins as bg

    net, hop_zone_list, source_bus = bg.create_osm_pandapower_network()   # embedded Monaco
    model = bg.BayesianPowerModel()                                        # shipped parameters
    model.generate_consistent_data(net, hop_zone_list, source_bus, n=100, rng=1)
    bg.save_synthetic_network(base_net=net, format="opendss", output_dir="out")

Functions that need the topology module or an engine are imported on first use, so
``import bayesgrid_plugins`` stays fast.
"""

from __future__ import annotations

from typing import Any

import pluggy

from . import _moved
from .ensemble import Ensemble
from .errors import (
    AdapterError,
    BayesGridError,
    CircuitFileError,
    DuplicateEngineError,
    DuplicateExporterError,
    ExporterFailedError,
    FeederValidationError,
    LargeLoadWarning,
    MissingDataWarning,
    OfflineError,
    OutputExistsError,
    ParameterError,
    PhaseConsistencyError,
    PosteriorMismatchError,
    UnknownEngineError,
    UnknownExporterError,
)
from .feeder import Feeder
from .models.impedance import BayesianImpedanceModel, ImpedanceParameters
from .models.power import BayesianPowerModel, PowerParameters
from .models.reliability import BayesianDurationModel, BayesianFrequencyModel, ReliabilityModel
from .phases import check_phase_consistency, enforce_phase_consistency

__version__ = "0.1.0"

_moved.install()  # old paths of the modules now in bayesgrid_plugins.app, with a warning

#: Marker for plugin hook implementations: ``@hookimpl def bayesgrid_register_exporters(...)``.
hookimpl = pluggy.HookimplMarker("bayesgrid")

# Public names defined in submodules that are imported only when first used.
_LAZY = {
    "create_osm_pandapower_network": "app.facade",
    "save_synthetic_network": "app.facade",
    "feeder_from_osm": "topology",
    "plot_feeder": "topology",
    "available_engines": "plugins",
    "available_exporters": "plugins",
    "get_engine": "plugins",
    "read_network": "plugins",
    "export": "plugins",
    "get_exporter": "plugins",
    "generate": "app.pipeline",
    "sample_conditioned": "models.conditioned",
    "scenario_parameters": "scenarios",
    "SCENARIOS": "scenarios",
    "GenerateConfig": "app.pipeline",
    "load_posterior": "inference",
}

__all__ = [
    "SCENARIOS",
    "AdapterError",
    "BayesGridError",
    "BayesianDurationModel",
    "BayesianFrequencyModel",
    "BayesianImpedanceModel",
    "BayesianPowerModel",
    "CircuitFileError",
    "DuplicateEngineError",
    "DuplicateExporterError",
    "Ensemble",
    "ExporterFailedError",
    "Feeder",
    "FeederValidationError",
    "GenerateConfig",
    "ImpedanceParameters",
    "LargeLoadWarning",
    "MissingDataWarning",
    "OfflineError",
    "OutputExistsError",
    "ParameterError",
    "PhaseConsistencyError",
    "PosteriorMismatchError",
    "PowerParameters",
    "ReliabilityModel",
    "UnknownEngineError",
    "UnknownExporterError",
    "__version__",
    "available_engines",
    "available_exporters",
    "check_phase_consistency",
    "create_osm_pandapower_network",
    "enforce_phase_consistency",
    "export",
    "feeder_from_osm",
    "generate",
    "get_engine",
    "get_exporter",
    "hookimpl",
    "load_posterior",
    "plot_feeder",
    "read_network",
    "sample_conditioned",
    "save_synthetic_network",
    "scenario_parameters",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'bayesgrid_plugins' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
