"""The bayesgrid-style facade: OSM -> pandapower net -> ensemble -> files, in three calls.

::

    net, hop_zone_list, source_bus = create_osm_pandapower_network()
    BayesianPowerModel().generate_consistent_data(net, hop_zone_list, source_bus, n=1000)
    save_synthetic_network(base_net=net, format="opendss", output_dir="out")

The ensemble generated for a net is kept beside it (not inside it, so ``pandapower.to_json``
still works) until the net is garbage-collected; realisation 0 is loaded into the net in place.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .ensemble import Ensemble
from .errors import ParameterError
from .feeder import Feeder

__all__ = [
    "as_feeder",
    "attached",
    "create_osm_pandapower_network",
    "generate_for",
    "save_synthetic_network",
    "zones_from_hop_list",
]

# id(net) -> (weak reference to the net, its feeder, its ensemble or None)
_ATTACHED: dict[int, tuple[weakref.ref, Feeder, Ensemble | None]] = {}


def _is_pandapower_net(obj: Any) -> bool:
    return type(obj).__module__.startswith("pandapower") and hasattr(obj, "bus")


def _attach(net: Any, feeder: Feeder, ensemble: Ensemble | None) -> None:
    key = id(net)
    ref = weakref.ref(net, lambda _: _ATTACHED.pop(key, None))
    _ATTACHED[key] = (ref, feeder, ensemble)


def attached(net: Any) -> tuple[Feeder, Ensemble | None] | None:
    """The feeder and ensemble kept for ``net``, or None."""
    entry = _ATTACHED.get(id(net))
    if entry is None or entry[0]() is not net:
        return None
    return entry[1], entry[2]


def as_feeder(graph: Any, source_bus: Hashable | None = None) -> Feeder:
    """A :class:`Feeder` from a Feeder, a pandapower net or a networkx graph.

    A networkx graph needs ``source_bus``; its edge lengths come from ``length_km``, or from
    ``length`` in metres (the osmnx convention).
    """
    if isinstance(graph, Feeder):
        return graph
    if _is_pandapower_net(graph):
        kept = attached(graph)
        if kept is not None:
            return kept[0]
        from pandapower_ext import feeder_from_net

        feeder = feeder_from_net(graph)
        if source_bus is not None and str(source_bus) != str(feeder.bus_id[feeder.source]):
            raise ParameterError(
                f"source_bus {source_bus!r} is not the bus of the net's external grid "
                f"({feeder.bus_id[feeder.source]}); bayesgrid feeds a net from its external grid."
            )
        return feeder
    if hasattr(graph, "edges") and hasattr(graph, "nodes"):
        if source_bus is None:
            raise ParameterError("source_bus is required with a networkx graph: name its source")
        first = next(iter(graph.edges(data=True)), (None, None, {}))[2]
        if "length_km" in first:
            return Feeder.from_networkx(graph, source_bus)
        return Feeder.from_networkx(graph, source_bus, length_attr="length", length_scale=1e-3)
    raise ParameterError(
        f"graph must be a Feeder, a pandapower net or a networkx graph, not {type(graph).__name__}"
    )


def zones_from_hop_list(feeder: Feeder, hop_zone_list: Sequence[Sequence[Hashable]]) -> np.ndarray:
    """Zone of every feeder bus from a list of zones, each a list of bus ids.

    The source may be left out (it carries no load); any other bus missing from every zone, or in
    two zones, is an error that names it.
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


def _net_zone_list(net: Any, feeder: Feeder) -> list[list[int]]:
    """Zones of a net built by bayesgrid as lists of pandapower bus indices."""
    from pandapower_ext._netmap import bus_labels

    labels = bus_labels(net, feeder)
    return [labels[(feeder.zone == z)].tolist() for z in range(feeder.n_zones)]


def create_osm_pandapower_network(
    query_type: str = "file",
    query: Any = None,
    dist: float | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    point: tuple[float, float] | None = None,
    **options: Any,
) -> tuple[Any, list[list[int]], int]:
    """A pandapower net of a radial feeder on the streets of an OpenStreetMap area.

    Parameters
    ----------
    query_type : {"file", "place", "address", "point", "bbox"}, default "file"
        As ``source`` of :func:`~bayesgrid_plugins.topology.feeder_from_osm`; ``"file"`` without
        ``path`` uses the embedded Monaco extract (offline).
    query : str or tuple, optional
        Place, address, ``(lat, lon)`` or ``(west, south, east, north)``.
    dist : float, optional
        Radius [m] around the point, the address or the default centre (default 1500).
    path, point
        OSM file and centre ``(lat, lon)`` for ``query_type="file"``.
    **options
        Further keywords of :func:`~bayesgrid_plugins.topology.feeder_from_osm`.

    Returns
    -------
    net : pandapowerNet
        Buses with geodata, three-phase lines with zero-sequence data and the external grid; no
        loads yet (:meth:`BayesianPowerModel.generate_consistent_data` adds them).
    hop_zone_list : list of list of int
        pandapower bus indices in each zone of normalised distance.
    source_bus : int
        pandapower index of the substation bus.

    Examples
    --------
    >>> import bayesgrid_plugins as bg
    >>> net, zones, source = bg.create_osm_pandapower_network(dist=300)  # [m]  # doctest: +SKIP
    >>> model = bg.BayesianPowerModel()
    >>> ensemble = model.generate_consistent_data(net, zones, source, n=10, rng=1)  # doctest: +SKIP
    """
    from pandapower_ext import build_net
    from pandapower_ext._netmap import bus_labels

    from .phases import PHASE_ABC
    from .topology import DEFAULT_DIST_M, DEFAULT_POINT, feeder_from_osm

    if query_type == "file" and path is None and point is None and "bbox" not in options:
        point, dist = DEFAULT_POINT, dist or DEFAULT_DIST_M
    osm = feeder_from_osm(query_type, query, path=path, point=point, dist_m=dist, **options)
    feeder = osm.feeder
    b = feeder.n_buses
    empty = Ensemble(
        bus_id=feeder.bus_id,
        source=feeder.source,
        load_phases=np.zeros((1, b), dtype=np.uint8),
        bus_phases=np.full((1, b), PHASE_ABC, dtype=np.uint8),
        p_kw=np.zeros((1, b, 3)),
        q_kvar=np.zeros((1, b, 3)),
        power_factor=np.ones(1),
        draw=np.full(1, -1),
    )
    net = build_net(feeder, empty, 0, name=f"bayesgrid feeder ({osm.source})")
    _attach(net, feeder, None)
    source_bus = int(bus_labels(net, feeder)[feeder.source])
    return net, _net_zone_list(net, feeder), source_bus


def generate_for(
    model: Any,
    graph: Any,
    hop_zone_list: Sequence[Sequence[Hashable]] | None,
    source_bus: Hashable | None,
    n: int,
    rng: Any,
) -> Ensemble:
    """Implementation of ``generate_consistent_data`` for any model with ``sample``."""
    feeder = as_feeder(graph, source_bus)
    zones = None
    if hop_zone_list is not None:
        ids = hop_zone_list
        if _is_pandapower_net(graph):
            # hop zones name pandapower bus indices; the feeder may use our own ids.
            from pandapower_ext._netmap import bus_labels

            to_id = dict(zip(bus_labels(graph, feeder).tolist(), feeder.bus_id.tolist()))
            ids = [[to_id.get(int(bus), str(bus)) for bus in zone] for zone in hop_zone_list]
        zones = zones_from_hop_list(feeder, ids)
    ensemble = model.sample(feeder, n, rng=rng, zones=zones)
    if _is_pandapower_net(graph):
        from pandapower_ext import populate_loads

        populate_loads(graph, feeder, ensemble, 0)
        _attach(graph, feeder, ensemble)
    return ensemble


def save_synthetic_network(
    base_net: Any,
    format: str | Sequence[str] = "pandapower",
    output_dir: str | os.PathLike[str] = "bayesgrid-output",
    *,
    realisations: Sequence[int] | None = None,
    overwrite: bool = False,
) -> dict[str, list[Path]]:
    """Write the ensemble generated for ``base_net`` through the exporter plugins.

    Parameters
    ----------
    base_net : pandapowerNet
        A net passed to ``generate_consistent_data``.
    format : str or sequence of str
        Exporter names (``"pandapower"``, ``"opendss"``, ``"npz"``, ``"csv"``, ``"geojson"`` or a
        plugin's); see ``bayesgrid plugins``.
    output_dir : path
        Folder to write into (created if missing).
    realisations : sequence of int, optional
        Which realisations (default all).
    overwrite : bool, default False
        Replace existing files.

    Examples
    --------
    >>> import bayesgrid_plugins as bg
    >>> net, zones, source = bg.create_osm_pandapower_network(dist=300)  # doctest: +SKIP
    >>> bg.BayesianPowerModel().generate_consistent_data(net, zones, source, n=10)  # doctest: +SKIP
    >>> files = bg.save_synthetic_network(net, ["opendss", "npz"], "out")  # doctest: +SKIP
    """
    from . import plugins

    kept = attached(base_net)
    if kept is None or kept[1] is None:
        raise ParameterError(
            "base_net has no generated ensemble: call "
            "BayesianPowerModel().generate_consistent_data(base_net, ...) first."
        )
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    return plugins.export(
        kept[0], kept[1], format, out, realisations=realisations, overwrite=overwrite
    )
