"""The user's loads, kept by name through unbalancing: one ``asymmetric_load`` row per original row.

The power model samples phases and per-phase shares per *bus* (conditioned on the bus's total).
A net often has several loads on one bus (SimBench: households, commerce, each with its own
``profile``). Here every original in-service ``load`` (and, optionally, ``asymmetric_load``) row
of a bus on the feeder becomes one wye ``asymmetric_load`` row that keeps:

- its ``name``, ``bus``, ``scaling``, ``in_service``, ``sn_mva`` and every other column the
  original table had (``profile``, ``subnet``, ``voltLvl``...), so time series, controllers and
  profiles keyed on names or on those columns still find their load;
- where it came from, in ``bayesgrid_origin`` (``"load:12"``: table and index of the original
  row), and the bus it draws from in ``bayesgrid_id``;
- its part of the bus total: ``bayesgrid_share_p`` and ``bayesgrid_share_q``, the row's share
  of the bus's scaled P and Q. A realisation writes ``share x`` the bus's per-phase values
  ``/ scaling`` into ``p_a_mw``... so that the row's effective load (times ``scaling``) is its
  share of the sampled bus load and the rows of a bus add up to the bus total. All rows of a bus
  share its phases.

:func:`row_factors` gives the factor each tagged row's bus values are multiplied by (1 for rows
without share columns: nets built by :func:`~pandapower_ext.populate.populate_net`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.feeder import Feeder

from ._netmap import ID_COLUMN

__all__ = [
    "ORIGIN_COLUMN",
    "SHARE_P_COLUMN",
    "SHARE_Q_COLUMN",
    "kept_load_rows",
    "original_loads",
    "row_factors",
]

#: Table and index of the original row (``"load:12"``).
ORIGIN_COLUMN = "bayesgrid_origin"
#: Share of the bus's scaled active / reactive load that the row carries.
SHARE_P_COLUMN = "bayesgrid_share_p"
SHARE_Q_COLUMN = "bayesgrid_share_q"
_P = ("p_a_mw", "p_b_mw", "p_c_mw")
_Q = ("q_a_mvar", "q_b_mvar", "q_c_mvar")
#: Columns the new rows set themselves (never copied from the original row).
_OWN = {
    "p_mw",
    "q_mvar",
    *_P,
    *_Q,
    "type",
    ID_COLUMN,
    ORIGIN_COLUMN,
    SHARE_P_COLUMN,
    SHARE_Q_COLUMN,
    "phases",
}


def original_loads(net: Any, feeder: Feeder, *, include_asymmetric: bool) -> pd.DataFrame:
    """The in-service load rows on ``feeder``'s buses, with their scaled P [kW] and Q [kvar].

    Returns one row per original row (index: ``"load:12"`` origins) with the original
    columns plus ``table``, ``p_kw``, ``q_kvar`` (scaling applied) and ``s_kva``.

    Examples
    --------
    >>> from pandapower_ext.load_map import original_loads
    >>> rows = original_loads(net, feeder, include_asymmetric=True)  # doctest: +SKIP
    """
    on_feeder = set(feeder.bus_id.astype(np.int64).tolist())
    parts = []
    tables = ("load", "asymmetric_load") if include_asymmetric else ("load",)
    for table in tables:
        frame = net[table]
        if frame.empty:
            continue
        live = frame["in_service"].astype(bool).to_numpy() if "in_service" in frame else True
        keep = live & frame["bus"].astype(np.int64).isin(on_feeder).to_numpy()
        rows = frame[keep].copy()
        if rows.empty:
            continue
        scale = rows["scaling"].to_numpy(float) if "scaling" in rows else np.ones(len(rows))
        if table == "load":
            p = rows["p_mw"].to_numpy(float)
            q = rows["q_mvar"].to_numpy(float)
        else:
            p = rows[list(_P)].to_numpy(float).sum(axis=1)
            q = rows[list(_Q)].to_numpy(float).sum(axis=1)
        rows["table"] = table
        rows["p_kw"] = p * scale * 1000.0
        rows["q_kvar"] = q * scale * 1000.0
        rows.index = pd.Index([f"{table}:{i}" for i in rows.index], name=ORIGIN_COLUMN)
        parts.append(rows)
    if not parts:
        return pd.DataFrame(columns=["bus", "table", "p_kw", "q_kvar", "s_kva"])
    out = pd.concat(parts, sort=False)
    out["s_kva"] = np.hypot(out["p_kw"].to_numpy(float), out["q_kvar"].to_numpy(float))
    return out


def _shares(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each row's share of its bus's scaled P and Q (equal split where a bus total is zero)."""
    bus = rows["bus"].to_numpy(np.int64)
    p = rows["p_kw"].to_numpy(float)
    q = rows["q_kvar"].to_numpy(float)
    group = pd.Series(bus)
    p_bus = group.map(pd.Series(p).groupby(bus).sum()).to_numpy(float)
    q_bus = group.map(pd.Series(q).groupby(bus).sum()).to_numpy(float)
    count = group.map(group.value_counts()).to_numpy(float)
    equal = 1.0 / count
    share_p = np.divide(p, p_bus, out=np.zeros_like(p), where=p_bus != 0)
    share_q = np.divide(q, q_bus, out=np.zeros_like(q), where=q_bus != 0)
    share_p = np.where(p_bus != 0, share_p, np.where(q_bus != 0, share_q, equal))
    share_q = np.where(q_bus != 0, share_q, share_p)
    return share_p, share_q


def kept_load_rows(rows: pd.DataFrame, columns: pd.Index, start: int) -> pd.DataFrame:
    """New ``asymmetric_load`` rows (zero power) for the original ``rows``, indexed from ``start``.

    ``columns`` are the net's ``asymmetric_load`` columns; the original tables' extra columns
    are appended after them.

    Examples
    --------
    >>> from pandapower_ext.load_map import kept_load_rows, original_loads
    >>> rows = original_loads(net, feeder, include_asymmetric=True)  # doctest: +SKIP
    >>> frame = kept_load_rows(rows, net.asymmetric_load.columns, 0)  # doctest: +SKIP
    """
    share_p, share_q = _shares(rows)
    m = len(rows)
    frame = pd.DataFrame(index=pd.RangeIndex(start, start + m))
    carried = [
        c for c in rows.columns if c not in _OWN and c not in ("table", "p_kw", "q_kvar", "s_kva")
    ]
    for column in carried:
        frame[column] = rows[column].to_numpy()
    defaults = {"scaling": 1.0, "in_service": True, "sn_mva": np.nan}
    for column, value in defaults.items():
        if column not in frame or frame[column].isna().all():
            frame[column] = value
    frame["scaling"] = frame["scaling"].astype(float).fillna(1.0)
    for column in (*_P, *_Q):
        frame[column] = 0.0
    frame["type"] = "wye"
    frame[ID_COLUMN] = rows["bus"].astype(np.int64).astype(str).to_numpy()
    frame[ORIGIN_COLUMN] = rows.index.to_numpy(dtype=object)
    frame[SHARE_P_COLUMN] = share_p
    frame[SHARE_Q_COLUMN] = share_q
    frame["phases"] = ""
    frame["bus"] = rows["bus"].to_numpy(np.uint32)
    ordered = [c for c in columns if c in frame.columns]
    return frame[ordered + [c for c in frame.columns if c not in ordered]]


def row_factors(loads: pd.DataFrame, rows: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Factors of the bus's per-phase P and Q that each of ``rows`` carries (share / scaling).

    Rows without share columns carry the whole bus value (factor 1).

    Examples
    --------
    >>> import pandas as pd
    >>> from pandapower_ext.load_map import row_factors
    >>> loads = pd.DataFrame({"bayesgrid_share_p": [0.25], "bayesgrid_share_q": [0.5],
    ...                       "scaling": [0.5]})
    >>> [a.tolist() for a in row_factors(loads, loads.index)]
    [[0.5], [1.0]]
    """
    ones = np.ones(len(rows))
    if SHARE_P_COLUMN not in loads.columns:
        return ones, ones
    share_p = loads.loc[rows, SHARE_P_COLUMN].to_numpy(float)
    share_q = loads.loc[rows, SHARE_Q_COLUMN].to_numpy(float)
    scale = loads.loc[rows, "scaling"].to_numpy(float) if "scaling" in loads else ones
    plain = ~np.isfinite(share_p)
    share_p = np.where(plain, 1.0, share_p)
    share_q = np.where(~np.isfinite(share_q), 1.0, share_q)
    safe = np.where(scale > 0, scale, 1.0)
    fp = np.where(scale > 0, share_p / safe, 0.0)
    fq = np.where(scale > 0, share_q / safe, 0.0)
    return np.where(plain, 1.0, fp), np.where(plain, 1.0, fq)


def per_row(values: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Bus values of each row (rows x 3) times the row's factor."""
    return values * factor[:, np.newaxis]


def realisation_values(
    ensemble: Ensemble, k: int, pos: np.ndarray, loads: pd.DataFrame, rows: pd.Index
) -> tuple[np.ndarray, np.ndarray]:
    """Per-phase P [MW] and Q [Mvar] of ``rows`` in realisation ``k`` (``pos``: their buses)."""
    fp, fq = row_factors(loads, rows)
    return (
        per_row(ensemble.p_kw[k, pos] / 1000.0, fp),
        per_row(ensemble.q_kvar[k, pos] / 1000.0, fq),
    )
