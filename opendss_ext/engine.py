"""Engine helpers shared by the OpenDSS reader, builder and exporter.

Every public entry point works in its own engine context (``opendssdirect.NewContext()``) unless
the caller hands one in, and never lets OpenDSS change the process's working directory.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from bayesgrid_plugins.errors import AdapterError

__all__ = [
    "LENGTH_UNIT_KM",
    "bus_name",
    "bus_nodes",
    "new_engine",
    "node_mask",
    "run_commands",
]

#: Kilometres per OpenDSS length unit, by the unit's code (``Lines.Units()``) and its name.
LENGTH_UNIT_KM: dict[Any, float] = {
    1: 1.609344,  # mi
    2: 0.3048,  # kft
    3: 1.0,  # km
    4: 1e-3,  # m
    5: 0.3048e-3,  # ft
    6: 0.0254e-3,  # in
    7: 1e-5,  # cm
    8: 1e-6,  # mm
    "mi": 1.609344,
    "kft": 0.3048,
    "km": 1.0,
    "m": 1e-3,
    "ft": 0.3048e-3,
    "in": 0.0254e-3,
    "cm": 1e-5,
    "mm": 1e-6,
}

_WHITESPACE = re.compile(r"\s+")


def new_engine(dss: Any = None) -> Any:
    """An isolated OpenDSS engine context with directory changes disabled.

    Scripts run in it cannot change the working directory, start an external editor
    (``show``), open dialogs or run operating-system commands (``DOScmd``).

    Parameters
    ----------
    dss : opendssdirect context, optional
        An existing context to reuse; default a fresh ``opendssdirect.NewContext()``.
    """
    if dss is None:
        import opendssdirect

        dss = opendssdirect.NewContext()
    dss.Basic.AllowChangeDir(False)
    dss.Basic.AllowEditor(False)
    dss.Basic.AllowForms(False)
    dss.Basic.AllowDOScmd(False)
    return dss


@contextlib.contextmanager
def _keep_cwd() -> Iterator[None]:
    cwd = os.getcwd()
    try:
        yield
    finally:
        if os.getcwd() != cwd:
            os.chdir(cwd)


def run_commands(dss: Any, commands: list[str] | str, *, what: str = "circuit") -> None:
    """Run OpenDSS commands one by one; an engine error becomes an ``AdapterError``.

    The error names the failing command (and its position) so it can be found in the generated
    script. The process's working directory is restored whatever the commands do.
    """
    lines = commands.splitlines() if isinstance(commands, str) else list(commands)
    with _keep_cwd():
        for number, command in enumerate(lines, start=1):
            text = command.strip()
            if not text or text.startswith(("!", "//")):
                continue
            try:
                dss.Text.Command(text)
            except Exception as exc:  # the engine raises its own DSSException
                raise AdapterError(
                    f"OpenDSS rejected command {number} while building the {what}: {text!r} "
                    f"({exc}). Fix the input that produced this command; the engine state is "
                    "incomplete and must be rebuilt."
                ) from exc


def bus_name(full: str) -> str:
    """Bus name without its node suffix (``"b17.1.2" -> "b17"``), lower case."""
    return full.split(".", 1)[0].strip().lower()


def bus_nodes(full: str) -> tuple[int, ...]:
    """Node numbers of a bus reference (``"b17.1.2" -> (1, 2)``; none given -> ``()``)."""
    parts = full.split(".")[1:]
    nodes = []
    for part in parts:
        part = part.strip()
        if part.isdigit():
            nodes.append(int(part))
    return tuple(nodes)


def node_mask(full: str, n_conductors: int, *, delta: bool = False) -> int:
    """Phase mask (A=1, B=2, C=4) of a bus reference as OpenDSS connects it.

    Nodes 1, 2 and 3 are phases A, B and C; node 0 (ground) and nodes above 3 (neutrals) are
    ignored. Without explicit nodes OpenDSS uses nodes ``1..n_conductors`` (a single-phase delta
    element spans nodes 1 and 2).
    """
    nodes = bus_nodes(full)
    if not nodes:
        count = 2 if (delta and n_conductors == 1) else n_conductors
        nodes = tuple(range(1, min(count, 3) + 1))
    elif delta and n_conductors == 1 and len(nodes) == 1:
        nodes = (nodes[0], nodes[0] % 3 + 1)
    mask = 0
    for node in nodes:
        if 1 <= node <= 3:
            mask |= 1 << (node - 1)
    return mask


def as_array(values: Any, dtype: Any = float) -> np.ndarray:
    """A NumPy array of the engine's returned values."""
    return np.asarray(values, dtype=dtype)
