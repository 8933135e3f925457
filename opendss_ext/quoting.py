"""One quoting function for every string that reaches an OpenDSS command.

OpenDSS's command parser splits a line at blanks, ``=`` and ``,``, ends it at ``!`` or ``//``,
and knows no escape character. A value can be quoted with one of the pairs ``"..."``,
``'...'``, ``[...]``, ``{...}`` or ``(...)``; inside a pair every character but its closing
one is kept. :func:`dss_quote` therefore picks the first pair neither of whose characters occurs
in the text, and refuses text that no pair can hold or that holds a line break or another
control character (the engine would end the command there). A plain name (letters, digits,
``_`` and ``-`` only) needs no quotes and is returned as it is, so scripts built from sanitised
names read as before. Element names, bus names, paths and option values from any input go
through it; numbers are formatted by the builders.

Examples
--------
>>> from opendss_ext.quoting import dss_element, dss_quote
>>> dss_quote("victim.kw=9999 !")
'"victim.kw=9999 !"'
>>> dss_quote("b17")
'b17'
>>> dss_element("Load", 'say "hi"')
'\\'Load.say "hi"\\''
"""

from __future__ import annotations

import os
import re

from bayesgrid_plugins.errors import ParameterError

__all__ = ["dss_bus", "dss_element", "dss_number", "dss_path", "dss_quote"]

#: Quote pairs OpenDSS's parser accepts, in order of preference.
_PAIRS = (('"', '"'), ("'", "'"), ("[", "]"), ("{", "}"), ("(", ")"))
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PLAIN = re.compile(r"[A-Za-z0-9_-]+")


def dss_quote(text: str, *, what: str = "name") -> str:
    """``text`` quoted so that OpenDSS reads it back as one value, unchanged.

    Parameters
    ----------
    text : str
        An element name, bus reference, path or option value.
    what : str, default "name"
        What ``text`` is, for the error message.

    Returns
    -------
    str
        ``text`` itself if it is plain (letters, digits, ``_``, ``-``), else ``text`` inside
        the first quote pair neither of whose characters it contains.

    Raises
    ------
    ParameterError
        If ``text`` is empty, holds a control character (line break, tab, NUL, ...), or holds a
        character of every quote pair.
    """
    text = str(text)
    if not text:
        raise ParameterError(f"the {what} is empty; OpenDSS needs a non-empty value.")
    if _CONTROL.search(text):
        raise ParameterError(
            f"the {what} {text!r} holds a line break or another control character, which would "
            "end an OpenDSS command; rename it."
        )
    if _PLAIN.fullmatch(text):
        return text
    for opening, closing in _PAIRS:
        if opening not in text and closing not in text:
            return f"{opening}{text}{closing}"
    raise ParameterError(
        f"the {what} {text!r} holds a character of every OpenDSS quote pair (\" ' [] {{}} ()), "
        "so no command can name it safely; rename it."
    )


def dss_element(kind: str, name: str) -> str:
    """A quoted full element name ``Kind.name`` (``Load``, ``Line``, ``Generator``, ...)."""
    if not re.fullmatch(r"[A-Za-z_]+", kind):
        raise ParameterError(f"OpenDSS element class {kind!r} must be letters only.")
    name = str(name)
    if _PLAIN.fullmatch(name):
        return f"{kind}.{name}"
    return dss_quote(f"{kind}.{name}", what=f"{kind.lower()} name")


def dss_bus(bus: str, nodes: tuple[int, ...] | list[int] | str = ()) -> str:
    """A quoted bus reference ``bus.n1.n2...``; the bus name may not contain ``.``.

    ``nodes`` are node numbers, or a string of them separated by dots (``"1.2.3"``).
    """
    bus = str(bus)
    if "." in bus:
        raise ParameterError(
            f"bus name {bus!r} holds '.', which OpenDSS reads as a node separator; rename the bus."
        )
    if isinstance(nodes, str):
        nodes = [int(n) for n in nodes.split(".") if n]
    suffix = "".join(f".{int(node)}" for node in nodes)
    if _PLAIN.fullmatch(bus):
        return bus + suffix
    return dss_quote(bus + suffix, what="bus name")


def dss_path(path: str | os.PathLike[str]) -> str:
    """A quoted file or folder path (spaces and brackets allowed if a quote pair fits)."""
    return dss_quote(os.fspath(path), what="path")


def dss_number(value: float) -> str:
    """A number as written into commands: ten significant digits (``0.0493``, ``1e-06``)."""
    return f"{float(value):.10g}"
