"""Atomic writes: a file is written beside its target and renamed into place.

A reader therefore sees either the old file or the complete new one, never a half-written one,
and an existing output is replaced only when the caller asks for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputExistsError, ParameterError, PosteriorMismatchError

__all__ = [
    "MANIFEST_FILE",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output_path",
    "manifest_formats",
    "restore_manifest",
    "safe_child",
    "verify_manifest",
    "write_manifest",
]

#: The completion marker of an output folder, written last (see :func:`write_manifest`).
MANIFEST_FILE = "manifest.json"
_MANIFEST_FORMAT = "bayesgrid-manifest"
_MANIFEST_VERSION = 1


def check_output_path(
    path: str | os.PathLike[str], *, overwrite: bool, what: str = "output"
) -> Path:
    """Return ``path`` as a Path after checking it can be written.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is False.
    IsADirectoryError
        If ``path`` is a directory.
    FileNotFoundError
        If the parent folder does not exist.
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"{what} path {str(target)!r} is a folder; give a file name.")
    if target.exists() and not overwrite:
        raise OutputExistsError(
            f"{what} {str(target)!r} exists already; pass overwrite=True to replace it, or "
            "choose another path."
        )
    if not target.parent.is_dir():
        raise FileNotFoundError(
            f"the folder {str(target.parent)!r} for {what} {target.name!r} does not exist; "
            "create it first."
        )
    return target


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str], *, overwrite: bool = False, what: str = "output"
) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``.

    On any error the temporary file is removed and ``path`` is left as it was.
    """
    target = check_output_path(path, overwrite=overwrite, what=what)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp makes the file private (0600); give it the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        if not overwrite and target.exists():
            raise OutputExistsError(
                f"{what} {str(target)!r} appeared while it was being written; nothing was "
                "replaced. Pass overwrite=True to replace it."
            )
        os.replace(tmp, target)
    except OSError as exc:
        if isinstance(exc, OutputExistsError) or exc.errno is None:
            raise
        # Same exception type (PermissionError, disk full, ...), with the output named and a
        # hint; the target is left as it was.
        raise type(exc)(
            exc.errno,
            f"{exc.strerror or exc}: could not write {what} {str(target)!r}; nothing was "
            "written. Check that the folder is writable and the disk has free space",
            str(target),
        ) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_bytes(
    path: str | os.PathLike[str], data: bytes, *, overwrite: bool = False, what: str = "output"
) -> Path:
    """Write ``data`` to ``path`` atomically (fsynced before the rename)."""
    with atomic_path(path, overwrite=overwrite, what=what) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    return Path(path)


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, overwrite: bool = False, what: str = "output"
) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"), overwrite=overwrite, what=what)


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def safe_child(folder: str | os.PathLike[str], name: str, *, what: str = "file name") -> Path:
    """``folder / name`` for a ``name`` that may come from data, never outside ``folder``.

    Characters other than letters, digits, ``.``, ``_`` and ``-`` become ``_``; a name made only
    of dots (``.``, ``..``) or an empty one is refused, so no name can climb out of ``folder``.

    Raises
    ------
    ParameterError
        If nothing usable is left of ``name``.
    """
    cleaned = _SAFE_NAME.sub("_", str(name))
    if not cleaned.strip("."):
        raise ParameterError(
            f"{what} {name!r} cannot name a file: give a name with letters or digits."
        )
    base = Path(folder)
    target = base / cleaned
    if target.resolve().parent != base.resolve():  # pragma: no cover - excluded by the cleaning
        raise ParameterError(f"{what} {name!r} would write outside {str(base)!r}.")
    return target


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _listed_files(folder: Path) -> list[Path]:
    """Every file under ``folder`` except a top-level manifest and hidden (temporary) entries."""
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or (Path(root) == folder and name == MANIFEST_FILE):
                continue
            out.append(Path(root) / name)
    return out


def write_manifest(
    folder: str | os.PathLike[str],
    *,
    under: list[str] | None = None,
    extra: dict[str, object] | None = None,
) -> Path:
    """Write ``folder/manifest.json`` listing every file in ``folder``; call it last.

    The manifest holds each file's path (relative, ``/``-separated), size [bytes] and SHA-256,
    and ``"complete": true``. A folder whose manifest is missing was not finished; one whose
    files differ from it was changed or damaged since (:func:`verify_manifest`).

    Parameters
    ----------
    folder : path
        The finished output folder.
    under : list of str, optional
        List only the files in these sub-folders of ``folder`` (default: every file).
    extra : dict, optional
        More JSON-serialisable entries (for example the formats written).
    """
    base = Path(folder)
    roots = [base] if under is None else [base / name for name in under]
    paths = [p for root in roots if root.is_dir() for p in _listed_files(root)]
    files = {
        path.relative_to(base).as_posix(): {"bytes": path.stat().st_size, "sha256": _digest(path)}
        for path in paths
    }
    document = {
        "format": _MANIFEST_FORMAT,
        "version": _MANIFEST_VERSION,
        "complete": True,
        **(extra or {}),
        "files": files,
    }
    return atomic_write_text(
        base / MANIFEST_FILE,
        json.dumps(document, indent=1, default=str) + "\n",
        overwrite=True,
        what="manifest",
    )


def manifest_formats(folder: str | os.PathLike[str]) -> list[str]:
    """The ``formats`` a folder's manifest lists (empty without a readable manifest)."""
    try:
        document = json.loads((Path(folder) / MANIFEST_FILE).read_text(encoding="utf-8"))
        formats = document.get("formats", [])
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return []
    return [f for f in formats if isinstance(f, str)] if isinstance(formats, list) else []


def verify_manifest(folder: str | os.PathLike[str], *, hashes: bool = True) -> list[str]:
    """Problems of an output folder against its manifest; an empty list means complete.

    Parameters
    ----------
    folder : path
        A folder written with :func:`write_manifest` last.
    hashes : bool, default True
        Also compare SHA-256 digests (otherwise sizes only).

    Returns
    -------
    list of str
        One line per problem: no manifest (the run did not finish), a listed file missing or
        changed.

    Raises
    ------
    PosteriorMismatchError
        If the manifest exists but is not a bayesgrid manifest.
    """
    base = Path(folder)
    path = base / MANIFEST_FILE
    if not path.is_file():
        return [f"{str(base)!r} has no {MANIFEST_FILE}: the run that wrote it did not finish."]
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        files = document["files"]
        ok = document.get("format") == _MANIFEST_FORMAT and isinstance(files, dict)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PosteriorMismatchError(f"{str(path)!r} is not a readable manifest ({exc}).") from exc
    if not ok or document.get("complete") is not True:
        raise PosteriorMismatchError(f"{str(path)!r} is not a complete bayesgrid manifest.")
    problems = []
    root = base.resolve()
    for name, entry in files.items():
        target = base / name
        if not isinstance(entry, dict):
            problems.append(f"{name} has no size and digest in the manifest")
            continue
        if Path(name).is_absolute() or ".." in Path(name).parts or ":" in Path(name).drive:
            # Never follow: a manifest must not make us read (or report on) files elsewhere.
            problems.append(f"{name} points outside the folder; not checked")
            continue
        if root not in target.resolve().parents:
            problems.append(f"{name} leads outside the folder (a link); not checked")
            continue
        if not target.is_file():
            problems.append(f"{name} is missing")
        elif target.stat().st_size != entry.get("bytes"):
            problems.append(f"{name} has {target.stat().st_size} bytes, not {entry.get('bytes')}")
        elif hashes and _digest(target) != entry.get("sha256"):
            problems.append(f"{name} was changed (SHA-256 differs)")
    return problems


def restore_manifest(folder: str | os.PathLike[str], document: bytes) -> bool:
    """Put an earlier manifest back if every file it lists is unchanged; return whether it was.

    Used when an export into a folder that held a complete export fails before changing it.
    """
    path = Path(folder) / MANIFEST_FILE
    try:
        atomic_write_bytes(path, document, overwrite=True, what="manifest")
        if not verify_manifest(folder):
            return True
    except (OSError, PosteriorMismatchError):
        pass
    path.unlink(missing_ok=True)
    return False
