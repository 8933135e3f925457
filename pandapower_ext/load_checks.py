"""Checks of a pandapower net's load rows before they are unbalanced.

pandas sums NaN as 0, so a load with ``p_mw = NaN`` would silently become a bus without demand,
and a load on a bus index the net does not have would be ignored. :func:`check_load_rows`
refuses both, naming the table, the row and the column, as the OpenDSS path does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bayesgrid_plugins.errors import ParameterError

__all__ = ["check_load_rows"]

_COLUMNS = {
    "load": ("p_mw", "q_mvar", "scaling"),
    "asymmetric_load": (
        "p_a_mw",
        "p_b_mw",
        "p_c_mw",
        "q_a_mvar",
        "q_b_mvar",
        "q_c_mvar",
        "scaling",
    ),
}


def _in_service(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty or "in_service" not in frame.columns:
        return frame
    return frame[frame["in_service"].fillna(False).astype(bool).to_numpy()]


def check_load_rows(net: Any, *, include_asymmetric: bool = True) -> None:
    """Refuse in-service load rows with non-finite values or on buses the net lacks.

    Parameters
    ----------
    net : pandapowerNet
        The net whose loads are about to be unbalanced.
    include_asymmetric : bool, default True
        Check ``asymmetric_load`` rows too.

    Raises
    ------
    ParameterError
        Naming the table, the rows and the column at fault, and what to do.
    """
    tables = ("load", "asymmetric_load") if include_asymmetric else ("load",)
    buses = set(np.asarray(net.bus.index, dtype=np.int64).tolist())
    for table in tables:
        frame = _in_service(getattr(net, table))
        if frame.empty:
            continue
        for column in _COLUMNS[table]:
            if column not in frame.columns:
                continue
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
            bad = ~np.isfinite(values)
            if bad.any():
                first = int(np.flatnonzero(bad)[0])
                raise ParameterError(
                    f"net.{table}.{column} is not a finite number in {int(bad.sum())} "
                    f"in-service rows, for example row {frame.index[first]} "
                    f"({frame[column].iloc[first]}); give every load a number (0 for none) "
                    "or set those rows out of service."
                )
        bus = pd.to_numeric(frame["bus"], errors="coerce").to_numpy(dtype=float)
        missing = [
            (row, b)
            for row, b in zip(frame.index.tolist(), bus.tolist())
            if not np.isfinite(b) or int(b) not in buses
        ]
        if missing:
            row, b = missing[0]
            raise ParameterError(
                f"net.{table} row {row} sits on bus {b:g}, which net.bus does not have "
                f"({len(missing)} such rows); fix the bus index of those loads or remove them."
            )
