"""The ``csv`` exporter: per-bus results of every realisation in one long CSV table.

``buses.csv`` has one row per (realisation, bus), realisations in the order asked for and buses in
the feeder's order, with the columns:

``realisation``
    Index of the realisation in the ensemble.
``bus_id``, ``parent_id``
    The bus and the bus feeding it (empty at the source).
``x``, ``y``
    Coordinates in the feeder's CRS (empty where unknown).
``vn_kv``, ``distance_km``
    Nominal voltage [kV] and distance from the source along the network [km].
``phases``, ``load_phases``
    Phases of the bus (and of the line into it) and of its load, as letters in A-B-C order
    (``"ABC"``, ``"AC"``); empty for none.
``p_a_kw``, ``p_b_kw``, ``p_c_kw``, ``q_a_kvar``, ``q_b_kvar``, ``q_c_kvar``
    Active [kW] and reactive [kvar] load per phase.
``caifi``, ``caidi_h``
    Only when the ensemble has reliability indices.

Floats are written with full precision, so the file reloads to the same values.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import numpy as np

from .. import hookimpl
from ..ensemble import BUS_FIELDS
from ..fileio import atomic_write_text
from ..phases import phases_from_mask
from ._common import check_new_files, reject_unknown_options
from .base import Exporter, ExportRequest

__all__ = ["BUSES_FILE", "CsvBusesExporter", "bus_table"]

BUSES_FILE = "buses.csv"
_PHASE_STRINGS = np.array([phases_from_mask(m) for m in range(8)], dtype=object)


def bus_table(request: ExportRequest) -> dict[str, np.ndarray]:
    """The columns of ``buses.csv`` as aligned arrays (realisation-major)."""
    feeder, ensemble = request.feeder, request.ensemble
    chosen = np.asarray(request.realisations, dtype=np.int64)
    n, b = chosen.size, feeder.n_buses
    parent_id = np.where(feeder.parent >= 0, feeder.bus_id[np.maximum(feeder.parent, 0)], "")
    columns: dict[str, np.ndarray] = {
        "realisation": np.repeat(chosen, b),
        "bus_id": np.tile(feeder.bus_id, n),
        "parent_id": np.tile(parent_id, n),
        "x": np.tile(cast(np.ndarray, feeder.x), n),
        "y": np.tile(cast(np.ndarray, feeder.y), n),
        "vn_kv": np.tile(feeder.vn_kv, n),
        "distance_km": np.tile(feeder.distance_km, n),
        "phases": _PHASE_STRINGS[ensemble.bus_phases[chosen] & 7].ravel(),
        "load_phases": _PHASE_STRINGS[ensemble.load_phases[chosen] & 7].ravel(),
    }
    for k, phase in enumerate("abc"):
        columns[f"p_{phase}_kw"] = ensemble.p_kw[chosen, :, k].ravel()
    for k, phase in enumerate("abc"):
        columns[f"q_{phase}_kvar"] = ensemble.q_kvar[chosen, :, k].ravel()
    for name in BUS_FIELDS:
        values = getattr(ensemble, name)
        if values is not None:
            columns[name] = values[chosen].ravel()
    return columns


class CsvBusesExporter:
    """Per-bus phases and per-phase loads of every realisation, one long CSV table."""

    name = "csv"
    description = "buses.csv: one row per realisation and bus (phases, per-phase P and Q)"
    suffix = ".csv"

    def export(self, request: ExportRequest) -> list[Path]:
        """Write ``buses.csv`` into ``request.output_dir``."""
        import pandas as pd

        reject_unknown_options(request, self.name, ())
        (path,) = check_new_files(
            [request.output_dir / BUSES_FILE], overwrite=request.overwrite, what="csv export"
        )
        text = pd.DataFrame(bus_table(request)).to_csv(index=False, lineterminator="\n")
        return [atomic_write_text(path, text, overwrite=request.overwrite, what="csv export")]


@hookimpl
def bayesgrid_register_exporters(register: Callable[[Exporter], None]) -> None:
    """Register the ``csv`` exporter."""
    register(CsvBusesExporter())
