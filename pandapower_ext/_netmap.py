"""Where a feeder's buses and lines live in a pandapower net.

Two kinds of net are supported: nets built by :func:`~pandapower_ext.populate.populate_net`
(their rows carry a ``bayesgrid_id`` column with our bus ids) and existing nets read with
:func:`~pandapower_ext.reader.feeder_from_net` (our bus ids are the net's bus indices as text).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import AdapterError, FeederValidationError
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.topology.forest import LINK_LENGTH_KM, SpanningForest, spanning_forest

__all__ = ["ID_COLUMN", "bus_labels", "check_aligned", "fed_branches"]

#: Column that tags rows built by bayesgrid with our bus id (for lines: the bus the line feeds).
ID_COLUMN = "bayesgrid_id"

#: Branch kinds returned by :func:`fed_branches`.
KIND_NONE, KIND_LINE, KIND_TRAFO = 0, 1, 2


def check_aligned(feeder: Feeder, ensemble: Ensemble) -> None:
    """Raise if ``ensemble`` was not sampled on ``feeder``."""
    if ensemble.n_buses != feeder.n_buses or not np.array_equal(
        np.asarray(ensemble.bus_id, dtype=str), feeder.bus_id
    ):
        raise FeederValidationError(
            f"the ensemble has {ensemble.n_buses} buses that do not match the feeder's "
            f"{feeder.n_buses} buses (bus_id differs): sample the ensemble on this feeder."
        )


def bus_labels(net: Any, feeder: Feeder) -> np.ndarray:
    """pandapower bus index of every feeder bus, shape (n_buses,).

    Raises
    ------
    AdapterError
        If some feeder buses are not in the net, naming them.
    """
    ids = feeder.bus_id
    if ID_COLUMN in net.bus.columns:
        tagged = net.bus[ID_COLUMN]
        lookup = pd.Index(tagged.astype(str).to_numpy())
        if lookup.is_unique:
            pos = lookup.get_indexer(ids)
            if (pos >= 0).all():
                return net.bus.index.to_numpy()[pos].astype(np.int64)
    try:
        labels = np.asarray([int(b) for b in ids], dtype=np.int64)
    except ValueError:
        labels = None
    if labels is not None:
        missing = ~np.isin(labels, net.bus.index.to_numpy())
        if not missing.any():
            return labels
        bad = ids[missing]
    else:
        bad = ids
    raise AdapterError(
        f"feeder buses {bad[:10].tolist()} are not buses of this pandapower net (neither in its "
        f"{ID_COLUMN!r} column nor as bus indices). Use the feeder the net was built from "
        "(populate_net) or read from (feeder_from_net)."
    )


def fed_branches(net: Any, feeder: Feeder, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The net element that feeds each feeder bus.

    Returns
    -------
    kind : ndarray of int, shape (n_buses,)
        0 for none (the source, or a bus-bus switch), 1 for a line, 2 for a transformer.
    element : ndarray of int, shape (n_buses,)
        The element's index in ``net.line`` or ``net.trafo`` (-1 for none).
    """
    n = feeder.n_buses
    kind = np.zeros(n, dtype=np.int64)
    element = np.full(n, -1, dtype=np.int64)
    child = feeder.lines
    parent_label = labels[feeder.parent[child]]
    child_label = labels[child]
    key = pd.MultiIndex.from_arrays(
        [np.minimum(parent_label, child_label), np.maximum(parent_label, child_label)]
    )
    for table, code, a, b in (
        ("trafo", KIND_TRAFO, "hv_bus", "lv_bus"),
        ("line", KIND_LINE, "from_bus", "to_bus"),
    ):
        frame = net[table]
        if frame.empty:
            continue
        frame = frame[frame["in_service"].astype(bool)]
        u = frame[a].to_numpy(dtype=np.int64)
        v = frame[b].to_numpy(dtype=np.int64)
        index = pd.MultiIndex.from_arrays([np.minimum(u, v), np.maximum(u, v)])
        # Keep the first of parallel elements; a radial net has none.
        first = ~index.duplicated()
        pos = index[first].get_indexer(key)
        found = (pos >= 0) & (kind[child] == KIND_NONE)
        kind[child[found]] = code
        element[child[found]] = frame.index.to_numpy()[first][pos[found]]
    return kind, element


def _in_service(frame: pd.DataFrame) -> pd.DataFrame:
    if "in_service" not in frame.columns:
        return frame
    return frame[frame["in_service"].astype(bool)]


def branch_edges(net: Any) -> pd.DataFrame:
    """Closed in-service branches of a net: columns u, v, length_km, element ("line:3", ...).

    Lines cut by an open line switch and transformers cut by an open transformer switch are
    left out; closed bus-bus switches and transformers are links of
    :data:`~bayesgrid_plugins.topology.forest.LINK_LENGTH_KM`.
    """
    rows = []
    lines = _in_service(net.line)
    switches = net.switch
    if len(switches):
        open_sw = switches[~switches["closed"].astype(bool)]
        cut = open_sw[open_sw["et"] == "l"]["element"].astype(int).unique()
        lines = lines.drop(index=cut, errors="ignore")
    if len(lines):
        rows.append(
            pd.DataFrame(
                {
                    "u": lines["from_bus"].to_numpy(dtype=np.int64),
                    "v": lines["to_bus"].to_numpy(dtype=np.int64),
                    "length_km": lines["length_km"].to_numpy(dtype=float),
                    "element": [f"line:{i}" for i in lines.index],
                }
            )
        )
    trafos = _in_service(net.trafo)
    if len(switches) and len(trafos):
        open_t = switches[(switches["et"] == "t") & ~switches["closed"].astype(bool)]
        trafos = trafos.drop(index=open_t["element"].astype(int).unique(), errors="ignore")
    if len(trafos):
        rows.append(
            pd.DataFrame(
                {
                    "u": trafos["hv_bus"].to_numpy(dtype=np.int64),
                    "v": trafos["lv_bus"].to_numpy(dtype=np.int64),
                    "length_km": LINK_LENGTH_KM,
                    "element": [f"trafo:{i}" for i in trafos.index],
                }
            )
        )
    if len(switches):
        bb = switches[(switches["et"] == "b") & switches["closed"].astype(bool)]
        if len(bb):
            rows.append(
                pd.DataFrame(
                    {
                        "u": bb["bus"].to_numpy(dtype=np.int64),
                        "v": bb["element"].to_numpy(dtype=np.int64),
                        "length_km": LINK_LENGTH_KM,
                        "element": [f"switch:{i}" for i in bb.index],
                    }
                )
            )
    if not rows:
        return pd.DataFrame({"u": [], "v": [], "length_km": [], "element": []})
    edges = pd.concat(rows, ignore_index=True)
    edges = edges[edges["u"] != edges["v"]]
    edges["length_km"] = np.maximum(edges["length_km"].fillna(0.0), LINK_LENGTH_KM)
    return edges


def net_forest(net: Any, buses: pd.DataFrame, grids: pd.DataFrame) -> SpanningForest:
    """The radial tree of a net's in-service buses, fed by its external grids.

    One rule for every reader of pandapower nets (training, validation, unbalancing): see
    :mod:`bayesgrid_plugins.topology.forest`. Node indices of the result are positions in
    ``buses``; branches touching out-of-service buses are ignored (and logged).
    """
    where = pd.Index(buses.index.to_numpy(dtype=np.int64))
    edges = branch_edges(net)
    pos_u = where.get_indexer(pd.Index(edges["u"].to_numpy(dtype=np.int64)))
    pos_v = where.get_indexer(pd.Index(edges["v"].to_numpy(dtype=np.int64)))
    live = (pos_u >= 0) & (pos_v >= 0)
    if (~live).any():
        import logging

        logging.getLogger(__name__).info(
            "%d branches touch out-of-service buses: ignored", int((~live).sum())
        )
    source_pos = where.get_indexer(pd.Index(grids["bus"].to_numpy(dtype=np.int64)))
    if (source_pos < 0).any():
        raise FeederValidationError(
            f"external grids {grids.index[source_pos < 0].tolist()} sit on out-of-service buses."
        )
    return spanning_forest(
        len(where),
        pos_u[live],
        pos_v[live],
        edges["length_km"].to_numpy(dtype=float)[live],
        [str(e) for e, ok in zip(edges["element"].tolist(), live.tolist()) if ok],
        source_pos,
    )
