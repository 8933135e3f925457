"""The ``bayesgrid-csv`` exporter: the sample files of the original bayesgrid tool.

Users of the original tool keep their scripts: this exporter writes the same four long tables,
one row per (sample, bus) or (sample, line), with the same file names and column names.

``bus_power_and_phase_SAMPLES.csv``
    ``sample_id, bus_id, P_A, P_B, P_C, phase``: active load per phase [kW] and the phases the
    load connects to as letters (``"A"``, ``"BC"``, ``"ABC"``; empty for a bus without load).
``bus_frequency_SAMPLES.csv``
    ``sample_id, bus_id, CAIFI_FIC``: interruption frequency [interruptions per customer
    interrupted per year] (written when the ensemble has it).
``bus_duration_SAMPLES.csv``
    ``sample_id, bus_id, CAIDI_DIC``: interruption duration [h per interruption] (when the
    ensemble has it).
``line_impedance_SAMPLES.csv``
    ``sample_id, line_id, R1_ohm_per_km, X1_ohm_per_km``: positive-sequence impedance
    [ohm/km] of each line; ``line_id`` is the id of the bus the line feeds (when the ensemble
    has line data).

``sample_id`` is the realisation's index in the ensemble; buses (and lines) follow the feeder's
order, the source bus included in the bus tables (it carries no load). Reactive power and
zero-sequence data, which the original files do not hold, are in the ``csv`` and ``npz``
exports. Option ``prefix`` (str) puts ``<prefix>_`` before every file name, as the original's
output prefix did.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .. import hookimpl
from ..fileio import atomic_write_text
from ..phases import phases_from_mask
from ._common import check_new_files, reject_unknown_options
from .base import Exporter, ExportRequest

__all__ = ["FILES", "BayesgridCsvExporter", "sample_tables"]

#: File name of each table.
FILES = {
    "power": "bus_power_and_phase_SAMPLES.csv",
    "frequency": "bus_frequency_SAMPLES.csv",
    "duration": "bus_duration_SAMPLES.csv",
    "impedance": "line_impedance_SAMPLES.csv",
}
_PHASES = np.array([phases_from_mask(m) for m in range(8)], dtype=object)


def sample_tables(request: ExportRequest) -> dict[str, dict[str, np.ndarray]]:
    """The tables to write, by key of :data:`FILES`, each as aligned column arrays.

    Examples
    --------
    >>> from bayesgrid_plugins.exporters.bayesgrid_csv import sample_tables
    >>> tables = sample_tables(request)  # doctest: +SKIP
    >>> list(tables["power"])  # doctest: +SKIP
    ['sample_id', 'bus_id', 'P_A', 'P_B', 'P_C', 'phase']
    """
    feeder, ensemble = request.feeder, request.ensemble
    chosen = np.asarray(request.realisations, dtype=np.int64)
    n, b = chosen.size, feeder.n_buses
    sample = np.repeat(chosen, b)
    bus = np.tile(feeder.bus_id, n)
    tables: dict[str, dict[str, np.ndarray]] = {
        "power": {
            "sample_id": sample,
            "bus_id": bus,
            "P_A": ensemble.p_kw[chosen, :, 0].ravel(),
            "P_B": ensemble.p_kw[chosen, :, 1].ravel(),
            "P_C": ensemble.p_kw[chosen, :, 2].ravel(),
            "phase": _PHASES[ensemble.load_phases[chosen] & 7].ravel(),
        }
    }
    for key, field, column in (
        ("frequency", "caifi", "CAIFI_FIC"),
        ("duration", "caidi_h", "CAIDI_DIC"),
    ):
        values = getattr(ensemble, field)
        if values is not None:
            tables[key] = {"sample_id": sample, "bus_id": bus, column: values[chosen].ravel()}
    if ensemble.r1_ohm_per_km is not None and ensemble.x1_ohm_per_km is not None:
        lines = feeder.lines
        m = lines.size
        tables["impedance"] = {
            "sample_id": np.repeat(chosen, m),
            "line_id": np.tile(feeder.bus_id[lines], n),
            "R1_ohm_per_km": ensemble.r1_ohm_per_km[np.ix_(chosen, lines)].ravel(),
            "X1_ohm_per_km": ensemble.x1_ohm_per_km[np.ix_(chosen, lines)].ravel(),
        }
    return tables


class BayesgridCsvExporter:
    """The original bayesgrid tool's sample CSV files (power and phase, CAIFI, CAIDI, R1/X1)."""

    name = "bayesgrid-csv"
    description = (
        "the original bayesgrid's *_SAMPLES.csv files: sample_id, bus_id, P_A, P_B, P_C, phase..."
    )
    suffix = ".csv"

    def export(self, request: ExportRequest) -> list[Path]:
        """Write the sample tables the ensemble has into ``request.output_dir``."""
        import pandas as pd

        reject_unknown_options(request, self.name, ("prefix",))
        prefix = request.options.get("prefix")
        lead = f"{prefix}_" if prefix else ""
        tables = sample_tables(request)
        paths = check_new_files(
            [request.output_dir / f"{lead}{FILES[key]}" for key in tables],
            overwrite=request.overwrite,
            what="bayesgrid-csv export",
        )
        written = []
        for path, columns in zip(paths, tables.values()):
            text = pd.DataFrame(columns).to_csv(index=False, lineterminator="\n")
            written.append(
                atomic_write_text(
                    path, text, overwrite=request.overwrite, what="bayesgrid-csv export"
                )
            )
        return written


@hookimpl
def bayesgrid_register_exporters(register: Callable[[Exporter], None]) -> None:
    """Register the ``bayesgrid-csv`` exporter."""
    register(BayesgridCsvExporter())
