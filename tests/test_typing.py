"""The type hints hold: mypy checks the packages named in ``[tool.mypy]`` of pyproject.toml.

Slow (about 45 s without mypy's cache in ``.mypy_cache``, 15-20 s with it), so it runs in CI
and with ``-m slow``. Locally: ``mypy`` in the repository root runs the same check.
"""

from __future__ import annotations

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
def test_mypy_finds_no_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from mypy import api

    monkeypatch.chdir(ROOT)  # the packages and the cache are found from the repository root
    stdout, stderr, status = api.run(["--config-file", str(PYPROJECT)])
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    if status != 0:
        pytest.fail(
            f"mypy exited with {status} and {len(errors)} errors:\n{stdout}{stderr}",
            pytrace=False,
        )
