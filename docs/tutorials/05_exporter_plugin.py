# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 5. Writing an exporter plugin
#
# Every export format, bayesgrid's own included, is a plugin: an object that follows the
# `Exporter` protocol, registered by a hook implementation. This tutorial writes one, tries it
# with a private plugin manager, and shows the packaging that makes `bayesgrid plugins` find it.
# The [plugins guide](../plugins.md) is the reference.

# %%
import json
from pathlib import Path

import numpy as np

from bayesgrid_plugins import BayesianPowerModel, Feeder, hookimpl
from bayesgrid_plugins.exporters import ExportRequest
from bayesgrid_plugins.fileio import atomic_write_text, check_output_path
from bayesgrid_plugins.phases import phases_from_mask
from bayesgrid_plugins.plugins import PluginManager

# %% [markdown]
# ## The exporter
#
# An exporter has a `name` (what `export(formats=...)` and `--format` take), a one-line
# `description`, optionally a `suffix`, and `export(request) -> list[Path]`. The request holds
# the feeder, the ensemble, the folder reserved for this format, the realisations to write and
# whether existing files may be replaced.
#
# This one writes, per realisation, a JSON summary: total demand per phase [kW] and the phase
# set of every line. It checks every target before writing the first file, and writes
# atomically, as the built-in exporters do.


# %%
class PhaseSummaryExporter:
    name = "phase-summary"
    description = "realisation_NNNN.json: demand per phase [kW] and the phases of every line"
    suffix = ".json"

    def export(self, request: ExportRequest) -> list[Path]:
        if request.options:
            raise ValueError(f"phase-summary takes no options, got {sorted(request.options)}")
        feeder, ensemble = request.feeder, request.ensemble
        targets = [request.output_dir / f"realisation_{k:04d}.json" for k in request.realisations]
        for path in targets:  # refuse before writing anything
            check_output_path(path, overwrite=request.overwrite)
        written = []
        for k, path in zip(request.realisations, targets):
            lines = feeder.lines
            document = {
                "realisation": int(k),
                "demand_kw": dict(zip("ABC", np.round(ensemble.p_kw[k].sum(axis=0), 3).tolist())),
                "line_phases": {
                    str(feeder.bus_id[i]): phases_from_mask(int(m))
                    for i, m in zip(lines, ensemble.bus_phases[k, lines])
                },
            }
            text = json.dumps(document, indent=1)
            written.append(atomic_write_text(path, text, overwrite=request.overwrite))
        return written


# %% [markdown]
# ## The hook implementation
#
# A plugin is a module (or any object) with a function named `bayesgrid_register_exporters`
# marked with `bayesgrid_plugins.hookimpl`. It calls `register` once per exporter.


# %%
class MyPlugin:
    @hookimpl
    def bayesgrid_register_exporters(self, register):
        register(PhaseSummaryExporter())


# %% [markdown]
# ## Try it without installing anything
#
# A private `PluginManager(entry_points=False)` holds only what you register in code, which is
# also how to test a plugin.

# %%
feeder = Feeder.from_edges(
    [("s", "a", 0.3), ("a", "b", 0.2), ("a", "c", 0.25), ("s", "d", 0.4)],
    "s",
    coords={"s": (0, 0), "a": (300, 0), "b": (500, 0), "c": (300, 250), "d": (-400, 0)},
    vn_kv=0.4,
)
ensemble = BayesianPowerModel().sample(feeder, 5, rng=4)

manager = PluginManager(entry_points=False)
manager.register_plugin(MyPlugin(), name="my-plugin")
print(manager.available_exporters())
paths = manager.export(feeder, ensemble, "phase-summary", "out", realisations=[0, 1])
print(paths)
print(Path(paths["phase-summary"][0]).read_text()[:200])

# %% [markdown]
# Exporting again into the same folder is refused unless `overwrite=True`:

# %%
from bayesgrid_plugins import OutputExistsError  # noqa: E402

try:
    manager.export(feeder, ensemble, "phase-summary", "out", realisations=[0])
except OutputExistsError as error:
    print("refused:", error)

# %% [markdown]
# ## Packaging
#
# To make the format available everywhere (`bayesgrid generate --format phase-summary`,
# `bayesgrid plugins`, `bayesgrid_plugins.plugins.export`), put the exporter and a module-level
# hook implementation in a package, and declare the module in the entry-point group
# `bayesgrid.exporters` of its `pyproject.toml`:
#
# ```python
# # my_package/phase_summary.py
# from bayesgrid_plugins import hookimpl
#
# @hookimpl
# def bayesgrid_register_exporters(register):
#     register(PhaseSummaryExporter())
# ```
#
# ```toml
# [project.entry-points."bayesgrid.exporters"]
# phase-summary = "my_package.phase_summary"
# ```
#
# After `pip install .`, `bayesgrid plugins` lists it. The repository's
# `examples/bayesgrid-example-exporter/` is a complete package to copy.
