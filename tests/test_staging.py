"""Killed runs clean up after themselves; --overwrite replaces only bayesgrid's own outputs."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bayesgrid_plugins.app.cli import main
from bayesgrid_plugins.errors import OutputExistsError, ParameterError
from bayesgrid_plugins.staging import (
    MARKER_FILE,
    STALE_AFTER_S,
    check_output_folder,
    clean_stale_staging,
    make_staging_dir,
    staged_folder,
)

FAST = ["generate", "-n", "2", "--engine", "none", "--dist", "200", "--network-files", "1"]


def staging_folders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name or ".old-" in p.name)


def run_cli(capsys, argv: list[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_sigkill_mid_write_then_rerun_leaves_no_staging_folder(tmp_path, capsys, caplog):
    """A run killed while writing (SIGKILL: no handler runs) used to leave .out.partial-*."""
    out = tmp_path / "out"
    writer = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from bayesgrid_plugins.staging import staged_folder
        with staged_folder(Path({str(out)!r}), overwrite=False, kind="generate") as stage:
            (stage / "ensemble.npz").write_bytes(b"x" * 1_000_000)
            print("writing", flush=True)
            time.sleep(120)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "writing"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        assert child.stdout is not None
        child.stdout.close()
    left = staging_folders(tmp_path)
    assert len(left) == 1 and left[0].startswith(".out.partial-")  # what the kill leaves
    assert (tmp_path / left[0] / MARKER_FILE).is_file()
    with caplog.at_level(logging.WARNING, logger="bayesgrid_plugins.staging"):
        code, err = run_cli(capsys, [*FAST, "--out", str(out), "--format", "npz"])
    assert code == 0, err
    assert staging_folders(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert any("interrupted generate run" in r.getMessage() for r in caplog.records)


def test_a_killed_overwrite_leaves_a_marked_old_folder_that_is_removed(tmp_path):
    old = make_staging_dir(tmp_path, "out", kind="generate", role="old")
    marker = json.loads((old / MARKER_FILE).read_text())
    marker["pid"] = _dead_pid()
    (old / MARKER_FILE).write_text(json.dumps(marker))
    assert clean_stale_staging(tmp_path) == [old]
    assert list(tmp_path.iterdir()) == []


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


def test_unmarked_or_live_staging_folders_are_left_alone(tmp_path):
    foreign = tmp_path / ".out.partial-someone-else"
    foreign.mkdir()
    (foreign / "data.bin").write_bytes(b"1")
    live = make_staging_dir(tmp_path, "other", kind="generate")  # this process: still running
    assert clean_stale_staging(tmp_path) == []
    assert foreign.is_dir() and live.is_dir()
    # ... unless it is older than the stated age.
    assert clean_stale_staging(tmp_path, now=time.time() + STALE_AFTER_S + 1) == [live]
    assert foreign.is_dir()


def test_overwrite_never_deletes_unrelated_files(tmp_path, capsys, monkeypatch):
    """`--out "$PWD" --overwrite` used to wipe every file in the current folder."""
    here = tmp_path / "work"
    here.mkdir()
    (here / "thesis.tex").write_text("precious")
    monkeypatch.chdir(here)
    for out, expected in ((str(here), 1), (".", 2)):
        code, err = run_cli(capsys, [*FAST, "--out", out, "--overwrite", "--format", "npz"])
        assert code == expected, err
        assert "thesis.tex" in err or "never into the current" in err, err
    assert sorted(p.name for p in here.iterdir()) == ["thesis.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


@pytest.mark.parametrize("out", [".", "..", ""])
def test_out_naming_no_folder_is_refused_up_front(out):
    with pytest.raises(ParameterError, match="names no new folder"):
        check_output_folder(Path(out) if out else Path(""), overwrite=True)


def test_overwrite_replaces_an_empty_or_own_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with staged_folder(out, overwrite=True) as stage:
        (stage / "a.txt").write_text("1")
    assert sorted(p.name for p in out.iterdir()) == [MARKER_FILE, "a.txt"]
    with staged_folder(out, overwrite=True) as stage:
        (stage / "b.txt").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == [MARKER_FILE, "b.txt"]
    (out / MARKER_FILE).unlink()
    with pytest.raises(OutputExistsError, match="move those files away"):
        check_output_folder(out, overwrite=True)
