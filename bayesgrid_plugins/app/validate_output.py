"""Check a written output: re-solve it in a fresh engine and compare with the stored results."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BayesGridError

__all__ = ["OutputCheck", "validate_output"]


@dataclass(frozen=True)
class OutputCheck:
    """The outcome of :func:`validate_output`."""

    ok: bool
    max_abs_diff_pu: float
    realisations: int
    engine: str
    message: str


def validate_output(folder: str | Path, *, tolerance: float = 1e-6) -> OutputCheck:
    """Re-solve the ensemble stored in ``folder`` and compare voltages with ``power_flow.npz``.

    Parameters
    ----------
    folder : path
        An output folder of :func:`~bayesgrid_plugins.app.pipeline.generate` written with the
        ``npz`` format and a power-flow engine.
    tolerance : float, default 1e-6
        Largest accepted absolute voltage difference [p.u.].
    """
    from ..exporters.npz import ENSEMBLE_FILE, FEEDER_FILE, load_export
    from .pipeline import RESULTS_FILE, load_power_flow, solve

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{str(folder)!r} is not a folder written by bayesgrid generate")
    wanted = (f"npz/{FEEDER_FILE}", f"npz/{ENSEMBLE_FILE}", RESULTS_FILE)
    missing = [n for n in wanted if not (folder / n).exists()]
    if missing:
        raise BayesGridError(
            f"{str(folder)!r} lacks {missing}: it was written without the 'npz' format or "
            "without a power-flow engine, so there is nothing to re-solve."
        )
    feeder, ensemble = load_export(folder / "npz")
    stored = load_power_flow(folder / RESULTS_FILE)
    engine = str(stored.get("engine", "opendss")) or "opendss"
    fresh = solve(engine, feeder, ensemble)
    same_convergence = np.array_equal(np.asarray(fresh.converged), stored["converged"])
    a, b = np.asarray(fresh.vm_pu), stored["vm_pu"]
    same_nan = np.array_equal(np.isnan(a), np.isnan(b))
    diff = float(np.nanmax(np.abs(a - b))) if np.isfinite(a).any() else 0.0
    ok = same_convergence and same_nan and diff <= tolerance
    message = (
        f"{'OK' if ok else 'MISMATCH'}: {len(ensemble)} realisations re-solved with {engine}; "
        f"largest voltage difference {diff:.3g} p.u. (tolerance {tolerance:g})"
        + ("" if same_convergence else "; convergence differs")
        + ("" if same_nan else "; phase layout differs")
    )
    return OutputCheck(ok, diff, len(ensemble), engine, message)
