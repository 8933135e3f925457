"""The original bayesgrid tool's keywords for an OpenStreetMap area, mapped onto ours.

The original quick start calls ``create_osm_pandapower_network(query_type="address",
query_address="...", dist=1500)``; its other forms name the area with ``query`` (a city or
place), ``query_point`` (``(lat, lon)``) or ``query_bbox``, and the substation with
``substation_point``. :func:`osm_arguments` turns those keywords into the arguments of
:func:`~bayesgrid_plugins.topology.feeder_from_osm`; a keyword given twice (``query`` and
``query_address`` with different values) or one that fits no query type is an error that
names it.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from .errors import ParameterError

__all__ = ["QUERY_KEYWORDS", "QUERY_TYPES", "osm_arguments"]

logger = logging.getLogger(__name__)

#: The original's query types and ours (``"city"`` is the original's name of a place query).
QUERY_TYPES = {
    "file": "file",
    "place": "place",
    "city": "place",
    "address": "address",
    "point": "point",
    "bbox": "bbox",
}
#: Which keyword carries the query of each type.
QUERY_KEYWORDS = {
    "place": "query_place",
    "address": "query_address",
    "point": "query_point",
    "bbox": "query_bbox",
}


def osm_arguments(
    query_type: str,
    query: Any,
    dist: float | None,
    keywords: dict[str, Any],
) -> dict[str, Any]:
    """Keyword arguments of ``feeder_from_osm`` from the original tool's keywords.

    Parameters
    ----------
    query_type : str
        ``"file"``, ``"place"`` (or ``"city"``), ``"address"``, ``"point"`` or ``"bbox"``.
    query : object
        The query given positionally or as ``query=``.
    dist : float or None
        Radius [m] around a point or address.
    keywords : dict
        Every other keyword: ``query_address``, ``query_point``, ``query_bbox``,
        ``query_place``, ``substation_point`` and the options of ``feeder_from_osm``.

    Returns
    -------
    dict
        ``source``, ``query``, ``dist_m`` and the remaining options, ready for
        ``feeder_from_osm(**arguments)``.

    Raises
    ------
    ParameterError
        An unknown query type or keyword, or a query given twice with different values.

    Examples
    --------
    >>> from bayesgrid_plugins.original_keywords import osm_arguments
    >>> osm_arguments("address", None, 1500, {"query_address": "Vaduz, Liechtenstein"})
    {'source': 'address', 'query': 'Vaduz, Liechtenstein', 'dist_m': 1500}
    """
    from .topology import feeder_from_osm

    if query_type not in QUERY_TYPES:
        raise ParameterError(
            f"query_type {query_type!r} is not one of {sorted(QUERY_TYPES)}; for example "
            "query_type='address', query_address='Vaduz, Liechtenstein'."
        )
    source = QUERY_TYPES[query_type]
    options = dict(keywords)
    given = {k: options.pop(k) for k in list(QUERY_KEYWORDS.values()) if k in options}
    own = QUERY_KEYWORDS.get(source)
    stray = sorted(k for k in given if k != own)
    if stray:
        raise ParameterError(
            f"{', '.join(stray)} does not go with query_type={query_type!r}"
            + (f"; give the query as {own}= (or query=)." if own else "; leave it out.")
        )
    if own in given:
        if query is not None and query != given[own]:
            raise ParameterError(
                f"query={query!r} and {own}={given[own]!r} name two areas; give one of them."
            )
        query = given[own]
    if "substation_point" in options:
        if options.get("substation") is not None:
            raise ParameterError(
                "give the substation as substation_point= or substation=, not both."
            )
        options["substation"] = options.pop("substation_point")
    known = set(inspect.signature(feeder_from_osm).parameters) - {"source", "query", "dist_m"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ParameterError(
            f"create_osm_pandapower_network got unknown keywords {unknown}; it takes query_type, "
            "query, query_address, query_point, query_bbox, query_place, dist, "
            f"substation_point and {', '.join(sorted(known))}."
        )
    if source == "point" and query is not None and options.get("point") is None:
        options["point"], query = query, None
    if source == "bbox" and query is not None and options.get("bbox") is None:
        options["bbox"], query = query, None
    if source == "place" and dist is not None:
        logger.info(
            "a %s query covers the place's boundary; dist=%s is not used (query_type='address' "
            "with dist= gives a circle)",
            query_type,
            dist,
        )
        dist = None
    return {"source": source, "query": query, "dist_m": dist, **options}
