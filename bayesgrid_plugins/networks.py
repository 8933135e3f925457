"""Networks given to the models: a Feeder, a networkx graph, or an engine's own network.

``generate_consistent_data(graph, hop_zone_list, source_bus, n)`` accepts any of them. A network
of an engine (a pandapower net...) is read through the reader plugins
(:func:`bayesgrid_plugins.plugins.read_network`); its reading keeps the ensemble beside the
network and loads realisation 0 into it in place, as the original tool did.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from .ensemble import Ensemble
from .errors import ParameterError
from .feeder import Feeder
from .model_chain import earlier_ensemble

__all__ = ["as_feeder", "generate_for", "zones_from_hop_list"]


def _reading(graph: Any) -> Any:
    if isinstance(graph, Feeder) or (hasattr(graph, "edges") and hasattr(graph, "nodes")):
        return None
    from .plugins import read_network

    try:
        return read_network(graph)
    except ParameterError:
        raise ParameterError(
            f"graph must be a Feeder, a networkx graph or a network an engine plugin reads "
            f"(a pandapower net), not {type(graph).__name__}."
        ) from None


def as_feeder(graph: Any, source_bus: Hashable | None = None) -> Feeder:
    """A :class:`Feeder` from a Feeder, a networkx graph or an engine's network.

    A networkx graph needs ``source_bus``; its edge lengths come from ``length_km``, or from
    ``length`` in metres (the osmnx convention). An engine's network (a pandapower net) is read
    by its reader plugin; ``source_bus``, if given, must be its source.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.Graph([(0, 1, {"length_km": 0.1}), (1, 2, {"length_km": 0.2})])
    >>> as_feeder(g, source_bus=0).n_buses
    3
    """
    if isinstance(graph, Feeder):
        return graph
    reading = _reading(graph)
    if reading is not None:
        feeder: Feeder = reading.feeder()
        if source_bus is not None:
            native = reading.native_bus_ids()
            if str(source_bus) not in (str(native[feeder.source]), feeder.bus_id[feeder.source]):
                raise ParameterError(
                    f"source_bus {source_bus!r} is not the source of the network "
                    f"({native[feeder.source]}); bayesgrid feeds a net from its external grid."
                )
        return feeder
    if source_bus is None:
        raise ParameterError("source_bus is required with a networkx graph: name its source")
    first: dict[str, Any] = next(iter(graph.edges(data=True)), (None, None, {}))[2]
    if "length_km" in first:
        return Feeder.from_networkx(graph, source_bus)
    return Feeder.from_networkx(graph, source_bus, length_attr="length", length_scale=1e-3)


def zones_from_hop_list(feeder: Feeder, hop_zone_list: Sequence[Sequence[Hashable]]) -> np.ndarray:
    """Zone of every feeder bus from a list of zones, each a list of bus ids.

    The source may be left out (it carries no load); any other bus missing from every zone, or in
    two zones, is an error that names it.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.Graph([(0, 1, {"length_km": 0.1}), (1, 2, {"length_km": 0.2})])
    >>> zones_from_hop_list(as_feeder(g, 0), [[0, 1], [2]]).tolist()
    [0, 0, 1]
    """
    zone = np.full(feeder.n_buses, -1, dtype=np.int64)
    lookup = {b: i for i, b in enumerate(feeder.bus_id.tolist())}
    for z, buses in enumerate(hop_zone_list):
        for bus in buses:
            i = lookup.get(str(bus))
            if i is None:
                raise ParameterError(f"hop_zone_list[{z}] names bus {bus!r}, not in the network")
            if zone[i] >= 0:
                raise ParameterError(f"bus {bus!r} is in hop zones {zone[i]} and {z}; keep one")
            zone[i] = z
    zone[feeder.source] = max(zone[feeder.source], 0)
    missing = np.flatnonzero(zone < 0)
    if missing.size:
        raise ParameterError(
            f"hop_zone_list leaves out buses {feeder.bus_id[missing][:10].tolist()}; every bus "
            "needs a zone."
        )
    return zone


def generate_for(
    model: Any,
    graph: Any,
    hop_zone_list: Sequence[Sequence[Hashable]] | None,
    source_bus: Hashable | None,
    n: int,
    rng: Any,
) -> Ensemble:
    """Implementation of ``generate_consistent_data`` for any model with ``sample``.

    Examples
    --------
    >>> import networkx as nx
    >>> from bayesgrid_plugins import BayesianPowerModel
    >>> g = nx.Graph([(0, 1, {"length_km": 0.1}), (1, 2, {"length_km": 0.2})])
    >>> generate_for(BayesianPowerModel(), g, None, 0, n=3, rng=1).p_kw.shape
    (3, 3, 3)
    """
    feeder = as_feeder(graph, source_bus)
    reading = _reading(graph)
    zones = None
    if hop_zone_list is not None:
        ids: Sequence[Sequence[Hashable]] = hop_zone_list
        if reading is not None:
            # hop zones name the network's own bus labels; the feeder may use our own ids.
            native = reading.native_bus_ids()
            to_id = {str(a): b for a, b in zip(native.tolist(), feeder.bus_id.tolist())}
            ids = [[to_id.get(str(bus), str(bus)) for bus in zone] for zone in hop_zone_list]
        zones = zones_from_hop_list(feeder, ids)
    earlier = earlier_ensemble(model, None if reading is None else reading.attached(), n)
    extra = {} if earlier is None else {"ensemble": earlier}
    ensemble: Ensemble = model.sample(feeder, n, rng=rng, zones=zones, **extra)
    if reading is not None:
        reading.attach(feeder, ensemble)
    return ensemble
