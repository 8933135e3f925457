"""Learn how balanced real feeders are: the randomness of the lateral allocation.

For every training feeder (rebuilt from the table's topology, :func:`~..training.table_feeders`)
with its real loads per bus:

- the real *balance statistic*, max/mean of the three phase totals, and the real per-phase
  *shares* of the feeder's total P (the target of the allocation, :mod:`..balancing` step 4);
- the sizes of its real single-phase laterals (maximal subtrees of buses that are not
  three-phase), in single-phase load buses;
- the randomness ``eps`` of :func:`~..balancing.assign_laterals` that reproduces its balance:
  the allocation is simulated, towards the feeder's real shares, with the feeder's own loads
  and multi-phase loads on a grid of ``eps`` with common random numbers, and the ``eps`` whose
  median max/mean is nearest to the real value is kept (the simulated median falls as ``eps``
  falls). The quotas are the feeder's real counts of single-phase loads per phase.

The largest lateral of the sampler, ``lateral_max_loads``, is the 90th percentile of the real
laterals' sizes over all training feeders. The per-feeder ``(eps, shares, counts)`` are the
between-feeder distribution: each posterior draw takes those of one training feeder, so an
ensemble shows the spread of balance (and of per-phase demand) that real feeders show, and a
feeder trained alone reproduces its own phase totals and balance. The counts per phase (the
quotas) come from the same feeder as the target: the pooled posterior of ``pA, pB, pC`` says
how uncertain the pooled shares are, not how feeders differ, and its noise would otherwise be
imbalance that no real feeder shows.

Only feeders with at least :data:`MIN_TEMPLATE_LOADS` load buses lend their balancing to the
draws when the table has several feeders: on a feeder with a few dozen loads the phase totals
are lumpy (Austin p1udt5257, 29 loads, puts 72 % of its P on phase B; the sampling sd of its
max/mean is 0.25 against 0.02-0.07 on the feeders with hundreds of loads), so its shares say
how those few loads fell, not how a utility balances a feeder. A feeder trained alone always
keeps its own balancing, whatever its size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..balancing import assign_laterals, balance_ratio, lateral_sizes
from ..phases import PHASE_ABC, enforce_phase_consistency, n_phases
from ..training import TrainingTable, loads_per_bus, table_feeders

__all__ = ["BalanceFit", "learn_balance"]

logger = logging.getLogger(__name__)

#: Fewest load buses for a feeder to lend its balancing to other topologies (see the module).
MIN_TEMPLATE_LOADS = 50

#: The grid of ``eps`` searched.
EPS_GRID = np.round(np.linspace(0.0, 1.0, 21), 3)


@dataclass(frozen=True)
class BalanceFit:
    """What :func:`learn_balance` found.

    Attributes
    ----------
    eps : dict of str to float
        Randomness per training feeder.
    real_ratio : dict of str to float
        Real max/mean phase total per feeder.
    simulated_ratio : dict of str to float
        Median simulated max/mean at the chosen ``eps``.
    lateral_max_loads : float
        Largest synthetic lateral [single-phase load buses].
    lateral_sizes : dict of str to list of int
        Sizes of the real single-phase laterals per feeder.
    shares : dict of str to list of float
        Real share of the feeder's total P on phases A, B, C per feeder (the allocation's
        target).
    counts : dict of str to list of float
        Real share of the feeder's single-phase load buses on A, B, C (the allocation's
        quotas).
    n_loads : dict of str to int
        Load buses per feeder.
    """

    eps: dict[str, float]
    real_ratio: dict[str, float]
    simulated_ratio: dict[str, float]
    lateral_max_loads: float
    lateral_sizes: dict[str, list[int]] = field(default_factory=dict)
    shares: dict[str, list[float]] = field(default_factory=dict)
    counts: dict[str, list[float]] = field(default_factory=dict)
    n_loads: dict[str, int] = field(default_factory=dict)

    @property
    def templates(self) -> list[str]:
        """Feeders whose balancing the draws take: those with at least
        :data:`MIN_TEMPLATE_LOADS` load buses, or every feeder when none has that many."""
        names = list(self.eps)
        large = [k for k in names if self.n_loads.get(k, MIN_TEMPLATE_LOADS) >= MIN_TEMPLATE_LOADS]
        return large or names

    def draws(
        self, n_draws: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(balance_eps, lateral_max_loads, balance_shares, balance_phase_probs)`` per draw.

        Each draw takes the ``eps``, the target shares and the phase counts of one training
        feeder (chosen at random among :attr:`templates`), so they stay together; shape
        (draws,), (draws,), (draws, 3) and (draws, 3).
        """
        names = self.templates
        values = np.array([self.eps[k] for k in names], dtype=float)
        shares = np.array(
            [self.shares.get(k, [1 / 3, 1 / 3, 1 / 3]) for k in names], dtype=float
        ).reshape(-1, 3)
        pick = (
            rng.integers(values.size, size=n_draws)
            if values.size > 1
            else np.zeros(n_draws, dtype=np.int64)
        )
        counts = np.array(
            [self.counts.get(k, [1 / 3, 1 / 3, 1 / 3]) for k in names], dtype=float
        ).reshape(-1, 3)
        return (
            values[pick].copy(),
            np.full(n_draws, float(self.lateral_max_loads)),
            shares[pick].copy(),
            counts[pick].copy(),
        )

    def as_provenance(self) -> dict[str, Any]:
        """JSON-ready summary for a parameter file's provenance."""
        return {
            "method": "randomised greedy lateral allocation (Postigo et al. 2020) towards a "
            "training feeder's real per-phase shares of P, eps calibrated per training feeder "
            "to its real max/mean phase total",
            "eps_per_feeder": {k: round(v, 3) for k, v in self.eps.items()},
            "real_max_over_mean": {k: round(v, 4) for k, v in self.real_ratio.items()},
            "simulated_median_max_over_mean": {
                k: round(v, 4) for k, v in self.simulated_ratio.items()
            },
            "lateral_max_loads": self.lateral_max_loads,
            "load_buses_per_feeder": dict(self.n_loads),
            "min_template_load_buses": MIN_TEMPLATE_LOADS,
            "template_feeders": self.templates,
            "target_shares_per_feeder": {
                k: [round(x, 4) for x in v] for k, v in self.shares.items()
            },
            "phase_counts_share_per_feeder": {
                k: [round(x, 4) for x in v] for k, v in self.counts.items()
            },
            "real_lateral_size_median": {
                k: float(np.median(v)) if v else None for k, v in self.lateral_sizes.items()
            },
        }


def _feeder_arrays(feeder: Any, loads: Any, lines: Any) -> tuple[np.ndarray, ...]:
    pos = feeder.index_of(loads["bus_id"].astype(str).tolist())
    b = feeder.n_buses
    load_phases = np.zeros(b, dtype=np.int64)
    np.bitwise_or.at(load_phases, pos, loads["phases"].to_numpy(dtype=np.int64))
    p = np.zeros((b, 3))
    np.add.at(p, pos, loads[["p_a_kw", "p_b_kw", "p_c_kw"]].to_numpy(dtype=float))
    wired = np.zeros(b, dtype=np.int64)
    if len(lines):
        known = lines["bus_id"].astype(str).isin(set(feeder.bus_id.tolist())).to_numpy()
        line_pos = feeder.index_of(lines["bus_id"].astype(str)[known].tolist())
        np.bitwise_or.at(wired, line_pos, lines["phases"].to_numpy(dtype=np.int64)[known])
    wired[feeder.source] = PHASE_ABC
    bus_phases = enforce_phase_consistency(feeder, (wired | load_phases).astype(np.uint8))
    return load_phases, p, bus_phases


def _calibrate(
    feeder: Any,
    load_phases: np.ndarray,
    p: np.ndarray,
    max_loads: float,
    n: int,
    seed: int,
) -> tuple[float, float, float]:
    """(eps, real ratio, simulated median ratio) of one feeder, towards its real shares."""
    loads = np.flatnonzero(load_phases)
    real = float(balance_ratio(p))
    target = _shares(p)
    k = n_phases(load_phases[loads].astype(np.uint8))
    single_1d = k == 1
    if not single_1d.any() or not np.isfinite(real):
        return 1.0, real, real
    total = p[loads].sum(axis=1)
    real_phase = np.zeros(loads.size, dtype=np.int64)
    real_phase[single_1d] = np.searchsorted([1, 2, 4], load_phases[loads][single_1d])
    counts = np.bincount(real_phase[single_1d], minlength=3).astype(float)
    base = p[loads][~single_1d].sum(axis=0)
    single = np.broadcast_to(single_1d, (n, loads.size))
    phase = np.broadcast_to(real_phase, (n, loads.size))
    demand = np.broadcast_to(total, (n, loads.size))
    medians, share_errors = [], []
    for eps in EPS_GRID:
        rng = np.random.default_rng(seed)  # common random numbers across the grid
        ph = assign_laterals(
            feeder,
            loads,
            single,
            phase,
            np.broadcast_to(counts, (n, 3)),
            demand,
            np.broadcast_to(base, (n, 3)),
            np.full(n, eps),
            np.full(n, max_loads),
            rng,
            target=np.broadcast_to(target, (n, 3)),
        )
        per_phase = np.zeros((n, 3))
        rows = np.broadcast_to(np.arange(n)[:, None], ph.shape)
        np.add.at(per_phase, (rows[single], ph[single]), demand[single])
        per_phase += base
        medians.append(float(np.median(per_phase.max(axis=1) / per_phase.mean(axis=1))))
        mean_shares = per_phase.mean(axis=0) / per_phase.mean(axis=0).sum()
        share_errors.append(float(np.abs(mean_shares - target).max()))
    medians_arr = np.asarray(medians)
    # The balance statistic and the phase shares of P together: where several eps give the
    # real max/mean (IEEE 34: 1.12 both when the laterals are placed at random and when they
    # are steered to the feeder's shares), the one that also gives its shares is kept.
    best = int(np.argmin(np.abs(medians_arr - real) + np.asarray(share_errors)))
    return float(EPS_GRID[best]), real, float(medians_arr[best])


def _shares(p: np.ndarray) -> np.ndarray:
    """Share of the total P [kW] on each phase (equal thirds without load)."""
    totals = np.asarray(p, dtype=float).sum(axis=0)
    total = totals.sum()
    return totals / total if total > 0 else np.full(3, 1 / 3)


def _count_shares(load_phases: np.ndarray) -> np.ndarray:
    """Share of the single-phase load buses on each phase (equal thirds without any)."""
    masks = np.asarray(load_phases, dtype=np.int64)
    counts = np.array([(masks == b).sum() for b in (1, 2, 4)], dtype=float)
    return counts / counts.sum() if counts.sum() > 0 else np.full(3, 1 / 3)


def learn_balance(
    table: TrainingTable, *, n: int = 64, seed: int = 0, quantile: float = 0.9
) -> BalanceFit | None:
    """Calibrate the lateral allocation on every feeder of a training table.

    Parameters
    ----------
    table : TrainingTable
        Real feeders with their topology (``table.buses``).
    n : int, default 64
        Simulated allocations per feeder and grid point.
    seed : int, default 0
        Seed of the simulations.
    quantile : float, default 0.9
        Quantile of the real lateral sizes taken as the largest synthetic lateral.

    Returns
    -------
    BalanceFit or None
        None when the table carries no topology (then the sampler draws phases independently).
    """
    feeders = table_feeders(table)
    if not feeders:
        logger.info("the training table has no topology: phase balancing is not learned")
        return None
    loads = loads_per_bus(table)
    by_system = dict(tuple(loads.groupby(loads["system"].astype(str), sort=False)))
    lines = table.lines
    lines_by = dict(tuple(lines.groupby(lines["system"].astype(str), sort=False)))
    arrays, sizes = {}, {}
    for system, feeder in feeders.items():
        if system not in by_system:
            continue
        empty = lines.iloc[:0]
        load_phases, p, bus_phases = _feeder_arrays(
            feeder, by_system[system], lines_by.get(system, empty)
        )
        arrays[system] = (feeder, load_phases, p)
        sizes[system] = lateral_sizes(feeder, bus_phases, load_phases).tolist()
    pooled = np.concatenate([np.asarray(v, dtype=float) for v in sizes.values()] or [np.ones(1)])
    max_loads = float(max(1.0, np.round(np.quantile(pooled, quantile)))) if pooled.size else 1.0
    eps, real, sim, shares, counts, n_loads = {}, {}, {}, {}, {}, {}
    for system, (feeder, load_phases, p) in arrays.items():
        n_loads[system] = int((load_phases > 0).sum())
        shares[system] = _shares(p).tolist()
        counts[system] = _count_shares(load_phases).tolist()
        eps[system], real[system], sim[system] = _calibrate(
            feeder, load_phases, p, max_loads, n, seed
        )
        logger.info(
            "%s: real max/mean %.4f, eps %.2f (simulated median %.4f)",
            system,
            real[system],
            eps[system],
            sim[system],
        )
    return BalanceFit(eps, real, sim, max_loads, sizes, shares, counts, n_loads)
