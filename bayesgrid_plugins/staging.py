"""Staged output folders: written beside the target, marked, renamed into place, cleaned up.

A command that writes a folder writes it first into a staging folder ``.<name>.partial-*``
beside the target and renames it into place when everything is written; an existing output is
moved aside to ``.<name>.old-*`` first and removed afterwards. Each staging folder holds a
marker file (:data:`MARKER_FILE`: who made it, when, on which host, for which command) that
stays in the finished output and marks it as bayesgrid's.

A run killed with SIGKILL (``timeout -s KILL``, the OOM killer, Slurm) cannot clean up, so the
next run that writes into the same parent folder removes the marked staging folders left there
(:func:`clean_stale_staging`): those whose process is gone (same host), or older than
:data:`STALE_AFTER_S`. It logs one line per folder removed. Folders without our marker are never
touched.

``overwrite`` replaces only a folder bayesgrid wrote (it holds the marker or a bayesgrid
``manifest.json``) or an empty one; any other folder is refused with what to do.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import BayesGridError, OutputExistsError, ParameterError

__all__ = [
    "MARKER_FILE",
    "STALE_AFTER_S",
    "check_output_folder",
    "clean_stale_staging",
    "is_our_output",
    "make_staging_dir",
    "staged_folder",
]

logger = logging.getLogger(__name__)

#: Marker file of a staging folder (and of the output it becomes).
MARKER_FILE = ".bayesgrid"
_MARKER_FORMAT = "bayesgrid-staging"
#: Age [s] after which a marked staging folder is stale even if its process may still run
#: (on another host, or a reused process id).
STALE_AFTER_S = 6 * 3600.0
_STAGING = re.compile(r"^\..+\.(partial|old)-")


def _marker(kind: str) -> dict[str, object]:
    return {
        "format": _MARKER_FORMAT,
        "kind": kind,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "created": time.time(),
    }


def write_marker(folder: Path, kind: str) -> None:
    """Write (or refresh) ``folder``'s marker for this process."""
    (folder / MARKER_FILE).write_text(json.dumps(_marker(kind)) + "\n", encoding="utf-8")


def _read_marker(folder: Path) -> dict[str, object] | None:
    try:
        document = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("format") != _MARKER_FORMAT:
        return None
    return document


def make_staging_dir(parent: Path, name: str, *, kind: str, role: str = "partial") -> Path:
    """A new marked staging folder ``parent/.<name>.<role>-*``."""
    stage = Path(tempfile.mkdtemp(prefix=f".{name}.{role}-", dir=parent))
    write_marker(stage, kind)
    return stage


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_staging(parent: str | os.PathLike[str], *, now: float | None = None) -> list[Path]:
    """Remove marked staging folders in ``parent`` left by runs that ended without cleaning up.

    A folder is stale if its marker names a process of this host that no longer runs, or if it
    is older than :data:`STALE_AFTER_S`. Unmarked folders are left alone.

    Returns
    -------
    list of Path
        The folders removed (each also logged).
    """
    base = Path(parent)
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not _STAGING.match(entry.name) or entry.is_symlink() or not entry.is_dir():
            continue
        marker = _read_marker(entry)
        if marker is None:
            continue
        created = marker.get("created")
        pid = marker.get("pid")
        age = now - float(created) if isinstance(created, (int, float)) else float("inf")
        gone = (
            marker.get("host") == socket.gethostname()
            and isinstance(pid, int)
            and pid != os.getpid()
            and not _alive(pid)
        )
        if not (gone or age > STALE_AFTER_S):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        if not entry.exists():
            removed.append(entry)
            logger.warning(
                "removed %s, a staging folder left by an interrupted %s run (process %s, "
                "%.0f s ago)",
                entry,
                marker.get("kind"),
                pid,
                age,
            )
    return removed


def is_our_output(folder: Path) -> bool:
    """Whether ``folder`` is empty or was written by bayesgrid (marker or manifest)."""
    if not any(folder.iterdir()):
        return True
    if _read_marker(folder) is not None:
        return True
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == "bayesgrid-manifest"


def _check_name(out: Path) -> None:
    if str(out) == "" or out.name in ("", ".", ".."):
        raise ParameterError(
            f"output folder {str(out)!r} names no new folder (it is the current or a parent "
            "folder); give a folder name such as --out results (out=Path('results')): "
            "bayesgrid writes into a folder of its own."
        )


def check_output_folder(out: Path, *, overwrite: bool) -> None:
    """Refuse an output folder bayesgrid cannot or must not write.

    Raises
    ------
    ParameterError
        If ``out`` names no folder of its own (``.``, ``..``, empty).
    OutputExistsError
        If ``out`` is a file, is non-empty without ``overwrite``, or holds files bayesgrid did
        not write (``overwrite`` replaces only bayesgrid's own outputs).
    FileNotFoundError
        If the parent folder does not exist.
    """
    out = Path(out)
    _check_name(out)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(
            f"output folder {str(out)!r} is a file; choose another --out or remove the file."
        )
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise OutputExistsError(
                f"output folder {str(out)!r} exists and is not empty; pass --overwrite "
                "(overwrite=True) to replace it, or choose another --out."
            )
        if not is_our_output(out):
            example = sorted(p.name for p in out.iterdir())[:3]
            raise OutputExistsError(
                f"output folder {str(out)!r} holds files bayesgrid did not write (for example "
                f"{example}), so --overwrite will not replace it: bayesgrid replaces only "
                f"folders it wrote (with {MARKER_FILE} or manifest.json) or empty ones. Choose "
                "another --out, or move those files away yourself."
            )
    if not out.parent.exists():
        raise FileNotFoundError(
            f"the parent folder of {str(out)!r} does not exist; create {str(out.parent)!r} first."
        )


def _write_error(exc: OSError, out: Path) -> OSError:
    """``exc`` (same type) with the output folder named and what to do."""
    if isinstance(exc, BayesGridError) or exc.errno is None:
        return exc
    return type(exc)(
        exc.errno,
        f"{exc.strerror or exc}: could not write the output folder {str(out)!r}; nothing was "
        f"written. Check that {str(out.parent)!r} is writable and the disk has free space, or "
        "choose another --out",
        str(out),
    )


@contextlib.contextmanager
def staged_folder(out: Path, *, overwrite: bool, kind: str = "bayesgrid") -> Iterator[Path]:
    """Yield an empty marked staging folder beside ``out``; move it to ``out`` on success.

    Stale staging folders of earlier runs in ``out``'s parent are removed first. On an error or
    an interruption the staging folder is removed and ``out`` is untouched.
    """
    out = Path(out)
    check_output_folder(out, overwrite=overwrite)
    clean_stale_staging(out.parent)
    try:
        stage = make_staging_dir(out.parent, out.name, kind=kind)
    except OSError as exc:
        raise _write_error(exc, out) from exc
    try:
        yield stage
        old = None
        try:
            if out.exists():
                check_output_folder(out, overwrite=overwrite)  # it may have changed meanwhile
                write_marker(out, kind)  # ours now: marked, so a kill leaves a stale-able folder
                old = out.with_name(f".{out.name}.old-{os.getpid()}-{time.time_ns()}")
                os.replace(out, old)
            os.replace(stage, out)
        except OSError as exc:
            if old is not None and not out.exists():
                with contextlib.suppress(OSError):
                    os.replace(old, out)  # put the previous result back
            raise _write_error(exc, out) from exc
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)
