"""The ``pandapower`` exporter: one pandapower JSON file per realisation, plus an index.

Writes ``realisation_0000.json`` (``pandapower.to_json`` of the net built by
:func:`~pandapower_ext.populate.populate_net` and switched to each realisation) and ``index.json``
(format, feeder size, which file holds which realisation,
the ensemble's metadata). Every file is written atomically; nothing is written when one of the
targets exists and overwriting was not asked for. Registered through the ``bayesgrid.exporters``
entry point like any third-party exporter; the plugin manager hands it the folder
``<output_dir>/pandapower``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bayesgrid_plugins import hookimpl
from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import AdapterError, ParameterError
from bayesgrid_plugins.exporters.base import Exporter, ExportRequest
from bayesgrid_plugins.fileio import atomic_write_text, check_output_path

from .populate import build_net, set_realisation

__all__ = ["INDEX_FILE", "PandapowerJsonExporter", "write_realisations"]

logger = logging.getLogger(__name__)

#: Name of the index file.
INDEX_FILE = "index.json"
_FORMAT = "bayesgrid-pandapower"
_VERSION = 1
_OPTIONS = ("f_hz",)


def _stem(k: int) -> str:
    return f"realisation_{int(k):04d}"


def write_realisations(
    net: Any,
    ensemble: Ensemble,
    folder: str | os.PathLike[str],
    *,
    realisations: Sequence[int] | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``pandapower.to_json`` of ``net`` for each realisation, and an index file.

    ``net`` must have been filled from ``ensemble`` (:func:`populate_net` or
    :func:`populate_loads`); it is switched in place to each realisation and left holding the
    last one written.

    Parameters
    ----------
    net : pandapowerNet
        The populated net.
    ensemble : Ensemble
        The realisations.
    folder : path-like
        Folder to write into; created if missing.
    realisations : sequence of int, optional
        Which realisations (default all).
    overwrite : bool, default False
        Replace existing files.

    Returns
    -------
    list of Path
        The realisation files, then the index file.

    Raises
    ------
    OutputExistsError
        If a target exists and ``overwrite`` is False (checked before anything is written).

    Examples
    --------
    >>> from pandapower_ext import build_net, write_realisations
    >>> net = build_net(feeder, ensemble)  # doctest: +SKIP
    >>> files = write_realisations(net, ensemble, "out/pp", realisations=[0, 1])  # doctest: +SKIP
    """
    import pandapower as pp

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chosen = (
        list(range(ensemble.n_realisations))
        if realisations is None
        else [int(k) for k in realisations]
    )
    bad = [k for k in chosen if not 0 <= k < ensemble.n_realisations]
    if bad:
        raise IndexError(
            f"realisations {bad[:10]} are out of range for {ensemble.n_realisations} realisations."
        )
    targets = [folder / f"{_stem(k)}.json" for k in chosen]
    index_path = folder / INDEX_FILE
    for path in [*targets, index_path]:
        check_output_path(path, overwrite=overwrite, what="pandapower export")
    written = []
    for k, path in zip(chosen, targets):
        set_realisation(net, ensemble, k)
        try:
            text = pp.to_json(net)
        except (TypeError, ValueError) as exc:
            raise AdapterError(f"pandapower.to_json failed for realisation {k}: {exc!r}") from exc
        written.append(atomic_write_text(path, text, overwrite=overwrite, what="pandapower net"))
    index = {
        "format": _FORMAT,
        "version": _VERSION,
        "n_buses": len(net.bus),
        "n_lines": len(net.line),
        "n_loads": len(net.asymmetric_load),
        "files": {str(k): path.name for k, path in zip(chosen, targets)},
        "metadata": ensemble.metadata,
    }
    written.append(
        atomic_write_text(
            index_path,
            json.dumps(index, indent=2, default=str),
            overwrite=overwrite,
            what="pandapower index",
        )
    )
    logger.info("wrote %d pandapower nets to %s", len(chosen), folder)
    return written


class PandapowerJsonExporter:
    """pandapower JSON nets, one per realisation, solvable with ``pandapower.runpp_3ph``.

    Options (``request.options``): ``f_hz`` (system frequency [Hz], default 50).

    Examples
    --------
    >>> from bayesgrid_plugins import export
    >>> export(feeder, ensemble, "pandapower", "out", realisations=[0, 1])  # doctest: +SKIP
    """

    name = "pandapower"
    description = "pandapower JSON net per realisation (runpp_3ph-ready) and index.json"
    suffix = ".json"

    def prepare(self) -> None:
        """Import pandapower ahead of the first export (it takes seconds)."""
        import pandapower  # noqa: F401

    def export(self, request: ExportRequest) -> list[Path]:
        """Build the net once and write the requested realisations into ``request.output_dir``."""
        options = dict(getattr(request, "options", None) or {})
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise ParameterError(
                f"the 'pandapower' exporter got unknown options {unknown}; it takes "
                f"{', '.join(_OPTIONS)}."
            )
        realisations = [int(k) for k in request.realisations]
        folder = Path(request.output_dir)
        for path in [folder / f"{_stem(k)}.json" for k in realisations] + [folder / INDEX_FILE]:
            if path.exists() and not request.overwrite:
                check_output_path(path, overwrite=False, what="pandapower export")
        first = realisations[0] if realisations else 0
        net = build_net(
            request.feeder, request.ensemble, first, f_hz=float(options.get("f_hz", 50.0))
        )
        return write_realisations(
            net, request.ensemble, folder, realisations=realisations, overwrite=request.overwrite
        )


@hookimpl
def bayesgrid_register_exporters(register: Callable[[Exporter], None]) -> None:
    """Register the ``pandapower`` exporter."""
    register(PandapowerJsonExporter())
