"""A catalogue of bad inputs: each gets a clear bayesgrid error (or CLI exit 1 or 2), no output.

Every case names what it breaks, calls the public API or the ``bayesgrid`` command, and checks
three things: the exception is ours (``BayesGridError``; ``FileNotFoundError`` or another
``OSError`` for a missing file or a failing disk, with a message saying what to do), the message
names the input and says what to do, and the output folder holds nothing afterwards.
``docs/robustness.md`` lists the cases with their messages.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bayesgrid_plugins import plugins
from bayesgrid_plugins.app.cli import main
from bayesgrid_plugins.app.pipeline import check_ensemble_size
from bayesgrid_plugins.errors import (
    AdapterError,
    BayesGridError,
    CircuitFileError,
    FeederValidationError,
    OutputExistsError,
    ParameterError,
    PhaseConsistencyError,
    PosteriorMismatchError,
    UnknownExporterError,
)
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.fileio import (
    MANIFEST_FILE,
    atomic_write_text,
    verify_manifest,
    write_manifest,
)
from bayesgrid_plugins.models.power import BayesianPowerModel, PowerParameters
from bayesgrid_plugins.posterior import default_parameter_path
from bayesgrid_plugins.topology import default_extract, feeder_from_osm

# ----------------------------------------------------------------------------- helpers
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="bayesgrid-test">\n'


def node(i: int, lat: float, lon: float) -> str:
    return f'<node id="{i}" version="1" lat="{lat}" lon="{lon}"/>\n'


def way(i: int, refs: list[int], highway: str = "residential") -> str:
    nds = "".join(f'<nd ref="{r}"/>' for r in refs)
    return f'<way id="{i}" version="1">{nds}<tag k="highway" v="{highway}"/></way>\n'


def osm_file(tmp_path: Path, name: str, body: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(body, bytes):
        path.write_bytes(body)
    else:
        path.write_text(body, encoding="utf-8")
    return path


def tree(folder: Path) -> list[str]:
    """Every entry under ``folder`` (relative), hidden ones included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def expect(
    call: Callable[[], object],
    error: type[BaseException],
    *fragments: str,
) -> BaseException:
    """Run ``call``; it must raise ``error`` with every regex fragment in its message."""
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert re.search(fragment, message), (fragment, message)
    return info.value


@pytest.fixture(scope="module")
def tiny() -> tuple[Feeder, object]:
    """A 5-bus feeder with two branches and a 3-realisation ensemble."""
    feeder = Feeder.from_edges(
        [("s", "a", 0.2), ("a", "b", 0.3), ("a", "c", 0.1), ("s", "d", 0.4)],
        "s",
        coords={"s": (0, 0), "a": (100, 0), "b": (200, 0), "c": (100, 80), "d": (0, 120)},
        crs="EPSG:32632",
        vn_kv=13.8,
    )
    return feeder, BayesianPowerModel().sample(feeder, 3, rng=7)


@pytest.fixture(scope="module")
def good_parameters() -> dict:
    return json.loads(default_parameter_path("power_smartds_counting.json").read_text())


# ----------------------------------------------------------------------------- OSM files
VALID_WAY = node(1, 43.7, 7.4) + node(2, 43.701, 7.4) + node(3, 43.702, 7.401)


@pytest.mark.parametrize(
    ("name", "body", "error", "fragments"),
    [
        ("empty.osm", "", FeederValidationError, [r"cannot read OSM file .*empty\.osm", "corrupt"]),
        ("text.osm", "not xml at all", FeederValidationError, [r"text\.osm", "another extract"]),
        (
            "truncated.osm",
            HEAD + VALID_WAY + '<way id="1"><nd ref=',
            FeederValidationError,
            [r"truncated\.osm", "truncated, corrupt"],
        ),
        (
            "corrupt.osm.bz2",
            b"BZh9 this is not bzip2",
            FeederValidationError,
            [r"corrupt\.osm\.bz2", "download it again"],
        ),
        (
            "footways.osm",
            HEAD + VALID_WAY + way(1, [1, 2, 3], highway="footway") + "</osm>\n",
            FeederValidationError,
            [r"footways\.osm.* holds no streets", "extract that covers streets"],
        ),
        (
            "one_node_way.osm",
            HEAD + VALID_WAY + way(1, [1]) + "</osm>\n",
            FeederValidationError,
            [r"one_node_way\.osm.* no street segments", "another extract"],
        ),
        (
            "dangling.osm",
            HEAD + way(1, [11, 12, 13]) + "</osm>\n",
            FeederValidationError,
            [r"dangling\.osm.* no street segments"],
        ),
        (
            "half_dangling.osm",
            HEAD + node(1, 43.7, 7.4) + way(1, [1, 99]) + "</osm>\n",
            FeederValidationError,
            [r"half_dangling\.osm.* no street segments"],
        ),
        (
            "zero_length.osm",
            HEAD + node(1, 43.7, 7.4) + node(2, 43.7, 7.4) + way(1, [1, 2]) + "</osm>\n",
            FeederValidationError,
            [r"zero_length\.osm.* no street segments"],
        ),
        (
            "off_globe.osm",
            HEAD + node(1, 143.7, 7.4) + node(2, 43.7, 7.5) + way(1, [1, 2]) + "</osm>\n",
            FeederValidationError,
            [r"off_globe\.osm.* no street segments"],
        ),
        ("streets.txt", "x", ParameterError, [r"streets\.txt", r"must end with one of \.osm"]),
    ],
)
def test_bad_osm_files(tmp_path, name, body, error, fragments):
    path = osm_file(tmp_path, name, body)
    expect(lambda: feeder_from_osm(path=path), error, *fragments)
    assert tree(tmp_path) == [name]  # nothing written beside it


def test_truncated_pbf(tmp_path):
    cut = osm_file(tmp_path, "cut.osm.pbf", default_extract().read_bytes()[:5000])
    expect(lambda: feeder_from_osm(path=cut), FeederValidationError, r"cut\.osm\.pbf", "truncated")


def test_missing_osm_file(tmp_path):
    expect(
        lambda: feeder_from_osm(path=tmp_path / "nowhere.osm.pbf"),
        FileNotFoundError,
        r"nowhere\.osm\.pbf.* does not exist",
        "geofabrik",
    )


def test_area_outside_the_extract():
    expect(
        lambda: feeder_from_osm(point=(10.0, 10.0), dist_m=500),
        FeederValidationError,
        "outside the extract",
        "swapped",
    )


def test_area_too_large_is_refused_before_building():
    error = expect(
        lambda: feeder_from_osm(point=(43.7384, 7.4246), dist_m=1500, max_buses=500),
        ParameterError,
        r"too large: \d+ km of street .* about [\d,]+ buses",
        r"dist_m / --dist about \d+ m",
        "bayesgrid run",
    )
    assert "1500" in str(error)


def test_nan_radius():
    expect(
        lambda: feeder_from_osm(point=(43.7, 7.4), dist_m=float("nan")), ParameterError, "dist_m"
    )


# ----------------------------------------------------------------------------- topologies
@pytest.mark.parametrize(
    ("edges", "fragments"),
    [
        ([("s", "a", 1), ("a", "b", 1), ("b", "s", 1)], ["not radial", "close a loop", "Open one"]),
        ([("s", "a", 1), ("b", "c", 1)], ["disconnected", "'b'", "Keep only"]),
        ([("s", "a", 0.0)], ["positive and finite", "s-a"]),
        ([("s", "a", -1.0)], ["positive and finite", "s-a"]),
        ([("s", "a", float("nan"))], ["positive and finite", "nan"]),
        ([("s", "a", float("inf"))], ["positive and finite", "inf"]),
        ([("s", "a", 1.0)], None),  # source not in the edges: see below
    ],
    ids=["meshed", "disconnected", "zero-length", "negative", "nan-length", "inf-length", "src"],
)
def test_bad_topologies(edges, fragments):
    if fragments is None:
        expect(lambda: Feeder.from_edges(edges, "zz"), FeederValidationError, "'zz'", "pass one")
    else:
        expect(lambda: Feeder.from_edges(edges, "s"), FeederValidationError, *fragments)


def test_two_sources():
    expect(
        lambda: Feeder(bus_id=["s", "a"], parent=[-1, -1], length_km=[0, 1]),
        FeederValidationError,
        "exactly one source",
        "Split",
    )


def test_feeder_with_no_loads_is_refused_before_sampling(tiny):
    feeder, _ = tiny
    empty = feeder.with_loads(np.zeros(feeder.n_buses, dtype=bool))
    expect(
        lambda: check_ensemble_size(empty, 10), FeederValidationError, "no load bus", "with_loads"
    )
    # The sampler itself refuses it too (a ValueError naming is_load).
    with pytest.raises(ValueError, match="is_load"):
        BayesianPowerModel().sample(empty, 2, rng=1)


def test_ensemble_too_large_for_memory(tiny):
    feeder, _ = tiny
    expect(
        lambda: check_ensemble_size(feeder, 10**6, memory_bytes=2**30),
        ParameterError,
        r"1000000 realisations of a 5-bus feeder need about",
        r"at most \d+ realisations",
        "bayesgrid run",
    )


# ----------------------------------------------------------------------------- parameters
def _params(**change):
    d = PowerParameters.default().mean()  # one draw, so a scalar change keeps the draw count
    base = {name: getattr(d, name) for name in PowerParameters.FIELDS}
    return PowerParameters(**{**base, **change})


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        ({"p3": np.full((1, 10), np.nan)}, ["p3", "NaN or infinite"]),
        ({"p_mu_kw": np.inf}, ["p_mu_kw", "NaN or infinite"]),
        ({"p_sigma_kw": -1.0}, ["p_sigma_kw must be positive"]),
        ({"share_alpha": [-1.0, 1.0, 1.0]}, ["share_alpha must be positive"]),
        ({"phase_probs": [0.5, 0.3, 0.3]}, ["phase_probs must sum to 1", "Normalise"]),
        ({"phase_probs": [1.2, -0.1, -0.1]}, ["phase_probs must lie in"]),
        ({"p3": np.full(10, 1.5)}, ["p3 must lie in"]),
    ],
    ids=["nan", "inf", "negative-sigma", "negative-alpha", "sum-not-1", "negative-prob", "p3>1"],
)
def test_bad_parameters(change, fragments):
    expect(lambda: _params(**change), ParameterError, *fragments)


@pytest.mark.parametrize(
    ("name", "document", "error", "fragments"),
    [
        ("truncated.json", "TRUNCATE", PosteriorMismatchError, ["not valid JSON", "truncated"]),
        ("empty.json", "", PosteriorMismatchError, ["not valid JSON"]),
        ("other_model.json", {"model": "impedance"}, PosteriorMismatchError, ["'impedance'"]),
        ("other_version.json", {"format_version": 99}, PosteriorMismatchError, ["version 99"]),
        ("list.json", [1, 2, 3], PosteriorMismatchError, ["not a bayesgrid parameter file"]),
        ("provenance.json", {"provenance": [1, 2]}, PosteriorMismatchError, ["provenance"]),
        ("nested.json", "[" * 100_000 + "]" * 100_000, PosteriorMismatchError, ["not valid"]),
        ("ragged.json", {"p3": [[0.1], [0.1, 0.2]]}, PosteriorMismatchError, ["ragged"]),
        ("lacks.json", {"-p3": None}, PosteriorMismatchError, [r"lacks \['p3'\]"]),
        ("nan.json", {"p_mu_kw": "NAN"}, ParameterError, ["p_mu_kw", "NaN"]),
    ],
)
def test_bad_parameter_files(tmp_path, good_parameters, name, document, error, fragments):
    path = tmp_path / name
    if document == "TRUNCATE":
        text = json.dumps(good_parameters)[:300]
    elif isinstance(document, str):
        text = document
    elif isinstance(document, list):
        text = json.dumps(document)
    else:
        doc = json.loads(json.dumps(good_parameters))
        for key, value in document.items():
            if key in ("model", "format_version", "provenance"):
                doc[key] = value
            elif key.startswith("-"):
                del doc["parameters"][key[1:]]
            else:
                doc["parameters"][key] = value
        text = json.dumps(doc).replace('"NAN"', "NaN")
    path.write_text(text)
    expect(lambda: BayesianPowerModel(path), error, *fragments)


def test_missing_parameter_file(tmp_path):
    expect(
        lambda: BayesianPowerModel(tmp_path / "nope.json"),
        FileNotFoundError,
        r"nope\.json.* does not exist",
        "shipped default",
    )


# ----------------------------------------------------------------------------- OpenDSS
MASTER = """clear
set defaultbasefrequency=50
new circuit.t bus1=src basekv=12.47 phases=3
new linecode.lc nphases=3 r1=0.1 x1=0.2 r0=0.3 x0=0.6 units=km
new line.l1 bus1=src bus2=b1 linecode=lc length=1 units=km
new line.l2 bus1=b1 bus2=b2 linecode=lc length=1 units=km
new load.ld1 bus1=b2.1 phases=1 kv=7.2 kw=10 kvar=3
set voltagebases=[12.47]
calcvoltagebases
"""


@pytest.mark.parametrize(
    ("old", "new", "error", "fragments"),
    [
        (
            "new line.l1",
            "redirect Missing.dss\nnew line.l1",
            CircuitFileError,
            [r"Master\.dss' line 5 refers to .*Missing\.dss", "does not exist", "fix the path"],
        ),
        (
            "bus1=b2.1",
            "bus1=nowhere.1",
            ParameterError,
            ["Load.ld1 on bus 'nowhere'", "misspelt or undefined bus", "Fix the bus names"],
        ),
        ("new circuit.t bus1=src basekv=12.47 phases=3\n", "", AdapterError, ["circuit first"]),
        (
            "length=1 units=km\nnew line.l2",
            "length=abc units=km\nnew line.l2",
            AdapterError,
            ["abc"],
        ),
        ("r1=0.1", "rmatrix=(0.1 | 0.2", AdapterError, ["Master.dss", "Fix the input"]),
    ],
    ids=["missing-redirect", "undefined-bus", "no-circuit", "not-a-number", "unclosed-matrix"],
)
def test_bad_opendss_masters(tmp_path, old, new, error, fragments):
    import opendss_ext

    assert old in MASTER
    master = tmp_path / "Master.dss"
    master.write_text(MASTER.replace(old, new))
    cwd = os.getcwd()
    expect(lambda: opendss_ext.read_circuit(master), error, *fragments)
    assert os.getcwd() == cwd
    assert tree(tmp_path) == ["Master.dss"]


def test_missing_opendss_master(tmp_path):
    import opendss_ext

    expect(
        lambda: opendss_ext.read_circuit(tmp_path / "Master.dss"), FileNotFoundError, "not a file"
    )


# ----------------------------------------------------------------------------- pandapower
def _net(extra: Callable[[object, list[int]], None]):
    import pandapower as pp

    net = pp.create_empty_network()
    buses = [pp.create_bus(net, 0.4) for _ in range(4)]
    pp.create_ext_grid(net, buses[0])
    for i in range(1, 3):
        pp.create_line_from_parameters(net, buses[i - 1], buses[i], 0.1, 0.2, 0.1, 10, 0.4)
    extra(net, buses)
    return net


def test_pandapower_net_with_two_external_grids(caplog):
    import pandapower as pp

    import pandapower_ext

    net = _net(lambda net, b: pp.create_ext_grid(net, b[2]))
    feeder = pandapower_ext.feeder_from_net(net)
    assert feeder.n_buses == 3  # bus 3 has no line: islanded, left out
    assert "2 in-service external grids" in caplog.text


def test_pandapower_net_with_an_island(caplog):
    import pandapower_ext

    net = _net(lambda net, b: None)  # bus 3 has no line
    feeder = pandapower_ext.feeder_from_net(net)
    assert "3" not in set(feeder.bus_id.tolist())
    assert "islanded" in caplog.text and "[3]" in caplog.text


def test_pandapower_meshed_net(caplog):
    import pandapower as pp

    import pandapower_ext

    def mesh(net, b):
        pp.create_line_from_parameters(net, b[2], b[3], 0.1, 0.2, 0.1, 10, 0.4)
        pp.create_line_from_parameters(net, b[3], b[0], 0.1, 0.2, 0.1, 10, 0.4)

    feeder = pandapower_ext.feeder_from_net(_net(mesh))
    assert feeder.n_buses == 4
    assert "close loops" in caplog.text


def test_not_a_pandapower_net():
    import pandapower_ext

    expect(
        lambda: pandapower_ext.feeder_from_net({"bus": []}),
        ParameterError,
        "not a pandapower net",
        "pandapowerNet",
    )


# ----------------------------------------------------------------------------- exports
def test_unknown_export_format_writes_nothing(tiny, tmp_path):
    feeder, ensemble = tiny
    out = tmp_path / "out"
    expect(
        lambda: plugins.export(feeder, ensemble, ["npz", "nope"], out),
        UnknownExporterError,
        "'nope'",
        "bayesgrid plugins",
    )
    assert not out.exists()


def test_output_folder_is_a_file(tiny, tmp_path):
    feeder, ensemble = tiny
    target = tmp_path / "taken"
    target.write_text("mine")
    expect(lambda: plugins.export(feeder, ensemble, "csv", target), ParameterError, "is a file")
    assert target.read_text() == "mine"


def test_format_folder_is_a_file(tiny, tmp_path):
    feeder, ensemble = tiny
    (tmp_path / "csv").write_text("mine")
    expect(
        lambda: plugins.export(feeder, ensemble, "csv", tmp_path),
        ParameterError,
        r"csv.* is a file",
        "remove it",
    )
    assert tree(tmp_path) == ["csv"]


def test_existing_output_is_not_overwritten(tiny, tmp_path):
    feeder, ensemble = tiny
    plugins.export(feeder, ensemble, "csv", tmp_path)
    before = (tmp_path / "csv" / "buses.csv").read_bytes()
    expect(
        lambda: plugins.export(
            feeder, ensemble.with_fields(p_kw=ensemble.p_kw * 2), "csv", tmp_path
        ),
        OutputExistsError,
        r"buses\.csv.* exists already",
        "overwrite=True",
    )
    assert (tmp_path / "csv" / "buses.csv").read_bytes() == before
    assert not verify_manifest(tmp_path)  # still the first, complete export


def test_read_only_output_folder(tiny, tmp_path, monkeypatch):
    # Tests run as root, where chmod does not stop writes: the refusal is simulated at rename.
    feeder, ensemble = tiny

    def refuse(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    expect(
        lambda: plugins.export(feeder, ensemble, "npz", tmp_path / "out"),
        PermissionError,
        r"could not write .*\.npz",
        "writable",
    )
    monkeypatch.undo()
    assert not (tmp_path / "out").exists()  # a failed export leaves nothing, not even folders


def test_full_disk(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    expect(
        lambda: atomic_write_text(tmp_path / "x.txt", "data"),
        OSError,
        "No space left",
        r"x\.txt",
        "free space",
    )
    monkeypatch.undo()
    assert tree(tmp_path) == []


def test_inconsistent_ensemble_is_refused_before_export(tiny, tmp_path):
    feeder, ensemble = tiny
    phases = ensemble.bus_phases.copy()
    leaf = int(feeder.index_of("b")[0])
    phases[:, feeder.parent[leaf]] = 1
    phases[:, leaf] = 6
    broken = ensemble.with_fields(bus_phases=phases)
    with pytest.raises(PhaseConsistencyError):
        plugins.export(feeder, broken, "opendss", tmp_path / "out")
    assert not list((tmp_path / "out").rglob("*.dss"))


# ----------------------------------------------------------------------------- the CLI
FAST = ["generate", "-n", "2", "--engine", "none", "--dist", "200", "--network-files", "1"]


def run_cli(capsys, argv: list[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize(
    ("argv", "code", "fragments"),
    [
        (["--format", "nope"], 1, ["no exporter is called 'nope'", "bayesgrid plugins"]),
        (["-n", "0"], 2, ["expected a positive integer, got '0'"]),
        (["--point", "abc", "--dist", "10"], 2, ["expected LAT,LON"]),
        (["--dist", "-5"], 2, ["expected a positive number"]),
        (["--engine", "matlab"], 2, ["invalid choice: 'matlab'"]),
        (["--posterior", "{tmp}/nope.json"], 1, [r"nope\.json.* does not exist"]),
        (["--osm", "{tmp}/bad.osm"], 1, [r"cannot read OSM file .*bad\.osm"]),
        (["-n", "1000000000", "--format", "npz"], 1, ["need about", "at most", "bayesgrid run"]),
        (["--out", "{tmp}/missing/deeper"], 1, ["does not exist; create"]),
    ],
    ids=["format", "n0", "point", "dist", "engine", "posterior", "osm", "memory", "parent"],
)
def test_cli_generate_bad_arguments(capsys, tmp_path, argv, code, fragments):
    (tmp_path / "bad.osm").write_text("<osm><way")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "--osm" in argv:
        base = ["generate", "-n", "2", "--engine", "none"]
    else:
        base = FAST
    out = tmp_path / "out"
    got, err = run_cli(capsys, [*base, "--out", str(out), *argv])
    assert got == code, err
    for fragment in fragments:
        assert re.search(fragment, err), (fragment, err)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_cli_output_folder_is_a_file(capsys, tmp_path):
    target = tmp_path / "taken"
    target.write_text("mine")
    code, err = run_cli(capsys, [*FAST, "--out", str(target), "--format", "npz"])
    assert code == 1 and "is a file" in err and "choose another --out" in err
    assert target.read_text() == "mine"


def test_cli_full_disk_leaves_no_output(capsys, tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    code, err = run_cli(capsys, [*FAST, "--out", str(tmp_path / "out"), "--format", "npz"])
    assert code == 1 and "No space left" in err and "free space" in err
    assert list(tmp_path.iterdir()) == []


def test_cli_failing_final_rename_keeps_the_previous_result(capsys, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "previous.txt").write_text("kept")
    write_manifest(out)  # an earlier bayesgrid output: --overwrite may replace it
    real = os.replace

    def refuse(src, dst):
        if ".partial-" in Path(src).name:  # the staged run, renamed into place at the end
            raise PermissionError(errno.EACCES, "Permission denied", str(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", refuse)
    code, err = run_cli(capsys, [*FAST, "--out", str(out), "--format", "npz", "--overwrite"])
    assert code == 1 and "could not write the output folder" in err
    assert tree(tmp_path) == ["out", "out/.bayesgrid", "out/manifest.json", "out/previous.txt"]
    assert (out / "previous.txt").read_text() == "kept"


def test_cli_validate_bad_folders(capsys, tmp_path):
    code, err = run_cli(capsys, ["validate", str(tmp_path / "nope")])
    assert code == 1 and "not a folder written by bayesgrid generate" in err
    code, err = run_cli(capsys, ["validate", str(tmp_path)])
    assert code == 1 and "nothing to re-solve" in err


def test_cli_unexpected_error_has_no_traceback(capsys, tmp_path, monkeypatch):
    import bayesgrid_plugins.app.pipeline as pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(pipeline, "check_ensemble_size", broken)
    code, err = run_cli(capsys, [*FAST, "--out", str(tmp_path / "out")])
    assert code == 1
    assert "unexpected RuntimeError: engine exploded" in err and "-v" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "code", "fragment"),
    [
        (["generate", "--format", "nope", "--engine", "none"], 1, "no exporter is called 'nope'"),
        (["generate", "-n", "-3"], 2, "expected a positive integer"),
        (["generate", "--osm", "{tmp}/bad.osm", "--engine", "none"], 1, "cannot read OSM file"),
    ],
    ids=["format", "n", "osm"],
)
def test_cli_exit_codes_in_a_subprocess(tmp_path, argv, code, fragment):
    (tmp_path / "bad.osm").write_text("garbage")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    result = subprocess.run(
        [sys.executable, "-m", "bayesgrid_plugins.app.cli", *argv, "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == code, result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.osm"]


def test_every_error_is_a_bayesgrid_error():
    for cls in (FeederValidationError, ParameterError, PosteriorMismatchError, AdapterError):
        assert issubclass(cls, BayesGridError)
    assert MANIFEST_FILE == "manifest.json"


# ----------------------------------------------------------------------------- completion marker
def test_interrupted_export_never_looks_complete(tiny, tmp_path, monkeypatch):
    from bayesgrid_plugins.exporters.geojson import GeoJsonExporter

    feeder, ensemble = tiny
    out = tmp_path / "out"
    plugins.export(feeder, ensemble, ["npz"], out)
    assert verify_manifest(out) == []

    def interrupted(self, request):
        raise KeyboardInterrupt

    monkeypatch.setattr(GeoJsonExporter, "export", interrupted)
    # csv is written, then the run is interrupted: the manifest still lists only the earlier,
    # untouched npz export, never the unfinished one.
    with pytest.raises(KeyboardInterrupt):
        plugins.export(feeder, ensemble, ["csv", "geojson"], out)
    document = json.loads((out / MANIFEST_FILE).read_text())
    assert document["formats"] == ["npz"] and verify_manifest(out) == []
    assert not [name for name in document["files"] if not name.startswith("npz/")]
    # Rewriting npz and being interrupted afterwards leaves no manifest at all.
    with pytest.raises(KeyboardInterrupt):
        plugins.export(feeder, ensemble[[0]], ["npz", "geojson"], out, overwrite=True)
    assert not (out / MANIFEST_FILE).exists()
    assert verify_manifest(out)[0].endswith("did not finish.")
    assert not [p for p in out.rglob(".*")]  # no temporary file left


def test_interrupted_run_leaves_nothing(capsys, tmp_path, monkeypatch):
    import bayesgrid_plugins.app.figures as figures

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(figures, "write_figures", interrupted)
    code = main([*FAST, "--out", str(tmp_path / "out"), "--format", "npz,csv"])
    assert code == 130
    assert "nothing half-written" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- the catalogue
from catalogue import CASES, SHARED_DATA, Case, docs_section, render_table  # noqa: E402

#: Seconds a catalogue case may take (a hang ends the whole run after HARD_LIMIT_S).
TIME_LIMIT_S = 30.0
HARD_LIMIT_S = 120.0


def _expected_type(name: str) -> type[BaseException]:
    import builtins

    from bayesgrid_plugins import errors

    if hasattr(errors, name):
        return getattr(errors, name)
    return getattr(builtins, name)


@pytest.mark.parametrize("item", CASES, ids=[c.id for c in CASES])
def test_catalogue(item: Case, tmp_path, capsys, monkeypatch):
    """Every hostile input ends as asserted: our error, a CLI exit status, or accepted."""
    import faulthandler
    import time

    from bayesgrid_plugins.app import pipeline

    if item.needs == "shared" and not SHARED_DATA.is_dir():
        pytest.skip("shared test data not available")
    work = tmp_path / "case"
    work.mkdir()
    monkeypatch.chdir(work)
    # A hang cannot stall CI: the run ends with a traceback after HARD_LIMIT_S.
    faulthandler.dump_traceback_later(HARD_LIMIT_S, exit=True, file=sys.__stderr__)
    start = time.perf_counter()
    try:
        if item.expect.startswith("exit"):
            argv = item.run(work)
            if argv and argv[0] == "__interrupt__":
                argv = argv[1:]

                def interrupted(*args, **kwargs):
                    raise KeyboardInterrupt

                monkeypatch.setattr(pipeline, "check_ensemble_size", interrupted)
            code, message = run_cli(capsys, argv)
            assert f"exit {code}" == item.expect, message
            assert "this is a bug" not in message
        elif item.expect == "ok":
            message = str(item.run(work))
        else:
            with pytest.raises(BaseException) as info:
                item.run(work)
            error = info.value
            assert isinstance(error, _expected_type(item.expect)), repr(error)
            assert isinstance(error, (BayesGridError, FileNotFoundError)), repr(error)
            message = str(error)
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert time.perf_counter() - start < TIME_LIMIT_S
    for fragment in item.fragments:
        assert re.search(fragment, message), (fragment, message)


def test_catalogue_is_large_and_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 150
    assert {c.area for c in CASES} >= {
        "OSM",
        "DSS",
        "pandapower",
        "parameters",
        "options",
        "paths",
        "signals",
    }


def test_catalogue_table_is_in_the_docs():
    """docs/robustness.md shows exactly the catalogue (python tests/catalogue.py --write-docs)."""
    assert docs_section() == render_table()
