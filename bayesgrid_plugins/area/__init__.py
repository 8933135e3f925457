"""Transmission and distribution together: substations, MV feeders, LV networks, transmission.

:func:`area_from_osm` reads an OSM area (offline) and returns an :class:`Area`:

- distribution substations from OSM ``power=substation`` (snapped to the streets), from a list
  of points, or placed by a documented rule (:mod:`.placement`);
- the streets shared among them by a multi-source shortest-path search, each substation's tree
  cut into MV feeders, and LV networks behind MV/LV transformers (:mod:`.partition`);
- a transmission layer from OSM power lines joining every substation to one slack
  (:mod:`.transmission`, parameters in :mod:`.equipment`).

:func:`sample_area` samples aligned realisations of every feeder and, by default, sizes their
conductors and transformers for each realisation's demand (:func:`plan_area`, :mod:`.planning`);
:func:`plot_area` draws it.
The combined systems are built by ``pandapower_ext.area``, ``opendss_ext.area`` and
``pgm_ext.area``.
"""

from __future__ import annotations

from .build import (
    DEFAULT_AREA_ENGINE,
    DEFAULT_EXCLUDED_KINDS,
    DEFAULT_SNAP_M,
    Area,
    AreaEnsemble,
    area_from_osm,
    sample_area,
)
from .equipment import OVERHEAD_LINES, OverheadLineType, TrafoType, choose_trafo, line_type_for
from .partition import MV_SUFFIX, TRAFO_EDGE_KM, AreaFeeder, Partition
from .placement import Substation, place_by_rule
from .planning import plan_area
from .plot import plot_area
from .power_osm import PowerFeatures, parse_voltage_kv, read_power
from .results import AreaPowerFlow
from .transmission import Transmission, build_transmission

__all__ = [
    "DEFAULT_AREA_ENGINE",
    "DEFAULT_EXCLUDED_KINDS",
    "DEFAULT_SNAP_M",
    "MV_SUFFIX",
    "OVERHEAD_LINES",
    "TRAFO_EDGE_KM",
    "Area",
    "AreaEnsemble",
    "AreaFeeder",
    "AreaPowerFlow",
    "OverheadLineType",
    "Partition",
    "PowerFeatures",
    "Substation",
    "TrafoType",
    "Transmission",
    "area_from_osm",
    "build_transmission",
    "choose_trafo",
    "line_type_for",
    "parse_voltage_kv",
    "place_by_rule",
    "plan_area",
    "plot_area",
    "read_power",
    "sample_area",
]
