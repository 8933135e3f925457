"""One network read from OpenDSS and from pandapower gives one feeder (one spanning-forest rule).

The same meshed network is written as an OpenDSS circuit and built as a pandapower net: two
sources, a loop, two lines in parallel, a line bridged by a closed switch and an island. Both
readers must give the same bus ids, parents and lengths.
"""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pytest

from bayesgrid_plugins.topology.forest import LINK_LENGTH_KM
from opendss_ext.reader import read_circuit
from pandapower_ext.reader import feeder_from_net

#: Lines (from bus, to bus, length [km]); buses are named by their pandapower index.
LINES = [
    (0, 1, 0.10),
    (1, 2, 0.50),  # bridged by a closed switch: the edge 1-2 is a link
    (2, 3, 0.30),  # two lines in parallel: the edge is the shorter one
    (2, 3, 0.20),
    (3, 4, 0.15),  # closes the loop 2-3-4
    (2, 4, 0.25),
    (4, 5, 0.30),  # closes the loop through both sources
    (5, 6, 0.40),
    (9, 6, 0.05),  # from the second source
    (7, 8, 0.10),  # an island
]
SWITCHES = [(1, 2)]
SOURCES = [0, 9]
LOADS = [3, 5, 6, 8]
N_BUSES = 10


def _dss_master(folder) -> str:
    text = [
        "Clear",
        "New Circuit.forest basekv=0.4 bus1=0 pu=1.0 phases=3",
        f"New Vsource.second bus1={SOURCES[1]} basekv=0.4 pu=1.0 phases=3",
    ]
    for k, (a, b, km) in enumerate(LINES):
        text.append(
            f"New Line.l{k} phases=3 bus1={a} bus2={b} length={km} units=km "
            "r1=0.2 x1=0.08 r0=0.6 x0=0.3 normamps=200"
        )
    for k, (a, b) in enumerate(SWITCHES):
        text.append(f"New Line.s{k} phases=3 bus1={a} bus2={b} switch=yes")
    for bus in LOADS:
        text.append(f"New Load.ld{bus} bus1={bus} phases=3 kv=0.4 kw=10 kvar=2")
    text += ["Set voltagebases=[0.4]", "Calcvoltagebases"]
    master = folder / "master.dss"
    master.write_text("\n".join(text) + "\n")
    return str(master)


def _net():
    net = pp.create_empty_network()
    for bus in range(N_BUSES):
        pp.create_bus(net, vn_kv=0.4, index=bus)
    for a, b, km in LINES:
        pp.create_line_from_parameters(
            net, a, b, km, r_ohm_per_km=0.2, x_ohm_per_km=0.08, c_nf_per_km=0.0, max_i_ka=0.2
        )
    for a, b in SWITCHES:
        pp.create_switch(net, a, b, et="b", closed=True)
    for bus in SOURCES:
        pp.create_ext_grid(net, bus)
    for bus in LOADS:
        pp.create_load(net, bus, p_mw=0.01, q_mvar=0.002)
    return net


def test_opendss_and_pandapower_readers_give_one_feeder(tmp_path):
    from_dss = read_circuit(_dss_master(tmp_path), length_unit="km").feeder
    from_pp = feeder_from_net(_net())
    assert from_dss.bus_id.tolist() == from_pp.bus_id.tolist()
    np.testing.assert_array_equal(from_dss.parent, from_pp.parent)
    np.testing.assert_allclose(from_dss.length_km, from_pp.length_km, rtol=1e-12, atol=0.0)


def test_the_rules_hold_on_the_opendss_circuit(tmp_path):
    circuit = read_circuit(_dss_master(tmp_path), length_unit="km")
    feeder = circuit.feeder
    index = {b: i for i, b in enumerate(feeder.bus_id.tolist())}
    parent_of = {
        b: feeder.bus_id[feeder.parent[i]] for b, i in index.items() if feeder.parent[i] >= 0
    }
    length_of = dict(zip(feeder.bus_id.tolist(), feeder.length_km.tolist()))
    assert feeder.bus_id[feeder.source] == "0"
    assert "7" not in index and "8" not in index  # the island is dropped ...
    assert circuit.isolated_load_id.tolist() == ["ld8"]  # ... and its load kept apart
    assert parent_of["2"] == "1" and length_of["2"] == pytest.approx(LINK_LENGTH_KM)  # switch
    assert parent_of["3"] == "2" and length_of["3"] == pytest.approx(0.20)  # the shorter line
    assert parent_of["4"] == "2" and length_of["4"] == pytest.approx(0.25)
    assert parent_of["9"] == "0" and length_of["9"] == pytest.approx(LINK_LENGTH_KM)
    assert parent_of["6"] == "9" and parent_of["5"] == "6"  # fed from the nearer source
    assert sorted(circuit.left_out) == ["Line.l4", "Line.l6"]


def test_one_network_is_unbalanced_alike_by_both_engines(tmp_path):
    """Reading, totals and rules are shared: the OpenDSS circuit and the pandapower net of one
    network give the same realisations for the same seed (loops and sources stay three-phase
    in both, :mod:`bayesgrid_plugins.unbalancing`)."""
    from opendss_ext.unbalance import unbalance_circuit
    from pandapower_ext.unbalance import unbalance_net

    from_dss = unbalance_circuit(_dss_master(tmp_path), n=40, rng=5)
    from_pp = unbalance_net(_net(), n=40, rng=5, fill_missing=False)
    assert from_dss.feeder.bus_id.tolist() == from_pp.feeder.bus_id.tolist()
    for field in ("bus_phases", "load_phases", "p_kw", "q_kvar"):
        np.testing.assert_array_equal(
            getattr(from_dss.ensemble, field), getattr(from_pp.ensemble, field)
        )
    # Every bus of this network is on a loop or a source: all carry three phases, while the
    # loads' phases are sampled.
    assert (from_dss.ensemble.bus_phases == 7).all()
    loads = from_dss.feeder.is_load
    assert (from_dss.ensemble.load_phases[:, loads] != 7).any()
