"""``bayesgrid unbalance``: unbalance an existing pandapower net or OpenDSS circuit.

``bayesgrid unbalance NET.json|MASTER.dss -n N --out DIR`` keeps each bus's total P and Q and
samples the phases and per-phase split (see :mod:`bayesgrid_plugins.models.conditioned`), then
writes one pandapower JSON net (for a ``.json`` input) or one OpenDSS folder (for a ``.dss``
input) per realisation, the ensemble (``ensemble.npz``) and ``summary.json``, into a staging
folder that is renamed to DIR only when everything is written.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any, cast

import numpy as np

from ..errors import ParameterError
from ..plugins import read_network
from .cli_types import output_folder, positive_float, positive_int, seed

__all__ = ["add_unbalance_command", "cmd_unbalance"]

logger = logging.getLogger(__name__)


def _shares(text: str) -> tuple[float, float, float]:
    from ..scenarios import parse_shares

    try:
        return parse_shares(text)
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _p3(text: str) -> float | list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a probability or one per zone separated by commas, got {text!r}"
        ) from None
    if any(not 0.0 <= v <= 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"p3 must lie in [0, 1], got {text!r}")
    return values[0] if len(values) == 1 else values


def add_unbalance_command(subparsers: Any) -> None:
    """Declare ``bayesgrid unbalance``."""
    parser = subparsers.add_parser(
        "unbalance",
        help="unbalance an existing pandapower net or OpenDSS circuit, keeping its demand",
        description=(
            "Turn the balanced loads of a pandapower net (.json) or the three-phase loads of an "
            "OpenDSS circuit (master .dss) into phase-accurate per-phase loads, keeping every "
            "bus's total P and Q, for N realisations. Writes one net (pandapower JSON) or one "
            ".dss folder per realisation, ensemble.npz and summary.json into DIR."
        ),
    )
    parser.add_argument("input", type=Path, metavar="NET.json|MASTER.dss", help="the network")
    parser.add_argument(
        "-n", "--samples", type=positive_int, default=1, metavar="N", help="realisations (1)"
    )
    parser.add_argument(
        "--out", type=output_folder, required=True, metavar="DIR", help="output folder"
    )
    parser.add_argument(
        "--scenario",
        choices=("balanced", "unbalanced"),
        help="the paper's scenarios: mean phase shares 1/3 each, or 0.1,0.6,0.3",
    )
    parser.add_argument(
        "--shares",
        type=_shares,
        metavar="A,B,C",
        help="phase shares of single-phase loads (and mean shares of three-phase loads)",
    )
    parser.add_argument(
        "--p3", type=_p3, metavar="X[,X...]", help="probability of a three-phase load (per zone)"
    )
    parser.add_argument(
        "--concentration",
        type=positive_float,
        metavar="C",
        help="Dirichlet concentration of three-phase shares (sum of alpha)",
    )
    parser.add_argument(
        "--posterior", type=Path, metavar="FILE", help="power-model parameter file (the base)"
    )
    parser.add_argument(
        "--loads",
        choices=("three_phase", "all"),
        default="three_phase",
        help="OpenDSS: convert three-phase loads only (default) or every load on a three-phase bus",
    )
    parser.add_argument("--seed", type=seed, help="random seed (default: random, reported)")
    parser.add_argument(
        "--solve",
        action="store_true",
        help="solve every realisation (pandapower runpp_3ph or OpenDSS) and report voltages",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a non-empty output folder"
    )
    parser.set_defaults(handler=cmd_unbalance)


def _parameters(args: argparse.Namespace) -> Any:
    from ..models.power import PowerParameters
    from ..scenarios import scenario_parameters

    base = PowerParameters.load(args.posterior) if args.posterior else PowerParameters.default()
    return scenario_parameters(
        base,
        scenario=args.scenario,
        shares=args.shares,
        p3=args.p3,
        concentration=args.concentration,
    )


def _phase_summary(ensemble: Any) -> dict[str, Any]:
    from ..phases import n_phases

    single = n_phases(ensemble.load_phases) == 1
    per_phase = ensemble.p_kw.sum(axis=1)
    single_p = (ensemble.p_kw * single[..., None]).sum(axis=1)
    return {
        "p_kw_per_phase_mean": per_phase.mean(axis=0).tolist(),
        "single_phase_p_kw_per_phase_mean": single_p.mean(axis=0).tolist(),
        "three_phase_share_mean": float(ensemble.three_phase_share().mean()),
        "load_buses": int(ensemble.has_load[0].sum()),
    }


def cmd_unbalance(args: argparse.Namespace) -> int:
    """Unbalance the input network and write the realisations; return 0."""
    from .pipeline import staged_folder

    source = args.input
    if not source.is_file():
        raise FileNotFoundError(f"input {str(source)!r} is not a file.")
    suffix = source.suffix.lower()
    if suffix not in (".json", ".dss"):
        raise ParameterError(
            f"input {str(source)!r} must be a pandapower net (.json) or an OpenDSS master file "
            "(.dss)."
        )
    params = _parameters(args)
    seed = (
        args.seed
        if args.seed is not None
        else int(cast(int, np.random.SeedSequence().entropy) % 2**63)
    )
    start = time.perf_counter()
    with staged_folder(args.out, overwrite=args.overwrite) as stage:
        reading = read_network(source)
        summary = reading.unbalance_to(
            stage, n=args.samples, model=params, rng=seed, solve=args.solve, loads=args.loads
        )
        summary.update(_phase_summary_from(stage))
        summary.update(
            {
                "input": str(source.resolve()),
                "realisations": args.samples,
                "seed": seed,
                "scenario": params.provenance.get("scenario"),
                "overrides": params.provenance.get("overrides", {}),
                "power_model": params.provenance.get("base_id", params.provenance.get("id")),
                "elapsed_s": round(time.perf_counter() - start, 3),
            }
        )
        (stage / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    if not getattr(args, "quiet", False):
        pf = summary.get("power_flow")
        solved = "" if pf is None else f", {pf['converged']}/{pf['solved']} converged"
        print(
            f"{args.samples} realisations of {source.name} ({summary['load_buses']} load buses, "
            f"totals kept to {summary['max_relative_bus_total_error']:.1e}){solved}; written "
            f"to {args.out}/ (see summary.json)"
        )
    return 0


def _phase_summary_from(stage: Path) -> dict[str, Any]:
    from ..ensemble import Ensemble

    return _phase_summary(Ensemble.load(stage / "ensemble.npz"))
