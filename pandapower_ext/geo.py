"""Geodata of pandapower nets: ``bus.geo`` and ``line.geo`` as GeoJSON text in WGS 84.

pandapower (3.x) keeps coordinates in the ``geo`` column of ``net.bus`` and ``net.line`` as GeoJSON
geometry strings and its plotting functions (``pandapower.plotting.simple_plot``) parse them with
:func:`json.loads`. A feeder's coordinates are in the feeder's CRS (usually UTM metres); here
they are transformed to longitude/latitude [degrees] on WGS 84 (EPSG:4326), the CRS GeoJSON
requires (RFC 7946), with the core's :func:`~bayesgrid_plugins.exporters.geojson.lonlat`. When
the feeder has no CRS, the raw coordinates are written unchanged and the net records
``net["bayesgrid"]["crs"] = None``. A bus or line end without coordinates gets no geometry
(``None``).
"""

from __future__ import annotations

import json

import numpy as np

from bayesgrid_plugins.exporters.geojson import lonlat
from bayesgrid_plugins.feeder import Feeder

__all__ = ["bus_geo", "feeder_lonlat", "line_geo", "xy_lonlat"]


def xy_lonlat(x: np.ndarray, y: np.ndarray, crs: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates ``x, y`` in ``crs`` as longitude and latitude [degrees] (raw when None).

    Examples
    --------
    >>> import numpy as np
    >>> from pandapower_ext.geo import xy_lonlat
    >>> lon, lat = xy_lonlat(np.array([500000.0]), np.array([4649776.0]), "EPSG:32632")
    >>> round(float(lon[0]), 3), round(float(lat[0]), 3)
    (9.0, 42.0)
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if crs is None:
        return x.copy(), y.copy()
    from pyproj import Transformer

    lon, lat = np.full_like(x, np.nan), np.full_like(y, np.nan)
    known = np.isfinite(x) & np.isfinite(y)
    if known.any():
        transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        lon[known], lat[known] = transformer.transform(x[known], y[known])
    return lon, lat


def feeder_lonlat(feeder: Feeder) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Bus coordinates of ``feeder`` as longitude and latitude [degrees], and their CRS.

    Returns ``(x, y, crs)``: ``crs`` is ``"EPSG:4326"`` when the feeder has a CRS, else None
    (the raw coordinates). NaN marks unknown coordinates.

    Examples
    --------
    >>> from bayesgrid_plugins import Feeder
    >>> from pandapower_ext.geo import feeder_lonlat
    >>> f = Feeder.from_edges([("s", "a", 0.1)], "s", coords={"s": (500000.0, 4649776.0),
    ...     "a": (500100.0, 4649776.0)}, crs="EPSG:32632")
    >>> lon, lat, crs = feeder_lonlat(f)
    >>> round(float(lon[0]), 3), round(float(lat[0]), 3), crs
    (9.0, 42.0, 'EPSG:4326')
    """
    return lonlat(feeder)


def bus_geo(x: np.ndarray, y: np.ndarray) -> list[str | None]:
    """One GeoJSON ``Point`` per bus (None where a coordinate is not finite).

    Examples
    --------
    >>> import numpy as np
    >>> from pandapower_ext.geo import bus_geo
    >>> bus_geo(np.array([7.42, np.nan]), np.array([43.73, 1.0]))
    ['{"coordinates": [7.42, 43.73], "type": "Point"}', None]
    """
    ok = np.isfinite(x) & np.isfinite(y)
    return [
        json.dumps({"coordinates": [float(a), float(b)], "type": "Point"}) if good else None
        for a, b, good in zip(x.tolist(), y.tolist(), ok.tolist())
    ]


def line_geo(
    x: np.ndarray, y: np.ndarray, from_bus: np.ndarray, to_bus: np.ndarray
) -> list[str | None]:
    """One two-point GeoJSON ``LineString`` per line from ``from_bus`` to ``to_bus`` (positions).

    A line with an end without finite coordinates gets None.

    Examples
    --------
    >>> import numpy as np
    >>> from pandapower_ext.geo import line_geo
    >>> line_geo(np.array([0.0, 1.0]), np.array([0.0, 2.0]), np.array([0]), np.array([1]))
    ['{"coordinates": [[0.0, 0.0], [1.0, 2.0]], "type": "LineString"}']
    """
    ok = np.isfinite(x) & np.isfinite(y)
    xs, ys, oks = x.tolist(), y.tolist(), ok.tolist()
    return [
        json.dumps({"coordinates": [[xs[a], ys[a]], [xs[b], ys[b]]], "type": "LineString"})
        if oks[a] and oks[b]
        else None
        for a, b in zip(np.asarray(from_bus).tolist(), np.asarray(to_bus).tolist())
    ]
