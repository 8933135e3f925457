"""Power-flow results: the core's :class:`~bayesgrid_plugins.results.PowerFlowResult`."""

from bayesgrid_plugins.results import PowerFlowResult, voltage_unbalance_percent

__all__ = ["PowerFlowResult", "voltage_unbalance_percent"]
