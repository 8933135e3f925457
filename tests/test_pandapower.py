"""The pandapower adapter on real pandapower nets, solved with pandapower's 3-phase power flow."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest
from conftest import SHARED_DATA
from pandapower.diagnostic import Diagnostic
from pandapower.diagnostic.diagnostic_functions import (
    default_argument_values as DIAGNOSTIC_DEFAULTS,
)
from pandapower.diagnostic.diagnostic_functions import default_diagnostic_functions

from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import (
    AdapterError,
    FeederValidationError,
    OutputExistsError,
    ParameterError,
    PhaseConsistencyError,
)
from bayesgrid_plugins.exporters.base import Exporter, ExportRequest
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.models.power import BayesianPowerModel
from bayesgrid_plugins.phases import enforce_phase_consistency, fill_unserved_phases
from pandapower_ext import (
    DEFAULT_LV_LINE,
    DEFAULT_MV_LINE,
    PandapowerJsonExporter,
    build_net,
    check_3ph_ready,
    feeder_from_net,
    populate_loads,
    populate_net,
    set_realisation,
    solve_ensemble,
    training_table,
    unbalance_feeder,
)
from pandapower_ext.populate import MW_DECIMALS

#: The counted SMART-DS parameters without the three-phase class (loads of a few kW).
ONE_CLASS = Path(__file__).parent / "data" / "power_smartds_counting_one_class.json"

EU_LV_JSON = Path(f"{SHARED_DATA}/feeders/pandapower/IEEE_European_LV_On_Peak_566.json")
# pandapower's own IEEE European LV net predates the pandapower 3 trafo column it warns about.
OLD_TRAFO_TABLE = pytest.mark.filterwarnings(
    "ignore:tap_dependency_table is missing:DeprecationWarning"
)
LOAD_COLUMNS = ["p_a_mw", "p_b_mw", "p_c_mw"]
Q_COLUMNS = ["q_a_mvar", "q_b_mvar", "q_c_mvar"]


# ------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def eu_lv_base():
    return pn.ieee_european_lv_asymmetric("on_peak_566")


@pytest.fixture
def eu_lv(eu_lv_base):
    return copy.deepcopy(eu_lv_base)


@pytest.fixture(scope="module")
def eu_lv_feeder(eu_lv_base):
    return feeder_from_net(eu_lv_base)


def hand_ensemble(feeder: Feeder, n: int, seed: int, *, p_range=(0.2, 2.0), pf=0.95) -> Ensemble:
    """Single-phase loads on random phases with uniform P [kW]: the European LV net's scale."""
    rng = np.random.default_rng(seed)
    b = feeder.n_buses
    loads = feeder.is_load
    phase = rng.integers(0, 3, size=(n, b))
    load_phases = np.where(loads, (1 << phase), 0).astype(np.uint8)
    bus_phases = fill_unserved_phases(feeder, enforce_phase_consistency(feeder, load_phases))
    p_total = np.where(loads, rng.uniform(*p_range, size=(n, b)), 0.0)
    p = np.zeros((n, b, 3))
    np.put_along_axis(p, phase[..., None], p_total[..., None], axis=2)
    q = p * np.tan(np.arccos(pf))
    return Ensemble(
        bus_id=feeder.bus_id,
        source=feeder.source,
        load_phases=load_phases,
        bus_phases=bus_phases,
        p_kw=p,
        q_kvar=q,
        power_factor=np.full(n, pf),
        draw=np.full(n, -1),
    )


def small_mv_feeder() -> Feeder:
    """A 13.8 kV feeder with projected coordinates [m], two branches and a lateral."""
    coords = {
        "s": (0.0, 0.0),
        "a": (300.0, 0.0),
        "b": (500.0, 0.0),
        "c": (300.0, 250.0),
        "d": (-400.0, 0.0),
        "e": (-500.0, 0.0),
        "f": (-500.0, 120.0),
    }
    edges = [
        ("s", "a", 0.3),
        ("a", "b", 0.2),
        ("a", "c", 0.25),
        ("s", "d", 0.4),
        ("d", "e", 0.1),
        ("e", "f", 0.12),
    ]
    return Feeder.from_edges(edges, "s", coords=coords, crs="EPSG:32632", vn_kv=13.8)


def osm_like_feeder() -> Feeder:
    """The topology engineer's OSM feeder (shipped Monaco extract), 13.8 kV."""
    topology = pytest.importorskip("bayesgrid_plugins.topology")
    return topology.feeder_from_osm(dist_m=300).feeder


def run_diagnostic(net) -> dict:
    """pandapower's own network checks; every check must run (none may fail internally).

    All default checks but ``numba_comparison`` (it compares two of pandapower's solvers, not the
    net, and costs a numba compilation). ``nominal_voltages_dont_match`` is registered with the
    argument name its implementation reads (pandapower 3.5 passes another name).
    """
    diagnostic = Diagnostic(add_default_functions=False)
    tolerance = DIAGNOSTIC_DEFAULTS["nominal_voltage_tolerance"]
    diagnostic.kwargs = {**DIAGNOSTIC_DEFAULTS, "nom_voltage_tolerance": tolerance, "numba": False}
    for name, function, arguments in default_diagnostic_functions:
        if name == "numba_comparison":
            continue
        if name == "nominal_voltages_dont_match":
            arguments = ["nom_voltage_tolerance"]
        diagnostic.register_function(function, arguments, name)
    report = diagnostic.diagnose_network(net, report_style=None)
    assert not diagnostic.diag_errors
    return report


def source_positive_sequence_pu(net) -> float:
    """|V1| [p.u.] at the external grid's bus in the net's last three-phase results."""
    row = net.res_bus_3ph.loc[int(net.ext_grid.bus.iloc[0])]
    v = np.array(
        [row[f"vm_{p}_pu"] * np.exp(1j * np.deg2rad(row[f"va_{p}_degree"])) for p in "abc"]
    )
    a = np.exp(2j * np.pi / 3)
    return float(abs(v[0] + a * v[1] + a * a * v[2]) / 3)


def loads_in_net(net, feeder: Feeder) -> tuple[np.ndarray, np.ndarray]:
    """Per feeder bus and phase, P [MW] and Q [Mvar] of the net's asymmetric loads."""
    position = {b: i for i, b in enumerate(feeder.bus_id)}
    p = np.zeros((feeder.n_buses, 3))
    q = np.zeros((feeder.n_buses, 3))
    rows = net.asymmetric_load
    idx = [position[str(b)] for b in rows["bayesgrid_id"]]
    p[idx] = rows[LOAD_COLUMNS].to_numpy(float)
    q[idx] = rows[Q_COLUMNS].to_numpy(float)
    return p, q


# ------------------------------------------------------------------------------- reading
def test_feeder_from_eu_lv_net(eu_lv_base, eu_lv_feeder):
    f = eu_lv_feeder
    assert f.n_buses == len(eu_lv_base.bus) == 907
    assert f.bus_id[f.source] == str(int(eu_lv_base.ext_grid.bus.iloc[0]))
    assert f.is_load.sum() == 55
    loaded = {str(b) for b in eu_lv_base.asymmetric_load.bus}
    assert set(f.bus_id[f.is_load]) == loaded
    # line lengths come from the net; the transformer is a 1 mm link
    line = eu_lv_base.line.iloc[10]
    child = f.index_of(str(int(line.to_bus)))[0]
    assert f.length_km[child] == pytest.approx(line.length_km)
    assert f.vn_kv[f.source] == 11.0 and np.all(f.vn_kv[f.lines] <= 11.0)
    assert np.isfinite(f.x).all() and np.isfinite(f.y).all()
    assert f.demand_kw.sum() == pytest.approx(
        eu_lv_base.asymmetric_load[LOAD_COLUMNS].to_numpy().sum() * 1000
    )


def test_training_table_eu_lv_phases(eu_lv_base, eu_lv_feeder):
    table = training_table(eu_lv_base, system="ieee_eu_lv", feeder=eu_lv_feeder)
    loads = table.loads
    assert len(loads) == 55
    counts = loads["phases"].value_counts().to_dict()
    assert counts == {1: 21, 2: 19, 4: 15}
    # P per phase equals the net's (MW -> kW); single-phase loads have P on one phase only
    net_p = eu_lv_base.asymmetric_load[LOAD_COLUMNS].to_numpy() * 1000
    np.testing.assert_allclose(loads[["p_a_kw", "p_b_kw", "p_c_kw"]].to_numpy(), net_p)
    assert ((loads[["p_a_kw", "p_b_kw", "p_c_kw"]].to_numpy() != 0).sum(axis=1) <= 1).all()
    assert loads["d"].between(0, 1).all() and loads["zone"].between(0, 9).all()
    lines = table.lines
    assert len(lines) == 905
    np.testing.assert_allclose(lines["r1_ohm_per_km"], eu_lv_base.line["r_ohm_per_km"])
    np.testing.assert_allclose(
        lines["r0_ohm_per_km"], eu_lv_base.line["r0_ohm_per_km"].astype(float)
    )
    # service cables feed one load each: their phases are that load's phase
    single = lines["phases"].isin([1, 2, 4])
    assert single.sum() >= 55
    assert (lines.loc[lines["bus_id"].isin(loads["bus_id"]), "phases"].isin([1, 2, 4])).all()


def test_training_table_balanced_load_is_abc():
    net = pp.create_empty_network()
    b = pp.create_buses(net, 3, 0.4)
    pp.create_ext_grid(net, b[0])
    pp.create_lines(net, [b[0], b[1]], [b[1], b[2]], 0.1, "NAYY 4x150 SE")
    pp.create_load(net, b[2], p_mw=0.03, q_mvar=0.006)
    table = training_table(net)
    row = table.loads.iloc[0]
    assert row["phases"] == 7
    assert row[["p_a_kw", "p_b_kw", "p_c_kw"]].tolist() == pytest.approx([10.0, 10.0, 10.0])
    assert row[["q_a_kvar", "q_b_kvar", "q_c_kvar"]].tolist() == pytest.approx([2.0, 2.0, 2.0])
    assert np.isnan(table.lines["r0_ohm_per_km"]).all()  # this net has no zero-sequence data


# ------------------------------------------------------------------------------- errors
def test_several_ext_grids_hang_below_the_first(eu_lv, caplog):
    pp.create_ext_grid(eu_lv, bus=5)
    feeder = feeder_from_net(eu_lv)
    first = str(int(eu_lv.ext_grid["bus"].iloc[0]))
    assert feeder.bus_id[feeder.source] == first
    assert feeder.n_buses == len(eu_lv.bus)
    assert "2 in-service external grids" in caplog.text


def test_a_meshed_net_is_opened_by_the_one_rule_of_every_reader(eu_lv, caplog):
    pp.create_line_from_parameters(eu_lv, 100, 500, 0.01, 0.2, 0.08, 0, 0.3)
    feeder = feeder_from_net(eu_lv)
    assert feeder.n_buses == len(eu_lv.bus)
    assert "1 elements close loops" in caplog.text
    # the unbalancing reader builds the same feeder from the same net, opening the same line
    same, info = unbalance_feeder(eu_lv)
    assert np.array_equal(same.bus_id, feeder.bus_id)
    assert np.array_equal(same.parent, feeder.parent)
    assert len(info.loop_elements) == 1 and info.loop_elements[0] in caplog.text


def test_islanded_bus_left_out_with_a_warning(eu_lv, caplog):
    island = pp.create_bus(eu_lv, 0.416, name="island")
    feeder = feeder_from_net(eu_lv)
    assert str(island) not in set(feeder.bus_id.tolist())
    assert "islanded" in caplog.text


def test_populate_net_needs_empty_net(eu_lv, eu_lv_feeder):
    ens = hand_ensemble(eu_lv_feeder, 1, seed=0)
    with pytest.raises(AdapterError, match="populate_loads"):
        populate_net(eu_lv, eu_lv_feeder, ens)


def test_ensemble_of_other_feeder_rejected(eu_lv_feeder):
    feeder = small_mv_feeder()
    ens = hand_ensemble(feeder, 1, seed=0)
    with pytest.raises(FeederValidationError, match="sample the ensemble on this feeder"):
        build_net(eu_lv_feeder, ens)


def test_inconsistent_phases_rejected():
    feeder = small_mv_feeder()
    ens = hand_ensemble(feeder, 2, seed=1)
    bus_phases = ens.bus_phases.copy()
    bus_phases[1, feeder.index_of("a")[0]] = 1  # a keeps A only, its children need more
    bad = ens.with_fields(bus_phases=bus_phases)
    with pytest.raises(PhaseConsistencyError, match="realisation 1"):
        build_net(feeder, bad)


def test_missing_zero_sequence_data_named(eu_lv):
    eu_lv.line = eu_lv.line.drop(columns=["x0_ohm_per_km"])
    with pytest.raises(AdapterError, match=r"net\.line has no column 'x0_ohm_per_km'"):
        check_3ph_ready(eu_lv)
    eu_lv.line["x0_ohm_per_km"] = 0.08
    eu_lv.line.loc[[3, 7], "x0_ohm_per_km"] = np.nan
    with pytest.raises(AdapterError, match=r"x0_ohm_per_km is missing for 2 rows, e.g. \[3, 7\]"):
        check_3ph_ready(eu_lv)


def test_invalid_sampled_line_data_rejected():
    feeder = small_mv_feeder()
    ens = hand_ensemble(feeder, 2, seed=2)
    r1 = np.full((2, feeder.n_buses), 0.3)
    r1[1, feeder.index_of("e")[0]] = np.nan
    with pytest.raises(ParameterError, match="'e'"):
        build_net(feeder, ens.with_fields(r1_ohm_per_km=r1))


# ------------------------------------------------------------------------------- populate
def test_populated_mv_net_structure_and_laterals():
    feeder = small_mv_feeder()
    ens = hand_ensemble(feeder, 4, seed=3)
    net = build_net(feeder, ens, 0)
    assert len(net.bus) == 7 and len(net.line) == 6 and len(net.trafo) == 0
    assert net.bus["name"].tolist() == feeder.bus_id.tolist()
    # geodata in lon/lat on WGS 84: 300 m east of UTM zone 32's origin at the equator
    lon, lat = json.loads(net.bus.geo.iloc[1])["coordinates"]
    assert lon == pytest.approx(4.5139438, abs=1e-6) and lat == pytest.approx(0.0, abs=1e-9)
    assert net["bayesgrid"]["crs"] == "EPSG:4326"
    eg = net.ext_grid.iloc[0]
    assert eg.bus == feeder.source and eg.s_sc_max_mva > 0 and eg.x0x_max > 0
    check_3ph_ready(net)
    for k in range(4):
        set_realisation(net, ens, k)
        masks = ens.bus_phases[
            k, net.line["bayesgrid_id"].map({b: i for i, b in enumerate(feeder.bus_id)}).to_numpy()
        ]
        assert (masks != 7).any()  # partial-phase laterals are there
        line = net.line
        # every line keeps the type's real zero sequence, partial-phase laterals included
        np.testing.assert_array_equal(line["r0_ohm_per_km"], DEFAULT_MV_LINE.r0_ohm_per_km)
        np.testing.assert_array_equal(line["x0_ohm_per_km"], DEFAULT_MV_LINE.x0_ohm_per_km)
        # capacitance only where the line is three-phase (bayesgrid_plugins.charging)
        charged = masks == 7
        np.testing.assert_array_equal(
            line["c0_nf_per_km"], np.where(charged, DEFAULT_MV_LINE.c0_nf_per_km, 0.0)
        )
        np.testing.assert_array_equal(
            line["c_nf_per_km"], np.where(charged, DEFAULT_MV_LINE.c1_nf_per_km, 0.0)
        )
        p, q = loads_in_net(net, feeder)
        np.testing.assert_array_equal(p, np.round(ens.p_kw[k] / 1000, MW_DECIMALS))
        np.testing.assert_array_equal(q, np.round(ens.q_kvar[k] / 1000, MW_DECIMALS))
        np.testing.assert_allclose(p * 1000, ens.p_kw[k], rtol=0, atol=5e-7)


def test_sampled_impedance_used():
    feeder = small_mv_feeder()
    ens = hand_ensemble(feeder, 2, seed=4)
    rng = np.random.default_rng(4)
    shape = (2, feeder.n_buses)
    fields = {
        "r1_ohm_per_km": rng.uniform(0.1, 0.5, shape),
        "x1_ohm_per_km": rng.uniform(0.05, 0.4, shape),
        "r0_ohm_per_km": rng.uniform(0.5, 1.5, shape),
        "x0_ohm_per_km": rng.uniform(0.5, 1.5, shape),
        "max_i_ka": rng.uniform(0.2, 0.4, shape),
    }
    ens = ens.with_fields(**fields)
    net = build_net(feeder, ens, 1)
    pos = net.line["bayesgrid_id"].map({b: i for i, b in enumerate(feeder.bus_id)}).to_numpy()
    np.testing.assert_array_equal(net.line.r_ohm_per_km, fields["r1_ohm_per_km"][1, pos])
    np.testing.assert_array_equal(net.line.max_i_ka, fields["max_i_ka"][1, pos])
    assert (ens.bus_phases[1, pos] != 7).any()
    # the real sampled Z0 on every line, partial-phase laterals included
    np.testing.assert_array_equal(net.line.r0_ohm_per_km, fields["r0_ohm_per_km"][1, pos])
    np.testing.assert_array_equal(net.line.x0_ohm_per_km, fields["x0_ohm_per_km"][1, pos])
    pp.runpp_3ph(net, numba=False)
    assert net.converged


def test_voltage_change_becomes_transformer():
    edges = [("hv", "lv0", 0.01), ("lv0", "l1", 0.05), ("l1", "l2", 0.04), ("lv0", "l3", 0.06)]
    f = Feeder.from_edges(edges, "hv")
    vn = np.where(f.bus_id == "hv", 20.0, 0.4)
    f = Feeder(bus_id=f.bus_id, parent=f.parent, length_km=f.length_km, vn_kv=vn)
    ens = hand_ensemble(f, 3, seed=5, p_range=(5.0, 20.0))
    net = build_net(f, ens, 0)
    assert len(net.trafo) == 1 and len(net.line) == 3
    trafo = net.trafo.iloc[0]
    assert trafo.vn_hv_kv == 20.0 and trafo.vn_lv_kv == 0.4 and trafo.vector_group == "Dyn"
    peak = np.hypot(ens.p_kw.sum(axis=(1, 2)), ens.q_kvar.sum(axis=(1, 2))).max() / 1000
    assert peak * 1.25 <= trafo.sn_mva  # rated for the load below with margin
    # the standard type, except on laterals without their capacitance (no longer that type)
    typed = net.line.c_nf_per_km > 0
    assert (net.line.std_type[typed] == DEFAULT_LV_LINE.name).all()
    assert net.line.std_type[~typed].isna().all()
    assert run_diagnostic(net) == {}
    result = solve_ensemble(net, f, ens, numba=False)
    assert result.all_converged
    fed = f.index_of("lv0")[0]
    assert np.isfinite(result.line_loading_percent[:, fed]).all()  # the transformer's loading
    assert np.isnan(result.line_loading_percent[:, f.source]).all()


# ------------------------------------------------------------------------------- OSM feeder
@pytest.fixture(scope="module")
def osm_case():
    feeder = osm_like_feeder()
    ens = BayesianPowerModel().sample(feeder, 3, rng=11)
    return feeder, ens


def test_osm_feeder_passes_diagnostic_and_solves(osm_case):
    feeder, ens = osm_case
    net = build_net(feeder, ens, 0)
    report = run_diagnostic(net)
    # The only finding allowed: spans so short that R or X falls under pandapower's
    # plausibility floor (real street spans of a few metres).
    assert set(report) <= {"implausible_impedance_values"}
    flagged = set(report.get("implausible_impedance_values", [{}])[0].get("line", []))
    floor_r, floor_x = DIAGNOSTIC_DEFAULTS["min_r_ohm"], DIAGNOSTIC_DEFAULTS["min_x_ohm"]
    line = net.line
    short = (line.r_ohm_per_km * line.length_km <= floor_r) | (
        line.x_ohm_per_km * line.length_km <= floor_x
    )
    assert flagged == set(line.index[short])
    assert (line.length_km[short] < 0.01).all()
    result = solve_ensemble(net, feeder, ens, numba=False)
    assert result.all_converged
    assert result.vm_pu.shape == (3, feeder.n_buses, 3)
    present = (ens.bus_phases[..., None] & np.array([1, 2, 4])) != 0
    assert np.array_equal(np.isfinite(result.vm_pu), present)
    assert source_positive_sequence_pu(net) == pytest.approx(1.0, abs=1e-9)


def test_osm_loads_exact_after_json_round_trip(osm_case, tmp_path):
    feeder, ens = osm_case
    net = build_net(feeder, ens, 2)
    p, q = loads_in_net(net, feeder)
    expected_p = np.round(ens.p_kw[2] / 1000, MW_DECIMALS)
    np.testing.assert_array_equal(p, expected_p)
    np.testing.assert_allclose(p * 1000, ens.p_kw[2], rtol=0, atol=5e-7)
    back = pp.from_json_string(pp.to_json(net))
    p2, q2 = loads_in_net(back, feeder)
    np.testing.assert_array_equal(p2, p)
    np.testing.assert_array_equal(q2, q)
    assert back["bayesgrid"]["realisation"] == 2
    # the JSON net is a runpp_3ph-ready net on its own, and it reads back as the same feeder
    pp.runpp_3ph(back, numba=False)
    assert back.converged
    np.testing.assert_array_equal(back.asymmetric_load.in_service, ens.has_load[2, feeder.is_load])


# ------------------------------------------------------------------------------- solving
@OLD_TRAFO_TABLE
def test_eu_lv_sampled_loads_solve(eu_lv, eu_lv_feeder):
    ens = hand_ensemble(eu_lv_feeder, 6, seed=7)
    populate_loads(eu_lv, eu_lv_feeder, ens, 0)
    assert len(eu_lv.asymmetric_load) == 55 and len(eu_lv.load) == 0
    assert len(eu_lv.line) == 905 and len(eu_lv.trafo) == 1  # the net's own lines are kept
    result = solve_ensemble(eu_lv, eu_lv_feeder, ens, numba=False)
    assert result.all_converged
    # statutory band (EN 50160: 0.9-1.1 p.u.) at the European LV net's own load scale
    lo, hi = result.voltage_range()
    assert (lo > 0.9).all() and (hi < 1.1).all()
    # the external grid holds the positive-sequence voltage at its set point
    set_point = float(eu_lv.ext_grid.vm_pu.iloc[0])  # 1.05 stored as float32
    assert source_positive_sequence_pu(eu_lv) == pytest.approx(set_point, abs=1e-12)
    assert (result.vuf_percent > 0).all()
    assert result.line_loading_percent.shape == (6, 907)
    # in-place switching gives the same result as a net freshly populated with realisation k
    k = 3
    fresh = copy.deepcopy(eu_lv)
    populate_loads(fresh, eu_lv_feeder, ens, k)
    pp.runpp_3ph(fresh, numba=False, init="flat")
    labels = [int(b) for b in eu_lv_feeder.bus_id]
    direct = fresh.res_bus_3ph.loc[labels, ["vm_a_pu", "vm_b_pu", "vm_c_pu"]].to_numpy()
    present = np.isfinite(result.vm_pu[k])
    # reusing the admittance matrices changes round-off only, far below the solver's tolerance
    np.testing.assert_allclose(result.vm_pu[k][present], direct[present], rtol=0, atol=1e-8)


@OLD_TRAFO_TABLE
def test_eu_lv_power_model_realisations_converge(eu_lv, eu_lv_feeder):
    # Point estimates: the adapter is under test, not the posterior's heavier feeders, which
    # overload this small LV network.
    ens = BayesianPowerModel(str(ONE_CLASS)).sample(eu_lv_feeder, 6, rng=2024)
    populate_loads(eu_lv, eu_lv_feeder, ens, 0)
    result = solve_ensemble(eu_lv, eu_lv_feeder, ens, numba=False)
    assert result.all_converged
    set_point = float(eu_lv.ext_grid.vm_pu.iloc[0])  # 1.05 stored as float32
    assert source_positive_sequence_pu(eu_lv) == pytest.approx(set_point, abs=1e-12)
    # voltages are reported exactly where the realisation has the phase
    present = (ens.bus_phases[..., None] & np.array([1, 2, 4])) != 0
    assert np.array_equal(np.isfinite(result.vm_pu), present)


def test_reuse_only_when_nothing_but_loads_change():
    feeder = small_mv_feeder()
    ens = hand_ensemble(feeder, 5, seed=12)
    # realisation 0: every load on A; 1: a's subtree carries A, B and C (line s-a becomes ABC);
    # 2: the phases of 1 with other powers, so only the load powers change from 1 to 2
    own = np.zeros((5, feeder.n_buses), dtype=np.uint8)
    own[:, feeder.is_load] = 1
    for bus, mask in {"a": 4, "b": 1, "c": 2}.items():
        own[1:3, feeder.index_of(bus)[0]] = mask
    own[3:] = ens.load_phases[3:]
    bus_phases = fill_unserved_phases(feeder, enforce_phase_consistency(feeder, own))
    p = ens.p_kw.sum(axis=2, keepdims=True) * ((own[..., None] & np.array([1, 2, 4])) != 0)
    p[2] *= 1.5
    ens = ens.with_fields(load_phases=own, bus_phases=bus_phases, p_kw=p, q_kvar=p * 0.3)
    net = build_net(feeder, ens, 0)
    # From 0 to 1 line s-a becomes three-phase and gets its capacitance back
    # (bayesgrid_plugins.charging): pandapower's matrices are out of date. From 1 to 2 only the
    # loads change, so they stay valid. Sampled line data do change them.
    assert set_realisation(net, ens, 1) is True
    assert set_realisation(net, ens, 2) is False  # only powers
    r1 = np.full((5, feeder.n_buses), DEFAULT_MV_LINE.r1_ohm_per_km)
    r1[3] *= 1.1
    sampled = ens.with_fields(r1_ohm_per_km=r1)
    assert set_realisation(net, sampled, 3) is True
    assert set_realisation(net, sampled, 4) is True
    with_reuse = solve_ensemble(net, feeder, ens, numba=False, reuse=True)
    without = solve_ensemble(net, feeder, ens, numba=False, reuse=False)
    assert with_reuse.all_converged and without.all_converged
    np.testing.assert_allclose(with_reuse.vm_pu, without.vm_pu, rtol=0, atol=1e-8)
    assert np.array_equal(np.isnan(with_reuse.vm_pu), np.isnan(without.vm_pu))


@pytest.mark.slow
@OLD_TRAFO_TABLE
def test_eu_lv_100_realisations(eu_lv, eu_lv_feeder):
    ens = BayesianPowerModel(str(ONE_CLASS)).sample(eu_lv_feeder, 100, rng=100)
    populate_loads(eu_lv, eu_lv_feeder, ens, 0)
    result = solve_ensemble(eu_lv, eu_lv_feeder, ens)
    assert result.all_converged and result.n_realisations == 100
    assert np.isfinite(result.vm_min_pu).all() and np.isfinite(result.vuf_percent).all()


def test_non_convergence_recorded_or_raised():
    feeder = small_mv_feeder()
    f_lv = Feeder(
        bus_id=feeder.bus_id,
        parent=feeder.parent,
        length_km=feeder.length_km * 10,
        x=feeder.x,
        y=feeder.y,
        vn_kv=0.4,
    )
    ens = hand_ensemble(f_lv, 2, seed=8, p_range=(1.0, 2.0))
    p = ens.p_kw.copy()
    p[1] *= 1e4  # 10-20 MW per load on a 0.4 kV cable: no solution
    ens = ens.with_fields(p_kw=p, q_kvar=p * 0.3)
    net = build_net(f_lv, ens, 0)
    result = solve_ensemble(net, f_lv, ens, numba=False, max_iteration=10)
    assert result.converged.tolist() == [True, False]
    assert np.isnan(result.vm_pu[1]).all() and np.isnan(result.vm_min_pu[1]).all()
    with pytest.raises(AdapterError, match="realisation 1"):
        solve_ensemble(net, f_lv, ens, numba=False, max_iteration=10, raise_on_failure=True)


# ------------------------------------------------------------------------------- exporter
def test_exporter_writes_json_nets(tmp_path):
    feeder = small_mv_feeder()
    ens = hand_ensemble(feeder, 3, seed=9)
    exporter = PandapowerJsonExporter()
    assert isinstance(exporter, Exporter) and exporter.name == "pandapower"
    request = ExportRequest(
        feeder=feeder, ensemble=ens, output_dir=tmp_path, realisations=[0, 2], overwrite=False
    )
    paths = exporter.export(request)
    assert [p.name for p in paths] == [
        "realisation_0000.json",
        "realisation_0002.json",
        "index.json",
    ]
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["files"] == {"0": "realisation_0000.json", "2": "realisation_0002.json"}
    net2 = pp.from_json(str(tmp_path / "realisation_0002.json"))
    p, _ = loads_in_net(net2, feeder)
    np.testing.assert_array_equal(p, np.round(ens.p_kw[2] / 1000, MW_DECIMALS))
    before = {p: p.read_bytes() for p in paths}
    with pytest.raises(OutputExistsError):
        exporter.export(request)
    assert {p: p.read_bytes() for p in paths} == before
    assert sorted(x.name for x in tmp_path.iterdir()) == sorted(p.name for p in paths)
    exporter.export(
        ExportRequest(
            feeder=feeder, ensemble=ens, output_dir=tmp_path, realisations=[0], overwrite=True
        )
    )


def test_exporter_rejects_unknown_option(tmp_path):
    feeder = small_mv_feeder()
    ens = hand_ensemble(feeder, 1, seed=9)
    request = ExportRequest(
        feeder=feeder,
        ensemble=ens,
        output_dir=tmp_path,
        realisations=[0],
        options={"colour": "red"},
    )
    with pytest.raises(ParameterError, match="colour"):
        PandapowerJsonExporter().export(request)


def test_exporter_registered_through_hook():
    from pandapower_ext import exporter as module

    found = []
    module.bayesgrid_register_exporters(register=found.append)
    assert [e.name for e in found] == ["pandapower"]
    plugins = pytest.importorskip("bayesgrid_plugins.plugins")
    manager = plugins.PluginManager()
    assert "pandapower" in manager.available_exporters()
