"""The neutral training table that both adapters' readers produce.

One row per load and one row per line, with the positions (distance, normalised distance, zone,
branch) computed from a :class:`~bayesgrid_plugins.feeder.Feeder` of the same network, so every
reader yields the same columns whatever engine it read from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .feeder import Feeder

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BUS_COLUMNS",
    "LINE_COLUMNS",
    "LOAD_COLUMNS",
    "TrainingTable",
    "loads_per_bus",
    "make_training_table",
    "table_feeders",
]

#: Columns of :attr:`TrainingTable.loads`.
LOAD_COLUMNS = (
    "system",  # name of the source network (one per feeder/substation read)
    "load_id",
    "bus_id",
    "phases",  # phase mask A=1, B=2, C=4 of the primary phases the load is served from
    "p_a_kw",
    "p_b_kw",
    "p_c_kw",
    "q_a_kvar",
    "q_b_kvar",
    "q_c_kvar",
    "distance_km",
    "d",
    "zone",
    "branch",
)
#: Columns of :attr:`TrainingTable.lines`.
LINE_COLUMNS = (
    "system",
    "line_id",
    "bus_id",  # the bus the line feeds
    "phases",
    "r1_ohm_per_km",
    "x1_ohm_per_km",
    "r0_ohm_per_km",
    "x0_ohm_per_km",
    "length_km",
    "max_i_ka",
    "d",
    "zone",
    "branch",
)
#: Columns of :attr:`TrainingTable.buses` (the topology, so learners can rebuild each feeder).
BUS_COLUMNS = ("system", "bus_id", "parent_id", "length_km")


@dataclass(frozen=True)
class TrainingTable:
    """Loads and lines of one or more real networks, ready for counting or fitting.

    Attributes
    ----------
    loads : pandas.DataFrame
        One row per load with :data:`LOAD_COLUMNS`; powers in kW / kvar per phase.
    lines : pandas.DataFrame
        One row per line with :data:`LINE_COLUMNS`; impedances in ohm/km, ampacity in kA
        (NaN where unknown).
    n_zones : int
        Number of zones used for the ``zone`` columns.
    buses : pandas.DataFrame, optional
        One row per bus of every feeder with :data:`BUS_COLUMNS` (``parent_id`` empty at the
        source; ``length_km`` of the line into the bus), so a learner can rebuild the topology
        (:func:`table_feeders`). None for tables built without it.
    """

    loads: pd.DataFrame
    lines: pd.DataFrame
    n_zones: int
    buses: pd.DataFrame | None = None

    @property
    def p_kw(self) -> np.ndarray:
        """Total active power per load [kW]."""
        return self.loads[["p_a_kw", "p_b_kw", "p_c_kw"]].to_numpy().sum(axis=1)

    @classmethod
    def concat(cls, tables: Sequence[TrainingTable]) -> TrainingTable:
        """Stack tables of several networks (they must use the same number of zones)."""
        import pandas as pd

        zones = {t.n_zones for t in tables}
        if len(zones) != 1:
            raise ValueError(
                f"tables use different zone counts {sorted(zones)}; rebuild them alike"
            )
        buses = (
            pd.concat([t.buses for t in tables], ignore_index=True)
            if all(t.buses is not None for t in tables)
            else None
        )
        return cls(
            loads=pd.concat([t.loads for t in tables], ignore_index=True),
            lines=pd.concat([t.lines for t in tables], ignore_index=True),
            n_zones=zones.pop(),
            buses=buses,
        )


def make_training_table(
    feeder: Feeder,
    *,
    system: str,
    load_id: Sequence[str] | np.ndarray,
    load_bus: Sequence[int] | np.ndarray,
    load_phases: Sequence[int] | np.ndarray,
    p_kw: np.ndarray,
    q_kvar: np.ndarray,
    line_id: Sequence[str] | np.ndarray | None = None,
    line_bus: Sequence[int] | np.ndarray | None = None,
    line_phases: Sequence[int] | np.ndarray | None = None,
    r1_ohm_per_km: np.ndarray | None = None,
    x1_ohm_per_km: np.ndarray | None = None,
    r0_ohm_per_km: np.ndarray | None = None,
    x0_ohm_per_km: np.ndarray | None = None,
    max_i_ka: np.ndarray | None = None,
) -> TrainingTable:
    """Assemble a :class:`TrainingTable` from a reader's arrays.

    Parameters
    ----------
    feeder : Feeder
        The network as a feeder; positions are taken from it.
    system : str
        Name of the network.
    load_id, load_bus, load_phases : sequences
        Per load: its name, the index of its bus in ``feeder``, its phase mask.
    p_kw, q_kvar : ndarray, shape (n_loads, 3)
        Per load and phase (A, B, C) active [kW] and reactive [kvar] power.
    line_id, line_bus, line_phases : sequences, optional
        Per line: its name, the index of the bus it feeds, its phase mask.
    r1_ohm_per_km, x1_ohm_per_km, r0_ohm_per_km, x0_ohm_per_km, max_i_ka : ndarray, optional
        Per line impedances [ohm/km] and ampacity [kA]; NaN where unknown.
    """
    import pandas as pd

    load_bus = np.asarray(load_bus, dtype=np.int64)
    p = np.asarray(p_kw, dtype=float).reshape(-1, 3)
    q = np.asarray(q_kvar, dtype=float).reshape(-1, 3)
    loads = pd.DataFrame(
        {
            "system": system,
            "load_id": np.asarray(load_id, dtype=str),
            "bus_id": feeder.bus_id[load_bus],
            "phases": np.asarray(load_phases, dtype=np.int64),
            "p_a_kw": p[:, 0],
            "p_b_kw": p[:, 1],
            "p_c_kw": p[:, 2],
            "q_a_kvar": q[:, 0],
            "q_b_kvar": q[:, 1],
            "q_c_kvar": q[:, 2],
            "distance_km": feeder.distance_km[load_bus],
            "d": feeder.d[load_bus],
            "zone": feeder.zone[load_bus],
            "branch": feeder.feeder[load_bus],
        },
        columns=list(LOAD_COLUMNS),
    )
    line_bus = np.asarray([] if line_bus is None else line_bus, dtype=np.int64)
    m = line_bus.size

    def column(values: np.ndarray | None) -> np.ndarray:
        return np.full(m, np.nan) if values is None else np.asarray(values, dtype=float)

    lines = pd.DataFrame(
        {
            "system": system,
            "line_id": np.asarray([] if line_id is None else line_id, dtype=str),
            "bus_id": feeder.bus_id[line_bus],
            "phases": np.asarray([] if line_phases is None else line_phases, dtype=np.int64),
            "r1_ohm_per_km": column(r1_ohm_per_km),
            "x1_ohm_per_km": column(x1_ohm_per_km),
            "r0_ohm_per_km": column(r0_ohm_per_km),
            "x0_ohm_per_km": column(x0_ohm_per_km),
            "length_km": feeder.length_km[line_bus],
            "max_i_ka": column(max_i_ka),
            "d": feeder.d[line_bus],
            "zone": feeder.zone[line_bus],
            "branch": feeder.feeder[line_bus],
        },
        columns=list(LINE_COLUMNS),
    )
    parent = feeder.parent
    buses = pd.DataFrame(
        {
            "system": system,
            "bus_id": feeder.bus_id,
            "parent_id": np.where(parent >= 0, feeder.bus_id[np.maximum(parent, 0)], ""),
            "length_km": feeder.length_km,
        },
        columns=list(BUS_COLUMNS),
    )
    return TrainingTable(loads=loads, lines=lines, n_zones=feeder.n_zones, buses=buses)


def loads_per_bus(table: TrainingTable) -> pd.DataFrame:
    """The table's loads merged per bus: one row per (system, bus) with the union of the phases
    and the sum of the per-phase powers; position columns from the bus's first load.

    The samplers place one load per load bus, and the validation measures a real feeder per bus
    (several loads on one bus are one load), so the learners count and fit per bus as well: a
    bus with single-phase loads on A, B and C is one three-phase load.
    """
    loads = table.loads
    if len(loads) == 0:
        return loads.copy()
    import pandas as pd

    keys = loads["system"].astype(str) + "\x00" + loads["bus_id"].astype(str)
    rows, uniques = pd.factorize(keys)  # codes in order of first appearance
    if uniques.size == len(loads):
        return loads.reset_index(drop=True)
    first = np.unique(rows, return_index=True)[1]
    out = loads.iloc[first].reset_index(drop=True)
    n_bus = uniques.size
    phases = np.zeros(n_bus, dtype=np.int64)
    np.bitwise_or.at(phases, rows, loads["phases"].to_numpy(dtype=np.int64))
    out["phases"] = phases
    for col in ("p_a_kw", "p_b_kw", "p_c_kw", "q_a_kvar", "q_b_kvar", "q_c_kvar"):
        out[col] = np.bincount(rows, weights=loads[col].to_numpy(dtype=float), minlength=n_bus)
    out["load_id"] = out["bus_id"].astype(str)
    return out


def table_feeders(table: TrainingTable) -> dict[str, Feeder]:
    """Rebuild each feeder of a table from its :attr:`TrainingTable.buses` rows.

    Returns
    -------
    dict of str to Feeder
        Per ``system``, the feeder with the table's zones and its load buses marked (empty
        when the table carries no topology).
    """
    if table.buses is None or len(table.buses) == 0:
        return {}
    out: dict[str, Feeder] = {}
    load_buses = table.loads.groupby(table.loads["system"].astype(str))["bus_id"]
    for system, rows in table.buses.groupby(table.buses["system"].astype(str), sort=False):
        ids = rows["bus_id"].astype(str).to_numpy()
        lookup = {b: i for i, b in enumerate(ids)}
        parent = np.array([lookup.get(str(p), -1) for p in rows["parent_id"]], dtype=np.int64)
        feeder = Feeder(
            bus_id=ids,
            parent=parent,
            length_km=rows["length_km"].to_numpy(dtype=float),
            n_zones=table.n_zones,
        )
        is_load = np.zeros(feeder.n_buses, dtype=bool)
        if system in load_buses.groups:
            names = load_buses.get_group(system).astype(str)
            is_load[[lookup[b] for b in names if b in lookup]] = True
        out[str(system)] = feeder.with_loads(is_load)
    return out
