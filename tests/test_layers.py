"""The core stays independent of the host libraries and of PyMC."""

from __future__ import annotations

import subprocess
import sys

import pytest

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
