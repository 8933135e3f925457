"""Which earlier samples a model's ``generate_consistent_data`` call builds on.

The original bayesgrid workflow calls each model on the same network in turn (power, then
impedance, frequency, duration) and saves all their samples together. A model whose ``sample``
takes an ``ensemble`` (the impedance and reliability models) adds its fields to the ensemble
already kept for the network when it has the same number of realisations; the power model
always starts a new one (impedances drawn for other phases would not fit).
"""

from __future__ import annotations

import inspect
from typing import Any

from .ensemble import Ensemble

__all__ = ["earlier_ensemble"]


def earlier_ensemble(
    model: Any, kept: tuple[Any, Ensemble | None] | None, n: int
) -> Ensemble | None:
    """The kept ensemble ``model.sample`` should extend, or None to start afresh.

    Parameters
    ----------
    model : object
        A model with ``sample``.
    kept : (Feeder, Ensemble or None) or None
        What is kept beside the network (its reading's ``attached()``).
    n : int
        Realisations asked for.

    Examples
    --------
    >>> from bayesgrid_plugins import BayesianPowerModel
    >>> from bayesgrid_plugins.model_chain import earlier_ensemble
    >>> earlier_ensemble(BayesianPowerModel(), None, 10) is None
    True
    """
    if kept is None or kept[1] is None or len(kept[1]) != n:
        return None
    if "ensemble" not in inspect.signature(model.sample).parameters:
        return None
    return kept[1]
