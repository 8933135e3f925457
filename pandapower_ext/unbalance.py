"""Unbalance an existing pandapower net while keeping each bus's demand.

:func:`unbalance_net` reads every in-service ``load`` row (and, by default, every in-service
``asymmetric_load`` row) of a net, sums them into one total P and Q per bus (``scaling``
applied), samples phases and per-phase shares that keep those totals exactly
(:func:`~bayesgrid_plugins.models.conditioned.sample_conditioned`), and replaces the rows by one
wye ``asymmetric_load`` per bus, tagged with the bus id in ``bayesgrid_id`` (so
:func:`~pandapower_ext.populate.set_realisation` and
:func:`~pandapower_ext.solve.solve_ensemble` work on the result). Lines, transformers, switches,
static generators and external grids stay as they are.

Topology
--------
The model needs a radial tree; real nets are not always one. :func:`unbalance_feeder` reads the
net as a *forest*: the in-service lines not cut by an open switch, the closed bus-bus switches and
the in-service two-winding transformers are the edges, and every connected part with an external
grid is a tree grown breadth-first from that grid's bus. Consequences, stated:

- **Several external grids** (Schutterwald: 14 MV/LV stations, each with its own grid;
  Oberrhein: two HV/MV substations): the first grid's bus is the feeder's source and the other
  grids' buses hang below it through a link of :data:`LINK_LENGTH_KM` that is no element of the
  net. Each part keeps its own normalised distances (the link is its own branch).
- **Loops** (a mesh in one part, or two grids in one part): the elements that close a loop are
  left out of the tree; every bus on a loop and every external-grid bus carries all three phases
  (pandapower lines are three-phase anyway, so the loop-closing lines stay consistent).
- Parts that no external grid reaches are left alone (their loads are not converted).
- Three-winding transformers are not supported (``runpp_3ph`` cannot solve them).

Zero-sequence data
------------------
``runpp_3ph`` needs zero-sequence data most balanced nets lack. :func:`add_zero_sequence_data`
fills only what is missing (a missing column, or NaN in a row) and issues one
:class:`MissingDataWarning` naming every column it filled, with these defaults:

- lines at low voltage (``vn_kv <= 1``): ``r0 = 3.49 r1``, ``x0 = 1.15 x1``, ``c0 = c1``: the
  ratios of :data:`~pandapower_ext.defaults.DEFAULT_LV_LINE` (four-core cables of the IEEE
  European LV test feeder);
- cables above 1 kV: ``r0 = r1 + 3 x 0.727 ohm/km`` (25 mm2 copper screens as return path),
  ``x0 = x1``, ``c0 = c1``: as :data:`~pandapower_ext.defaults.DEFAULT_MV_LINE`;
- overhead lines above 1 kV (``type == "ol"``): ``r0 = r1 + 3 R_e`` with Carson's earth-return
  resistance ``R_e = pi^2 f 1e-4 ohm/km`` (0.0493 ohm/km at 50 Hz), ``x0 = 3 x1``,
  ``c0 = 0.6 c1`` (common planning ratios for lines without an earth wire);
- transformers: :data:`~pandapower_ext.defaults.DEFAULT_TRAFO`'s vector group ``"Dyn"``,
  ``vk0 = vk``, ``vkr0 = vkr``, ``mag0 = MAG0_PERCENT`` (zero-sequence magnetising impedance =
  no-load impedance), ``mag0_rx = 0``, ``si0_hv_partial = 0.9``;
- external grids: :data:`~pandapower_ext.defaults.DEFAULT_SOURCE` (the core's source model):
  ``s_sc_max = 1e8 MVA``, ``R/X = 0.1``, ``X0/X = 1``, ``R0/X0 = 0.1``.
"""

from __future__ import annotations

import copy
import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import (
    AdapterError,
    FeederValidationError,
    LargeLoadWarning,
    MissingDataWarning,
    ParameterError,
)
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.models.power import BayesianPowerModel, PowerParameters
from bayesgrid_plugins.phases import PHASE_NAMES
from bayesgrid_plugins.reprs import compact_repr
from bayesgrid_plugins.scenarios import resolve_parameters
from bayesgrid_plugins.topology.forest import LINK_LENGTH_KM
from bayesgrid_plugins.unbalancing import (
    DEFAULT_THREE_PHASE_ABOVE_KVA,
    large_load_buses,
    sample_unbalanced,
)

from ._netmap import ID_COLUMN, branch_edges, net_forest
from .defaults import DEFAULT_LV_LINE, DEFAULT_MV_LINE, DEFAULT_SOURCE, DEFAULT_TRAFO, LV_MAX_KV
from .load_checks import check_load_rows
from .load_map import kept_load_rows, original_loads, realisation_values

__all__ = [
    "DEFAULT_THREE_PHASE_ABOVE_KVA",
    "LINK_LENGTH_KM",
    "LargeLoadWarning",
    "MissingDataWarning",
    "UnbalancedNet",
    "add_zero_sequence_data",
    "bus_load_totals",
    "unbalance_feeder",
    "unbalance_net",
    "write_realisation",
]

logger = logging.getLogger(__name__)

#: Zero-sequence ratios of overhead lines above 1 kV: x0 / x1 and c0 / c1.
OVERHEAD_X0_RATIO = 3.0
OVERHEAD_C0_RATIO = 0.6

_P = ("p_a_mw", "p_b_mw", "p_c_mw")
_Q = ("q_a_mvar", "q_b_mvar", "q_c_mvar")
_PHASE_TEXT = np.asarray(["" if name == "none" else name for name in PHASE_NAMES], dtype=object)


# ------------------------------------------------------------------------------ helpers
def _in_service(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty or "in_service" not in frame.columns:
        return frame
    return frame[frame["in_service"].astype(bool).to_numpy()]


def _scaling(frame: pd.DataFrame) -> np.ndarray:
    if "scaling" in frame.columns:
        return frame["scaling"].to_numpy(dtype=float)
    return np.ones(len(frame))


def bus_load_totals(net: Any, *, include_asymmetric: bool = True) -> pd.DataFrame:
    """Total active and reactive load of every bus with an in-service load.

    Parameters
    ----------
    net : pandapowerNet
        The net.
    include_asymmetric : bool, default True
        Count ``asymmetric_load`` rows too (all phases summed).

    Returns
    -------
    pandas.DataFrame
        Indexed by pandapower bus, columns ``p_kw`` and ``q_kvar`` (``scaling`` applied).

    Examples
    --------
    >>> from pandapower_ext import bus_load_totals, read_net
    >>> net = read_net("feeder.json")  # doctest: +SKIP
    >>> bus_load_totals(net)[["p_kw", "q_kvar"]].sum()  # [kW], [kvar]  # doctest: +SKIP
    """
    parts = []
    load = _in_service(net.load)
    if len(load):
        s = _scaling(load)
        parts.append(
            pd.DataFrame(
                {
                    "bus": load["bus"].to_numpy(dtype=np.int64),
                    "p_kw": load["p_mw"].to_numpy(dtype=float) * s * 1000.0,
                    "q_kvar": load["q_mvar"].to_numpy(dtype=float) * s * 1000.0,
                }
            )
        )
    asym = _in_service(net.asymmetric_load) if include_asymmetric else net.asymmetric_load[:0]
    if len(asym):
        s = _scaling(asym)
        parts.append(
            pd.DataFrame(
                {
                    "bus": asym["bus"].to_numpy(dtype=np.int64),
                    "p_kw": asym[list(_P)].to_numpy(dtype=float).sum(axis=1) * s * 1000.0,
                    "q_kvar": asym[list(_Q)].to_numpy(dtype=float).sum(axis=1) * s * 1000.0,
                }
            )
        )
    if not parts:
        return pd.DataFrame({"p_kw": [], "q_kvar": []}, index=pd.Index([], name="bus"))
    frame = pd.concat(parts, ignore_index=True)
    return frame.groupby("bus")[["p_kw", "q_kvar"]].sum()


def _edges(net: Any) -> pd.DataFrame:
    """Closed in-service branches (see :func:`pandapower_ext._netmap.branch_edges`)."""
    return branch_edges(net)


@dataclass(frozen=True, eq=False)
class _ForestInfo:
    three_phase: np.ndarray
    loop_elements: tuple[str, ...]
    unreached_buses: tuple[int, ...]


def unbalance_feeder(net: Any, *, n_zones: int = 10) -> tuple[Feeder, _ForestInfo]:
    """The net's buses fed by an external grid, as one radial feeder (see the module notes).

    Parameters
    ----------
    net : pandapowerNet
        The net.
    n_zones : int, default 10
        Zones of normalised distance.

    Returns
    -------
    feeder : Feeder
        Bus ids are pandapower bus indices as text; ``is_load`` marks buses with load.
    info
        ``three_phase`` (bool per feeder bus: external-grid buses and buses on loops),
        ``loop_elements`` (elements left out of the tree, e.g. ``"line:13417"``) and
        ``unreached_buses`` (in-service buses no external grid reaches).

    Raises
    ------
    FeederValidationError
        If the net has no in-service external grid, or in-service three-winding transformers.

    Examples
    --------
    >>> from pandapower_ext import read_net, unbalance_feeder
    >>> feeder, info = unbalance_feeder(read_net("feeder.json"))  # doctest: +SKIP
    >>> info.loop_elements  # elements that close loops  # doctest: +SKIP
    """
    grids = _in_service(net.ext_grid)
    if len(grids) == 0:
        raise FeederValidationError(
            "the net has no in-service external grid: there is no source to grow a feeder from."
        )
    t3w = _in_service(net.trafo3w)
    if len(t3w):
        raise FeederValidationError(
            f"three-winding transformers {t3w.index.tolist()[:10]} are not supported "
            "(pandapower.runpp_3ph cannot solve them): replace them by two-winding ones."
        )
    buses = _in_service(net.bus)
    labels = buses.index.to_numpy(dtype=np.int64)
    forest = net_forest(net, buses, grids)
    order, parent, length, three = forest.order, forest.parent, forest.length_km, forest.on_loop
    unreached = labels[forest.unreached]
    totals = bus_load_totals(net)
    tree_labels = labels[order]
    is_load = np.isin(tree_labels, totals.index.to_numpy(dtype=np.int64))
    feeder = Feeder(
        bus_id=tree_labels.astype(str),
        parent=parent,
        length_km=length,
        vn_kv=buses["vn_kv"].to_numpy(dtype=float)[order],
        is_load=is_load,
        n_zones=n_zones,
    )
    info = _ForestInfo(
        three_phase=three,
        loop_elements=forest.loop_elements,
        unreached_buses=tuple(int(b) for b in unreached),
    )
    return feeder, info


# ------------------------------------------------------------------------------ 3-phase data
def _fill(
    frame: pd.DataFrame, column: str, values: Any, filled: dict[str, int], table: str
) -> None:
    if column not in frame.columns:
        frame[column] = np.nan if not isinstance(values, str) else None
    missing = frame[column].isna().to_numpy()
    if not missing.any():
        return
    if isinstance(values, str):
        frame[column] = frame[column].astype(object)
        frame.loc[missing, column] = values
    else:
        vals = np.broadcast_to(np.asarray(values, dtype=float), (len(frame),))
        frame[column] = frame[column].astype(float)
        frame.loc[missing, column] = vals[missing]
    filled[f"{table}.{column}"] = int(missing.sum())


def add_zero_sequence_data(net: Any, *, warn: bool = True) -> dict[str, int]:
    """Fill the zero-sequence data ``runpp_3ph`` needs where the net lacks them, in place.

    Only missing values are filled (a missing column, or NaN rows), with the defaults listed
    in the module docstring. One :class:`MissingDataWarning` names every column filled.

    Parameters
    ----------
    net : pandapowerNet
        The net.
    warn : bool, default True
        Issue the warning (the filled columns are returned either way).

    Returns
    -------
    dict
        ``{"table.column": number of rows filled}``.

    Examples
    --------
    >>> from pandapower_ext import add_zero_sequence_data, read_net
    >>> net = read_net("feeder.json")  # doctest: +SKIP
    >>> add_zero_sequence_data(net, warn=False)  # {"table.column": rows filled}  # doctest: +SKIP
    """
    filled: dict[str, int] = {}
    line = net.line
    if len(line):
        vn = net.bus["vn_kv"].reindex(line["from_bus"]).to_numpy(dtype=float)
        r1 = line["r_ohm_per_km"].to_numpy(dtype=float)
        x1 = line["x_ohm_per_km"].to_numpy(dtype=float)
        c1 = line["c_nf_per_km"].to_numpy(dtype=float)
        kind = line["type"].astype(str).to_numpy() if "type" in line.columns else None
        lv = vn <= LV_MAX_KV
        overhead = ~lv & (kind == "ol") if kind is not None else np.zeros(len(line), bool)
        f_hz = float(net.get("f_hz", 50.0) or 50.0)
        r_earth = np.pi**2 * f_hz * 1e-4
        lv_r = DEFAULT_LV_LINE.r0_ohm_per_km / DEFAULT_LV_LINE.r1_ohm_per_km
        lv_x = DEFAULT_LV_LINE.x0_ohm_per_km / DEFAULT_LV_LINE.x1_ohm_per_km
        screen = DEFAULT_MV_LINE.r0_ohm_per_km - DEFAULT_MV_LINE.r1_ohm_per_km
        r0 = np.where(lv, r1 * lv_r, np.where(overhead, r1 + 3 * r_earth, r1 + screen))
        x0 = np.where(lv, x1 * lv_x, np.where(overhead, OVERHEAD_X0_RATIO * x1, x1))
        c0 = np.where(overhead, OVERHEAD_C0_RATIO * c1, c1)
        _fill(line, "r0_ohm_per_km", r0, filled, "line")
        _fill(line, "x0_ohm_per_km", x0, filled, "line")
        _fill(line, "c0_nf_per_km", c0, filled, "line")
    trafo = net.trafo
    if len(trafo):
        t = DEFAULT_TRAFO
        _fill(trafo, "vector_group", t.vector_group, filled, "trafo")
        _fill(trafo, "vk0_percent", trafo["vk_percent"].to_numpy(float), filled, "trafo")
        _fill(trafo, "vkr0_percent", trafo["vkr_percent"].to_numpy(float), filled, "trafo")
        _fill(trafo, "mag0_percent", t.mag0_percent, filled, "trafo")
        _fill(trafo, "mag0_rx", t.mag0_rx, filled, "trafo")
        _fill(trafo, "si0_hv_partial", t.si0_hv_partial, filled, "trafo")
    grid = net.ext_grid
    if len(grid):
        s = DEFAULT_SOURCE
        _fill(grid, "s_sc_max_mva", s.s_sc_max_mva, filled, "ext_grid")
        _fill(grid, "rx_max", s.rx_max, filled, "ext_grid")
        _fill(grid, "x0x_max", s.x0x_max, filled, "ext_grid")
        _fill(grid, "r0x0_max", s.r0x0_max, filled, "ext_grid")
    if filled and warn:
        listing = ", ".join(f"{name} ({rows} rows)" for name, rows in filled.items())
        warnings.warn(
            f"the net lacked data pandapower.runpp_3ph needs; filled with the documented "
            f"defaults of pandapower_ext.unbalance: {listing}. Replace them with measured data "
            "where you have it.",
            MissingDataWarning,
            stacklevel=3,
        )
    return filled


# ------------------------------------------------------------------------------ loads
def write_realisation(net: Any, ensemble: Ensemble, realisation: int) -> Any:
    """Write one realisation into the tagged ``asymmetric_load`` rows, exactly (kW -> MW).

    Unlike :func:`~pandapower_ext.populate.set_realisation` the values are not rounded, so each
    bus's total stays equal to the ensemble's to float precision.

    Parameters
    ----------
    net : pandapowerNet
        A net prepared by :func:`unbalance_net` (its ``asymmetric_load`` rows are tagged).
    ensemble : Ensemble
        The ensemble sampled for it.
    realisation : int
        Which realisation to write.

    Returns
    -------
    pandapowerNet
        ``net`` itself.

    Examples
    --------
    >>> from pandapower_ext import unbalance_net, write_realisation
    >>> result = unbalance_net(net, n=10, rng=1)  # doctest: +SKIP
    >>> write_realisation(result.net, result.ensemble, 4)  # doctest: +SKIP
    """
    n = ensemble.n_realisations
    if not isinstance(realisation, (int, np.integer)) or not -n <= realisation < n:
        raise IndexError(f"realisation {realisation!r} is out of range for {n} realisations.")
    k = int(realisation) % n
    loads = net.asymmetric_load
    if ID_COLUMN not in loads.columns:
        raise AdapterError("the net has no tagged asymmetric loads: run unbalance_net on it first.")
    tagged = loads[ID_COLUMN].notna().to_numpy()
    index = pd.Index(np.asarray(ensemble.bus_id, dtype=str))
    pos = index.get_indexer(loads.loc[tagged, ID_COLUMN].astype(str).to_numpy())
    if (pos < 0).any():
        raise AdapterError(
            f"asymmetric_load rows {loads.index[tagged][pos < 0][:10].tolist()} name buses the "
            "ensemble does not have: use the ensemble unbalance_net returned for this net."
        )
    rows = loads.index[tagged]
    p, q = realisation_values(ensemble, k, pos, loads, rows)
    for j in range(3):
        loads.loc[rows, _P[j]] = p[:, j]
        loads.loc[rows, _Q[j]] = q[:, j]
    loads.loc[rows, "phases"] = _PHASE_TEXT[ensemble.load_phases[k, pos]]
    meta = net.get("bayesgrid", None)
    if isinstance(meta, dict):
        meta["realisation"] = k
    return net


def _replace_load_rows(net: Any, originals: pd.DataFrame) -> dict[str, list[int]]:
    """Replace the ``originals`` rows by kept asymmetric rows (:mod:`pandapower_ext.load_map`)."""
    removed: dict[str, list[int]] = {"load": []}
    if "asymmetric_load" in set(originals.get("table", [])) or len(net.asymmetric_load):
        removed["asymmetric_load"] = []
    for origin in originals.index:
        table, _, index = str(origin).partition(":")
        removed.setdefault(table, []).append(int(index))
    for table, indices in removed.items():
        if indices:
            net[table] = net[table].drop(index=indices)
    old = net.asymmetric_load
    start = int(old.index.max()) + 1 if len(old) else 0
    frame = kept_load_rows(originals, old.columns, start)
    dtypes = old.dtypes
    if old.empty:
        new = frame.reindex(columns=list(old.columns) + [c for c in frame if c not in old])
    else:
        new = pd.concat([old, frame], sort=False)
    for column, dtype in dtypes.items():
        if column in frame.columns and not new[column].isna().any():
            new[column] = new[column].astype(dtype)
    net["asymmetric_load"] = new
    return removed


@dataclass(frozen=True, eq=False)
class UnbalancedNet:
    """What :func:`unbalance_net` returns.

    Attributes
    ----------
    net : pandapowerNet
        The net holding realisation 0 (the input net itself when ``inplace=True``).
    feeder : Feeder
        The net's buses as a feeder (ids = pandapower bus indices as text).
    ensemble : Ensemble
        All realisations; ``p_kw.sum(-1)`` equals each bus's original total.
    totals : pandas.DataFrame
        The original totals per bus [kW, kvar].
    filled : dict
        Zero-sequence columns filled with defaults, and how many rows.
    loop_elements : tuple of str
        Elements left out of the tree because they close a loop.
    removed : dict
        Indices of the ``load`` / ``asymmetric_load`` rows replaced.
    load_map : pandas.DataFrame
        One row per original load (index: its ``"load:12"`` origin): ``name``,
        ``asymmetric_load`` (the index of the row that replaced it), ``bus``, ``p_kw``,
        ``q_kvar`` (the original values, scaling applied) and ``three_phase`` (kept
        three-phase for its size).

    Examples
    --------
    >>> from pandapower_ext import unbalance_net
    >>> result = unbalance_net(net, n=10, rng=1)  # doctest: +SKIP
    >>> result.net.asymmetric_load.head()  # realisation 0 [MW]  # doctest: +SKIP
    >>> result.realisation(3)  # doctest: +SKIP
    """

    net: Any
    feeder: Feeder
    ensemble: Ensemble
    totals: pd.DataFrame
    filled: dict[str, int] = field(default_factory=dict)
    loop_elements: tuple[str, ...] = ()
    removed: dict[str, list[int]] = field(default_factory=dict)
    load_map: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __repr__(self) -> str:
        return compact_repr(
            "UnbalancedNet",
            n=len(self.ensemble),
            buses=self.feeder.n_buses,
            loads=len(self.load_map) if len(self.load_map) else None,
            load_buses=int(self.ensemble.has_load.any(axis=0).sum()),
            p_kw=float(self.totals["p_kw"].sum()),
            filled=len(self.filled),
            loop_elements=len(self.loop_elements),
        )

    def realisation(self, k: int, *, copy_net: bool = False) -> Any:
        """The net holding realisation ``k`` (a deep copy when ``copy_net``)."""
        net = copy.deepcopy(self.net) if copy_net else self.net
        return write_realisation(net, self.ensemble, k)


def unbalance_net(
    net: Any,
    *,
    n: int = 1,
    model: BayesianPowerModel | PowerParameters | str | None = None,
    scenario: str | PowerParameters | None = None,
    rng: Any = None,
    inplace: bool = True,
    include_asymmetric: bool = True,
    fill_missing: bool = True,
    three_phase_above_kva: float | None = DEFAULT_THREE_PHASE_ABOVE_KVA,
) -> UnbalancedNet:
    """Turn a net's balanced loads into per-phase loads that keep each bus's total P and Q.

    Parameters
    ----------
    net : pandapowerNet
        The net (radial or with loops, one or more external grids; see the module notes).
    n : int, default 1
        Number of realisations; the net receives realisation 0, the others are in the
        returned ensemble (switch with :meth:`UnbalancedNet.realisation`).
    model : BayesianPowerModel, PowerParameters or path, optional
        Power-model parameters (default: the shipped posterior).
    scenario : str or PowerParameters, optional
        ``"balanced"``, ``"unbalanced"`` (the paper's scenarios applied to ``model``), or
        parameters from :func:`~bayesgrid_plugins.scenarios.scenario_parameters`.
    rng : seed or numpy.random.Generator, optional
        Random generator or seed.
    inplace : bool, default True
        Modify ``net``; otherwise a deep copy is modified and returned in the result.
    include_asymmetric : bool, default True
        Fold existing ``asymmetric_load`` rows into the bus totals and replace them too.
    fill_missing : bool, default True
        Fill missing zero-sequence data (:func:`add_zero_sequence_data`, one
        :class:`MissingDataWarning`).
    three_phase_above_kva : float or None, default 100
        A load row larger than this [kVA] (scaling applied) stays three-phase in every
        realisation, and one :class:`LargeLoadWarning` names those loads; None lets the model
        choose every load's phases (:data:`DEFAULT_THREE_PHASE_ABOVE_KVA` gives the reasons).

    Returns
    -------
    UnbalancedNet
        The net, the feeder, the ensemble and what was filled or replaced.

    Raises
    ------
    FeederValidationError
        If the net has no external grid or has three-winding transformers.
    ParameterError
        If no load is reached by an external grid, a bus's total P is negative, or a load
        row is not finite or sits on a bus the net lacks (:func:`check_load_rows`).

    Notes
    -----
    Each original load row stays a row of its own: same name, bus, ``profile`` and other
    columns, in ``asymmetric_load``, with ``bayesgrid_origin`` naming the original row
    (``"load:12"``) and its share of the bus's load (:mod:`pandapower_ext.load_map`);
    :attr:`UnbalancedNet.load_map` lists where each went.

    Examples
    --------
    >>> from pandapower_ext import read_net, unbalance_net
    >>> net = read_net("feeder.json")  # a net with balanced loads  # doctest: +SKIP
    >>> result = unbalance_net(net, n=100, scenario="unbalanced", rng=1)  # doctest: +SKIP
    >>> result.ensemble.p_kw.shape  # (100, buses, 3) [kW]  # doctest: +SKIP
    """
    params = resolve_parameters(model, scenario)
    check_load_rows(net, include_asymmetric=include_asymmetric)
    target = net if inplace else copy.deepcopy(net)
    feeder, info = unbalance_feeder(target, n_zones=params.n_zones)
    totals = bus_load_totals(target, include_asymmetric=include_asymmetric)
    labels = feeder.bus_id.astype(np.int64)
    totals_on = totals.reindex(labels).fillna(0.0)
    p_bus = totals_on["p_kw"].to_numpy(dtype=float)
    q_bus = totals_on["q_kvar"].to_numpy(dtype=float)
    if not ((p_bus != 0) | (q_bus != 0)).any():
        raise ParameterError(
            "no in-service load of the net sits on a bus an external grid reaches: there is "
            "nothing to unbalance."
        )
    originals = original_loads(target, feeder, include_asymmetric=include_asymmetric)
    big = large_load_buses(
        feeder,
        originals["bus"].astype(np.int64).astype(str).tolist(),
        originals["s_kva"].to_numpy(float) if not originals.empty else np.zeros(0),
        originals["name"].astype(str).tolist() if "name" in originals else originals.index.tolist(),
        three_phase_above_kva,
    )
    ensemble = sample_unbalanced(
        feeder, p_bus, q_bus, n, params=params, rng=rng, on_loop=info.three_phase, large=big
    )
    filled = add_zero_sequence_data(target, warn=True) if fill_missing else {}
    removed = _replace_load_rows(target, originals)
    meta = dict(target.get("bayesgrid", None) or {})
    meta.update(
        {
            "unbalanced": True,
            "realisation": 0,
            "ensemble": dict(ensemble.metadata),
            "loop_elements": list(info.loop_elements),
        }
    )
    target["bayesgrid"] = meta
    write_realisation(target, ensemble, 0)
    kept = totals.loc[totals.index.isin(labels)]
    logger.info(
        "unbalanced %d load buses (%.1f kW, %.1f kvar) into %d realisations",
        int(ensemble.has_load[0].sum()),
        float(kept["p_kw"].sum()),
        float(kept["q_kvar"].sum()),
        ensemble.n_realisations,
    )
    return UnbalancedNet(
        net=target,
        feeder=feeder,
        ensemble=ensemble,
        totals=kept,
        filled=filled,
        loop_elements=info.loop_elements,
        removed=removed,
        load_map=_load_map(target, originals, feeder, big),
    )


def _load_map(net: Any, originals: pd.DataFrame, feeder: Feeder, big: np.ndarray) -> pd.DataFrame:
    """Where each original load row went (see :attr:`UnbalancedNet.load_map`)."""
    from .load_map import ORIGIN_COLUMN

    loads = net.asymmetric_load
    new_index = pd.Series(loads.index, index=loads[ORIGIN_COLUMN].to_numpy(dtype=object))
    bus = originals["bus"].astype(np.int64)
    names = originals["name"] if "name" in originals else pd.Series(None, index=originals.index)
    return pd.DataFrame(
        {
            "name": names.to_numpy(dtype=object),
            "asymmetric_load": new_index.reindex(originals.index).to_numpy(),
            "bus": bus.to_numpy(),
            "p_kw": originals["p_kw"].to_numpy(float),
            "q_kvar": originals["q_kvar"].to_numpy(float),
            "three_phase": big[feeder.index_of(bus.astype(str).tolist())],
        },
        index=originals.index,
    )
