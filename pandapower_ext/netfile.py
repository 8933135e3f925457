"""Reading pandapower JSON files from users without running code named in them.

``pandapower.from_json`` rebuilds objects from the ``_module`` and ``_class`` names stored in the
file, so a crafted file could make it import and instantiate something else than net data.
:func:`read_net` first walks the JSON and accepts only classes of pandapower and the data
libraries a net is made of.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bayesgrid_plugins.errors import ParameterError

__all__ = ["ALLOWED_MODULES", "read_net"]

#: Top-level packages whose classes may appear in a net file.
ALLOWED_MODULES = ("pandapower", "pandas", "numpy", "shapely", "geojson")


def _modules(node: Any, found: set[str], depth: int = 0) -> None:
    if depth > 200:
        raise ParameterError("the net file nests too deeply to be a pandapower net")
    if isinstance(node, dict):
        module = node.get("_module")
        if isinstance(module, str):
            found.add(module)
        for value in node.values():
            _modules(value, found, depth + 1)
    elif isinstance(node, list):
        for value in node:
            _modules(value, found, depth + 1)
    elif isinstance(node, str) and '"_module"' in node:
        # pandapower stores tables as JSON text inside the JSON document
        try:
            _modules(json.loads(node), found, depth + 1)
        except ValueError:
            return


def read_net(path: str | os.PathLike[str]) -> Any:
    """Load a pandapower net from a JSON file, refusing files that name foreign classes.

    Parameters
    ----------
    path : path-like
        A JSON file written by ``pandapower.to_json``.

    Returns
    -------
    pandapowerNet

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ParameterError
        If the file is not JSON, or names a class outside :data:`ALLOWED_MODULES`.

    Examples
    --------
    >>> from pandapower_ext import read_net
    >>> net = read_net("out/pandapower/realisation_0.json")  # doctest: +SKIP
    """
    import pandapower as pp

    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"pandapower net file {str(source)!r} does not exist")
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ParameterError(
            f"{str(source)!r} is not a pandapower JSON file ({exc}); write it with "
            "pandapower.to_json."
        ) from exc
    if not isinstance(document, dict) or "_object" not in document:
        raise ParameterError(
            f"{str(source)!r} is JSON but not a pandapower net (no net object at its top "
            "level); write the net with pandapower.to_json."
        )
    found: set[str] = set()
    _modules(document, found)
    foreign = sorted(m for m in found if m.split(".")[0] not in ALLOWED_MODULES)
    if foreign:
        raise ParameterError(
            f"{str(source)!r} asks to build objects from {foreign}, which are not pandapower net "
            "data; refusing to load it. Re-export the net with pandapower.to_json."
        )
    return pp.from_json(str(source))
