"""The ``bayesgrid`` command.

Each subcommand has an ``_add_<name>_command(subparsers)`` that declares its arguments and a
``cmd_<name>(args) -> int`` that runs it.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from .. import __version__
from ..errors import BayesGridError
from .cli_generate import add_generate_command, add_validate_command
from .cli_scale import add_hosting_capacity_command, add_run_command
from .cli_train import add_train_parser
from .cli_unbalance import add_unbalance_command
from .cli_validate import add_validate_model_command

__all__ = ["build_parser", "cmd_plugins", "main"]


# ---------------------------------------------------------------------- bayesgrid plugins
def _add_plugins_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plugins",
        help="list the power-flow engines, export formats and the plugins that provide them",
        description=(
            "List the power-flow engines and the exporters with the plugin, package and version "
            "that provide them, and the plugins that failed to load or are blocked "
            "(BAYESGRID_BLOCK_PLUGINS=name1,name2)."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print a JSON document instead")
    parser.set_defaults(handler=cmd_plugins)


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    return [
        indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def cmd_plugins(args: argparse.Namespace) -> int:
    """Print the exporters and the plugin report; return 0."""
    from ..plugins import BLOCK_ENV_VAR, get_plugin_manager

    manager = get_plugin_manager()
    exporters = manager.describe_exporters()
    engines = manager.describe_engines()
    infos = manager.plugins()
    conflicts = {**manager.registry.conflicts, **manager.engines.conflicts}
    if args.json:
        document = {
            "engines": engines,
            "exporters": exporters,
            "plugins": [info.as_dict() for info in infos],
            "conflicts": conflicts,
            "blocked_by": sorted(manager.blocked),
        }
        print(json.dumps(document, indent=2))
        return 0

    def package(row: dict[str, Any]) -> str:
        if row["distribution"] is None:
            return "(registered in code)"
        return f"{row['distribution']} {row['version']}"

    lines = [f"Engines ({len(engines)}):"]
    if engines:
        lines += _table(
            [["NAME", "PHASES", "PACKAGE", "PLUGIN", "DESCRIPTION"]]
            + [
                [
                    row["name"],
                    "accurate" if row["phase_accurate"] else "sequence",
                    package(row),
                    row["plugin"] or "-",
                    row["description"],
                ]
                for row in engines
            ]
        )
    else:
        lines.append("  none")
    lines.append(f"Exporters ({len(exporters)}):")
    if exporters:
        lines += _table(
            [["NAME", "SUFFIX", "PACKAGE", "PLUGIN", "DESCRIPTION"]]
            + [
                [
                    row["name"],
                    row["suffix"] or "(folder)",
                    package(row),
                    row["plugin"] or "-",
                    row["description"],
                ]
                for row in exporters
            ]
        )
    else:
        lines.append("  none")
    for status, title in (("failed", "Failed plugins"), ("blocked", "Blocked plugins")):
        chosen = [info for info in infos if info.status == status]
        if not chosen:
            continue
        if status == "blocked":
            title += f" (by {BLOCK_ENV_VAR})"
        lines.append(f"{title} ({len(chosen)}):")
        lines += _table(
            [
                [
                    info.name,
                    f"{info.distribution} {info.version}" if info.distribution else "-",
                    info.module or "-",
                    info.error or "",
                ]
                for info in chosen
            ]
        )
    empty = [
        info
        for info in infos
        if info.status == "loaded" and not info.exporters and not info.engines and info.error
    ]
    if empty:
        lines.append(f"Plugins that registered nothing ({len(empty)}):")
        lines += _table(
            [
                [info.name, f"{info.distribution} {info.version}", info.module or "-"]
                for info in empty
            ]
        )
    if conflicts:
        lines.append(f"Names registered more than once ({len(conflicts)}):")
        lines += [f"  {name}: {' and '.join(owners)}" for name, owners in conflicts.items()]
    print("\n".join(lines))
    return 0


# ---------------------------------------------------------------------- entry point
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bayesgrid`` command, with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="bayesgrid",
        description="Ensembles of synthetic three-phase unbalanced distribution grids.",
    )
    parser.add_argument("--version", action="version", version=f"bayesgrid {__version__}")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    loudness.add_argument("-v", "--verbose", action="store_true", help="log every step")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_generate_command(subparsers)
    add_validate_command(subparsers)
    add_validate_model_command(subparsers)
    add_train_parser(subparsers)
    add_unbalance_command(subparsers)
    add_run_command(subparsers)
    add_hosting_capacity_command(subparsers)
    _add_plugins_command(subparsers)
    return parser


def _as_typed(
    message: str, parser: argparse.ArgumentParser, command: str, argv: Sequence[str] | None
) -> str:
    """The message with argument names as the user typed the options (``cli_messages``)."""
    from .cli_messages import as_typed

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            typed = list(sys.argv[1:] if argv is None else argv)
            return as_typed(message, action.choices[command], typed)
    return message


class _InterruptRecord:
    """Remembers a Ctrl-C while raising ``KeyboardInterrupt`` as Python's own handler does.

    An interrupt that lands while a compiled extension module initialises reaches the job as
    ``ImportError: initialization failed``, not as ``KeyboardInterrupt``; the record lets the
    command still say "interrupted" (exit 130) instead of reporting a bug.
    """

    def __init__(self) -> None:
        self.seen = False
        self.installed = False

    def __call__(self, signum: int, frame: Any) -> None:
        self.seen = True
        signal.default_int_handler(signum, frame)

    def restore(self) -> None:
        """Give SIGINT back to Python's own handler."""
        if self.installed:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self.installed = False


def _record_interrupts() -> _InterruptRecord:
    """Install the record as the SIGINT handler where Python's own one is in place."""
    record = _InterruptRecord()
    if threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, record)
            record.installed = True
    return record


def _interrupted() -> int:
    print("bayesgrid: interrupted; nothing half-written was left behind", file=sys.stderr)
    return 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``bayesgrid`` command; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    level = logging.ERROR if args.quiet else logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s: %(name)s: %(message)s")
    interrupts = _record_interrupts()
    try:
        return _run(args, parser, argv, interrupts)
    finally:
        interrupts.restore()


def _run(
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    interrupts: _InterruptRecord,
) -> int:
    """Run the chosen command and turn its failures into one line and an exit status."""
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return _interrupted()
    except (BayesGridError, OSError, ValueError, KeyError) as exc:
        if interrupts.seen:
            return _interrupted()
        # Expected failures (bad input, missing files, engines refusing) end in one line.
        if args.verbose:
            logging.getLogger(__name__).exception("failed")
        message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        message = _as_typed(message, parser, args.command, argv)
        print(
            f"bayesgrid: error: {message.splitlines()[0] if message else type(exc).__name__}",
            file=sys.stderr,
        )
        return 1
    except MemoryError:
        print(
            "bayesgrid: error: out of memory; ask for fewer realisations (-n), a smaller area "
            "(--dist), or run in chunks with the Dask runner (`bayesgrid run`)",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:  # a bug, or a library failing in a way not foreseen: no traceback
        if interrupts.seen:  # e.g. "ImportError: initialization failed" under Ctrl-C
            return _interrupted()
        if args.verbose:
            logging.getLogger(__name__).exception("unexpected failure")
        first = (str(exc).splitlines() or [""])[0]
        print(
            f"bayesgrid: error: unexpected {type(exc).__name__}: {first} (this is a bug in "
            "bayesgrid or a plugin; run again with -v for the traceback and report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
