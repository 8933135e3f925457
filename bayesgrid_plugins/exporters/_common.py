"""Small helpers shared by the built-in exporters (not part of the public API)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

from ..errors import ParameterError
from ..fileio import check_output_path
from .base import ExportRequest

__all__ = ["check_new_files", "realisation_stem", "reject_unknown_options"]


def realisation_stem(k: int) -> str:
    """File stem of realisation ``k``: ``realisation_0007``."""
    return f"realisation_{int(k):04d}"


def check_new_files(paths: Iterable[Path], *, overwrite: bool, what: str) -> list[Path]:
    """Check every target before anything is written, so a refused export writes nothing.

    Raises
    ------
    OutputExistsError
        If one of ``paths`` exists and ``overwrite`` is False.
    """
    return [check_output_path(p, overwrite=overwrite, what=what) for p in paths]


def reject_unknown_options(request: ExportRequest, name: str, known: Collection[str]) -> None:
    """Raise :class:`ParameterError` naming any option this exporter does not take."""
    unknown = sorted(set(request.options) - set(known))
    if unknown:
        takes = ", ".join(sorted(known)) if known else "no options"
        raise ParameterError(
            f"the {name!r} exporter got unknown options {unknown}; it takes {takes}."
        )
