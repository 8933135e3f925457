# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 1. A feeder from OpenStreetMap
#
# bayesgrid turns the streets of a place into a radial medium-voltage feeder: a substation at a
# street junction, one bus every few tens of metres along the streets, and the shortest-path
# tree from the substation. Everything here runs offline on the OpenStreetMap extract of
# Monaco that ships with the package (© OpenStreetMap contributors, ODbL 1.0).
#
# It writes `monaco_feeder.png` into the working folder.

# %%
import matplotlib

matplotlib.use("Agg")  # files only; remove this line in a notebook
import numpy as np

from bayesgrid_plugins import BayesianPowerModel
from bayesgrid_plugins.topology import default_extract, feeder_from_osm, plot_feeder

print(default_extract().name)  # the shipped extract

# %% [markdown]
# ## Build the feeder
#
# `feeder_from_osm` reads the file, keeps the streets within `dist_m` metres of `point`
# (latitude, longitude in degrees), cuts them into spans of at most `max_span_m` metres and
# grows the radial tree from the junction nearest the centre. A small area keeps this quick.

# %%
osm = feeder_from_osm(point=(43.7384, 7.4246), dist_m=400, max_span_m=50)
print(osm.summary())

feeder = osm.feeder
print("buses:", feeder.n_buses, "loads:", int(feeder.is_load.sum()))
print("branches leaving the substation:", feeder.n_branches)
print(f"line length: {feeder.length_km.sum():.2f} km")
print(f"farthest bus from the substation: {feeder.distance_km.max():.2f} km along the lines")

# %% [markdown]
# ## What a feeder is
#
# A `Feeder` is a set of index-aligned NumPy arrays. `parent[i]` is the bus that feeds bus `i`
# (`-1` at the substation) and `length_km[i]` the length of the line into bus `i`. The derived
# arrays are computed once: `distance_km` along the network, the branch (`feeder`) each bus
# hangs from, the normalised distance `d` in [0, 1] within its branch, and the `zone` (the bin
# of `d`) that the models condition on.

# %%
i = int(np.argmax(feeder.distance_km))
print("farthest bus:", feeder.bus_id[i], "parent:", feeder.bus_id[feeder.parent[i]])
print("its d and zone:", round(float(feeder.d[i]), 3), int(feeder.zone[i]))
print("buses per zone:", np.bincount(feeder.zone[feeder.lines], minlength=feeder.n_zones))

# %% [markdown]
# ## Phases on the map
#
# One realisation of the power model gives every load its phases; phase consistency widens
# every bus on the way to the substation. The map colours each line by its phase set.

# %%
ensemble = BayesianPowerModel().sample(feeder, 10, rng=1)
ax = plot_feeder(osm, ensemble, realisation=0, title="Monaco, 400 m around the centre")
ax.figure.savefig("monaco_feeder.png", dpi=80)

counts = {
    name: int((ensemble.bus_phases[0] == mask).sum())
    for name, mask in [("A", 1), ("B", 2), ("C", 4), ("ABC", 7)]
}
print("buses per phase set in realisation 0:", counts)

# %% [markdown]
# ## Your own place
#
# Any `.osm`, `.osm.bz2` or `.osm.pbf` file works the same way:
#
# ```python
# osm = feeder_from_osm(path="liechtenstein.osm.pbf", point=(47.1410, 9.5215), dist_m=800)
# osm = feeder_from_osm(path="area.osm.bz2", bbox=(7.417, 43.731, 7.423, 43.735))
# ```
#
# With network access, osmnx queries work too (`feeder_from_osm("place", "Vaduz,
# Liechtenstein")`). Large regional extracts are best cropped once with
# `bayesgrid_plugins.topology.crop_osm_file`. The [topology guide](../topology.md) lists the
# rules (which streets count, spans, the substation).
