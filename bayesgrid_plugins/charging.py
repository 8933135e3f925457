"""Which lines carry their shunt capacitance: the one rule every engine applies.

A line into a bus that has all three phases in a realisation keeps its capacitance (C1, C0); a
one- or two-phase lateral has none in that realisation, in every engine.

Why: pandapower and power-grid-model have no one- or two-phase lines, so they build a
partial-phase lateral as a three-phase sequence line. Its absent conductors are energised and
draw charging current, which flows upstream on phases that exist, while OpenDSS's phase-accurate
line has no such conductor. On the default Monaco feeder (13.8 kV, about 30 km of partial-phase
laterals) that moved voltages by up to 2.1e-4 p.u. between OpenDSS and the sequence engines. No
sequence line can charge only some of its conductors (a three-phase line's capacitance is one
symmetric matrix, and a per-phase shunt exists in neither engine), so the capacitance of
partial-phase laterals is dropped everywhere; OpenDSS drops it too, so the three engines solve
the same grid. Trunk lines (three-phase in the realisation) keep their capacitance.

What it costs, measured in OpenDSS (phase accurate) against the same circuit with the
laterals' capacitance: ``docs/engines.md`` ("Line capacitance of partial-phase laterals").
The OpenDSS engine can keep it (``CircuitOptions(partial_phase_charging=True)``) to see the
difference on a feeder.
"""

from __future__ import annotations

import numpy as np

from .phases import PHASE_ABC

__all__ = ["lateral_capacitance", "line_charged"]


def line_charged(bus_phases: np.ndarray) -> np.ndarray:
    """Whether the line into each bus keeps its shunt capacitance.

    Parameters
    ----------
    bus_phases : ndarray of uint8, any shape
        Phase masks of the buses the lines feed (``ensemble.bus_phases[k, line_bus]``).

    Returns
    -------
    ndarray of bool, the shape of ``bus_phases``
        True where the bus has all three phases.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesgrid_plugins.charging import line_charged
    >>> line_charged(np.array([7, 1, 3, 0], dtype=np.uint8)).tolist()
    [True, False, False, False]
    """
    return np.asarray(bus_phases) == PHASE_ABC


def lateral_capacitance(c_nf_per_km: np.ndarray, bus_phases: np.ndarray) -> np.ndarray:
    """Capacitance [nF/km] with the rule applied: zero on lines into partial-phase buses.

    Parameters
    ----------
    c_nf_per_km : ndarray
        Positive- or zero-sequence capacitance of each line [nF/km].
    bus_phases : ndarray of uint8
        Phase masks of the buses the lines feed, broadcastable to ``c_nf_per_km``.

    Returns
    -------
    ndarray of float
        ``c_nf_per_km`` where the bus has three phases, 0 elsewhere.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesgrid_plugins.charging import lateral_capacitance
    >>> lateral_capacitance(np.array([273.0, 273.0]), np.array([7, 2])).tolist()
    [273.0, 0.0]
    """
    return np.where(line_charged(bus_phases), np.asarray(c_nf_per_km, dtype=float), 0.0)
