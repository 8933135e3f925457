"""The parts of the power parameters beyond the paper's model, shared by every learner.

- the three-phase load class (:mod:`.three_phase`), when the data has three-phase loads;
- the phase balancing (:mod:`.balance`), when the training table carries its topology.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .balance import learn_balance
from .power_data import PowerData
from .table import TrainingTable
from .three_phase import three_phase_class_draws

__all__ = ["extension_draws"]


def extension_draws(
    table: TrainingTable, data: PowerData, draws: int, rng: np.random.Generator, *, seed: int = 0
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Posterior draws of the three-phase class and the balancing, with provenance records.

    Returns
    -------
    (arrays, records)
        ``arrays`` holds ``p3class_log_mu_kw``, ``p3class_log_sigma``, ``balance_eps`` and
        ``lateral_max_loads`` (each of shape (draws,)) where learned; ``records`` the
        provenance entries ``p_three_phase_class`` and ``phase_balancing``.
    """
    arrays: dict[str, np.ndarray] = {}
    records: dict[str, Any] = {}
    three = three_phase_class_draws(data, int(draws), rng)
    if three is not None:
        arrays.update(p3class_log_mu_kw=three[0], p3class_log_sigma=three[1])
        records["p_three_phase_class"] = three[2]
    balance = learn_balance(table, seed=seed)
    if balance is not None:
        eps, max_loads = balance.draws(int(draws), rng)
        arrays.update(balance_eps=eps, lateral_max_loads=max_loads)
        records["phase_balancing"] = balance.as_provenance()
    return arrays, records
