"""The main job end to end: `bayesgrid generate` and `bayesgrid validate` on real OSM data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bayesgrid_plugins.app.cli import main
from bayesgrid_plugins.app.pipeline import GenerateConfig, generate, load_power_flow
from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import OutputExistsError, UnknownExporterError
from bayesgrid_plugins.exporters.npz import load_export
from bayesgrid_plugins.fileio import verify_manifest

FORMATS = "npz,opendss,geojson,csv"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "out"
    code = main(
        [
            "generate",
            "--dist",
            "300",
            "-n",
            "6",
            "--seed",
            "5",
            "--format",
            FORMATS,
            "--network-files",
            "2",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


def test_every_output_is_written_and_consistent(run: Path) -> None:
    names = {p.name for p in run.iterdir()}
    assert names == {
        ".bayesgrid",  # marks the folder as bayesgrid's output (--overwrite may replace it)
        "npz",
        "opendss",
        "geojson",
        "csv",
        "power_flow.npz",
        "summary.json",
        "summary.md",
        "feeder_phases.png",
        "demand.png",
        "voltages.png",
        "reliability.png",
        "line_loading.png",
        "voltage_profile.png",
        "reliability",
        "manifest.json",
    }
    for png in ("feeder_phases.png", "demand.png", "voltages.png", "reliability.png"):
        data = (run / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    feeder, ensemble = load_export(run / "npz")
    assert len(ensemble) == 6 and ensemble.metadata["seed"] == 5
    summary = json.loads((run / "summary.json").read_text())
    assert summary["feeder"]["buses"] == feeder.n_buses
    assert summary["ensemble"]["realisations"] == 6
    totals = ensemble.phase_totals_kw()
    for k, phase in enumerate("ABC"):
        assert summary["ensemble"]["total_p_kw_by_phase"][phase]["mean"] == pytest.approx(
            totals[:, k].mean()
        )
    flow = load_power_flow(run / "power_flow.npz")
    assert flow["converged"].all() and summary["power_flow"]["converged"] == 6
    assert summary["power_flow"]["voltage_pu_by_phase"]["A"]["min_pu"] == pytest.approx(
        np.nanmin(flow["vm_pu"][..., 0])
    )
    # Per-realisation formats hold the first two realisations only; npz holds all six.
    assert len(list((run / "opendss").iterdir())) == 2
    assert len(list((run / "geojson").glob("*.geojson"))) == 2
    assert "Converged: 6 of 6" in (run / "summary.md").read_text()
    # Reliability tables beside the networks: per bus for the written realisations, and the
    # system indices of every realisation.
    system = (run / "reliability" / "system_indices.csv").read_text().splitlines()
    assert len(system) == 1 + 6 and system[0].startswith("realisation,saifi_expected")
    per_bus = (run / "reliability" / "realisation_0001.csv").read_text().splitlines()
    assert len(per_bus) == 1 + feeder.n_buses and "caidi_h" in per_bus[0]
    assert not (run / "reliability" / "realisation_0002.csv").exists()
    assert verify_manifest(run) == []  # complete, and nothing changed since it was written
    # Impedances and reliability were sampled too, and the summary reports them.
    assert ensemble.r1_ohm_per_km is not None and ensemble.caidi_h is not None
    assert summary["reliability"]["expected"]["saifi"]["median"] > 0


def test_validate_re_solves_and_agrees(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(run)]) == 0
    assert capsys.readouterr().out.startswith("OK: 6 realisations re-solved with power-grid-model")


def test_validate_detects_tampering(run: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    _, ensemble = load_export(copy / "npz")
    doubled = ensemble.with_fields(p_kw=ensemble.p_kw * 3, q_kvar=ensemble.q_kvar * 3)
    doubled.save(copy / "npz" / "ensemble.npz", overwrite=True)
    assert main(["validate", str(copy)]) == 1


def test_existing_output_is_not_overwritten(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (run / "summary.json").read_bytes()
    assert main(["generate", "--dist", "300", "-n", "2", "--out", str(run)]) == 1
    err = capsys.readouterr().err
    assert "exists and is not empty" in err and "pass --overwrite to replace it" in err
    assert "--overwriteTrue" not in err  # the library's overwrite=True, rewritten as an option
    assert (run / "summary.json").read_bytes() == before


def test_overwrite_replaces_the_folder_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    config = GenerateConfig(
        dist_m=250, n=2, seed=1, formats=("npz",), engine="none", out=out, overwrite=True
    )
    # A folder bayesgrid did not write is never replaced ...
    with pytest.raises(OutputExistsError, match="holds files bayesgrid did not write"):
        generate(config)
    assert (out / "stale.txt").read_text() == "old"
    # ... one it wrote (marked) is, whole.
    (out / ".bayesgrid").write_text('{"format": "bayesgrid-staging", "kind": "generate"}')
    result = generate(config)
    assert not (out / "stale.txt").exists() and (out / "npz" / "ensemble.npz").exists()
    assert not (out / "power_flow.npz").exists() and result.power_flow is None
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left behind


def test_a_failure_leaves_nothing_behind(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(UnknownExporterError, match="no exporter is called 'nope'"):
        generate(GenerateConfig(dist_m=250, n=2, formats=("npz", "nope"), out=out))
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_run_leaves_no_complete_looking_output(tmp_path: Path) -> None:
    import bayesgrid_plugins.app.figures as figures

    out = tmp_path / "out"
    original = figures.write_figures

    def interrupted(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    figures.write_figures = interrupted
    try:
        with pytest.raises(KeyboardInterrupt):
            generate(GenerateConfig(dist_m=250, n=2, formats=("npz",), engine="none", out=out))
    finally:
        figures.write_figures = original
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["generate", "-n", "0"], 2, "expected a positive integer"),
        (["generate", "--point", "43.7"], 2, "expected LAT,LON"),
        (["generate", "--engine", "matlab"], 2, "invalid choice"),
        (["generate", "--osm", "missing.osm.pbf"], 1, "missing.osm.pbf"),
        (["validate", "nowhere"], 1, "nowhere"),
    ],
)
def test_exit_codes(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    extra = ["--out", str(tmp_path / "o")] if args[0] == "generate" else []
    result = subprocess.run(
        [sys.executable, "-m", "bayesgrid_plugins.app.cli", *args, *extra],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    if code == 1:  # our own failures are one line; usage errors show argparse's usage first
        assert len(result.stderr.strip().splitlines()) == 1


def test_ensemble_of_generate_is_reproducible(tmp_path: Path) -> None:
    a = generate(
        GenerateConfig(dist_m=250, n=3, seed=9, formats=("npz",), engine="none", out=tmp_path / "a")
    )
    generate(
        GenerateConfig(dist_m=250, n=3, seed=9, formats=("npz",), engine="none", out=tmp_path / "b")
    )
    ea = Ensemble.load(tmp_path / "a" / "npz" / "ensemble.npz")
    eb = Ensemble.load(tmp_path / "b" / "npz" / "ensemble.npz")
    assert np.array_equal(ea.p_kw, eb.p_kw) and np.array_equal(a.ensemble.p_kw, ea.p_kw)
