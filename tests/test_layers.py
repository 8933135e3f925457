"""The core stays independent of the host libraries and of PyMC."""

from __future__ import annotations

import subprocess
import sys

import pytest

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))

FORBIDDEN = ("pandapower", "opendssdirect", "pymc", "pytensor", "osmnx", "matplotlib", "pandas")


@pytest.mark.parametrize(
    "statement",
    [
        "import bayesgrid_plugins",
        "from bayesgrid_plugins.models.power import BayesianPowerModel; "
        "from bayesgrid_plugins.phases import enforce_phase_consistency; "
        "from bayesgrid_plugins import Feeder, Ensemble",
    ],
)
def test_core_imports_no_host_library(statement: str) -> None:
    code = (
        f"{statement}\n"
        "import sys\n"
        f"loaded = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"{statement!r} imported {result.stdout.strip()}"


# ---------------------------------------------------------------- static layering contract
ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def test_core_and_application_import_no_adapter_anywhere() -> None:
    from layering import check_layers

    violations = check_layers(ROOT)
    assert not violations, "\n".join(map(str, violations))


def test_no_cycle_between_core_units() -> None:
    from layering import core_cycles

    assert core_cycles(ROOT) == []


def _tree(tmp_path, files: dict[str, str]):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_check_sees_an_adapter_import_inside_a_core_function(tmp_path) -> None:
    from layering import check_layers

    root = _tree(
        tmp_path,
        {
            "bayesgrid_plugins/__init__.py": "",
            "bayesgrid_plugins/models/__init__.py": "",
            "bayesgrid_plugins/models/power.py": (
                "def solve():\n    from opendss_ext.solve import solve\n    return solve\n"
            ),
            "bayesgrid_plugins/app/__init__.py": "",
            "bayesgrid_plugins/app/pipeline.py": "def f():\n    import pandapower as pp\n",
            "bayesgrid_plugins/feeder.py": "from .app import pipeline\n",
        },
    )
    found = {(v.module, v.imported) for v in check_layers(root)}
    assert ("bayesgrid_plugins.models.power", "opendss_ext.solve") in found
    assert ("bayesgrid_plugins.app.pipeline", "pandapower") in found
    assert ("bayesgrid_plugins.feeder", "bayesgrid_plugins.app") in found


def test_the_check_sees_a_cycle_between_subpackages(tmp_path) -> None:
    from layering import core_cycles

    root = _tree(
        tmp_path,
        {
            "bayesgrid_plugins/__init__.py": "",
            "bayesgrid_plugins/models/__init__.py": "",
            "bayesgrid_plugins/models/power.py": "def learn():\n    from ..learn import fit\n",
            "bayesgrid_plugins/learn/__init__.py": "",
            "bayesgrid_plugins/learn/fit.py": "from ..models.power import learn\n",
        },
    )
    cycles = core_cycles(root)
    assert len(cycles) == 1 and cycles[0][:2] == ["learn", "models"]


def test_old_paths_of_the_application_modules_import_with_a_warning() -> None:
    import importlib

    import bayesgrid_plugins
    import bayesgrid_plugins.app.pipeline as new

    aliases = (
        "bayesgrid_plugins.pipeline",
        "bayesgrid_plugins.validation",
        "bayesgrid_plugins.validation.real",
    )
    try:
        for name in aliases:
            sys.modules.pop(name, None)
        with pytest.warns(DeprecationWarning, match=r"bayesgrid_plugins\.app\.pipeline"):
            old = importlib.import_module("bayesgrid_plugins.pipeline")
        assert old is new
        with pytest.warns(DeprecationWarning, match=r"app\.validation"):
            from bayesgrid_plugins.validation.real import load_real_feeder
        assert load_real_feeder.__module__ == "bayesgrid_plugins.app.validation.real"
    finally:  # leave no alias behind for later tests
        for name in aliases:
            sys.modules.pop(name, None)
            short = name.rsplit(".", 1)[-1]
            if name.count(".") == 1 and short in vars(bayesgrid_plugins):
                delattr(bayesgrid_plugins, short)
