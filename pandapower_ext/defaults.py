"""Documented default equipment used when an ensemble carries no sampled line data.

Every number here has a stated source. The positive-sequence data of the default conductors are
pandapower standard line types (shipped with pandapower, BSD-3); pandapower's standard types carry
no zero-sequence data, so the zero-sequence values below are derived as stated next to each one.
Replace them with measured data when you have it: pass your own :class:`LineParameters` to
:func:`~pandapower_ext.populate.populate_net`.

The conductors (low- and medium-voltage cables) are the core's, with their sources:
:mod:`bayesgrid_plugins.equipment`.

Transformer (where the voltage level changes along a line): the core's
:data:`~bayesgrid_plugins.equipment.DEFAULT_TRAFO` (the per-unit data of pandapower's standard
type ``"0.63 MVA 20/0.4 kV"``, Dyn5), shared with the power-grid-model adapter; the rating is
chosen from :data:`TRAFO_RATINGS_MVA` (see :func:`trafo_rating_mva`).

External grid: the core's source model
(:data:`~bayesgrid_plugins.equipment.DEFAULT_SOURCE_MODEL`, the same in every engine): voltage
1.0 p.u. behind a short-circuit power of 1e8 MVA (R/X = 0.1, X0/X = 1.0, R0/X0 = 0.1), stiff for
every practical purpose. ``runpp_3ph`` holds the positive-sequence voltage of an external grid
fixed whatever its short-circuit power, so a stiff source is the one model all engines share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from bayesgrid_plugins.equipment import (
    DEFAULT_LV_LINE,
    DEFAULT_MV_LINE,
    DEFAULT_SOURCE_MODEL,
    DEFAULT_TRAFO,
    LV_MAX_KV,
    TRAFO_RATINGS_MVA,
    LineParameters,
    TrafoParameters,
    trafo_rating_mva,
)

__all__ = [
    "DEFAULT_LV_LINE",
    "DEFAULT_MV_LINE",
    "DEFAULT_SOURCE",
    "DEFAULT_TRAFO",
    "LV_MAX_KV",
    "TRAFO_RATINGS_MVA",
    "LineParameters",
    "SourceParameters",
    "TrafoParameters",
    "trafo_rating_mva",
]


@dataclass(frozen=True)
class SourceParameters:
    """External grid at the feeder's source bus.

    Attributes
    ----------
    vm_pu : float
        Voltage set point [p.u.].
    va_degree : float
        Voltage angle [degree].
    s_sc_max_mva : float
        Maximum short-circuit power [MVA].
    rx_max : float
        R/X ratio of the source impedance.
    x0x_max : float
        X0/X1 ratio.
    r0x0_max : float
        R0/X0 ratio.

    Examples
    --------
    >>> from pandapower_ext import SourceParameters, build_net
    >>> weak = SourceParameters(vm_pu=1.02, s_sc_max_mva=100.0)  # set point [p.u.], [MVA]
    >>> net = build_net(feeder, ensemble, source=weak)  # doctest: +SKIP
    """

    vm_pu: float = DEFAULT_SOURCE_MODEL.vm_pu
    va_degree: float = DEFAULT_SOURCE_MODEL.va_degree
    s_sc_max_mva: float = cast(float, DEFAULT_SOURCE_MODEL.s_sc_mva)  # the default is not ideal
    rx_max: float = DEFAULT_SOURCE_MODEL.rx
    x0x_max: float = DEFAULT_SOURCE_MODEL.x0x
    r0x0_max: float = DEFAULT_SOURCE_MODEL.r0x0


#: Default external grid: the core's source model (``DEFAULT_SOURCE_MODEL``).
DEFAULT_SOURCE = SourceParameters()
