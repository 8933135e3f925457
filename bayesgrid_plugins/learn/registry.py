"""Shipped power-model posteriors, selectable by name (no PyMC, no network).

The names and files live in the core (:mod:`bayesgrid_plugins.shipped`); this module adds
loading them as :class:`~bayesgrid_plugins.models.power.PowerParameters`.

>>> available_posteriors()  # doctest: +SKIP
{'smartds': 'hierarchical NUTS fit on five SMART-DS feeders ...', ...}
>>> params = load_power_posterior("epri")  # doctest: +SKIP
"""

from __future__ import annotations

from ..models.power import PowerParameters
from ..shipped import DEFAULT_POSTERIOR, POSTERIORS, available_posteriors, posterior_path

__all__ = [
    "DEFAULT_POSTERIOR",
    "POSTERIORS",
    "available_posteriors",
    "load_power_posterior",
    "posterior_path",
]


def load_power_posterior(name: str = DEFAULT_POSTERIOR) -> PowerParameters:
    """Load a shipped power posterior by name (``"smartds"``, ``"epri"``, ...)."""
    return PowerParameters.load(posterior_path(name))
