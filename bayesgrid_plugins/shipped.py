"""Shipped power-model posteriors: their names, descriptions and files (no PyMC, no network).

>>> sorted(available_posteriors())  # doctest: +ELLIPSIS
[...'smartds'...]
"""

from __future__ import annotations

from pathlib import Path

from .errors import ParameterError
from .posterior import default_parameter_path

__all__ = [
    "CONDITIONED_ONLY",
    "DEFAULT_POSTERIOR",
    "POSTERIORS",
    "available_posteriors",
    "posterior_path",
]

#: Name -> (file in ``bayesgrid_plugins/data/posteriors``, description).
POSTERIORS: dict[str, tuple[str, str]] = {
    "smartds": (
        "power_smartds_nuts.nc",
        "hierarchical NUTS fit on five SMART-DS feeders (Austin, Greensboro), new-feeder "
        "posterior predictive",
    ),
    "epri": (
        "power_epri_ieee8500_nuts.nc",
        "hierarchical NUTS fit on EPRI ckt5, ckt7 and IEEE 8500, new-feeder posterior predictive "
        "(its training feeders' mean single-phase loads span 5-127 kW, ckt7's being allocated "
        "aggregates, so its unconditioned level is that wide: use it with the conditioned "
        "sampler)",
    ),
    "smartds-counting": (
        "power_smartds_counting.json",
        "point estimates counted on the five SMART-DS feeders (Algorithm 1)",
    ),
}
#: Provenance id -> why the posterior's *unconditioned* demand level is not believable for a
#: new feeder (sampling it unconditioned warns with ``DemandLevelWarning``; measured by
#: ``benchmarks/bench_demand.py``, table 3).
CONDITIONED_ONLY: dict[str, str] = {
    "power-epri-ieee8500-nuts-v2": (
        "the 'epri' posterior's unconditioned demand level is not a believable level for a new "
        "feeder: on its own training feeders' topologies its median feeder total is 0.56 (ckt7), "
        "4.1 (IEEE 8500) and 8.8 (ckt5) times the real one, because its three-phase class and "
        "new-feeder p3 come from ckt7's allocated aggregates. Use it with a demand "
        "(BayesianPowerModel.sample_conditioned, the default of bayesgrid generate), or sample "
        "unconditioned with 'smartds'."
    ),
}
#: The name meant as the default of :class:`~bayesgrid_plugins.models.power.BayesianPowerModel`.
DEFAULT_POSTERIOR = "smartds"


def available_posteriors() -> dict[str, str]:
    """Names of the shipped power posteriors and their descriptions."""
    return {name: description for name, (_, description) in POSTERIORS.items()}


def posterior_path(name: str) -> Path:
    """Path of the shipped posterior ``name`` (see :func:`available_posteriors`)."""
    key = str(name).strip().lower()
    if key not in POSTERIORS:
        raise ParameterError(
            f"no shipped power posterior is named {name!r}; choose one of "
            f"{sorted(POSTERIORS)} or pass a parameter file path."
        )
    return default_parameter_path(POSTERIORS[key][0])
