"""Names of OpenDSS line codes after the conductor type they stand for.

A line code is named after its conductor (the impedance model's type drawn for the line, or the
default line type of the bus's voltage level) and its phase count: ``nayy_4x150_se_3ph``,
``3p_oh_al_acsr_477kcmil_hawk_12_47_0_3_3_1ph``. The name is the type's name in lower case with
every character OpenDSS could read as syntax (space, dot, slash, ``=``, brackets...) replaced
by ``_``. Codes of one type that differ in their data (continuous variation of sampled
impedances, or a decoupled lateral in the all-three-phase mode) get ``_2``, ``_3``... in the
order they are first used.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

import numpy as np

from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.equipment import LV_MAX_KV
from bayesgrid_plugins.feeder import Feeder

__all__ = ["conductor_names", "linecode_name"]

_UNSAFE = re.compile(r"[^a-z0-9_\-]+")


def conductor_names(
    feeder: Feeder, ensemble: Ensemble, realisation: int, options: Any
) -> np.ndarray:
    """Conductor type name of the line into each bus in a realisation (object array).

    The impedance model's type names (``ensemble.line_type`` with
    ``ensemble.metadata["line_type_names"]``) where the ensemble has them, else the name of
    ``options.lv_line`` or ``options.mv_line`` by the bus's voltage level.

    Examples
    --------
    >>> from bayesgrid_plugins import BayesianPowerModel, Feeder
    >>> from opendss_ext import CircuitOptions
    >>> from opendss_ext.linecode_names import conductor_names
    >>> feeder = Feeder.from_edges([("s", "a", 0.1)], "s", vn_kv=0.4)
    >>> ens = BayesianPowerModel().sample(feeder, 1, rng=1)
    >>> conductor_names(feeder, ens, 0, CircuitOptions())[1]
    'NAYY 4x150 SE'
    """
    lv = feeder.vn_kv <= LV_MAX_KV
    names = np.where(lv, options.lv_line.name, options.mv_line.name).astype(object)
    types = getattr(ensemble, "line_type", None)
    known = ensemble.metadata.get("line_type_names")
    if types is not None and isinstance(known, list) and known:
        chosen = np.asarray(types[realisation], dtype=np.int64)
        ok = (chosen >= 0) & (chosen < len(known))
        table = np.asarray(known, dtype=object)
        names[ok] = table[chosen[ok]]
    return names


def linecode_name(conductor: str, n_phases: int, taken: Collection[str]) -> str:
    """An OpenDSS-safe line code name for ``conductor`` with ``n_phases`` phases, not in ``taken``.

    Examples
    --------
    >>> from opendss_ext.linecode_names import linecode_name
    >>> linecode_name("NAYY 4x150 SE", 3, set())
    'nayy_4x150_se_3ph'
    >>> linecode_name("NAYY 4x150 SE", 3, {"nayy_4x150_se_3ph"})
    'nayy_4x150_se_3ph_2'
    """
    base = _UNSAFE.sub("_", str(conductor).lower()).strip("_") or "line"
    name = f"{base}_{int(n_phases)}ph"
    if name not in taken:
        return name
    k = 2
    while f"{name}_{k}" in taken:
        k += 1
    return f"{name}_{k}"
