"""power-grid-model adapter: an engine that solves many realisations of an ensemble per call.

The engine (``power-grid-model``) builds power-grid-model's input arrays straight from a
:class:`~bayesgrid_plugins.feeder.Feeder` and an :class:`~bayesgrid_plugins.ensemble.Ensemble`
(:mod:`pgm_ext.build`) and solves asymmetric power flow with sequence-model lines, the same
physics as the pandapower engine; it is registered through the ``bayesgrid.plugins`` entry
point (:mod:`pgm_ext.plugin`).

Examples
--------
>>> from bayesgrid_plugins import get_engine
>>> with get_engine("power-grid-model").open(feeder, ensemble) as case:  # doctest: +SKIP
...     result = case.solve_batch()
"""

from __future__ import annotations

from .area import solve_area as solve_area_pgm
from .build import ModelLayout, build_input, layout_of, line_arrays, load_arrays
from .case import PgmCase, PgmEngine

__all__ = [
    "ModelLayout",
    "PgmCase",
    "PgmEngine",
    "build_input",
    "layout_of",
    "line_arrays",
    "load_arrays",
    "solve_area_pgm",
]
