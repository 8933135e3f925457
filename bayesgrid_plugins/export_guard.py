"""Run one exporter so that a failure is named and leaves nothing of that call behind.

The command line writes into a staging folder that is discarded on failure; the Python API
writes into the user's folder directly. :func:`guarded_export` gives the API the same promise:
files and folders the exporter created during the call are removed when it raises, and an
unexpected error is re-raised as :class:`~bayesgrid_plugins.errors.ExporterFailedError` naming
the format and the error (the original is its ``__cause__``). Errors of bayesgrid's own kind
(an existing output, a bad option) and of the system (permissions, a full disk) pass
unchanged. Files an exporter replaced with
``overwrite=True`` before failing cannot be restored.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import BayesGridError, ExporterFailedError

__all__ = ["entries", "guarded_export", "remove_new"]

logger = logging.getLogger(__name__)


def entries(folder: Path) -> set[Path]:
    """Every path below ``folder`` (empty when it does not exist)."""
    return set(folder.rglob("*")) if folder.is_dir() else set()


def remove_new(folder: Path, before: set[Path], existed: bool) -> None:
    """Remove what appeared below ``folder`` since ``before`` (all of it if it is new)."""
    if not existed:
        shutil.rmtree(folder, ignore_errors=True)
        return
    new = sorted(entries(folder) - before, key=lambda p: len(p.parts), reverse=True)
    for path in new:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def guarded_export(name: str, folder: Path, write: Callable[[], Any], *, existed: bool) -> Any:
    """Call ``write()`` (an exporter writing into ``folder``); on failure undo and name it.

    Parameters
    ----------
    name : str
        The format's name, for the message.
    folder : Path
        The folder the exporter writes into (created by the caller, maybe just now).
    write : callable
        Runs the exporter and returns what it returns.
    existed : bool
        Whether ``folder`` existed before this export (if not, it is removed whole on failure).

    Raises
    ------
    ExporterFailedError
        If the exporter raised anything but a bayesgrid error.

    Examples
    --------
    >>> from pathlib import Path
    >>> from bayesgrid_plugins.export_guard import guarded_export
    >>> guarded_export("npz", Path("out/npz"), lambda: [], existed=True)  # doctest: +SKIP
    []
    """
    before = entries(folder)
    try:
        return write()
    except BaseException as exc:
        remove_new(folder, before, existed)
        if isinstance(exc, (BayesGridError, OSError, KeyboardInterrupt, SystemExit, MemoryError)):
            raise  # ours, or the system's (permissions, disk): clear as they are
        if not isinstance(exc, Exception):
            raise
        logger.debug("exporter %r failed", name, exc_info=exc)
        raise ExporterFailedError(
            f"the {name!r} exporter failed: {type(exc).__name__}: {exc}. Nothing it wrote was "
            "kept; fix the exporter or leave the format out."
        ) from exc
