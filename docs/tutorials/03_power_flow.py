# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 3. Export and power flow in OpenDSS and pandapower
#
# An ensemble becomes a live OpenDSS circuit (through OpenDSSDirect.py) or a native pandapower
# net, solved realisation after realisation, and can be written to files by the exporter
# plugins. Both adapters return the same `PowerFlowResult`, so the two engines can be compared
# bus by bus.

# %%
import numpy as np
import opendssdirect as dss

import opendss_ext as odx
import pandapower_ext as ppx
from bayesgrid_plugins import BayesianImpedanceModel, BayesianPowerModel
from bayesgrid_plugins.plugins import available_exporters, export
from bayesgrid_plugins.topology import feeder_from_osm

# %% [markdown]
# A small Monaco feeder (13.8 kV by default) and 20 realisations of loads and line impedances.

# %%
feeder = feeder_from_osm(dist_m=300).feeder
ensemble = BayesianPowerModel().sample(feeder, 20, rng=11)
ensemble = BayesianImpedanceModel().sample(feeder, 20, rng=12, ensemble=ensemble)
print(feeder.n_buses, "buses;", ensemble.summary()["n_loads"][0], "loads in realisation 0")

# %% [markdown]
# ## OpenDSS
#
# `to_dss_commands` is the OpenDSS script of one realisation, as plain text: phase-accurate bus
# names (`b17.2.3` with `phases=2`), line codes with the sampled impedances, one wye load per
# phase. `solve_ensemble` builds the circuit once in an isolated engine context and only
# rewrites loads (and line data) between realisations.

# %%
script = odx.to_dss_commands(feeder, ensemble, 0, as_text=True)
print(script.splitlines()[:4])  # the head of the script
print([line for line in script.splitlines() if line.startswith("new load")][:2])

dss_result = odx.solve_ensemble(feeder, ensemble)
print("converged:", int(dss_result.converged.sum()), "of", dss_result.n_realisations)
print("lowest voltage per phase [p.u.]:", np.round(np.nanmin(dss_result.vm_min_pu, axis=0), 4))
print("losses [kW], first 5 realisations:", np.round(dss_result.losses_kw[:5], 2))

# %% [markdown]
# ## pandapower
#
# `build_net` creates a pandapower net of one realisation (per-phase loads in
# `asymmetric_load`, zero-sequence line data so that `runpp_3ph` runs). `set_realisation`
# switches the net to another realisation in place; `solve_ensemble` does that for every
# realisation and solves with `runpp_3ph`.

# %%
net = ppx.build_net(feeder, ensemble, realisation=0)
print(len(net.bus), "buses,", len(net.line), "lines,", len(net.asymmetric_load), "per-phase loads")
pp_result = ppx.solve_ensemble(net, feeder, ensemble)
print("converged:", int(pp_result.converged.sum()), "of", pp_result.n_realisations)

# %% [markdown]
# ## The two engines agree
#
# Both results are aligned with `feeder.bus_id` and hold NaN on phases a bus lacks. pandapower
# models every line as a three-phase sequence model while OpenDSS models one- and two-phase
# lines with their own conductors, so small differences remain on the laterals (see the
# [FAQ](../faq.md)).

# %%
diff = np.abs(dss_result.vm_pu - pp_result.vm_pu)
print(f"largest |V_OpenDSS - V_pandapower|: {np.nanmax(diff):.2e} p.u.")

# %% [markdown]
# ## Files for other tools
#
# Exporters are plugins (tutorial 5 writes one). Each format writes into its own sub-folder;
# nothing existing is overwritten unless `overwrite=True`.

# %%
print(available_exporters())
paths = export(feeder, ensemble, ["opendss", "pandapower", "csv"], "out", realisations=[0, 1])
for name, files in paths.items():
    print(name, [str(f) for f in files])

# %% [markdown]
# An exported `Master.dss` compiles and solves in any OpenDSS:

# %%
master = paths["opendss"][0] / "Master.dss"  # one folder per realisation
dss.Text.Command("clear")
dss.Text.Command(f'compile "{master.resolve()}"')
dss.Text.Command("solve")
print("OpenDSS converged:", dss.Solution.Converged(), "buses:", dss.Circuit.NumBuses())
