"""``bayesgrid generate`` and ``bayesgrid validate``: the main job on the command line."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from .cli_types import (
    bbox,
    engine_name,
    format_list,
    output_folder,
    point,
    positive_float,
    positive_int,
    seed,
)
from .pipeline import (
    DEFAULT_ENGINE,
    DEFAULT_FORMATS,
    DEFAULT_N,
    DEFAULT_NETWORK_FILES,
    ENGINES,
    Progress,
)

__all__ = ["add_generate_command", "add_validate_command", "cmd_generate", "cmd_validate"]


class BarProgress(Progress):
    """A one-line progress bar on standard error, redrawn in place."""

    width = 30

    def __init__(self, label: str, total: int) -> None:
        super().__init__(label, total)
        self.start = time.perf_counter()
        self.update(0)

    def update(self, done: int) -> None:
        filled = int(self.width * done / max(self.total, 1))
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = time.perf_counter() - self.start
        sys.stderr.write(f"\r{self.label:<24} [{bar}] {done}/{self.total} {elapsed:6.1f} s")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()


def _network_files(text: str) -> int | None:
    return None if text == "all" else positive_int(text)


def add_generate_command(subparsers: Any) -> None:
    """Declare ``bayesgrid generate``."""
    parser = subparsers.add_parser(
        "generate",
        help="generate an ensemble of solved three-phase grids for a place",
        description=(
            "Build a radial feeder on the streets of a place, sample an ensemble of "
            "phase-consistent three-phase realisations, solve every one, and write them with "
            "figures and a summary. Without arguments: 1.5 km around central Monaco from the "
            f"embedded OpenStreetMap extract, {DEFAULT_N} realisations, OpenDSS, formats "
            f"{', '.join(DEFAULT_FORMATS)}, into ./bayesgrid-output/."
        ),
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--osm", type=Path, metavar="FILE", help="OSM file (.osm, .osm.bz2, .pbf)")
    where.add_argument("--place", metavar="NAME", help="place name (needs network access)")
    where.add_argument("--address", metavar="TEXT", help="address (needs network access)")
    parser.add_argument(
        "--bbox",
        type=bbox,
        metavar="W,S,E,N",
        help="area as a box [deg]; with --osm it crops the file, alone it queries OpenStreetMap",
    )
    parser.add_argument(
        "--point",
        type=point,
        metavar="LAT,LON",
        help="centre of the area [deg]; with --osm it crops the file, alone it "
        "queries OpenStreetMap",
    )
    parser.add_argument(
        "--dist",
        type=positive_float,
        metavar="M",
        help="radius of the area around --point or --address [m]",
    )
    parser.add_argument(
        "-n",
        "--samples",
        type=positive_int,
        default=DEFAULT_N,
        metavar="N",
        help=f"realisations (default {DEFAULT_N})",
    )
    parser.add_argument("--seed", type=seed, help="random seed (default: random, reported)")
    parser.add_argument(
        "--format",
        type=format_list,
        default=",".join(DEFAULT_FORMATS),
        metavar="NAME[,NAME]",
        help="export formats (see `bayesgrid plugins`; default %(default)s)",
    )
    parser.add_argument(
        "--engine",
        type=engine_name,
        default=DEFAULT_ENGINE,
        metavar="NAME",
        help=(
            f"power-flow engine for every realisation: {', '.join(ENGINES)} or a plugin's "
            "(see `bayesgrid plugins`; default %(default)s)"
        ),
    )
    parser.add_argument(
        "--out",
        type=output_folder,
        default=Path("bayesgrid-output"),
        metavar="DIR",
        help="output folder (default %(default)s)",
    )
    parser.add_argument(
        "--posterior",
        metavar="NAME|FILE",
        help="power-model posterior: a shipped name (smartds, epri, smartds-counting) or a file",
    )
    parser.add_argument(
        "--network-files",
        type=_network_files,
        default=DEFAULT_NETWORK_FILES,
        metavar="K|all",
        help="realisations written as full pandapower/OpenDSS networks "
        f"(default {DEFAULT_NETWORK_FILES}; the ensemble file has all)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a non-empty output folder"
    )
    parser.add_argument(
        "--no-background-writing",
        dest="background_writing",
        action="store_false",
        default=None,
        help="write every format in this process (default: a second process writes the formats "
        "while this one draws the figures, when two or more cores are usable)",
    )
    add_demand_options(parser)
    add_feasibility_flags(parser)
    parser.set_defaults(handler=cmd_generate)


def add_demand_options(parser: Any) -> None:
    """The demand options of ``bayesgrid generate`` (see :mod:`bayesgrid_plugins.demand`)."""
    group = parser.add_argument_group("demand")
    group.add_argument(
        "--sampler",
        choices=("conditioned", "unconditioned"),
        default="conditioned",
        help="conditioned: phases and split of the place's demand per bus (default); "
        "unconditioned: the power model's own P per load",
    )
    given = group.add_mutually_exclusive_group()
    given.add_argument(
        "--demand-kw-per-customer",
        type=positive_float,
        metavar="KW",
        help="after-diversity peak per customer [kW] (default: the country's level)",
    )
    given.add_argument(
        "--demand-total-kw",
        type=positive_float,
        metavar="KW",
        help="design peak of the whole area [kW], shared out by the buildings",
    )
    given.add_argument(
        "--demand-file", type=Path, metavar="CSV", help="demand per bus: CSV with bus,p_kw"
    )
    group.add_argument(
        "--demand-cv",
        type=float,
        metavar="CV",
        help="coefficient of variation of the demand level across realisations "
        "(default: from the spread of real feeders, at most 0.3)",
    )


def add_feasibility_flags(parser: Any) -> None:
    """``--no-planning`` and ``--allow-infeasible``."""
    parser.add_argument(
        "--no-planning",
        dest="plan",
        action="store_false",
        help="keep unplanned grids: conductors drawn by zone and phase count only, no feeder "
        "split, no tap (default: every realisation planned for its demand, see docs/planning)",
    )
    parser.add_argument(
        "--allow-infeasible",
        action="store_true",
        help="exit 0 even when a realisation did not converge or violates a limit",
    )


def infeasible_exit(feasibility: Any, args: argparse.Namespace) -> int:
    """Exit status of a run: 1 (after one line on standard error) when a realisation is not
    feasible, unless ``--allow-infeasible``."""
    if feasibility is None or feasibility.all_feasible:
        return 0
    bad = feasibility.infeasible
    not_conv = int((~feasibility.converged).sum())
    shown = ", ".join(str(k) for k in bad[:10].tolist()) + (" ..." if bad.size > 10 else "")
    allowed = getattr(args, "allow_infeasible", False)
    sys.stderr.write(
        f"{'warning' if allowed else 'error'}: {bad.size} of {feasibility.realisations.size} "
        f"realisations are not feasible ({not_conv} did not converge): {shown}; see "
        f"summary.md{'' if allowed else ' (--allow-infeasible to accept)'}\n"
    )
    return 0 if allowed else 1


def config_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~bayesgrid_plugins.app.pipeline.GenerateConfig` of parsed arguments."""
    from .cli_area import area_source
    from .pipeline import GenerateConfig

    source, query, point, box = area_source(
        osm=args.osm, place=args.place, address=args.address, point=args.point, bbox=args.bbox
    )
    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    return GenerateConfig(
        source=source,
        query=query,
        osm_path=args.osm,
        point=point,
        dist_m=args.dist,
        bbox=box,
        n=args.samples,
        seed=args.seed,
        formats=formats,
        engine=args.engine,
        out=args.out,
        posterior=args.posterior,
        overwrite=args.overwrite,
        network_files=args.network_files,
        sampler=args.sampler,
        demand_kw_per_customer=args.demand_kw_per_customer,
        demand_total_kw=args.demand_total_kw,
        demand_file=args.demand_file,
        demand_cv=args.demand_cv,
        plan=getattr(args, "plan", True),
        background_writing=getattr(args, "background_writing", None),
    )


def cmd_generate(args: argparse.Namespace) -> int:
    """Run the main job; print where the results are."""
    from .pipeline import generate

    config = config_from_args(args)
    show_bars = sys.stderr.isatty() and not getattr(args, "quiet", False)
    result = generate(config, progress=BarProgress if show_bars else None)
    if not getattr(args, "quiet", False):
        pf = result.summary.get("power_flow")
        solved = "" if pf is None else f", {pf['converged']}/{pf['realisations_solved']} converged"
        print(
            f"{len(result.ensemble)} realisations of a {result.feeder.n_buses}-bus feeder"
            f"{solved}; written to {result.out}/ (see summary.md)"
        )
    return infeasible_exit(result.feasibility, args)


def add_validate_command(subparsers: Any) -> None:
    """Declare ``bayesgrid validate``."""
    parser = subparsers.add_parser(
        "validate",
        help="re-solve a written output in a fresh engine and compare with its stored results",
        description=(
            "Reload the feeder and ensemble written by `bayesgrid generate`, solve them again in "
            "a fresh engine and compare the voltages with the stored power_flow.npz."
        ),
    )
    parser.add_argument("folder", type=Path, metavar="DIR", help="output folder of a run")
    parser.add_argument(
        "--tolerance",
        type=positive_float,
        default=1e-6,
        metavar="PU",
        help="largest accepted voltage difference [p.u.] (default %(default)s)",
    )
    parser.set_defaults(handler=cmd_validate)


def cmd_validate(args: argparse.Namespace) -> int:
    """Re-solve and compare; exit 0 when everything agrees, 1 otherwise."""
    from .validate_output import validate_output

    report = validate_output(args.folder, tolerance=args.tolerance)
    print(report.message)
    return 0 if report.ok else 1


logging.getLogger(__name__).addHandler(logging.NullHandler())
