"""Equipment tables of the area model: transmission lines by voltage and transformers by rating.

Every number is a pandapower 3.5 standard type (pandapower, BSD-3; its documentation gives the
overhead-line data after Oeding and Oswald, *Elektrische Kraftwerke und Netze*, and the
transformer data from manufacturer sheets). They are repeated here, as plain data, so that the
core never imports pandapower; ``tests/test_area.py`` checks them against the installed
pandapower. Zero-sequence data are derived, not tabulated, as stated below.

Overhead lines (positive sequence, per km and circuit)
-------------------------------------------------------
============  ==========================  =======  =======  =======  ========
voltage [kV]  pandapower standard type    r1 [ohm]  x1 [ohm]  c1 [nF]  I_max [kA]
============  ==========================  =======  =======  =======  ========
110           149-AL1/24-ST1A 110.0       0.1940   0.410    8.75     0.470
220           490-AL1/64-ST1A 220.0       0.0590   0.285    10.00    0.960
380           490-AL1/64-ST1A 380.0       0.0590   0.253    11.00    0.960
============  ==========================  =======  =======  =======  ========

A line of another voltage gets the type of the nearest tabulated voltage (for example 132 and
150 kV lines the 110 kV type, 275 kV lines the 220 kV type). Zero sequence: ``r0 = r1 + 3 r_e``
with Carson's earth-return resistance ``r_e = pi^2 f 1e-4 ohm/km`` (0.0493 ohm/km at 50 Hz);
``x0 = 3 x1`` and ``c0 = 0.6 c1``, the usual planning ratios of single-circuit overhead lines
without earth wire (assumptions, not measurements; they matter only for unbalanced currents in
the transmission layer, which delta windings of the HV/MV transformers keep out).

Transformers
------------
HV/HV (where two transmission voltages meet in one substation): "100 MVA 220/110 kV"
(vk 12 %, vkr 0.26 %) and "160 MVA 380/110 kV" (vk 12.2 %, vkr 0.25 %). HV/MV (one per
distribution substation): "25 MVA 110/20 kV" (vk 12 %, vkr 0.41 %), "40 MVA 110/20 kV"
(vk 16.2 %, vkr 0.34 %), "63 MVA 110/20 kV" (vk 18 %, vkr 0.32 %). MV/LV (one per LV network):
"0.25 MVA 20/0.4 kV" (vk 6 %, vkr 1.44 %), "0.4 MVA 20/0.4 kV" (vk 6 %, vkr 1.425 %),
"0.63 MVA 20/0.4 kV" (vk 6 %, vkr 1.206 %). The per-unit data are used with the actual rated
voltages of the two buses; a rating is the smallest that carries 1.25 times the planning demand
at power factor 0.95 (the largest of its class when none does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "EARTH_RETURN_OHM_PER_KM",
    "HV_HV_TRAFOS",
    "HV_MV_TRAFOS",
    "MV_LV_TRAFOS",
    "OLTC_POSITIONS",
    "OLTC_STEP_PERCENT",
    "OLTC_TARGET_PU",
    "OVERHEAD_LINES",
    "PLANNING_MARGIN",
    "PLANNING_POWER_FACTOR",
    "OverheadLineType",
    "TrafoType",
    "choose_trafo",
    "line_type_for",
]

#: Carson's earth-return resistance per conductor at 50 Hz [ohm/km]: pi^2 * f * 1e-4.
EARTH_RETURN_OHM_PER_KM = math.pi**2 * 50.0 * 1e-4
#: Transformers are rated for this multiple of the planning demand.
PLANNING_MARGIN = 1.25
#: Power factor that turns planning demand [kW] into apparent power [kVA].
PLANNING_POWER_FACTOR = 0.95
#: On-load tap changer of each HV/MV transformer, on its HV side: step [%] and positions either
#: side of neutral (+-10 % in 16 steps, as the single-feeder planning's substation tap; an
#: assumption), and the busbar voltage [p.u.] it holds at least (feeders are planned from 1 p.u.).
OLTC_STEP_PERCENT = 1.25
OLTC_POSITIONS = 8
OLTC_TARGET_PU = 1.0


@dataclass(frozen=True)
class OverheadLineType:
    """Sequence data of one circuit of an overhead line type [ohm/km, nF/km, kA]."""

    name: str
    vn_kv: float
    r1_ohm_per_km: float
    x1_ohm_per_km: float
    c1_nf_per_km: float
    max_i_ka: float

    @property
    def r0_ohm_per_km(self) -> float:
        """Zero-sequence resistance [ohm/km]: ``r1 + 3 r_e`` (Carson)."""
        return self.r1_ohm_per_km + 3 * EARTH_RETURN_OHM_PER_KM

    @property
    def x0_ohm_per_km(self) -> float:
        """Zero-sequence reactance [ohm/km]: ``3 x1``."""
        return 3.0 * self.x1_ohm_per_km

    @property
    def c0_nf_per_km(self) -> float:
        """Zero-sequence capacitance [nF/km]: ``0.6 c1``."""
        return 0.6 * self.c1_nf_per_km


#: Overhead line types by nominal voltage (pandapower standard types).
OVERHEAD_LINES = (
    OverheadLineType("149-AL1/24-ST1A 110.0", 110.0, 0.1940, 0.410, 8.75, 0.470),
    OverheadLineType("490-AL1/64-ST1A 220.0", 220.0, 0.0590, 0.285, 10.00, 0.960),
    OverheadLineType("490-AL1/64-ST1A 380.0", 380.0, 0.0590, 0.253, 11.00, 0.960),
)


def line_type_for(vn_kv: float) -> OverheadLineType:
    """The tabulated overhead line type of the voltage nearest ``vn_kv`` [kV]."""
    volts = np.asarray([t.vn_kv for t in OVERHEAD_LINES])
    return OVERHEAD_LINES[int(np.argmin(np.abs(np.log(volts / float(vn_kv)))))]


@dataclass(frozen=True)
class TrafoType:
    """Per-unit data of a two-winding transformer type (pandapower standard type)."""

    name: str
    sn_mva: float
    vk_percent: float
    vkr_percent: float
    pfe_kw: float
    i0_percent: float


HV_HV_TRAFOS = (
    TrafoType("100 MVA 220/110 kV", 100.0, 12.0, 0.26, 55.0, 0.06),
    TrafoType("160 MVA 380/110 kV", 160.0, 12.2, 0.25, 60.0, 0.06),
)
HV_MV_TRAFOS = (
    TrafoType("25 MVA 110/20 kV", 25.0, 12.0, 0.41, 14.0, 0.07),
    TrafoType("40 MVA 110/20 kV", 40.0, 16.2, 0.34, 18.0, 0.05),
    TrafoType("63 MVA 110/20 kV", 63.0, 18.0, 0.32, 22.0, 0.04),
)
MV_LV_TRAFOS = (
    TrafoType("0.25 MVA 20/0.4 kV", 0.25, 6.0, 1.44, 0.8, 0.32),
    TrafoType("0.4 MVA 20/0.4 kV", 0.4, 6.0, 1.425, 1.35, 0.3375),
    TrafoType("0.63 MVA 20/0.4 kV", 0.63, 6.0, 1.206, 1.65, 0.2619),
)


def choose_trafo(demand_kw: float, types: tuple[TrafoType, ...]) -> TrafoType:
    """Smallest type that carries :data:`PLANNING_MARGIN` times ``demand_kw`` [kW].

    The demand is turned into apparent power with :data:`PLANNING_POWER_FACTOR`; when no type
    is large enough the largest is returned.
    """
    need_mva = PLANNING_MARGIN * float(demand_kw) / PLANNING_POWER_FACTOR / 1000.0
    for t in types:
        if t.sn_mva >= need_mva:
            return t
    return types[-1]
