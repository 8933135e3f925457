"""Command-line findings: area options, unbalancing a master elsewhere, control iterations,
chunk streams."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

from bayesgrid_plugins.app.cli import main
from bayesgrid_plugins.errors import LargeLoadWarning

# test_layers re-imports an old module path and leaves an alias that makes later lazy imports warn
# ImportWarning (__package__ != __spec__.parent); not what these tests check.
pytestmark = pytest.mark.filterwarnings("ignore::ImportWarning")

MONACO = (
    Path(__file__).resolve().parents[1] / "bayesgrid_plugins" / "data" / "osm" / "monaco.osm.pbf"
)
IEEE = Path(f"{SHARED_DATA}/feeders/electricdss-tst/Version8/Distrib/IEEETestCases")
IEEE13 = IEEE / "13Bus" / "IEEE13Nodeckt.dss"
IEEE34 = IEEE / "34Bus" / "ieee34Mod2.dss"
#: A box inside the shipped Monaco extract (west, south, east, north) [deg].
BOX = (7.4240, 43.7350, 7.4300, 43.7400)


@pytest.fixture
def offline(monkeypatch):
    import osmnx as ox

    # 192.0.2.1 is TEST-NET-1 (RFC 5737): never routable, so this is offline on any machine.
    monkeypatch.setattr(ox.settings, "nominatim_url", "http://192.0.2.1/api")
    monkeypatch.setattr(ox.settings, "overpass_url", "http://192.0.2.1/api")


@pytest.mark.parametrize(
    "area",
    [["--point", "43.737,7.427"], ["--bbox", ",".join(map(str, BOX))]],
    ids=["point", "bbox"],
)
def test_point_or_bbox_alone_queries_openstreetmap(area, offline, tmp_path, capsys) -> None:
    assert main(["generate", *area, "-n", "1", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "OpenStreetMap cannot be reached" in err, err
    assert not (tmp_path / "o").exists()


def test_bbox_with_osm_crops_the_file(tmp_path) -> None:
    out = tmp_path / "o"
    argv = ["generate", "--osm", str(MONACO), "--bbox", ",".join(map(str, BOX)), "-n", "1"]
    assert main([*argv, "--seed", "1", "--format", "npz", "--out", str(out)]) == 0
    from bayesgrid_plugins.exporters.npz import load_export

    feeder, _ = load_export(out / "npz")
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(feeder.crs, "EPSG:4326", always_xy=True).transform(
        feeder.x, feeder.y
    )
    slack = 0.002  # [deg]: spans end at the junction just outside the box
    assert (BOX[0] - slack <= lon).all() and (lon <= BOX[2] + slack).all()
    assert (BOX[1] - slack <= lat).all() and (lat <= BOX[3] + slack).all()


def test_area_options_that_name_two_areas_are_refused(tmp_path, capsys) -> None:
    argv = ["generate", "--point", "43.737,7.427", "--bbox", ",".join(map(str, BOX))]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 1
    assert "--point and --bbox name two areas" in capsys.readouterr().err


def test_unbalance_a_master_in_another_folder_into_a_relative_out(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.warns(LargeLoadWarning, match="'671'"):  # 1155 kW stays three-phase
        assert main(["unbalance", str(IEEE13), "--out", "rel", "-n", "2", "--seed", "1"]) == 0
    assert (tmp_path / "rel" / "realisation_0001" / "Master.dss").is_file()
    assert not list(IEEE13.parent.glob(".rel*"))


def test_unbalance_solve_lets_regulators_settle(tmp_path) -> None:
    # IEEE 34 with unbalanced loads needs more than OpenDSS's default 10 control iterations.
    argv = ["unbalance", str(IEEE34), "--out", str(tmp_path / "o"), "-n", "10", "--seed", "1"]
    with pytest.warns(LargeLoadWarning, match="exceed 100 kVA"):  # its spot loads
        assert main([*argv, "--scenario", "unbalanced", "--loads", "all", "--solve"]) == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["power_flow"]["converged"] == 10


def _run_args(out: Path, streams: str) -> list[str]:
    area = ["--region", "43.744,7.428,150", "--chunk-size", "4", "--no-impedance"]
    return [
        "run",
        "-n",
        "4",
        "--seed",
        "1",
        "--serial",
        *area,
        "--streams",
        streams,
        "--out",
        str(out),
    ]


def test_run_honours_chunk_streams(tmp_path) -> None:
    assert main(_run_args(tmp_path / "c", "chunk")) == 0
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["settings"]["sampling"]["streams"] == "chunk"
    assert main(_run_args(tmp_path / "r", "realisation")) == 0
    results = "regions/000/results.npz"
    with np.load(tmp_path / "c" / results) as c, np.load(tmp_path / "r" / results) as r:
        assert not np.array_equal(c["vm_min_pu"], r["vm_min_pu"])


@pytest.mark.parametrize(
    ("argv", "named", "absent"),
    [
        (["--place", "Vaduz", "--dist", "300"], ["--place", "--dist"], ["dist_m", "source="]),
        (
            ["--osm", str(MONACO), "--point", "47.1,9.5"],
            ["--point was given", "--dist"],
            ["dist_m"],
        ),
    ],
    ids=["place-with-dist", "point-without-dist"],
)
def test_errors_name_options_as_typed(argv, named, absent, tmp_path, capsys) -> None:
    assert main(["generate", *argv, "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    for text in named:
        assert text in err, err
    for text in absent:
        assert text not in err, err
