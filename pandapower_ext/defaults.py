"""Documented default equipment used when an ensemble carries no sampled line data.

Every number here has a stated source. The positive-sequence data of the default conductors are
pandapower standard line types (shipped with pandapower, BSD-3); pandapower's standard types carry
no zero-sequence data, so the zero-sequence values below are derived as stated next to each one.
Replace them with measured data when you have it: pass your own :class:`LineParameters` to
:func:`~pandapower_ext.populate.populate_net`.

Low voltage (``vn_kv <= 1``): pandapower standard type ``"NAYY 4x150 SE"`` (four-core aluminium
PVC cable): r1 = 0.208 ohm/km, x1 = 0.080 ohm/km, c1 = 261 nF/km, 0.27 kA. Zero sequence with the
ratios of the four-core cable line codes of the IEEE European LV test feeder (the line code
``4c_185``: r0/r1 = 0.580/0.166 = 3.49, x0/x1 = 0.078/0.068 = 1.15; the other four-core codes of
that feeder lie between 3.37 and 3.58 and between 1.08 and 1.21): r0 = 3.49 r1, x0 = 1.15 x1;
c0 = c1.

Medium voltage (``1 < vn_kv``): pandapower standard type ``"NA2XS2Y 1x185 RM/25 12/20 kV"``
(single-core XLPE cable with a 25 mm2 copper screen): r1 = 0.161 ohm/km, x1 = 0.117 ohm/km,
c1 = 273 nF/km, 0.362 kA. Zero sequence with the screens as the return path: r0 = r1 + 3 r_screen
with r_screen = 0.727 ohm/km (IEC 60228 DC resistance of a 25 mm2 class-2 copper conductor at
20 degC), x0 = x1 (the screen sits tight on the core), c0 = c1 (each core is screened, so the
zero- and positive-sequence capacitances are equal).

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

#: Buses at or below this line-to-line voltage [kV] count as low voltage.
LV_MAX_KV = 1.0


@dataclass(frozen=True)
class LineParameters:
    """Sequence data of a three-phase line type.

    Attributes
    ----------
    name : str
        Type name, written to the line table's ``std_type`` column.
    r1_ohm_per_km, x1_ohm_per_km : float
        Positive-sequence resistance and reactance [ohm/km].
    c1_nf_per_km : float
        Positive-sequence capacitance [nF/km].
    r0_ohm_per_km, x0_ohm_per_km : float
        Zero-sequence resistance and reactance [ohm/km].
    c0_nf_per_km : float
        Zero-sequence capacitance [nF/km].
    max_i_ka : float
        Thermal current limit [kA].
    kind : str
        pandapower line type: ``"cs"`` (cable) or ``"ol"`` (overhead line).
    """

    name: str
    r1_ohm_per_km: float
    x1_ohm_per_km: float
    c1_nf_per_km: float
    r0_ohm_per_km: float
    x0_ohm_per_km: float
    c0_nf_per_km: float
    max_i_ka: float
    kind: str = "cs"


_LV_R0_RATIO = 0.580 / 0.166  # IEEE European LV test feeder, line code 4c_185
_LV_X0_RATIO = 0.078 / 0.068
_SCREEN_25MM2_CU_OHM_PER_KM = 0.727  # IEC 60228, class 2 copper, 25 mm2, 20 degC

#: Default low-voltage line (see the module docstring for the sources).
DEFAULT_LV_LINE = LineParameters(
    name="NAYY 4x150 SE",
    r1_ohm_per_km=0.208,
    x1_ohm_per_km=0.080,
    c1_nf_per_km=261.0,
    r0_ohm_per_km=round(0.208 * _LV_R0_RATIO, 4),
    x0_ohm_per_km=round(0.080 * _LV_X0_RATIO, 4),
    c0_nf_per_km=261.0,
    max_i_ka=0.27,
)

#: Default medium-voltage line (see the module docstring for the sources).
DEFAULT_MV_LINE = LineParameters(
    name="NA2XS2Y 1x185 RM/25 12/20 kV",
    r1_ohm_per_km=0.161,
    x1_ohm_per_km=0.117,
    c1_nf_per_km=273.0,
    r0_ohm_per_km=0.161 + 3 * _SCREEN_25MM2_CU_OHM_PER_KM,
    x0_ohm_per_km=0.117,
    c0_nf_per_km=273.0,
    max_i_ka=0.362,
)


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
    """

    vm_pu: float = 1.0
    va_degree: float = 0.0
    s_sc_max_mva: float = 1000.0
    rx_max: float = 0.1
    x0x_max: float = 1.0
    r0x0_max: float = 0.1


#: Default external grid (pandapower's own zero-sequence defaults).
DEFAULT_SOURCE = SourceParameters()
