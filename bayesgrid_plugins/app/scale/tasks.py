"""What one task of a run does: sample a chunk of realisations and solve them.

A task is a picklable object with ``kind``, ``settings()`` and ``__call__(feeder, spec)``
returning a dict of NumPy arrays with one row per realisation. :func:`execute_chunk` is the
function the runner hands to Dask (or calls itself when serial); it adds the wall time and the
process id under ``meta_`` keys, which are not part of the result.

Each chunk opens its own case of the chosen engine (found by name through the plugin manager)
and closes it when done, so no engine state is kept between chunks or shared between threads.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...ensemble import Ensemble
from ...feeder import Feeder
from ...plugins import get_engine
from .streams import SamplingSettings, sample_realisations

__all__ = ["ChunkSpec", "PowerFlowTask", "execute_chunk"]


@dataclass(frozen=True)
class ChunkSpec:
    """One unit of work: realisations ``start..stop-1`` of region ``region``.

    Attributes
    ----------
    region : int
        Index of the region.
    chunk : int
        Index of the chunk within the region.
    start, stop : int
        Global realisation indices ``[start, stop)``.
    seed : int
        The run's seed (each realisation's stream derives from it; see :mod:`.streams`).
    sampling : SamplingSettings
        Which models sample the realisations.
    """

    region: int
    chunk: int
    start: int
    stop: int
    seed: int
    sampling: SamplingSettings

    @property
    def realisations(self) -> np.ndarray:
        """Global indices of the chunk's realisations."""
        return np.arange(self.start, self.stop, dtype=np.int64)

    def sample(self, feeder: Feeder) -> Ensemble:
        """The chunk's realisations of ``feeder``, from their own random streams."""
        return sample_realisations(
            feeder,
            seed=self.seed,
            region=self.region,
            realisations=self.realisations,
            sampling=self.sampling,
            chunk=self.chunk,
        )


def _nanmax(values: np.ndarray, axis: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows (not converged) stay NaN
        return np.nanmax(values, axis=axis)


@dataclass(frozen=True)
class PowerFlowTask:
    """Monte Carlo power flow: per realisation, compact results.

    Attributes
    ----------
    engine : str, default "opendss"
        The engine, by name (``bayesgrid plugins`` lists them).
    full_voltages : bool, default False
        Also return every bus's per-phase voltage magnitude ``vm_pu`` (n, n_buses, 3) [p.u.]
        (24 bytes per bus and realisation instead of about 100 bytes per realisation).
    options : mapping, optional
        The engine's options (for ``opendss``, fields of its ``CircuitOptions`` or an instance).
    plan : bool, default True
        Split the region's feeder and size every realisation's conductors, transformers and tap
        for its own demand before the result is taken (:mod:`.planned`); ``False`` solves the
        sampled grids as they are.

    Notes
    -----
    The arrays returned per realisation: ``realisation`` (global index), ``converged``,
    ``vm_min_pu`` and ``vm_max_pu`` (per phase [p.u.]), ``vuf_percent`` (highest over the
    three-phase buses [%]), ``losses_kw`` [kW], ``max_loading_percent`` (highest line loading
    [%]), ``load_kw`` (total load [kW]).
    """

    full_voltages: bool = False
    options: Any = None
    engine: str = "opendss"
    plan: bool = True

    kind = "power-flow"

    def settings(self) -> dict[str, Any]:
        """What changes the results (hashed into the run's identity)."""
        settings = {"full_voltages": self.full_voltages, "options": repr(self.options)}
        if self.engine != "opendss":  # runs of earlier versions keep their identity
            settings["engine"] = self.engine
        if self.plan:
            settings["plan"] = True
        return settings

    def __call__(self, feeder: Feeder, spec: ChunkSpec) -> dict[str, np.ndarray]:
        if self.plan:
            from .planned import plan_chunk, split_region_feeder

            feeder = split_region_feeder(
                feeder, seed=spec.seed, region=spec.region, sampling=spec.sampling
            )
            ensemble = spec.sample(feeder)
            feeder, ensemble, result = plan_chunk(
                feeder,
                ensemble,
                seed=spec.seed,
                region=spec.region,
                chunk=spec.chunk,
                realisations=spec.realisations,
                sampling=spec.sampling,
                engine=self.engine,
                options=self.options,
            )
        else:
            ensemble = spec.sample(feeder)
            with get_engine(self.engine).open(feeder, ensemble, options=self.options) as case:
                result = case.solve_batch()
        out = {
            "realisation": spec.realisations,
            "converged": result.converged,
            "vm_min_pu": result.vm_min_pu,
            "vm_max_pu": result.vm_max_pu,
            "vuf_percent": result.vuf_percent,
            "losses_kw": result.losses_kw,
            "max_loading_percent": _nanmax(result.line_loading_percent, axis=1),
            "load_kw": ensemble.p_kw.sum(axis=(1, 2)),
        }
        if self.full_voltages:
            out["vm_pu"] = result.vm_pu
        return out


def execute_chunk(task: Any, feeder: Feeder, spec: ChunkSpec) -> dict[str, Any]:
    """Run ``task`` on one chunk; add ``meta_elapsed_s``, ``meta_cpu_s`` [s] and ``meta_pid``."""
    start, cpu = time.perf_counter(), time.process_time()
    arrays = task(feeder, spec)
    arrays["meta_elapsed_s"] = np.asarray(time.perf_counter() - start)
    arrays["meta_cpu_s"] = np.asarray(time.process_time() - cpu)
    arrays["meta_pid"] = np.asarray(os.getpid())
    return arrays
