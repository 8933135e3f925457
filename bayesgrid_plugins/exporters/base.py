"""The exporter protocol that built-in and third-party exporters implement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..ensemble import Ensemble
from ..feeder import Feeder

__all__ = ["ExportRequest", "Exporter"]


@dataclass(frozen=True)
class ExportRequest:
    """What to export and where.

    Attributes
    ----------
    feeder : Feeder
        The topology the ensemble belongs to.
    ensemble : Ensemble
        The realisations.
    output_dir : Path
        Folder the exporter writes into (it exists; the exporter creates sub-folders it needs).
    realisations : sequence of int
        Which realisations to write.
    overwrite : bool
        Whether existing files may be replaced.
    options : mapping of str to object
        Format-specific options given by the caller (``export(..., options={name: {...}})``);
        empty by default. An exporter should reject keys it does not know.
    """

    feeder: Feeder
    ensemble: Ensemble
    output_dir: Path
    realisations: Sequence[int]
    overwrite: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Exporter(Protocol):
    """An export format.

    Attributes
    ----------
    name : str
        Unique short name used on the command line (``--format NAME``).
    description : str
        One line shown by ``bayesgrid plugins``.

    Notes
    -----
    An exporter may also have a ``suffix`` attribute (``str`` or ``None``): the suffix of the
    files it writes (``".geojson"``), or ``None`` when it writes a folder per realisation. It is
    optional and only shown by ``bayesgrid plugins``; it is not part of the runtime check.

    An exporter may also have a ``prepare()`` method taking no argument: it does the slow
    one-off work of a first export ahead of time (importing its engine library). The main job
    calls it in its writer process while it samples; an error in it is ignored there, since the
    export itself will report it.
    """

    name: str
    description: str

    def export(self, request: ExportRequest) -> list[Path]:
        """Write the requested realisations atomically; return the paths written."""
        ...
