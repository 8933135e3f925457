"""Default line types and source used when an ensemble carries no sampled line data.

The conductors are the core's (:mod:`bayesgrid_plugins.equipment`), shared with the pandapower
adapter so that both engines build the same grid; the source matches the pandapower adapter's
external grid.

Source: short-circuit power 1000 MVA with R/X = 0.1, X0/X1 = 1 and R0/X0 = 0.1 (pandapower's
zero-sequence defaults), voltage 1.0 p.u.
"""

from __future__ import annotations

from dataclasses import dataclass

from bayesgrid_plugins.equipment import DEFAULT_LV_LINE, DEFAULT_MV_LINE, LV_MAX_KV, LineParameters

__all__ = [
    "DEFAULT_LV_LINE",
    "DEFAULT_MV_LINE",
    "DEFAULT_SOURCE",
    "LV_MAX_KV",
    "LineType",
    "SourceType",
]

#: The core's line parameters (the same conductors as the pandapower adapter).
LineType = LineParameters


@dataclass(frozen=True)
class SourceType:
    """The Vsource: voltage [p.u.], short-circuit power [MVA] and impedance ratios.

    ``s_sc_mva=None`` makes the source stiff (an impedance of 1e-9 ohm).
    """

    vm_pu: float = 1.0
    s_sc_mva: float | None = 1000.0
    rx: float = 0.1
    x0x: float = 1.0
    r0x0: float = 0.1


DEFAULT_SOURCE = SourceType()
