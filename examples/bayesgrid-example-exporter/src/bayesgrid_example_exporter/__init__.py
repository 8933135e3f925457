"""Example bayesgrid plugin: one ``buses.csv`` and one ``lines.csv`` per realisation."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path

from bayesgrid_plugins import hookimpl
from bayesgrid_plugins.exporters import Exporter, ExportRequest
from bayesgrid_plugins.fileio import atomic_write_text, check_output_path
from bayesgrid_plugins.phases import phases_from_mask

__all__ = ["ElementCsvExporter", "bayesgrid_register_exporters"]
__version__ = "0.1.0"

BUS_COLUMNS = (
    "bus_id",
    "x",
    "y",
    "phases",
    "load_phases",
    "p_a_kw",
    "p_b_kw",
    "p_c_kw",
    "q_a_kvar",
    "q_b_kvar",
    "q_c_kvar",
)
LINE_COLUMNS = ("line_id", "from_bus", "to_bus", "length_km", "phases")


def _csv_text(header: Sequence[str], rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


class ElementCsvExporter:
    """One folder per realisation with a table of buses and a table of lines."""

    name = "element-csv"
    description = "realisation_NNNN/buses.csv and lines.csv (example third-party plugin)"
    suffix = None  # it writes a folder per realisation

    def export(self, request: ExportRequest) -> list[Path]:
        """Write ``realisation_NNNN/buses.csv`` and ``lines.csv`` for each realisation."""
        if request.options:
            raise ValueError(f"element-csv takes no options, got {sorted(request.options)}")
        feeder, ensemble = request.feeder, request.ensemble
        folders = [request.output_dir / f"realisation_{k:04d}" for k in request.realisations]
        for folder in folders:  # refuse before writing anything
            for name in ("buses.csv", "lines.csv"):
                if folder.is_dir():
                    check_output_path(folder / name, overwrite=request.overwrite)
        written: list[Path] = []
        ids, parent = feeder.bus_id.tolist(), feeder.parent.tolist()
        x, y, length = feeder.x.tolist(), feeder.y.tolist(), feeder.length_km.tolist()
        for k, folder in zip(request.realisations, folders, strict=True):
            folder.mkdir(exist_ok=True)
            masks = [phases_from_mask(m) for m in ensemble.bus_phases[k].tolist()]
            loads = [phases_from_mask(m) for m in ensemble.load_phases[k].tolist()]
            p, q = ensemble.p_kw[k].tolist(), ensemble.q_kvar[k].tolist()
            buses = [
                [ids[i], x[i], y[i], masks[i], loads[i], *p[i], *q[i]]
                for i in range(feeder.n_buses)
            ]
            lines = [
                [ids[i], ids[parent[i]], ids[i], length[i], masks[i]] for i in feeder.lines.tolist()
            ]
            for name, header, rows in (
                ("buses.csv", BUS_COLUMNS, buses),
                ("lines.csv", LINE_COLUMNS, lines),
            ):
                path = folder / name
                atomic_write_text(path, _csv_text(header, rows), overwrite=request.overwrite)
                written.append(path)
        return written


@hookimpl
def bayesgrid_register_exporters(register: Callable[[Exporter], None]) -> None:
    """Register the ``element-csv`` exporter."""
    register(ElementCsvExporter())
