"""Unbalancing a real OpenDSS circuit (IEEE 13-node feeder): totals kept, written, solved."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

from bayesgrid_plugins.errors import LargeLoadWarning, OutputExistsError, ParameterError
from bayesgrid_plugins.phases import check_phase_consistency, n_phases
from opendss_ext.engine import run_commands
from opendss_ext.reader import compile_master
from opendss_ext.unbalance import circuit_load_totals, unbalance_circuit

IEEE13 = Path(
    f"{SHARED_DATA}/feeders/electricdss-tst/Version8/Distrib/IEEETestCases/13Bus/IEEE13Nodeckt.dss"
)
pytestmark = pytest.mark.skipif(not IEEE13.is_file(), reason="IEEE 13-node data not present")


@pytest.fixture(scope="module")
def original_totals():
    return circuit_load_totals(compile_master(IEEE13))


def test_three_phase_load_becomes_phase_accurate(original_totals):
    result = unbalance_circuit(IEEE13, n=4, rng=3, three_phase_above_kva=None)
    # the only load wired to all three phases is 671 (delta, 1155 kW)
    assert result.replaced == {"671": ["671"]}
    i = result.feeder.index_of(["671"])[0]
    np.testing.assert_allclose(result.ensemble.p_kw[:, i].sum(axis=1), 1155.0, rtol=1e-12)
    np.testing.assert_allclose(result.ensemble.q_kvar[:, i].sum(axis=1), 660.0, rtol=1e-12)
    lines = result.commands(0)
    assert "edit Load.671 enabled=no" in lines
    new = [line for line in lines if line.startswith("New Load.u_671_")]
    phases = n_phases(result.ensemble.load_phases[0, i])
    assert len(new) == phases
    assert all("phases=1" in line and "kV=2.40177" in line for line in new)
    check_phase_consistency(result.feeder, result.ensemble.bus_phases)


def test_a_large_load_stays_three_phase_as_in_pandapower():
    """The rule every engine shares: 671 (1155 kW, 660 kvar) stays on A, B and C, with a
    warning naming it; the source bus stays three-phase too."""
    with pytest.warns(LargeLoadWarning, match=r"1 loads exceed 100 kVA .*'671'"):
        result = unbalance_circuit(IEEE13, n=20, rng=3)
    i = result.feeder.index_of(["671"])[0]
    assert (result.ensemble.load_phases[:, i] == 7).all()
    assert (result.ensemble.bus_phases[:, result.feeder.source] == 7).all()


def test_all_loads_on_three_phase_buses_written_and_solved(tmp_path, original_totals):
    with pytest.warns(LargeLoadWarning, match="8 loads exceed 100 kVA"):
        result = unbalance_circuit(IEEE13, n=3, rng=11, loads="all", scenario="unbalanced")
    assert set(result.replaced) == {"671", "634", "692", "675", "670"}
    folders = result.write(tmp_path / "out")
    assert [f.name for f in folders] == [f"realisation_{k:04d}" for k in range(3)]
    for k, folder in enumerate(folders):
        engine = compile_master(folder / "Master.dss")
        totals = circuit_load_totals(engine)
        assert set(totals) == set(original_totals)
        for bus, (p, q) in original_totals.items():
            assert totals[bus][0] == pytest.approx(p, rel=1e-9, abs=0)
            assert totals[bus][1] == pytest.approx(q, rel=1e-9, abs=0)
        # every converted bus now has one single-phase element per loaded phase
        names = [s.lower() for s in engine.Loads.AllNames()]
        for bus in result.replaced:
            i = result.feeder.index_of([bus])[0]
            expected = {
                f"u_{bus}_{'abc'[j]}"
                for j in range(3)
                if result.ensemble.p_kw[k, i, j] != 0 or result.ensemble.q_kvar[k, i, j] != 0
            }
            assert {s for s in names if s.startswith(f"u_{bus}_")} == expected
        run_commands(engine, ["calcvoltagebases", "solve"])
        assert engine.Solution.Converged()
        v = np.asarray(engine.Circuit.AllBusMagPu())
        assert np.isfinite(v).all() and v[v > 0].min() > 0.5
    with pytest.raises(OutputExistsError):
        result.write(tmp_path / "out", realisations=[0])
    assert result.write(tmp_path / "out", realisations=[0], overwrite=True) == folders[:1]


def test_bad_options():
    with pytest.raises(ParameterError, match="loads must be"):
        unbalance_circuit(IEEE13, loads="some")
    with pytest.raises(FileNotFoundError):
        unbalance_circuit(IEEE13.with_name("missing.dss"))
