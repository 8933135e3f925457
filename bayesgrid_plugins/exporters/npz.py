"""The ``npz`` exporter: the ensemble and its feeder as two NumPy files that reload exactly.

Writes ``ensemble.npz`` (:meth:`Ensemble.save`; the chosen realisations, their original indices in
``metadata["exported_realisations"]``) and ``feeder.npz`` (the arrays that rebuild the
:class:`Feeder`). :func:`load_export` reads both back.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import hookimpl
from ..ensemble import Ensemble
from ..errors import BayesGridError, PosteriorMismatchError
from ..feeder import Feeder
from ..fileio import atomic_write_bytes
from ._common import check_new_files, reject_unknown_options
from .base import Exporter, ExportRequest

__all__ = [
    "ENSEMBLE_FILE",
    "FEEDER_FILE",
    "NpzExporter",
    "feeder_from_bytes",
    "feeder_to_bytes",
    "load_export",
    "load_feeder",
]

ENSEMBLE_FILE = "ensemble.npz"
FEEDER_FILE = "feeder.npz"
_FORMAT = "bayesgrid-feeder"
_VERSION = 1
_FEEDER_ARRAYS = ("bus_id", "parent", "length_km", "x", "y", "vn_kv", "is_load", "demand_kw")


def feeder_to_bytes(feeder: Feeder) -> bytes:
    """The feeder's defining arrays as the bytes of a compressed ``.npz`` file."""
    arrays: dict[str, Any] = {
        name: np.asarray(getattr(feeder, name))
        for name in _FEEDER_ARRAYS
        if getattr(feeder, name) is not None
    }
    header = {"format": _FORMAT, "version": _VERSION, "crs": feeder.crs, "n_zones": feeder.n_zones}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, __header__=np.asarray(json.dumps(header)), **arrays)
    return buffer.getvalue()


def load_feeder(path: str | os.PathLike[str]) -> Feeder:
    """Rebuild the :class:`Feeder` written by the ``npz`` exporter.

    Raises
    ------
    PosteriorMismatchError
        If ``path`` is not such a file.
    """
    try:
        with open(path, "rb") as handle:
            return _feeder_from_npz(handle, str(path))
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise PosteriorMismatchError(
            f"{str(path)!r} is not a bayesgrid feeder file ({exc}); export it again with the "
            "'npz' exporter."
        ) from exc


def feeder_from_bytes(data: bytes) -> Feeder:
    """The :class:`Feeder` of :func:`feeder_to_bytes` (pickles refused, as for a file)."""
    return _feeder_from_npz(io.BytesIO(data), "feeder bytes")


def _feeder_from_npz(handle: Any, path: str) -> Feeder:
    try:
        with np.load(handle, allow_pickle=False) as data:
            header = json.loads(str(data["__header__"]))
            arrays = {k: data[k] for k in data.files if k != "__header__"}
        if not isinstance(header, dict):
            raise ValueError("its header is not a JSON object")
    except (ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise PosteriorMismatchError(
            f"{path!r} is not a bayesgrid feeder file ({exc}); export it again with the "
            "'npz' exporter."
        ) from exc
    if header.get("format") != _FORMAT or header.get("version") != _VERSION:
        raise PosteriorMismatchError(
            f"{str(path)!r} is a {header.get('format')!r} file of version "
            f"{header.get('version')!r}; this bayesgrid reads {_FORMAT!r} version {_VERSION}."
        )
    try:
        return Feeder(**arrays, crs=header.get("crs"), n_zones=int(header["n_zones"]))
    except (TypeError, ValueError, KeyError) as exc:
        if isinstance(exc, BayesGridError):
            raise
        raise PosteriorMismatchError(
            f"{str(path)!r} lacks or has unknown feeder arrays ({exc}); export it again with "
            "the 'npz' exporter."
        ) from exc


def load_export(folder: str | os.PathLike[str]) -> tuple[Feeder, Ensemble]:
    """Read the feeder and the ensemble the ``npz`` exporter wrote into ``folder``."""
    folder = Path(folder)
    return load_feeder(folder / FEEDER_FILE), Ensemble.load(folder / ENSEMBLE_FILE)


class NpzExporter:
    """The whole ensemble and its feeder, reloadable with :func:`load_export`."""

    name = "npz"
    description = "ensemble.npz (Ensemble.save) and feeder.npz; reload with load_export"
    suffix = ".npz"

    def export(self, request: ExportRequest) -> list[Path]:
        """Write ``ensemble.npz`` and ``feeder.npz`` into ``request.output_dir``."""
        reject_unknown_options(request, self.name, ())
        ensemble_path, feeder_path = check_new_files(
            [request.output_dir / ENSEMBLE_FILE, request.output_dir / FEEDER_FILE],
            overwrite=request.overwrite,
            what="npz export",
        )
        chosen = [int(k) for k in request.realisations]
        subset = request.ensemble[np.asarray(chosen, dtype=np.int64)]
        subset = replace(subset, metadata={**subset.metadata, "exported_realisations": chosen})
        atomic_write_bytes(
            feeder_path, feeder_to_bytes(request.feeder), overwrite=request.overwrite, what="feeder"
        )
        subset.save(ensemble_path, overwrite=request.overwrite)
        return [ensemble_path, feeder_path]


@hookimpl
def bayesgrid_register_exporters(register: Callable[[Exporter], None]) -> None:
    """Register the ``npz`` exporter."""
    register(NpzExporter())
