"""Every tutorial runs from top to bottom, offline, on the shipped data.

Each ``docs/tutorials/NN_*.py`` (jupytext percent format) runs as a script in a subprocess, in
an empty temporary working folder, within a time budget; the files it promises to write must
be there. Tutorials that take longer than about 20 s on a 2-core machine are marked slow (they
run in CI).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "docs" / "tutorials"
SCRIPTS = sorted(TUTORIALS.glob("[0-9][0-9]_*.py"))

#: Tutorials that take more than ~20 s here (a NUTS fit, pandapower's numba, a Dask cluster).
SLOW = {"02_models_and_training", "03_power_flow", "06_unbalance_pandapower", "07_dask_cluster"}
#: Time budget per tutorial [s]; generous, as the machine is shared.
BUDGET_S = {"02_models_and_training": 900.0}
DEFAULT_BUDGET_S = 420.0

#: Files (relative to the working folder) each tutorial writes.
OUTPUTS = {
    "01_topology": ["monaco_feeder.png"],
    "02_models_and_training": ["my_power_counted.json", "my_power_nuts.json"],
    "03_power_flow": [
        "out/opendss/realisation_0000/Master.dss",
        "out/pandapower/realisation_0000.json",
        "out/csv/buses.csv",
    ],
    "04_uncertainty_reliability": [
        "demand_per_phase.png",
        "voltages.png",
        "voltage_profile.png",
        "reliability.png",
    ],
    "05_exporter_plugin": ["out/phase-summary/realisation_0000.json"],
    "06_unbalance_pandapower": [],
    "07_dask_cluster": ["monaco-run/summary.json", "monaco-serial/summary.json"],
}


def _params() -> list:
    return [
        pytest.param(script, id=script.stem, marks=[pytest.mark.slow] * (script.stem in SLOW))
        for script in SCRIPTS
    ]


def test_there_are_the_seven_tutorials() -> None:
    stems = [s.stem for s in SCRIPTS]
    assert len(stems) >= 7, stems
    assert set(OUTPUTS) <= set(stems), sorted(set(OUTPUTS) - set(stems))


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_tutorial_is_a_jupytext_percent_script(script: Path) -> None:
    text = script.read_text(encoding="utf-8")
    assert "format_name: percent" in text, "keep the jupytext header"
    cells = [line for line in text.splitlines() if line.startswith("# %%")]
    markdown = [c for c in cells if "[markdown]" in c]
    assert len(markdown) >= 2 and len(cells) - len(markdown) >= 2
    first = text.split("# %% [markdown]", 1)[1].lstrip().splitlines()[0]
    assert first.startswith("# # "), "the first Markdown cell starts with the page title"
    # offline and portable: no paths of one machine, no network
    for forbidden in ("/work/", "/home/", "http://", "requests.", "urllib"):
        assert forbidden not in text.replace("https://", ""), forbidden
    compile(text, str(script), "exec")


@pytest.mark.parametrize("script", _params())
def test_tutorial_runs(script: Path, tmp_path: Path) -> None:
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    env["PYTHONHASHSEED"] = "0"
    env.pop("BAYESGRID_BLOCK_PLUGINS", None)
    budget = BUDGET_S.get(script.stem, DEFAULT_BUDGET_S)
    try:
        proc = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=budget,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{script.name} took longer than {budget:.0f} s:\n{(exc.stdout or '')[-3000:]}")
    assert proc.returncode == 0, (
        f"{script.name} failed (exit {proc.returncode}):\n"
        f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-5000:]}"
    )
    assert proc.stdout.strip(), "a tutorial shows its results"
    missing = [name for name in OUTPUTS.get(script.stem, []) if not (tmp_path / name).exists()]
    assert not missing, f"{script.name} did not write {missing}"
    for name in OUTPUTS.get(script.stem, []):
        assert (tmp_path / name).stat().st_size > 0, name
