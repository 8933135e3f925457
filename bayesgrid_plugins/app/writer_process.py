"""Write the main job's export formats in a second process while the first draws the figures.

On a machine with two or more cores the main job starts one *writer process* as soon as its
arguments are checked. While the parent reads the map and samples, the writer loads the exporter
plugins and lets each one ``prepare()`` (import its engine library: importing pandapower alone
takes 1.5-3 s). When the ensemble is final the parent hands it over and goes on with the
cross-check, the figures and the summary; the writer writes the formats into the same staging
folder. The parent waits for the writer before it writes the manifest, so a run is complete
exactly as when it writes everything itself, and the files are byte-for-byte the same.

What crosses between the processes, over the writer's standard input and output as JSON and
``.npz`` bytes (:mod:`bayesgrid_plugins.app.writer_messages`; no pickles):

- the parent's ``sys.path``, the formats to prepare and its log level;
- the writer's answer: the owner of each exporter it loaded, so that only formats that both
  processes get from the same installed plugin are handed over (an exporter registered in
  code exists in the parent only and is written there);
- the feeder, the ensemble, the staging folder and the realisations per format;
- the files written, the log records and the warnings of the writer (re-emitted in the parent),
  or its error (raised again in the parent, with the writer's traceback as a note).

If the writer dies, the parent raises :class:`~bayesgrid_plugins.errors.ExporterFailedError`
naming its exit code; on any error in the parent the writer is killed before the staging
folder is removed. ``GenerateConfig(background_writing=False)`` (``--no-background-writing``)
writes everything in the main process.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..ensemble import Ensemble
from ..errors import ExporterFailedError
from ..exporters.npz import feeder_from_bytes, feeder_to_bytes
from ..plugins import CODE_OWNER, get_plugin_manager
from .writer_messages import (
    encode_frame,
    error_fields,
    read_frame,
    rebuild_error,
    record_fields,
    replay,
    warning_fields,
    write_frame,
)

__all__ = ["WriterProcess", "usable_cores"]

logger = logging.getLogger("bayesgrid_plugins.app.writer_process")  # also when run as __main__

#: Loggers whose level the writer takes on (the most verbose of them).
_LOGGERS = ("", "bayesgrid_plugins", "pandapower_ext", "opendss_ext", "pgm_ext")

#: Module run as the writer process (``python -m``).
_MODULE = "bayesgrid_plugins.app.writer_process"


def usable_cores() -> int:
    """Cores this process may run on (its affinity where the platform tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


class WriterProcess:
    """A second process that writes export formats on request (see the module docstring).

    Use it as a context manager: leaving the block stops the process, killing it if it is
    still writing (the parent is failing then, and its staging folder is about to go).
    """

    def __init__(self, formats: Sequence[str]) -> None:
        self.formats = list(formats)
        self._proc: subprocess.Popen[bytes] | None = _spawn()
        self._owners: dict[str, str] | None = None
        self._pending: list[str] = []
        self._claims: Path | None = None  # one empty file per format taken, by either process
        self._sender: threading.Thread | None = None
        self._feed_error: BaseException | None = None
        #: Seconds the writer spent on each format of the last result.
        self.seconds: dict[str, float] = {}
        self._send(
            {
                "sys_path": list(sys.path),
                "formats": self.formats,
                "log_level": min(logging.getLogger(name).getEffectiveLevel() for name in _LOGGERS),
            }
        )

    # ------------------------------------------------------------------ protocol
    def _send(self, message: Mapping[str, Any]) -> None:
        proc = self._alive()
        assert proc.stdin is not None
        try:
            write_frame(proc.stdin, message)
        except (BrokenPipeError, OSError):
            raise self._died() from None

    def _feed(self, stream: IO[bytes], data: bytes) -> None:
        """Write ``data`` into the writer's input ``stream`` (in the sender thread)."""
        try:
            stream.write(data)
            stream.flush()
        except (OSError, ValueError) as exc:  # a broken pipe, or the pipe closed meanwhile
            self._feed_error = exc

    def _join_sender(self) -> None:
        if self._sender is not None:
            self._sender.join()
            self._sender = None
        if self._feed_error is not None:
            self._feed_error = None
            raise self._died()

    def _receive(self) -> dict[str, Any]:
        self._join_sender()
        proc = self._alive()
        assert proc.stdout is not None
        try:
            message, _ = read_frame(proc.stdout)
        except (EOFError, ValueError, OSError):
            raise self._died() from None
        replay(message)
        if message.get("error") is not None:
            self.close()
            raise rebuild_error(message["error"])
        return message

    def _alive(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise ExporterFailedError("the writer process is closed; start a new WriterProcess.")
        return self._proc

    def _died(self) -> ExporterFailedError:
        code = self.close(kill=True)
        return ExporterFailedError(
            f"the writer process stopped unexpectedly (exit code {code}); its error, if any, is "
            "printed above. Run again with --no-background-writing (GenerateConfig("
            "background_writing=False)) to write in the main process."
        )

    # ------------------------------------------------------------------ public
    def handles(self, manager: Any = None) -> list[str]:
        """The formats this writer will write: those both processes load from one plugin."""
        if self._owners is None:
            self._owners = dict(self._receive()["owners"])
        registry = (manager or get_plugin_manager()).registry
        return [
            name
            for name in self.formats
            if name in registry
            and registry.owner(name) != CODE_OWNER
            and self._owners.get(name) == registry.owner(name)
        ]

    def submit(
        self,
        feeder: Any,
        ensemble: Any,
        stage: Path,
        realisations: Mapping[str, np.ndarray | None],
    ) -> None:
        """Start writing ``realisations`` (format name to indices, None = all) into ``stage``.

        The writer takes the formats in order; a format this process :meth:`claim` s first is
        left to it.
        """
        if self._pending:
            raise ExporterFailedError("the writer process is busy; collect its result first.")
        if self._claims is None:
            self._claims = Path(tempfile.mkdtemp(prefix="bayesgrid-claims-"))
        job = {
            "stage": str(stage),
            "jobs": {
                k: None if v is None else np.asarray(v).tolist() for k, v in realisations.items()
            },
            "claims": str(self._claims),
        }
        # The writer reads the job once it has prepared its exporters; a thread feeds the pipe
        # meanwhile, so that this process goes on at once.
        data = encode_frame(job, [feeder_to_bytes(feeder), ensemble.to_npz_bytes()])
        stream = self._alive().stdin
        assert stream is not None
        self._sender = threading.Thread(target=self._feed, args=(stream, data), daemon=True)
        self._sender.start()
        self._pending = list(realisations)

    def claim(self, name: str) -> bool:
        """Take the submitted format ``name`` away from the writer, if it has not started it.

        True means this process must write it; the writer skips it.
        """
        return name in self._pending and self._claims is not None and _claim(self._claims, name)

    def result(self) -> dict[str, list[Path]]:
        """Wait for the formats submitted; return the files of each (errors are raised)."""
        if not self._pending:
            return {}
        reply = self._receive()
        self._pending = []
        self.seconds = dict(reply.get("seconds", {}))
        return {name: [Path(p) for p in paths] for name, paths in reply["files"].items()}

    def close(self, *, kill: bool = False) -> int | None:
        """Stop the process (killed if ``kill`` or still writing); return its exit code."""
        proc, self._proc = self._proc, None
        kill = kill or bool(self._pending)
        if proc is not None and kill and proc.poll() is None:
            proc.kill()  # first: a sender thread blocked on the pipe then fails at once
        if self._sender is not None:
            self._sender.join()
            self._sender, self._feed_error = None, None
        code = None if proc is None else _stop(proc, kill=kill)
        self._pending = []
        if self._claims is not None:
            shutil.rmtree(self._claims, ignore_errors=True)
            self._claims = None
        return code

    def __enter__(self) -> WriterProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------- both sides
def _claim(folder: Path, name: str) -> bool:
    """Atomically take format ``name``: True for the first process that asks, False after."""
    try:
        os.close(os.open(folder / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


# ---------------------------------------------------------------------- parent side helpers
def _spawn() -> subprocess.Popen[bytes]:
    """Start the writer with Ctrl-C ignored from its first instruction on.

    Ctrl-C reaches the whole process group, and the main process stops the writer itself; a
    writer interrupted while Python starts would print a traceback. An ignored signal stays
    ignored across ``exec``, so it is ignored here for the moment of the start (only the main
    thread may change it; elsewhere the writer ignores it once it runs).
    """
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        previous = None
    try:
        return subprocess.Popen(
            [sys.executable, "-m", _MODULE], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _stop(proc: subprocess.Popen[bytes], *, kill: bool) -> int:
    """End ``proc`` (killed, or by closing its input), close its pipes; return its exit code."""
    if kill and proc.poll() is None:
        proc.kill()
    try:
        if proc.stdin is not None:
            proc.stdin.close()  # end of input: an idle writer exits by itself
    except OSError:
        proc.kill()
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:  # pragma: no cover - a hung exporter
        proc.kill()
        code = proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
    return code


# ---------------------------------------------------------------------- writer side
class _Collect(logging.Handler):
    """Keeps log records, as plain fields, to send back to the parent."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record_fields(record))


def _serve(inp: IO[bytes], out: IO[bytes]) -> None:
    """The writer's loop: prepare the formats, then write each job sent."""
    hello, _ = read_frame(inp)
    sys.path[:] = hello["sys_path"]
    collect = _Collect()
    root = logging.getLogger()
    root.addHandler(collect)
    root.setLevel(hello["log_level"])

    def reply(message: dict[str, Any], caught: Sequence[warnings.WarningMessage]) -> None:
        message["records"], collect.records = collect.records, []
        message["warnings"] = [warning_fields(w) for w in caught]
        write_frame(out, message)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            registry = get_plugin_manager().registry
            owners = {name: registry.owner(name) for name in hello["formats"] if name in registry}
        except BaseException as exc:
            reply({"error": error_fields(exc)}, caught)
            return
        reply({"owners": owners}, caught)
        caught.clear()
        for name in owners:
            prepare = getattr(registry.get(name), "prepare", None)
            if callable(prepare):
                start = time.perf_counter()
                try:
                    prepare()
                except Exception:
                    logger.debug("preparing %r failed", name, exc_info=True)
                logger.debug("prepared %r in %.2f s", name, time.perf_counter() - start)

    from ..plugins import export

    while True:
        try:
            job, (feeder_bytes, ensemble_bytes) = read_frame(inp)
        except EOFError:
            return
        feeder, ensemble = feeder_from_bytes(feeder_bytes), Ensemble.from_npz_bytes(ensemble_bytes)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            files: dict[str, list[str]] = {}
            seconds: dict[str, float] = {}
            try:
                for name, chosen in job["jobs"].items():
                    if not _claim(Path(job["claims"]), name):
                        continue  # the parent writes it
                    start = time.perf_counter()
                    written = export(
                        feeder,
                        ensemble,
                        [name],
                        Path(job["stage"]),
                        realisations=chosen,
                        manifest=False,
                    )
                    files.update({k: [str(p) for p in v] for k, v in written.items()})
                    seconds[name] = time.perf_counter() - start
            except BaseException as exc:
                reply({"error": error_fields(exc)}, caught)
                return
            logger.debug("writer process: %.2f s of processor time", time.process_time())
            reply({"files": files, "seconds": seconds}, caught)


def main() -> None:
    """Entry of the writer process: the protocol runs on a private copy of standard output."""
    # Ctrl-C reaches the whole process group: the main process stops this one itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything an exporter prints goes to standard error, not into the protocol
    sys.stdout = sys.stderr
    _serve(sys.stdin.buffer, out)
    out.flush()
    sys.stderr.flush()
    os._exit(0)  # nothing left to clean up: every file is written and closed


if __name__ == "__main__":
    main()
