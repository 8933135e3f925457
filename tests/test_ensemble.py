"""Ensembles: slicing, summaries and the compressed file."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_tree

from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import OutputExistsError, PosteriorMismatchError
from bayesgrid_plugins.models.power import BayesianPowerModel


@pytest.fixture(scope="module")
def ensemble() -> Ensemble:
    return BayesianPowerModel().sample(random_tree(50, 0), 20, rng=1)


def test_slicing_keeps_all_fields(ensemble: Ensemble) -> None:
    one = ensemble[3]
    assert len(one) == 1 and one.n_buses == ensemble.n_buses
    assert np.array_equal(one.p_kw[0], ensemble.p_kw[3])
    assert np.array_equal(ensemble[-1].bus_phases[0], ensemble.bus_phases[-1])
    part = ensemble[2:5]
    assert len(part) == 3 and np.array_equal(part.draw, ensemble.draw[2:5])
    picked = ensemble[np.array([0, 7])]
    assert np.array_equal(picked.q_kvar[1], ensemble.q_kvar[7])
    with pytest.raises(IndexError, match="realisation 20 out of range"):
        ensemble[20]


def test_summary_matches_the_arrays(ensemble: Ensemble) -> None:
    summary = ensemble.summary()
    np.testing.assert_allclose(summary["p_kw"], ensemble.p_kw.sum(axis=1))
    assert summary["n_loads"].tolist() == [49] * 20
    loads = ensemble.load_phases[0][ensemble.load_phases[0] > 0]
    assert summary["three_phase_share"][0] == pytest.approx((loads == 7).mean())
    single = loads[loads != 7]
    expected = [(single == b).mean() for b in (1, 2, 4)]
    np.testing.assert_allclose(summary["single_phase_shares"][0], expected)
    assert (ensemble.line_phases[:, ensemble.source] == 0).all()


def test_save_and_load_round_trip(tmp_path, ensemble: Ensemble) -> None:  # type: ignore[no-untyped-def]
    path = ensemble.save(tmp_path / "ens.npz")
    loaded = Ensemble.load(path)
    for name in ("bus_id", "load_phases", "bus_phases", "p_kw", "q_kvar", "power_factor", "draw"):
        assert np.array_equal(getattr(loaded, name), getattr(ensemble, name)), name
    assert loaded.source == ensemble.source and loaded.metadata == ensemble.metadata
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        ensemble.save(path)
    before = path.read_bytes()
    ensemble[0:2].save(path, overwrite=True)
    assert path.read_bytes() != before and len(Ensemble.load(path)) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["ens.npz"]  # no temporary left behind


def test_corrupt_files_are_reported(tmp_path, ensemble: Ensemble) -> None:  # type: ignore[no-untyped-def]
    path = ensemble.save(tmp_path / "ens.npz")
    (tmp_path / "cut.npz").write_bytes(path.read_bytes()[:200])
    with pytest.raises(PosteriorMismatchError, match="not a readable bayesgrid ensemble"):
        Ensemble.load(tmp_path / "cut.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(PosteriorMismatchError, match="not a readable bayesgrid ensemble"):
        Ensemble.load(tmp_path / "other.npz")


def test_shape_mismatch_is_rejected(ensemble: Ensemble) -> None:
    with pytest.raises(ValueError, match=r"Ensemble.p_kw has shape"):
        Ensemble(
            bus_id=ensemble.bus_id,
            source=0,
            load_phases=ensemble.load_phases,
            bus_phases=ensemble.bus_phases,
            p_kw=ensemble.p_kw[:, :3],
            q_kvar=ensemble.q_kvar,
            power_factor=ensemble.power_factor,
            draw=ensemble.draw,
        )


def test_bad_sampled_line_data_names_the_line(ensemble: Ensemble) -> None:
    from bayesgrid_plugins.ensemble import check_line_data
    from bayesgrid_plugins.errors import ParameterError

    lines = np.flatnonzero(np.arange(ensemble.n_buses) != ensemble.source)
    r1 = np.full((len(ensemble), ensemble.n_buses), 0.2)
    check_line_data(ensemble.with_fields(r1_ohm_per_km=r1), lines, ensemble.bus_id)
    r1[3, lines[5]] = 0.0
    with pytest.raises(ParameterError, match=rf"r1_ohm_per_km.*'{ensemble.bus_id[lines[5]]}'.*3"):
        check_line_data(ensemble.with_fields(r1_ohm_per_km=r1), lines, ensemble.bus_id)
