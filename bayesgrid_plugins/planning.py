"""Planning: conductors, transformers and feeders sized to each realisation's demand.

Real distribution grids are planned: every conductor and transformer is sized for the load it
serves, long or heavy feeders are split, and voltages are kept within limits (the reference
network models behind SMART-DS do this: Mateo et al., "Building large-scale US synthetic
electric distribution system models", IEEE Trans. Smart Grid 11(6), 2020). This module does the
same for every realisation of an ensemble, vectorised over realisations. It is engine-neutral
(NumPy only); the voltage step solves through the engine protocol
(:mod:`bayesgrid_plugins.engines`).

Rules (every number a named constant of :class:`PlanningRules`)
----------------------------------------------------------------
- **Design current.** The downstream peak current of the line into bus ``i`` in realisation
  ``k`` is the largest over phases of ``|S_phase| / (vn_kv / sqrt 3)``, where ``S_phase`` sums
  the complex per-phase load of every bus below ``i`` (one reverse cumulative sum over the tree,
  all realisations at once; losses are left to the margin). A conductor is *adequate* when its
  ampacity is at least the design current times :data:`DESIGN_MARGIN` (1.25, the planning margin
  the area model uses for transformers).
- **Conductor choice.** The impedance model's conductor types stay the menu and its learned
  probabilities by zone and phase count stay the choice: per realisation the type probabilities
  are drawn from the model's Dirichlet posterior as without planning, the inadequate types get
  probability zero and the rest are renormalised, and the line's type is drawn from them. So
  variety stays and no draw is inadequate. When no type the model allows for the line's phase
  count and zone is adequate, the line gets the smallest adequate type of the whole menu (a
  conductor of another phase count's line code, used per phase); when no type at all is
  adequate, the type of the highest ampacity in as many parallel circuits as needed
  (impedances divided, capacitance and ampacity multiplied by the number of circuits).
- **Transformers.** A branch whose two buses have different nominal voltages is a transformer;
  its rating is the smallest standard rating (:data:`TRAFO_RATINGS_MVA`, the IEC 60076 R10
  series 0.25-40 MVA) that carries the downstream apparent power times the margin.
- **Feeders.** Before sampling, a feeder (a branch leaving the source) whose planning demand
  exceeds :data:`MAX_FEEDER_KW` (4 MW) or whose line length exceeds :data:`MAX_FEEDER_KM` (8 km)
  is split as the area model splits its feeders (:mod:`bayesgrid_plugins.area.partition`):
  walking from the leaves up, a bus whose subtree would push the feeder past a limit cuts off
  its heaviest child subtrees, and each cut subtree becomes a feeder of its own, fed from the
  source by an express cable along the existing route (length = the street distance of its head
  from the source).
- **Voltage.** After the conductors are chosen, each realisation is solved with an engine; where
  a medium-voltage bus (``vn_kv > 1``) leaves :data:`MV_LIMITS_PU` (0.95-1.05 p.u., ANSI C84.1
  Range A) or a low-voltage bus leaves :data:`LV_LIMITS_PU` (0.90-1.10 p.u., EN 50160) and the
  tap cannot help, every line on a path from the source to a bus outside its band (and to the
  worst bus) is upgraded to the next conductor type of lower impedance (or one more parallel
  circuit at the top of the menu), at most :data:`MAX_VOLTAGE_ITERATIONS` times. A realisation
  that does not converge counts as a violation: first the top tap, then upgrades of the lines
  on the paths of the largest estimated drop (:func:`estimated_drop_pu`) until no estimated drop
  exceeds the band (:data:`MAX_UNCONVERGED_ROUNDS`), and a new solve.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from .ensemble import Ensemble
from .equipment import LV_MAX_KV
from .errors import ParameterError
from .feeder import Feeder
from .phases import n_phases

__all__ = [
    "DESIGN_MARGIN",
    "LV_LIMITS_PU",
    "MAX_FEEDER_KM",
    "MAX_FEEDER_KW",
    "MAX_UNCONVERGED_ROUNDS",
    "MAX_VOLTAGE_ITERATIONS",
    "MV_LIMITS_PU",
    "PILOT_QUANTILE",
    "PILOT_REALISATIONS",
    "TAP_POSITIONS",
    "TAP_STEP_PU",
    "TRAFO_RATINGS_MVA",
    "PlanningRules",
    "choose_conductors",
    "conductor_arrays",
    "downstream_current_ka",
    "downstream_power_kva",
    "estimated_drop_pu",
    "impedance_parameters",
    "is_transformer",
    "plan_ensemble",
    "plan_transformers",
    "plan_voltages",
    "planning_demand_kw",
    "split_feeders",
    "split_for_planning",
    "subtree_sum",
    "voltage_violations",
]

logger = logging.getLogger(__name__)

#: Ampacity must cover the downstream peak current times this margin.
DESIGN_MARGIN = 1.25
#: Voltage limits [p.u.] of medium-voltage buses (ANSI C84.1 Range A).
MV_LIMITS_PU = (0.95, 1.05)
#: Voltage limits [p.u.] of low-voltage buses (EN 50160: +-10 % of nominal).
LV_LIMITS_PU = (0.90, 1.10)
#: Planning demand [kW] one feeder may carry (the area model's rule).
MAX_FEEDER_KW = 4000.0
#: Line length [km] one feeder may cover (the area model's rule).
MAX_FEEDER_KM = 8.0
#: Rounds of conductor upgrades of the voltage step.
MAX_VOLTAGE_ITERATIONS = 12
#: Upgrades of a realisation that does not converge, and extra voltage rounds it may take.
MAX_UNCONVERGED_ROUNDS = 6
#: Step of the substation tap [p.u.] and its positions either side of neutral: +-10 % in 16
#: steps of 1.25 %, a common on-load tap changer range (an assumption, stated as such).
TAP_STEP_PU = 0.0125
TAP_POSITIONS = 8
#: Standard transformer ratings [MVA] (IEC 60076 R10 series, as the adapters' defaults).
TRAFO_RATINGS_MVA = (0.25, 0.4, 0.63, 0.8, 1.0, 1.6, 2.5, 4.0, 6.3, 10.0, 16.0, 25.0, 40.0)
_SQRT3 = float(np.sqrt(3.0))


@dataclass(frozen=True)
class PlanningRules:
    """The numbers planning uses (see the module documentation for their sources).

    Attributes
    ----------
    margin : float
        Ampacity and transformer rating cover this multiple of the downstream peak.
    mv_limits_pu, lv_limits_pu : (float, float)
        Voltage limits [p.u.] of medium-voltage (``vn_kv > 1``) and low-voltage buses.
    max_feeder_kw : float
        Planning demand [kW] of one feeder.
    max_feeder_km : float
        Line length [km] of one feeder.
    max_voltage_iterations : int
        Rounds of conductor upgrades along the paths outside the limits.
    trafo_ratings_mva : tuple of float
        Standard transformer ratings [MVA], ascending.
    """

    margin: float = DESIGN_MARGIN
    mv_limits_pu: tuple[float, float] = MV_LIMITS_PU
    lv_limits_pu: tuple[float, float] = LV_LIMITS_PU
    max_feeder_kw: float = MAX_FEEDER_KW
    max_feeder_km: float = MAX_FEEDER_KM
    max_voltage_iterations: int = MAX_VOLTAGE_ITERATIONS
    trafo_ratings_mva: tuple[float, ...] = TRAFO_RATINGS_MVA

    def __post_init__(self) -> None:
        if not (np.isfinite(self.margin) and self.margin >= 1.0):
            raise ParameterError(f"margin must be a number >= 1, got {self.margin!r}.")
        for name in ("mv_limits_pu", "lv_limits_pu"):
            lo, hi = getattr(self, name)
            if not 0 < lo < 1 < hi:
                raise ParameterError(f"{name} must be (low, high) with 0 < low < 1 < high.")
        if self.max_feeder_kw <= 0 or self.max_feeder_km <= 0:
            raise ParameterError("max_feeder_kw and max_feeder_km must be positive.")
        if int(self.max_voltage_iterations) < 0:
            raise ParameterError("max_voltage_iterations must be a non-negative integer.")
        ratings = np.asarray(self.trafo_ratings_mva, dtype=float)
        if ratings.size == 0 or (np.diff(ratings) <= 0).any() or (ratings <= 0).any():
            raise ParameterError("trafo_ratings_mva must be positive and ascending.")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready copy, recorded in the ensemble's metadata."""
        return {
            "margin": self.margin,
            "mv_limits_pu": list(self.mv_limits_pu),
            "lv_limits_pu": list(self.lv_limits_pu),
            "max_feeder_kw": self.max_feeder_kw,
            "max_feeder_km": self.max_feeder_km,
            "max_voltage_iterations": int(self.max_voltage_iterations),
        }


# ---------------------------------------------------------------------------- demand below
def subtree_sum(
    feeder: Feeder, values: np.ndarray, *, nonzero: np.ndarray | None = None
) -> np.ndarray:
    """Sum of ``values`` over the subtree of every bus (the bus included), along axis 1.

    Parameters
    ----------
    feeder : Feeder
    values : ndarray, shape (n, n_buses, ...)
        Per-bus quantities of n realisations.
    nonzero : ndarray of int, optional
        The buses where ``values`` may be non-zero (default: found from ``values``).

    Returns
    -------
    ndarray, same shape
        ``out[:, i]`` is the sum over the buses below ``i`` and ``i`` itself. Where few buses
        carry values (or the tree is shallow) it is one sparse product with the matrix of
        ancestors; otherwise one cumulative sum in depth-first preorder. Either way all
        realisations at once.
    """
    arr = np.asarray(values)
    if arr.ndim < 2 or arr.shape[1] != feeder.n_buses:
        raise ParameterError(
            f"values has shape {arr.shape}; expected (n, {feeder.n_buses}, ...) aligned with "
            "the feeder's buses."
        )
    flat = arr.reshape(arr.shape[0], arr.shape[1], -1)
    if nonzero is None:
        cols = np.flatnonzero((flat != 0).any(axis=(0, 2)))
    else:
        cols = np.asarray(nonzero, dtype=np.int64)
    nnz = int(feeder.depth[cols].sum()) + cols.size
    if nnz <= _SPARSE_NNZ_PER_BUS * feeder.n_buses:
        ancestors = _ancestor_matrix(feeder, cols)  # (n_buses, len(cols))
        x = flat[:, cols, :].transpose(1, 0, 2).reshape(cols.size, -1)
        out = np.asarray(ancestors @ x).reshape(feeder.n_buses, flat.shape[0], flat.shape[2])
        return out.transpose(1, 0, 2).reshape(arr.shape)
    pre = arr[:, feeder.preorder]
    cum = np.zeros((arr.shape[0], arr.shape[1] + 1, *arr.shape[2:]), dtype=pre.dtype)
    np.cumsum(pre, axis=1, out=cum[:, 1:])
    return cum[:, feeder.subtree_end] - cum[:, feeder.position]


#: The sparse subtree sum is used while the ancestor matrix has at most this many entries
#: per bus (the cumulative sum touches every bus a few times).
_SPARSE_NNZ_PER_BUS = 6
#: Realisations x buses handled per block by the per-line steps (a block stays in the cache).
_BLOCK_LINES = 1 << 15


def _ancestor_matrix(feeder: Feeder, cols: np.ndarray) -> Any:
    """Sparse (n_buses, len(cols)): 1 where the row bus is ``cols[j]`` or above it."""
    from scipy.sparse import csr_array

    rows_parts, col_parts = [], []
    bus = np.asarray(cols, dtype=np.int64)
    j = np.arange(bus.size)
    while bus.size:
        rows_parts.append(bus)
        col_parts.append(j)
        up = feeder.parent[bus]
        keep = up >= 0
        bus, j = up[keep], j[keep]
    rows = np.concatenate(rows_parts) if rows_parts else np.zeros(0, np.int64)
    columns = np.concatenate(col_parts) if col_parts else np.zeros(0, np.int64)
    return csr_array(
        (np.ones(rows.size), (rows, columns)), shape=(feeder.n_buses, int(np.size(cols)))
    )


def downstream_power_kva(feeder: Feeder, ensemble: Ensemble) -> np.ndarray:
    """Complex per-phase load [kVA] below each bus, shape (n, n_buses, 3) (single precision)."""
    s = np.empty(ensemble.p_kw.shape, dtype=np.complex64)  # 7 significant digits suffice
    s.real = ensemble.p_kw
    s.imag = ensemble.q_kvar
    return subtree_sum(feeder, s, nonzero=np.flatnonzero(ensemble.has_load.any(axis=0)))


def downstream_current_ka(
    feeder: Feeder, ensemble: Ensemble, *, power_kva: np.ndarray | None = None
) -> np.ndarray:
    """Peak phase current [kA] of the line into each bus, shape (n, n_buses); 0 at the source.

    The current of a phase is its downstream apparent power over the phase-to-neutral nominal
    voltage of the line (the bus's ``vn_kv / sqrt 3``). ``power_kva``: the downstream power,
    when already computed (:func:`downstream_power_kva`).
    """
    vn = np.asarray(feeder.vn_kv, dtype=float)
    if power_kva is not None:
        current = _peak_current_ka(np.asarray(power_kva), vn[np.newaxis, :])
        current[:, feeder.source] = 0.0
        return current
    groups, power = _group_power_kva(feeder, ensemble)
    return _group_current_ka(groups, power, vn).take(groups.bus_group, axis=1)


def _peak_current_ka(power: np.ndarray, vn_kv: np.ndarray) -> np.ndarray:
    """Current [kA] of the heaviest phase of complex per-phase powers [kVA] (last axis)."""
    # |S| of the heaviest phase [kVA]: squares first, and the phase maximum as two pairwise
    # maxima (a reduction over an axis of three is slow)
    re, im = power.real, power.imag
    sq = re * re + im * im
    s = np.sqrt(np.maximum(np.maximum(sq[..., 0], sq[..., 1]), sq[..., 2]))
    return s / (vn_kv / _SQRT3) / 1000.0  # kVA/kV = A


@dataclass(frozen=True)
class _LoadGroups:
    """Buses of a feeder grouped by the set of loads below them.

    Many buses of a real feeder carry no load and have a single loaded child (a cable in
    several sections): their downstream sums are their child's. Buses that share the set of
    loaded buses below them and a nominal voltage form a group, represented by its lowest bus;
    every downstream quantity is computed once per group and expanded by ``bus_group``.

    Attributes
    ----------
    reps : ndarray of int, shape (m,)
        The representative (lowest) bus of each group.
    bus_group : ndarray of int, shape (n_buses,)
        Group of each bus; ``m`` (one past the last group) where no load is below the bus and
        at the source, whose line does not exist.
    """

    reps: np.ndarray
    bus_group: np.ndarray

    @property
    def n_groups(self) -> int:
        return int(self.reps.size)


def _load_groups(feeder: Feeder, cols: np.ndarray) -> _LoadGroups:
    """Group the buses of ``feeder`` by the loads below them (see :class:`_LoadGroups`)."""
    b = feeder.n_buses
    cols = np.asarray(cols, dtype=np.int64)
    is_col = np.zeros(b, dtype=bool)
    is_col[cols] = True
    # Loaded buses in every subtree, from one cumulative count in depth-first preorder.
    count = np.zeros(b + 1, dtype=np.int64)
    np.cumsum(is_col[feeder.preorder], out=count[1:])
    loaded = count[feeder.subtree_end] > count[feeder.position]
    # A bus without a load of its own and with one loaded child at its own voltage passes
    # its child's sums on.
    parent = feeder.parent
    child = np.flatnonzero(loaded & (parent >= 0))
    n_loaded_children = np.bincount(parent[child], minlength=b)
    only_child = np.full(b, -1, dtype=np.int64)
    only_child[parent[child]] = child
    vn = np.asarray(feeder.vn_kv, dtype=float)
    through = loaded & ~is_col & (n_loaded_children == 1)
    through[feeder.source] = False
    idx = np.flatnonzero(through)
    through[idx] = np.isclose(vn[idx], vn[only_child[idx]])
    rep = np.arange(b, dtype=np.int64)
    rep[through] = only_child[through]
    while True:  # pointer jumping down each chain: log2(depth) rounds
        nxt = rep[rep]
        if np.array_equal(nxt, rep):
            break
        rep = nxt
    own = loaded & (rep == np.arange(b))
    own[feeder.source] = False
    reps = np.flatnonzero(own)
    group_of = np.full(b, reps.size, dtype=np.int64)
    group_of[reps] = np.arange(reps.size)
    bus_group = np.where(loaded, group_of[rep], reps.size)
    bus_group[feeder.source] = reps.size
    return _LoadGroups(reps, bus_group)


def _group_power_kva(feeder: Feeder, ensemble: Ensemble) -> tuple[_LoadGroups, np.ndarray]:
    """Load groups, and the complex per-phase load [kVA] below each group's buses.

    Returns
    -------
    groups : _LoadGroups
    power : ndarray of complex64, shape (n, m, 3)
        Downstream power of each group (the same sums as :func:`subtree_sum`, in the same
        order). Loads are where ``ensemble.has_load`` (power is zero elsewhere).
    """
    cols = np.flatnonzero(ensemble.has_load.any(axis=0))
    groups = _load_groups(feeder, cols)
    n, m = len(ensemble), groups.n_groups
    nnz = int(feeder.depth[cols].sum()) + cols.size
    if nnz <= _SPARSE_NNZ_PER_BUS * feeder.n_buses:
        # Only the loaded buses enter the product: gather them, bus-major.
        x = np.empty((cols.size, n, 3), dtype=np.complex64)  # 7 significant digits suffice
        x.real = ensemble.p_kw[:, cols].transpose(1, 0, 2)
        x.imag = ensemble.q_kvar[:, cols].transpose(1, 0, 2)
        ancestors = _ancestor_matrix(feeder, cols)[groups.reps]
        power = np.asarray(ancestors @ x.reshape(cols.size, -1)).reshape(m, n, 3)
        return groups, np.ascontiguousarray(power.transpose(1, 0, 2))
    # One cumulative sum in depth-first preorder, in blocks of realisations that stay in the
    # processor's cache: the subtree of a bus is a slice of the preorder.
    power = np.empty((n, m, 3), dtype=np.complex64)
    b = feeder.n_buses
    end, start = feeder.subtree_end[groups.reps], feeder.position[groups.reps]
    rows = max(1, _BLOCK_LINES // max(b, 1))
    cum = np.zeros((min(rows, n), b + 1, 3), dtype=np.complex64)
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        c = cum[: r1 - r0]
        c.real[:, 1:] = ensemble.p_kw[r0:r1].take(feeder.preorder, axis=1)
        c.imag[:, 1:] = ensemble.q_kvar[r0:r1].take(feeder.preorder, axis=1)
        np.cumsum(c[:, 1:], axis=1, out=c[:, 1:])
        np.subtract(c.take(end, axis=1), c.take(start, axis=1), out=power[r0:r1])
    return groups, power


def _group_current_ka(groups: _LoadGroups, power: np.ndarray, vn_kv: np.ndarray) -> np.ndarray:
    """Peak phase current [kA] of each group, shape (n, m + 1): the last column (no load) 0."""
    n, m = power.shape[:2]
    out = np.zeros((n, m + 1))
    out[:, :m] = _peak_current_ka(power, vn_kv[groups.reps])
    return out


def is_transformer(feeder: Feeder) -> np.ndarray:
    """Boolean (n_buses,): the branch into the bus joins two nominal voltages."""
    vn = np.asarray(feeder.vn_kv, dtype=float)
    out = np.zeros(feeder.n_buses, dtype=bool)
    lines = feeder.lines
    out[lines] = ~np.isclose(vn[lines], vn[feeder.parent[lines]])
    return out


# ---------------------------------------------------------------------------- conductors
def choose_conductors(
    feeder: Feeder,
    ensemble: Ensemble,
    params: Any,
    *,
    rng: Any = None,
    margin: float = DESIGN_MARGIN,
    current_ka: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Conductor type and parallel circuits of every line, adequate for its design current.

    Parameters
    ----------
    feeder : Feeder
    ensemble : Ensemble
        Realisations with their loads and phases.
    params : ImpedanceParameters
        The conductor menu and its Dirichlet posterior by phase count and zone.
    rng : seed or numpy.random.Generator, optional
    margin : float
        Ampacity must cover the design current times ``margin``.
    current_ka : ndarray, shape (n, n_buses), optional
        Design currents [kA] (default :func:`downstream_current_ka`).

    Returns
    -------
    types : ndarray of int, shape (n, n_buses)
        Type index per line, -1 at the source.
    n_parallel : ndarray of int, shape (n, n_buses)
        Parallel circuits per line (1 almost everywhere; 0 at the source).

    Notes
    -----
    Sorted by ampacity, the types adequate for a line are a suffix of the menu: those from its
    *need level* ``L`` (the number of types whose ampacity is below its design current times
    the margin) on. So one cumulative sum ``C`` of each realisation's type probabilities in
    ampacity order serves every line: a uniform ``u`` is mapped into the adequate part,
    ``x = C[L] + u (C[T] - C[L])`` (``C[j]``: probability of the ``j`` smallest types), and
    the line takes the type of rank ``#{j in 1..T-1: C[j] <= x}`` (inverse CDF of the
    renormalised adequate probabilities), found by a binary search of ``log2 T`` steps for all
    lines at once. Downstream sums and need levels are computed once per group of buses that
    carry the same loads (a cable in several sections is one group); the per-line work runs
    in blocks of realisations that stay in the processor's cache. Memory O(n x buses).
    """
    rng = np.random.default_rng(rng)
    if params.n_zones != feeder.n_zones or feeder.zone.max() >= params.n_zones:
        raise ParameterError(
            f"the impedance parameters have {params.n_zones} zones but the feeder has "
            f"{feeder.n_zones}; use feeder.with_zones({params.n_zones})."
        )
    if current_ka is None:
        groups, power = _group_power_kva(feeder, ensemble)
        current = _group_current_ka(groups, power, np.asarray(feeder.vn_kv, dtype=float))
        return _draw_conductors(
            feeder, ensemble.bus_phases, params, rng, margin * current, groups.bus_group
        )
    need = margin * np.asarray(current_ka, dtype=float)
    return _draw_conductors(
        feeder, ensemble.bus_phases, params, rng, need, np.arange(feeder.n_buses)
    )


def _draw_conductors(
    feeder: Feeder,
    masks: np.ndarray,
    params: Any,
    rng: np.random.Generator,
    need_ka: np.ndarray,
    bus_group: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`choose_conductors` for design currents given per group of buses.

    ``need_ka`` (n, m) holds the design current times the margin [kA] of each group,
    ``bus_group`` (n_buses,) the group of each bus (a column of ``need_ka``).
    """
    from .models.impedance import sample_type_probs

    n, b = masks.shape
    n_types, n_zones = params.n_types, params.n_zones
    draw = rng.integers(params.n_draws, size=n)
    probs = sample_type_probs(params.alpha, draw, rng)  # (n, 3, Z, T)
    amp = np.asarray(params.max_i_ka, dtype=float)
    by_amp = np.argsort(amp, kind="stable")
    sorted_amp = amp[by_amp]
    ps = probs[..., by_amp]
    cum = np.zeros((*ps.shape[:-1], n_types + 1))
    np.cumsum(ps, axis=-1, out=cum[..., 1:])  # cum[..., L]: probability of the L smallest
    # Cell by cell (realisation, phase count, zone): the cumulative bounds C[0..T], and for
    # the search the bounds C[0..T-1] padded to a power of two with bounds never reached, so
    # a line's position in the search table is cell x width + rank.
    cdf = cum.reshape(-1)
    width = 1 << max(n_types - 1, 1).bit_length()
    bounds = np.full((n * 3 * n_zones, width), 2.0)
    bounds[:, :n_types] = cum.reshape(-1, n_types + 1)[:, :n_types]
    bounds = bounds.reshape(-1)
    # Need level of each group: how many types (by ampacity) fall short of its design current.
    # (one comparison per type: faster than a search among so few; NaN needs no type)
    need_ka = np.asarray(need_ka, dtype=float)
    enough = np.zeros(need_ka.shape, dtype=np.int8 if n_types < 127 else np.int64)
    for a in sorted_amp:
        enough += a >= need_ka
    level_g = n_types - enough
    # Cell of each line: realisation, phase count (1 to 3; a line without phases counts as
    # one and is dropped below) and zone.
    masks = np.asarray(masks, dtype=np.uint8)
    cell_of_mask = (np.maximum(n_phases(np.arange(256, dtype=np.uint8)), 1) - 1) * n_zones
    cell_of_mask = cell_of_mask.astype(np.int64)
    first_cell = np.arange(n, dtype=np.int64) * (3 * n_zones)
    # Type of each rank, then the fallback of the top level and "no line".
    type_of = np.append(by_amp, [by_amp[-1], -1])
    u = rng.random((n, b))
    types = np.empty((n, b), dtype=np.int64)
    n_parallel = np.empty((n, b), dtype=np.int64)
    # Blocks of realisations, so the arrays of one block stay in the processor's cache.
    rows = max(1, _BLOCK_LINES // max(b, 1))
    weights = None  # the type probabilities in ampacity order, when needed
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        level = level_g[r0:r1].take(bus_group, axis=1)
        cell = cell_of_mask.take(masks[r0:r1])
        cell += first_cell[r0:r1, np.newaxis]
        cell += feeder.zone
        at = cell * (n_types + 1)
        lo = cdf.take(at + level)
        at += n_types
        hi = cdf.take(at)
        x = hi - lo
        x *= u[r0:r1]
        x += lo
        # The type rank is how many of the cell's bounds 1 .. T-1 are <= x (inverse CDF of
        # the renormalised adequate probabilities; x >= lo, so never below the need level): a
        # binary search, the same log2(width) steps for every line at once.
        pos = cell * width
        probe = at  # reused as scratch
        step = width // 2
        while step:
            np.add(pos, step, out=probe)
            np.add(pos, step, out=pos, where=bounds.take(probe) <= x)
            step //= 2
        ranked = pos
        ranked &= width - 1
        has = hi > lo
        # Rounding can put x on the top bound behind a type of probability zero: take the
        # most probable adequate type instead.
        slip = np.flatnonzero(has & (x >= hi))
        if slip.size:
            top = cdf.take(cell.reshape(-1)[slip] * (n_types + 1) + n_types - 1)
            slip = slip[top >= hi.reshape(-1)[slip]]
        if slip.size:
            if weights is None:
                weights = np.diff(cum, axis=-1).reshape(-1, n_types)
            pw = np.where(
                np.arange(n_types) >= level.reshape(-1)[slip][:, None],
                weights[cell.reshape(-1)[slip]],
                0.0,
            )
            ranked.reshape(-1)[slip] = pw.argmax(axis=1)
        # No allowed type adequate: the smallest adequate type of the whole menu (the need
        # level), or the largest in parallel circuits; no line: -1 and no circuit.
        choice = np.where(has, ranked, level)
        no_line = (masks[r0:r1] & 7) == 0
        no_line[:, feeder.source] = True
        np.copyto(choice, n_types + 1, where=no_line)
        type_of.take(choice, out=types[r0:r1], mode="clip")
        n_parallel[r0:r1] = 1
        np.copyto(n_parallel[r0:r1], 0, where=no_line)
        over = np.nonzero(choice == n_types)
        if over[0].size:
            need = need_ka[over[0] + r0, bus_group[over[1]]]
            n_parallel[r0:r1][over] = np.ceil(need / sorted_amp[-1]).astype(np.int64)
    return types, n_parallel


#: Parallel circuits up to which :func:`conductor_arrays` gathers from one table per field.
_MAX_CIRCUIT_TABLE = 1024


def conductor_arrays(
    params: Any, types: np.ndarray, n_parallel: np.ndarray, *, rng: Any = None
) -> dict[str, np.ndarray]:
    """Line data (``TYPE_FIELDS``) of given types and parallel circuits, with the variation."""
    from .models.impedance import TYPE_FIELDS, BayesianImpedanceModel

    types = np.asarray(types)
    n_parallel = np.asarray(n_parallel)
    if types.size and (types.min() < -1 or types.max() >= params.n_types):
        raise ParameterError(
            f"types must be conductor type indices 0 .. {params.n_types - 1} (-1: no line)."
        )
    circuits = int(n_parallel.max(initial=0))
    if params.variation == 0 and circuits <= _MAX_CIRCUIT_TABLE and n_parallel.min(initial=0) >= 0:
        # One gather per field from a table of every type in k = 0 .. K circuits: slot
        # k (T + 1) + type holds the type's value for k circuits (k = 0: as k = 1), the slots
        # of type T and the last slot (type -1, no line) NaN.
        t1 = params.n_types + 1
        at = n_parallel * t1
        at += types
        k = np.maximum(np.arange(circuits + 1, dtype=float), 1.0)[:, np.newaxis]
        arrays = {}
        for i, name in enumerate(TYPE_FIELDS):
            table = np.full((circuits + 1, t1), np.nan)
            values = np.asarray(getattr(params, name), dtype=float)
            table[:, :-1] = values / k if i < 4 else values * k
            arrays[name] = table.reshape(-1).take(at)
        return arrays
    if params.variation > 0:
        arrays = BayesianImpedanceModel(params).line_arrays(types, rng=rng)
    else:
        arrays = BayesianImpedanceModel(params).line_arrays(types)
    several = np.flatnonzero(n_parallel > 1)
    if several.size:
        m = np.asarray(n_parallel).reshape(-1)[several].astype(float)
        for name in TYPE_FIELDS[:4]:
            arrays[name].reshape(-1)[several] /= m
        for name in TYPE_FIELDS[4:]:
            arrays[name].reshape(-1)[several] *= m
    return arrays


# ---------------------------------------------------------------------------- transformers
def plan_transformers(
    feeder: Feeder,
    ensemble: Ensemble,
    *,
    margin: float = DESIGN_MARGIN,
    ratings_mva: tuple[float, ...] = TRAFO_RATINGS_MVA,
    power_kva: np.ndarray | None = None,
) -> np.ndarray:
    """Rating [MVA] of the transformer into each bus, shape (n, n_buses), NaN for lines.

    The smallest standard rating that carries ``margin`` times three times the downstream
    apparent power of the heaviest phase (a transformer's windings are rated per phase, and its
    loading is that of its most loaded phase); the largest rating when none does.
    """
    trafo = is_transformer(feeder)
    out = np.full(ensemble.bus_phases.shape, np.nan)
    if not trafo.any():
        return out
    if power_kva is None:
        groups, power = _group_power_kva(feeder, ensemble)
        out[:, trafo] = _trafo_ratings_mva(groups, power, trafo, margin, ratings_mva)
        return out
    out[:, trafo] = _rating_for(np.asarray(power_kva)[:, trafo], margin, ratings_mva)
    return out


def _trafo_ratings_mva(
    groups: _LoadGroups,
    power: np.ndarray,
    trafo: np.ndarray,
    margin: float,
    ratings_mva: tuple[float, ...],
) -> np.ndarray:
    """Ratings [MVA] of the transformers ``trafo`` (boolean per bus) from group powers."""
    group = groups.bus_group[trafo]
    below = np.zeros((power.shape[0], group.size, 3), dtype=power.dtype)
    loaded = group < groups.n_groups
    below[:, loaded] = power[:, group[loaded]]
    return _rating_for(below, margin, ratings_mva)


def _rating_for(power: np.ndarray, margin: float, ratings_mva: tuple[float, ...]) -> np.ndarray:
    """Smallest standard rating [MVA] for complex per-phase powers [kVA] (last axis)."""
    s = 3.0 * np.abs(power).max(axis=-1)
    need = margin * s / 1000.0
    ratings = np.asarray(ratings_mva, dtype=float)
    pos = np.minimum(np.searchsorted(ratings, need, side="left"), ratings.size - 1)
    return ratings[pos]


# ---------------------------------------------------------------------------- feeders
def split_feeders(
    feeder: Feeder,
    demand_kw: np.ndarray,
    *,
    max_feeder_kw: float = MAX_FEEDER_KW,
    max_feeder_km: float = MAX_FEEDER_KM,
) -> Feeder:
    """Split heavy or long feeders into several feeders from the source (see the module doc).

    Parameters
    ----------
    feeder : Feeder
    demand_kw : ndarray, shape (n_buses,)
        Planning demand [kW] of each bus (for example a high quantile over a pilot sample).
    max_feeder_kw, max_feeder_km : float
        Limits of one feeder: planning demand [kW] and line length [km].

    Returns
    -------
    Feeder
        The same buses; the head of each cut subtree is fed from the source by an express cable
        of its street distance. ``feeder`` itself when nothing is cut. Only buses at the
        source's nominal voltage are cut.
    """
    from .cutting import children as _children
    from .cutting import cut_pass as _cut_pass

    demand = np.asarray(demand_kw, dtype=float)
    if demand.shape != (feeder.n_buses,) or not np.isfinite(demand).all():
        raise ParameterError(f"demand_kw must be {feeder.n_buses} finite values [kW], one per bus.")
    vn = np.asarray(feeder.vn_kv, dtype=float)
    blocked = ~np.isclose(vn, vn[feeder.source])
    blocked[feeder.source] = True
    parent = feeder.parent
    kids = _children(parent)
    own_km = np.asarray(feeder.length_km, dtype=float).copy()
    # Below a voltage change the subtree belongs to the transformer: count it, never cut it.
    cut = _cut_pass(
        feeder.order.tolist(),
        kids,
        np.zeros(feeder.n_buses, dtype=bool),
        np.where(np.arange(feeder.n_buses) == feeder.source, 0.0, demand),
        own_km,
        float(max_feeder_kw),
        float(max_feeder_km),
        reach=False,
    )
    cut &= ~blocked
    cut &= parent != feeder.source
    if not cut.any():
        return feeder
    new_parent = parent.copy()
    new_length = np.asarray(feeder.length_km, dtype=float).copy()
    new_parent[cut] = feeder.source
    new_length[cut] = feeder.distance_km[cut]
    logger.info(
        "split %d feeder(s) into %d: %d subtrees fed by express cables from the source",
        feeder.n_branches,
        feeder.n_branches + int(cut.sum()),
        int(cut.sum()),
    )
    return Feeder(
        feeder.bus_id,
        new_parent,
        new_length,
        x=feeder.x,
        y=feeder.y,
        crs=feeder.crs,
        vn_kv=feeder.vn_kv,
        is_load=feeder.is_load,
        demand_kw=feeder.demand_kw,
        n_zones=feeder.n_zones,
    )


def planning_demand_kw(ensemble: Ensemble, *, quantile: float = 0.95) -> np.ndarray:
    """Per-bus planning demand [kW]: a high quantile over realisations of each bus's load."""
    return np.quantile(ensemble.p_kw.sum(axis=2), quantile, axis=0)


#: Realisations of the pilot sample that gives the planning demand of the feeder split.
PILOT_REALISATIONS = 200
#: Quantile over the pilot realisations of each feeder's demand that the split plans for.
PILOT_QUANTILE = 0.95


def split_for_planning(
    feeder: Feeder,
    sample: Any,
    n: int,
    seed: int,
    *,
    rules: PlanningRules | None = None,
) -> Feeder:
    """Split ``feeder`` for the demand the run samples, before the ensemble is sampled.

    The planning demand of each bus is the :data:`PILOT_QUANTILE` over a pilot sample of
    ``min(n, PILOT_REALISATIONS)`` realisations (its own stream, spawned from ``seed`` after
    the run's three model streams), so the feeders are planned for a high demand and the
    ensemble is then sampled on the split feeder (zones follow the new feeders).

    Parameters
    ----------
    feeder : Feeder
    sample : BayesianPowerModel or callable
        The run's demand: a model with ``sample(feeder, n, rng=...)``, or a function
        ``sample(feeder, n, rng) -> Ensemble``.
    n : int
        Realisations of the run.
    seed : int
        The run's seed.
    rules : PlanningRules, optional
    """
    rules = rules or PlanningRules()
    pilot_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(4)[3])
    count = min(int(n), PILOT_REALISATIONS)
    if hasattr(sample, "sample"):
        pilot = sample.sample(feeder, count, rng=pilot_rng)
    else:
        pilot = sample(feeder, count, pilot_rng)
    demand = planning_demand_kw(pilot, quantile=PILOT_QUANTILE)
    return split_feeders(
        feeder, demand, max_feeder_kw=rules.max_feeder_kw, max_feeder_km=rules.max_feeder_km
    )


def impedance_parameters(impedance: Any = None) -> Any:
    """The conductor menu and its posterior that planning draws from.

    Parameters
    ----------
    impedance : BayesianImpedanceModel or ImpedanceParameters, optional
        A model, its parameters or anything :meth:`ImpedanceParameters.coerce` accepts;
        default the shipped posterior.

    Returns
    -------
    ImpedanceParameters
    """
    from .models.impedance import BayesianImpedanceModel, ImpedanceParameters

    if impedance is None:
        return ImpedanceParameters.default()
    if isinstance(impedance, BayesianImpedanceModel):
        return impedance.parameters
    return ImpedanceParameters.coerce(impedance)


# ---------------------------------------------------------------------------- whole ensemble
def plan_ensemble(
    feeder: Feeder,
    ensemble: Ensemble,
    impedance: Any = None,
    *,
    rng: Any = None,
    rules: PlanningRules | None = None,
) -> Ensemble:
    """Conductors and transformers of every realisation, sized to its own demand.

    Parameters
    ----------
    feeder : Feeder
    ensemble : Ensemble
        Sampled loads and phases (line data, if any, are replaced).
    impedance : BayesianImpedanceModel or ImpedanceParameters, optional
        The conductor menu and its posterior (default: the shipped one).
    rng : seed or numpy.random.Generator, optional
    rules : PlanningRules, optional

    Returns
    -------
    Ensemble
        With the line data of the chosen conductors (``r1_ohm_per_km`` ... ``max_i_ka``) and the
        planning record ``line_type``, ``n_parallel`` and ``trafo_sn_mva``;
        ``metadata["planning"]`` holds the rules.

    Examples
    --------
    >>> from bayesgrid_plugins import BayesianPowerModel, Feeder
    >>> from bayesgrid_plugins.planning import downstream_current_ka, plan_ensemble
    >>> feeder = Feeder.from_edges([("s", "a", 0.1), ("a", "b", 0.05)], "s", vn_kv=0.4)
    >>> planned = plan_ensemble(feeder, BayesianPowerModel().sample(feeder, 5, rng=1), rng=2)
    >>> need = 1.25 * downstream_current_ka(feeder, planned)  # design current [kA]
    >>> bool((planned.max_i_ka[:, 1:] >= need[:, 1:]).all())
    True
    """
    rules = rules or PlanningRules()
    params = impedance_parameters(impedance)
    if ensemble.n_buses != feeder.n_buses or not np.array_equal(ensemble.bus_id, feeder.bus_id):
        raise ParameterError(
            "ensemble.bus_id does not match feeder.bus_id; plan an ensemble on the feeder it "
            "was sampled on."
        )
    rng = np.random.default_rng(rng)
    type_rng, variation_rng = rng.spawn(2)
    start = time.perf_counter()
    if params.n_zones != feeder.n_zones:
        feeder = feeder.with_zones(params.n_zones)
    if params.n_zones != feeder.n_zones or feeder.zone.max() >= params.n_zones:
        raise ParameterError(
            f"the impedance parameters have {params.n_zones} zones but the feeder has "
            f"{feeder.n_zones}; use feeder.with_zones({params.n_zones})."
        )
    # Downstream sums once per group of buses with the same loads below (see _LoadGroups).
    groups, power = _group_power_kva(feeder, ensemble)
    vn = np.asarray(feeder.vn_kv, dtype=float)
    need = rules.margin * _group_current_ka(groups, power, vn)
    types, n_parallel = _draw_conductors(
        feeder, ensemble.bus_phases, params, type_rng, need, groups.bus_group
    )
    arrays = conductor_arrays(params, types, n_parallel, rng=variation_rng)
    trafo = is_transformer(feeder)
    sn = np.full(types.shape, np.nan)
    if trafo.any():
        sn[:, trafo] = _trafo_ratings_mva(
            groups, power, trafo, rules.margin, rules.trafo_ratings_mva
        )
    metadata = {
        **ensemble.metadata,
        "impedance_model": params.provenance.get("id"),
        "impedance_variation": params.variation,
        "planning": rules.as_dict(),
    }
    logger.debug("planned %d realisations in %.3f s", len(ensemble), time.perf_counter() - start)
    return ensemble.with_fields(
        **arrays, line_type=types, n_parallel=n_parallel, trafo_sn_mva=sn, metadata=metadata
    )


# ---------------------------------------------------------------------------- voltages
def voltage_violations(
    feeder: Feeder, vm_pu: np.ndarray, rules: PlanningRules | None = None
) -> np.ndarray:
    """Boolean (n, n_buses): the bus has a phase outside its level's limits (NaN: no)."""
    rules = rules or PlanningRules()
    lv = np.asarray(feeder.vn_kv, dtype=float) <= LV_MAX_KV
    lo = np.where(lv, rules.lv_limits_pu[0], rules.mv_limits_pu[0])[None, :, None]
    hi = np.where(lv, rules.lv_limits_pu[1], rules.mv_limits_pu[1])[None, :, None]
    v = np.asarray(vm_pu, dtype=float)
    with np.errstate(invalid="ignore"):
        return cast(np.ndarray, ((v < lo) | (v > hi)).any(axis=2))


def _upgrade(params: Any, types: np.ndarray, need_ka: np.ndarray) -> np.ndarray:
    """Next conductor of each line: the adequate type of next lower |Z1| (-1: none left).

    Parameters
    ----------
    params : ImpedanceParameters
    types : ndarray of int, shape (m,)
        Current types.
    need_ka : ndarray, shape (m,)
        Design current times margin [kA] of each line.
    """
    z = np.hypot(params.r1_ohm_per_km, params.x1_ohm_per_km)
    amp = np.asarray(params.max_i_ka)
    ok = (z[np.newaxis, :] < z[types][:, np.newaxis]) & (amp[np.newaxis, :] >= need_ka[:, None])
    score = np.where(ok, z[np.newaxis, :], -np.inf)
    best = score.argmax(axis=1)
    return np.where(ok.any(axis=1), best, -1)


def plan_voltages(
    feeder: Feeder,
    ensemble: Ensemble,
    engine: Any,
    impedance: Any = None,
    *,
    rules: PlanningRules | None = None,
    options: Mapping[str, Any] | None = None,
) -> tuple[Ensemble, Any]:
    """Set the substation tap and upgrade conductors until every voltage is within limits.

    Each round solves the realisations still outside limits with ``engine``; for each of them
    the tap moves the source set point by whole steps of :data:`TAP_STEP_PU` (within
    +-:data:`TAP_POSITIONS` steps) by the least that brings the lowest voltage of each level up
    to its lower limit without pushing the highest above its upper limit. Where no tap position
    can (the spread of voltages is wider than the band, or the tap is at its end), every line on
    a path from the source to a bus outside its band at the tap chosen, and to the lowest-voltage
    bus, gets the adequate conductor of next lower impedance (:func:`_upgrade`) or, at the top of
    the menu, one more parallel circuit, and the tap is set to the middle of what the band
    allows. A realisation that does not converge is a violation too: once it gets the top tap of
    the source's band; if it still fails, the lines on the paths to the buses whose estimated
    drop (:func:`estimated_drop_pu`) exceeds their band are upgraded until none does (at most
    :data:`MAX_UNCONVERGED_ROUNDS` times), and each such round adds one to the round limit (up to
    :data:`MAX_UNCONVERGED_ROUNDS` more).

    Parameters
    ----------
    feeder : Feeder
    ensemble : Ensemble
        A planned ensemble (:func:`plan_ensemble`).
    engine : Engine or str
        The engine that solves (an object of the engine protocol, or its name).
    impedance : BayesianImpedanceModel or ImpedanceParameters, optional
        The conductor menu the ensemble was planned with (default: the shipped one).
    rules : PlanningRules, optional
    options : mapping, optional
        Engine options.

    Returns
    -------
    ensemble : Ensemble
        With ``source_vm_pu`` (the tap) and upgraded conductors where needed;
        ``metadata["planning"]`` records the rounds used.
    result : PowerFlowResult
        The last solve of every realisation.
    """
    rules = rules or PlanningRules()
    if isinstance(engine, str):
        from .plugins import get_engine

        engine = get_engine(engine)
    params = impedance_parameters(impedance)
    if ensemble.line_type is None or ensemble.n_parallel is None:
        raise ParameterError(
            "the ensemble carries no planning record (line_type); plan it with plan_ensemble first."
        )
    n = len(ensemble)
    need = rules.margin * downstream_current_ka(feeder, ensemble)
    types = ensemble.line_type.copy()
    n_parallel = ensemble.n_parallel.copy()
    base = 1.0 if ensemble.source_vm_pu is None else ensemble.source_vm_pu
    tap = np.zeros(n, dtype=np.int64)
    source = np.broadcast_to(np.asarray(base, dtype=float), (n,)).copy()
    trafo = is_transformer(feeder)
    lv = np.asarray(feeder.vn_kv, dtype=float) <= LV_MAX_KV
    with engine.open(feeder, ensemble, options=options) as case:
        result = case.solve_batch()
    rounds = upgraded = 0
    # A realisation whose solve fails has no voltages to set the tap from: once, its tap goes to
    # the top of the source's band (constant-power loads then draw the least current).
    top = rules.lv_limits_pu[1] if lv[feeder.source] else rules.mv_limits_pu[1]
    top_tap = np.clip(np.floor((top - source) / TAP_STEP_PU + 1e-9), -TAP_POSITIONS, TAP_POSITIONS)
    retried = np.zeros(n, dtype=bool)
    unsolved = 0
    limit, it = int(rules.max_voltage_iterations), -1
    while it + 1 < limit:
        it += 1
        # A realisation that does not converge counts as a violation: first the top tap, then
        # upgrades along the paths of the largest estimated drop (:func:`_unsolved_lines`).
        diverged = ~np.asarray(result.converged, dtype=bool)
        failed = diverged & ~retried
        bad = voltage_violations(feeder, result.vm_pu, rules).any(axis=1) | diverged
        if not bad.any():
            break
        rounds = it + 1
        rows = np.flatnonzero(bad)
        lower, upper = _tap_window(result.vm_pu[rows], lv, rules)
        fits = lower <= upper + 1e-12
        delta = np.where(lower > 0, lower, np.where(upper < 0, upper, 0.0))
        steps = np.where(
            delta > 0, np.ceil(delta / TAP_STEP_PU - 1e-9), np.floor(delta / TAP_STEP_PU + 1e-9)
        )
        # Whole steps must land inside the window; else the tap cannot do it alone: take the
        # step nearest the window's middle and upgrade conductors to narrow the spread.
        shift = steps * TAP_STEP_PU
        fits &= (shift >= lower - 1e-12) & (shift <= upper + 1e-12)
        with np.errstate(invalid="ignore"):  # -inf + inf where a solve failed
            steps = np.where(fits, steps, np.round((lower + upper) / 2 / TAP_STEP_PU))
        steps = np.nan_to_num(steps, nan=0.0, posinf=0.0, neginf=0.0).astype(np.int64)
        lost = failed[rows]
        steps = np.where(lost, top_tap[rows].astype(np.int64) - tap[rows], steps)
        fits |= lost
        fits &= ~(diverged[rows] & ~lost)  # no voltages to fit: upgrade
        retried[rows[lost]] = True
        new_tap = np.clip(tap[rows] + steps, -TAP_POSITIONS, TAP_POSITIONS)
        fixable = fits & (new_tap == tap[rows] + steps)
        # The tap acts on the set point; the start is the set point the ensemble had.
        moved = dict(zip(rows.tolist(), (TAP_STEP_PU * (new_tap - tap[rows])).tolist()))
        tap[rows] = new_tap
        for r in rows[~fixable].tolist():
            if diverged[r]:  # no voltages: the lines of the largest estimated drop
                _upgrade_unsolved(feeder, params, types[r], n_parallel[r], need[r], trafo, rules)
                unsolved += 1
                continue
            path = _violated_lines(feeder, result.vm_pu[r] + moved[r], rules)
            path = path[~trafo[path] & (types[r, path] >= 0)]
            nxt = _upgrade(params, types[r, path], need[r, path])
            types[r, path] = np.where(nxt >= 0, nxt, types[r, path])
            n_parallel[r, path] += nxt < 0
            upgraded += 1
        if (diverged[rows] & ~fixable).any():
            # rounds of a realisation without a solution do not count against the limit
            limit = min(limit + 1, int(rules.max_voltage_iterations) + MAX_UNCONVERGED_ROUNDS)
        logger.info(
            "voltage step %d: %d realisations outside limits; tap moved, conductors upgraded "
            "on the paths outside the band of %d",
            it + 1,
            rows.size,
            int((~fixable).sum()),
        )
        changes: dict[str, Any] = {"source_vm_pu": source + TAP_STEP_PU * tap}
        if (~fixable).any():
            arrays = conductor_arrays(
                params, types, n_parallel, rng=0 if params.variation else None
            )
            if params.variation:
                arrays = _keep_unchanged(ensemble, arrays, types, n_parallel)
            changes.update(arrays, line_type=types.copy(), n_parallel=n_parallel.copy())
        ensemble = ensemble.with_fields(**changes)
        with engine.open(feeder, ensemble, options=options) as case:
            again = case.solve_batch(rows)
        result = _replace_rows(result, again, rows)
    meta = dict(ensemble.metadata)
    meta["planning"] = {
        **meta.get("planning", {}),
        "voltage_rounds": rounds,
        "tap_step_pu": TAP_STEP_PU,
        "tap_positions": TAP_POSITIONS,
        "path_upgrades": upgraded,
        "unconverged_upgrades": unsolved,
    }
    tapped = source + TAP_STEP_PU * tap  # recorded even at neutral: exports carry the tap
    return ensemble.with_fields(source_vm_pu=tapped, metadata=meta), result


def _tap_window(vm: np.ndarray, lv: np.ndarray, rules: PlanningRules) -> tuple[Any, Any]:
    """Range of set-point shifts [p.u.] that keep each level within limits, per realisation."""
    lower = np.full(vm.shape[0], -np.inf)
    upper = np.full(vm.shape[0], np.inf)
    for mask, (lo, hi) in ((~lv, rules.mv_limits_pu), (lv, rules.lv_limits_pu)):
        if not mask.any():
            continue
        v = vm[:, mask, :].reshape(vm.shape[0], -1)
        finite = np.isfinite(v)
        vmin = np.where(finite, v, np.inf).min(axis=1)
        vmax = np.where(finite, v, -np.inf).max(axis=1)
        lower = np.maximum(lower, np.where(np.isfinite(vmin), lo - vmin, -np.inf))
        upper = np.minimum(upper, np.where(np.isfinite(vmax), hi - vmax, np.inf))
    return lower, upper


def estimated_drop_pu(
    feeder: Feeder, params: Any, types: np.ndarray, n_parallel: np.ndarray, current_ka: np.ndarray
) -> np.ndarray:
    """Linear estimate of the voltage drop [p.u.] from the source to every bus of one realisation.

    The sum over the path from the source of ``|Z1| x length / circuits x current`` of each line,
    over the phase-to-neutral nominal voltage of its bus: the drop at nominal voltage with every
    load at its design current (an upper bound of the drop where the power factor is close to 1,
    used where a solve gives no voltages).

    Parameters
    ----------
    feeder : Feeder
    params : ImpedanceParameters
    types, n_parallel : ndarray of int, shape (n_buses,)
        Conductor type (-1: no line) and parallel circuits of the line into each bus.
    current_ka : ndarray, shape (n_buses,)
        Design current [kA] of the line into each bus.

    Returns
    -------
    ndarray, shape (n_buses,)
        0 at the source; transformers add no drop.
    """
    z = np.hypot(params.r1_ohm_per_km, params.x1_ohm_per_km)
    types = np.asarray(types)
    ok = (types >= 0) & ~is_transformer(feeder)
    ohm = np.where(ok, z[np.where(ok, types, 0)], 0.0) * np.asarray(feeder.length_km, dtype=float)
    ohm = ohm / np.maximum(np.asarray(n_parallel, dtype=float), 1.0)
    vn = np.asarray(feeder.vn_kv, dtype=float) / _SQRT3
    own = ohm * np.asarray(current_ka, dtype=float) / vn  # kA x ohm = kV
    own[feeder.source] = 0.0
    drop = np.zeros(feeder.n_buses)
    depth = np.asarray(feeder.depth)
    by_depth = np.argsort(depth, kind="stable")
    bounds = np.searchsorted(depth[by_depth], np.arange(int(depth.max(initial=0)) + 2))
    for d in range(1, bounds.size - 1):  # parents before children, one level at a time
        level = by_depth[bounds[d] : bounds[d + 1]]
        drop[level] = drop[feeder.parent[level]] + own[level]
    return drop


def _violated_lines(feeder: Feeder, vm: np.ndarray, rules: PlanningRules) -> np.ndarray:
    """Buses whose line is upgraded in a solved realisation the tap cannot bring into its band.

    Every line on a path from the source to a bus outside its level's band at the tap chosen
    (``vm``: the solved voltages shifted by the tap's move), and always the path to the
    lowest-voltage bus.
    """
    low = np.where(np.isfinite(vm), vm, np.inf).min(axis=1)
    marks = voltage_violations(feeder, vm[np.newaxis], rules)[0]
    marks[int(np.argmin(low))] = True
    marks[feeder.source] = False
    on_path = subtree_sum(feeder, marks[np.newaxis, :].astype(float))[0] > 0
    on_path[feeder.source] = False
    return np.flatnonzero(on_path)


def _upgrade_unsolved(
    feeder: Feeder,
    params: Any,
    types: np.ndarray,
    n_parallel: np.ndarray,
    need_ka: np.ndarray,
    trafo: np.ndarray,
    rules: PlanningRules,
) -> None:
    """Upgrade, in place, one realisation that did not converge (see :func:`plan_voltages`).

    Up to :data:`MAX_UNCONVERGED_ROUNDS` times, every line of :func:`_unsolved_lines` gets the
    adequate conductor of next lower impedance (or one more parallel circuit at the top of the
    menu); it stops once no bus's estimated drop exceeds its band.
    """
    for _ in range(MAX_UNCONVERGED_ROUNDS):
        lines, over = _unsolved_lines(feeder, params, types, n_parallel, need_ka, rules)
        lines = lines[~trafo[lines] & (types[lines] >= 0)]
        nxt = _upgrade(params, types[lines], need_ka[lines])
        types[lines] = np.where(nxt >= 0, nxt, types[lines])
        n_parallel[lines] += nxt < 0
        if not over:
            break


def _unsolved_lines(
    feeder: Feeder,
    params: Any,
    types: np.ndarray,
    n_parallel: np.ndarray,
    need_ka: np.ndarray,
    rules: PlanningRules,
) -> tuple[np.ndarray, bool]:
    """Buses whose line is upgraded in a realisation that did not converge.

    Every line on a path from the source to a bus whose estimated drop
    (:func:`estimated_drop_pu`, at the design current) exceeds the band its level allows from
    the top of the tap (upper minus lower limit); where no bus does, the path to the bus of the
    largest estimated drop. Also returns whether some bus exceeds its band.
    """
    drop = estimated_drop_pu(feeder, params, types, n_parallel, need_ka / rules.margin)
    lv = np.asarray(feeder.vn_kv, dtype=float) <= LV_MAX_KV
    band = np.where(
        lv,
        rules.lv_limits_pu[1] - rules.lv_limits_pu[0],
        rules.mv_limits_pu[1] - rules.mv_limits_pu[0],
    )
    over = drop > band
    over[feeder.source] = False
    if not over.any():
        return _path(feeder, int(np.argmax(drop))), False
    on_path = subtree_sum(feeder, over[np.newaxis, :].astype(float))[0] > 0
    on_path[feeder.source] = False
    return np.flatnonzero(on_path), True


def _path(feeder: Feeder, bus: int) -> np.ndarray:
    """Buses from ``bus`` up to (not including) the source."""
    out = []
    while bus != feeder.source:
        out.append(bus)
        bus = int(feeder.parent[bus])
    return np.asarray(out, dtype=np.int64)


def _keep_unchanged(
    ensemble: Ensemble, arrays: dict[str, np.ndarray], types: np.ndarray, n_parallel: np.ndarray
) -> dict[str, np.ndarray]:
    same = (ensemble.line_type == types) & (ensemble.n_parallel == n_parallel)
    for name, values in arrays.items():
        old = getattr(ensemble, name)
        if old is not None:
            arrays[name] = np.where(same, old, values)
    return arrays


def _replace_rows(result: Any, again: Any, rows: np.ndarray) -> Any:
    """``result`` with the realisations ``rows`` (positions) taken from ``again``."""
    from dataclasses import fields, replace

    changes = {}
    for f in fields(result):
        old = getattr(result, f.name)
        if f.name in ("bus_id", "realisations") or not isinstance(old, np.ndarray):
            continue
        new = np.array(old, copy=True)
        new[rows] = getattr(again, f.name)
        changes[f.name] = new
    return replace(result, **changes)
