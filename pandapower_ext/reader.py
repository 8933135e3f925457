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
from bayesgrid_plugins.training import TrainingTable, make_training_table

__all__ = ["LINK_LENGTH_KM", "feeder_from_net", "training_table"]

logger = logging.getLogger(__name__)

#: Length [km] given to transformers and closed bus-bus switches, which have no length of their
#: own (a feeder needs positive lengths); 1 mm, too short to move any distance noticeably.
LINK_LENGTH_KM = 1e-6


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

    Edges are the in-service lines (length from ``length_km``), the closed bus-bus switches and
    the in-service two-winding transformers (both with :data:`LINK_LENGTH_KM`); lines cut by an
    open line switch are left out. The source is the bus of the only in-service external grid.
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
        If the net has no or several external grids, three-winding transformers, a loop, or
        buses that cannot be reached from the external grid; the message names the elements.

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
    if len(grids) != 1:
        raise FeederValidationError(
            f"a feeder has one source, but this net has {len(grids)} in-service external grids "
            f"{grids.index.tolist()[:10]}: keep one (set the others out of service) or split the "
            "net into one net per external grid."
        )
    if len(_in_service(net.trafo3w)):
        raise FeederValidationError(
            f"three-winding transformers {_in_service(net.trafo3w).index.tolist()[:10]} are not "
            "supported: a radial feeder has two-terminal branches only."
        )
    buses = _in_service(net.bus)
    source_label = int(grids["bus"].iloc[0])
    live = set(buses.index.tolist())
    if source_label not in live:
        raise FeederValidationError(f"the external grid's bus {source_label} is out of service.")

    edges: list[tuple[int, int, float]] = []
    lines = _in_service(net.line)
    switches = net.switch
    if len(switches):
        open_line = switches[(switches["et"] == "l") & ~switches["closed"].astype(bool)]
        lines = lines.drop(index=open_line["element"].astype(int).unique(), errors="ignore")
        closed_bb = switches[(switches["et"] == "b") & switches["closed"].astype(bool)]
        edges += [
            (int(u), int(v), LINK_LENGTH_KM) for u, v in zip(closed_bb["bus"], closed_bb["element"])
        ]
    edges += list(
        zip(
            lines["from_bus"].astype(int),
            lines["to_bus"].astype(int),
            lines["length_km"].astype(float),
        )
    )
    trafos = _in_service(net.trafo)
    edges += [(int(u), int(v), LINK_LENGTH_KM) for u, v in zip(trafos["hv_bus"], trafos["lv_bus"])]
    dead = sorted({b for u, v, _ in edges for b in (u, v)} - live)
    if dead:
        raise FeederValidationError(
            f"in-service branches connect to out-of-service buses {dead[:10]}: set those "
            "branches out of service or the buses in service."
        )
    connected = {b for u, v, _ in edges for b in (u, v)} | {source_label}
    isolated = sorted(live - connected)
    if isolated:
        raise FeederValidationError(
            f"buses {isolated[:10]} ({len(isolated)} in all) are islanded: no in-service "
            "branch reaches them. Set them out of service or connect them."
        )
    if len(edges) >= len(live):
        logger.debug("net has %d branches for %d buses: it has a loop", len(edges), len(live))

    load_bus, _, p, _, _ = _load_power_kw(net)
    demand = pd.Series(p.sum(axis=1), index=load_bus).groupby(level=0).sum()
    vn = buses["vn_kv"].astype(float)
    try:
        feeder = Feeder.from_edges(
            edges,
            source_label,
            loads=sorted(set(load_bus.tolist())),
            demand_kw={int(b): float(v) for b, v in demand.items()},
            n_zones=n_zones,
        )
    except FeederValidationError as exc:
        raise FeederValidationError(
            f"this pandapower net is not a radial feeder (bus ids are pandapower bus indices): "
            f"{exc}"
        ) from exc
    labels = np.asarray([int(b) for b in feeder.bus_id], dtype=np.int64)
    x_all, y_all = _coordinates(net)
    where = net.bus.index.get_indexer(labels)
    return Feeder(
        bus_id=feeder.bus_id,
        parent=feeder.parent,
        length_km=feeder.length_km,
        x=x_all[where],
        y=y_all[where],
        crs=_crs_of(net),
        vn_kv=vn.reindex(labels).to_numpy(),
        is_load=feeder.is_load,
        demand_kw=feeder.demand_kw,
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
    load_pos = position.get_indexer(load_bus.astype(str))
    if (load_pos < 0).any():
        raise AdapterError(
            f"loads on buses {load_bus[load_pos < 0][:10].tolist()} are not in the feeder."
        )

    lines = _in_service(net.line)
    if len(net.switch):
        sw = net.switch
        open_line = sw[(sw["et"] == "l") & ~sw["closed"].astype(bool)]
        lines = lines.drop(index=open_line["element"].astype(int).unique(), errors="ignore")
    u = position.get_indexer(lines["from_bus"].astype(int).astype(str))
    v = position.get_indexer(lines["to_bus"].astype(int).astype(str))
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
