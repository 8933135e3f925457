"""Reading power infrastructure from OSM files: substations and transmission lines.

One ``osmium`` pass over the file keeps the objects with a ``power`` tag:

- **Substations**: nodes and closed ways tagged ``power=substation``, or ``power=station`` (the
  deprecated tag some substations still carry, for example "Umspannwerk Schaan" in the
  Liechtenstein extract). A way's position is the mean of its vertices and its radius the
  largest vertex distance from there. Relations (multipolygon substations) are not read.
- **Lines**: ways tagged ``power=line`` or ``power=cable`` with their node ids, positions and
  the tags ``voltage``, ``cables`` and ``circuits``. ``power=minor_line`` (low and medium
  voltage) is left out: the distribution layer is synthesised from the streets.

``voltage`` holds volts, several values separated by ``;`` (``"20000;400"`` -> 20 and 0.4 kV);
text that is not a number is ignored.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from ..topology.geo import Region, haversine_m
from ..topology.osm import OsmReadError

__all__ = ["LINE_VALUES", "SUBSTATION_VALUES", "PowerFeatures", "parse_voltage_kv", "read_power"]

logger = logging.getLogger(__name__)

#: ``power`` values read as substations.
SUBSTATION_VALUES = frozenset({"substation", "station"})
#: ``power`` values read as transmission lines.
LINE_VALUES = frozenset({"line", "cable"})
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*$")
_UNDEFINED = 2147483647


def parse_voltage_kv(text: str | None) -> tuple[float, ...]:
    """Voltages [kV] of an OSM ``voltage`` tag (volts, ``;``-separated), highest first.

    >>> parse_voltage_kv("20000;400")
    (20.0, 0.4)
    >>> parse_voltage_kv("unknown")
    ()
    """
    if not text:
        return ()
    values = []
    for part in str(text).split(";"):
        match = _NUMBER.match(part)
        if match:
            volts = float(match.group(1))
            if volts > 0:
                values.append(volts / 1000.0)
    return tuple(sorted(set(values), reverse=True))


def _count(text: str | None) -> int:
    match = _NUMBER.match(text or "")
    return int(float(match.group(1))) if match else 0


@dataclass(frozen=True, eq=False)
class PowerFeatures:
    """Substations and transmission lines read from an OSM file.

    Attributes
    ----------
    sub_id : list of str
        ``"n<id>"`` or ``"w<id>"`` of each substation.
    sub_lon, sub_lat : ndarray of float
        Substation positions [deg].
    sub_radius_m : ndarray of float
        Largest vertex distance [m] from the position (0 for nodes).
    sub_kv : list of tuple of float
        Voltages [kV] from the ``voltage`` tag (empty when untagged).
    sub_kind : list of str
        The ``substation`` tag (``"transmission"``, ``"distribution"``, ...; ``""`` if absent).
    sub_name : list of str
        The ``name`` tag (``""`` if absent).
    line_id : list of int
        OSM way id of each line.
    line_kv : list of tuple of float
        Voltages [kV] of each line (empty when untagged).
    line_circuits : ndarray of int
        Circuits: the ``circuits`` tag, else ``cables // 3``, at least 1.
    line_nodes, line_lon, line_lat : list of ndarray
        Node ids and positions [deg] along each line.
    """

    sub_id: list[str] = field(default_factory=list)
    sub_lon: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sub_lat: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sub_radius_m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sub_kv: list[tuple[float, ...]] = field(default_factory=list)
    sub_kind: list[str] = field(default_factory=list)
    sub_name: list[str] = field(default_factory=list)
    line_id: list[int] = field(default_factory=list)
    line_kv: list[tuple[float, ...]] = field(default_factory=list)
    line_circuits: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    line_nodes: list[np.ndarray] = field(default_factory=list)
    line_lon: list[np.ndarray] = field(default_factory=list)
    line_lat: list[np.ndarray] = field(default_factory=list)

    @property
    def n_substations(self) -> int:
        """Number of substations."""
        return len(self.sub_id)

    @property
    def n_lines(self) -> int:
        """Number of line pieces."""
        return len(self.line_id)

    def summary(self) -> str:
        """One line: counts and voltages."""
        volts = sorted({v for kv in self.line_kv for v in kv}, reverse=True)
        untagged = sum(1 for kv in self.line_kv if not kv)
        return (
            f"{self.n_substations} substations, {self.n_lines} line pieces (voltages "
            f"{', '.join(f'{v:g}' for v in volts) or 'none'} kV; {untagged} without voltage)"
        )


def read_power(path: str | os.PathLike[str], *, region: Region | None = None) -> PowerFeatures:
    """Substations and transmission lines of an OSM file (see the module documentation).

    Parameters
    ----------
    path : path-like
        ``.osm``, ``.osm.bz2`` or ``.osm.pbf`` file.
    region : Region, optional
        Keep substations whose position is inside, and the parts of lines inside (a line is cut
        where it leaves the region; each inside run of at least two nodes is one piece).

    Returns
    -------
    PowerFeatures
    """
    import osmium

    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(f"OSM file {str(file)!r} does not exist; pass an existing extract.")
    if file.is_dir():
        raise ParameterError(f"path {str(file)!r} is a folder; pass the OSM file inside it.")
    subs: list[tuple[str, float, float, float, tuple[float, ...], str, str]] = []
    lines: list[tuple[int, tuple[float, ...], int, np.ndarray, np.ndarray, np.ndarray]] = []
    try:
        processor = (
            osmium.FileProcessor(str(file), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("power"))
        )
        for obj in processor:
            tags = obj.tags
            power = tags.get("power")
            if power in SUBSTATION_VALUES:
                kv = parse_voltage_kv(tags.get("voltage"))
                kind, name = tags.get("substation") or "", tags.get("name") or ""
                if isinstance(obj, osmium.osm.Node):
                    if obj.location.valid():
                        subs.append(
                            (f"n{obj.id}", obj.location.lon, obj.location.lat, 0.0, kv, kind, name)
                        )
                elif isinstance(obj, osmium.osm.Way):
                    xy = [(n.x, n.y) for n in obj.nodes if n.x != _UNDEFINED]
                    if len(xy) < 2:
                        continue
                    arr = np.asarray(xy, dtype=float) / 1e7
                    if len(obj.nodes) > 2 and obj.nodes[0].ref == obj.nodes[len(obj.nodes) - 1].ref:
                        arr = arr[:-1]
                    lon, lat = arr[:, 0].mean(), arr[:, 1].mean()
                    radius = float(haversine_m(lon, lat, arr[:, 0], arr[:, 1]).max())
                    subs.append((f"w{obj.id}", lon, lat, radius, kv, kind, name))
            elif power in LINE_VALUES and isinstance(obj, osmium.osm.Way):
                refs = np.asarray([n.ref for n in obj.nodes], dtype=np.int64)
                x = np.asarray([n.x for n in obj.nodes], dtype=np.int64)
                y = np.asarray([n.y for n in obj.nodes], dtype=np.int64)
                ok = (x != _UNDEFINED) & (y != _UNDEFINED)
                circuits = _count(tags.get("circuits")) or _count(tags.get("cables")) // 3
                lines.append(
                    (
                        obj.id,
                        parse_voltage_kv(tags.get("voltage")),
                        max(circuits, 1),
                        refs[ok],
                        x[ok] / 1e7,
                        y[ok] / 1e7,
                    )
                )
    except (RuntimeError, ValueError, OSError) as exc:
        raise OsmReadError(
            f"cannot read OSM file {str(file)!r}: {exc}. The file is truncated, corrupt or not "
            "OSM data; download it again or pass another extract."
        ) from exc

    if region is not None:
        subs = [s for s in subs if bool(region.contains(np.asarray([s[1]]), np.asarray([s[2]]))[0])]
        pieces = []
        for way, kv, circuits, refs, lon, lat in lines:
            inside = region.contains(lon, lat)
            # Runs of consecutive inside nodes.
            edges = np.flatnonzero(np.diff(np.r_[0, inside.astype(np.int8), 0]))
            for start, stop in zip(edges[0::2], edges[1::2]):
                if stop - start >= 2:
                    sl = slice(start, stop)
                    pieces.append((way, kv, circuits, refs[sl], lon[sl], lat[sl]))
        lines = pieces
    else:
        lines = [ln for ln in lines if ln[3].size >= 2]
    features = PowerFeatures(
        sub_id=[s[0] for s in subs],
        sub_lon=np.asarray([s[1] for s in subs], dtype=float),
        sub_lat=np.asarray([s[2] for s in subs], dtype=float),
        sub_radius_m=np.asarray([s[3] for s in subs], dtype=float),
        sub_kv=[s[4] for s in subs],
        sub_kind=[s[5] for s in subs],
        sub_name=[s[6] for s in subs],
        line_id=[ln[0] for ln in lines],
        line_kv=[ln[1] for ln in lines],
        line_circuits=np.asarray([ln[2] for ln in lines], dtype=np.int64),
        line_nodes=[ln[3] for ln in lines],
        line_lon=[ln[4] for ln in lines],
        line_lat=[ln[5] for ln in lines],
    )
    logger.debug("power features of %s: %s", file, features.summary())
    return features
