"""Parameter files in ArviZ's InferenceData layout (netCDF4/HDF5, groups of xarray datasets).

A ``.nc`` parameter file holds:

- ``posterior``: every parameter with a leading axis of draws, as ``(chain, draw, ...)``: the
  values the samplers read (for a NUTS fit, the stored draws of the chains);
- ``constant_data``: parameters without a draw axis (e.g. the power-factor support);
- ``sample_stats`` (NUTS fits): the sampler's statistics of the stored draws (``diverging``,
  ``tree_depth``, ``energy``, ...);
- ``observed_data`` (fits): a summary of the training data (counts and moments per feeder);
- attributes of every group: ``bayesgrid_format``, ``bayesgrid_model``, the whole provenance
  as JSON (``bayesgrid_provenance``) and its main entries as plain attributes (data source,
  model version, seed, sampler, package versions).

Reading the parameters back needs xarray and h5netcdf only (no PyMC, no ArviZ);
:func:`bayesgrid_plugins.load_posterior` (:mod:`.inference`) returns an
:class:`arviz.InferenceData`, so ``az.summary``, ``az.plot_trace`` and the rest of ArviZ work on
shipped and trained posteriors alike::

    >>> import arviz as az, bayesgrid_plugins as bg  # doctest: +SKIP
    >>> az.summary(bg.load_posterior("smartds"))  # doctest: +SKIP

A legacy JSON parameter file is read by :mod:`.posterior`; ``load_posterior`` turns one into
InferenceData too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ParameterError, PosteriorMismatchError
from .fileio import atomic_path

__all__ = [
    "NETCDF_SUFFIXES",
    "REQUIRED_PROVENANCE",
    "check_provenance",
    "is_netcdf",
    "parameter_datasets",
    "read_parameters_netcdf",
    "write_parameters_netcdf",
]

FORMAT = "bayesgrid-parameters"
#: Version of this netCDF layout (the JSON layout of :mod:`.posterior` is version 1).
FORMAT_VERSION = 2
#: File name endings written and read as netCDF.
NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf", ".h5")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ENGINE = "h5netcdf"

#: Named dimensions of known parameters (after the draw axis); others get ``<name>_dim_<i>``.
_DIMS: dict[str, tuple[str, ...]] = {
    "p3": ("zone",),
    "phase_probs": ("phase",),
    "share_alpha": ("phase",),
    "pf_probs": ("pf_value",),
    "pf_values": ("pf_value",),
    "mu": ("zone",),
    "p_zero": ("zone",),
    "mu_log": ("zone",),
}
_COORDS: dict[str, list[str]] = {"phase": ["A", "B", "C"]}
#: Parameters that never carry a draw axis.
_CONSTANT = frozenset({"pf_values"})
#: Provenance entries every parameter file must have (where the parameters came from).
REQUIRED_PROVENANCE = ("id", "data_source", "method", "created", "bayesgrid_version")
#: Provenance entries copied into plain attributes (besides the JSON of the whole record).
_PLAIN = ("id", "data_source", "method", "created", "bayesgrid_version", "model", "licence")


def check_provenance(provenance: Mapping[str, Any]) -> None:
    """Raise :class:`ParameterError` unless the provenance says where parameters came from."""
    missing = [k for k in REQUIRED_PROVENANCE if k not in provenance]
    if missing:
        raise ParameterError(f"provenance lacks {missing}; say where the parameters came from")


def is_netcdf(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` names a netCDF parameter file (by its suffix or its HDF5 signature)."""
    source = Path(path)
    if source.suffix.lower() in NETCDF_SUFFIXES:
        return True
    try:
        with open(source, "rb") as handle:
            return handle.read(8) == _HDF5_MAGIC
    except OSError:
        return False


def _split_chains(n_draws: int, provenance: Mapping[str, Any]) -> int:
    """Number of chains the ``n_draws`` stored draws split into evenly (1 when unknown).

    Stored draws are the chains' draws one after the other, evenly thinned (as
    :func:`~.learn.power_fit.thin_index` does); the split is used only when every chain
    contributes the same number of draws.
    """
    sampler = provenance.get("sampler")
    if not isinstance(sampler, Mapping):
        return 1
    chains, draws = sampler.get("chains"), sampler.get("draws")
    if not isinstance(chains, int) or not isinstance(draws, int) or chains < 2 or draws < 1:
        return 1
    total = chains * draws
    if total < n_draws:
        return 1
    index = np.arange(total)
    if total > n_draws:
        index = np.unique(np.linspace(0, total - 1, n_draws).round().astype(np.int64))
    if index.size != n_draws:
        return 1
    per_chain = np.bincount(index // draws, minlength=chains)
    return chains if (per_chain == per_chain[0]).all() else 1


def _dims(name: str, shape: tuple[int, ...]) -> list[str]:
    known = _DIMS.get(name, ())
    if len(known) == len(shape):
        return list(known)
    return [f"{name}_dim_{i}" for i in range(len(shape))]


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _attrs(model: str, provenance: Mapping[str, Any]) -> dict[str, Any]:
    """Group attributes: the format, the provenance as JSON and its main entries in plain."""
    attrs: dict[str, Any] = {
        "bayesgrid_format": FORMAT,
        "bayesgrid_format_version": FORMAT_VERSION,
        "bayesgrid_model": model,
        "bayesgrid_provenance": json.dumps(dict(provenance), default=_json_default),
    }
    for key in _PLAIN:
        value = provenance.get(key)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            attrs[key] = value
    if isinstance(provenance.get("model_version"), int):
        attrs["model_version"] = provenance["model_version"]
    sampler = provenance.get("sampler")
    if isinstance(sampler, Mapping):
        if sampler.get("nuts_sampler"):
            attrs["sampler"] = str(sampler["nuts_sampler"])
            attrs["inference_library"] = "pymc"
        if isinstance(sampler.get("seed"), int):
            attrs["seed"] = sampler["seed"]
    versions = provenance.get("versions")
    if isinstance(versions, Mapping):
        attrs["package_versions"] = ", ".join(f"{k} {v}" for k, v in versions.items())
        if "pymc" in versions:
            attrs["inference_library_version"] = str(versions["pymc"])
    return attrs


def parameter_datasets(
    model: str,
    parameters: Mapping[str, Any],
    provenance: Mapping[str, Any],
    *,
    n_draws: int | None = None,
) -> dict[str, Any]:
    """The ``posterior`` and ``constant_data`` datasets of a parameter set.

    Parameters
    ----------
    model : str
        Model name (``"power"``, ``"reliability-frequency"``, ...), checked on reading.
    parameters : mapping of str to array-like
        The parameters; those whose leading axis has ``n_draws`` entries go to ``posterior``.
    provenance : mapping
        Where the parameters came from (see :func:`~.posterior.write_parameters`).
    n_draws : int, optional
        Number of draws; default the most common leading length among the parameters.

    Returns
    -------
    dict of str to xarray.Dataset
    """
    import xarray as xr

    arrays = {name: np.asarray(value, dtype=float) for name, value in parameters.items()}
    if n_draws is None:
        leading = [a.shape[0] for n, a in arrays.items() if a.ndim and n not in _CONSTANT]
        n_draws = max(set(leading), key=leading.count) if leading else 1
    chains = _split_chains(n_draws, provenance)
    posterior, constant = {}, {}
    for name, value in arrays.items():
        if name not in _CONSTANT and value.ndim and value.shape[0] == n_draws:
            shaped = value.reshape(chains, n_draws // chains, *value.shape[1:])
            posterior[name] = (["chain", "draw", *_dims(name, value.shape[1:])], shaped)
        else:
            constant[name] = (_dims(name, value.shape), value)
    attrs = _attrs(model, provenance)
    datasets = {"posterior": xr.Dataset(posterior, attrs=attrs)}
    if constant:
        datasets["constant_data"] = xr.Dataset(constant, attrs=attrs)
    for ds in datasets.values():
        for dim, labels in _COORDS.items():
            if ds.sizes.get(dim) == len(labels):
                ds.coords[dim] = labels
    if "pf_values" in arrays and "pf_value" in datasets["posterior"].dims:
        datasets["posterior"].coords["pf_value"] = arrays["pf_values"]
    return datasets


def write_parameters_netcdf(
    path: str | os.PathLike[str],
    *,
    model: str,
    parameters: Mapping[str, Any],
    provenance: Mapping[str, Any],
    n_draws: int | None = None,
    groups: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a parameter set as an InferenceData netCDF file, atomically.

    Parameters
    ----------
    path : path-like
        Output file (``.nc``).
    model, parameters, provenance, n_draws
        See :func:`parameter_datasets`; the provenance must name its source as for JSON files.
    groups : mapping of str to xarray.Dataset, optional
        Further groups, e.g. ``sample_stats`` and ``observed_data`` of a fit.
    overwrite : bool, default False
        Replace an existing file.
    """
    check_provenance(provenance)
    datasets = parameter_datasets(model, parameters, provenance, n_draws=n_draws)
    for name, ds in (groups or {}).items():
        datasets[name] = ds.assign_attrs(_attrs(model, provenance))
    with atomic_path(path, overwrite=overwrite, what="parameter file") as tmp:
        mode = "w"
        for name, ds in datasets.items():
            encoding = {
                v: {"zlib": True, "complevel": 4, "shuffle": True}
                for v in ds.data_vars
                if ds[v].ndim
            }
            ds.to_netcdf(tmp, mode=mode, group=name, engine=ENGINE, encoding=encoding)
            mode = "a"
    return Path(path)


def _open_group(source: Path, group: str) -> Any:
    import xarray as xr

    with xr.open_dataset(source, group=group, engine=ENGINE) as ds:
        return ds.load()


def read_parameters_netcdf(
    path: str | os.PathLike[str], *, model: str
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a netCDF parameter file of ``model``; return ``(parameters, provenance)``.

    Posterior variables come back with one leading axis of draws (chains one after the other),
    exactly as they were written.

    Raises
    ------
    PosteriorMismatchError
        If the file is not a bayesgrid netCDF parameter file, or belongs to another model.
    """
    source = Path(path)
    try:
        posterior = _open_group(source, "posterior")
    except (OSError, ValueError, KeyError) as exc:
        raise PosteriorMismatchError(
            f"{str(source)!r} is not a readable netCDF parameter file with a 'posterior' group "
            f"({exc}); it may be truncated. Write it again or use the shipped default."
        ) from exc
    attrs = posterior.attrs
    if attrs.get("bayesgrid_format") != FORMAT:
        raise PosteriorMismatchError(
            f"{str(source)!r} is not a bayesgrid parameter file (no bayesgrid_format attribute "
            f"{FORMAT!r} on its posterior group)."
        )
    if attrs.get("bayesgrid_model") != model:
        raise PosteriorMismatchError(
            f"{str(source)!r} holds parameters of the {attrs.get('bayesgrid_model')!r} model, "
            f"not of the {model!r} model. Pass the file to the matching model class."
        )
    try:
        provenance = json.loads(str(attrs.get("bayesgrid_provenance", "{}")))
    except json.JSONDecodeError as exc:
        raise PosteriorMismatchError(f"{str(source)!r} has unreadable provenance ({exc}).") from exc
    parameters = {}
    for name, var in posterior.data_vars.items():
        values = np.asarray(var.transpose("chain", "draw", ...).values, dtype=float)
        parameters[str(name)] = values.reshape(-1, *values.shape[2:])
    try:
        constant = _open_group(source, "constant_data")
    except (OSError, ValueError, KeyError):
        constant = None
    if constant is not None:
        for name, var in constant.data_vars.items():
            parameters[str(name)] = np.asarray(var.values, dtype=float)
    return parameters, dict(provenance)
