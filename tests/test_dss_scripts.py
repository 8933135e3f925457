"""OpenDSS scripts are checked before the engine compiles them: cycles, depth, strays, FIFOs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from bayesgrid_plugins.errors import BayesGridError, CircuitFileError

opendss_ext = pytest.importorskip("opendss_ext")
from opendss_ext.scripts import check_script_files  # noqa: E402

BODY = """clear
new circuit.t bus1=src basekv=12.47 phases=3
new line.l1 bus1=src bus2=b1 length=1 units=km
new load.ld1 bus1=b1 phases=3 kv=12.47 kw=10 kvar=3
{extra}
set voltagebases=[12.47]
calcvoltagebases
"""


def master(folder: Path, extra: str = "", name: str = "Master.dss") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(BODY.format(extra=extra))
    return path


def read_in_subprocess(path: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    """read_circuit in a child process: a crash or hang of the engine cannot take pytest along."""
    code = textwrap.dedent(
        f"""
        import sys
        from bayesgrid_plugins.errors import BayesGridError
        from opendss_ext import read_circuit
        try:
            read_circuit({str(path)!r})
        except BayesGridError as exc:
            print(type(exc).__name__, exc, file=sys.stderr)
            sys.exit(1)
        """
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout
    )


def test_a_file_that_redirects_to_itself_is_refused_without_a_crash(tmp_path):
    """It used to recurse inside OpenDSS for 30-80 s and die with SIGSEGV."""
    path = master(tmp_path, "redirect Master.dss")
    run = read_in_subprocess(path)
    assert run.returncode == 1, (run.returncode, run.stderr[-500:])
    assert "CircuitFileError" in run.stderr and "cycle" in run.stderr
    assert "Master.dss -> Master.dss" in run.stderr


def test_a_two_file_cycle_is_refused(tmp_path):
    master(tmp_path, "redirect b.dss")
    (tmp_path / "b.dss").write_text("! loop back\nRedirect [Master.dss]\n")
    with pytest.raises(CircuitFileError, match=r"Master\.dss -> b\.dss -> Master\.dss"):
        opendss_ext.read_circuit(tmp_path / "Master.dss")


def test_an_abbreviated_compile_cycle_is_refused(tmp_path):
    master(tmp_path, "comp 'Master.dss'")
    with pytest.raises(CircuitFileError, match="cycle"):
        check_script_files(tmp_path / "Master.dss")


def test_too_deep_nesting_is_refused(tmp_path):
    master(tmp_path, "redirect f1.dss")
    for i in range(1, 30):
        (tmp_path / f"f{i}.dss").write_text(f"redirect f{i + 1}.dss\n")
    (tmp_path / "f30.dss").write_text("! end\n")
    with pytest.raises(CircuitFileError, match="deeper than 16"):
        check_script_files(tmp_path / "Master.dss")


def test_repeated_redirects_are_bounded(tmp_path):
    master(tmp_path, "redirect a.dss\nredirect a.dss")
    (tmp_path / "a.dss").write_text("redirect b.dss\n" * 20)
    (tmp_path / "b.dss").write_text("redirect c.dss\n" * 20)
    (tmp_path / "c.dss").write_text("redirect d.dss\n" * 20)
    (tmp_path / "d.dss").write_text("! leaf\n")
    with pytest.raises(CircuitFileError, match="more than 5000 script files"):
        check_script_files(tmp_path / "Master.dss")


def test_a_file_outside_the_circuit_is_refused_and_never_echoed(tmp_path):
    """`redirect /etc/passwd` used to print the file's first line in the error."""
    secret = tmp_path / "elsewhere" / "deeper" / "secret.txt"
    secret.parent.mkdir(parents=True)
    secret.write_text("root:x:0:0:TOPSECRET:/root:/bin/bash\n")
    path = master(tmp_path / "a" / "b", f"redirect {secret}")
    with pytest.raises(CircuitFileError) as info:
        opendss_ext.read_circuit(path)
    message = str(info.value)
    assert "TOPSECRET" not in message and "outside the circuit's folders" in message
    assert "secret.txt" in message and "allowed_dirs" in message
    # allowed explicitly: the file is read (and OpenDSS rejects it), still no echo of the
    # check; the folder is named.
    assert check_script_files(path, allowed_dirs=[secret.parent])[-1] == secret


def test_etc_passwd_is_refused(tmp_path):
    path = master(tmp_path / "c", "redirect /etc/passwd")
    with pytest.raises(CircuitFileError) as info:
        opendss_ext.read_circuit(path)
    assert "root:" not in str(info.value)


@pytest.mark.parametrize(
    "extra",
    ["buscoords ../../../{name}", "new loadshape.s npts=2 mult=(file=../../../{name})"],
)
def test_data_files_may_lie_outside_but_must_be_regular_files(tmp_path, extra):
    """Load profiles three folders up (as in SMART-DS) are fine; a FIFO would block reading."""
    (tmp_path / "x.csv").write_text("1\n2\n")
    path = master(tmp_path / "a" / "b" / "c", extra.format(name="x.csv"))
    assert check_script_files(path) == [path.resolve()]
    os.mkfifo(tmp_path / "fifo.csv")
    path.write_text(BODY.format(extra=extra.format(name="fifo.csv")))
    with pytest.raises(CircuitFileError, match="not a regular file"):
        check_script_files(path)


def test_the_folder_above_is_allowed_for_shared_line_codes(tmp_path):
    (tmp_path / "codes.dss").write_text("new linecode.lc nphases=3 r1=0.1 x1=0.2 units=km\n")
    (tmp_path / "c" / "codes.dss").parent.mkdir()
    (tmp_path / "c" / "codes.dss").write_text("redirect ../codes.dss\n")
    path = master(tmp_path / "c", "redirect codes.dss")
    assert [p.name for p in check_script_files(path)] == ["Master.dss", "codes.dss", "codes.dss"]


def test_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe.dss"
    os.mkfifo(fifo)
    path = master(tmp_path, "redirect pipe.dss")
    with pytest.raises(CircuitFileError, match="not a regular file"):
        opendss_ext.read_circuit(path)


def test_a_comment_or_quoted_bang_is_not_a_redirect(tmp_path):
    path = master(tmp_path, "! redirect Master.dss\n// redirect Master.dss")
    assert [p.name for p in check_script_files(path)] == ["Master.dss"]
    assert opendss_ext.read_circuit(path).feeder.n_buses == 2


def test_error_is_ours(tmp_path):
    path = master(tmp_path, "redirect Master.dss")
    with pytest.raises(BayesGridError):
        from opendss_ext.reader import compile_master

        compile_master(path)


def test_compiling_has_a_time_limit(tmp_path):
    """A master that solves for a long time is abandoned after timeout_s, with a clear error."""
    from bayesgrid_plugins.errors import AdapterError
    from opendss_ext.reader import compile_master

    path = master(tmp_path, "set mode=yearly number=300000\nsolve")
    start = time.perf_counter()
    with pytest.raises(AdapterError, match=r"took longer than 0\.3 s.*Remove long solves"):
        compile_master(path, timeout_s=0.3)
    assert time.perf_counter() - start < 5.0
    for thread in threading.enumerate():  # let the abandoned engine finish before going on
        if thread.name == "bayesgrid-dss-compile":
            thread.join(120)
    # Without the long solve it compiles well within the default limit.
    assert compile_master(master(tmp_path / "ok")).Circuit.Name() == "t"


def test_compile_timeout_must_be_positive(tmp_path):
    from bayesgrid_plugins.errors import ParameterError
    from opendss_ext.reader import compile_master

    with pytest.raises(ParameterError, match="timeout_s"):
        compile_master(master(tmp_path), timeout_s=-1)
