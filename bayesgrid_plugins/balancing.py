"""Phase balancing as utilities do it: single-phase laterals assigned to phases jointly.

Utilities connect each single-phase lateral (a branch tapped off the three-phase main) to one
phase, choosing the phases so that the feeder's phase totals come out close; Postigo et al.,
"Phase-selection algorithms to minimize cost and imbalance in US synthetic distribution
systems" (Int. J. Electr. Power Energy Syst. 120, 2020) build the phases of the SMART-DS
feeders this way. Real feeders are not perfectly balanced, though: their largest phase total
over the mean of the three (the *balance statistic*, max/mean) is 1.00-1.09 on the SMART-DS
and EPRI feeders and up to 2.2 on small ones.

The allocation here, for every realisation at once:

1. **Laterals.** The *trunk* is every bus whose subtree holds a multi-phase load or more than
   ``lateral_max_loads`` single-phase load buses (the source is always on it). A lateral is a
   maximal subtree of non-trunk buses; a single-phase load on a trunk bus is a lateral of its
   own. Every single-phase load of a lateral takes the lateral's phase, so a realisation is
   phase-consistent by construction.
2. **Quotas.** The number of single-phase loads per phase is the realisation's phase
   probabilities ``(pA, pB, pC)`` (its posterior draw) times the number of single-phase loads,
   rounded (largest remainders), so the phase shares keep their learned distribution across
   draws; laterals are then assigned within these quotas. The per-load multinomial noise of the
   paper's independent draws is left out on purpose: on a real feeder the counts per phase are
   an outcome of the balancing, not an independent source of imbalance.
3. **Randomised greedy.** Laterals are taken heaviest first. Each goes, with probability
   ``1 - eps``, to the least-loaded phase that still has room for its loads (Postigo et al.'s
   greedy heuristic), and with probability ``eps`` to a phase drawn in proportion to the room
   left. The phase totals start from the multi-phase loads' per-phase power. ``eps = 1`` gives
   back the paper's independent allocation (given the counts); ``eps = 0`` the most balanced
   one the quotas allow.
4. **Target shares** (optional). Real feeders are not balanced to equal thirds: each has its
   own share of the total P per phase (IEEE 123: 0.40 / 0.27 / 0.33). With a target
   ``(tA, tB, tC)`` per realisation, the greedy step sends a lateral to the phase whose total
   after it is smallest relative to its target, ``(T_j + d) / t_j``, so the phase totals
   approach the target shares (as far as the quotas allow) and the balance statistic
   approaches ``3 max t_j``.

``eps`` and the target shares are learned (:mod:`bayesgrid_plugins.learn.balance`): the target
shares are each training feeder's real per-phase shares of its total P; with them, the
allocation is simulated on a grid of ``eps`` with the feeder's real loads, topology and phase
counts, and the value whose median max/mean equals the feeder's real one is kept.
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError
from .feeder import Feeder

__all__ = ["assign_laterals", "balance_ratio", "lateral_roots", "lateral_sizes", "quotas"]


def balance_ratio(p_kw: np.ndarray) -> np.ndarray | float:
    """Largest phase total over the mean phase total, per realisation.

    Parameters
    ----------
    p_kw : ndarray, shape (n, n_buses, 3) or (n_buses, 3)
        Per-phase active power [kW].

    Returns
    -------
    ndarray, shape (n,) (or a float for one realisation)
        ``max_j T_j / mean_j T_j`` with ``T_j`` the feeder's total on phase j (1 = balanced,
        3 = everything on one phase; NaN without load).
    """
    arr = np.asarray(p_kw, dtype=float)
    totals = arr.sum(axis=-2)
    mean = totals.mean(axis=-1)
    out = np.full(mean.shape, np.nan)
    np.divide(totals.max(axis=-1), mean, out=out, where=mean > 0)
    return out if out.ndim else float(out)


def quotas(
    n_single: np.ndarray, probs: np.ndarray, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Single-phase loads per phase: ``n_single * probs`` rounded by largest remainders.

    Parameters
    ----------
    n_single : ndarray of int, shape (n,)
        Single-phase loads per realisation.
    probs : ndarray, shape (n, 3)
        Phase probabilities per realisation (rows sum to 1).
    rng : numpy.random.Generator, optional
        Breaks ties between equal remainders at random. Without it, ties go to A, then B: with
        equal probabilities, one single-phase load would always land on A (a bias that matters
        on feeders with a handful of single-phase loads).

    Returns
    -------
    ndarray of float, shape (n, 3)
        Whole numbers summing to ``n_single`` in every row.
    """
    exact = np.asarray(n_single, dtype=float)[:, np.newaxis] * np.asarray(probs, dtype=float)
    out = np.floor(exact)
    missing = (np.asarray(n_single) - out.sum(axis=1)).astype(np.int64)
    # Remainders equal to 1e-6 are ties: stored probabilities are rounded (1/3 is kept as
    # 0.3333334, 0.3333333, 0.3333333), and exact equality gave every odd load to phase A.
    remainder = np.round(exact - out, 6)
    if rng is not None:
        # Only rows with equal remainders and a load to place draw random numbers (so that
        # draws without ties keep their random stream); 1e-9 moves ties and nothing else.
        ties = (np.diff(np.sort(remainder, axis=1), axis=1) == 0).any(axis=1) & (missing > 0)
        if ties.any():
            remainder[ties] += 1e-9 * rng.random((int(ties.sum()), remainder.shape[1]))
    rank = np.argsort(np.argsort(-remainder, axis=1, kind="stable"), axis=1)
    return out + (rank < missing[:, np.newaxis])


def _levels(feeder: Feeder) -> list[np.ndarray]:
    """Buses of each depth below the source, shallowest first."""
    order = feeder.order[1:]
    depth = feeder.depth[order]
    cuts = np.flatnonzero(np.diff(depth)) + 1
    return np.split(order, cuts)


def lateral_roots(
    feeder: Feeder, single: np.ndarray, multi: np.ndarray, max_loads: np.ndarray
) -> np.ndarray:
    """The lateral of every bus, per realisation (see the module docstring, step 1).

    Parameters
    ----------
    feeder : Feeder
        The topology.
    single, multi : ndarray of bool, shape (n, n_buses)
        Buses with a single-phase load, and with a two- or three-phase load.
    max_loads : ndarray, shape (n,)
        Largest lateral [single-phase load buses] per realisation.

    Returns
    -------
    ndarray of int, shape (n, n_buses)
        Index of the bus at the head of each bus's lateral (a trunk bus is its own head).
    """
    n, b = single.shape
    pre = feeder.preorder
    counts = np.zeros((n, b + 1), dtype=np.int64)
    # single-phase loads in the low bits, multi-phase loads counted from bit 32 up
    packed = single[:, pre].astype(np.int64) + (multi[:, pre].astype(np.int64) << 32)
    np.cumsum(packed, axis=1, out=counts[:, 1:])
    below = counts[:, feeder.subtree_end] - counts[:, feeder.position]
    trunk = ((below >> 32) > 0) | ((below & 0xFFFFFFFF) > max_loads[:, np.newaxis])
    trunk[:, feeder.source] = True
    root = np.broadcast_to(np.arange(b), (n, b)).copy()
    parent = feeder.parent
    for nodes in _levels(feeder):
        up = parent[nodes]
        root[:, nodes] = np.where(trunk[:, up] | trunk[:, nodes], nodes, root[:, up])
    return root


def assign_laterals(
    feeder: Feeder,
    load_buses: np.ndarray,
    single: np.ndarray,
    phase: np.ndarray,
    quota: np.ndarray,
    p_kw: np.ndarray,
    base_kw: np.ndarray,
    eps: np.ndarray,
    max_loads: np.ndarray,
    rng: np.random.Generator,
    *,
    target: np.ndarray | None = None,
) -> np.ndarray:
    """Phases of single-phase loads by lateral, balanced (see the module docstring).

    Parameters
    ----------
    feeder : Feeder
        The topology.
    load_buses : ndarray of int, shape (n_loads,)
        Bus of each load (distinct buses).
    single : ndarray of bool, shape (n, n_loads)
        Which loads are single-phase in each realisation (the others are multi-phase).
    phase : ndarray of int, shape (n, n_loads)
        Phases (0, 1, 2) of the loads; kept for the multi-phase ones.
    quota : ndarray, shape (n, 3)
        Single-phase loads each phase should receive (:func:`quotas`).
    p_kw : ndarray, shape (n, n_loads)
        Total active power of each load [kW] (the demand balanced).
    base_kw : ndarray, shape (n, 3)
        Per-phase power of the multi-phase loads [kW], where the phase totals start.
    eps : ndarray, shape (n,)
        Randomness in [0, 1] per realisation.
    max_loads : ndarray, shape (n,)
        Largest lateral [single-phase load buses] per realisation.
    rng : numpy.random.Generator
        Random generator.
    target : ndarray, shape (n, 3), optional
        Share of the feeder's total P each phase should carry, per realisation (rows sum to
        1). The greedy step then sends a lateral to the phase, among those with room, whose
        total after it is smallest *relative to its target*, ``(T_j + d) / t_j``. None: equal
        shares, the most balanced allocation (Postigo et al.'s greedy).

    Returns
    -------
    ndarray of int8, shape (n, n_loads)
        The phase of every load: balanced for single-phase loads, ``phase`` unchanged for the
        others.
    """
    single = np.asarray(single, dtype=bool)
    n, n_loads = single.shape
    if phase.shape != (n, n_loads) or p_kw.shape != (n, n_loads):
        raise ParameterError(
            f"phase and p_kw must have shape {(n, n_loads)}: one entry per realisation and load."
        )
    b = feeder.n_buses
    on_bus = np.zeros((n, b), dtype=bool)
    multi_bus = np.zeros((n, b), dtype=bool)
    on_bus[:, load_buses] = single
    multi_bus[:, load_buses] = ~single
    # A lateral takes one phase, so it can hold no more loads than the largest quota: on a
    # feeder of a few loads a lateral size learned on large feeders would otherwise put every
    # single-phase load on one phase (and overfill it past its quota).
    cap = np.maximum(1.0, np.asarray(quota, dtype=float).max(axis=1))
    max_loads = np.minimum(np.asarray(max_loads, dtype=float), cap)
    root = lateral_roots(feeder, on_bus, multi_bus, max_loads)
    group = root[:, load_buses]  # (n, n_loads): lateral head bus of each load
    rows = np.arange(n)
    key = (rows[:, np.newaxis] * b + group)[single]
    demand = np.bincount(key, weights=p_kw[single], minlength=n * b).reshape(n, b)
    count = np.bincount(key, minlength=n * b).reshape(n, b)
    quota = np.array(quota, dtype=float)
    loaded = np.asarray(base_kw, dtype=float).copy()
    weight = None
    if target is not None:
        target = np.asarray(target, dtype=float)
        if target.shape != (n, 3) or not np.isfinite(target).all() or (target < 0).any():
            raise ParameterError(
                f"target must be non-negative phase shares of shape {(n, 3)}, one row per "
                "realisation."
            )
        # a phase with no target share is filled last (tiny weight, not zero: no division)
        weight = np.maximum(target, 1e-9)

    n_groups = (count > 0).sum(axis=1)
    order = np.argsort(np.where(count > 0, -demand, np.inf), axis=1, kind="stable")
    group_phase = np.zeros((n, b), dtype=np.int8)
    eps = np.asarray(eps, dtype=float)
    for r in range(int(n_groups.max(initial=0))):
        active = r < n_groups
        g = order[:, r]
        d = demand[rows, g]
        m = count[rows, g][:, np.newaxis]
        fits = quota >= m
        none = ~fits.any(axis=1)
        if none.any():  # no phase has room: the one with the most room left
            fits[none] = quota[none] >= quota[none].max(axis=1, keepdims=True)
        score = loaded if weight is None else (loaded + d[:, np.newaxis]) / weight
        greedy = np.where(fits, score, np.inf).argmin(axis=1)
        room = np.where(fits, np.maximum(quota, 0.0), 0.0)
        empty = room.sum(axis=1) <= 0
        room[empty] = fits[empty]
        cum = np.cumsum(room, axis=1)
        u = rng.random(n) * cum[:, -1]
        random = np.minimum((u[:, np.newaxis] >= cum).sum(axis=1), 2)
        pick = np.where(rng.random(n) < eps, random, greedy)
        pick = np.where(active, pick, 0)
        loaded[rows, pick] += np.where(active, d, 0.0)
        quota[rows, pick] -= np.where(active, m[:, 0], 0)
        group_phase[rows, g] = np.where(active, pick, group_phase[rows, g])
    balanced = group_phase[rows[:, np.newaxis], group]
    return np.where(single, balanced, phase).astype(np.int8)


def lateral_sizes(feeder: Feeder, bus_phases: np.ndarray, load_phases: np.ndarray) -> np.ndarray:
    """Single-phase load buses per real single-phase lateral.

    A real lateral is a maximal subtree of single-phase buses (every load on it shares the
    lateral's phase, as in the sampler); the loads counted are those with one phase. A
    two-phase branch is not one lateral: on IEEE 13 the AC branch at bus 684 feeds a load on A
    and one on C, and counted as one lateral of two loads it made the sampler put both on one
    phase.

    Parameters
    ----------
    feeder : Feeder
        The topology.
    bus_phases, load_phases : ndarray of int, shape (n_buses,)
        Phase masks of the buses (consistent) and of their loads (0 where none).

    Returns
    -------
    ndarray of int
        One entry per lateral that holds a single-phase load.
    """
    from .phases import n_phases

    trunk = n_phases(np.asarray(bus_phases)) > 1
    trunk[feeder.source] = True
    root = np.arange(feeder.n_buses)
    for nodes in _levels(feeder):
        up = feeder.parent[nodes]
        root[nodes] = np.where(trunk[up] | trunk[nodes], nodes, root[up])
    single = n_phases(np.asarray(load_phases)) == 1
    if not single.any():
        return np.zeros(0, dtype=np.int64)
    _, sizes = np.unique(root[single], return_counts=True)
    return sizes
