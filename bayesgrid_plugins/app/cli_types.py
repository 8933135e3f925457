"""Argument types shared by the ``bayesgrid`` subcommands (argparse ``type=`` callables).

Each raises ``argparse.ArgumentTypeError`` with what was expected, so a bad value ends in
argparse's usage message and exit status 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = [
    "bbox",
    "count",
    "engine_name",
    "format_list",
    "output_folder",
    "point",
    "positive_float",
    "positive_int",
    "seed",
]


def _number(text: str, kind: type, expected: str) -> float:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = int(_number(text, int, "a positive integer"))
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def count(text: str) -> int:
    """An integer >= 0."""
    value = int(_number(text, int, "an integer >= 0"))
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def seed(text: str) -> int:
    """A random seed: an integer in [0, 2**63)."""
    value = int(_number(text, int, "a seed: an integer >= 0"))
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected a seed: an integer >= 0, got {text!r}")
    return value


def output_folder(text: str) -> Path:
    """A folder of its own: not empty, not ``.`` or ``..`` (bayesgrid writes a whole folder)."""
    path = Path(text)
    if not text.strip() or path.name in ("", ".", ".."):
        raise argparse.ArgumentTypeError(
            f"expected a name for a new or bayesgrid-written folder, got {text!r}: bayesgrid "
            "writes a whole folder and never into the current or a parent folder itself; give "
            "for example --out results"
        )
    return path


def format_list(text: str) -> str:
    """Comma-separated exporter names, at least one."""
    if not [name for name in text.split(",") if name.strip()]:
        raise argparse.ArgumentTypeError(
            f"expected one or more format names separated by commas, got {text!r}; run "
            "`bayesgrid plugins` to list them"
        )
    return text


def positive_float(text: str) -> float:
    """A number > 0."""
    value = float(_number(text, float, "a positive number"))
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def point(text: str) -> tuple[float, float]:
    """``LAT,LON`` in degrees."""
    try:
        lat, lon = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LAT,LON in degrees, got {text!r}") from None
    return lat, lon


def bbox(text: str) -> tuple[float, float, float, float]:
    """``W,S,E,N`` in degrees."""
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected W,S,E,N in degrees, got {text!r}") from None
    return west, south, east, north


def engine_name(text: str) -> str:
    """An installed power-flow engine's name, or ``none``."""
    from ..plugins import available_engines

    names = [*available_engines(), "none"]
    if text not in names:
        listed = ", ".join(repr(n) for n in names)
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {listed})")
    return text
