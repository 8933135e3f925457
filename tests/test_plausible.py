"""A feeder that does not fit its input (one misplaced node) is refused, not built."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SHARED_DATA

from bayesgrid_plugins.errors import FeederValidationError
from bayesgrid_plugins.topology import feeder_from_osm
from bayesgrid_plugins.topology.plausible import check_plausible

SMALL = SHARED_DATA / "osm" / "osmnx_planet_10.068_48.135_10.071_48.137.osm"
#: A node of a street of the largest component; moved, it stretches that street.
NODE = "7119017428"

pytestmark = pytest.mark.skipif(not SMALL.is_file(), reason="shared OSM data not available")


def duplicated(tmp_path: Path, lat: float, lon: float, *, bounds: bool = True) -> Path:
    """The small extract with node NODE given twice, first at (lat, lon)."""
    text = SMALL.read_text(encoding="utf-8")
    node = re.search(rf'<node id="{NODE}"[^>]*/>', text).group(0)
    moved = re.sub(r'lat="[^"]*" lon="[^"]*"', f'lat="{lat}" lon="{lon}"', node)
    text = text.replace(node, moved + "\n\t" + node, 1)
    if not bounds:
        text = re.sub(r"\s*<bounds [^>]*/>", "", text, count=1)
    path = tmp_path / "dup.osm"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_clean_extract_builds():
    feeder = feeder_from_osm(path=SMALL).feeder
    assert feeder.n_buses < 50 and feeder.length_km.sum() < 1.0


@pytest.mark.parametrize(
    ("lat", "lon", "bounds", "cause"),
    [
        (-33.9, 151.2, True, "buses from only"),  # other continent: 657,603 buses, 32,880 km
        (-33.9, 151.2, False, "buses from only"),  # no declared bounds
        (48.2, 10.2, True, "from the substation, but the input spans only"),  # 12 km off
    ],
    ids=["continent", "continent-no-bounds", "12km"],
)
def test_one_duplicated_node_id_is_refused(tmp_path, lat, lon, bounds, cause):
    """It used to build a feeder of up to a million buses (or crash in the projection)."""
    path = duplicated(tmp_path, lat, lon, bounds=bounds)
    with pytest.raises(FeederValidationError, match="implausible feeder") as info:
        feeder_from_osm(path=path)
    message = str(info.value)
    assert cause in message and "dup.osm" in message and "duplicated node id" in message


def test_the_check_can_be_turned_off(tmp_path):
    path = duplicated(tmp_path, 48.2, 10.2)
    feeder = feeder_from_osm(path=path, plausibility=False).feeder
    assert feeder.length_km.sum() > 10  # the stretched street, built as asked


@pytest.mark.parametrize(
    ("figures", "cause"),
    [
        ({"n_buses": 2001}, "buses from only 10"),
        ({"total_km": 211.0}, r"211\.0 km of line"),
        ({"farthest_km": 11.5}, "11.5 km from the substation"),
    ],
)
def test_each_rule_names_its_cause(figures, cause):
    args = {"n_buses": 50, "total_km": 5.0, "farthest_km": 1.0, "n_input_nodes": 10}
    args.update(figures)
    with pytest.raises(FeederValidationError, match=cause):
        check_plausible(**args, extent_km=1.0, source="x.osm")


def test_with_the_check_off_a_continent_spanning_feeder_is_still_refused_clearly(tmp_path):
    """It used to end in scipy's 'data must be finite' ValueError (not one of ours)."""
    path = duplicated(tmp_path, -33.9, 151.2)
    with pytest.raises(FeederValidationError, match="too far from the substation to be projected"):
        feeder_from_osm(path=path, plausibility=False, max_buses=None)
