"""Default line types and source used when an ensemble carries no sampled line data.

The conductors and the source are the core's (:mod:`bayesgrid_plugins.equipment`), shared with
the pandapower and power-grid-model adapters so that every engine builds the same grid.

Source: :data:`~bayesgrid_plugins.equipment.DEFAULT_SOURCE_MODEL`, a voltage of 1.0 p.u. behind
a short-circuit power of 1e8 MVA (R/X = 0.1, X0/X1 = 1, R0/X0 = 0.1), stiff for every practical
purpose, as pandapower's external grid is in ``runpp_3ph``. ``SourceType(s_sc_mva=1000.0)``
gives a weaker source; ``s_sc_mva=None`` an ideal one.
"""

from __future__ import annotations

from bayesgrid_plugins.equipment import (
    DEFAULT_LV_LINE,
    DEFAULT_MV_LINE,
    DEFAULT_SOURCE_MODEL,
    LV_MAX_KV,
    LineParameters,
    SourceModel,
)

__all__ = [
    "DEFAULT_LV_LINE",
    "DEFAULT_MV_LINE",
    "DEFAULT_SOURCE",
    "LV_MAX_KV",
    "LineType",
    "SourceType",
]

#: The core's line parameters (the same conductors as the other adapters).
LineType = LineParameters

#: The core's source model: voltage [p.u.], short-circuit power [MVA] and impedance ratios.
SourceType = SourceModel

DEFAULT_SOURCE = DEFAULT_SOURCE_MODEL
