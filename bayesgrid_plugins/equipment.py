"""Default conductors, shared by both adapters (engine-neutral data).

Used when an ensemble carries no sampled line data. Every number has a stated source: the
positive-sequence data are pandapower standard line types (shipped with pandapower, BSD-3), which
carry no zero-sequence data; the zero-sequence values are derived as stated.

Low voltage (``vn_kv <= 1``): ``"NAYY 4x150 SE"`` (four-core aluminium PVC cable): r1 = 0.208
ohm/km, x1 = 0.080 ohm/km, c1 = 261 nF/km, 0.27 kA. Zero sequence with the ratios of the
four-core cable line codes of the IEEE European LV test feeder (``4c_185``: r0/r1 = 0.580/0.166 =
3.49, x0/x1 = 0.078/0.068 = 1.15; its other four-core codes lie between 3.37 and 3.58 and between
1.08 and 1.21); c0 = c1.

Medium voltage (``1 < vn_kv``): ``"NA2XS2Y 1x185 RM/25 12/20 kV"`` (single-core XLPE cable with a
25 mm2 copper screen): r1 = 0.161 ohm/km, x1 = 0.117 ohm/km, c1 = 273 nF/km, 0.362 kA. Zero
sequence with the screens as the return path: r0 = r1 + 3 r_screen with r_screen = 0.727 ohm/km
(IEC 60228 DC resistance of a 25 mm2 class-2 copper conductor at 20 degC), x0 = x1, c0 = c1 (each
core is screened).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LV_LINE", "DEFAULT_MV_LINE", "LV_MAX_KV", "LineParameters"]

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

    Examples
    --------
    >>> import dataclasses
    >>> from pandapower_ext.defaults import DEFAULT_LV_LINE
    >>> DEFAULT_LV_LINE.r1_ohm_per_km, DEFAULT_LV_LINE.max_i_ka  # [ohm/km], [kA]
    (0.208, 0.27)
    >>> derated = dataclasses.replace(DEFAULT_LV_LINE, max_i_ka=0.22)
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
