"""The ``opendss`` plugin: the OpenDSS engine, the ``.dss`` exporter and the ``.dss`` reader.

Registered through the ``bayesgrid.plugins`` entry point exactly as a third party's plugin.
"""

from __future__ import annotations

import os
from typing import Any

from bayesgrid_plugins import hookimpl
from bayesgrid_plugins.errors import ParameterError
from bayesgrid_plugins.readers import source_kind

from .case import bayesgrid_register_engines
from .exporter import bayesgrid_register_exporters
from .reading import OpenDSSReading

__all__ = ["bayesgrid_read_network", "bayesgrid_register_engines", "bayesgrid_register_exporters"]


@hookimpl
def bayesgrid_read_network(source: object, options: dict[str, Any]) -> OpenDSSReading | None:
    """Claim an OpenDSS master file (``.dss``, or any file with ``kind="opendss"``)."""
    if source_kind(source, options.get("kind")) != "opendss":
        return None
    if not isinstance(source, (str, os.PathLike)):
        raise ParameterError(
            f"an OpenDSS circuit is read from its master file (.dss): give its path, not a "
            f"{type(source).__name__}."
        )
    return OpenDSSReading(
        source,
        loads_file=options.get("loads_file"),
        n_zones=options.get("n_zones"),
        name=options.get("name"),
    )
