"""The main job's writer process: same files as writing in one process, errors come back whole."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pytest

from bayesgrid_plugins.app.pipeline import GenerateConfig, generate
from bayesgrid_plugins.app.writer_process import WriterProcess
from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import ExporterFailedError, ParameterError
from bayesgrid_plugins.exporters.base import ExportRequest
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.models.power import BayesianPowerModel
from bayesgrid_plugins.plugins import PluginManager

FORMATS = ("npz", "geojson", "opendss", "pandapower")


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.parts[len(folder.parts)] in FORMATS
    }


@pytest.fixture(scope="module")
def small() -> tuple[Feeder, Ensemble]:
    feeder = Feeder.from_edges([("s", "a", 0.1), ("a", "b", 0.2), ("a", "c", 0.1)], "s")
    return feeder, BayesianPowerModel().sample(feeder, 4, rng=3)


@pytest.mark.slow
def test_background_writing_writes_the_same_files(tmp_path: Path) -> None:
    """Every exported file is byte-for-byte the one the main process writes itself."""
    runs = {}
    for background in (True, False):
        out = tmp_path / f"background-{background}"
        result = generate(
            GenerateConfig(
                dist_m=250,
                n=3,
                seed=5,
                formats=FORMATS,
                engine="none",
                out=out,
                background_writing=background,
            )
        )
        assert ("background_writing" in result.timings_s) is background
        assert list(result.files)[: len(FORMATS)] == list(FORMATS)  # formats first, in order
        runs[background] = _digests(out)
    assert runs[True] == runs[False]
    assert {name.split("/")[0] for name in runs[True]} == set(FORMATS)


def test_an_exporter_error_comes_back_with_its_type_and_traceback(
    small: tuple[Feeder, Ensemble], tmp_path: Path
) -> None:
    feeder, ensemble = small
    with WriterProcess(["npz"]) as writer:
        assert writer.handles() == ["npz"]
        writer.submit(feeder, ensemble, tmp_path, {"npz": np.array([7])})
        with pytest.raises(ParameterError, match="out of range") as caught:
            writer.result()
    assert any("raised in the writer process" in note for note in caught.value.__notes__)
    assert not (tmp_path / "npz").exists()  # the failed format removed what it wrote


def test_a_writer_that_dies_is_reported(small: tuple[Feeder, Ensemble], tmp_path: Path) -> None:
    feeder, ensemble = small
    with WriterProcess(["npz"]) as writer:
        writer.handles()
        writer.submit(feeder, ensemble, tmp_path, {"npz": None})
        assert writer._proc is not None
        writer._proc.kill()
        with pytest.raises(ExporterFailedError, match="writer process stopped unexpectedly"):
            writer.result()


def test_log_records_of_the_writer_reach_this_process(
    small: tuple[Feeder, Ensemble], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    feeder, ensemble = small
    with caplog.at_level(logging.INFO, logger="bayesgrid_plugins"):
        with WriterProcess(["npz"]) as writer:
            writer.handles()
            writer.submit(feeder, ensemble, tmp_path, {"npz": None})
            files = writer.result()
    assert sorted(p.name for p in files["npz"]) == ["ensemble.npz", "feeder.npz"]
    assert any("exporter 'npz' wrote 2 file(s)" in r.getMessage() for r in caplog.records)


class _InCode:
    name = "in-code"
    description = "registered in code, unknown to other processes"

    def export(self, request: ExportRequest) -> list[Path]:
        return []


def test_an_exporter_registered_in_code_stays_in_this_process() -> None:
    manager = PluginManager()
    manager.register(_InCode())
    with WriterProcess(["npz", "in-code"]) as writer:
        assert writer.handles(manager) == ["npz"]


def test_a_format_claimed_here_is_left_out_by_the_writer(
    small: tuple[Feeder, Ensemble], tmp_path: Path
) -> None:
    """Claims are first come, first served; the writer is still importing pandapower here."""
    feeder, ensemble = small
    with WriterProcess(["pandapower", "npz"]) as writer:
        assert writer.handles() == ["pandapower", "npz"]
        writer.submit(feeder, ensemble, tmp_path, {"pandapower": None, "npz": None})
        assert writer.claim("npz")
        assert not writer.claim("npz")  # taken once only
        files = writer.result()
    assert list(files) == ["pandapower"]
    assert not (tmp_path / "npz").exists()
    assert not writer.claim("pandapower")  # nothing pending any more


def test_closing_while_the_job_is_still_fed_leaves_no_thread(
    small: tuple[Feeder, Ensemble], tmp_path: Path
) -> None:
    """The job is larger than a pipe holds and the writer is importing pandapower: the feeding
    thread is blocked when the main process gives up, and must end with the writer."""
    import threading

    feeder, _ = small
    big = BayesianPowerModel().sample(feeder, 2000, rng=1)
    before = threading.active_count()
    writer = WriterProcess(["pandapower"])
    writer.handles()
    writer.submit(feeder, big, tmp_path, {"pandapower": np.arange(1)})
    assert threading.active_count() == before + 1
    writer.close()
    assert threading.active_count() == before
    assert not (tmp_path / "pandapower").exists()


def test_ctrl_c_while_the_writer_starts_does_not_stop_it(
    small: tuple[Feeder, Ensemble], tmp_path: Path
) -> None:
    """Ctrl-C reaches the writer too; it must be ignored from Python's start, not only once
    the writer's code runs (an interrupted start printed a traceback and lost the writer)."""
    import os
    import signal

    feeder, ensemble = small
    with WriterProcess(["npz"]) as writer:
        assert writer._proc is not None
        os.kill(writer._proc.pid, signal.SIGINT)  # while the interpreter starts
        assert writer.handles() == ["npz"]
        writer.submit(feeder, ensemble, tmp_path, {"npz": None})
        assert sorted(writer.result()) == ["npz"]


def _writer_of(pid: int) -> bool:
    """Whether a writer process whose parent is ``pid`` runs."""
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if b"writer_process" in cmdline and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            return True
    return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the writer")
def test_ctrl_c_stops_both_processes_quietly(tmp_path: Path) -> None:
    """Ctrl-C reaches the process group: the main job says so in one line, the writer prints
    no traceback, and nothing is left behind."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bayesgrid_plugins.app.cli", "generate", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not _writer_of(proc.pid) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert _writer_of(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    assert "Traceback" not in err.decode()
    assert "interrupted; nothing half-written was left behind" in err.decode()
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_an_extension_import_is_reported_as_an_interrupt(capsys) -> None:
    """A Ctrl-C that lands while a compiled module initialises surfaces as
    ``ImportError: initialization failed``; it was reported as a bug (exit 1), and the slow
    test above caught it when the interrupt came early."""
    import os
    import signal
    import time

    from bayesgrid_plugins.app import cli

    def handler(args: object) -> int:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler runs here
        except KeyboardInterrupt:
            raise ImportError("initialization failed") from None  # as CPython reports it
        raise AssertionError("SIGINT was not delivered")

    parser = cli.build_parser()
    args = parser.parse_args(["plugins"])
    args.handler = handler
    record = cli._record_interrupts()
    try:
        code = cli._run(args, parser, ["plugins"], record)
    finally:
        record.restore()
    assert code == 130
    assert "interrupted; nothing half-written" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
