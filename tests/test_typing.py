"""The type hints hold: mypy checks the packages named in ``[tool.mypy]`` of pyproject.toml.

Slow (70-120 s of processor time without mypy's cache in ``.mypy_cache``, 1-3 s with it), so it
runs in CI and with ``-m slow``. It runs ``python -m mypy`` in a process of its own: inside the test
process mypy's gigabyte of state took another minute to free at exit. Locally: ``mypy`` in the
repository root runs the same check.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"


def test_configuration_names_the_packages() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 on
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["mypy"]
    assert sorted(config["packages"]) == [
        "bayesgrid_plugins",
        "opendss_ext",
        "pandapower_ext",
        "pgm_ext",
    ]
    assert "ignore_missing_imports" not in config, "ignore missing imports per module only"


@pytest.mark.slow
def test_mypy_finds_no_error() -> None:
    pytest.importorskip("mypy")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(PYPROJECT)],
        cwd=ROOT,  # the packages and the cache are found from the repository root
        capture_output=True,
        text=True,
        check=False,
    )
    stdout, stderr, status = done.stdout, done.stderr, done.returncode
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    if status != 0:
        pytest.fail(
            f"mypy exited with {status} and {len(errors)} errors:\n{stdout}{stderr}",
            pytrace=False,
        )
