"""The rules of unbalancing a real network, the same whichever engine read it.

Unbalancing (``bayesgrid unbalance``, :func:`pandapower_ext.unbalance_net`,
:func:`opendss_ext.unbalance_circuit`) reads a network's balanced loads, sums them into one total
P and Q per bus, samples phases and per-phase shares that keep those totals exactly
(:func:`sample_unbalanced`) and writes the realisations back into the engine's network. Reading
and writing belong to the engine; the sampling and its rules are here, so that one network
read from an OpenDSS circuit and from a pandapower net is unbalanced alike:

- a bus on a loop, and a source bus, carries all three phases (its branches are three-phase
  in any engine; :class:`~bayesgrid_plugins.topology.forest.SpanningForest` ``on_loop``);
- a single load above :data:`DEFAULT_THREE_PHASE_ABOVE_KVA` stays three-phase in every
  realisation, and one :class:`~bayesgrid_plugins.errors.LargeLoadWarning` names those loads.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .ensemble import Ensemble
from .errors import LargeLoadWarning
from .feeder import Feeder

__all__ = ["DEFAULT_THREE_PHASE_ABOVE_KVA", "large_load_buses", "sample_unbalanced"]

#: Loads larger than this [kVA] stay three-phase by default. Single-phase connections end far
#: below it: 63 A x 230 V = 14.5 kVA is a common European limit, and a 400 A, 240 V North
#: American single-phase service is 96 kVA; a station or MV customer of megawatts on one phase
#: would unbalance a feeder beyond anything built.
DEFAULT_THREE_PHASE_ABOVE_KVA = 100.0


def large_load_buses(
    feeder: Feeder,
    bus_id: Sequence[str],
    s_kva: np.ndarray,
    names: Sequence[str],
    above_kva: float | None = DEFAULT_THREE_PHASE_ABOVE_KVA,
    *,
    hint: str = "three_phase_above_kva=None",
) -> np.ndarray:
    """Buses whose load must stay three-phase: a load above ``above_kva`` [kVA]; warns once.

    Parameters
    ----------
    feeder : Feeder
        The feeder the loads sit on.
    bus_id : sequence of str
        The feeder bus of each load.
    s_kva : ndarray
        Apparent power of each load [kVA].
    names : sequence of str
        Each load's name, for the warning.
    above_kva : float or None
        The threshold [kVA]; None forces nothing.
    hint : str
        How the caller switches the rule off, for the warning.

    Returns
    -------
    ndarray of bool, shape (n_buses,)
    """
    big_bus = np.zeros(feeder.n_buses, dtype=bool)
    s = np.asarray(s_kva, dtype=float)
    if above_kva is None or s.size == 0:
        return big_bus
    big = np.flatnonzero(s > float(above_kva))
    if big.size == 0:
        return big_bus
    big_bus[feeder.index_of([str(bus_id[j]) for j in big.tolist()])] = True
    shown = ", ".join(repr(str(names[j])) for j in big[:10].tolist())
    warnings.warn(
        f"{big.size} loads exceed {float(above_kva):g} kVA and stay three-phase: {shown}"
        f"{' ...' if big.size > 10 else ''}. Pass {hint} to let the model choose their phases.",
        LargeLoadWarning,
        stacklevel=3,
    )
    return big_bus


def sample_unbalanced(
    feeder: Feeder,
    p_bus: np.ndarray,
    q_bus: np.ndarray,
    n: int,
    *,
    params: Any,
    rng: Any,
    on_loop: np.ndarray | None,
    large: np.ndarray | None,
) -> Ensemble:
    """Realisations keeping each bus's total P [kW] and Q [kvar], under the module's rules.

    ``on_loop`` marks the buses that carry all three phases (loops and sources), ``large`` the
    buses whose load stays three-phase (:func:`large_load_buses`).
    """
    from .models.conditioned import sample_conditioned

    return sample_conditioned(
        feeder,
        p_bus,
        q_bus,
        n,
        model=params,
        rng=rng,
        three_phase=on_loop,
        three_phase_loads=large if large is not None and large.any() else None,
    )
