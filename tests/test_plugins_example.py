"""The example third-party plugin, installed with pip, is found through its entry point.

The package is installed into a temporary virtual environment that sees this environment's
packages (bayesgrid included) through a ``.pth`` file, so the shared environment is never
modified. pip builds the package in an isolated build environment, which needs setuptools from
the package index; the test is skipped when the index cannot be reached.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from bayesgrid_plugins.plugins import BLOCK_ENV_VAR

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "bayesgrid-example-exporter"
DIST = "bayesgrid-example-exporter"
OFFLINE_HINTS = ("NewConnectionError", "Could not fetch", "No matching distribution found")

EXPORT_SCRIPT = textwrap.dedent(
    """
    import sys

    import numpy as np

    from bayesgrid_plugins import Ensemble, Feeder
    from bayesgrid_plugins.plugins import export

    feeder = Feeder.from_edges(
        [("s", "a", 0.1), ("a", "b", 0.2), ("a", "c", 0.3)],
        "s",
        coords={"s": (0.0, 0.0), "a": (1.0, 0.0), "b": (2.0, 0.5), "c": (2.0, -0.5)},
    )
    load = np.array([[0, 7, 1, 4], [0, 7, 2, 2]], dtype=np.uint8)
    bus = np.array([[7, 7, 1, 4], [7, 7, 2, 2]], dtype=np.uint8)
    on = (load[..., None] >> np.arange(3, dtype=np.uint8)) & 1
    p = on * np.arange(1.0, 13.0).reshape(1, 4, 3)
    ensemble = Ensemble(
        bus_id=feeder.bus_id, source=feeder.source, load_phases=load, bus_phases=bus,
        p_kw=p, q_kvar=0.25 * p, power_factor=np.full(2, 0.97), draw=np.zeros(2, dtype=int),
    )
    written = export(feeder, ensemble, "element-csv", sys.argv[1], realisations=[1])
    print("\\n".join(str(path) for path in written["element-csv"]))
    """
)


def run(cmd: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, **kwargs)


def make_venv(where: Path) -> Path:
    """A venv without pip that also sees this environment's packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    site = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        env={"PATH": os.environ.get("PATH", "")},
        check=True,
    ).stdout.strip()
    parent = sysconfig.get_paths()["purelib"]
    # addsitedir also runs the .pth files there (bayesgrid's editable install is one).
    Path(site, "_bayesgrid_parent_env.pth").write_text(
        f"import site; site.addsitedir({parent!r})\n"
    )
    return python


def list_plugins(python: Path, env: dict[str, str]) -> dict:
    result = run([str(python), "-m", "bayesgrid_plugins.app.cli", "plugins", "--json"], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_example_plugin_install_list_export_block_uninstall(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(  # pip builds in the source tree: build a copy, never the checkout
        EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    python = make_venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if k not in (BLOCK_ENV_VAR, "PYTHONPATH")}
    env[BLOCK_ENV_VAR] = "pandapower,opendss"  # the host adapters are not under test here
    pip = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check"]

    before = list_plugins(python, env)
    assert "element-csv" not in {row["name"] for row in before["exporters"]}

    installed = run([*pip, "install", "--no-deps", "--no-input", str(source)], env)
    if installed.returncode != 0 and any(
        h in installed.stdout + installed.stderr for h in OFFLINE_HINTS
    ):
        pytest.skip("pip needs the package index to build the example (setuptools)")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    try:
        # Listed, with its package and version.
        document = list_plugins(python, env)
        rows = {row["name"]: row for row in document["exporters"]}
        assert rows["element-csv"]["distribution"] == DIST
        assert rows["element-csv"]["version"] == "0.1.0"
        assert rows["element-csv"]["plugin"] == "element-csv"
        assert {"npz", "csv", "geojson"} <= set(rows)
        text = run([str(python), "-m", "bayesgrid_plugins.app.cli", "plugins"], env)
        assert re.search(rf"element-csv +\(folder\) +{re.escape(DIST)} 0\.1\.0", text.stdout)

        # Export through it.
        out = tmp_path / "out"
        result = run([str(python), "-c", EXPORT_SCRIPT, str(out)], env)
        assert result.returncode == 0, result.stderr
        folder = out / "element-csv" / "realisation_0001"
        assert result.stdout.split() == [str(folder / "buses.csv"), str(folder / "lines.csv")]
        with open(folder / "buses.csv", newline="") as handle:
            buses = list(csv.DictReader(handle))
        assert [b["bus_id"] for b in buses] == ["s", "a", "b", "c"]
        assert [b["phases"] for b in buses] == ["ABC", "ABC", "B", "B"]
        assert [b["load_phases"] for b in buses] == ["", "ABC", "B", "B"]
        assert [float(b["p_b_kw"]) for b in buses] == [0.0, 5.0, 8.0, 11.0]
        assert [float(b["q_b_kvar"]) for b in buses] == [0.0, 1.25, 2.0, 2.75]
        with open(folder / "lines.csv", newline="") as handle:
            lines = list(csv.DictReader(handle))
        assert [(x["from_bus"], x["to_bus"], x["phases"]) for x in lines] == [
            ("s", "a", "ABC"),
            ("a", "b", "B"),
            ("a", "c", "B"),
        ]
        assert [float(x["length_km"]) for x in lines] == [0.1, 0.2, 0.3]

        # Blocking removes it without uninstalling.
        blocked_env = {**env, BLOCK_ENV_VAR: "pandapower,opendss,element-csv"}
        document = list_plugins(python, blocked_env)
        assert "element-csv" not in {row["name"] for row in document["exporters"]}
        plugins = {row["name"]: row for row in document["plugins"]}
        assert plugins["element-csv"]["status"] == "blocked"
        assert plugins["element-csv"]["distribution"] == DIST
    finally:
        removed = run([*pip, "uninstall", "--yes", DIST], env)
    assert removed.returncode == 0, removed.stderr

    # Uninstalled: gone from the list, not even reported.
    document = list_plugins(python, env)
    assert "element-csv" not in {row["name"] for row in document["exporters"]}
    assert "element-csv" not in {row["name"] for row in document["plugins"]}
    assert not list(EXAMPLE.glob("build")) and not list(EXAMPLE.rglob("*.egg-info"))


ENGINE_EXAMPLE = ROOT / "examples" / "bayesgrid-example-engine"

SOLVE_SCRIPT = textwrap.dedent(
    """
    import json

    import numpy as np

    from bayesgrid_plugins import BayesianPowerModel, Feeder, get_engine

    feeder = Feeder.from_edges(
        [("s", "a", 0.1), ("a", "b", 0.2), ("a", "c", 0.3)], "s", vn_kv=0.4
    )
    ensemble = BayesianPowerModel().sample(feeder, 3, rng=1)
    with get_engine("sweep").open(feeder, ensemble) as case:
        result = case.solve_batch()
    print(json.dumps({"engine": result.engine, "converged": result.converged.tolist(),
                      "vmin": float(np.nanmin(result.vm_min_pu))}))
    """
)


def test_a_third_party_engine_installs_lists_and_solves(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(
        ENGINE_EXAMPLE,
        source,
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
    )
    python = make_venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if k not in (BLOCK_ENV_VAR, "PYTHONPATH")}
    pip = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check"]
    assert "sweep" not in {row["name"] for row in list_plugins(python, env)["engines"]}
    installed = run([*pip, "install", "--no-deps", "--no-input", str(source)], env)
    if installed.returncode != 0 and any(
        h in installed.stdout + installed.stderr for h in OFFLINE_HINTS
    ):
        pytest.skip("pip needs the package index to build the example (setuptools)")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    document = list_plugins(python, env)
    engines = {row["name"]: row for row in document["engines"]}
    assert engines["sweep"]["distribution"] == "bayesgrid-example-engine"
    assert {"opendss", "pandapower", "sweep"} <= set(engines)
    result = run([str(python), "-c", SOLVE_SCRIPT], env)
    assert result.returncode == 0, result.stderr
    solved = json.loads(result.stdout)
    assert solved["engine"] == "sweep" and solved["converged"] == [True, True, True]
    assert 0.9 < solved["vmin"] < 1.0
