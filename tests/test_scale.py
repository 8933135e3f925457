"""Scale-out runner: per-realisation streams, determinism across workers, retries, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import random_tree

from bayesgrid_plugins.app.scale import (
    ChunkSpec,
    FeederRegion,
    OsmArea,
    PowerFlowTask,
    SamplingSettings,
    load_results,
    realisation_stream,
    run,
    sample_realisations,
)
from bayesgrid_plugins.errors import OutputExistsError, ParameterError
from bayesgrid_plugins.feeder import Feeder

#: The counted SMART-DS parameters without the three-phase class (loads of a few kW).
ONE_CLASS = Path(__file__).parent / "data" / "power_smartds_counting_one_class.json"

N, CHUNK, SEED = 6, 2, 11
#: The runs of this module sample the counting posterior without its three-phase class: a few kW
#: per load, which the 0.4 kV test tree carries (the class's commercial loads, about 100 kW, do
#: not converge on it). The default NUTS posterior's new-feeder predictive reaches hundreds of kW
#: on 29 loads in some realisations, and those do not converge on it either.
SAMPLING = SamplingSettings(power_parameters=str(ONE_CLASS))


def _lv_tree(n_buses: int, seed: int) -> Feeder:
    tree = random_tree(n_buses, seed)
    return Feeder(bus_id=tree.bus_id, parent=tree.parent, length_km=tree.length_km, vn_kv=0.4)


REGIONS = [
    FeederRegion("tree", _lv_tree(30, 5)),
    # A small area of the embedded extract: its feeder is built by a task, on a worker.
    OsmArea("monaco-small", (43.7440, 7.4280), 150.0),
]


def _same(a: list[dict[str, np.ndarray]], b: list[dict[str, np.ndarray]]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert sorted(x) == sorted(y)
        for key in x:
            assert x[key].dtype == y[key].dtype, key
            np.testing.assert_array_equal(x[key], y[key], err_msg=key)


@pytest.fixture(scope="module")
def two_workers():
    """One local cluster of two worker processes for the tests of this module."""
    from distributed import Client

    from bayesgrid_plugins.app.scale.runner import local_cluster

    with local_cluster(2) as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("serial") / "run"
    return run(
        regions=REGIONS, n=N, seed=SEED, chunk_size=CHUNK, out=out, serial=True, sampling=SAMPLING
    )


# ---------------------------------------------------------------------- random layout
def test_realisation_stream_is_the_spawned_child() -> None:
    spawned = np.random.SeedSequence(7).spawn(3)[2].spawn(5)[4]
    direct = realisation_stream(7, 2, 4)
    np.testing.assert_array_equal(spawned.generate_state(4), direct.generate_state(4))


def test_samples_do_not_depend_on_chunking() -> None:
    feeder = _lv_tree(25, 1)
    sampling = SamplingSettings()
    whole = sample_realisations(feeder, seed=3, region=1, realisations=range(5), sampling=sampling)
    parts = [
        sample_realisations(feeder, seed=3, region=1, realisations=rows, sampling=sampling)
        for rows in (range(0, 2), range(2, 5))
    ]
    for name in ("load_phases", "bus_phases", "p_kw", "q_kvar", "r1_ohm_per_km", "max_i_ka"):
        joined = np.concatenate([getattr(p, name) for p in parts])
        np.testing.assert_array_equal(getattr(whole, name), joined, err_msg=name)
    # Another region of the same seed draws other loads.
    other = sample_realisations(feeder, seed=3, region=2, realisations=range(5), sampling=sampling)
    assert not np.array_equal(other.p_kw, whole.p_kw)


def test_chunk_streams_are_one_vectorised_draw_per_chunk() -> None:
    feeder = _lv_tree(25, 1)
    chunked = SamplingSettings(streams="chunk")
    a = sample_realisations(
        feeder, seed=3, region=0, realisations=range(4), chunk=1, sampling=chunked
    )
    b = sample_realisations(
        feeder, seed=3, region=0, realisations=range(4), chunk=1, sampling=chunked
    )
    c = sample_realisations(
        feeder, seed=3, region=0, realisations=range(4), chunk=2, sampling=chunked
    )
    np.testing.assert_array_equal(a.p_kw, b.p_kw)
    assert not np.array_equal(a.p_kw, c.p_kw)
    with pytest.raises(ParameterError, match="chunk="):
        sample_realisations(feeder, seed=3, region=0, realisations=range(2), sampling=chunked)
    with pytest.raises(ParameterError, match="streams"):
        SamplingSettings(streams="bus")


def test_a_shipped_posterior_is_chosen_by_name() -> None:
    feeder = _lv_tree(25, 1)
    counting = SamplingSettings(impedance=False, power_parameters="smartds-counting")
    default = SamplingSettings(impedance=False)
    assert counting.settings()["power_parameters"].startswith("smartds-counting:")
    assert counting.settings() != default.settings()
    a = sample_realisations(feeder, seed=3, region=0, realisations=range(4), sampling=counting)
    b = sample_realisations(feeder, seed=3, region=0, realisations=range(4), sampling=default)
    assert not np.array_equal(a.p_kw, b.p_kw)


def test_chunk_size_changes_solutions_only_at_solver_level(serial_run, tmp_path: Path) -> None:
    other = run(
        regions=REGIONS[:1], n=N, seed=SEED, chunk_size=3, out=tmp_path / "c3", serial=True,
        sampling=SAMPLING,
    )  # fmt: skip
    a, b = serial_run.results[0], other.results[0]
    np.testing.assert_array_equal(a["load_kw"], b["load_kw"])  # the samples: identical
    # The solutions: each chunk builds one circuit with its realisations' phase union, so unused
    # conductors' charging currents (~1e-6 p.u. on these cables) and the warm start differ.
    np.testing.assert_allclose(a["vm_min_pu"], b["vm_min_pu"], atol=1e-5)
    assert serial_run.settings_sha256 != other.settings_sha256


def test_same_circuit_in_every_chunk_makes_results_independent_of_chunk_size(tmp_path) -> None:
    """With every line three-phase each chunk solves the same circuit: the chunk size then
    changes the voltages only at the solver's tolerance (1e-8; measured 3.6e-9 p.u.)."""
    task = PowerFlowTask(options={"all_three_phase": True})
    runs = [
        run(
            regions=REGIONS[:1], n=N, seed=SEED, chunk_size=size, out=tmp_path / f"c{size}",
            serial=True, sampling=SAMPLING, task=task,
        ).results[0]
        for size in (1, N)
    ]  # fmt: skip
    assert runs[0]["converged"].all() and runs[1]["converged"].all()
    for key in ("vm_min_pu", "vm_max_pu"):
        np.testing.assert_allclose(runs[0][key], runs[1][key], rtol=0, atol=1e-8)


# ---------------------------------------------------------------------- determinism on Dask
def test_serial_one_and_two_workers_identical(serial_run, two_workers, tmp_path: Path) -> None:
    assert serial_run.computed_chunks == 2 * N // CHUNK
    assert all(r["converged"].all() for r in serial_run.results)
    for workers in (1, 2):
        result = run(
            regions=REGIONS,
            n=N,
            seed=SEED,
            chunk_size=CHUNK,
            out=tmp_path / f"w{workers}",
            workers=workers,  # a LocalCluster of its own
            client=two_workers if workers == 2 else None,
            sampling=SAMPLING,
        )
        assert result.settings_sha256 == serial_run.settings_sha256
        _same(serial_run.results, result.results)
        _same(serial_run.results, load_results(result.out))
        for a, b in zip(serial_run.feeders, result.feeders):
            np.testing.assert_array_equal(a.bus_id, b.bus_id)


@dataclass(frozen=True)
class KillOnce(PowerFlowTask):
    """Kills its own worker process the first time it runs chunk 1 of region 0."""

    marker: str = ""

    def __call__(self, feeder: Feeder, spec: ChunkSpec):  # type: ignore[override]
        if spec.region == 0 and spec.chunk == 1 and not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return super().__call__(feeder, spec)


def test_killed_worker_is_retried_and_result_is_identical(
    serial_run, two_workers, tmp_path: Path
) -> None:
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = tmp_path / "killed"
    result = run(
        KillOnce(marker=str(marker)),
        REGIONS,
        n=N,
        seed=SEED,
        chunk_size=CHUNK,
        out=tmp_path / "killed-run",
        client=two_workers,
        retries=1,
        sampling=SAMPLING,
    )
    assert marker.is_file()  # a worker was killed ...
    assert result.computed_chunks == 2 * N // CHUNK  # ... and every chunk still finished
    with np.load(tmp_path / "killed-run/regions/000/chunks/00001.npz") as chunk:
        assert int(chunk["meta_pid"]) != int(marker.read_text())  # recomputed by another process
    _same(serial_run.results, result.results)


# ---------------------------------------------------------------------- resume
@dataclass(frozen=True)
class FailOn(PowerFlowTask):
    """Raises on one chunk: an interrupted run."""

    chunk: int = -1

    def __call__(self, feeder: Feeder, spec: ChunkSpec):  # type: ignore[override]
        if spec.chunk == self.chunk:
            raise RuntimeError("interrupted")
        return super().__call__(feeder, spec)


def test_resume_skips_finished_chunks(serial_run, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="interrupted"):
        run(
            FailOn(chunk=2), REGIONS[:1], n=N, seed=SEED, chunk_size=CHUNK, out=out, serial=True,
            sampling=SAMPLING,
        )  # fmt: skip
    chunks = out / "regions/000/chunks"
    assert sorted(p.name for p in chunks.iterdir()) == ["00000.npz", "00001.npz"]
    stamps = {p.name: p.stat().st_mtime_ns for p in chunks.iterdir()}
    result = run(
        regions=REGIONS[:1], n=N, seed=SEED, chunk_size=CHUNK, out=out, serial=True, resume=True,
        sampling=SAMPLING,
    )  # fmt: skip
    assert (result.computed_chunks, result.reused_chunks) == (1, 2)
    assert {p: (chunks / p).stat().st_mtime_ns for p in stamps} == stamps  # not rewritten
    _same(serial_run.results[:1], result.results)
    # Resuming a complete run computes nothing.
    again = run(
        regions=REGIONS[:1], n=N, seed=SEED, chunk_size=CHUNK, out=out, serial=True, resume=True,
        sampling=SAMPLING,
    )  # fmt: skip
    assert (again.computed_chunks, again.reused_chunks) == (0, 3)


def test_resume_refuses_a_run_of_other_settings(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run(regions=REGIONS[:1], n=2, seed=1, chunk_size=2, out=out, serial=True)
    with pytest.raises(ParameterError, match=r"other settings.*seed"):
        run(regions=REGIONS[:1], n=2, seed=2, chunk_size=2, out=out, serial=True, resume=True)
    with pytest.raises(ParameterError, match="chunk_size"):
        run(regions=REGIONS[:1], n=2, seed=1, chunk_size=1, out=out, serial=True, resume=True)
    with pytest.raises(OutputExistsError, match="--resume"):
        run(regions=REGIONS[:1], n=2, seed=1, chunk_size=2, out=out, serial=True)
    # The refused attempts left the run as it was.
    assert load_results(out, 0)["realisation"].tolist() == [0, 1]


def test_bad_arguments_are_named(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="chunk_size"):
        run(regions=REGIONS[:1], n=2, seed=1, chunk_size=0, out=tmp_path / "x", serial=True)
    with pytest.raises(ParameterError, match="regions\\[0\\]"):
        run(regions=["nowhere"], n=2, seed=1, out=tmp_path / "x", serial=True)


def test_importing_the_runner_imports_neither_dask_nor_engines() -> None:
    code = (
        "import sys, bayesgrid_plugins.app.scale, bayesgrid_plugins.app.hosting, "
        "bayesgrid_plugins.app.cli_scale;"
        "bad = [m for m in ('dask', 'distributed', 'opendssdirect', 'pandapower', 'osmnx') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
