"""The ``opendss`` exporter: one folder of ``.dss`` files per realisation.

Each folder holds ``Master.dss`` (frequency, circuit, redirects, voltage bases,
``calcvoltagebases``, bus coordinates), ``LineCodes.dss``, ``Lines.dss``, ``Loads.dss`` and
``BusCoords.csv``, the same commands :func:`~opendss_ext.builder.to_dss_commands` hands to a
live engine. Compiling ``Master.dss`` and solving gives the live circuit's voltages. A folder is
written under a temporary name and renamed into place, so it appears complete or not at all.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from bayesgrid_plugins import hookimpl
from bayesgrid_plugins.errors import OutputExistsError, ParameterError
from bayesgrid_plugins.exporters._common import realisation_stem
from bayesgrid_plugins.exporters.base import ExportRequest
from bayesgrid_plugins.fileio import atomic_write_text
from bayesgrid_plugins.staging import (
    MARKER_FILE,
    clean_stale_staging,
    make_staging_dir,
    write_marker,
)

from .builder import CircuitOptions, check_inputs, dss_bus_names, to_dss_commands

__all__ = ["OpenDSSExporter", "bayesgrid_register_exporters", "write_dss_folder"]

_OPTION_KEYS = frozenset(
    {"frequency_hz", "all_three_phase", "vminpu", "vmaxpu", "tolerance", "name"}
)


def _split(commands: list[str]) -> dict[str, list[str]]:
    parts: dict[str, list[str]] = {
        "head": [],
        "linecodes": [],
        "lines": [],
        "loads": [],
        "tail": [],
    }
    for command in commands:
        if command.startswith("new linecode."):
            parts["linecodes"].append(command)
        elif command.startswith("new line."):
            parts["lines"].append(command)
        elif command.startswith("new load."):
            parts["loads"].append(command)
        elif parts["linecodes"] or parts["lines"] or parts["loads"]:
            parts["tail"].append(command)
        else:
            parts["head"].append(command)
    return parts


def write_dss_folder(
    folder: str | os.PathLike[str],
    feeder: Any,
    ensemble: Any,
    realisation: int = 0,
    *,
    options: CircuitOptions | None = None,
    overwrite: bool = False,
) -> Path:
    """Write one realisation as a folder of ``.dss`` files, atomically.

    Parameters
    ----------
    folder : path
        The folder to create (its parent must exist).
    feeder, ensemble, realisation, options
        As for :func:`~opendss_ext.builder.to_dss_commands`.
    overwrite : bool, default False
        Replace an existing folder.

    Returns
    -------
    Path
        The folder written.
    """
    target = Path(folder)
    if target.exists() and not overwrite:
        raise OutputExistsError(
            f"{str(target)!r} exists already; pass overwrite=True to replace it, or choose "
            "another folder."
        )
    if not target.parent.is_dir():
        raise FileNotFoundError(f"the folder {str(target.parent)!r} does not exist; create it.")
    parts = _split(to_dss_commands(feeder, ensemble, realisation, options=options, check=False))
    names = dss_bus_names(feeder)
    master = [
        f"! bayesgrid realisation {int(realisation)} of {ensemble.n_realisations}",
        *parts["head"],
        "redirect LineCodes.dss",
        "redirect Lines.dss",
        "redirect Loads.dss",
        *parts["tail"],
    ]
    xy = np.column_stack([feeder.x, feeder.y])
    has_xy = np.isfinite(xy).all(axis=1)
    if has_xy.any():
        master.append("buscoords BusCoords.csv")
    coords = "".join(
        f"{names[i]},{xy[i, 0]:.10g},{xy[i, 1]:.10g}\n" for i in np.flatnonzero(has_xy)
    )
    tmp = make_staging_dir(target.parent, target.name, kind="opendss export")
    try:
        for name, lines in (
            ("Master.dss", master),
            ("LineCodes.dss", parts["linecodes"]),
            ("Lines.dss", parts["lines"]),
            ("Loads.dss", parts["loads"]),
        ):
            atomic_write_text(tmp / name, "\n".join(lines) + "\n", overwrite=False)
        atomic_write_text(tmp / "BusCoords.csv", coords, overwrite=False)
        (tmp / MARKER_FILE).unlink()  # the finished folder holds the script files only
        if target.exists():
            if not overwrite:
                raise OutputExistsError(
                    f"{str(target)!r} appeared while it was being written; nothing replaced."
                )
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            write_marker(target, "opendss export")  # a kill now leaves a removable folder
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp)
    return target


class OpenDSSExporter:
    """Exporter of realisations as OpenDSS script folders (``realisation_<k>/Master.dss``).

    Options (``ExportRequest.options``): ``frequency_hz``, ``all_three_phase``, ``vminpu``,
    ``vmaxpu``, ``tolerance``, ``name`` (see :class:`~opendss_ext.builder.CircuitOptions`).

    Examples
    --------
    >>> from bayesgrid_plugins import export
    >>> export(feeder, ensemble, "opendss", "out", realisations=[0, 1])  # doctest: +SKIP
    """

    name = "opendss"
    description = "OpenDSS scripts: one folder per realisation with Master.dss, lines and loads"
    suffix = None

    def export(self, request: ExportRequest) -> list[Path]:
        """Write the requested realisations; return the folders written."""
        unknown = set(request.options) - _OPTION_KEYS
        if unknown:
            raise ParameterError(
                f"the opendss exporter does not know the options {sorted(unknown)}; it accepts "
                f"{sorted(_OPTION_KEYS)}."
            )
        name = request.options.get("name", "bayesgrid")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_\-]{1,64}", name):
            raise ParameterError(
                f"the opendss exporter's option name={name!r} is not an OpenDSS-safe circuit "
                "name: use 1 to 64 lower-case letters, digits, '_' or '-'."
            )
        options = CircuitOptions(**dict(request.options))
        check_inputs(request.feeder, request.ensemble)
        n = request.ensemble.n_realisations
        out = []
        clean_stale_staging(request.output_dir)
        for k in request.realisations:
            if not -n <= int(k) < n:
                raise IndexError(f"realisation {k!r} is out of range for {n} realisations.")
            k = int(k) % n
            folder = Path(request.output_dir) / realisation_stem(k)
            out.append(
                write_dss_folder(
                    folder,
                    request.feeder,
                    request.ensemble,
                    k,
                    options=options,
                    overwrite=request.overwrite,
                )
            )
        return out


@hookimpl
def bayesgrid_register_exporters(register: Any) -> None:
    """Register the OpenDSS exporter."""
    register(OpenDSSExporter())
