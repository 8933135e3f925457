"""The OpenDSS adapter: command text, live circuits, realisation switching, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

from bayesgrid_plugins import Ensemble, Feeder
from bayesgrid_plugins.errors import (
    AdapterError,
    OutputExistsError,
    ParameterError,
    PhaseConsistencyError,
)
from bayesgrid_plugins.exporters.base import ExportRequest
from opendss_ext import (
    CircuitOptions,
    populate_circuit,
    set_realisation,
    solve,
    solve_ensemble,
    to_dss_commands,
)
from opendss_ext.engine import new_engine, run_commands
from opendss_ext.exporter import OpenDSSExporter, bayesgrid_register_exporters

#: The counted SMART-DS parameters without the three-phase class (loads of a few kW).
ONE_CLASS = Path(__file__).parent / "data" / "power_smartds_counting_one_class.json"

EULV = Path(
    f"{SHARED_DATA}/feeders/electricdss-tst/Version8/Distrib/IEEETestCases/LVTestCase/Master.dss"
)

GOLDEN = """\
clear
set defaultbasefrequency=50
new circuit.bayesgrid bus1=s.1.2.3 phases=3 basekv=0.4 pu=1 angle=0 r1=1.592059504e-10 \
x1=1.592059504e-09 r0=1.592059504e-10 x0=1.592059504e-09
new linecode.nayy_4x150_se_3ph nphases=3 units=km \
rmatrix=(0.3809 | 0.1729 0.3809 | 0.1729 0.1729 0.3809) \
xmatrix=(0.08393333333 | 0.003933333333 0.08393333333 | 0.003933333333 0.003933333333 \
0.08393333333) cmatrix=(261 | 0 261 | 0 0 261) normamps=270
new linecode.nayy_4x150_se_1ph nphases=1 units=km rmatrix=(0.3809) xmatrix=(0.08393333333) \
cmatrix=(0) normamps=270
new line.l_a bus1=s.1.2.3 bus2=a.1.2.3 phases=3 linecode=nayy_4x150_se_3ph length=0.1 units=km
new line.l_b bus1=a.2 bus2=b.2 phases=1 linecode=nayy_4x150_se_1ph length=0.05 units=km
new line.l_c bus1=a.1.2.3 bus2=c.1.2.3 phases=3 linecode=nayy_4x150_se_3ph length=0.02 units=km
new load.d_b_b bus1=b.2 phases=1 conn=wye kv=0.2309401077 kw=3 kvar=1.5 model=1 vminpu=0.5 \
vmaxpu=1.5
new load.d_c_a bus1=c.1 phases=1 conn=wye kv=0.2309401077 kw=1 kvar=0.5 model=1 vminpu=0.5 \
vmaxpu=1.5
new load.d_c_b bus1=c.2 phases=1 conn=wye kv=0.2309401077 kw=2 kvar=1 model=1 vminpu=0.5 \
vmaxpu=1.5
new load.d_c_c bus1=c.3 phases=1 conn=wye kv=0.2309401077 kw=3 kvar=1.5 model=1 vminpu=0.5 \
vmaxpu=1.5
set voltagebases=[0.4]
calcvoltagebases
set tolerance=1e-08
set maxiterations=50
"""


@pytest.fixture
def tiny():
    """s -> a (three-phase) -> b (phase B only, 3 kW) and -> c (three-phase load)."""
    feeder = Feeder.from_edges(
        [("s", "a", 0.1), ("a", "b", 0.05), ("a", "c", 0.02)], "s", vn_kv=0.4, loads=["b", "c"]
    )
    bus_phases = np.array([[7, 7, 2, 7], [7, 7, 2, 7]], dtype=np.uint8)
    load_phases = np.array([[0, 0, 2, 7], [0, 0, 2, 7]], dtype=np.uint8)
    p = np.zeros((2, 4, 3))
    p[0, 2] = [0, 3, 0]
    p[0, 3] = [1, 2, 3]
    p[1, 2] = [0, 4, 0]
    p[1, 3] = [2, 2, 2]
    ensemble = Ensemble(
        bus_id=feeder.bus_id,
        source=0,
        load_phases=load_phases,
        bus_phases=bus_phases,
        p_kw=p,
        q_kvar=0.5 * p,
        power_factor=np.full(2, 0.894),
        draw=np.zeros(2, dtype=np.int64),
    )
    return feeder, ensemble


def node_voltages(dss) -> dict[str, complex]:
    volts = np.asarray(dss.Circuit.AllBusVolts())
    return dict(zip(dss.Circuit.AllNodeNames(), volts[0::2] + 1j * volts[1::2]))


def test_golden_commands(tiny):
    feeder, ensemble = tiny
    assert to_dss_commands(feeder, ensemble, 0, as_text=True) == GOLDEN
    assert to_dss_commands(feeder, ensemble, 0) == GOLDEN.splitlines()


def test_all_three_phase_wires_every_line_with_real_z0(tiny):
    feeder, ensemble = tiny
    text = to_dss_commands(feeder, ensemble, 0, options=CircuitOptions(all_three_phase=True))
    lines = [c for c in text if c.startswith("new line.")]
    assert all("phases=3" in c and ".1.2.3" in c for c in lines)
    # The phase-B lateral keeps the cable's real Z0: one code for every line, with mutual terms.
    assert all("linecode=nayy_4x150_se_3ph" in c for c in lines)
    assert not any("rmatrix=(0.208 | 0 0.208" in c for c in text)


def test_populate_solve_power_balance_and_absent_phases(tiny):
    from opendss_ext.defaults import SourceType

    feeder, ensemble = tiny
    # A finite source: the default one is so stiff (1e8 MVA) that the power it delivers, computed
    # from a tiny voltage across its impedance, carries rounding of a few parts in 1e7.
    options = CircuitOptions(source=SourceType(s_sc_mva=1000.0))
    dss = populate_circuit(feeder, ensemble, 0, options=options)
    assert solve(dss)
    volts = node_voltages(dss)
    assert set(volts) == {f"{b}.{p}" for b in "sac" for p in (1, 2, 3)} | {"b.2"}
    vm = np.abs(np.array(list(volts.values()))) / (400 / np.sqrt(3))
    assert np.all((vm > 0.95) & (vm < 1.01))
    # Source power = loads + losses (constant PQ: loads draw their kW, to the solver's 1e-8
    # p.u. tolerance, i.e. a few parts in 1e8 after the load's own current iteration).
    p_src, _ = dss.Circuit.TotalPower()
    losses_kw = dss.Circuit.Losses()[0] / 1000
    assert -p_src == pytest.approx(ensemble.p_kw[0].sum() + losses_kw, rel=5e-8)
    assert losses_kw > 0


def test_set_realisation_equals_fresh_build(tiny):
    feeder, ensemble = tiny
    dss = populate_circuit(feeder, ensemble, 0)
    solve(dss)
    before = node_voltages(dss)
    set_realisation(dss, feeder, ensemble, 1)
    solve(dss)
    switched = node_voltages(dss)
    fresh = populate_circuit(feeder, ensemble, 1)
    solve(fresh)
    expected = node_voltages(fresh)
    assert max(abs(switched[n] - before[n]) for n in before) > 0.1  # volts: results changed
    assert max(abs(switched[n] - expected[n]) for n in expected) < 1e-9 * 230


def test_solve_ensemble_shapes_nan_and_loads(tiny):
    feeder, ensemble = tiny
    result = solve_ensemble(feeder, ensemble)
    assert result.vm_pu.shape == (2, 4, 3) and result.converged.all()
    assert np.isnan(result.vm_pu[:, 2, [0, 2]]).all() and np.isfinite(result.vm_pu[:, 2, 1]).all()
    assert result.losses_kw.shape == (2,) and (result.losses_kw > 0).all()
    assert np.isnan(result.line_loading_percent[:, 0]).all()
    assert (result.line_loading_percent[:, 1:] > 0).all()
    # Realisation 1 loads phase B less at bus c but more at b: b's voltage drops further.
    assert result.vm_pu[1, 2, 1] < result.vm_pu[0, 2, 1]
    assert np.allclose(result.vm_min_pu, np.nanmin(result.vm_pu, axis=1))
    assert result.vuf_percent.shape == (2,) and (result.vuf_percent > 0).all()


def test_inconsistent_phases_never_reach_the_engine(tiny):
    feeder, ensemble = tiny
    bad = ensemble.bus_phases.copy()
    bad[:, 1] = 3  # bus a lacks C, which c (ABC) needs
    broken = ensemble.with_fields(bus_phases=bad)
    dss = new_engine()
    run_commands(dss, ["clear", "new circuit.untouched bus1=x"])
    with pytest.raises(PhaseConsistencyError):
        populate_circuit(feeder, broken, 0, dss=dss)
    assert dss.Circuit.Name() == "untouched"
    with pytest.raises(PhaseConsistencyError):
        to_dss_commands(feeder, broken, 0)
    load_outside = ensemble.with_fields(load_phases=np.array([[0, 0, 3, 7]] * 2, np.uint8))
    with pytest.raises(PhaseConsistencyError, match="lacks"):
        populate_circuit(feeder, load_outside, 0, dss=dss)
    assert dss.Circuit.Name() == "untouched"


def test_non_finite_load_rejected(tiny):
    feeder, ensemble = tiny
    p = ensemble.p_kw.copy()
    p[0, 3, 0] = np.nan
    with pytest.raises(ParameterError, match="p_kw"):
        to_dss_commands(feeder, ensemble.with_fields(p_kw=p), 0)


def test_engine_error_is_wrapped_with_the_command(tiny):
    from opendss_ext.engine import new_engine, run_commands

    feeder, ensemble = tiny
    # A circuit name with a blank is quoted, so the engine takes it whole.
    dss = populate_circuit(feeder, ensemble, 0, options=CircuitOptions(name="bad name"))
    assert dss.Circuit.Name() == "bad name"
    with pytest.raises(AdapterError, match=r"command 2 .*new line\.x bus1=a length=abc"):
        run_commands(new_engine(), ["clear", "new line.x bus1=a length=abc"])


def test_set_realisation_needs_a_populated_engine(tiny):
    feeder, ensemble = tiny
    with pytest.raises(AdapterError, match="populate"):
        set_realisation(new_engine(), feeder, ensemble, 1)


def test_exporter_round_trip_equals_live_circuit(tiny, tmp_path):
    feeder, ensemble = tiny
    exporter = OpenDSSExporter()
    request = ExportRequest(feeder, ensemble, tmp_path, realisations=[0, 1])
    folders = exporter.export(request)
    assert [f.name for f in folders] == ["realisation_0000", "realisation_0001"]
    assert sorted(p.name for p in folders[1].iterdir()) == [
        "BusCoords.csv",
        "LineCodes.dss",
        "Lines.dss",
        "Loads.dss",
        "Master.dss",
    ]
    for k, folder in enumerate(folders):
        live = populate_circuit(feeder, ensemble, k)
        solve(live)
        compiled = new_engine()
        run_commands(compiled, [f"compile [{folder / 'Master.dss'}]"])
        assert solve(compiled)
        a, b = node_voltages(live), node_voltages(compiled)
        assert a.keys() == b.keys()
        assert max(abs(a[n] - b[n]) for n in a) < 1e-6  # volts, from 10-digit text
    with pytest.raises(OutputExistsError):
        exporter.export(request)
    assert exporter.export(ExportRequest(feeder, ensemble, tmp_path, [1], overwrite=True))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    with pytest.raises(ParameterError, match="options"):
        exporter.export(ExportRequest(feeder, ensemble, tmp_path, [0], options={"colour": 1}))


def test_exporter_registers_through_the_hook():
    registered = []
    bayesgrid_register_exporters(register=registered.append)
    assert [e.name for e in registered] == ["opendss"]
    assert registered[0].description


def test_defaults_match_the_pandapower_adapter():
    pp_defaults = pytest.importorskip("pandapower_ext.defaults")
    from opendss_ext import defaults

    # One set of conductors, from the core, serves both engines.
    assert defaults.DEFAULT_LV_LINE is pp_defaults.DEFAULT_LV_LINE
    assert defaults.DEFAULT_MV_LINE is pp_defaults.DEFAULT_MV_LINE
    source = pp_defaults.DEFAULT_SOURCE
    assert defaults.DEFAULT_SOURCE.s_sc_mva == source.s_sc_max_mva
    assert defaults.DEFAULT_SOURCE.rx == source.rx_max


@pytest.mark.skipif(not EULV.is_file(), reason="shared feeder data not available")
def test_european_lv_sampled_loads_union_circuit():
    from bayesgrid_plugins.models.power import BayesianPowerModel
    from opendss_ext import read_circuit

    feeder = read_circuit(EULV).feeder
    # Point estimates: the heavier draws of the posterior predictive overload this LV feeder,
    # and this test is about the shared circuit, not about the loads.
    ensemble = BayesianPowerModel(str(ONE_CLASS)).sample(feeder, 4, rng=7)
    result = solve_ensemble(feeder, ensemble)
    assert result.converged.all()
    assert np.nanmin(result.vm_pu) > 0.5 and np.nanmax(result.vm_pu) <= 1.0 + 1e-9
    # Each realisation solved in the shared union circuit matches its own exact circuit to
    # within the charging current of the extra, unloaded conductors.
    for k in (1, 3):
        alone = solve_ensemble(feeder, ensemble, realisations=[k])
        diff = np.nanmax(np.abs(alone.vm_pu[0] - result.vm_pu[k]))
        assert diff < 1e-4
        assert np.array_equal(np.isnan(alone.vm_pu[0]), np.isnan(result.vm_pu[k]))


def _cross_engine_difference(feeder, ensemble) -> float:
    """Largest |V| difference [p.u.] between pandapower and OpenDSS over every realisation.

    Both engines in all-three-phase mode behind a stiff source: the same grid.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandapower's own import-time deprecation notices
        import pandapower as pp

        from pandapower_ext.defaults import SourceParameters
        from pandapower_ext.populate import populate_net
        from pandapower_ext.solve import solve_ensemble as pp_solve_ensemble
    from opendss_ext.defaults import SourceType

    net = pp.create_empty_network(f_hz=50.0)
    populate_net(net, feeder, ensemble, 0, source=SourceParameters(s_sc_max_mva=1e8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        pp_result = pp_solve_ensemble(net, feeder, ensemble, numba=False)
    options = CircuitOptions(all_three_phase=True, source=SourceType(s_sc_mva=None))
    dss_result = solve_ensemble(feeder, ensemble, options=options)
    assert pp_result.converged.all() and dss_result.converged.all()
    assert np.array_equal(np.isnan(pp_result.vm_pu), np.isnan(dss_result.vm_pu))
    return float(np.nanmax(np.abs(pp_result.vm_pu - dss_result.vm_pu)))


@pytest.mark.skipif(not EULV.is_file(), reason="shared feeder data not available")
@pytest.mark.slow  # about 25 s: importing pandapower and 20 runpp_3ph
def test_cross_engine_agreement_european_lv():
    """All-three-phase mode and a stiff source in both engines: the same grid, the same answer."""
    pytest.importorskip("pandapower_ext.populate")
    from bayesgrid_plugins.models.power import BayesianPowerModel
    from opendss_ext import read_circuit

    feeder = read_circuit(EULV).feeder
    ensemble = BayesianPowerModel(str(ONE_CLASS)).sample(feeder, 20, rng=11)
    # Measured 1e-7 p.u.; the bound is 1e-3 p.u.
    assert _cross_engine_difference(feeder, ensemble) < 1e-6


@pytest.mark.slow  # about 30 s: 20 runpp_3ph on a 13.8 kV OSM feeder
def test_cross_engine_agreement_osm_feeder():
    """The same agreement on a medium-voltage feeder built from OpenStreetMap, with sampled
    impedances (the all-three-phase mode wires every lateral three-phase in both engines)."""
    pytest.importorskip("pandapower_ext.populate")
    from bayesgrid_plugins.models.impedance import BayesianImpedanceModel
    from bayesgrid_plugins.models.power import BayesianPowerModel
    from bayesgrid_plugins.topology import feeder_from_osm

    feeder = feeder_from_osm(dist_m=300).feeder
    ensemble = BayesianPowerModel("smartds-counting").sample(feeder, 20, rng=5)
    ensemble = BayesianImpedanceModel().sample(feeder, 20, rng=6, ensemble=ensemble)
    diff = _cross_engine_difference(feeder, ensemble)
    # Measured 1e-9 p.u. (the bound is 1e-3 p.u.).
    assert diff < 1e-6, diff
