"""bayesgrid: ensembles of synthetic, phase-consistent three-phase distribution grids."""

from __future__ import annotations

import pluggy

from .ensemble import Ensemble
from .errors import (
    AdapterError,
    BayesGridError,
    DuplicateExporterError,
    FeederValidationError,
    OfflineError,
    OutputExistsError,
    ParameterError,
    PhaseConsistencyError,
    PosteriorMismatchError,
    UnknownExporterError,
)
from .feeder import Feeder
from .phases import check_phase_consistency, enforce_phase_consistency

__version__ = "0.1.0"

#: Marker for plugin hook implementations: ``@hookimpl def bayesgrid_register_exporters(...)``.
hookimpl = pluggy.HookimplMarker("bayesgrid")

__all__ = [
    "AdapterError",
    "BayesGridError",
    "DuplicateExporterError",
    "Ensemble",
    "Feeder",
    "FeederValidationError",
    "OfflineError",
    "OutputExistsError",
    "ParameterError",
    "PhaseConsistencyError",
    "PosteriorMismatchError",
    "UnknownExporterError",
    "__version__",
    "check_phase_consistency",
    "enforce_phase_consistency",
    "hookimpl",
]
