"""Small geodesy helpers: great-circle lengths, regions and the UTM projection.

Coordinates follow the OpenStreetMap order in arrays (``lon``, ``lat`` in degrees, WGS84); points
given by users are ``(lat, lon)`` tuples and bounding boxes ``(west, south, east, north)``, as in
osmnx 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ParameterError

__all__ = [
    "EARTH_RADIUS_M",
    "Region",
    "haversine_m",
    "to_utm",
    "utm_crs",
]

#: Mean earth radius [m] used for great-circle lengths (the value osmnx uses too).
EARTH_RADIUS_M = 6_371_009.0


def haversine_m(
    lon1: np.ndarray | float,
    lat1: np.ndarray | float,
    lon2: np.ndarray | float,
    lat2: np.ndarray | float,
) -> np.ndarray:
    """Great-circle distance [m] between points given in degrees (vectorised)."""
    lam1, phi1, lam2, phi2 = (
        np.radians(np.asarray(a, dtype=float)) for a in (lon1, lat1, lon2, lat2)
    )
    h = (
        np.sin((phi2 - phi1) / 2) ** 2
        + np.cos(phi1) * np.cos(phi2) * np.sin((lam2 - lam1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def utm_crs(lon: float, lat: float) -> str:
    """EPSG code of the UTM zone holding ``(lon, lat)`` [deg], e.g. ``"EPSG:32632"``.

    The regular 6-degree zones are used everywhere (the Norway and Svalbard exceptions are
    ignored: the projection stays valid, only slightly less accurate there).
    """
    zone = int((float(lon) + 180.0) // 6.0) % 60 + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def to_utm(lon: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS84 ``lon``, ``lat`` [deg] to ``crs`` (metres east, north)."""
    from pyproj import Transformer

    transformer = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = transformer.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _check_point(point: Any, name: str) -> tuple[float, float]:
    try:
        lat, lon = (float(v) for v in point)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name} must be a (lat, lon) pair in degrees, got {point!r}."
        ) from None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise ParameterError(
            f"{name}={point!r} is not a valid (lat, lon) in degrees: latitude must lie in "
            "[-90, 90] and longitude in [-180, 180] (did you swap them?)."
        )
    return lat, lon


@dataclass(frozen=True)
class Region:
    """An area to keep: a circle (``point`` + ``dist_m``) or a bounding box.

    Parameters
    ----------
    point : (float, float), optional
        Centre ``(lat, lon)`` [deg] of a circle.
    dist_m : float, optional
        Radius [m] of the circle (great-circle distance).
    bbox : (float, float, float, float), optional
        ``(west, south, east, north)`` [deg].
    """

    point: tuple[float, float] | None = None
    dist_m: float | None = None
    bbox: tuple[float, float, float, float] | None = None

    @classmethod
    def make(
        cls,
        *,
        point: object = None,
        dist_m: Any = None,
        bbox: Any = None,
    ) -> Region | None:
        """Validate the arguments and build a region (``None`` when nothing was given)."""
        if bbox is not None and (point is not None or dist_m is not None):
            raise ParameterError("give either bbox or point + dist_m to crop the area, not both.")
        if bbox is not None:
            try:
                west, south, east, north = (float(v) for v in bbox)
            except (TypeError, ValueError):
                raise ParameterError(
                    f"bbox must be (west, south, east, north) in degrees, got {bbox!r}."
                ) from None
            if not all(map(math.isfinite, (west, south, east, north))) or not (
                -180 <= west < east <= 180 and -90 <= south < north <= 90
            ):
                raise ParameterError(
                    f"bbox={bbox!r} is not a valid (west, south, east, north) box in degrees: "
                    "west must be below east and south below north."
                )
            return cls(bbox=(west, south, east, north))
        if dist_m is not None:
            try:
                dist = float(dist_m)
            except (TypeError, ValueError):
                raise ParameterError(
                    f"dist_m must be a number of metres, got {dist_m!r}."
                ) from None
            if not (math.isfinite(dist) and dist > 0):
                raise ParameterError(
                    f"dist_m={dist_m!r}: the radius of the area must be a positive distance [m], "
                    "for example dist_m=1500."
                )
            if point is None:
                raise ParameterError("dist_m needs a centre: pass point=(lat, lon) too.")
            return cls(point=_check_point(point, "point"), dist_m=dist)
        if point is not None:
            raise ParameterError(
                "point was given without dist_m: pass dist_m (the radius [m]) to crop a circle, "
                "or substation=(lat, lon) to place the substation only."
            )
        return None

    @property
    def lonlat_box(self) -> tuple[float, float, float, float]:
        """A ``(west, south, east, north)`` box [deg] that contains the region."""
        if self.bbox is not None:
            return self.bbox
        assert self.point is not None and self.dist_m is not None
        lat, lon = self.point
        dlat = math.degrees(self.dist_m / EARTH_RADIUS_M)
        coslat = max(math.cos(math.radians(lat)), 1e-6)
        dlon = min(math.degrees(self.dist_m / (EARTH_RADIUS_M * coslat)), 180.0)
        return (lon - dlon, lat - dlat, lon + dlon, lat + dlat)

    @property
    def centre(self) -> tuple[float, float]:
        """``(lat, lon)`` [deg] of the region's centre."""
        if self.point is not None:
            return self.point
        assert self.bbox is not None
        west, south, east, north = self.bbox
        return ((south + north) / 2, (west + east) / 2)

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Boolean mask of the points inside the region."""
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        west, south, east, north = self.lonlat_box
        inside = (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
        if self.point is not None:
            idx = np.flatnonzero(inside)
            plat, plon = self.point
            inside[idx] = haversine_m(plon, plat, lon[idx], lat[idx]) <= self.dist_m
        return inside

    def describe(self) -> str:
        """Human-readable description for messages."""
        if self.bbox is not None:
            return f"bbox (west, south, east, north) = {self.bbox}"
        return f"{self.dist_m:g} m around (lat, lon) = {self.point}"
