"""The bayesgrid-style facade: OSM -> pandapower net -> ensemble -> files, in three calls.

::

    net, hop_zone_list, source_bus = create_osm_pandapower_network()
    BayesianPowerModel().generate_consistent_data(net, hop_zone_list, source_bus, n=1000)
    save_synthetic_network(base_net=net, format="opendss", output_dir="out")

The ensemble generated for a net is kept beside it by the net's reader plugin (not inside it, so
``pandapower.to_json`` still works) until the net is garbage-collected; realisation 0 is loaded
into the net in place. The facade asks for the pandapower engine by name; it imports no adapter.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..ensemble import Ensemble
from ..errors import ParameterError
from ..feeder import Feeder
from ..networks import as_feeder, generate_for, zones_from_hop_list
from ..plugins import get_engine, read_network

__all__ = [
    "as_feeder",
    "attached",
    "create_osm_pandapower_network",
    "generate_for",
    "save_synthetic_network",
    "zones_from_hop_list",
]


def attached(net: Any) -> tuple[Feeder, Ensemble | None] | None:
    """The feeder and ensemble kept for ``net`` by its reader plugin, or None."""
    if isinstance(net, Feeder) or (hasattr(net, "edges") and hasattr(net, "nodes")):
        return None
    try:
        return read_network(net).attached()
    except ParameterError:
        return None


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
    query_type : {"file", "place", "city", "address", "point", "bbox"}, default "file"
        As ``source`` of :func:`~bayesgrid_plugins.topology.feeder_from_osm` (``"city"`` is a
        place); ``"file"`` without ``path`` uses the embedded Monaco extract (offline).
    query : str or tuple, optional
        Place, address, ``(lat, lon)`` or ``(west, south, east, north)``.
    dist : float, optional
        Radius [m] around the point, the address or the default centre (default 1500).
    path, point
        OSM file and centre ``(lat, lon)`` for ``query_type="file"``.
    **options
        The original bayesgrid keywords ``query_address``, ``query_point``, ``query_bbox``,
        ``query_place`` and ``substation_point`` (:mod:`bayesgrid_plugins.original_keywords`),
        and further keywords of :func:`~bayesgrid_plugins.topology.feeder_from_osm`. Online
        queries raise :class:`~bayesgrid_plugins.errors.OfflineError` without network.

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
    from ..original_keywords import osm_arguments
    from ..phases import PHASE_ABC
    from ..topology import DEFAULT_DIST_M, DEFAULT_POINT, feeder_from_osm

    if query_type == "file" and path is None and point is None and "bbox" not in options:
        point, dist = DEFAULT_POINT, dist or DEFAULT_DIST_M
    arguments = osm_arguments(query_type, query, dist, {"path": path, "point": point, **options})
    osm = feeder_from_osm(**arguments)
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
    net = get_engine("pandapower").open(feeder, empty).native()
    net.name = f"bayesgrid feeder ({osm.source})"
    reading = read_network(net)
    reading.attach(feeder, None)
    labels = reading.native_bus_ids()
    zones = [labels[feeder.zone == z].tolist() for z in range(feeder.n_zones)]
    return net, zones, int(labels[feeder.source])


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
    from .. import plugins

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
