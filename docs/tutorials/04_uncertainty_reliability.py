# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 4. Uncertainty and reliability distributions
#
# An ensemble is a sample of plausible grids, not one grid: every quantity has a distribution.
# This tutorial samples loads, line impedances and reliability on one feeder, solves the power
# flow of every realisation, and plots the distributions. It writes four PNG figures.

# %%
import matplotlib

matplotlib.use("Agg")  # files only; remove this line in a notebook
import matplotlib.pyplot as plt
import numpy as np

import opendss_ext as odx
from bayesgrid_plugins import BayesianImpedanceModel, BayesianPowerModel, ReliabilityModel
from bayesgrid_plugins.topology import feeder_from_osm

N = 60  # realisations; use 1000 for a study
osm = feeder_from_osm(dist_m=400)
feeder = osm.feeder
ensemble = BayesianPowerModel().sample(feeder, N, rng=21)
ensemble = BayesianImpedanceModel().sample(feeder, N, rng=22, ensemble=ensemble)

# %% [markdown]
# ## Demand per phase
#
# `ensemble.p_kw` has shape (realisations, buses, 3) [kW]. Summed over buses, it gives each
# realisation's demand per phase: its spread is the uncertainty of the phase allocation and of
# the load sizes.

# %%
per_phase = ensemble.p_kw.sum(axis=1)  # (N, 3) [kW]
print("mean demand per phase [kW]:", np.round(per_phase.mean(axis=0), 1))
print("5-95 % range of phase A [kW]:", np.round(np.percentile(per_phase[:, 0], [5, 95]), 1))

fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
ax.boxplot(per_phase, tick_labels=["A", "B", "C"])
ax.set_ylabel("feeder demand per phase [kW]")
ax.set_title(f"{N} realisations")
fig.savefig("demand_per_phase.png", dpi=80)

# %% [markdown]
# ## Voltages
#
# Solving every realisation gives the distribution of the lowest voltage per phase and of the
# voltage unbalance factor.

# %%
result = odx.solve_ensemble(feeder, ensemble)
print("all converged:", result.all_converged)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
for p, name in enumerate("ABC"):
    axes[0].hist(result.vm_min_pu[:, p], bins=15, histtype="step", label=f"phase {name}")
axes[0].set_xlabel("lowest voltage of the feeder [p.u.]")
axes[0].set_ylabel("realisations")
axes[0].legend()
axes[1].hist(result.vuf_percent, bins=15, color="0.4")
axes[1].set_xlabel("highest voltage unbalance factor [%]")
fig.savefig("voltages.png", dpi=80)

# %% [markdown]
# Per bus, the median and the 5-95 % band of the phase-A voltage along the distance from the
# substation show where the uncertainty grows.

# %%
va = result.vm_pu[:, :, 0]  # (N, buses), NaN where a bus has no phase A
order = np.argsort(feeder.distance_km)
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
with np.errstate(all="ignore"):
    band = np.nanpercentile(va[:, order], [5, 50, 95], axis=0)
ax.fill_between(feeder.distance_km[order], band[0], band[2], alpha=0.3, label="5-95 %")
ax.plot(feeder.distance_km[order], band[1], ".", markersize=3, label="median")
ax.set_xlabel("distance from the substation [km]")
ax.set_ylabel("phase A voltage [p.u.]")
ax.legend()
fig.savefig("voltage_profile.png", dpi=80)

# %% [markdown]
# ## Reliability: CAIFI and CAIDI
#
# `ReliabilityModel.run` draws failure rates and repair times per realisation (overhead or
# cable from the sampled impedances), computes per bus the expected interruption frequency
# [1/year] and duration [h/year], and the IEEE 1366 system indices, both expected and for one
# sampled year. The ensemble it returns carries `caifi` and `caidi_h` per bus.

# %%
rel = ReliabilityModel().run(feeder, N, rng=23, ensemble=ensemble)
ensemble = rel.ensemble
for name, stats in rel.summary().items():
    if name.startswith("expected"):
        print(f"{name:18s} median {stats['median']:.3f}  IQR {stats['q25']:.3f}-{stats['q75']:.3f}")

fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
axes[0].hist(rel.expected["saifi"], bins=15, color="#0072B2")
axes[0].set_xlabel("SAIFI [interruptions / customer / year]")
axes[0].set_ylabel("realisations")
caidi = ensemble.caidi_h[ensemble.has_load]
axes[1].hist(caidi[np.isfinite(caidi)], bins=30, color="#D55E00")
axes[1].set_xlabel("CAIDI per load bus [h]")
fig.savefig("reliability.png", dpi=80)

# %% [markdown]
# The indices of each bus follow its path to the substation: buses far out on long branches
# are interrupted more often. `rel.bus_table(k, feeder.bus_id)` gives the per-bus columns of
# realisation `k` (for a table next to an exported network); the
# [reliability guide](../reliability.md) explains the fault model and the protection options.

# %%
import pandas as pd  # noqa: E402

table = pd.DataFrame(rel.bus_table(0, feeder.bus_id))
far = np.argsort(feeder.distance_km)[-3:]
print(table.iloc[far][["bus_id", "frequency_per_year", "duration_h_per_year", "caidi_h"]])
