"""unbalance_net keeps the user's loads: names, profiles, one row each; large loads three-phase."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandapower as pp
import pytest

from bayesgrid_plugins.phases import PHASE_ABC
from pandapower_ext.unbalance import LargeLoadWarning, bus_load_totals, unbalance_net

simbench = pytest.importorskip("simbench")
# SimBench nets lack zero-sequence data; filling them is tested in test_unbalance.py.
pytestmark = pytest.mark.filterwarnings("ignore::bayesgrid_plugins.errors.MissingDataWarning")

#: SimBench's urban LV grid: 111 loads on 53 buses, each with a load profile.
LV_GRID = "1-LV-urban6--0-sw"
#: SimBench's rural MV grid: 96 loads up to 560 kW.
MV_GRID = "1-MV-rural--0-sw"
TIME_STEPS = 4


@pytest.fixture(scope="module")
def lv_grid():
    return simbench.get_simbench_net(LV_GRID)


def test_each_load_keeps_its_name_profile_and_columns(lv_grid):
    net = pp.from_json_string(pp.to_json(lv_grid))
    before = net.load.copy()
    totals = bus_load_totals(net)
    result = unbalance_net(net, n=3, rng=5)
    loads = net.asymmetric_load
    assert len(loads) == len(before) == 111
    # same names, buses and profiles, row by row, and the mapping back to the original rows
    kept = loads.set_index("bayesgrid_origin").loc[[f"load:{i}" for i in before.index]]
    assert kept["name"].tolist() == before["name"].tolist()
    assert kept["bus"].astype(int).tolist() == before["bus"].astype(int).tolist()
    assert kept["profile"].tolist() == before["profile"].tolist()
    assert kept["subnet"].tolist() == before["subnet"].tolist()
    mapping = result.load_map
    assert mapping.loc["load:0", "name"] == before.loc[0, "name"]
    assert loads.loc[mapping.loc["load:0", "asymmetric_load"], "name"] == before.loc[0, "name"]
    # every realisation keeps each bus's total, and each load's own total
    for k in range(3):
        result.realisation(k)
        after = bus_load_totals(net).reindex(totals.index)
        np.testing.assert_allclose(after["p_kw"], totals["p_kw"], rtol=1e-9)
        own = net.asymmetric_load.set_index("bayesgrid_origin")
        p = own[["p_a_mw", "p_b_mw", "p_c_mw"]].sum(axis=1) * own["scaling"]
        np.testing.assert_allclose(
            p.loc[[f"load:{i}" for i in before.index]].to_numpy(),
            (before["p_mw"] * before["scaling"]).to_numpy(),
            rtol=1e-9,
        )


def test_time_series_with_const_control_runs_on_the_result(lv_grid):
    from pandapower.control import ConstControl
    from pandapower.timeseries import DFData, OutputWriter, run_timeseries

    net = pp.from_json_string(pp.to_json(lv_grid))
    unbalance_net(net, n=2, rng=9)
    loads = net.asymmetric_load
    profiles = lv_grid.profiles["load"].iloc[:TIME_STEPS].drop(columns="time").astype(float)
    data = DFData(profiles)
    names = [f"{p}_pload" for p in loads["profile"]]
    assert set(names) <= set(profiles.columns)
    # each load follows its own profile, found through the kept `profile` column
    ConstControl(
        net,
        element="asymmetric_load",
        variable="scaling",
        element_index=loads.index.tolist(),
        data_source=data,
        profile_name=names,
    )
    writer = OutputWriter(net, time_steps=range(TIME_STEPS), output_path=None)
    writer.log_variable("res_bus_3ph", "vm_a_pu")
    writer.log_variable("asymmetric_load", "scaling")
    run_timeseries(net, time_steps=range(TIME_STEPS), run=pp.runpp_3ph, verbose=False)
    scaling = writer.output["asymmetric_load.scaling"]
    expected = profiles[names].to_numpy()
    np.testing.assert_allclose(scaling.to_numpy(), expected)
    vm = writer.output["res_bus_3ph.vm_a_pu"].to_numpy()
    assert np.isfinite(vm).all() and 0.9 < vm.min() <= vm.max() < 1.1


def test_large_loads_stay_three_phase_with_a_warning_naming_them():
    grid = simbench.get_simbench_net(MV_GRID)
    net = copy.deepcopy(grid)
    s_kva = np.hypot(net.load.p_mw, net.load.q_mvar) * net.load.scaling * 1000.0
    large = net.load.loc[s_kva > 100.0, "name"].tolist()
    assert large
    with pytest.warns(LargeLoadWarning, match=f"{len(large)} loads exceed 100 kVA") as caught:
        result = unbalance_net(net, n=5, rng=2)
    assert repr(large[0]) in str(caught[0].message)
    mapping = result.load_map
    buses = mapping.loc[mapping["name"].isin(large), "bus"].astype(str).tolist()
    pos = result.feeder.index_of(buses)
    assert (result.ensemble.load_phases[:, pos] == PHASE_ABC).all()
    assert mapping.loc[mapping["name"].isin(large), "three_phase"].all()
    # asked: the model chooses every load's phases, and nothing is said
    with warnings.catch_warnings():
        warnings.simplefilter("error", LargeLoadWarning)
        result = unbalance_net(grid, n=5, rng=2, three_phase_above_kva=None)
    assert not result.load_map["three_phase"].any()
    # the model's own choice: by Bayes' rule with its two P classes a bus of more than 100 kVA
    # is mostly three-phase, and the small loads keep single-phase choices
    assert (result.ensemble.load_phases[:, pos] == PHASE_ABC).mean() > 0.5
    chosen = result.load_map
    small = result.feeder.index_of(
        chosen.loc[~chosen["name"].isin(large), "bus"].astype(str).tolist()
    )
    assert (result.ensemble.load_phases[:, small] != PHASE_ABC).any()
