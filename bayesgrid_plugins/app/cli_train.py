"""The ``bayesgrid train`` subcommand: fit the power model to real feeders.

``add_train_parser(subparsers)`` declares the arguments; ``train_command(args)`` runs it::

    bayesgrid train --from-opendss A/Master.dss B/Master.dss --from-pandapower net.json \\
        --out my_power.json [--draws 1000 --tune 1000 --chains 2 --seed 0 --overwrite]

Each input file is one feeder (one ``system``); with several feeders the hierarchical model is
fitted. Progress (reading, compiling, sampling with a progress bar, diagnostics) goes to stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import BayesGridError
from ..fileio import check_output_path
from .cli_types import seed

__all__ = ["add_train_parser", "read_training_inputs", "train_command"]

logger = logging.getLogger(__name__)


def add_train_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand to an ``argparse`` subparsers object; return its parser."""
    parser = subparsers.add_parser(
        "train",
        help="fit the power model to real feeders (OpenDSS circuits, pandapower nets)",
        description=(
            "Read real feeders into a training table and fit the power model with NUTS "
            "(hierarchical across feeders when there are several), then write the parameter "
            "file with its provenance and diagnostics."
        ),
    )
    parser.add_argument(
        "--from-opendss",
        nargs="+",
        default=[],
        metavar="MASTER.dss",
        type=Path,
        help="OpenDSS master files, one feeder each",
    )
    parser.add_argument(
        "--from-pandapower",
        nargs="+",
        default=[],
        metavar="NET.json",
        type=Path,
        help="pandapower nets saved as JSON, one feeder each",
    )
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        help="parameter file to write: .nc (ArviZ InferenceData with the sampler's statistics) "
        "or .json",
    )
    parser.add_argument("--draws", type=int, default=1000, help="NUTS draws per chain")
    parser.add_argument("--tune", type=int, default=1000, help="NUTS tuning steps per chain")
    parser.add_argument("--chains", type=int, default=2, help="number of chains")
    parser.add_argument("--seed", type=seed, default=0, help="random seed")
    parser.add_argument(
        "--sampler",
        choices=("numpyro", "pymc", "nutpie"),
        default="numpyro",
        help="NUTS implementation: numpyro (default; JAX, compilation cached across runs), "
        "pymc or nutpie",
    )
    parser.add_argument(
        "--pooled",
        action="store_true",
        help="pool every load into one population instead of the hierarchical model",
    )
    parser.add_argument(
        "--conjugate",
        action="store_true",
        help="closed-form fit of the pooled model (no MCMC, seconds); implies --pooled",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.set_defaults(handler=train_command)
    return parser


def read_training_inputs(opendss: list[Path], pandapower: list[Path]) -> tuple[Any, list[dict]]:
    """Read every input into one training table; return it and one source record per input."""
    from ..learn.sources import file_sha256
    from ..plugins import read_network
    from ..training import TrainingTable

    tables, records = [], []
    names: set[str] = set()
    for kind, paths in (("opendss", opendss), ("pandapower", pandapower)):
        for path in paths:
            if not Path(path).is_file():
                raise FileNotFoundError(f"--from-{kind} file {str(path)!r} does not exist")
            system = (
                Path(path).stem if Path(path).stem.lower() != "master" else Path(path).parent.name
            )
            base, k = system, 2
            while system in names:  # two inputs with the same name stay two feeders
                system, k = f"{base}-{k}", k + 1
            names.add(system)
            start = time.perf_counter()
            table = read_network(path, kind=kind).training_table(system=system)
            logger.info(
                "read %s (%s): %d loads, %d lines in %.1f s",
                path,
                system,
                len(table.loads),
                len(table.lines),
                time.perf_counter() - start,
            )
            tables.append(table)
            records.append(
                {
                    "system": system,
                    "path": str(path),
                    "reader": kind,
                    "sha256": file_sha256(path),
                    "n_loads": len(table.loads),
                }
            )
    return TrainingTable.concat(tables), records


def train_command(args: argparse.Namespace) -> int:
    """Run ``bayesgrid train``; return the exit status (0 on success, 1 on bad input files)."""
    if not args.from_opendss and not args.from_pandapower:
        print(
            "bayesgrid train: give at least one --from-opendss or --from-pandapower file",
            file=sys.stderr,
        )
        return 2
    if not args.quiet:
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        out = check_output_path(args.out, overwrite=args.overwrite, what="parameter file")
        table, records = read_training_inputs(list(args.from_opendss), list(args.from_pandapower))
        provenance = {
            "id": f"power-{out.stem}",
            "data_source": ", ".join(r["path"] for r in records),
            "sources": records,
            "command": "bayesgrid train",
        }
        start = time.perf_counter()
        fit = None
        if args.conjugate:
            from ..learn.conjugate import fit_power_conjugate

            params = fit_power_conjugate(
                table, draws=args.draws * args.chains, seed=args.seed, provenance=provenance
            )
            summary = "closed-form posterior (no MCMC)"
        else:
            from ..learn.power_fit import fit_power_posterior

            fit = fit_power_posterior(
                table,
                draws=args.draws,
                tune=args.tune,
                chains=args.chains,
                seed=args.seed,
                hierarchical=False if args.pooled else "auto",
                progressbar=not args.quiet,
                sampler=args.sampler,
                provenance=provenance,
            )
            params = fit.parameters
            d = fit.diagnostics
            summary = (
                f"r-hat max {d.rhat_max:.4f}, ESS bulk min {d.ess_bulk_min:.0f}, "
                f"{d.divergences} divergences"
            )
        if fit is not None and out.suffix.lower() == ".nc":
            from ..learn.fit_file import save_power_fit

            save_power_fit(fit, out, overwrite=args.overwrite)
        else:
            params.save(out, overwrite=args.overwrite)
    except (BayesGridError, FileNotFoundError, FileExistsError, IsADirectoryError) as exc:
        print(f"bayesgrid train: error: {exc}", file=sys.stderr)
        return 1
    print(
        f"wrote {out}: {params.n_draws} draws from {len(records)} feeder(s), "
        f"{len(table.loads)} loads, fitted in {time.perf_counter() - start:.1f} s; {summary}"
    )
    return 0
