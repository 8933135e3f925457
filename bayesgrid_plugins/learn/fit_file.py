"""Write a NUTS fit of the power model as an ArviZ InferenceData netCDF file.

Besides the parameters and provenance that :meth:`PowerParameters.save` writes, the file of a
fit holds the sampler's statistics of the stored draws (``sample_stats``: divergences, tree
depth, energy, step size, ...) and a summary of the training data (``observed_data``: the
per-feeder counts and moments the likelihood is written on). See
:mod:`bayesgrid_plugins.inference_data` for the layout.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..inference_data import write_parameters_netcdf
from .power_data import PowerData
from .power_fit import PowerFit, thin_index

__all__ = ["observed_summary", "save_power_fit", "stored_sample_stats"]

#: Named dimensions of the training-data summary (per feeder, zone, phase, power factor).
_OBSERVED_DIMS: dict[str, tuple[str, ...]] = {
    "n_modelled": ("feeder", "zone"),
    "n_three": ("feeder", "zone"),
    "phase_counts": ("feeder", "phase"),
    "pf_counts": ("feeder", "pf_value"),
    "p1_n": ("feeder",),
    "p1_mean": ("feeder",),
    "p1_var": ("feeder",),
    "p3_n": ("feeder",),
    "p3_logmean": ("feeder",),
    "p3_logvar": ("feeder",),
    "share_logsum": ("phase",),
    "share_p_kw": ("phase",),
}


def observed_summary(data: PowerData) -> Any:
    """The sufficient statistics of a fit as an ``observed_data`` dataset.

    Counts are numbers of loads; ``p1_*`` are moments of P [kW] of single-phase loads, ``p3_*``
    of log P of three-phase loads, ``share_logsum`` the sum of log shares of three-phase loads.
    """
    import xarray as xr

    variables: dict[str, Any] = {}
    for item in dataclasses.fields(data):
        value = getattr(data, item.name)
        if item.name == "pf_values" or not isinstance(value, (np.ndarray, int, np.integer)):
            continue
        array = np.asarray(value)
        dims = _OBSERVED_DIMS.get(item.name, ())
        if len(dims) != array.ndim:
            dims = tuple(f"{item.name}_dim_{i}" for i in range(array.ndim))
        variables[item.name] = (list(dims), array)
    ds = xr.Dataset(variables)
    if "feeder" in ds.dims:
        ds.coords["feeder"] = list(data.systems)
    if ds.sizes.get("phase") == 3:
        ds.coords["phase"] = ["A", "B", "C"]
    if "pf_value" in ds.dims:
        ds.coords["pf_value"] = np.asarray(data.pf_values, dtype=float)
    ds.attrs["counts"] = json.dumps(data.counts, default=str)
    return ds


def stored_sample_stats(idata: Any, n_stored: int, chains: int) -> Any:
    """The sampler's statistics of the draws kept by :func:`~.power_fit.thin_index`.

    ``chains`` is the number of chains the stored draws are split into (1 when they do not
    split evenly).
    """
    stats = idata.sample_stats
    n_chain, n_draw = stats.sizes["chain"], stats.sizes["draw"]
    index = thin_index(n_chain * n_draw, n_stored)
    stacked = stats.stack(sample=("chain", "draw")).isel(sample=index)
    stacked = stacked.drop_vars(["sample", "chain", "draw"], errors="ignore")
    out = {}
    for name, var in stacked.data_vars.items():
        values = np.asarray(var.transpose("sample", ...).values)
        rest = [d for d in var.dims if d != "sample"]
        shaped = values.reshape(chains, values.shape[0] // chains, *values.shape[1:])
        out[name] = (["chain", "draw", *rest], shaped)
    import xarray as xr

    return xr.Dataset(out)


def save_power_fit(fit: PowerFit, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write a power fit as InferenceData netCDF (``.nc``), atomically.

    Groups: ``posterior`` (the stored new-feeder parameter draws, by chain), ``constant_data``
    (power-factor support), ``sample_stats`` (of the stored draws), ``observed_data`` (training
    summary); provenance in the attributes. ``PowerParameters.load(path)`` and
    :func:`~bayesgrid_plugins.inference_data.load_posterior` read it.
    """
    from ..inference_data import parameter_datasets

    params = fit.parameters
    posterior = parameter_datasets(
        params.MODEL, params.to_dict(), params.provenance, n_draws=params.n_draws
    )["posterior"]
    chains = posterior.sizes["chain"]
    groups = {
        "sample_stats": stored_sample_stats(fit.idata, params.n_draws, chains),
        "observed_data": observed_summary(fit.data),
    }
    return write_parameters_netcdf(
        path,
        model=params.MODEL,
        parameters=params.to_dict(),
        provenance=params.provenance,
        n_draws=params.n_draws,
        groups=groups,
        overwrite=overwrite,
    )
