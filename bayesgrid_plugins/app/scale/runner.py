"""Run tasks over regions x realisation chunks, serially or on a Dask cluster.

:func:`run` splits each region's ``n`` realisations into chunks of ``chunk_size``, turns each
chunk into one task, and writes each finished chunk to the run's folder as soon as it arrives
(memory stays bounded by the chunks in flight). On Dask the default is a local cluster of
worker processes (``processes=True``, one thread each: OpenDSS is not thread-safe); give
``scheduler="tcp://host:8786"`` (or a ``client=``) to use an existing cluster.

Fault tolerance: a task that raises is retried ``retries`` times; a task whose worker dies is
rescheduled by the Dask scheduler (up to ``distributed.scheduler.allowed-failures`` times), and
a feeder held by a dead worker is rebuilt from its task. An interrupted run resumes with
``resume=True``: finished chunks are read back, not recomputed.

Dask is imported only here, and only when a cluster is used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ParameterError
from ...feeder import Feeder
from ...reprs import compact_repr, id_preview
from .regions import (
    DEFAULT_REGIONS,
    Region,
    as_region,
    build_region_feeder,
    load_feeder,
    save_feeder,
)
from .store import RunStore
from .streams import SamplingSettings
from .tasks import ChunkSpec, PowerFlowTask, execute_chunk

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "NullProgress",
    "RunResult",
    "default_summary",
    "local_cluster",
    "plan_chunks",
    "run",
]

logger = logging.getLogger(__name__)

#: Realisations per task by default.
DEFAULT_CHUNK_SIZE = 50


class NullProgress:
    """Progress that shows nothing (the CLI supplies a visible bar)."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total = label, total

    def update(self, done: int) -> None:
        """``done`` of ``total`` realisations are finished."""

    def close(self) -> None:
        """The run ended."""


@dataclass
class RunResult:
    """What :func:`run` produced.

    Attributes
    ----------
    out : Path
        The run's folder.
    region_names : list of str
        Names of the regions, in order.
    feeders : list of Feeder
        The regions' feeders.
    results : list of dict
        Per region, the stacked per-realisation arrays (see the task's documentation).
    computed_chunks, reused_chunks : int
        Chunks computed by this call, and chunks read back from a previous call.
    elapsed_s : float
        Wall time [s] of the call.
    chunk_elapsed_s, chunk_cpu_s : ndarray
        Wall and CPU time [s] of each chunk computed by this call (on its worker).
    settings_sha256 : str
        Digest of the settings (the run's identity).
    summary : dict
        What ``summary.json`` holds.
    """

    out: Path
    region_names: list[str]
    feeders: list[Feeder]
    results: list[dict[str, np.ndarray]]
    computed_chunks: int
    reused_chunks: int
    elapsed_s: float
    chunk_elapsed_s: np.ndarray
    chunk_cpu_s: np.ndarray
    settings_sha256: str
    summary: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return compact_repr(
            "RunResult",
            regions=id_preview(self.region_names),
            computed_chunks=int(self.computed_chunks),
            reused_chunks=int(self.reused_chunks),
            elapsed_s=float(self.elapsed_s),
            out=str(self.out),
        )


def plan_chunks(
    n_regions: int, n: int, chunk_size: int, seed: int, sampling: SamplingSettings
) -> list[ChunkSpec]:
    """Every chunk of a run, region by region."""
    return [
        ChunkSpec(r, c, start, min(n, start + chunk_size), seed, sampling)
        for r in range(n_regions)
        for c, start in enumerate(range(0, n, chunk_size))
    ]


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _identity(value: Any) -> Any:
    return value


def _summary_stats(values: np.ndarray) -> dict[str, float]:
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"count": 0}
    q = np.percentile(v, [5, 50, 95])
    return {
        "count": int(v.size),
        "mean": float(v.mean()),
        "p5": float(q[0]),
        "p50": float(q[1]),
        "p95": float(q[2]),
        "min": float(v.min()),
        "max": float(v.max()),
    }


def default_summary(feeder: Feeder, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Distribution of every per-realisation quantity of a region."""
    summary: dict[str, Any] = {
        "n_buses": feeder.n_buses,
        "n_load_buses": int(feeder.load_buses.size),
    }
    for key, value in arrays.items():
        if key == "realisation" or value.ndim == 0:
            continue
        if value.dtype == bool:
            summary[f"{key}_share"] = float(value.mean())
        else:
            summary[key] = _summary_stats(value)
    return summary


def run(
    task: Any = None,
    regions: Sequence[Any] | None = None,
    *,
    n: int,
    seed: int,
    out: str | Path,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    sampling: SamplingSettings | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    serial: bool = False,
    resume: bool = False,
    overwrite: bool = False,
    retries: int = 2,
    progress: Callable[[str, int], Any] | None = None,
) -> RunResult:
    """Run ``task`` on ``n`` realisations of every region, chunk by chunk.

    Parameters
    ----------
    task : PowerFlowTask or HostingCapacityTask, optional
        What each chunk computes (default: :class:`~.tasks.PowerFlowTask`).
    regions : sequence, optional
        :class:`~.regions.OsmArea`, :class:`~.regions.FeederRegion`, ``Feeder`` or
        ``((lat, lon), dist_m[, path])`` items (default :data:`~.regions.DEFAULT_REGIONS`).
    n : int
        Realisations per region.
    seed : int
        Seed of the run; realisation ``j`` of region ``r`` uses the stream
        ``SeedSequence(seed, spawn_key=(r, j))``.
    out : path
        The run's folder (manifest, feeders, one file per chunk, stacked results, summary).
    chunk_size : int, default 50
        Realisations per task. The samples do not depend on it; the solved results depend on it
        at the level of the solver tolerance only (each chunk builds one circuit with the union of
        its realisations' phases and solves them in turn), so it is part of the run's identity.
    sampling : SamplingSettings, optional
        Which models sample the realisations (default: power and impedance models).
    workers : int, optional
        Worker processes of the local cluster (default: the number of CPUs).
    scheduler : str, optional
        Address of an existing Dask scheduler to use instead of a local cluster.
    client : distributed.Client, optional
        An existing client to use.
    serial : bool, default False
        Run every chunk in this process, without Dask (same results).
    resume : bool, default False
        Continue the run in ``out``: chunks already written are not recomputed. Refused when
        ``out`` holds a run of other settings.
    overwrite : bool, default False
        Discard what ``out`` holds.
    retries : int, default 2
        Retries of a task that raised (Dask only; a dead worker's tasks are rescheduled anyway).
    progress : callable, optional
        ``progress(label, total) -> obj`` with ``update(done)`` and ``close()``, fed with the
        number of realisations finished.

    Returns
    -------
    RunResult
    """
    started = time.perf_counter()
    task = task if task is not None else PowerFlowTask()
    n = _check_int("n", n, 1)
    seed = _check_int("seed", seed, 0)
    chunk_size = _check_int("chunk_size", chunk_size, 1)
    retries = _check_int("retries", retries, 0)
    if workers is not None:
        workers = _check_int("workers", workers, 1)
    sampling = sampling or SamplingSettings()
    items = list(DEFAULT_REGIONS if regions is None else regions)
    if not items:
        raise ParameterError("regions is empty: give at least one region.")
    region_list: list[Region] = [as_region(item, i) for i, item in enumerate(items)]
    settings = {
        "kind": task.kind,
        "task": task.settings(),
        "seed": seed,
        "n": n,
        "chunk_size": chunk_size,
        "sampling": sampling.settings(),
        "regions": [r.settings() for r in region_list],
    }
    store = RunStore(out, settings)
    specs = plan_chunks(len(region_list), n, chunk_size, seed, sampling)
    n_chunks = -(-n // chunk_size)
    from ... import __version__

    store.open(
        resume=resume,
        overwrite=overwrite,
        layout={
            "regions": [r.name for r in region_list],
            "n_chunks_per_region": n_chunks,
            "version": __version__,
        },
    )
    pending = [s for s in specs if not store.chunk_done(s.region, s.chunk, s.realisations)]
    reused = len(specs) - len(pending)
    if reused:
        logger.info(
            "%d of %d chunks are already done; computing %d", reused, len(specs), len(pending)
        )
    feeders: dict[int, Feeder] = {}
    for r in range(len(region_list)):
        if store.feeder_path(r).is_file():
            feeders[r] = load_feeder(store.feeder_path(r))
    bar = (progress or NullProgress)(task.kind, len(region_list) * n)
    done = sum(s.stop - s.start for s in specs) - sum(s.stop - s.start for s in pending)
    bar.update(done)
    elapsed: list[float] = []
    cpu: list[float] = []

    def finished(spec: ChunkSpec, arrays: dict[str, Any]) -> None:
        nonlocal done
        store.write_chunk(spec.region, spec.chunk, arrays)
        elapsed.append(float(arrays["meta_elapsed_s"]))
        cpu.append(float(arrays["meta_cpu_s"]))
        done += spec.stop - spec.start
        bar.update(done)

    try:
        if serial:
            _run_serial(task, region_list, feeders, pending, store, finished)
        else:
            _run_dask(
                task,
                region_list,
                feeders,
                pending,
                store,
                finished,
                workers=workers,
                scheduler=scheduler,
                client=client,
                retries=retries,
            )
    finally:
        bar.close()
    # Every region's feeder exists now (built or loaded); stack and summarise.
    results, summary_regions = [], []
    for r, region in enumerate(region_list):
        if r not in feeders:
            feeders[r] = load_feeder(store.feeder_path(r))
        store.write_region_results(r, n_chunks)
        arrays = {k: v for k, v in store.read_results(r).items() if not k.startswith("meta_")}
        results.append(arrays)
        summarise = getattr(task, "summarise", default_summary)
        summary_regions.append({"name": region.name, **summarise(feeders[r], arrays)})
    summary = {
        "kind": task.kind,
        "settings_sha256": store.digest,
        "n": n,
        "seed": seed,
        "chunk_size": chunk_size,
        "regions": summary_regions,
    }
    store.write_summary(summary)
    return RunResult(
        out=store.out,
        region_names=[r.name for r in region_list],
        feeders=[feeders[r] for r in range(len(region_list))],
        results=results,
        computed_chunks=len(pending),
        reused_chunks=reused,
        elapsed_s=time.perf_counter() - started,
        chunk_elapsed_s=np.asarray(elapsed),
        chunk_cpu_s=np.asarray(cpu),
        settings_sha256=store.digest,
        summary=summary,
    )


def _run_serial(
    task: Any,
    regions: list[Region],
    feeders: dict[int, Feeder],
    pending: list[ChunkSpec],
    store: RunStore,
    finished: Callable[[ChunkSpec, dict[str, Any]], None],
) -> None:
    for r, region in enumerate(regions):
        if r not in feeders:
            feeders[r] = build_region_feeder(region)
            save_feeder(store.feeder_path(r), feeders[r], overwrite=True)
    for spec in pending:
        finished(spec, execute_chunk(task, feeders[spec.region], spec))


def local_cluster(workers: int | None = None) -> Any:
    """A local Dask cluster of ``workers`` single-threaded worker processes, no dashboard.

    The scheduler's HTTP endpoint (metrics only) listens on a free local port, so a busy
    default port (another cluster on the machine) is no problem.
    """
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=workers,
        processes=True,
        threads_per_worker=1,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    )


def _run_dask(
    task: Any,
    regions: list[Region],
    feeders: dict[int, Feeder],
    pending: list[ChunkSpec],
    store: RunStore,
    finished: Callable[[ChunkSpec, dict[str, Any]], None],
    *,
    workers: int | None,
    scheduler: str | None,
    client: Any,
    retries: int,
) -> None:
    import contextlib

    from distributed import Client, as_completed

    with contextlib.ExitStack() as stack:
        if client is None:
            if scheduler is not None:
                client = stack.enter_context(Client(scheduler))
            else:
                cluster = stack.enter_context(local_cluster(workers))
                client = stack.enter_context(Client(cluster))
        tag = store.digest[:12]
        feeder_futures: dict[int, Any] = {}
        building: dict[Any, int] = {}
        for r, region in enumerate(regions):
            if r in feeders:
                # Embedded in the task (not scattered), so a dead worker's copy can be rebuilt.
                feeder_futures[r] = client.submit(
                    _identity, feeders[r], key=f"feeder-{tag}-{r}", retries=retries
                )
            else:
                future = client.submit(
                    build_region_feeder, region, key=f"feeder-{tag}-{r}", retries=retries
                )
                feeder_futures[r] = future
                building[future] = r
        chunk_futures = {
            client.submit(
                execute_chunk,
                task,
                feeder_futures[spec.region],
                spec,
                key=f"chunk-{tag}-{spec.region}-{spec.chunk}",
                retries=retries,
            ): spec
            for spec in pending
        }
        queue = as_completed(list(building) + list(chunk_futures))
        for future in queue:
            if future in building:
                r = building.pop(future)
                feeders[r] = future.result()
                save_feeder(store.feeder_path(r), feeders[r], overwrite=True)
            else:
                spec = chunk_futures.pop(future)
                finished(spec, future.result())
            future.release()
        for future in feeder_futures.values():
            future.release()
