"""Read an existing radial pandapower net: as a :class:`Feeder`, and as a training table.

The net's in-service lines, closed bus-bus switches and two-winding transformers are the edges;
the source is the bus of its single external grid. Bus ids of the feeder are the net's bus indices
as text, so results and sampled loads can be mapped back to the net.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import pandas as pd

from bayesgrid_plugins.errors import AdapterError, FeederValidationError, ParameterError
from bayesgrid_plugins.feeder import DEFAULT_N_ZONES, Feeder
from bayesgrid_plugins.phases import (
    PHASE_ABC,
    enforce_phase_consistency,
    fill_unserved_phases,
    mask_from_phases,
)
from bayesgrid_plugins.topology.forest import LINK_LENGTH_KM
from bayesgrid_plugins.training import TrainingTable, make_training_table

from ._netmap import net_forest

__all__ = ["LINK_LENGTH_KM", "feeder_from_net", "training_table"]

logger = logging.getLogger(__name__)


def _in_service(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty or "in_service" not in frame.columns:
        return frame
    return frame[frame["in_service"].astype(bool)]


def _coordinates(net: Any) -> tuple[np.ndarray, np.ndarray]:
    n = len(net.bus)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    if "geo" in net.bus.columns:
        for i, geo in enumerate(net.bus["geo"].to_numpy()):
            if geo is None or (isinstance(geo, float) and np.isnan(geo)):
                continue
            try:
                data = json.loads(geo) if isinstance(geo, str) else dict(geo)
                coords = data["coordinates"]
                x[i], y[i] = float(coords[0]), float(coords[1])
            except (ValueError, KeyError, TypeError, IndexError):
                continue
    elif "bus_geodata" in net and len(net["bus_geodata"]):
        geodata = net["bus_geodata"].reindex(net.bus.index)
        x, y = geodata["x"].to_numpy(dtype=float), geodata["y"].to_numpy(dtype=float)
    return x, y


def _load_power_kw(net: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Per in-service load: bus, phase mask, P (n, 3) [kW], Q (n, 3) [kvar], name."""
    buses, masks, p_parts, q_parts, names = [], [], [], [], []
    asym = _in_service(net.asymmetric_load)
    if len(asym):
        scale = asym["scaling"].to_numpy(dtype=float)[:, None] if "scaling" in asym else 1.0
        p = asym[["p_a_mw", "p_b_mw", "p_c_mw"]].to_numpy(dtype=float) * scale * 1000.0
        q = asym[["q_a_mvar", "q_b_mvar", "q_c_mvar"]].to_numpy(dtype=float) * scale * 1000.0
        if "phases" in asym.columns and asym["phases"].notna().all():
            mask = np.asarray([mask_from_phases(str(s)) for s in asym["phases"]], dtype=np.int64)
        else:
            live = (p != 0) | (q != 0)
            mask = live.astype(np.int64) @ np.array([1, 2, 4])
            delta = (asym["type"].astype(str).str.lower() == "delta").to_numpy()
            if delta.any():
                # delta branches a-b, b-c, c-a touch two phases each
                branch = np.array([3, 6, 5])
                mask[delta] = np.bitwise_or.reduce(np.where(live[delta], branch, 0), axis=1)
        buses.append(asym["bus"].to_numpy(dtype=np.int64))
        masks.append(mask)
        p_parts.append(p)
        q_parts.append(q)
        names += [
            str(v) if isinstance(v, str) else f"asymmetric_load_{i}"
            for i, v in zip(asym.index, asym["name"])
        ]
    bal = _in_service(net.load)
    if len(bal):
        scale = bal["scaling"].to_numpy(dtype=float) if "scaling" in bal else 1.0
        p = bal["p_mw"].to_numpy(dtype=float) * scale * 1000.0 / 3.0
        q = bal["q_mvar"].to_numpy(dtype=float) * scale * 1000.0 / 3.0
        buses.append(bal["bus"].to_numpy(dtype=np.int64))
        masks.append(np.full(len(bal), PHASE_ABC, dtype=np.int64))
        p_parts.append(np.repeat(p[:, None], 3, axis=1))
        q_parts.append(np.repeat(q[:, None], 3, axis=1))
        names += [
            str(v) if isinstance(v, str) else f"load_{i}" for i, v in zip(bal.index, bal["name"])
        ]
    if not buses:
        empty = np.zeros((0, 3))
        return np.zeros(0, np.int64), np.zeros(0, np.int64), empty, empty, []
    return (
        np.concatenate(buses),
        np.concatenate(masks),
        np.vstack(p_parts),
        np.vstack(q_parts),
        names,
    )


def _crs_of(net: Any) -> str | None:
    meta = net.get("bayesgrid", None)
    return meta.get("crs") if isinstance(meta, dict) else None


def feeder_from_net(net: Any, *, n_zones: int = DEFAULT_N_ZONES) -> Feeder:
    """Read a radial pandapower net as a :class:`Feeder`.

    The same rule as every reader (:mod:`bayesgrid_plugins.topology.forest`): edges are the
    closed in-service branches (:func:`~pandapower_ext._netmap.branch_edges`: lines with their
    ``length_km``, closed bus-bus switches and two-winding transformers as links of
    :data:`LINK_LENGTH_KM`); the tree grows breadth-first from the external grids (the first is
    the source); branches that close loops and islanded buses are left out, with a warning.
    Bus ids are the net's bus indices as text; coordinates come from the bus ``geo`` column (or
    the older ``bus_geodata`` table); ``is_load`` marks buses with an in-service ``load`` or
    ``asymmetric_load``, and ``demand_kw`` holds their total active power [kW].

    Parameters
    ----------
    net : pandapowerNet
        A radial net with one external grid.
    n_zones : int, default 10
        Number of zones of normalised distance.

    Returns
    -------
    Feeder

    Raises
    ------
    FeederValidationError
        If the net has no external grid or has three-winding transformers; the message names
        the elements.

    Examples
    --------
    >>> from pandapower_ext import feeder_from_net, read_net
    >>> feeder = feeder_from_net(read_net("feeder.json"), n_zones=10)  # doctest: +SKIP
    >>> feeder.distance_km.max()  # longest path from the external grid [km]  # doctest: +SKIP
    """
    missing = [
        t
        for t in ("bus", "ext_grid", "line")
        if not isinstance(getattr(net, t, None), pd.DataFrame)
    ]
    if missing:
        raise ParameterError(
            f"net is a {type(net).__name__}, not a pandapower net (it has no {missing} tables); "
            "pass a pandapowerNet, for example pandapower.from_json(path)."
        )
    grids = _in_service(net.ext_grid)
    if len(grids) == 0:
        raise FeederValidationError(
            "the net has no in-service external grid: there is no source to grow a feeder from."
        )
    if len(_in_service(net.trafo3w)):
        raise FeederValidationError(
            f"three-winding transformers {_in_service(net.trafo3w).index.tolist()[:10]} are not "
            "supported: a radial feeder has two-terminal branches only."
        )
    buses = _in_service(net.bus)
    forest = net_forest(net, buses, grids)
    if len(grids) > 1:
        logger.warning(
            "the net has %d in-service external grids %s: the first feeds the feeder, the others' "
            "trees hang below it by a link",
            len(grids),
            grids.index.tolist()[:10],
        )
    if forest.loop_elements:
        logger.warning(
            "the net is meshed: %d elements close loops and are left out of the feeder (%s)",
            len(forest.loop_elements),
            ", ".join(forest.loop_elements[:10]),
        )
    if forest.unreached.size:
        logger.warning(
            "buses %s (%d in all) are islanded: no in-service branch reaches them from an "
            "external grid; they are left out of the feeder",
            buses.index[forest.unreached][:10].tolist(),
            forest.unreached.size,
        )
    labels = buses.index.to_numpy(dtype=np.int64)[forest.order]
    load_bus, _, p, _, _ = _load_power_kw(net)
    demand = pd.Series(p.sum(axis=1), index=load_bus).groupby(level=0).sum()
    demand_kw = demand.reindex(labels).fillna(0.0).to_numpy(dtype=float)
    is_load = np.isin(labels, np.asarray(sorted(set(load_bus.tolist())), dtype=np.int64))
    x_all, y_all = _coordinates(net)
    where = net.bus.index.get_indexer(labels)
    return Feeder(
        bus_id=labels.astype(str),
        parent=forest.parent,
        length_km=forest.length_km,
        x=x_all[where],
        y=y_all[where],
        crs=_crs_of(net),
        vn_kv=buses["vn_kv"].astype(float).reindex(labels).to_numpy(),
        is_load=is_load,
        demand_kw=demand_kw,
        n_zones=n_zones,
    )


def training_table(
    net: Any,
    *,
    system: str = "pandapower",
    n_zones: int = DEFAULT_N_ZONES,
    feeder: Feeder | None = None,
) -> TrainingTable:
    """Loads and lines of a real radial pandapower net, as a training table.

    Per in-service load: phases (from the ``phases`` column if the net has one, else from which
    of ``p_a/p_b/p_c`` (or ``q_*``) are non-zero; for delta loads each live branch a-b, b-c, c-a
    adds its two phases; a balanced ``load`` is ABC with P and Q split equally), P and Q per phase
    [kW, kvar] (times ``scaling``), and its position (distance, normalised distance, zone, branch)
    from :func:`feeder_from_net`. Per in-service line: R1, X1, R0, X0 [ohm/km] (NaN where the net
    has no zero-sequence columns), ampacity [kA], length and phases. pandapower lines are
    three-phase models, so a line's phases are taken from its ``phases`` column if present, else
    as the phases the loads below it need (the union of the load phases in its subtree; a line
    with no load below takes the phases of the line above it).

    Parameters
    ----------
    net : pandapowerNet
        A radial net with one external grid.
    system : str
        Name written to the table's ``system`` column.
    n_zones : int, default 10
        Number of zones.
    feeder : Feeder, optional
        ``feeder_from_net(net, n_zones=n_zones)`` if already computed.

    Examples
    --------
    >>> from pandapower_ext import read_net, training_table
    >>> table = training_table(read_net("feeder.json"), system="my-utility")  # doctest: +SKIP
    """
    if feeder is None:
        feeder = feeder_from_net(net, n_zones=n_zones)
    position = pd.Index(feeder.bus_id)
    load_bus, load_mask, p, q, names = _load_power_kw(net)
    load_pos = position.get_indexer(pd.Index(load_bus.astype(str)))
    if (load_pos < 0).any():
        raise AdapterError(
            f"loads on buses {load_bus[load_pos < 0][:10].tolist()} are not in the feeder."
        )

    lines = _in_service(net.line)
    if len(net.switch):
        sw = net.switch
        open_line = sw[(sw["et"] == "l") & ~sw["closed"].astype(bool)]
        lines = lines.drop(index=open_line["element"].astype(int).unique(), errors="ignore")
    u = position.get_indexer(pd.Index(lines["from_bus"].astype(int).astype(str)))
    v = position.get_indexer(pd.Index(lines["to_bus"].astype(int).astype(str)))
    child = np.where(feeder.parent[v] == u, v, u)

    if (
        "phases" in lines.columns
        and lines["phases"].notna().all()
        and (lines["phases"] != "").all()
    ):
        line_mask = np.asarray([mask_from_phases(str(s)) for s in lines["phases"]], dtype=np.int64)
    else:
        own = np.zeros(feeder.n_buses, dtype=np.uint8)
        np.bitwise_or.at(own, load_pos, load_mask.astype(np.uint8))
        needed = fill_unserved_phases(feeder, enforce_phase_consistency(feeder, own))
        line_mask = needed[child].astype(np.int64)

    def column(name: str) -> np.ndarray | None:
        return lines[name].to_numpy(dtype=float) if name in lines.columns else None

    return make_training_table(
        feeder,
        system=system,
        load_id=names,
        load_bus=load_pos,
        load_phases=load_mask,
        p_kw=p,
        q_kvar=q,
        line_id=[
            str(n) if isinstance(n, str) else f"line_{i}"
            for i, n in zip(lines.index, lines["name"])
        ],
        line_bus=child,
        line_phases=line_mask,
        r1_ohm_per_km=column("r_ohm_per_km"),
        x1_ohm_per_km=column("x_ohm_per_km"),
        r0_ohm_per_km=column("r0_ohm_per_km"),
        x0_ohm_per_km=column("x0_ohm_per_km"),
        max_i_ka=column("max_i_ka"),
    )
