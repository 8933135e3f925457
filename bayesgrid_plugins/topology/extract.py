"""Crop an OSM file to a bounding box, keeping only the ways a feeder needs.

This is how the shipped default extract was made, and it lets users shrink a large regional
extract to their area once, so later runs read a small file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from ..fileio import atomic_path
from .geo import Region
from .osm import OsmReadError, _check_file

__all__ = ["crop_osm_file"]

_FORMATS = {".pbf": "pbf", ".osm": "osm", ".bz2": "osm.bz2", ".gz": "osm.gz"}


def crop_osm_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    bbox: Sequence[float],
    keys: Sequence[str] = ("highway", "building"),
    overwrite: bool = False,
) -> tuple[int, int]:
    """Write the ways of ``src`` that carry one of ``keys`` and touch ``bbox`` to ``dst``.

    A kept way is written whole (with every node it references, without node tags), so streets
    that leave the box are not cut. Relations and untagged or other ways are dropped.

    Parameters
    ----------
    src : path-like
        OSM file to read (any format osmium reads).
    dst : path-like
        Output; the format follows its name (``.osm.pbf``, ``.osm``, ``.osm.bz2``).
    bbox : (float, float, float, float)
        ``(west, south, east, north)`` [deg].
    keys : sequence of str, default ("highway", "building")
        Tag keys of the ways to keep.
    overwrite : bool, default False
        Replace ``dst`` if it exists.

    Returns
    -------
    (int, int)
        Numbers of ways and nodes written.
    """
    import osmium
    import osmium.filter

    source = _check_file(src)
    region = Region.make(bbox=bbox)
    assert region is not None
    west, south, east, north = (v * 1e7 for v in region.lonlat_box)
    way_ids: set[int] = set()
    node_ids: set[int] = set()
    try:
        processor = (
            osmium.FileProcessor(str(source), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter(*keys))
        )
        for entity in processor:
            way = cast(osmium.osm.Way, entity)  # the entity filter passes ways only
            refs = [(nd.ref, nd.x, nd.y) for nd in way.nodes]
            if any(west <= x <= east and south <= y <= north for _, x, y in refs):
                way_ids.add(way.id)
                node_ids.update(ref for ref, _, _ in refs)
    except (RuntimeError, ValueError, OSError) as exc:
        raise OsmReadError(f"cannot read OSM file {str(source)!r}: {exc}") from exc

    target = Path(dst)
    suffix = target.suffix.lower()
    file_format = _FORMATS.get(suffix)
    if file_format is None:
        raise ValueError(f"dst {str(target)!r} must end with .osm.pbf, .osm or .osm.bz2")
    n_nodes = 0
    with atomic_path(target, overwrite=overwrite, what="OSM extract") as tmp:
        writer = osmium.SimpleWriter(osmium.io.File(str(tmp), file_format), overwrite=True)
        try:
            for obj in osmium.FileProcessor(str(source), osmium.osm.NODE | osmium.osm.WAY):
                if isinstance(obj, osmium.osm.Node):
                    if obj.id in node_ids:
                        writer.add_node(obj.replace(tags={}))
                        n_nodes += 1
                elif isinstance(obj, osmium.osm.Way) and obj.id in way_ids:
                    writer.add_way(obj)
        finally:
            writer.close()
    return len(way_ids), n_nodes
