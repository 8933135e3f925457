"""bayesgrid's learning code as a plugin: the models find their fitters through it.

Registered through the ``bayesgrid.plugins`` entry point, so the models never import the
learning subpackage (nor PyMC): ``BayesianPowerModel.learn`` asks the plugin manager for the
``"power"`` fitter, which imports :mod:`.power_fit` only when it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import hookimpl

__all__ = ["bayesgrid_register_fitters"]


def _fit_power(table: Any, **options: Any) -> Any:
    from .power_fit import fit_power_model

    return fit_power_model(table, **options)


def _fit_impedance(table: Any, **options: Any) -> Any:
    from .impedance_counting import count_impedance_parameters

    return count_impedance_parameters(table, **options)


def _fit_frequency(table: Any, **options: Any) -> Any:
    from .reliability_counting import count_frequency_parameters

    return count_frequency_parameters(table, **options)


def _fit_duration(table: Any, **options: Any) -> Any:
    from .reliability_counting import count_duration_parameters

    return count_duration_parameters(table, **options)


@hookimpl
def bayesgrid_register_fitters(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register the power, impedance, frequency and duration fitters."""
    register("power", _fit_power)
    register("impedance", _fit_impedance)
    register("frequency", _fit_frequency)
    register("duration", _fit_duration)
