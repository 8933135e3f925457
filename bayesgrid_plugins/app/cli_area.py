"""Where the streets come from, from the area options of ``bayesgrid generate``.

One rule: ``--osm FILE`` reads a file, cropped to ``--point``/``--dist`` or to ``--bbox`` when
given; without ``--osm``, ``--place``, ``--address``, ``--point`` or ``--bbox`` query
OpenStreetMap (one of them); with none of them the shipped extract is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ParameterError

__all__ = ["area_source"]


def area_source(
    *,
    osm: Path | None,
    place: str | None,
    address: str | None,
    point: tuple[float, float] | None,
    bbox: tuple[float, float, float, float] | None,
) -> tuple[str, Any, tuple[float, float] | None, tuple[float, float, float, float] | None]:
    """``(source, query, point, bbox)`` for :func:`~bayesgrid_plugins.topology.feeder_from_osm`.

    The centre or box is given once: as the query of an online ``"point"`` or ``"bbox"``
    source, or as ``point``/``bbox`` that crop a file.

    Raises
    ------
    ParameterError
        Options that name two different areas, named as typed (``--point`` and ``--bbox``).

    Examples
    --------
    >>> from bayesgrid_plugins.app.cli_area import area_source
    >>> area_source(osm=None, place=None, address=None, point=(47.1, 9.5), bbox=None)
    ('point', (47.1, 9.5), None, None)
    """
    if point is not None and bbox is not None:
        raise ParameterError("--point and --bbox name two areas; give one of them.")
    online = [name for name, value in (("--place", place), ("--address", address)) if value]
    if online and (point is not None or bbox is not None):
        shown = "--point" if point is not None else "--bbox"
        raise ParameterError(
            f"{online[0]} takes its area from OpenStreetMap; {shown} is not used with it "
            "(give --dist for the radius around an --address)."
        )
    if osm is not None:
        return "file", None, point, bbox
    if place:
        return "place", place, None, None
    if address:
        return "address", address, None, None
    if point is not None:
        return "point", point, None, None
    if bbox is not None:
        return "bbox", bbox, None, None
    return "file", None, None, None
