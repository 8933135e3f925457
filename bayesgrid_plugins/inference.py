"""Shipped and saved posteriors as :class:`arviz.InferenceData`, for ArviZ's tools.

>>> import arviz as az  # doctest: +SKIP
>>> az.summary(load_posterior("smartds"))  # doctest: +SKIP

The file layout is described in :mod:`.inference_data`. No PyMC is needed.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from .errors import ParameterError
from .inference_data import ENGINE, is_netcdf, parameter_datasets
from .posterior import read_any_parameters
from .shipped import POSTERIORS, posterior_path

__all__ = ["load_posterior"]


def load_posterior(name_or_path: str | os.PathLike[str]) -> Any:
    """A shipped or saved posterior as :class:`arviz.InferenceData` (no PyMC needed).

    Parameters
    ----------
    name_or_path : str or path-like
        The name of a shipped posterior (``"smartds"``, ``"epri"``, see
        :func:`~.shipped.available_posteriors`) or a parameter file: netCDF, or a
        legacy JSON file (converted in memory: posterior and constant data only).

    Returns
    -------
    arviz.InferenceData
        ``az.summary(load_posterior("smartds"))`` gives means, intervals, r-hat and ESS.

    Raises
    ------
    ParameterError
        For an unknown name that is not an existing file either.

    Examples
    --------
    >>> import arviz as az
    >>> import bayesgrid_plugins as bg
    >>> idata = bg.load_posterior("smartds")
    >>> idata.posterior["p3"].dims
    ('chain', 'draw', 'zone')
    >>> table = az.summary(idata, var_names=["p_mu_kw"])  # r-hat, ESS, intervals
    """
    with warnings.catch_warnings():
        # ArviZ announces its coming refactor with a FutureWarning on import.
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"arviz(\.|$)")
        import arviz as az

    if isinstance(name_or_path, str) and name_or_path.strip().lower() in POSTERIORS:
        path = posterior_path(name_or_path)
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise ParameterError(
                f"{str(name_or_path)!r} is neither a shipped posterior ({', '.join(POSTERIORS)}) "
                "nor an existing parameter file; pass one of those names or a file path."
            )
    if is_netcdf(path):
        return az.from_netcdf(path, engine=ENGINE)
    model, parameters, provenance = read_any_parameters(path)
    return az.InferenceData(**parameter_datasets(model, parameters, provenance))
