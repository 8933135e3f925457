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
