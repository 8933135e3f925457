"""Validation: synthetic ensembles measured against real feeders.

- :mod:`.real`: read a real feeder (OpenDSS master or pandapower net) and express its loads as a
  one-realisation ensemble, so real and synthetic data are measured alike.
- :mod:`.metrics`: per-phase mean P and MAPE, p3 (overall and per zone), single-phase shares, the
  Kolmogorov-Smirnov distance of P, the line phase mix, phase-consistency violations.
- :mod:`.transfer`: transfer learning on a real topology, unconditioned or conditioned on each
  bus's real demand.
- :mod:`.feasibility`: convergence, voltages, unbalance and loading in pandapower and OpenDSS.
- :mod:`.structure`: structural statistics of feeders (line length, depth, branching, length per
  load, normalised distance of loads) and their comparison.
- :mod:`.tables`: the paper's Table I and Table II layouts.

Importing this package imports neither pandapower nor OpenDSS; the functions that need an engine
import it when called.
"""

from __future__ import annotations

from .feasibility import (
    ENGINES,
    FeasibilityReport,
    feasibility,
    single_level,
    solve_opendss,
    solve_pandapower,
    summarise,
)
from .metrics import (
    Comparison,
    LoadStatistics,
    compare,
    consistency_violations,
    ks_distance,
    load_statistics,
    mape_percent,
)
from .real import RealFeeder, load_real_feeder, read_bus_coordinates, real_ensemble
from .report import ValidationReport, table_feasibility, validate_model
from .structure import (
    DISTRIBUTIONS,
    FeederStructure,
    compare_structure,
    feeder_structure,
    table_structure,
)
from .tables import (
    PAPER_TABLE_I,
    PAPER_TABLE_II,
    render,
    table_i,
    table_ii,
    table_metrics,
    table_zones,
)
from .transfer import MODES, TransferResult, resolve_posterior, transfer

__all__ = [
    "DISTRIBUTIONS",
    "ENGINES",
    "MODES",
    "PAPER_TABLE_I",
    "PAPER_TABLE_II",
    "Comparison",
    "FeasibilityReport",
    "FeederStructure",
    "LoadStatistics",
    "RealFeeder",
    "TransferResult",
    "ValidationReport",
    "compare",
    "compare_structure",
    "consistency_violations",
    "feasibility",
    "feeder_structure",
    "ks_distance",
    "load_real_feeder",
    "load_statistics",
    "mape_percent",
    "read_bus_coordinates",
    "real_ensemble",
    "render",
    "resolve_posterior",
    "single_level",
    "solve_opendss",
    "solve_pandapower",
    "summarise",
    "table_feasibility",
    "table_i",
    "table_ii",
    "table_metrics",
    "table_structure",
    "table_zones",
    "transfer",
    "validate_model",
]
