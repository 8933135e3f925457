"""Documented default equipment used when an ensemble carries no sampled line data.

Every number here has a stated source. The positive-sequence data of the default conductors are
pandapower standard line types (shipped with pandapower, BSD-3); pandapower's standard types carry
no zero-sequence data, so the zero-sequence values below are derived as stated next to each one.
Replace them with measured data when you have it: pass your own :class:`LineParameters` to
:func:`~pandapower_ext.populate.populate_net`.

The conductors (low- and medium-voltage cables) are the core's, with their sources:
:mod:`bayesgrid_plugins.equipment`.

Transformer (where the voltage level changes along a line): the per-unit data of pandapower's
standard type ``"0.63 MVA 20/0.4 kV"`` (Dyn5: vk = 6 %, vkr = 1.206 %, pfe = 1.65 kW,
i0 = 0.2619 %, shift 150 degrees), vector group written ``"Dyn"`` as ``runpp_3ph`` expects, with
the rated voltages of the two buses (so no ``std_type`` is claimed); the rating is chosen from
:data:`TRAFO_RATINGS_MVA` (see :func:`trafo_rating_mva`). Zero sequence as the transformer of the
IEEE European LV net shipped with pandapower: vk0 = vk, vkr0 = vkr, mag0 = 100 %, mag0_rx = 0,
si0_hv_partial = 0.9.

External grid: pandapower's own defaults for the short-circuit data that ``runpp_3ph`` needs
(``pandapower.add_zero_impedance_parameters``): s_sc_max = 1000 MVA, R/X = 0.1, X0/X = 1.0,
R0/X0 = 0.1; voltage set point 1.0 p.u.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayesgrid_plugins.equipment import DEFAULT_LV_LINE, DEFAULT_MV_LINE, LV_MAX_KV, LineParameters

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
class TrafoParameters:
    """Per-unit data of the transformer placed where the voltage level changes.

    Attributes
    ----------
    name : str
        Where the per-unit data come from (a description; not written as ``std_type``).
    vk_percent, vkr_percent : float
        Short-circuit voltage and its real part [%].
    pfe_kw : float
        Iron losses [kW].
    i0_percent : float
        No-load current [%].
    shift_degree : float
        Phase shift [degree].
    vector_group : str
        Vector group; ``runpp_3ph`` solves earthed groups (Dyn, Yyn, YNyn, Yzn).
    vk0_percent, vkr0_percent, mag0_percent, mag0_rx, si0_hv_partial : float
        Zero-sequence data required by ``runpp_3ph``.
    sn_mva : float or None
        Rating [MVA]; None chooses one from the load below (:func:`trafo_rating_mva`).

    Examples
    --------
    >>> from pandapower_ext import TrafoParameters, build_net
    >>> trafo = TrafoParameters(sn_mva=0.4)  # fixed rating [MVA] instead of sized by load
    >>> net = build_net(feeder, ensemble, trafo=trafo)  # doctest: +SKIP
    """

    name: str = "0.63 MVA 20/0.4 kV"
    vk_percent: float = 6.0
    vkr_percent: float = 1.206
    pfe_kw: float = 1.65
    i0_percent: float = 0.2619
    shift_degree: float = 150.0
    vector_group: str = "Dyn"
    vk0_percent: float = 6.0
    vkr0_percent: float = 1.206
    mag0_percent: float = 100.0
    mag0_rx: float = 0.0
    si0_hv_partial: float = 0.9
    sn_mva: float | None = None


#: Default transformer (see the module docstring).
DEFAULT_TRAFO = TrafoParameters()

#: Standard ratings [MVA] the default transformer is chosen from. The smallest is pandapower's
#: smallest standard distribution transformer (0.25 MVA 20/0.4 kV); smaller units at 20 kV fall
#: outside the plausibility range of ``pandapower.diagnostic``.
TRAFO_RATINGS_MVA = (0.25, 0.4, 0.63, 0.8, 1.0, 1.6, 2.5, 4.0, 6.3, 10.0, 16.0, 25.0, 40.0)


def trafo_rating_mva(peak_mva: float, *, margin: float = 1.25) -> float:
    """Smallest standard rating [MVA] that carries ``margin`` times the peak load [MVA].

    Falls back to the largest standard rating when even that is too small, and to the smallest
    when the load is zero.
    """
    need = float(peak_mva) * margin
    ratings = np.asarray(TRAFO_RATINGS_MVA)
    fits = ratings[ratings >= need]
    return float(fits[0] if fits.size else ratings[-1])


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

    vm_pu: float = 1.0
    va_degree: float = 0.0
    s_sc_max_mva: float = 1000.0
    rx_max: float = 0.1
    x0x_max: float = 1.0
    r0x0_max: float = 0.1


#: Default external grid (pandapower's own zero-sequence defaults).
DEFAULT_SOURCE = SourceParameters()
