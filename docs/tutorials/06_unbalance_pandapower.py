# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 6. Unbalancing your own pandapower net
#
# Many studies start from a balanced net (SimBench, CIGRE, a utility's planning model). To make
# it realistically unbalanced while keeping every bus's demand, `pandapower_ext.unbalance_net`
# samples only what the balanced model leaves out: which phases each load connects to and how
# its power splits over them. Each bus keeps its total P and Q exactly.
#
# The net here is pandapower's MV Oberrhein net (a real German 20 kV network with two
# external grids and 147 balanced loads), which ships with pandapower.

# %%
import warnings

import numpy as np
import pandapower as pp
import pandapower.networks as pn

import pandapower_ext as ppx

net = pn.mv_oberrhein()
print(len(net.bus), "buses,", len(net.load), "balanced loads,", len(net.ext_grid), "external grid")
total_before = (net.load.p_mw * net.load.scaling).sum()  # [MW], scaling included

# %% [markdown]
# ## Sample 20 unbalanced versions
#
# The net receives realisation 0 in place: its `load` rows become per-phase `asymmetric_load`
# rows. Lines or transformers without zero-sequence data get documented defaults, with one
# `MissingDataWarning` naming every column filled (this net has no zero-sequence data).

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    result = ppx.unbalance_net(net, n=20, rng=5)
for w in caught:
    print(type(w.message).__name__, str(w.message)[:160], "...")
print("filled with defaults:", result.filled)
print("loads now:", len(net.load), "balanced,", len(net.asymmetric_load), "per-phase")

# %% [markdown]
# The totals are kept: per bus, in every realisation.

# %%
per_bus = result.ensemble.p_kw.sum(axis=-1)  # (20, buses) [kW]
original = result.totals.reindex(result.feeder.bus_id.astype(np.int64))["p_kw"].fillna(0.0)
print("largest change of a bus total [kW]:", np.abs(per_bus - original.to_numpy()).max())
asym = net.asymmetric_load
total_after = (asym[["p_a_mw", "p_b_mw", "p_c_mw"]].sum(axis=1) * asym.scaling).sum()
print(f"net total before {total_before * 1e3:.1f} kW, after {total_after * 1e3:.1f} kW")

# %% [markdown]
# ## Solve the realisations
#
# `result.realisation(k)` switches the net to realisation `k` in place, after which
# `pandapower.runpp_3ph(net)` solves it. `solve_ensemble` does this for many realisations and
# collects the results as arrays (NaN for a realisation that does not converge: a whole
# balanced load moved onto one phase can overload a weak net).

# %%
result.realisation(3)
pp.runpp_3ph(net)
print(
    "realisation 3, lowest voltage per phase [p.u.]:",
    np.round(net.res_bus_3ph[["vm_a_pu", "vm_b_pu", "vm_c_pu"]].min().to_numpy(), 4),
)

solved = ppx.solve_ensemble(net, result.feeder, result.ensemble, realisations=range(5))
print("converged:", solved.converged)
print("lowest voltage per phase [p.u.]:", np.round(np.nanmin(solved.vm_min_pu, axis=0), 4))
print("highest voltage unbalance factor [%]:", np.round(solved.vuf_percent, 2))

# %% [markdown]
# ## Scenarios and your own parameters
#
# `scenario="balanced"` keeps the mean phase shares at 1/3; `model=` takes any power-model
# parameters, for example from `bayesgrid_plugins.scenarios.scenario_parameters(shares=(0.2,
# 0.3, 0.5), p3=0.1)` or a file you trained (tutorial 2). `bayesgrid unbalance net.json` does
# the same from the command line; the [unbalancing guide](../unbalance.md) has the details
# (loops, several external grids, OpenDSS circuits).

# %%
from bayesgrid_plugins.scenarios import scenario_parameters  # noqa: E402

params = scenario_parameters(shares=(0.2, 0.3, 0.5), p3=0.1)
other = ppx.unbalance_net(pn.mv_oberrhein(), n=20, model=params, rng=6, fill_missing=False)
phases = other.ensemble.load_phases[other.ensemble.load_phases > 0]
print(
    "loads on A, B, C only:",
    [int((phases == bit).sum()) for bit in (1, 2, 4)],
    "three-phase:",
    int((phases == 7).sum()),
)
