"""Check the files an OpenDSS script reads before the engine compiles anything.

OpenDSS follows ``redirect`` and ``compile`` without a depth limit or cycle check (a file that
redirects to itself recurses until the process dies with a segmentation fault) and reads any
file a script names, which an error message may then echo. :func:`check_script_files` walks the
script tree first, with our own parser, and refuses:

* a cycle (a file that redirects to itself, ``A -> B -> A``);
* nesting deeper than :data:`MAX_DEPTH` or more than :data:`MAX_FILES` file reads in all;
* a script (``redirect``, ``compile``) outside the allowed folders: the master's folder and the
  folder above it (the IEEE test cases share their line codes one folder up), plus
  ``allowed_dirs`` and the folders listed in the environment variable ``BAYESGRID_DSS_ALLOW``
  (separated by ``os.pathsep``), and a ``datapath`` outside them. OpenDSS runs every line of a
  script and echoes a line it cannot run in its error, so a stray script could leak a file;
* a referenced file (script or data: ``buscoords``, ``file=``, ``csvfile=``, ...) that is
  missing, or not a regular file (a FIFO or device would block reading). Data files may lie
  anywhere (the SMART-DS feeders read load profiles three folders up); OpenDSS reads only
  numbers from them and does not echo their lines.

Errors name the file, the line and what to do, never the contents of a referenced file.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

from bayesgrid_plugins.errors import CircuitFileError

__all__ = ["ALLOW_ENV", "MAX_DEPTH", "MAX_FILES", "allowed_roots", "check_script_files"]

logger = logging.getLogger(__name__)

#: Deepest chain of ``redirect``/``compile`` accepted (the IEEE 8500 feeder needs 2).
MAX_DEPTH = 16
#: Most script files read in all (a file redirected from several places counts each time).
MAX_FILES = 5000
#: Environment variable with more folders (``os.pathsep``-separated) scripts may read from.
ALLOW_ENV = "BAYESGRID_DSS_ALLOW"

_VERBS_SCRIPT = ("redirect", "compile")
_VERBS_DATA = ("buscoords", "latlongcoords")
_VERB = re.compile(r"^\s*([A-Za-z]+)\s+(.*)$")
_FILE_PROPERTY = re.compile(
    r"(?<![A-Za-z])(file|sngfile|dblfile|csvfile|pqcsvfile|datapath)\s*=\s*(.*)$", re.IGNORECASE
)
_CLOSE = {'"': '"', "'": "'", "[": "]", "{": "}", "(": ")"}


def _verb_kind(word: str) -> str | None:
    """``"script"``, ``"data"`` or None for a command word (OpenDSS accepts abbreviations)."""
    word = word.lower()
    if len(word) < 4:
        return None
    if any(v.startswith(word) for v in _VERBS_SCRIPT):
        return "script"
    if any(v.startswith(word) for v in _VERBS_DATA):
        return "data"
    return None


def _token(text: str) -> str:
    """The first token of ``text``: a quoted value without its quotes, or up to a blank."""
    text = text.lstrip()
    if not text:
        return ""
    if text[0] in _CLOSE:
        end = text.find(_CLOSE[text[0]], 1)
        return text[1:] if end < 0 else text[1:end]
    return re.split(r"[\s,!]", text, maxsplit=1)[0].rstrip(")")


def _strip_comment(line: str) -> str:
    """``line`` without a trailing ``!`` or ``//`` comment outside quotes."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in _CLOSE:
            quote = _CLOSE[char]
        elif char == "!" or line.startswith("//", i):
            return line[:i]
    return line


def allowed_roots(
    master: Path, allowed_dirs: Iterable[str | os.PathLike[str]] | None = None
) -> list[Path]:
    """Folders a circuit's scripts may read from (see the module notes)."""
    folder = master.resolve().parent
    roots = [folder]
    above = folder.parent
    if above != Path(above.anchor):  # never the file system's root
        roots.append(above)
    extra = list(allowed_dirs or ())
    extra += [p for p in os.environ.get(ALLOW_ENV, "").split(os.pathsep) if p]
    roots += [Path(p).resolve() for p in extra]
    return roots


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _check_file(path: Path, *, where: str, roots: list[Path], allow_outside: bool) -> None:
    if not allow_outside and not _inside(path, roots):
        raise CircuitFileError(
            f"{where} refers to {str(path)!r}, outside the circuit's folders "
            f"({', '.join(repr(str(r)) for r in roots)}); bayesgrid reads circuit files only "
            "there. Copy the file into the circuit's folder, or pass allowed_dirs= (set "
            f"{ALLOW_ENV}) to allow its folder if you trust it."
        )
    if not path.exists():
        raise CircuitFileError(
            f"{where} refers to {str(path)!r}, which does not exist; fix the path in the script."
        )
    if not path.is_file():
        raise CircuitFileError(
            f"{where} refers to {str(path)!r}, which is not a regular file (a folder, FIFO or "
            "device); point it to a file."
        )


def check_script_files(
    master: str | os.PathLike[str],
    *,
    allowed_dirs: Iterable[str | os.PathLike[str]] | None = None,
    allow_outside: bool = False,
    max_depth: int = MAX_DEPTH,
    max_files: int = MAX_FILES,
) -> list[Path]:
    """Walk the files an OpenDSS master reads; refuse cycles, deep nesting and strays.

    Parameters
    ----------
    master : path
        The circuit's master file.
    allowed_dirs : iterable of path, optional
        More folders the scripts may read from.
    allow_outside : bool, default False
        Allow files anywhere (cycles, depth and file types are still checked).
    max_depth : int
        Deepest ``redirect``/``compile`` chain accepted.
    max_files : int
        Most script files read in all.

    Returns
    -------
    list of Path
        Every script file read, in reading order (the master first).

    Raises
    ------
    CircuitFileError
        Naming the file and line at fault and what to do.
    """
    top = Path(master).resolve()
    roots = allowed_roots(top, allowed_dirs)
    _check_file(top, where="the master", roots=roots, allow_outside=True)
    read: list[Path] = []
    # Depth-first, in the order OpenDSS reads: (file, chain of files that led to it).
    stack: list[tuple[Path, tuple[Path, ...]]] = [(top, ())]
    while stack:
        path, chain = stack.pop()
        read.append(path)
        if len(read) > max_files:
            raise CircuitFileError(
                f"the circuit {str(top)!r} reads more than {max_files} script files (redirects "
                "repeated inside redirected files?); simplify the script."
            )
        data = path.read_bytes()
        children = []
        for number, raw in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            line = _strip_comment(raw)
            where = f"{str(path)!r} line {number}"
            match = _VERB.match(line)
            kind = _verb_kind(match.group(1)) if match else None
            if match and kind:
                name = _token(match.group(2))
                if not name:
                    continue
                target = (path.parent / name).resolve()
                _check_file(
                    target, where=where, roots=roots, allow_outside=allow_outside or kind == "data"
                )
                if kind == "script":
                    children.append((target, where))
                continue
            for prop in _FILE_PROPERTY.finditer(line):
                name = _token(prop.group(2))
                if not name:
                    continue
                target = (path.parent / name).resolve()
                if prop.group(1).lower() == "datapath":
                    if not allow_outside and not _inside(target, roots):
                        raise CircuitFileError(
                            f"{where} sets datapath to {str(target)!r}, outside the circuit's "
                            "folders; remove it or pass allowed_dirs=."
                        )
                    continue
                _check_file(target, where=where, roots=roots, allow_outside=True)
        here = (*chain, path)
        for target, where in reversed(children):
            if target in here:
                cycle = " -> ".join(p.name for p in here[here.index(target) :]) + (
                    f" -> {target.name}"
                )
                raise CircuitFileError(
                    f"{where} redirects in a cycle ({cycle}): OpenDSS would recurse until it "
                    "crashes. Remove the redirect that closes the cycle."
                )
            if len(here) >= max_depth:
                raise CircuitFileError(
                    f"{where} nests redirects deeper than {max_depth} files ("
                    f"{' -> '.join(p.name for p in here[:3])} -> ...); flatten the script."
                )
            stack.append((target, here))
    logger.debug("%s reads %d script files", top, len(read))
    return read
