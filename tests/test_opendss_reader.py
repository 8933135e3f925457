"""The OpenDSS reader on the real feeders in the shared data folder."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

from bayesgrid_plugins.errors import ParameterError
from bayesgrid_plugins.learn.table import LINE_COLUMNS, LOAD_COLUMNS, TrainingTable
from bayesgrid_plugins.phases import PHASE_NAMES
from opendss_ext.reader import line_sequence_impedances, read_circuit, training_table

DATA = Path(f"{SHARED_DATA}/feeders")
TST = DATA / "electricdss-tst/Version8/Distrib"
IEEE13 = TST / "IEEETestCases/13Bus/IEEE13Nodeckt.dss"
IEEE34 = TST / "IEEETestCases/34Bus/ieee34Mod1.dss"
IEEE37 = TST / "IEEETestCases/37Bus/ieee37.dss"
IEEE123 = TST / "IEEETestCases/123Bus/IEEE123Master.dss"
EULV = TST / "IEEETestCases/LVTestCase/Master.dss"
IEEE8500 = TST / "IEEETestCases/8500-Node/Master.dss"
CKT5 = TST / "EPRITestCircuits/ckt5/Master_ckt5.dss"
CKT7 = TST / "EPRITestCircuits/ckt7/Master_ckt7.dss"
AUSTIN = (
    DATA / "smart-ds-disco/tests/data/smart-ds/substations/p1uhs23_1247/"
    "p1uhs23_1247--p1udt21301/Master.dss"
)
GREENSBORO = DATA / "smart-ds-gso-greenevt/data/open_dss/uhs0_1247/Master.dss"

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared feeder data not available")


def mix(masks: np.ndarray) -> dict[str, int]:
    return dict(Counter(PHASE_NAMES[int(m)] for m in masks))


@pytest.fixture(scope="module")
def austin():
    return read_circuit(AUSTIN)


def test_austin_counts_and_primary_phases(austin):
    # PROVENANCE: 188 loads 2.52 MW, primary phase A61/B68/C58 + 1 three-phase; split-phase
    # 120/240 V loads count on the phase of their service transformer's primary.
    assert austin.load_id.size == 188
    assert mix(austin.load_phases) == {"A": 61, "B": 68, "C": 58, "ABC": 1}
    assert austin.p_kw.sum() == pytest.approx(2515.4, abs=0.1)
    assert austin.feeder.n_buses == 476
    assert austin.isolated_load_id.size == 0


def test_austin_table_columns_positions_and_split(austin):
    table = austin.training_table(system="austin")
    assert isinstance(table, TrainingTable)
    assert list(table.loads.columns) == list(LOAD_COLUMNS)
    assert list(table.lines.columns) == list(LINE_COLUMNS)
    loads = table.loads
    assert (loads["system"] == "austin").all()
    assert loads["d"].between(0, 1).all() and (loads["distance_km"] > 0).all()
    assert loads["zone"].between(0, 9).all()
    # Power goes only to the load's phases, equally split, and totals are preserved.
    p = loads[["p_a_kw", "p_b_kw", "p_c_kw"]].to_numpy()
    bits = (loads["phases"].to_numpy()[:, None] >> np.arange(3)) & 1
    assert np.all(p[bits == 0] == 0)
    three = loads["phases"].to_numpy() == 7
    assert np.allclose(p[three], p[three][:, :1])
    # SMART-DS lines are in km; ampacities are given; switches are excluded.
    lines = table.lines
    assert len(lines) == 338
    longest = austin.feeder.distance_km.max()
    assert (lines["length_km"] > 0).all() and lines["length_km"].max() < longest
    assert lines["max_i_ka"].notna().all() and (lines["max_i_ka"] > 0).all()
    assert (lines["r1_ohm_per_km"] > 0).all() and (lines["x1_ohm_per_km"] > 0).all()
    assert not lines["line_id"].str.contains("switch").any()


def test_european_lv_counts_and_line_code():
    circuit = read_circuit(EULV)
    assert mix(circuit.load_phases) == {"A": 21, "B": 19, "C": 15}
    assert circuit.feeder.n_buses == 906  # the source bus above the transformer is dropped
    assert circuit.line_id.size == 905
    # LINE1 uses line code 4c_70: R1=0.446 X1=0.071 R0=1.505 X0=0.083 ohm/km, 1.098 m long.
    k = int(np.flatnonzero(circuit.line_id == "line1")[0])
    assert circuit.r1_ohm_per_km[k] == pytest.approx(0.446, rel=1e-9)
    assert circuit.x1_ohm_per_km[k] == pytest.approx(0.071, rel=1e-9)
    assert circuit.r0_ohm_per_km[k] == pytest.approx(1.505, rel=1e-9)
    assert circuit.x0_ohm_per_km[k] == pytest.approx(0.083, rel=1e-9)
    assert circuit.line_length_km[k] == pytest.approx(1.098e-3, rel=1e-12)


def test_ieee13_units_phases_and_regulator_head():
    circuit = read_circuit(IEEE13)
    assert mix(circuit.load_phases) == {"ABC": 1, "A": 4, "B": 4, "C": 4, "BC": 1, "CA": 1}
    assert circuit.p_kw.sum() == pytest.approx(3466.0)
    # Rooted below the substation transformer and the regulator bank.
    assert circuit.feeder.bus_id[circuit.feeder.source] == "rg60"
    k = int(np.flatnonzero(circuit.line_id == "650632")[0])
    assert circuit.line_length_km[k] == pytest.approx(0.6096)
    # mtx601 per mile: Z1 = mean self - mean mutual.
    r = np.array([[0.3465, 0.1560, 0.1580], [0.1560, 0.3375, 0.1535], [0.1580, 0.1535, 0.3414]])
    r1 = (np.trace(r) / 3 - (r.sum() - np.trace(r)) / 6) / 1.609344
    assert circuit.r1_ohm_per_km[k] == pytest.approx(r1, rel=1e-9)
    k = int(np.flatnonzero(circuit.line_id == "632645")[0])
    assert PHASE_NAMES[circuit.line_phases[k]] == "BC"


def test_ieee123_counts():
    circuit = read_circuit(IEEE123)
    # PROVENANCE: 91 loads 3490 kW; 1ph A35/B21/C26, line-to-line 7, three-phase 2. The
    # single-phase regulators on 9 (A) and 25 (A, C) must not relabel the loads below them.
    assert mix(circuit.load_phases) == {
        **{"A": 35, "B": 21, "C": 26},
        **{"AB": 3, "BC": 2, "CA": 2, "ABC": 2},
    }
    assert circuit.p_kw.sum() == pytest.approx(3490.0)


def test_ieee34_counts():
    # 68 loads, wye 33 (3 three-phase + 30 single-phase) and delta 35 (2 three-phase + 33
    # line-to-line) as the file defines them.
    circuit = read_circuit(IEEE34)
    assert mix(circuit.load_phases) == {
        **{"A": 10, "B": 14, "C": 6},
        **{"AB": 11, "BC": 13, "CA": 9, "ABC": 5},
    }
    assert circuit.p_kw.sum() == pytest.approx(1769.0)


def test_ieee37_delta_loads_and_length_unit():
    circuit = read_circuit(IEEE37, length_unit="kft")
    assert mix(circuit.load_phases) == {"AB": 9, "BC": 8, "CA": 12, "ABC": 1}
    k = int(np.flatnonzero(circuit.line_id == "l1")[0])
    assert circuit.line_length_km[k] == pytest.approx(0.96 * 0.3048)
    in_km = read_circuit(IEEE37)
    assert in_km.line_length_km[k] == pytest.approx(0.96)
    assert in_km.r1_ohm_per_km[k] == pytest.approx(circuit.r1_ohm_per_km[k] * 0.3048)


def test_ieee37_regulator_bridged_by_a_jumper_is_a_link():
    # The regulator bank 799-799r is bridged by a one-phase jumper line whose length is the
    # default (1 kft): parallel elements are one edge, the shortest, so 799r sits at the head.
    feeder = read_circuit(IEEE37, length_unit="kft").feeder
    k = int(np.flatnonzero(feeder.bus_id == "799r")[0])
    assert feeder.bus_id[feeder.parent[k]] == "799"
    assert feeder.length_km[k] == pytest.approx(1e-6)


def test_training_table_entry_point_and_zones():
    table = training_table(EULV, system="eulv", n_zones=4)
    assert table.n_zones == 4
    assert len(table.loads) == 55 and table.loads["zone"].max() <= 3
    assert table.loads["p_a_kw"].sum() == pytest.approx(21.0)


def test_compile_keeps_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    read_circuit(IEEE13)
    assert os.getcwd() == str(tmp_path)


def test_loads_file_must_exist():
    with pytest.raises(ParameterError, match="loads_file"):
        read_circuit(GREENSBORO, loads_file="Loads_missing.dss")
    with pytest.raises(ParameterError, match=r"no Loads\.dss"):
        read_circuit(IEEE13, loads_file="Loads_original.dss")


def test_length_unit_is_checked():
    with pytest.raises(ParameterError, match="length_unit"):
        read_circuit(IEEE37, length_unit="furlong")


def test_sequence_impedances_of_one_phase_line():
    assert line_sequence_impedances(np.array([[0.5]]), np.array([[0.2]])) == (0.5, 0.2, 0.5, 0.2)


def test_ieee8500_service_transformer_phases():
    # PROVENANCE: 1177 split-phase loads; primary phase of the service transformer A426/B390/C361.
    circuit = read_circuit(IEEE8500)
    assert mix(circuit.load_phases) == {"A": 426, "B": 390, "C": 361}
    assert circuit.p_kw.sum() == pytest.approx(10773.2, abs=0.1)


def test_ckt5_single_phase_services():
    circuit = read_circuit(CKT5)
    assert circuit.load_id.size == 1379
    assert mix(circuit.load_phases) == {"A": 447, "B": 492, "C": 440}


def test_ckt7_banks_keep_phase_numbering():
    # 333 three-phase loads, 534 single-phase behind banks of single-phase transformers
    # (A200/B133/C201) and 39 single-phase equivalents at the feeder head (13 per phase).
    circuit = read_circuit(CKT7)
    assert mix(circuit.load_phases) == {"ABC": 333, "A": 213, "B": 146, "C": 214}
    assert circuit.feeder.n_branches == 3


@pytest.mark.slow
def test_greensboro_original_loads():
    circuit = read_circuit(GREENSBORO, loads_file="Loads_original.dss")
    everything = np.r_[circuit.load_phases, circuit.isolated_load_phases]
    # PROVENANCE: 3746 loads, primary phase A1238/B1146/C1185; 177 three-phase loads (171 at
    # 480 V, 6 at 12.47 kV).
    assert everything.size == 3746
    assert mix(everything) == {"A": 1238, "B": 1146, "C": 1185, "ABC": 177}
    # 944 loads sit on islands the source does not reach (de-energised as given).
    assert circuit.isolated_load_id.size == 944
    assert circuit.load_id.size == 2802
    assert circuit.feeder.n_branches == 3
    modified = read_circuit(GREENSBORO)
    assert modified.load_id.size + modified.isolated_load_id.size == 3746
    assert not np.isclose(modified.p_kw.sum(), circuit.p_kw.sum())
