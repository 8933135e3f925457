"""Default line types and source used when an ensemble carries no sampled line data.

The values are those of the pandapower adapter (``pandapower_ext.defaults``), repeated here so
that this package never imports pandapower and both engines build the same grid; a test checks
that the two stay equal.

Low voltage (``vn_kv <= 1``): the pandapower standard type ``"NAYY 4x150 SE"``: r1 = 0.208,
x1 = 0.080 ohm/km, c1 = 261 nF/km, 0.27 kA; zero sequence with the ratios of the IEEE European LV
test feeder's four-core line code ``4c_185`` (r0/r1 = 0.580/0.166, x0/x1 = 0.078/0.068); c0 = c1.

Medium voltage: the pandapower standard type ``"NA2XS2Y 1x185 RM/25 12/20 kV"``: r1 = 0.161,
x1 = 0.117 ohm/km, c1 = 273 nF/km, 0.362 kA; r0 = r1 + 3 x 0.727 ohm/km (the 25 mm2 copper screen
as return path, IEC 60228), x0 = x1, c0 = c1.

Source: short-circuit power 1000 MVA with R/X = 0.1, X0/X1 = 1 and R0/X0 = 0.1 (pandapower's
zero-sequence defaults), voltage 1.0 p.u.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEFAULT_LV_LINE",
    "DEFAULT_MV_LINE",
    "DEFAULT_SOURCE",
    "LV_MAX_KV",
    "LineType",
    "SourceType",
]

#: Buses at or below this line-to-line voltage [kV] count as low voltage.
LV_MAX_KV = 1.0

_LV_R0_RATIO = 0.580 / 0.166  # IEEE European LV test feeder, line code 4c_185
_LV_X0_RATIO = 0.078 / 0.068
_SCREEN_25MM2_CU_OHM_PER_KM = 0.727  # IEC 60228, class 2 copper, 25 mm2, 20 degC


@dataclass(frozen=True)
class LineType:
    """Sequence data of a line type [ohm/km, nF/km, kA]."""

    name: str
    r1_ohm_per_km: float
    x1_ohm_per_km: float
    c1_nf_per_km: float
    r0_ohm_per_km: float
    x0_ohm_per_km: float
    c0_nf_per_km: float
    max_i_ka: float


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


DEFAULT_LV_LINE = LineType(
    name="NAYY 4x150 SE",
    r1_ohm_per_km=0.208,
    x1_ohm_per_km=0.080,
    c1_nf_per_km=261.0,
    r0_ohm_per_km=round(0.208 * _LV_R0_RATIO, 4),
    x0_ohm_per_km=round(0.080 * _LV_X0_RATIO, 4),
    c0_nf_per_km=261.0,
    max_i_ka=0.27,
)
DEFAULT_MV_LINE = LineType(
    name="NA2XS2Y 1x185 RM/25 12/20 kV",
    r1_ohm_per_km=0.161,
    x1_ohm_per_km=0.117,
    c1_nf_per_km=273.0,
    r0_ohm_per_km=0.161 + 3 * _SCREEN_25MM2_CU_OHM_PER_KM,
    x0_ohm_per_km=0.117,
    c0_nf_per_km=273.0,
    max_i_ka=0.362,
)
DEFAULT_SOURCE = SourceType()
