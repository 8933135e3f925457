"""Regions of a run: areas of an OpenStreetMap file, or feeders given directly.

A region is turned into a :class:`~bayesgrid_plugins.feeder.Feeder` once per run (on a worker,
as a task of its own); the feeder is stored in the run's folder, so a resumed run solves exactly
the feeder the interrupted run solved, even if the topology code changed in between.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import BayesGridError, ParameterError
from ...feeder import Feeder
from ...fileio import atomic_write_bytes

__all__ = [
    "DEFAULT_REGIONS",
    "FeederRegion",
    "OsmArea",
    "Region",
    "as_region",
    "build_region_feeder",
    "feeder_digest",
    "load_feeder",
    "save_feeder",
]


@dataclass(frozen=True)
class OsmArea:
    """A circular area of an OpenStreetMap file.

    Attributes
    ----------
    name : str
        Label of the region in the outputs.
    point : (float, float)
        Centre ``(lat, lon)`` [deg].
    dist_m : float
        Radius [m].
    path : str, optional
        OSM file; default the shipped Monaco extract.
    """

    name: str
    point: tuple[float, float]
    dist_m: float
    path: str | None = None

    def settings(self) -> dict[str, Any]:
        """What identifies the region (the file by its content digest)."""
        from ...topology import default_extract

        path = Path(self.path) if self.path is not None else default_extract()
        return {
            "type": "osm",
            "name": self.name,
            "point": [float(self.point[0]), float(self.point[1])],
            "dist_m": float(self.dist_m),
            "file": path.name,
            "file_sha256": _file_digest(path),
        }


@dataclass(frozen=True, eq=False)
class FeederRegion:
    """A feeder given directly (for example read from a real circuit)."""

    name: str
    feeder: Feeder

    def settings(self) -> dict[str, Any]:
        """What identifies the region (the feeder by the digest of its arrays)."""
        return {"type": "feeder", "name": self.name, "feeder_sha256": feeder_digest(self.feeder)}


Region = OsmArea | FeederRegion

#: Default regions: three areas of 400 m radius of the shipped Monaco extract (about 260-340
#: buses each).
DEFAULT_REGIONS: tuple[OsmArea, ...] = (
    OsmArea("monaco-centre", (43.7384, 7.4246), 400.0),
    OsmArea("monaco-southwest", (43.7310, 7.4190), 400.0),
    OsmArea("monaco-northeast", (43.7440, 7.4280), 400.0),
)

_FILE_DIGESTS: dict[tuple[str, int, int], str] = {}


def _file_digest(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError as exc:
        raise FileNotFoundError(
            f"OSM file {str(path)!r} of a region is not readable: {exc}"
        ) from exc
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _FILE_DIGESTS:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _FILE_DIGESTS[key] = digest.hexdigest()
    return _FILE_DIGESTS[key]


def as_region(item: Any, index: int) -> Region:
    """A region from an :class:`OsmArea`, a :class:`FeederRegion`, a ``Feeder`` or a tuple.

    Tuples are ``((lat, lon), dist_m)`` or ``((lat, lon), dist_m, path)``.
    """
    if isinstance(item, (OsmArea, FeederRegion)):
        return item
    if isinstance(item, Feeder):
        return FeederRegion(f"feeder-{index}", item)
    if isinstance(item, tuple) and len(item) in (2, 3):
        point, dist_m = item[0], item[1]
        path = str(item[2]) if len(item) == 3 and item[2] is not None else None
        try:
            lat, lon = (float(v) for v in point)
            dist = float(dist_m)
        except (TypeError, ValueError):
            raise ParameterError(
                f"regions[{index}] = {item!r}: expected ((lat, lon), dist_m[, path])."
            ) from None
        if not dist > 0:
            raise ParameterError(f"regions[{index}]: the radius must be positive, got {dist_m!r}.")
        return OsmArea(f"area-{index}", (lat, lon), dist, path)
    raise ParameterError(
        f"regions[{index}] is a {type(item).__name__}; give an OsmArea, a FeederRegion, a Feeder "
        "or ((lat, lon), dist_m[, path])."
    )


def build_region_feeder(region: Region) -> Feeder:
    """The feeder of a region (reads the OSM file for an :class:`OsmArea`, with the place's
    design demand per bus as ``demand_kw``)."""
    if isinstance(region, FeederRegion):
        return region.feeder
    from ...demand import place_demand
    from ...topology import feeder_from_osm

    osm = feeder_from_osm("file", path=region.path, point=region.point, dist_m=region.dist_m)
    # The place's design demand per bus (the conditioned sampler's input).
    place = place_demand(osm.feeder, osm.buildings, lon=osm.lon, lat=osm.lat)
    return osm.feeder.with_demand(place.p_kw)


_FEEDER_ARRAYS = ("bus_id", "parent", "length_km", "x", "y", "vn_kv", "is_load", "demand_kw")


def _feeder_arrays(feeder: Feeder) -> dict[str, np.ndarray]:
    arrays = {}
    for name in _FEEDER_ARRAYS:
        value = getattr(feeder, name)
        if value is not None:
            arrays[name] = np.asarray(value)
    arrays["bus_id"] = np.asarray(feeder.bus_id, dtype=str)
    return arrays


def feeder_digest(feeder: Feeder) -> str:
    """SHA-256 of a feeder's defining arrays (ids, tree, lengths, voltages, loads, zones)."""
    digest = hashlib.sha256()
    for name, value in _feeder_arrays(feeder).items():
        digest.update(name.encode())
        digest.update(str(value.dtype).encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    digest.update(json.dumps([feeder.crs, int(feeder.n_zones)]).encode())
    return digest.hexdigest()


def save_feeder(path: str | os.PathLike[str], feeder: Feeder, *, overwrite: bool = False) -> Path:
    """Store a feeder's defining arrays in one ``.npz`` (atomically; folders are created)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    arrays: dict[str, Any] = _feeder_arrays(feeder)
    np.savez_compressed(
        buffer,
        crs=np.asarray(feeder.crs or ""),
        n_zones=np.asarray(int(feeder.n_zones)),
        **arrays,
    )
    return atomic_write_bytes(path, buffer.getvalue(), overwrite=overwrite, what="feeder")


def load_feeder(path: str | os.PathLike[str]) -> Feeder:
    """The feeder :func:`save_feeder` stored."""
    try:
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise BayesGridError(f"{str(path)!r} is not a readable feeder file ({exc})") from exc
    crs = str(arrays.pop("crs")) or None
    n_zones = int(arrays.pop("n_zones"))
    return Feeder(crs=crs, n_zones=n_zones, **arrays)
