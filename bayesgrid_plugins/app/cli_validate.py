"""``bayesgrid validate-model``: measure a posterior against a real feeder.

``bayesgrid validate-model --posterior NAME|FILE --opendss MASTER.dss | --pandapower NET.json
[-n N] [--out DIR]`` samples N realisations on the real feeder's own topology in two modes
(unconditioned, and conditioned on each bus's real total demand: the paper's Table I setting),
prints Table I (mean active power per phase, real vs synthetic, MAPE) and Table II (p3, pA, pB,
pC) for each, p3 by zone, the error summary (MAPE, KS distance of P, line phase mix) and, with
``--solve K``, the feasibility of K realisations per mode in pandapower and OpenDSS. ``--out``
writes ``report.json`` and ``report.md``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from .cli_types import count, positive_int, seed

__all__ = ["add_validate_model_command", "cmd_validate_model"]

logger = logging.getLogger(__name__)


def add_validate_model_command(subparsers: Any) -> None:
    """Declare ``bayesgrid validate-model``."""
    parser = subparsers.add_parser(
        "validate-model",
        help="compare a power posterior's realisations with a real feeder's loads",
        description=(
            "Sample N realisations on a real feeder's topology with a power posterior (the real "
            "loads are never used for fitting) and compare them with the real loads: Table I "
            "(mean active power per phase, MAPE), Table II (p3, pA, pB, pC), p3 by zone, the "
            "KS distance of P and the line phase mix; unconditioned and conditioned on each "
            "bus's real total demand (the paper's Table I setting)."
        ),
    )
    parser.add_argument(
        "--posterior",
        default="smartds",
        metavar="NAME|FILE",
        help="shipped posterior name (smartds, epri, smartds-counting) or a parameter file",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--opendss", type=Path, metavar="MASTER.dss", help="real OpenDSS circuit")
    source.add_argument("--pandapower", type=Path, metavar="NET.json", help="real pandapower net")
    parser.add_argument(
        "--loads-file", metavar="NAME", help="OpenDSS: file that replaces the master's Loads.dss"
    )
    parser.add_argument(
        "-n", "--samples", type=positive_int, default=100, metavar="N", help="realisations (100)"
    )
    parser.add_argument(
        "--mode",
        choices=("both", "unconditioned", "conditioned"),
        default="both",
        help="generation mode(s) (both)",
    )
    parser.add_argument(
        "--solve",
        type=count,
        default=0,
        metavar="K",
        help="solve the first K realisations of each mode in pandapower and OpenDSS (0)",
    )
    parser.add_argument(
        "--engines",
        default="pandapower,opendss",
        metavar="E[,E]",
        help="engines for --solve (pandapower,opendss)",
    )
    parser.add_argument("--paper", action="store_true", help="show the paper's figures beside")
    parser.add_argument("--seed", type=seed, default=0, help="random seed (0)")
    parser.add_argument("--out", type=Path, metavar="DIR", help="write report.json and report.md")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out DIR")
    parser.set_defaults(handler=cmd_validate_model)


def cmd_validate_model(args: argparse.Namespace) -> int:
    """Run ``bayesgrid validate-model``; print the report; return 0."""
    from ..errors import OutputExistsError, ParameterError
    from .validation import ENGINES, MODES, load_real_feeder, resolve_posterior, validate_model

    engines = tuple(e.strip().lower() for e in str(args.engines).split(",") if e.strip())
    bad = [e for e in engines if e not in ENGINES]
    if bad or not engines:
        raise ParameterError(f"--engines must be among {ENGINES}, got {args.engines!r}.")
    if args.out is not None and args.out.exists() and not args.overwrite:
        raise OutputExistsError(
            f"{str(args.out)!r} exists already; pass --overwrite to replace it."
        )
    params = resolve_posterior(args.posterior)
    if args.opendss is not None:
        real = load_real_feeder(
            args.opendss, kind="opendss", n_zones=params.n_zones, loads_file=args.loads_file
        )
    else:
        if args.loads_file:
            raise ParameterError("--loads-file applies to --opendss only.")
        real = load_real_feeder(args.pandapower, kind="pandapower", n_zones=params.n_zones)
    modes = MODES if args.mode == "both" else (args.mode,)
    report = validate_model(
        real,
        params,
        n=args.samples,
        rng=args.seed,
        modes=modes,
        solve=args.solve,
        engines=engines,
    )
    print(report.render(paper=args.paper), end="")
    if args.out is not None:
        written = report.write(args.out, overwrite=args.overwrite)
        print(f"wrote {written / 'report.json'} and {written / 'report.md'}")
    return 0
