"""The ``geojson`` exporter: buses and lines with their phases, for GIS tools.

One file per realisation, ``realisation_0007.geojson``: a FeatureCollection with one ``Point``
feature per bus and one two-point ``LineString`` feature per line (parent bus to bus), in the
feeder's bus order, buses first. A bus without coordinates, or a line with an end without them,
has a ``null`` geometry.

Coordinates
    When ``feeder.crs`` is set, coordinates are transformed to longitude/latitude on WGS 84
    (EPSG:4326), as RFC 7946 requires (``pyproj``, imported only then). When ``feeder.crs`` is
    None the raw coordinates are written as they are and the collection says so with
    ``"crs": null`` (no CRS can be assumed); GIS tools will read them as if they were degrees.
    The foreign member ``"bayesgrid"`` records the realisation, the feeder's CRS and what the
    coordinates are in.

Properties of a bus
    ``kind`` ("bus"), ``bus_id``, ``is_source``, ``phases`` (letters in A-B-C order, "" for
    none), ``phase_set`` (the same as a list), ``n_phases``, ``load_phases``, ``load_phase_set``,
    ``p_a_kw``, ``p_b_kw``, ``p_c_kw``, ``q_a_kvar``, ``q_b_kvar``, ``q_c_kvar``, ``p_kw`` (total),
    ``vn_kv``, ``distance_km``, and ``caifi``, ``caidi_h`` when the ensemble has them.

Properties of a line
    ``kind`` ("line"), ``line_id`` (the id of the bus it feeds: line ``i`` feeds bus ``i``),
    ``from_bus``, ``to_bus``, ``phases``, ``phase_set``, ``n_phases``, ``length_km``, and the
    line data of the ensemble where present (``r1_ohm_per_km``, ..., ``max_i_ka``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import hookimpl
from ..ensemble import BUS_FIELDS, LINE_FIELDS
from ..errors import ParameterError
from ..feeder import Feeder
from ..fileio import atomic_write_text
from ..phases import n_phases, phases_from_mask
from ._common import check_new_files, realisation_stem, reject_unknown_options
from .base import Exporter, ExportRequest

__all__ = ["WGS84", "GeoJsonExporter", "feature_collection", "lonlat"]

#: The CRS of GeoJSON coordinates (RFC 7946).
WGS84 = "EPSG:4326"
_PHASES = [phases_from_mask(m) for m in range(8)]
_PHASE_SETS = [list(p) for p in _PHASES]


def lonlat(feeder: Feeder) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Bus coordinates for GeoJSON.

    Returns
    -------
    x, y : ndarray
        Longitude and latitude [degrees] when ``feeder.crs`` is set (NaN stays NaN); the raw
        coordinates when it is None.
    crs : str or None
        ``"EPSG:4326"``, or None for raw coordinates.

    Raises
    ------
    ParameterError
        If pyproj does not understand ``feeder.crs``.
    """
    x, y = np.asarray(feeder.x, dtype=float), np.asarray(feeder.y, dtype=float)
    if feeder.crs is None:
        return x.copy(), y.copy(), None
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        source = CRS.from_user_input(feeder.crs)
    except CRSError as exc:
        raise ParameterError(
            f"feeder.crs {feeder.crs!r} is not a CRS pyproj knows ({exc}); give an EPSG code "
            "such as 'EPSG:32633', or None for raw coordinates."
        ) from exc
    if source.to_epsg() == 4326:
        return x.copy(), y.copy(), WGS84
    transformer = Transformer.from_crs(source, WGS84, always_xy=True)
    lon, lat = np.full_like(x, np.nan), np.full_like(y, np.nan)
    known = np.isfinite(x) & np.isfinite(y)
    if known.any():
        lon[known], lat[known] = transformer.transform(x[known], y[known])
    return lon, lat, WGS84


def _clean(value: Any) -> Any:
    """NaN and infinities become None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _present(ensemble: Any, names: tuple[str, ...], k: int) -> dict[str, list[Any]]:
    """Realisation ``k`` of the optional fields the ensemble has, as lists."""
    return {n: getattr(ensemble, n)[k].tolist() for n in names if getattr(ensemble, n) is not None}


def feature_collection(
    feeder: Feeder,
    ensemble: Any,
    k: int,
    *,
    coords: tuple[np.ndarray, np.ndarray, str | None] | None = None,
) -> dict[str, Any]:
    """The GeoJSON FeatureCollection of realisation ``k`` as a dict (see the module docs)."""
    x, y, crs = lonlat(feeder) if coords is None else coords
    xs, ys = x.tolist(), y.tolist()
    has_xy = (np.isfinite(x) & np.isfinite(y)).tolist()
    bus_id = feeder.bus_id.tolist()
    parent = feeder.parent.tolist()
    masks = (ensemble.bus_phases[k] & 7).tolist()
    load_masks = (ensemble.load_phases[k] & 7).tolist()
    count = n_phases(ensemble.bus_phases[k]).tolist()
    p, q = ensemble.p_kw[k].tolist(), ensemble.q_kvar[k].tolist()
    p_total = ensemble.p_kw[k].sum(axis=1).tolist()
    vn_kv, dist = feeder.vn_kv.tolist(), feeder.distance_km.tolist()
    length = feeder.length_km.tolist()
    bus_extra = _present(ensemble, BUS_FIELDS, k)
    line_extra = _present(ensemble, LINE_FIELDS, k)

    def point(i: int) -> dict[str, Any] | None:
        return {"type": "Point", "coordinates": [xs[i], ys[i]]} if has_xy[i] else None

    features: list[dict[str, Any]] = []
    for i in range(feeder.n_buses):
        props = {
            "kind": "bus",
            "bus_id": bus_id[i],
            "is_source": i == feeder.source,
            "phases": _PHASES[masks[i]],
            "phase_set": _PHASE_SETS[masks[i]],
            "n_phases": count[i],
            "load_phases": _PHASES[load_masks[i]],
            "load_phase_set": _PHASE_SETS[load_masks[i]],
            "p_a_kw": p[i][0],
            "p_b_kw": p[i][1],
            "p_c_kw": p[i][2],
            "q_a_kvar": q[i][0],
            "q_b_kvar": q[i][1],
            "q_c_kvar": q[i][2],
            "p_kw": p_total[i],
            "vn_kv": vn_kv[i],
            "distance_km": dist[i],
        }
        props.update({n: _clean(values[i]) for n, values in bus_extra.items()})
        features.append({"type": "Feature", "geometry": point(i), "properties": props})
    for i in feeder.lines.tolist():
        j = parent[i]
        geometry = (
            {"type": "LineString", "coordinates": [[xs[j], ys[j]], [xs[i], ys[i]]]}
            if has_xy[i] and has_xy[j]
            else None
        )
        props = {
            "kind": "line",
            "line_id": bus_id[i],
            "from_bus": bus_id[j],
            "to_bus": bus_id[i],
            "phases": _PHASES[masks[i]],
            "phase_set": _PHASE_SETS[masks[i]],
            "n_phases": count[i],
            "length_km": length[i],
        }
        props.update({n: _clean(values[i]) for n, values in line_extra.items()})
        features.append({"type": "Feature", "geometry": geometry, "properties": props})

    collection: dict[str, Any] = {"type": "FeatureCollection"}
    if crs is None:
        collection["crs"] = None
    collection["bayesgrid"] = {
        "realisation": int(k),
        "feeder_crs": feeder.crs,
        "coordinates": (
            "longitude/latitude, EPSG:4326"
            if crs is not None
            else "raw feeder coordinates: the feeder has no CRS"
        ),
    }
    collection["features"] = features
    return collection


class GeoJsonExporter:
    """Buses (points) and lines (line strings) with their phase sets, one file per realisation."""

    name = "geojson"
    description = "realisation_NNNN.geojson: buses and lines with their phases, WGS 84"
    suffix = ".geojson"

    def export(self, request: ExportRequest) -> list[Path]:
        """Write one ``.geojson`` file per requested realisation."""
        reject_unknown_options(request, self.name, ())
        paths = check_new_files(
            [request.output_dir / f"{realisation_stem(k)}.geojson" for k in request.realisations],
            overwrite=request.overwrite,
            what="geojson export",
        )
        coords = lonlat(request.feeder)
        for k, path in zip(request.realisations, paths, strict=True):
            collection = feature_collection(request.feeder, request.ensemble, k, coords=coords)
            text = json.dumps(collection, allow_nan=False, separators=(",", ":"))
            atomic_write_text(path, text + "\n", overwrite=request.overwrite, what="geojson export")
        return paths


@hookimpl
def bayesgrid_register_exporters(register: Callable[[Exporter], None]) -> None:
    """Register the ``geojson`` exporter."""
    register(GeoJsonExporter())
