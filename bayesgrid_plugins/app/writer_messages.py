"""The messages between the main job and its writer process: JSON and ``.npz`` bytes, no pickles.

A message is a frame: an 8-byte big-endian length and a JSON object, followed by the binary
payloads the object announces (``"payloads": k``), each an 8-byte length and its bytes. The
feeder and the ensemble travel as the ``.npz`` bytes the ``npz`` exporter writes (read back with
``allow_pickle=False``). Errors, log records and warnings travel as plain fields and are rebuilt
on the other side; an error or warning class is looked up only among Python's built-in ones and
bayesgrid's own (:mod:`bayesgrid_plugins.errors`), anything else becomes
:class:`~bayesgrid_plugins.errors.ExporterFailedError` or a ``UserWarning`` carrying the class
name in its text.
"""

from __future__ import annotations

import builtins
import json
import logging
import struct
import sys
import traceback
import warnings
from collections.abc import Mapping, Sequence
from typing import IO, Any

from .. import errors as bayesgrid_errors
from ..errors import ExporterFailedError

__all__ = [
    "encode_frame",
    "error_fields",
    "read_frame",
    "rebuild_error",
    "record_fields",
    "replay",
    "warning_fields",
    "write_frame",
]

_LENGTH = struct.Struct(">Q")
#: Modules whose classes an error or warning may be rebuilt from.
_KNOWN = {"builtins": builtins, "bayesgrid_plugins.errors": bayesgrid_errors}


def encode_frame(header: Mapping[str, Any], payloads: Sequence[bytes] = ()) -> bytes:
    """The bytes of one message."""
    text = json.dumps({**header, "payloads": len(payloads)}).encode()
    parts = [_LENGTH.pack(len(text)), text]
    for payload in payloads:
        parts += [_LENGTH.pack(len(payload)), payload]
    return b"".join(parts)


def write_frame(
    stream: IO[bytes], header: Mapping[str, Any], payloads: Sequence[bytes] = ()
) -> None:
    """Write one message to ``stream`` and flush it."""
    stream.write(encode_frame(header, payloads))
    stream.flush()


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) != size:
        raise EOFError("the other process closed the pipe in the middle of a message")
    return data


def read_frame(stream: IO[bytes]) -> tuple[dict[str, Any], list[bytes]]:
    """Read one message; raises ``EOFError`` when the pipe ends."""
    (size,) = _LENGTH.unpack(_read_exactly(stream, _LENGTH.size))
    header = json.loads(_read_exactly(stream, size))
    if not isinstance(header, dict):
        raise EOFError("a message is not a JSON object")
    payloads = []
    for _ in range(int(header.get("payloads", 0))):
        (size,) = _LENGTH.unpack(_read_exactly(stream, _LENGTH.size))
        payloads.append(_read_exactly(stream, size))
    return header, payloads


def _class_path(cls: type) -> list[str]:
    return [cls.__module__, cls.__qualname__]


def _known_class(path: Sequence[str], base: type) -> type | None:
    module = _KNOWN.get(str(path[0])) if len(path) == 2 else None
    cls = getattr(module, str(path[1]), None) if module is not None else None
    return cls if isinstance(cls, type) and issubclass(cls, base) else None


# ---------------------------------------------------------------------- errors
def error_fields(exc: BaseException) -> dict[str, Any]:
    """An exception as plain fields: its class, its message and its formatted traceback."""
    return {
        "class": _class_path(type(exc)),
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(exc)),
    }


def rebuild_error(fields: Mapping[str, Any]) -> BaseException:
    """The exception of :func:`error_fields`, with the writer's traceback as a note."""
    cls = _known_class(fields.get("class", ()), BaseException)
    exc: BaseException | None = None
    try:
        exc = cls(fields["message"]) if cls is not None else None
    except Exception:  # a class that needs other arguments: fall back to its text
        exc = None
    if exc is None:
        name = ".".join(map(str, fields.get("class", ["?"])))
        exc = ExporterFailedError(f"the writer process failed: {name}: {fields['message']}")
    note = f"raised in the writer process:\n{fields['traceback']}"
    if sys.version_info >= (3, 11):
        exc.add_note(note)
    else:  # Python 3.10 has no exception notes: the traceback goes to the log
        logging.getLogger(__name__).error("%s", note)
    return exc


# ---------------------------------------------------------------------- log records, warnings
def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """A log record as plain fields (its message formatted, its traceback as text)."""
    exc_text = record.exc_text
    if record.exc_info and not exc_text:
        exc_text = logging.Formatter().formatException(record.exc_info)
    return {
        "name": record.name,
        "levelno": record.levelno,
        "levelname": record.levelname,
        "msg": record.getMessage(),
        "pathname": record.pathname,
        "filename": record.filename,
        "module": record.module,
        "lineno": record.lineno,
        "funcName": record.funcName,
        "created": record.created,
        "exc_text": exc_text,
    }


def warning_fields(caught: warnings.WarningMessage) -> dict[str, Any]:
    """A caught warning as plain fields."""
    return {
        "class": _class_path(caught.category),
        "message": str(caught.message),
        "filename": caught.filename,
        "lineno": caught.lineno,
    }


def replay(header: Mapping[str, Any]) -> None:
    """Re-emit the writer's log records and warnings in this process."""
    for fields in header.get("records", ()):
        record = logging.makeLogRecord({**fields, "args": None})
        target = logging.getLogger(record.name)
        if target.isEnabledFor(record.levelno):
            target.handle(record)
    for fields in header.get("warnings", ()):
        category = _known_class(fields.get("class", ()), Warning)
        text = str(fields["message"])
        if category is None:
            category, text = UserWarning, f"{'.'.join(fields['class'])}: {text}"
        warnings.warn_explicit(text, category, str(fields["filename"]), int(fields["lineno"]))
