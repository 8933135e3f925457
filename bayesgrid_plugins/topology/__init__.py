"""Topology from OpenStreetMap: streets -> radial medium-voltage feeder.

Offline first: :func:`feeder_from_osm` reads an OSM file (by default the shipped Monaco extract,
© OpenStreetMap contributors, ODbL 1.0) and, when online, can query OpenStreetMap by place,
address, point or bounding box. Importing this package is cheap: ``osmium``, ``pyproj``, osmnx and
matplotlib are imported only by the functions that need them.

Modules: :mod:`.geo` (distances, areas, UTM), :mod:`.streets` (street rule, simplified graph),
:mod:`.osm` (reading files, online queries), :mod:`.radial` (spans, shortest-path tree, demand),
:mod:`.build` (the entry point), :mod:`.plot` (maps), :mod:`.extract` (cropping OSM files).
"""

from __future__ import annotations

from .build import (
    DEFAULT_DIST_M,
    DEFAULT_POINT,
    OSM_ATTRIBUTION,
    SOURCES,
    OsmFeeder,
    default_extract,
    feeder_from_osm,
)
from .extract import crop_osm_file
from .geo import Region
from .osm import Buildings, OsmReadError, read_osm_file
from .plot import plot_feeder
from .radial import DEFAULT_MAX_SPAN_M, DEFAULT_VN_KV, build_radial, subdivide
from .streets import STREET_HIGHWAYS, RawStreets, StreetNetwork, is_street

__all__ = [
    "DEFAULT_DIST_M",
    "DEFAULT_MAX_SPAN_M",
    "DEFAULT_POINT",
    "DEFAULT_VN_KV",
    "OSM_ATTRIBUTION",
    "SOURCES",
    "STREET_HIGHWAYS",
    "Buildings",
    "OsmFeeder",
    "OsmReadError",
    "RawStreets",
    "Region",
    "StreetNetwork",
    "build_radial",
    "crop_osm_file",
    "default_extract",
    "feeder_from_osm",
    "is_street",
    "plot_feeder",
    "read_osm_file",
    "subdivide",
]
