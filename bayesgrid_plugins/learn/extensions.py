"""The parts of the power parameters beyond the paper's model, shared by every learner.

- the three-phase load class (:mod:`.three_phase`), when the data has three-phase loads;
- the phase balancing (:mod:`.balance`), when the training table carries its topology;
- the two-phase loads, when the data has them: ``p2 | data ~ Beta(1 + n_two, 1 + n_single)``
  (the share of two-phase loads among the loads that are not three-phase) and
  ``pair_probs | data ~ Dirichlet(1 + counts of AB, BC, CA)``, pooled over the feeders.
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
        ``arrays`` holds ``p3class_log_mu_kw``, ``p3class_log_sigma``, ``balance_eps``,
        ``lateral_max_loads``, ``p2`` (each of shape (draws,)), ``balance_shares``,
        ``balance_phase_probs`` and ``pair_probs`` (draws, 3)
        where learned; ``records`` the provenance entries ``p_three_phase_class``,
        ``phase_balancing`` and ``two_phase``.
    """
    arrays: dict[str, np.ndarray] = {}
    records: dict[str, Any] = {}
    three = three_phase_class_draws(data, int(draws), rng)
    if three is not None:
        arrays.update(p3class_log_mu_kw=three[0], p3class_log_sigma=three[1])
        records["p_three_phase_class"] = three[2]
    balance = learn_balance(table, seed=seed)
    if balance is not None:
        eps, max_loads, shares, counts = balance.draws(int(draws), rng)
        arrays.update(
            balance_eps=eps,
            lateral_max_loads=max_loads,
            balance_shares=shares,
            balance_phase_probs=counts,
        )
        records["phase_balancing"] = balance.as_provenance()
    pairs = None if data.pair_counts is None else data.pair_counts.sum(axis=0)
    if pairs is not None and pairs.sum() > 0:
        n_single = float(data.phase_counts.sum())
        arrays["p2"] = rng.beta(1.0 + pairs.sum(), 1.0 + n_single, size=int(draws))
        arrays["pair_probs"] = rng.dirichlet(1.0 + pairs, size=int(draws))
        records["two_phase"] = {
            "method": "Beta(1 + n_two, 1 + n_single) and Dirichlet(1 + pair counts), pooled",
            "pair_counts_ab_bc_ca": pairs.astype(int).tolist(),
            "n_single_phase": int(n_single),
        }
    return arrays, records
