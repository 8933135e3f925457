"""Statistics of the loads and lines of an ensemble, and their comparison with a real feeder.

Real and synthetic data go through the same code: a real feeder is turned into a one-realisation
:class:`~bayesgrid_plugins.ensemble.Ensemble` (see :func:`~.real.real_ensemble`), so a feeder
compared with itself gives exactly zero error.

Definitions (per load bus; several real loads on one bus are one load with the union of their
phases and the sum of their powers):

- ``p3``: three-phase loads / (three-phase + single-phase loads); two-phase loads count in
  neither (as in the counting estimator).
- ``pA, pB, pC``: share of the single-phase loads on each phase.
- mean P per phase (the paper's Table I): the total active power [kW] on phase X over the
  number of loads on X, a load on k phases counting as 1/k of a load on each of its phases,
  pooled over realisations (see :attr:`LoadStatistics.mean_p_kw` for the other definitions).
- the line phase mix: share of lines (one per non-source bus) carrying each phase set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from ...ensemble import Ensemble
from ...errors import ParameterError
from ...feeder import Feeder
from ...phases import PHASE_ABC, PHASE_NAMES, n_phases, phase_inconsistencies

__all__ = [
    "Comparison",
    "LoadStatistics",
    "compare",
    "consistency_violations",
    "ks_distance",
    "load_statistics",
    "mape_percent",
]

_BITS = np.array([1, 2, 4], dtype=np.uint8)


@dataclass(frozen=True, eq=False)
class LoadStatistics:
    """Load and line statistics of an ensemble (or of a real feeder as one realisation).

    Attributes
    ----------
    n_realisations, n_loads : int
        Realisations pooled, and loads (load buses) per realisation.
    p3 : float
        Share of three-phase loads among one- and three-phase loads.
    p3_zone : ndarray, shape (n_zones,)
        The same per zone of normalised distance (NaN where a zone has no load).
    loads_zone : ndarray, shape (n_zones,)
        Loads per zone (per realisation).
    phase_shares : ndarray, shape (3,)
        ``pA, pB, pC``: share of single-phase loads on each phase (NaN without such loads).
    two_phase_share : float
        Share of loads with exactly two phases.
    mean_p_kw : ndarray, shape (3,)
        Mean active power [kW] of a load on phase A, B, C: the phase's total power over the
        number of loads on it, a load on k phases counting as 1/k of a load on each (so a
        three-phase load adds its per-phase power and a third of a load). Table I.
    mean_p_connected_kw : ndarray, shape (3,)
        The phase's total power over the number of loads connected to it (each counting 1).
    mean_p_all_kw : ndarray, shape (3,)
        Total active power per phase divided by the number of loads [kW].
    total_p_kw : ndarray, shape (n_realisations * n_loads,)
        Total active power of every load [kW] (all realisations), for distribution comparisons.
    line_mix : ndarray, shape (8,)
        Share of lines with each phase mask 0..7 (index = mask; 0 = not energised).
    """

    n_realisations: int
    n_loads: int
    p3: float
    p3_zone: np.ndarray
    loads_zone: np.ndarray
    phase_shares: np.ndarray
    two_phase_share: float
    mean_p_kw: np.ndarray
    mean_p_connected_kw: np.ndarray
    mean_p_all_kw: np.ndarray
    total_p_kw: np.ndarray = field(repr=False)
    line_mix: np.ndarray = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the loads' power samples left out)."""
        return {
            "n_realisations": self.n_realisations,
            "n_loads": self.n_loads,
            "p3": _num(self.p3),
            "p3_zone": [_num(v) for v in self.p3_zone],
            "loads_zone": [int(v) for v in self.loads_zone],
            "phase_shares": dict(zip("ABC", (_num(v) for v in self.phase_shares), strict=True)),
            "two_phase_share": _num(self.two_phase_share),
            "mean_p_kw": dict(zip("ABC", (_num(v) for v in self.mean_p_kw), strict=True)),
            "mean_p_connected_kw": dict(
                zip("ABC", (_num(v) for v in self.mean_p_connected_kw), strict=True)
            ),
            "mean_p_all_kw": dict(zip("ABC", (_num(v) for v in self.mean_p_all_kw), strict=True)),
            "mean_total_p_kw": _num(self.total_p_kw.mean()) if self.total_p_kw.size else None,
            "line_mix": {
                PHASE_NAMES[m]: _num(v) for m, v in enumerate(self.line_mix) if m and v > 0
            },
        }


def _num(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _ratio(num: np.ndarray | float, den: np.ndarray | float) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def load_statistics(feeder: Feeder, ensemble: Ensemble) -> LoadStatistics:
    """Statistics of the loads and lines of every realisation of an ensemble, pooled.

    Parameters
    ----------
    feeder : Feeder
        The topology the ensemble belongs to (for zones).
    ensemble : Ensemble
        Realisations; a load is a bus with ``load_phases != 0``.

    Returns
    -------
    LoadStatistics
    """
    if ensemble.n_buses != feeder.n_buses:
        raise ParameterError(
            f"the ensemble has {ensemble.n_buses} buses but the feeder {feeder.n_buses}: "
            "compare an ensemble with the feeder it was sampled on."
        )
    masks = ensemble.load_phases.astype(np.int64)
    is_load = masks != 0
    n_loads_each = is_load.sum(axis=1)
    k = n_phases(masks)
    three = masks == PHASE_ABC
    single = k == 1
    two = k == 2
    n_model = (three | single).sum()
    p3 = float(_ratio(three.sum(), n_model))
    zone = np.broadcast_to(feeder.zone, masks.shape)
    nz = feeder.n_zones
    model_zone = np.bincount(zone[three | single], minlength=nz)
    three_zone = np.bincount(zone[three], minlength=nz)
    loads_zone = np.bincount(zone[is_load], minlength=nz) / max(ensemble.n_realisations, 1)
    singles = masks[single]
    shares = _ratio(np.array([(singles == b).sum() for b in (1, 2, 4)]), singles.size)

    on = (masks[..., np.newaxis] & _BITS) != 0  # (n, b, 3): load connected to phase
    p = ensemble.p_kw
    on_p = np.where(on, p, 0.0).sum(axis=(0, 1))
    # a load on k phases counts as 1/k of a load on each of them
    weight = np.where(on, 1.0 / np.maximum(k, 1)[..., np.newaxis], 0.0).sum(axis=(0, 1))
    mean_p = _ratio(on_p, weight)
    mean_connected = _ratio(on_p, on.sum(axis=(0, 1)))
    mean_all = _ratio(np.where(is_load[..., None], p, 0.0).sum(axis=(0, 1)), is_load.sum())
    # to 1e-9 kW: the split of a total over phases and back adds rounding in the last bits
    total = np.round(p.sum(axis=2)[is_load], 9)

    lines = np.ones(feeder.n_buses, dtype=bool)
    lines[feeder.source] = False
    line_masks = ensemble.bus_phases[:, lines].astype(np.int64)
    mix = np.bincount(line_masks.ravel(), minlength=8)[:8] / max(line_masks.size, 1)
    return LoadStatistics(
        n_realisations=ensemble.n_realisations,
        n_loads=int(n_loads_each.max(initial=0)),
        p3=p3,
        p3_zone=_ratio(three_zone, model_zone),
        loads_zone=loads_zone,
        phase_shares=shares,
        two_phase_share=float(_ratio(two.sum(), is_load.sum())),
        mean_p_kw=mean_p,
        mean_p_connected_kw=mean_connected,
        mean_p_all_kw=mean_all,
        total_p_kw=np.asarray(total, dtype=float),
        line_mix=mix.astype(float),
    )


def mape_percent(real: np.ndarray | float, synthetic: np.ndarray | float) -> np.ndarray:
    """Absolute percentage error ``100 |synthetic - real| / |real|`` [%], element-wise.

    NaN where the real value is zero or not finite.
    """
    real = np.asarray(real, dtype=float)
    return 100.0 * _ratio(np.abs(np.asarray(synthetic, dtype=float) - real), np.abs(real))


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov distance (largest gap between the empirical CDFs)."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if a.size == 0 or b.size == 0:
        return float("nan")
    return float(stats.ks_2samp(a, b).statistic)


def _total_variation(a: np.ndarray, b: np.ndarray) -> float:
    return float(0.5 * np.nansum(np.abs(np.asarray(a) - np.asarray(b))))


@dataclass(frozen=True, eq=False)
class Comparison:
    """Synthetic statistics beside the real ones, with the errors.

    Attributes
    ----------
    real, synthetic : LoadStatistics
        The two sides.
    mape_percent : ndarray, shape (3,)
        Error [%] of the mean active power per phase (Table I).
    mape_all_percent : ndarray, shape (3,)
        Error [%] of the total power per phase per load.
    ks_p : float
        Kolmogorov-Smirnov distance between the loads' total active power distributions.
    p3_abs_error, phase_share_abs_error : float, ndarray (3,)
        Absolute differences of ``p3`` and of ``pA, pB, pC``.
    p3_zone_abs_error : ndarray, shape (n_zones,)
        Absolute difference of ``p3`` per zone (NaN where either side has no load).
    line_mix_tv : float
        Total-variation distance (0 = same, 1 = disjoint) between the line phase mixes.
    """

    real: LoadStatistics
    synthetic: LoadStatistics
    mape_percent: np.ndarray
    mape_all_percent: np.ndarray
    ks_p: float
    p3_abs_error: float
    phase_share_abs_error: np.ndarray
    p3_zone_abs_error: np.ndarray
    line_mix_tv: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "real": self.real.as_dict(),
            "synthetic": self.synthetic.as_dict(),
            "mape_percent": dict(zip("ABC", (_num(v) for v in self.mape_percent), strict=True)),
            "mape_all_percent": dict(
                zip("ABC", (_num(v) for v in self.mape_all_percent), strict=True)
            ),
            "ks_p": _num(self.ks_p),
            "p3_abs_error": _num(self.p3_abs_error),
            "phase_share_abs_error": [_num(v) for v in self.phase_share_abs_error],
            "p3_zone_abs_error": [_num(v) for v in self.p3_zone_abs_error],
            "line_mix_tv": _num(self.line_mix_tv),
        }


def compare(real: LoadStatistics, synthetic: LoadStatistics) -> Comparison:
    """Compare synthetic statistics with real ones (see :class:`Comparison`)."""
    return Comparison(
        real=real,
        synthetic=synthetic,
        mape_percent=mape_percent(real.mean_p_kw, synthetic.mean_p_kw),
        mape_all_percent=mape_percent(real.mean_p_all_kw, synthetic.mean_p_all_kw),
        ks_p=ks_distance(real.total_p_kw, synthetic.total_p_kw),
        p3_abs_error=abs(synthetic.p3 - real.p3),
        phase_share_abs_error=np.abs(synthetic.phase_shares - real.phase_shares),
        p3_zone_abs_error=np.abs(synthetic.p3_zone - real.p3_zone),
        line_mix_tv=_total_variation(real.line_mix, synthetic.line_mix),
    )


def consistency_violations(feeder: Feeder, ensemble: Ensemble) -> np.ndarray:
    """Phase-consistency violations per realisation, counted independently of the sampler.

    A violation is a bus with a phase its parent lacks, or a load connected to a phase its
    bus lacks.

    Returns
    -------
    ndarray of int, shape (n_realisations,)
    """
    upstream = phase_inconsistencies(feeder, ensemble.bus_phases.astype(np.int64))
    unserved = (ensemble.load_phases & ~ensemble.bus_phases) != 0
    return np.atleast_2d(upstream).sum(axis=1) + unserved.sum(axis=1)
