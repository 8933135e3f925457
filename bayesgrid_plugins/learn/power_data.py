"""Sufficient statistics of a training table for the power model.

Every likelihood term of the power model depends on the loads only through counts and sums per
feeder (the ``system`` column), so the fit works on a few small arrays whatever the number of
loads, and the compiled model does not grow with the data:

- ``n_modelled[f, z]``, ``n_three[f, z]``: one- and three-phase loads, and three-phase loads, of
  feeder ``f`` in zone ``z`` (Binomial counts of ``p3``);
- ``phase_counts[f]``: single-phase loads on A, B, C (Multinomial counts);
- ``pf_counts[f]``: loads whose power factor ``P / |S|`` is nearest to each value of the support;
- ``p1_n, p1_mean, p1_var``: number, mean and (population) variance of the total active power
  [kW] of the single-phase loads with ``P > 0`` (the truncated normal of P);
- ``p3_n, p3_logmean, p3_logvar``: the same for ``log P`` of the three-phase loads (their own
  log-normal class, see :mod:`.power_fit`), and ``p3_mean, p3_var`` for their P [kW];
- ``share_n``, ``share_logsum[k]``: pooled number of three-phase loads with ``P > 0`` and the sum
  of the logarithms of their per-phase shares (the Dirichlet likelihood); ``share_p_kw[k]`` the
  sum of their P on each phase [kW] (the P-weighted mean share keeps the real phase totals).

Loads are taken per bus (:func:`~bayesgrid_plugins.training.loads_per_bus`): the sampler places
one load per load bus and the validation measures real feeders per bus, so several loads on one
bus are one load with the union of their phases and the sum of their powers.

Two-phase loads are their own class: ``pair_counts[f]`` counts them by pair (AB, BC, CA), and
they count among the loads of ``n_modelled`` (``p3`` is the share of three-phase loads among all
loads; the sampler draws a two-phase load among the others with ``p2``). Their P is not fitted
separately.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..phases import PHASE_ABC, n_phases
from ..training import loads_per_bus
from .table import LOAD_COLUMNS, TrainingTable

__all__ = ["DEFAULT_PF_VALUES", "PowerData", "power_data", "table_sha256"]

#: Default support of the power-factor distribution: ``"auto"`` takes the distinct observed power
#: factors rounded to 0.01 (snapping then moves Q by less than 3 % at PF 0.9), so no probability
#: is spent on values no training feeder has.
DEFAULT_PF_VALUES = "auto"
#: Shares below this are clipped before taking logarithms (a three-phase load with an idle phase).
_MIN_SHARE = 1e-6


@dataclass(frozen=True, eq=False)
class PowerData:
    """Per-feeder sufficient statistics of the power model (see the module docstring)."""

    systems: tuple[str, ...]
    n_zones: int
    pf_values: np.ndarray
    n_modelled: np.ndarray
    n_three: np.ndarray
    phase_counts: np.ndarray
    pf_counts: np.ndarray
    p1_n: np.ndarray
    p1_mean: np.ndarray
    p1_var: np.ndarray
    p3_n: np.ndarray
    p3_logmean: np.ndarray
    p3_logvar: np.ndarray
    share_n: int
    share_logsum: np.ndarray
    counts: dict[str, Any] = field(default_factory=dict)
    p3_mean: np.ndarray | None = None
    p3_var: np.ndarray | None = None
    pair_counts: np.ndarray | None = None
    share_p_kw: np.ndarray | None = None

    @property
    def n_feeders(self) -> int:
        """Number of feeders (distinct ``system`` values)."""
        return len(self.systems)


def table_sha256(table: TrainingTable) -> str:
    """SHA-256 of the table's load rows (CSV of :data:`LOAD_COLUMNS`, 9 significant digits)."""
    text = table.loads[list(LOAD_COLUMNS)].to_csv(index=False, float_format="%.9g")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _per_feeder_moments(values: np.ndarray, feeder: np.ndarray, n_feeders: int):
    n = np.bincount(feeder, minlength=n_feeders).astype(float)
    s1 = np.bincount(feeder, weights=values, minlength=n_feeders)
    mean = np.divide(s1, n, out=np.zeros(n_feeders), where=n > 0)
    dev = values - mean[feeder]
    var = np.divide(
        np.bincount(feeder, weights=dev * dev, minlength=n_feeders),
        n,
        out=np.zeros(n_feeders),
        where=n > 0,
    )
    return n, mean, var


def power_data(
    table: TrainingTable, *, pf_values: tuple[float, ...] | str = DEFAULT_PF_VALUES
) -> PowerData:
    """Reduce a training table to the sufficient statistics of the power model.

    Parameters
    ----------
    table : TrainingTable
        Loads of one or more feeders; the ``system`` column names the feeder.
    pf_values : tuple of float or "auto"
        Support of the power-factor distribution, each in (0, 1]; ``"auto"``: the distinct
        observed power factors rounded to 0.01 (with at least two values).

    Returns
    -------
    PowerData

    Raises
    ------
    ParameterError
        If the table has no one- or three-phase loads, or ``pf_values`` is not a set of power
        factors.
    """
    if len(table.loads) == 0:
        raise ParameterError("the training table has no loads; read a feeder that has some")
    loads = loads_per_bus(table)
    p = loads[["p_a_kw", "p_b_kw", "p_c_kw"]].to_numpy(dtype=float)
    q = loads[["q_a_kvar", "q_b_kvar", "q_c_kvar"]].to_numpy(dtype=float)
    total = p.sum(axis=1)
    positive = total > 0
    pf = total[positive] / np.hypot(total[positive], q.sum(axis=1)[positive])
    if isinstance(pf_values, str):
        if pf_values != "auto":
            raise ParameterError(
                f"pf_values must be 'auto' or a tuple of floats, got {pf_values!r}"
            )
        support = np.unique(np.clip(np.round(pf, 2), 0.01, 1.0))
        if support.size < 2:  # one observed value: add its neighbour so the support is a choice
            support = np.unique(np.r_[support, np.clip(support - 0.01, 0.01, 1.0), 1.0])
    else:
        support = np.asarray(pf_values, dtype=float).ravel()
    if support.size < 2 or not ((support > 0).all() and (support <= 1).all()):
        raise ParameterError(
            f"pf_values must hold at least two power factors in (0, 1], got {pf_values!r}"
        )
    if np.unique(support).size != support.size:
        raise ParameterError(f"pf_values has repeated values: {pf_values!r}")
    systems, feeder = np.unique(loads["system"].astype(str).to_numpy(), return_inverse=True)
    n_f, n_z = systems.size, int(table.n_zones)
    phases = loads["phases"].to_numpy(dtype=np.int64)
    zone = loads["zone"].to_numpy(dtype=np.int64)
    if zone.min() < 0 or zone.max() >= n_z:
        raise ParameterError(
            f"zone column runs {zone.min()}..{zone.max()} but the table has {n_z} zones"
        )
    k = n_phases(phases)
    three = phases == PHASE_ABC
    single = k == 1
    two = k == 2
    modelled = three | single | two
    if not (three | single).any():
        raise ParameterError("the training table has no one- or three-phase loads to fit")

    cell = feeder * n_z + zone
    n_modelled = np.bincount(cell[modelled], minlength=n_f * n_z).reshape(n_f, n_z)
    n_three = np.bincount(cell[three], minlength=n_f * n_z).reshape(n_f, n_z)
    phase_index = np.searchsorted([1, 2, 4], phases[single])
    phase_counts = np.bincount(feeder[single] * 3 + phase_index, minlength=n_f * 3).reshape(n_f, 3)
    pair_index = np.searchsorted([3, 5, 6], phases[two])  # AB, CA, BC
    pair_index = np.array([0, 2, 1])[pair_index]  # -> AB, BC, CA
    pair_counts = np.bincount(feeder[two] * 3 + pair_index, minlength=n_f * 3).reshape(n_f, 3)

    nearest = np.abs(pf[:, np.newaxis] - support).argmin(axis=1)
    pf_counts = np.bincount(
        feeder[positive] * support.size + nearest, minlength=n_f * support.size
    ).reshape(n_f, support.size)

    s1 = single & positive
    p1_n, p1_mean, p1_var = _per_feeder_moments(total[s1], feeder[s1], n_f)
    s3 = three & positive
    p3_n, p3_logmean, p3_logvar = _per_feeder_moments(np.log(total[s3]), feeder[s3], n_f)
    _, p3_mean, p3_var = _per_feeder_moments(total[s3], feeder[s3], n_f)
    shares = np.clip(p[s3] / total[s3, np.newaxis], _MIN_SHARE, None)
    shares /= shares.sum(axis=1, keepdims=True)
    counts = {
        "n_loads": len(table.loads),
        "n_load_buses": len(loads),
        "n_feeders": int(n_f),
        "n_single_phase": int(single.sum()),
        "n_three_phase": int(three.sum()),
        "n_two_phase": int(two.sum()),
        "n_zero_power": int((~positive).sum()),
        "loads_per_zone": n_modelled.sum(axis=0).tolist(),
        "three_phase_per_zone": n_three.sum(axis=0).tolist(),
        "loads_per_feeder": {str(s): int(c) for s, c in zip(systems, np.bincount(feeder))},
        "shares_all_equal": bool(s3.sum() > 0 and np.ptp(shares, axis=0).max() < 1e-9),
    }
    return PowerData(
        systems=tuple(str(s) for s in systems),
        n_zones=n_z,
        pf_values=support,
        n_modelled=n_modelled,
        n_three=n_three,
        phase_counts=phase_counts,
        pf_counts=pf_counts,
        p1_n=p1_n,
        p1_mean=p1_mean,
        p1_var=p1_var,
        p3_n=p3_n,
        p3_logmean=p3_logmean,
        p3_logvar=p3_logvar,
        share_n=int(s3.sum()),
        share_logsum=np.log(shares).sum(axis=0),
        share_p_kw=p[s3].sum(axis=0),
        counts=counts,
        p3_mean=p3_mean,
        p3_var=p3_var,
        pair_counts=pair_counts,
    )
