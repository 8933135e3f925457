"""``bayesgrid run`` and ``bayesgrid hosting-capacity``: many regions x realisations on Dask."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, cast

import numpy as np

from .cli_types import seed

__all__ = [
    "add_hosting_capacity_command",
    "add_run_command",
    "cmd_hosting_capacity",
    "cmd_run",
]

_DEFAULT_N = 100


def _region(text: str) -> tuple[tuple[float, float], float]:
    try:
        lat, lon, dist = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected LAT,LON,RADIUS_M (degrees, metres), got {text!r}"
        ) from None
    if not dist > 0:
        raise argparse.ArgumentTypeError(f"the radius must be positive, got {text!r}")
    return (lat, lon), dist


def _shared_arguments(parser: argparse.ArgumentParser, default_out: str) -> None:
    from .cli_types import positive_int as _positive_int
    from .scale.runner import DEFAULT_CHUNK_SIZE

    where = parser.add_argument_group("regions")
    where.add_argument(
        "--region",
        type=_region,
        action="append",
        metavar="LAT,LON,RADIUS_M",
        help="a circular area (repeat for several); default: three 400 m areas of the "
        "embedded Monaco extract",
    )
    where.add_argument("--osm", type=Path, metavar="FILE", help="OSM file of the areas")
    parser.add_argument(
        "-n",
        "--samples",
        type=_positive_int,
        default=_DEFAULT_N,
        metavar="N",
        help=f"realisations per region (default {_DEFAULT_N})",
    )
    parser.add_argument(
        "--seed",
        type=seed,
        help="random seed (default: the resumed run's, else random and reported)",
    )
    parser.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=DEFAULT_CHUNK_SIZE,
        metavar="K",
        help=f"realisations per task (default {DEFAULT_CHUNK_SIZE})",
    )
    parser.add_argument("--posterior", metavar="FILE", help="power-model parameter file")
    parser.add_argument(
        "--no-impedance",
        action="store_true",
        help="do not sample line impedances (default line type on every line)",
    )
    parser.add_argument(
        "--streams",
        choices=("realisation", "chunk"),
        default="realisation",
        help="one random stream per realisation (samples independent of --chunk-size), or per "
        "chunk (vectorised, faster) (default %(default)s)",
    )
    dask = parser.add_argument_group("execution")
    how = dask.add_mutually_exclusive_group()
    how.add_argument(
        "--workers",
        type=_positive_int,
        metavar="W",
        help="worker processes of the local Dask cluster (default: CPUs)",
    )
    how.add_argument("--scheduler", metavar="ADDRESS", help="use an existing Dask scheduler")
    how.add_argument("--serial", action="store_true", help="run in this process, without Dask")
    dask.add_argument(
        "--retries",
        type=int,
        default=2,
        metavar="R",
        help="retries of a failed task (default %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(default_out),
        metavar="DIR",
        help="output folder (default %(default)s)",
    )
    again = parser.add_mutually_exclusive_group()
    again.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out (finished chunks are kept; other settings are refused)",
    )
    again.add_argument("--overwrite", action="store_true", help="discard what --out holds")


def add_run_command(subparsers: Any) -> None:
    """Declare ``bayesgrid run``."""
    parser = subparsers.add_parser(
        "run",
        help="Monte Carlo power flow of many regions x realisations on Dask",
        description=(
            "Sample and solve (OpenDSS) N realisations of every region, in chunks of tasks on a "
            "local Dask cluster (or --scheduler, or --serial). Each chunk is written as soon as "
            "it is done; --resume continues an interrupted run."
        ),
    )
    _shared_arguments(parser, "bayesgrid-run")
    parser.add_argument(
        "--full-voltages",
        action="store_true",
        help="also keep every bus's per-phase voltage (24 bytes per bus and realisation)",
    )
    parser.add_argument(
        "--allow-infeasible",
        action="store_true",
        help="exit 0 even when a realisation did not converge, leaves the voltage limits "
        "(0.95-1.05 p.u.; 0.90-1.10 p.u. where a region has LV buses) or overloads a line",
    )
    parser.add_argument(
        "--sampler",
        choices=("conditioned", "unconditioned"),
        default="conditioned",
        help="conditioned (default): phases and split of the place's design demand per bus (from "
        "the OSM buildings), one level multiplier per realisation; unconditioned: the model's "
        "own P (the default before; a run's identity records the sampler)",
    )
    parser.add_argument(
        "--no-planning",
        action="store_true",
        help="solve the sampled grids as they are: no feeder split, no conductors, "
        "transformers or tap sized to each realisation's demand",
    )
    parser.set_defaults(handler=cmd_run)


def add_hosting_capacity_command(subparsers: Any) -> None:
    """Declare ``bayesgrid hosting-capacity``."""
    from .cli_types import positive_float as _positive_float

    parser = subparsers.add_parser(
        "hosting-capacity",
        help="probabilistic PV hosting capacity of every realisation of every region",
        description=(
            "For each realisation, put the same PV power (unity power factor, on the load's "
            "phases) at every load bus (or a random --share of them) and find the largest size "
            "with no voltage above --vmax and no line above --max-loading; report the "
            "distribution per feeder and where the limit is hit, with plots."
        ),
    )
    _shared_arguments(parser, "bayesgrid-hosting")
    parser.add_argument(
        "--vmax", type=_positive_float, default=1.05, metavar="PU", help="voltage limit [p.u.]"
    )
    parser.add_argument(
        "--max-loading",
        type=_positive_float,
        default=100.0,
        metavar="PCT",
        help="line loading limit [%%] (default %(default)s)",
    )
    parser.add_argument(
        "--step-kw",
        type=_positive_float,
        default=0.5,
        metavar="KW",
        help="resolution of the PV size per bus [kW] (default %(default)s)",
    )
    parser.add_argument(
        "--share",
        type=_positive_float,
        default=1.0,
        metavar="F",
        help="share of load buses that get PV, a random subset per realisation "
        "(default %(default)s: all)",
    )
    parser.set_defaults(handler=cmd_hosting_capacity)


def _seed(args: argparse.Namespace) -> int:
    if args.seed is not None:
        return int(args.seed)
    manifest = Path(args.out) / "manifest.json"
    if args.resume and manifest.is_file():
        return int(json.loads(manifest.read_text(encoding="utf-8"))["settings"]["seed"])
    import numpy as np

    return int(cast(int, np.random.SeedSequence().entropy) % 2**32)


def _execute(args: argparse.Namespace, task: Any) -> Any:
    from .cli_generate import BarProgress
    from .scale import SamplingSettings, run
    from .scale.regions import DEFAULT_REGIONS, OsmArea

    if args.region:
        regions = [
            OsmArea(f"area-{i}", point, dist, None if args.osm is None else str(args.osm))
            for i, (point, dist) in enumerate(args.region)
        ]
    elif args.osm is not None:
        raise ValueError("--osm needs at least one --region LAT,LON,RADIUS_M in the file.")
    else:
        regions = list(DEFAULT_REGIONS)
    seed = _seed(args)
    quiet = getattr(args, "quiet", False)
    show_bar = sys.stderr.isatty() and not quiet
    result = run(
        task,
        regions,
        n=args.samples,
        seed=seed,
        out=args.out,
        chunk_size=args.chunk_size,
        sampling=SamplingSettings(
            power_parameters=args.posterior,
            impedance=not args.no_impedance,
            streams=args.streams,
            sampler=getattr(args, "sampler", "conditioned"),
        ),
        workers=args.workers or (None if args.serial or args.scheduler else os.cpu_count()),
        scheduler=args.scheduler,
        serial=args.serial,
        resume=args.resume,
        overwrite=args.overwrite,
        retries=args.retries,
        progress=BarProgress if show_bar else None,
    )
    if not quiet:
        total = len(result.region_names) * args.samples
        print(
            f"{total} realisations of {len(result.region_names)} regions (seed {seed}): "
            f"{result.computed_chunks} chunks computed, {result.reused_chunks} reused, "
            f"{result.elapsed_s:.1f} s; written to {result.out}/"
        )
    return result


def cmd_run(args: argparse.Namespace) -> int:
    """Run the Monte Carlo power flow; print a line per region."""
    from .scale import PowerFlowTask

    task = PowerFlowTask(
        full_voltages=args.full_voltages, plan=not getattr(args, "no_planning", False)
    )
    result = _execute(args, task)
    if not getattr(args, "quiet", False):
        for name, feeder, arrays in zip(result.region_names, result.feeders, result.results):
            vmin = arrays["vm_min_pu"].min(axis=1)
            print(
                f"  {name}: {feeder.n_buses} buses, converged {arrays['converged'].mean():.0%}, "
                f"lowest voltage median {_median(vmin):.4f} p.u., highest loading median "
                f"{_median(arrays['max_loading_percent']):.1f} %"
            )
    return _run_exit(result, args)


def _run_exit(result: Any, args: argparse.Namespace) -> int:
    """1 (after one line on standard error) when a realisation is not feasible."""
    from ..equipment import LV_MAX_KV
    from ..planning import LV_LIMITS_PU, MV_LIMITS_PU

    bad_total = not_conv = total = 0
    for feeder, arrays in zip(result.feeders, result.results):
        lo, hi = LV_LIMITS_PU if (feeder.vn_kv <= LV_MAX_KV).any() else MV_LIMITS_PU
        conv = np.asarray(arrays["converged"], dtype=bool)
        with np.errstate(invalid="ignore"):
            vmin = np.fmin.reduce(np.asarray(arrays["vm_min_pu"], dtype=float), axis=1)
            vmax = np.fmax.reduce(np.asarray(arrays["vm_max_pu"], dtype=float), axis=1)
            loading = np.asarray(arrays["max_loading_percent"], dtype=float)
            ok = conv & (vmin >= lo) & (vmax <= hi) & ~(loading > 100.0)
        total += conv.size
        not_conv += int((~conv).sum())
        bad_total += int((~ok).sum())
    if not bad_total:
        return 0
    allowed = getattr(args, "allow_infeasible", False)
    sys.stderr.write(
        f"{'warning' if allowed else 'error'}: {bad_total} of {total} realisations are not "
        f"feasible ({not_conv} did not converge)"
        f"{'' if allowed else '; --allow-infeasible to accept'}\n"
    )
    return 0 if allowed else 1


def _median(values: Any) -> float:
    import numpy as np

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else float("nan")


def cmd_hosting_capacity(args: argparse.Namespace) -> int:
    """Run the hosting-capacity study; write plots; print a line per region."""
    from ..errors import ParameterError
    from .hosting import HostingCapacityTask, write_hosting_figures

    if args.share > 1:
        raise ParameterError(f"--share must lie in (0, 1], got {args.share}.")
    task = HostingCapacityTask(
        vmax_pu=args.vmax,
        max_loading_percent=args.max_loading,
        step_kw=args.step_kw,
        share=args.share,
    )
    result = _execute(args, task)
    figures = write_hosting_figures(
        Path(result.out) / "figures", result.region_names, result.feeders, result.results
    )
    if not getattr(args, "quiet", False):
        for region in result.summary["regions"]:
            hc = region["hc_kw"]
            kinds = ", ".join(
                f"{kind} {share:.0%}" for kind, share in region["limit_share"].items() if share
            )
            print(
                f"  {region['name']}: hosting capacity median {hc['p50'] / 1000:.2f} MW "
                f"(5-95 %: {hc['p5'] / 1000:.2f}-{hc['p95'] / 1000:.2f} MW); limits: {kinds}"
            )
        print(f"  figures: {', '.join(p.name for p in figures)}")
    return 0
