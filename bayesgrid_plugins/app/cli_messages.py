"""One naming rule for the command line's error messages: options as the user typed them.

The library's errors name its keyword arguments (``dist_m=``, ``point=``, ``source='place'``);
on the command line the same error must name the option the user typed (``--dist``,
``--point``, ``--place``). :func:`as_typed` rewrites a message for one subcommand: a keyword
written ``name=``, a ``source='kind'`` and any argument name with an underscore become the
option of that subcommand that sets it, spelled as the user typed it (``-n`` stays ``-n``); so
does an argument name that opens the message (``point was given`` -> ``--point was given``).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence

__all__ = ["API_TO_DEST", "as_typed", "option_names"]

#: Library argument names whose command-line option has another name (value: the option's dest).
API_TO_DEST = {
    "dist_m": "dist",
    "path": "osm",
    "n": "samples",
    "rng": "seed",
    "power_parameters": "posterior",
    "master_dss_path": "input",
}
#: ``source='kind'`` of ``feeder_from_osm`` and the option that chooses it.
_SOURCE_TO_DEST = {"file": "osm", "place": "place", "address": "address", "point": "point",
                   "bbox": "bbox"}  # fmt: skip
#: ``name=`` of an argument, and ``name=True`` of a flag (``overwrite=True``: ``--overwrite``).
_KEYWORD = re.compile(r"(?<![\w-])([a-z][a-z0-9_]*)=(?!=)(?:True\b)?")
#: An option followed by itself in parentheses, once both spellings are the typed one.
_REPEATED = re.compile(r"(--[\w-]+) \(\1\)")
_SOURCE = re.compile(r"source='([a-z]+)'")


def option_names(parser: argparse.ArgumentParser, argv: Sequence[str]) -> dict[str, str]:
    """Each option's dest -> the option string the user typed (else its longest spelling).

    Examples
    --------
    >>> import argparse
    >>> from bayesgrid_plugins.app.cli_messages import option_names
    >>> p = argparse.ArgumentParser()
    >>> _ = p.add_argument("-n", "--samples", type=int)
    >>> option_names(p, ["-n", "3"])["samples"]
    '-n'
    """
    typed = {a.split("=", 1)[0] for a in argv if a.startswith("-")}
    names = {}
    for action in parser._actions:
        if not action.option_strings or action.dest == "help":
            continue
        chosen = [s for s in action.option_strings if s in typed]
        names[action.dest] = chosen[0] if chosen else max(action.option_strings, key=len)
    return names


def as_typed(message: str, parser: argparse.ArgumentParser, argv: Sequence[str]) -> str:
    """``message`` with the library's argument names replaced by the subcommand's options.

    Examples
    --------
    >>> import argparse
    >>> from bayesgrid_plugins.app.cli_messages import as_typed
    >>> p = argparse.ArgumentParser()
    >>> _ = p.add_argument("--dist", type=float)
    >>> _ = p.add_argument("--place")
    >>> as_typed("source='place' does not use dist_m=", p, ["--place", "X", "--dist", "3"])
    '--place does not use --dist'
    >>> _ = p.add_argument("--overwrite", action="store_true")
    >>> as_typed("pass --overwrite (overwrite=True) to replace it", p, ["--place", "X"])
    'pass --overwrite to replace it'
    """
    names = option_names(parser, argv)

    def option(name: str) -> str | None:
        return names.get(API_TO_DEST.get(name, name))

    def keyword(match: re.Match[str]) -> str:
        found = option(match.group(1))
        return found if found is not None else match.group(0)

    def source(match: re.Match[str]) -> str:
        found = names.get(_SOURCE_TO_DEST.get(match.group(1), ""))
        return found if found is not None else match.group(0)

    text = _SOURCE.sub(source, message)
    text = _KEYWORD.sub(keyword, text)
    for name in sorted({*API_TO_DEST, *names}, key=len, reverse=True):
        found = option(name)
        if found is None:
            continue
        if "_" in name:  # an argument name, never a word of prose
            text = re.sub(rf"(?<![\w\-'\"]){re.escape(name)}(?![\w'\"])", found, text)
        elif text.startswith(f"{name} "):  # the subject of the message
            text = found + text[len(name) :]
    return _REPEATED.sub(r"\1", text)
