"""Every code block of README.md runs: Python blocks in the default run, the commands in CI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
PYTHON = [code for lang, code in BLOCKS if lang == "python"]
COMMANDS = [code.strip() for lang, code in BLOCKS if lang == "bash"]


def test_readme_has_the_two_setup_commands() -> None:
    assert COMMANDS[:2] == [
        "pip install -e . && bayesgrid generate",
        'pip install -e ".[test]" && pytest',
    ]
    ci = (README.parent / ".ci" / "run").read_text()
    assert COMMANDS[1] in ci


@pytest.mark.parametrize("code", PYTHON, ids=[f"python-block-{i}" for i in range(len(PYTHON))])
def test_python_block_runs(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})


@pytest.mark.slow
def test_main_job_command_runs(tmp_path: Path) -> None:
    # The first set-up command without its install step: the main job on the embedded default.
    command = COMMANDS[0].split("&&", 1)[1].split()
    assert command == ["bayesgrid", "generate"]
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [str(bin_dir / command[0]), *command[1:]], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    out = tmp_path / "bayesgrid-output"
    for name in (
        "summary.md",
        "summary.json",
        "feeder_phases.png",
        "voltages.png",
        "npz",
        "opendss",
        "pandapower",
    ):
        assert (out / name).exists(), name
