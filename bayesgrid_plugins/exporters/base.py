"""The exporter protocol that built-in and third-party exporters implement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

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
    """

    feeder: Feeder
    ensemble: Ensemble
    output_dir: Path
    realisations: Sequence[int]
    overwrite: bool = False


@runtime_checkable
class Exporter(Protocol):
    """An export format.

    Attributes
    ----------
    name : str
        Unique short name used on the command line (``--format NAME``).
    description : str
        One line shown by ``bayesgrid plugins``.
    """

    name: str
    description: str

    def export(self, request: ExportRequest) -> list[Path]:
        """Write the requested realisations atomically; return the paths written."""
        ...
