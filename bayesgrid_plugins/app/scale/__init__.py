"""Scale-out: many regions x many realisations, chunked into tasks, on Dask or serially.

Public API
----------
:func:`run`
    Run a task (Monte Carlo power flow by default, or hosting capacity) over regions x
    realisation chunks; writes one file per chunk so an interrupted run resumes.
:class:`PowerFlowTask`, :class:`SamplingSettings`, :class:`OsmArea`, :class:`FeederRegion`
    What is computed, sampled, and where.
:func:`load_results`
    The stacked per-realisation results of a finished run folder.

Importing this package does not import Dask, OpenDSS or osmnx.
"""

from __future__ import annotations

from .regions import DEFAULT_REGIONS, FeederRegion, OsmArea, as_region
from .runner import DEFAULT_CHUNK_SIZE, RunResult, local_cluster, plan_chunks, run
from .store import RunStore, load_results, settings_digest
from .streams import SamplingSettings, realisation_stream, sample_realisations
from .tasks import ChunkSpec, PowerFlowTask, execute_chunk

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_REGIONS",
    "ChunkSpec",
    "FeederRegion",
    "OsmArea",
    "PowerFlowTask",
    "RunResult",
    "RunStore",
    "SamplingSettings",
    "as_region",
    "execute_chunk",
    "load_results",
    "local_cluster",
    "plan_chunks",
    "realisation_stream",
    "run",
    "sample_realisations",
    "settings_digest",
]
