"""The entry point: :func:`feeder_from_osm` turns an OSM area into a radial feeder."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from bayesgrid_plugins.reprs import compact_repr

from ..errors import ParameterError
from ..feeder import DEFAULT_N_ZONES, Feeder
from .geo import Region, _check_point, haversine_m
from .osm import Buildings, fetch_osm, header_bounds, read_osm_file
from .plausible import check_plausible
from .radial import (
    DEFAULT_BUILDING_MAX_DISTANCE_M,
    DEFAULT_MAX_SPAN_M,
    DEFAULT_MEAN_DEMAND_KW,
    DEFAULT_VN_KV,
    SUBSTATION_SNAP_M,
    SpanGraph,
    build_radial,
    check_positive,
    nearest_junction,
)
from .streets import StreetNetwork

__all__ = [
    "DEFAULT_DIST_M",
    "DEFAULT_MAX_BUSES",
    "DEFAULT_POINT",
    "OSM_ATTRIBUTION",
    "SOURCES",
    "OsmFeeder",
    "check_area_size",
    "default_extract",
    "estimate_buses",
    "feeder_from_osm",
    "physical_memory_bytes",
]

logger = logging.getLogger(__name__)

#: Query types accepted by :func:`feeder_from_osm`.
SOURCES = ("file", "place", "address", "point", "bbox")
#: Centre ``(lat, lon)`` [deg] of the default area: central Monaco.
DEFAULT_POINT = (43.7384, 7.4246)
#: Radius [m] of the default area.
DEFAULT_DIST_M = 1500.0
#: Attribution every map or data product made from OpenStreetMap data must show.
OSM_ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0"
#: Largest feeder :func:`feeder_from_osm` builds unless told otherwise (``max_buses``).
DEFAULT_MAX_BUSES = 1_000_000
#: Peak memory [bytes] per bus of building a feeder (measured: about 1 kB on Monaco at 10 m
#: spans, with the file reading; doubled for headroom).
TOPOLOGY_BYTES_PER_BUS = 2048


def physical_memory_bytes() -> int | None:
    """Physical memory of the machine [bytes], or None where the system does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):  # pragma: no cover - not POSIX
        return None


def format_bytes(n: float) -> str:
    """``n`` bytes as MiB or GiB, for messages."""
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def estimate_buses(streets: StreetNetwork, max_span_m: float) -> int:
    """Buses :func:`~.radial.build_radial` will make: junctions plus the cut points of spans."""
    spans = np.maximum(np.ceil(streets.length_m / max_span_m), 1)
    return int(streets.junctions.size + (spans - 1).sum())


def check_area_size(
    n_buses: int,
    *,
    max_buses: int | None,
    region: Region | None,
    street_km: float,
    max_span_m: float,
) -> None:
    """Refuse an area whose feeder would exceed ``max_buses`` or half the physical memory.

    Raises
    ------
    ParameterError
        With the estimate and a smaller radius that would fit.
    """
    memory = physical_memory_bytes()
    need = n_buses * TOPOLOGY_BYTES_PER_BUS
    limit = max_buses
    if memory is not None and need > memory // 2:
        fits = memory // 2 // TOPOLOGY_BYTES_PER_BUS
        limit = fits if limit is None else min(limit, fits)
    if limit is None or n_buses <= limit:
        return
    if region is not None and region.dist_m is not None:
        smaller = region.dist_m * 0.9 * (limit / n_buses) ** 0.5
        shrink = (
            f"a smaller radius (dist_m / --dist about {smaller:.0f} m instead of {region.dist_m:g})"
        )
    elif region is not None:
        shrink = f"a smaller box (about {limit / n_buses:.0%} of its area)"
    else:
        shrink = "an area inside the file (point= + dist_m=, or bbox=; --point/--dist)"
    raise ParameterError(
        f"the area is too large: {street_km:.0f} km of street cut into spans of at most "
        f"{max_span_m:g} m gives about {n_buses:,} buses, more than the limit of {limit:,} "
        f"(building needs about {format_bytes(need)}; this machine has "
        f"{'an unknown amount of' if memory is None else format_bytes(memory) + ' of'} memory). "
        f"Choose {shrink}, split the area into several feeders and generate them with the Dask "
        "runner (`bayesgrid run`), or pass max_buses=None to build it anyway."
    )


def _extent_km(region: Region | None, bounds: tuple[float, float, float, float] | None) -> float:
    """Extent [km] of the input: the area's diameter, else the diagonal of ``bounds``."""
    if region is not None and region.dist_m is not None:
        return 2.0 * float(region.dist_m) / 1000.0
    if region is not None:
        bounds = region.lonlat_box
    if bounds is None:
        return 0.0
    west, south, east, north = bounds
    return float(haversine_m(west, south, east, north)) / 1000.0


def default_extract() -> Path:
    """Path of the shipped Monaco extract (see ``bayesgrid_plugins/data/osm/PROVENANCE.md``)."""
    return Path(str(resources.files("bayesgrid_plugins") / "data" / "osm" / "monaco.osm.pbf"))


@dataclass(frozen=True, eq=False)
class OsmFeeder:
    """A feeder built from OpenStreetMap, with the geography it came from.

    Attributes
    ----------
    feeder : Feeder
        The radial feeder (``x``, ``y`` in metres in the UTM zone ``feeder.crs``).
    lon, lat : ndarray of float
        Bus positions [deg, WGS84], aligned with ``feeder.bus_id``.
    streets : StreetNetwork
        The street graph the feeder was built on (its largest connected part in the area).
    spans : SpanGraph
        Every span of the streets, including the ones the radial tree leaves open.
    footprint_m2 : ndarray of float
        Building footprint area [m2] assigned to each bus (zero without footprints).
    buildings : Buildings
        The footprints read in the area.
    source : str
        Where the data came from (file path or query).
    region : Region or None
        The area kept.
    attribution : str
        The OpenStreetMap attribution to show with any output.
    """

    feeder: Feeder
    lon: np.ndarray
    lat: np.ndarray
    streets: StreetNetwork
    spans: SpanGraph
    footprint_m2: np.ndarray
    buildings: Buildings
    source: str
    region: Region | None
    attribution: str = OSM_ATTRIBUTION

    def __repr__(self) -> str:
        return compact_repr(
            "OsmFeeder",
            buses=self.feeder.n_buses,
            length_km=float(np.sum(self.feeder.length_km)),
            crs=self.feeder.crs,
            footprint_m2=float(np.sum(self.footprint_m2)),
            source=str(self.source)[:80],
        )

    @property
    def substation(self) -> tuple[float, float]:
        """``(lat, lon)`` [deg] of the source bus."""
        s = self.feeder.source
        return (float(self.lat[s]), float(self.lon[s]))

    def summary(self) -> str:
        """One line: buses, loads, street length, area."""
        f = self.feeder
        return (
            f"{f.n_buses} buses ({f.load_buses.size} loads, {f.n_branches} branches), "
            f"{f.length_km.sum():.2f} km of line over {self.streets.total_length_m / 1000:.2f} km "
            f"of street, {len(self.buildings)} footprints, source {self.source}"
        )


def feeder_from_osm(
    source: str = "file",
    query: Any = None,
    *,
    path: str | os.PathLike[str] | None = None,
    point: tuple[float, float] | None = None,
    dist_m: float | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    substation: tuple[float, float] | None = None,
    max_span_m: float = DEFAULT_MAX_SPAN_M,
    vn_kv: float = DEFAULT_VN_KV,
    n_zones: int = DEFAULT_N_ZONES,
    buildings: bool = True,
    loads: str = "all",
    mean_demand_kw: float = DEFAULT_MEAN_DEMAND_KW,
    building_max_distance_m: float = DEFAULT_BUILDING_MAX_DISTANCE_M,
    substation_snap_m: float = SUBSTATION_SNAP_M,
    timeout_s: float = 60.0,
    max_buses: int | None = DEFAULT_MAX_BUSES,
    plausibility: bool = True,
) -> OsmFeeder:
    """Build a radial medium-voltage feeder on the streets of an OpenStreetMap area.

    Parameters
    ----------
    source : {"file", "place", "address", "point", "bbox"}, default "file"
        Where the streets come from. ``"file"`` reads ``path`` offline (default: the shipped
        Monaco extract). The others query OpenStreetMap through osmnx and need network access.
    query : str or tuple, optional
        ``"place"``: a place name (e.g. ``"Vaduz, Liechtenstein"``); ``"address"``: an address;
        ``"point"``: ``(lat, lon)`` (same as ``point=``); ``"bbox"``: ``(west, south, east,
        north)`` (same as ``bbox=``). Unused for ``"file"``.
    path : path-like, optional
        OSM file (``.osm``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``) for ``source="file"``.
    point : (float, float), optional
        Centre ``(lat, lon)`` [deg] of a circular area of radius ``dist_m``.
    dist_m : float, optional
        Radius [m] of the area around ``point`` (or the geocoded address; default 1500 there).
    bbox : (float, float, float, float), optional
        Area as ``(west, south, east, north)`` [deg] instead of a circle.
    substation : (float, float), optional
        ``(lat, lon)`` [deg] of the substation; it goes to the nearest street junction. Default:
        the junction nearest the centre of the area (the circle's centre, the box's centre, or
        the mean position of the street junctions when the area is a whole file or place).
    max_span_m : float, default 50
        Longest span [m]: longer streets are cut into equal spans along their geometry.
    vn_kv : float, default 13.8
        Primary line-to-line voltage [kV] of every bus.
    n_zones : int, default 10
        Zones of normalised distance (see :class:`~bayesgrid_plugins.feeder.Feeder`).
    buildings : bool, default True
        Weight the demand by building footprint area (when the data has footprints).
    loads : {"all", "buildings"}, default "all"
        Load buses: every bus except the source, or only buses with footprint area.
    mean_demand_kw : float, default 10
        Average aggregated demand [kW] per load bus (``feeder.demand_kw``).
    building_max_distance_m : float, default 100
        Footprints farther than this [m] from every bus are ignored.
    substation_snap_m : float, default 1000
        Refuse a substation point farther than this [m] from every street junction.
    timeout_s : float, default 60
        HTTP timeout [s] of online queries (after a quick reachability probe).
    max_buses : int or None, default 1 000 000
        Refuse an area whose feeder would have more buses than this (estimated from the street
        length and ``max_span_m`` before anything is built), or that would need more than half
        the physical memory to build. None: only the memory check.
    plausibility : bool, default True
        Refuse a feeder whose size does not fit the input's extent and node count, before and
        after building (:func:`~bayesgrid_plugins.topology.plausible.check_plausible`); a
        single misplaced node otherwise yields a continent-sized feeder.

    Returns
    -------
    OsmFeeder
        ``.feeder`` is the :class:`~bayesgrid_plugins.feeder.Feeder`; the rest keeps the
        geography (lon/lat per bus, the street graph, footprints) for plots and exports.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    OsmReadError
        The file is truncated or corrupt (a ``FeederValidationError``).
    FeederValidationError
        The file or area holds no streets, the area or the substation lies outside the extract.
    ParameterError
        A bad argument: unknown source, ``dist_m <= 0``, malformed point or box; or the area
        is too large (``max_buses``; the message gives the estimate and a radius that fits).
    FeederValidationError
        The feeder would be implausibly large for its input (``plausibility``).
    OfflineError
        An online query without network access (raised within a few seconds).

    Notes
    -----
    Without ``path``, ``point`` and ``bbox`` the area is the default one: ``dist_m`` (default
    1.5 km) around central Monaco (:data:`DEFAULT_POINT`) in the shipped extract. Outputs built
    from OpenStreetMap data must credit "© OpenStreetMap contributors" (ODbL 1.0).

    Examples
    --------
    >>> osm = feeder_from_osm()  # doctest: +SKIP
    >>> osm = feeder_from_osm("file", path="vaduz.osm.pbf", point=(47.141, 9.521), dist_m=800)
    ... # doctest: +SKIP
    """
    if source not in SOURCES:
        raise ParameterError(
            f"source={source!r} is not a query type; use one of {', '.join(map(repr, SOURCES))}."
        )
    if source == "point" and query is not None:
        if point is not None:
            raise ParameterError("give the point either as query or as point=, not both.")
        point = query
    if source == "bbox" and query is not None:
        if bbox is not None:
            raise ParameterError("give the box either as query or as bbox=, not both.")
        bbox = query
    if source == "file":
        if query is not None:
            raise ParameterError(
                "query is not used with source='file'; pass the file as path= and the area as "
                "point= + dist_m= or bbox=."
            )
        if path is None and point is None and bbox is None:
            point = DEFAULT_POINT
            dist_m = DEFAULT_DIST_M if dist_m is None else dist_m
    elif path is not None:
        raise ParameterError(f"path= is only used with source='file', not {source!r}.")
    if source == "place" and (point is not None or dist_m is not None or bbox is not None):
        raise ParameterError(
            "source='place' takes its area from the place's boundary: point=, dist_m= and bbox= "
            "are not used with it (use source='address' with dist_m= for a circle)."
        )
    if source == "address" and (point is not None or bbox is not None):
        raise ParameterError(
            "source='address' is centred on the geocoded address: pass dist_m= only, not "
            "point= or bbox=."
        )
    if source in ("point", "address") and dist_m is None and bbox is None:
        dist_m = DEFAULT_DIST_M
    if source == "point" and point is None:
        raise ParameterError("source='point' needs the centre: query=(lat, lon) or point=.")
    if source == "bbox" and bbox is None:
        raise ParameterError("source='bbox' needs the box: query=(west, south, east, north).")
    if source in ("place", "address") and not (isinstance(query, str) and query.strip()):
        raise ParameterError(f"source={source!r} needs query= as a non-empty string.")
    if substation is not None:
        substation = _check_point(substation, "substation")
    # Check the numeric options before any reading or download.
    for name, value in (
        ("max_span_m", max_span_m),
        ("vn_kv", vn_kv),
        ("mean_demand_kw", mean_demand_kw),
        ("building_max_distance_m", building_max_distance_m),
        ("substation_snap_m", substation_snap_m),
        ("timeout_s", timeout_s),
    ):
        check_positive(name, value)
    if max_buses is not None and (
        isinstance(max_buses, bool) or not isinstance(max_buses, (int, np.integer)) or max_buses < 1
    ):
        raise ParameterError(f"max_buses must be a positive integer or None, got {max_buses!r}.")
    if loads not in ("all", "buildings"):
        raise ParameterError(f"loads must be 'all' or 'buildings', got {loads!r}.")

    if source == "address":
        # The centre comes from geocoding; validate the radius with a placeholder centre.
        region = Region.make(point=(0.0, 0.0), dist_m=dist_m)
    else:
        region = Region.make(point=point, dist_m=dist_m, bbox=bbox)

    if source == "file":
        file = default_extract() if path is None else Path(path)
        raw, footprints = read_osm_file(file, region=region, buildings=buildings)
        described = str(file)
    else:
        raw, footprints, region = fetch_osm(
            source, query, region=region, buildings=buildings, timeout_s=timeout_s
        )
        described = f"{source} query {query!r}"

    streets = raw.simplify().largest_component()
    check_area_size(
        estimate_buses(streets, max_span_m),
        max_buses=max_buses,
        region=region,
        street_km=streets.total_length_m / 1000,
        max_span_m=max_span_m,
    )
    declared = header_bounds(file) if source == "file" else None
    extent_km = _extent_km(region, declared or raw.bounds)
    if substation is None:
        if region is not None:
            centre = region.centre
        else:
            junctions = streets.junctions
            centre = (float(raw.lat[junctions].mean()), float(raw.lon[junctions].mean()))
        node = nearest_junction(streets, centre, max_distance_m=np.inf)
    else:
        node = nearest_junction(streets, substation, max_distance_m=substation_snap_m)
    if plausibility:
        ends = np.unique(np.concatenate([streets.u, streets.v]))
        lon, lat = streets.raw.lon, streets.raw.lat
        straight = haversine_m(lon[node], lat[node], lon[ends], lat[ends])
        check_plausible(
            n_buses=estimate_buses(streets, max_span_m),
            total_km=streets.total_length_m / 1000,
            farthest_km=float(np.nanmax(straight, initial=0.0)) / 1000,
            n_input_nodes=int(raw.node_id.size),
            extent_km=extent_km,
            source=described,
        )
    built = build_radial(
        streets,
        node,
        max_span_m=max_span_m,
        vn_kv=vn_kv,
        n_zones=n_zones,
        buildings=footprints if buildings else None,
        loads=loads,
        mean_demand_kw=mean_demand_kw,
        building_max_distance_m=building_max_distance_m,
    )
    if plausibility:
        check_plausible(
            n_buses=built.feeder.n_buses,
            total_km=float(built.feeder.length_km.sum()),
            farthest_km=float(built.feeder.distance_km.max(initial=0.0)),
            n_input_nodes=int(raw.node_id.size),
            extent_km=extent_km,
            source=described,
        )
    result = OsmFeeder(
        feeder=built.feeder,
        lon=built.spans.lon,
        lat=built.spans.lat,
        streets=streets,
        spans=built.spans,
        footprint_m2=built.footprint_m2,
        buildings=footprints,
        source=described,
        region=region,
    )
    logger.info("feeder from OSM: %s", result.summary())
    return result
