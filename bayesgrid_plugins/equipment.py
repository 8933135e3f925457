"""Default equipment shared by every engine (engine-neutral data): conductors, transformer, source.

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
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .ensemble import Ensemble
    from .feeder import Feeder

__all__ = [
    "DEFAULT_LV_LINE",
    "DEFAULT_MV_LINE",
    "DEFAULT_SOURCE_MODEL",
    "DEFAULT_TRAFO",
    "LV_MAX_KV",
    "MAG0_PERCENT",
    "TRAFO_RATINGS_MVA",
    "LineParameters",
    "SourceModel",
    "TrafoParameters",
    "branch_trafo_ratings_mva",
    "subtree_peak_mva",
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


#: Zero-sequence magnetising impedance of the default transformer over its zero-sequence
#: short-circuit impedance [%]: the no-load impedance (100 / 0.2619 p.u.) over vk0 (0.06 p.u.).
MAG0_PERCENT = 100.0 * (100.0 / 0.2619) / (6.0 / 100.0)


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
        Zero-sequence data required by ``runpp_3ph``. ``mag0_percent`` (the zero-sequence
        magnetising impedance over the zero-sequence short-circuit impedance, in %) defaults to
        :data:`MAG0_PERCENT`: a zero-sequence magnetising impedance equal to the no-load
        impedance ``100 / i0_percent`` p.u., as OpenDSS and power-grid-model model it, so that
        all three engines solve the same transformer under unbalanced load (pandapower's own
        ``mag0_percent = 100`` moved voltages by 5e-3 p.u. against the other two).
    sn_mva : float or None
        Rating [MVA]; None chooses one from the load below (:func:`trafo_rating_mva`).

    Examples
    --------
    >>> from bayesgrid_plugins.equipment import TrafoParameters
    >>> trafo = TrafoParameters(sn_mva=0.4)  # fixed rating [MVA] instead of sized by load
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
    mag0_percent: float = MAG0_PERCENT
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


def subtree_peak_mva(feeder: Feeder, ensemble: Ensemble) -> np.ndarray:
    """Highest apparent load [MVA] over realisations below each bus (the bus included).

    Sizes the transformer into a bus (:func:`trafo_rating_mva`) in every engine alike.
    """
    s = np.hypot(ensemble.p_kw.sum(axis=2), ensemble.q_kvar.sum(axis=2)) / 1000.0
    pre = s[:, feeder.preorder]
    cum = np.zeros((s.shape[0], s.shape[1] + 1))
    np.cumsum(pre, axis=1, out=cum[:, 1:])
    below = cum[:, feeder.subtree_end] - cum[:, feeder.position]
    return below.max(axis=0)


def branch_trafo_ratings_mva(
    feeder: Feeder,
    ensemble: Ensemble,
    children: np.ndarray,
    trafo: TrafoParameters,
    realisation: int | None = None,
) -> np.ndarray:
    """Rating [MVA] of the transformer into each bus of ``children``, in every engine alike.

    The realisation's planned rating (``ensemble.trafo_sn_mva``) where it has one; otherwise
    ``trafo.sn_mva``, or when that is None the rating for the highest load below the bus over the
    ensemble (:func:`subtree_peak_mva`, :func:`trafo_rating_mva`).
    """
    children = np.asarray(children, dtype=np.int64)
    planned = np.full(children.size, np.nan)
    if ensemble.trafo_sn_mva is not None and realisation is not None:
        planned = np.asarray(ensemble.trafo_sn_mva[realisation], dtype=float)[children]
    given = np.isfinite(planned) & (planned > 0)
    if given.all():
        # Planned everywhere: skip the peak over the whole ensemble (engines call this on every
        # switch between realisations).
        return planned
    if trafo.sn_mva is None:
        peak = subtree_peak_mva(feeder, ensemble)[children]
        sn = np.asarray([trafo_rating_mva(p) for p in peak], dtype=float)
    else:
        sn = np.full(children.size, float(trafo.sn_mva))
    return np.where(given, planned, sn)


@dataclass(frozen=True)
class SourceModel:
    """The source at the feeder's root, the same in every engine.

    A three-phase voltage source behind a sequence impedance given by its short-circuit power.
    The default (1e8 MVA) is stiff for every practical purpose: at 13.8 kV its impedance is
    1.9e-6 ohm, and a 10 MVA feeder moves the source voltage by less than 1e-7 p.u. It is the one
    model all three engines can share: pandapower's ``runpp_3ph`` holds the positive-sequence
    voltage of an external grid fixed whatever its short-circuit power, while OpenDSS and
    power-grid-model put the impedance in series (OpenDSS's own default Vsource sags to
    0.993-0.997 p.u. on a loaded 13.8 kV feeder).

    Attributes
    ----------
    vm_pu : float
        Voltage magnitude [p.u.] of the source's positive sequence.
    va_degree : float
        Angle [degree] of phase A.
    s_sc_mva : float or None
        Three-phase short-circuit power [MVA]; None is an ideal source (OpenDSS writes 1e-9 ohm).
    rx : float
        R/X ratio of the positive-sequence impedance.
    x0x : float
        X0/X1 ratio.
    r0x0 : float
        R0/X0 ratio.

    Examples
    --------
    >>> from bayesgrid_plugins.equipment import SourceModel
    >>> SourceModel().impedance_ohm(0.4)[1] < 1e-8  # x1 [ohm] at 0.4 kV
    True
    """

    vm_pu: float = 1.0
    va_degree: float = 0.0
    s_sc_mva: float | None = 1e8
    rx: float = 0.1
    x0x: float = 1.0
    r0x0: float = 0.1

    def impedance_ohm(self, vn_kv: float) -> tuple[float, float, float, float]:
        """Source impedance ``(r1, x1, r0, x0)`` [ohm] at nominal voltage ``vn_kv`` [kV]."""
        if self.s_sc_mva is None:
            return 0.0, 1e-9, 0.0, 1e-9
        z1 = float(vn_kv) ** 2 / self.s_sc_mva
        x1 = z1 / np.sqrt(1 + self.rx**2)
        r1 = self.rx * x1
        x0 = self.x0x * x1
        r0 = self.r0x0 * x0
        return float(r1), float(x1), float(r0), float(x0)


#: The source every engine builds under defaults (see :class:`SourceModel`).
DEFAULT_SOURCE_MODEL = SourceModel()
