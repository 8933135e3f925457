"""The ``pandapower`` plugin: the pandapower engine, the JSON exporter and the net reader.

Registered through the ``bayesgrid.plugins`` entry point exactly as a third party's plugin.
pandapower itself is imported only when a net is built, read or written.
"""

from __future__ import annotations

from typing import Any

from bayesgrid_plugins import hookimpl
from bayesgrid_plugins.readers import source_kind

from .case import bayesgrid_register_engines
from .exporter import bayesgrid_register_exporters
from .reading import PandapowerReading, is_pandapower_net

__all__ = ["bayesgrid_read_network", "bayesgrid_register_engines", "bayesgrid_register_exporters"]


@hookimpl
def bayesgrid_read_network(source: object, options: dict[str, Any]) -> PandapowerReading | None:
    """Claim a pandapower net: a live one, a ``.json`` file, or any file with ``kind``."""
    if is_pandapower_net(source) or source_kind(source, options.get("kind")) == "pandapower":
        return PandapowerReading(source, n_zones=options.get("n_zones"), name=options.get("name"))
    return None
