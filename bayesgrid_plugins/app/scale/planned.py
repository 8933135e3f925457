"""Planning inside a scale-out task: each chunk's realisations get equipment sized to their demand.

The whole-extract case (``bayesgrid scale``) samples each region's feeder in chunks. With
planning on (the default of :class:`~.tasks.PowerFlowTask`), a chunk is planned as the main job
plans a feeder (:mod:`bayesgrid_plugins.planning`, every rule and its source stated there):

1. **Feeder split.** The region's feeder is split at the 4 MW / 8 km limits
   (:func:`~bayesgrid_plugins.planning.split_feeders`) for a planning demand: the
   :data:`~bayesgrid_plugins.planning.PILOT_QUANTILE` of each bus's load over a pilot sample of
   :data:`~bayesgrid_plugins.planning.PILOT_REALISATIONS` realisations drawn from the region's
   own pilot stream ``SeedSequence(seed, spawn_key=(region, PLAN_KEY))``; so every chunk of a
   region gets the same split feeder, whatever the chunking. The split keeps every bus (only
   parents and lengths of the cut subtrees' heads change), so per-bus results stay aligned.
2. **Conductors and transformers** of every realisation
   (:func:`~bayesgrid_plugins.planning.plan_ensemble`), from the realisation's planning stream
   ``SeedSequence(seed, spawn_key=(region, PLAN_KEY, j))`` (so the plan does not depend on the
   chunking), or with ``streams="chunk"`` one stream per chunk.
3. **Voltages**: tap and worst-path upgrades through the task's engine
   (:func:`~bayesgrid_plugins.planning.plan_voltages`), whose last solve is the chunk's result.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...ensemble import Ensemble
from ...feeder import Feeder
from .streams import SamplingSettings, _models, _sample_power

__all__ = ["PLAN_KEY", "plan_chunk", "split_region_feeder"]

#: Middle entry of the spawn key of the planning streams (chunk streams use ``2**31``).
PLAN_KEY = 2**31 + 1

_SPLIT: dict[tuple[str, int, int, SamplingSettings], Feeder] = {}


def split_region_feeder(
    feeder: Feeder, *, seed: int, region: int, sampling: SamplingSettings
) -> Feeder:
    """The region's feeder split for its planning demand (cached per process)."""
    from ...planning import (
        PILOT_QUANTILE,
        PILOT_REALISATIONS,
        planning_demand_kw,
        split_feeders,
    )
    from .regions import feeder_digest

    key = (feeder_digest(feeder), int(seed), int(region), sampling)
    if key not in _SPLIT:
        power, _ = _models(sampling)
        ss = np.random.SeedSequence(int(seed), spawn_key=(int(region), PLAN_KEY))
        pilot = _sample_power(power, feeder, PILOT_REALISATIONS, ss, sampling)
        demand = planning_demand_kw(pilot, quantile=PILOT_QUANTILE)
        _SPLIT[key] = split_feeders(feeder, demand)
    return _SPLIT[key]


def plan_chunk(
    feeder: Feeder,
    ensemble: Ensemble,
    *,
    seed: int,
    region: int,
    chunk: int,
    realisations: Any,
    sampling: SamplingSettings,
    engine: str,
    options: Any = None,
) -> tuple[Feeder, Ensemble, Any]:
    """Plan a chunk's realisations (see the module doc).

    Returns
    -------
    (Feeder, Ensemble, PowerFlowResult)
        The split feeder, the planned ensemble and its last solve.
    """
    from ...planning import plan_ensemble, plan_voltages
    from ...plugins import get_engine
    from .streams import CHUNK_KEY, concat_ensembles

    _, impedance = _models(sampling)
    if sampling.streams == "chunk":
        ss = np.random.SeedSequence(
            int(seed), spawn_key=(int(region), PLAN_KEY, CHUNK_KEY, int(chunk))
        )
        planned = plan_ensemble(feeder, ensemble, impedance, rng=np.random.default_rng(ss))
    else:  # one stream per realisation: the plan does not depend on the chunking
        parts = []
        for row, j in enumerate(np.asarray(realisations, dtype=np.int64).tolist()):
            ss = np.random.SeedSequence(int(seed), spawn_key=(int(region), PLAN_KEY, j))
            parts.append(
                plan_ensemble(
                    feeder, ensemble[row : row + 1], impedance, rng=np.random.default_rng(ss)
                )
            )
        planned = concat_ensembles(parts)
    planned, result = plan_voltages(feeder, planned, get_engine(engine), impedance, options=options)
    return feeder, planned, result
