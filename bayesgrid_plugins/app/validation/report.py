"""One call that validates a posterior against a real feeder, and its printable report."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import OutputExistsError
from ...models.power import PowerParameters
from .feasibility import ENGINES, FeasibilityReport, feasibility
from .real import RealFeeder
from .tables import render, table_i, table_ii, table_metrics, table_zones
from .transfer import MODES, TransferResult, resolve_posterior, transfer

__all__ = ["ValidationReport", "table_feasibility", "validate_model"]

logger = logging.getLogger(__name__)


def table_feasibility(reports: dict[str, FeasibilityReport], *, fmt: str = "text") -> str:
    """One row per labelled feasibility report."""
    headers = [
        "Case",
        "Solved",
        "Converged [%]",
        "Vmin A/B/C [p.u.]",
        "Vmax A/B/C [p.u.]",
        "Within limits [%]",
        "VUF max [%]",
        "Loading max [%]",
    ]

    def triple(v: np.ndarray) -> str:
        return "/".join("-" if not np.isfinite(x) else f"{x:.3f}" for x in v)

    def pct(x: float) -> str:
        return "-" if not np.isfinite(x) else f"{100 * x:.1f}"

    def num(x: float, d: int = 2) -> str:
        return "-" if not np.isfinite(x) else f"{x:.{d}f}"

    rows = [
        [
            label,
            str(r.n_realisations),
            pct(r.converged_share),
            triple(r.vm_min_pu),
            triple(r.vm_max_pu),
            pct(r.within_limits_share),
            num(r.vuf_max_percent),
            num(r.loading_max_percent, 1),
        ]
        for label, r in reports.items()
    ]
    return render(headers, rows, fmt)


@dataclass(frozen=True, eq=False)
class ValidationReport:
    """Transfer comparisons and feasibility of one posterior on one real feeder.

    Attributes
    ----------
    real : RealFeeder
        The real feeder.
    params : PowerParameters
        The posterior.
    transfers : dict of str to TransferResult
        Per generation mode.
    feasibility : dict of str to FeasibilityReport
        Per ``"<mode>/<engine>"``.
    """

    real: RealFeeder
    params: PowerParameters
    transfers: dict[str, TransferResult]
    feasibility: dict[str, FeasibilityReport] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "real": {
                "name": self.real.name,
                "kind": self.real.kind,
                "path": None if self.real.path is None else str(self.real.path),
                "n_buses": self.real.feeder.n_buses,
                "n_loads": len(self.real.table.loads),
            },
            "posterior": dict(
                (k, v) for k, v in self.params.provenance.items() if k in ("id", "method")
            ),
            "transfer": {mode: r.as_dict() for mode, r in self.transfers.items()},
            "feasibility": {key: r.as_dict() for key, r in self.feasibility.items()},
        }

    def render(self, *, fmt: str = "text", paper: bool = False) -> str:
        """The report as text or Markdown: Table I and II per mode, zones, metrics, feasibility."""
        heading = "## " if fmt == "markdown" else ""
        sub = "### " if fmt == "markdown" else ""
        pid = self.params.provenance.get("id", "posterior")
        parts = [f"{heading}{pid} on {self.real.name}"]
        for mode, result in self.transfers.items():
            label = (
                "conditioned on each bus's real total P and Q (the paper's Table I setting)"
                if mode == "conditioned"
                else "unconditioned (the model samples P)"
            )
            n = result.ensemble.n_realisations
            parts += [
                f"{sub}{mode}: {label}, {n} realisations, "
                f"{int(result.violations.sum())} phase-consistency violations",
                "Table I: mean active power per phase",
                table_i(result.comparison, paper=paper, fmt=fmt),
                "Table II: phase statistics",
                table_ii(
                    result.comparison,
                    paper=paper,
                    posterior=(self.params, result.feeder),
                    fmt=fmt,
                ),
                "p3 by zone of normalised distance",
                table_zones(result.comparison, fmt=fmt),
            ]
        parts += [
            f"{sub}Errors",
            table_metrics({m: r.comparison for m, r in self.transfers.items()}, fmt=fmt),
        ]
        if self.feasibility:
            parts += [f"{sub}Feasibility", table_feasibility(self.feasibility, fmt=fmt)]
        return "\n\n".join(parts) + "\n"

    def write(self, out_dir: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write ``report.json`` and ``report.md`` into ``out_dir``, atomically as a folder."""
        from ...staging import staged_folder

        out = Path(out_dir)
        if out.exists() and not overwrite:
            raise OutputExistsError(
                f"{str(out)!r} exists already; choose another folder or pass overwrite=True."
            )
        out.parent.mkdir(parents=True, exist_ok=True)
        with staged_folder(out, overwrite=overwrite, kind="validate-model") as stage:
            (stage / "report.json").write_text(
                json.dumps(self.as_dict(), indent=2) + "\n", encoding="utf-8"
            )
            (stage / "report.md").write_text(self.render(fmt="markdown"), encoding="utf-8")
        return out


def validate_model(
    real: RealFeeder,
    posterior: Any = None,
    *,
    n: int = 100,
    rng: Any = None,
    modes: tuple[str, ...] = MODES,
    solve: int = 0,
    engines: tuple[str, ...] = ENGINES,
    v_limits: tuple[float, float] = (0.9, 1.1),
) -> ValidationReport:
    """Transfer a posterior to a real feeder, compare, and optionally solve realisations.

    Parameters
    ----------
    real : RealFeeder
        From :func:`~.real.load_real_feeder`.
    posterior : name, path, PowerParameters or BayesianPowerModel, optional
        Default: the shipped SMART-DS posterior.
    n : int, default 100
        Realisations per mode.
    rng : seed or numpy.random.Generator, optional
        Random generator or seed.
    modes : tuple of str
        Generation modes (:data:`~.transfer.MODES`).
    solve : int, default 0
        Solve the first ``solve`` realisations of each mode in each engine (0: no power flow).
    engines : tuple of str
        Engines for ``solve``.
    v_limits : (float, float)
        Voltage limits [p.u.].
    """
    params = resolve_posterior(posterior)
    results = transfer(real, params, n=n, rng=rng, modes=modes)
    reports: dict[str, FeasibilityReport] = {}
    if solve > 0:
        for mode, result in results.items():
            chosen = range(min(int(solve), result.ensemble.n_realisations))
            solved = feasibility(
                result.feeder,
                result.ensemble,
                engines=engines,
                real=real,
                realisations=chosen,
                v_limits=v_limits,
            )
            for engine, (report, _) in solved.items():
                reports[f"{mode}/{engine}"] = report
    return ValidationReport(real=real, params=params, transfers=results, feasibility=reports)
