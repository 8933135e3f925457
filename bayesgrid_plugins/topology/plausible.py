"""Plausibility of a feeder built from map data: refuse one the input cannot have meant.

One wrong node position (a duplicated node id, a coordinate typo) can stretch a street across a
continent; cut into 50 m spans it becomes a feeder of a million buses and tens of thousands of
kilometres, built and written without complaint. :func:`check_plausible` compares what is built
with the input it came from and refuses, naming the cause, when

* the buses outnumber the input's street nodes by more than :data:`BUSES_PER_NODE` (plus
  :data:`SPARE_BUSES`): long streets are cut into spans, but a real street network has a node at
  least every few hundred metres;
* the total line length exceeds :data:`LENGTH_PER_EXTENT` times the input's extent (plus
  :data:`SPARE_KM`): a dense city grid with streets every 10 m holds about 200 km of street per
  km of extent squared over 1 km;
* a bus lies farther from the substation (along the feeder) than :data:`FARTHEST_PER_EXTENT`
  times the extent (plus 1 km).

The extent is the diameter of the requested area (circle or box), or the bounds the OSM file
declares in its header, or else the diagonal of its street nodes.
"""

from __future__ import annotations

from ..errors import FeederValidationError

__all__ = [
    "BUSES_PER_NODE",
    "FARTHEST_PER_EXTENT",
    "LENGTH_PER_EXTENT",
    "SPARE_BUSES",
    "SPARE_KM",
    "check_plausible",
]

#: Most buses per street node of the input.
BUSES_PER_NODE = 100
#: Buses always allowed on top of ``BUSES_PER_NODE`` times the nodes.
SPARE_BUSES = 1000
#: Most line length [km] per km of the input's extent.
LENGTH_PER_EXTENT = 200.0
#: Line length [km] always allowed on top.
SPARE_KM = 10.0
#: Most distance along the feeder per km of the input's extent.
FARTHEST_PER_EXTENT = 10.0


def check_plausible(
    *,
    n_buses: int,
    total_km: float,
    farthest_km: float,
    n_input_nodes: int,
    extent_km: float,
    source: str,
) -> None:
    """Refuse a feeder whose size does not fit its input (see the module notes).

    Parameters
    ----------
    n_buses : int
        Buses of the feeder (or the estimate before building).
    total_km : float
        Total line (street) length [km].
    farthest_km : float
        Distance [km] of the farthest bus from the substation (along the feeder, or straight
        before building).
    n_input_nodes : int
        Street nodes of the input.
    extent_km : float
        Extent [km] of the input (see the module notes).
    source : str
        The input, for the message.

    Raises
    ------
    FeederValidationError
        Naming the check that failed, the figures and what to do.
    """
    hint = (
        "A node with a wrong position (a duplicated node id, a coordinate typo, a node far "
        f"outside the extract) usually causes this: check the nodes of {source}, crop it to "
        "the area you want (point= + dist_m=, or bbox=), or pass plausibility=False if the "
        "network really is this large."
    )
    extent_km = max(float(extent_km), 0.0)
    bus_limit = BUSES_PER_NODE * int(n_input_nodes) + SPARE_BUSES
    if n_buses > bus_limit:
        raise FeederValidationError(
            f"implausible feeder: {n_buses:,} buses from only {n_input_nodes:,} street nodes "
            f"(more than {BUSES_PER_NODE} buses per node), with {total_km:,.0f} km of line. " + hint
        )
    length_limit = LENGTH_PER_EXTENT * extent_km + SPARE_KM
    if total_km > length_limit:
        raise FeederValidationError(
            f"implausible feeder: {total_km:,.1f} km of line in an input that spans only "
            f"{extent_km:,.2f} km (at most {length_limit:,.0f} km expected). " + hint
        )
    far_limit = FARTHEST_PER_EXTENT * extent_km + 1.0
    if farthest_km > far_limit:
        raise FeederValidationError(
            f"implausible feeder: a bus lies {farthest_km:,.1f} km from the substation, but "
            f"the input spans only {extent_km:,.2f} km (at most {far_limit:,.1f} km expected). "
            + hint
        )
