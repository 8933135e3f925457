# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 2. Pre-trained models, or trained on your own data
#
# The power model needs a handful of parameters: the probability `p3` that a load is
# three-phase in each zone of normalised distance, the phase probabilities `(pA, pB, pC)` of
# single-phase loads, the Dirichlet concentration `alpha` of a three-phase load's per-phase
# shares, the truncated normal `(mu, sigma)` of a load's power [kW] and the power-factor
# distribution. bayesgrid ships parameters learned from real feeders; you can also learn them
# from yours, by counting (the paper's Algorithm 1, instant) or with NUTS (PyMC, a full
# posterior).
#
# This tutorial uses only what ships with the packages: the Monaco extract and the IEEE
# European LV test feeder that ships inside pandapower. The NUTS fit at the end is tiny (a few
# hundred draws) so that it finishes in well under a minute; use the defaults for real work.

# %%
import numpy as np
import pandapower.networks as pn

import pandapower_ext as ppx
from bayesgrid_plugins import BayesianPowerModel
from bayesgrid_plugins import __version__ as bayesgrid_version
from bayesgrid_plugins.learn import make_training_table
from bayesgrid_plugins.learn.counting import count_power_parameters
from bayesgrid_plugins.learn.registry import available_posteriors, load_power_posterior
from bayesgrid_plugins.scenarios import scenario_parameters
from bayesgrid_plugins.topology import feeder_from_osm

# %% [markdown]
# ## The shipped parameters
#
# `BayesianPowerModel()` loads the default posterior. Every parameter set records where it came
# from (its provenance), and has a leading axis of posterior draws: sampling picks one draw per
# realisation, so the ensemble carries the parameter uncertainty too.

# %%
for name, description in available_posteriors().items():
    print(f"{name:18s} {description}")

model = BayesianPowerModel()
params = model.parameters
print(model)
print("draws:", params.n_draws, "zones:", params.n_zones)
print("p3 by zone (posterior mean):", np.round(params.p3.mean(axis=0), 3))
print("pA, pB, pC (posterior mean):", np.round(params.phase_probs.mean(axis=0), 3))
print("source:", params.provenance.get("id"))

epri = BayesianPowerModel(load_power_posterior("epri"))  # another shipped posterior
print(epri)

# %% [markdown]
# ## Your data as a training table
#
# Learning starts from a `TrainingTable`: one row per load with its phases (mask A=1, B=2,
# C=4), its per-phase P [kW] and Q [kvar], and its position on the feeder (distance, normalised
# distance, zone). The adapters read one from a real network:
# `pandapower_ext.training_table(net)` or `opendss_ext.training_table("Master.dss")`.
#
# Here is the IEEE European LV feeder (55 single-phase households) as pandapower ships it.

# %%
net = pn.ieee_european_lv_asymmetric("on_peak_566")
eulv = ppx.training_table(net, system="ieee-eulv")
print(eulv.loads[["load_id", "phases", "p_a_kw", "p_b_kw", "p_c_kw", "d", "zone"]].head())
print("phase counts (A, B, C):", [int((eulv.loads["phases"] == m).sum()) for m in (1, 2, 4)])

# %% [markdown]
# When your data is not in an engine, build the table from arrays with `make_training_table`.
# To see that learning recovers what generated the data, we make a "survey" of known
# parameters: 400 buses of Monaco with the paper's unbalanced scenario (single-phase loads on
# A, B, C with probabilities 0.1, 0.6, 0.3).

# %%
feeder = feeder_from_osm(dist_m=500).feeder
truth = scenario_parameters(scenario="unbalanced").mean()
survey = BayesianPowerModel(truth).sample(feeder, 1, rng=7)[0]

buses = np.flatnonzero(survey.has_load[0])
table = make_training_table(
    feeder,
    system="my-feeder",
    load_id=[f"load{b}" for b in buses],
    load_bus=buses,
    load_phases=survey.load_phases[0, buses],
    p_kw=survey.p_kw[0, buses],
    q_kvar=survey.q_kvar[0, buses],
)
print(len(table.loads), "loads in the survey")

# %% [markdown]
# ## Counting (Algorithm 1)
#
# `count_power_parameters` counts three-phase loads per zone, single-phase loads per phase,
# matches the moments of the per-phase shares and of P, and returns a single-draw parameter
# set. It takes milliseconds.

# %%
counted = count_power_parameters(
    table, provenance={"id": "my-feeder-counted-v1", "bayesgrid_version": bayesgrid_version}
)
print("true pA, pB, pC:   ", np.round(truth.phase_probs[0], 3))
print("counted pA, pB, pC:", np.round(counted.phase_probs[0], 3))
print("p3 by zone, counted:", np.round(counted.p3[0], 2))
counted.save("my_power_counted.json")  # the numbers and where they came from
mine = BayesianPowerModel("my_power_counted.json")

# %% [markdown]
# ## NUTS (PyMC)
#
# `fit_power_posterior` fits the hierarchical model with NUTS and returns the parameters (as
# posterior-predictive draws for a new feeder), the trace and convergence diagnostics. PyMC is
# imported only here. These settings are deliberately tiny; the defaults are 1000 draws and
# 1000 tuning steps on 2 chains.

# %%
from bayesgrid_plugins.learn.power_fit import fit_power_posterior  # noqa: E402

fit = fit_power_posterior(table, draws=150, tune=150, chains=2, seed=1, warn=False)
print("posterior draws kept:", fit.parameters.n_draws)
print("NUTS pA, pB, pC:", np.round(fit.parameters.phase_probs.mean(axis=0), 3))
print("diagnostics:", fit.diagnostics)
fit.parameters.save("my_power_nuts.json")  # provenance: data, seed, sampler settings

# %% [markdown]
# ## Transfer: a model trained on one feeder, applied to another
#
# Any parameter set samples any topology: the zones of normalised distance make the model
# independent of the feeder's size. Here the three parameter sets sample the same feeder.

# %%
models = {"shipped": model, "counted": mine, "NUTS": BayesianPowerModel(fit.parameters)}
for label, m in models.items():
    ens = m.sample(feeder, 200, rng=3)
    single = ens.load_phases[ens.has_load]
    share = [float(np.mean(single[np.isin(single, (1, 2, 4))] == bit)) for bit in (1, 2, 4)]
    print(f"{label:8s} single-phase loads on A, B, C: {np.round(share, 3)}")
