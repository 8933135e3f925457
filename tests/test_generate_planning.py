"""The main job plans every realisation and says honestly when one is not feasible."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bayesgrid_plugins.app.cli import main
from bayesgrid_plugins.app.pipeline import GenerateConfig, generate
from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.feasibility import feasibility_of

# The default area (1.5 km around central Monaco, 2021 buses): unplanned, the lines out of the
# substation are overloaded in every one of 100 realisations of seed 1 (bench_planning.py).
ARGS = ["generate", "-n", "8", "--seed", "1", "--format", "npz"]


def test_default_generate_is_feasible_and_unplanned_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    planned, unplanned = tmp_path / "planned", tmp_path / "unplanned"
    assert main([*ARGS, "--out", str(planned)]) == 0
    summary = json.loads((planned / "summary.json").read_text())
    assert summary["feasibility"]["feasible"] == 8
    assert (planned / "line_loading.png").stat().st_size > 0
    assert (planned / "voltage_profile.png").stat().st_size > 0
    ensemble = Ensemble.load(planned / "npz" / "ensemble.npz")
    assert ensemble.line_type is not None and ensemble.source_vm_pu is not None

    capsys.readouterr()
    assert main([*ARGS, "--no-planning", "--out", str(unplanned)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "not feasible" in err[-1]
    text = (unplanned / "summary.md").read_text()
    assert "| realisation | violated |" in text and "loaded" in text
    assert main([*ARGS, "--no-planning", "--allow-infeasible", "--out", str(tmp_path / "a")]) == 0


def test_small_area_planned_vs_unplanned_through_the_api(tmp_path: Path) -> None:
    config = dict(dist_m=300, n=6, seed=3, formats=("npz",), engine="opendss")
    planned = generate(GenerateConfig(**config, out=tmp_path / "p"))
    assert planned.feasibility is not None and planned.feasibility.all_feasible
    lines = planned.feeder.lines
    from bayesgrid_plugins.planning import downstream_current_ka

    need = 1.25 * downstream_current_ka(planned.feeder, planned.ensemble)
    assert (planned.ensemble.max_i_ka[:, lines] >= need[:, lines] * (1 - 1e-6)).all()
    plain = generate(GenerateConfig(**config, plan=False, out=tmp_path / "u"))
    # unplanned: conductors as the impedance model drew them, no plan recorded
    assert plain.ensemble.n_parallel is None and plain.ensemble.source_vm_pu is None
    again = feasibility_of(plain.power_flow, plain.feeder)
    np.testing.assert_array_equal(again.feasible, plain.feasibility.feasible)


def test_run_exits_1_on_an_infeasible_realisation(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse
    from types import SimpleNamespace

    from bayesgrid_plugins import Feeder
    from bayesgrid_plugins.app.cli_scale import _run_exit

    feeder = Feeder(["s", "a"], [-1, 0], [0.0, 1.0], vn_kv=13.8)
    good = {
        "converged": np.array([True, True]),
        "vm_min_pu": np.full((2, 3), 0.97),
        "vm_max_pu": np.full((2, 3), 1.0),
        "max_loading_percent": np.array([50.0, 60.0]),
    }
    bad = {**good, "converged": np.array([True, False])}
    low = {**good, "vm_min_pu": np.array([[0.97] * 3, [0.94, 0.97, 0.97]])}
    args = argparse.Namespace(allow_infeasible=False)
    assert _run_exit(SimpleNamespace(feeders=[feeder], results=[good]), args) == 0
    assert _run_exit(SimpleNamespace(feeders=[feeder, feeder], results=[good, bad]), args) == 1
    assert "1 of 4 realisations are not feasible (1 did not converge)" in capsys.readouterr().err
    assert _run_exit(SimpleNamespace(feeders=[feeder], results=[low]), args) == 1
    capsys.readouterr()
    allowed = argparse.Namespace(allow_infeasible=True)
    assert _run_exit(SimpleNamespace(feeders=[feeder], results=[low]), allowed) == 0
    assert capsys.readouterr().err.startswith("warning: ")
