"""Atomic writes: a file is written beside its target and renamed into place.

A reader therefore sees either the old file or the complete new one, never a half-written one,
and an existing output is replaced only when the caller asks for it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputExistsError

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "check_output_path"]


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
