"""Planning of an area per realisation: conductors and transformers sized to the sampled demand.

An area is planned for a fixed planning demand when it is built (:mod:`.partition`: feeders of at
most 4 MW and 8 km, LV networks of at most 400 kW and 400 m), but the demand of each realisation
is sampled. :func:`plan_area` sizes the equipment of every realisation for its own demand with
the single-feeder rules of :mod:`bayesgrid_plugins.planning` (every number and its source is
stated there):

- **Conductors** of every MV and LV line: drawn among the impedance model's types whose
  ampacity covers 1.25 times the downstream peak current
  (:func:`~bayesgrid_plugins.planning.plan_ensemble`), per feeder, all realisations at once.
- **MV/LV transformers**: the smallest standard rating that carries 1.25 times three times the
  downstream apparent power of the heaviest phase
  (:func:`~bayesgrid_plugins.planning.plan_transformers`).
- **HV/MV transformers**: the substation's transformer type (:data:`.equipment.HV_MV_TRAFOS`,
  per-unit data kept) re-rated to the smallest of its standard ratings (25, 40, 63 MVA) that
  carries 1.25 times the apparent power of the substation's feeders at their heads (all phases),
  and above 63 MVA as many 63 MVA units in parallel as needed (recorded as their total rating).

- **Voltages** (:func:`plan_area_voltages`, when an engine is given): each feeder is solved on
  its own from its substation busbar at 1 p.u. (the HV/MV transformer's on-load tap changer holds
  the busbar there); in every realisation with a bus outside its level's limits (0.95-1.05 p.u.
  MV, 0.90-1.10 p.u. LV, :class:`~bayesgrid_plugins.planning.PlanningRules`) or that does not
  converge, every line on a path from the busbar to a violating bus gets the adequate conductor
  of next lower impedance (one more parallel circuit at the top of the menu), until none is left
  or :data:`MAX_AREA_VOLTAGE_ROUNDS` rounds are used. There is no per-feeder tap: the feeders of
  a substation share its busbar.

Large customers get their own transformer when the area is built (:mod:`.partition`,
``own_site_kw``); the plan is recorded per realisation in each feeder's ensemble
(``line_type``, ``n_parallel``, ``trafo_sn_mva``, ``metadata["planning"]``) and in
:attr:`~.build.AreaEnsemble.hv_mv_sn_mva`, so the combined systems and the exports carry it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ParameterError
from ..planning import (
    PlanningRules,
    conductor_arrays,
    downstream_current_ka,
    downstream_power_kva,
    impedance_parameters,
    is_transformer,
    plan_ensemble,
    subtree_sum,
    voltage_violations,
)
from .equipment import HV_MV_TRAFOS

if TYPE_CHECKING:
    from .build import Area, AreaEnsemble

__all__ = [
    "MAX_AREA_VOLTAGE_ROUNDS",
    "hv_mv_ratings_mva",
    "plan_area",
    "plan_area_voltages",
    "substation_power_kva",
]

#: Rounds of path upgrades of the area's voltage step.
MAX_AREA_VOLTAGE_ROUNDS = 8

logger = logging.getLogger(__name__)


def substation_power_kva(area: Area, ensemble: AreaEnsemble) -> np.ndarray:
    """Apparent power [kVA] leaving each substation's MV busbar, shape (n, n_substations).

    The sum over the substation's feeders of the complex power below their heads (the
    source's downstream power, all phases; losses are left to the planning margin).
    """
    n = ensemble.n_realisations
    total = np.zeros((n, len(area.substations)), dtype=np.complex128)
    for f, ens in zip(area.feeders, ensemble.ensembles):
        power = downstream_power_kva(f.feeder, ens)[:, f.feeder.source, :].sum(axis=1)
        total[:, f.substation] += power
    return np.abs(total)


def hv_mv_ratings_mva(
    power_kva: np.ndarray, *, margin: float, ratings_mva: tuple[float, ...] | None = None
) -> np.ndarray:
    """Rating [MVA] of each substation transformer for its apparent power ``power_kva`` [kVA].

    The smallest of ``ratings_mva`` (default the HV/MV types' ratings) that carries ``margin``
    times the power; above the largest, as many units of the largest in parallel as needed
    (their total rating).
    """
    ratings = np.asarray(
        [t.sn_mva for t in HV_MV_TRAFOS] if ratings_mva is None else ratings_mva, dtype=float
    )
    need = margin * np.asarray(power_kva, dtype=float) / 1000.0
    pos = np.searchsorted(ratings, need, side="left")
    units = np.maximum(np.ceil(need / ratings[-1]), 1.0)
    return np.where(
        pos < ratings.size, ratings[np.minimum(pos, ratings.size - 1)], ratings[-1] * units
    )


def plan_area(
    area: Area,
    ensemble: AreaEnsemble,
    impedance: Any = None,
    *,
    rng: Any = None,
    rules: PlanningRules | None = None,
) -> AreaEnsemble:
    """Conductors and transformers of every feeder and substation, sized per realisation.

    Parameters
    ----------
    area : Area
        The area.
    ensemble : AreaEnsemble
        Its sampled realisations (:func:`~bayesgrid_plugins.area.sample_area`).
    impedance : BayesianImpedanceModel or ImpedanceParameters, optional
        The conductor menu and its posterior (default: the shipped one).
    rng : seed or numpy.random.Generator, optional
        Seeds one stream per feeder (``SeedSequence`` spawn), so a feeder's plan does not
        depend on the others.
    rules : PlanningRules, optional

    Returns
    -------
    AreaEnsemble
        Every feeder's ensemble planned (:func:`~bayesgrid_plugins.planning.plan_ensemble`) and
        ``hv_mv_sn_mva`` set; ``plan`` holds the rules.

    Examples
    --------
    >>> from bayesgrid_plugins.area import area_from_osm, plan_area, sample_area
    >>> area = area_from_osm(dist_m=600)  # doctest: +SKIP
    >>> planned = plan_area(area, sample_area(area, 3, rng=1, plan=False), rng=2)  # doctest: +SKIP
    """
    from .build import AreaEnsemble

    rules = rules or PlanningRules()
    if len(ensemble.ensembles) != area.n_feeders:
        raise ParameterError(
            f"ensemble has {len(ensemble.ensembles)} feeders but the area {area.n_feeders}; "
            "sample it with sample_area(area, n)."
        )
    seq = rng if isinstance(rng, np.random.SeedSequence) else None
    if seq is None:
        seed = np.random.default_rng(rng).integers(2**63)
        seq = np.random.SeedSequence(int(seed))
    streams = seq.spawn(area.n_feeders)
    planned = []
    for f, ens, stream in zip(area.feeders, ensemble.ensembles, streams):
        if ens.n_buses != f.feeder.n_buses:
            raise ParameterError("ensemble feeders are not aligned with area.feeders.")
        planned.append(plan_ensemble(f.feeder, ens, impedance, rng=stream, rules=rules))
    out = replace(ensemble, ensembles=planned)
    hv_mv = hv_mv_ratings_mva(substation_power_kva(area, out), margin=rules.margin)
    record = {**rules.as_dict(), "hv_mv_ratings_mva": [t.sn_mva for t in HV_MV_TRAFOS]}
    logger.info(
        "planned %d feeders of %d realisations; substation ratings %.0f-%.0f MVA",
        area.n_feeders,
        out.n_realisations,
        float(hv_mv.min()) if hv_mv.size else 0.0,
        float(hv_mv.max()) if hv_mv.size else 0.0,
    )
    return AreaEnsemble(planned, ensemble.seed, hv_mv_sn_mva=hv_mv, plan=record)


def _next_conductor(params: Any, types: np.ndarray, need_ka: np.ndarray) -> np.ndarray:
    """Adequate type of next lower |Z1| for each line (-1: none left)."""
    z = np.hypot(params.r1_ohm_per_km, params.x1_ohm_per_km)
    amp = np.asarray(params.max_i_ka, dtype=float)
    ok = (z[None, :] < z[types][:, None]) & (amp[None, :] >= need_ka[:, None])
    best = np.where(ok, z[None, :], -np.inf).argmax(axis=1)
    return np.where(ok.any(axis=1), best, -1)


def _upgrade_feeder(
    feeder: Any, ens: Any, engine: Any, params: Any, rules: PlanningRules, options: Any
) -> tuple[Any, int, int]:
    """The voltage step of one feeder (see the module doc); returns (ensemble, rounds, bad)."""
    if ens.line_type is None or ens.n_parallel is None:
        raise ParameterError("plan the area first (plan_area) before its voltage step.")
    need = rules.margin * downstream_current_ka(feeder, ens)
    types = ens.line_type.copy()
    n_parallel = ens.n_parallel.copy()
    line = (types >= 0) & ~is_transformer(feeder)[None, :]
    rows = np.arange(len(ens))
    rounds = 0
    bad_rows = np.zeros(0, dtype=np.int64)
    for it in range(MAX_AREA_VOLTAGE_ROUNDS + 1):
        with engine.open(feeder, ens, options=options) as case:
            result = case.solve_batch(rows)
        failed = ~np.asarray(result.converged, dtype=bool)
        viol = voltage_violations(feeder, result.vm_pu, rules)
        viol[failed] = np.asarray(feeder.vn_kv) <= np.asarray(feeder.vn_kv).min() + 1e-9
        bad = viol.any(axis=1)
        bad_rows = rows[bad]
        if not bad.any() or it == MAX_AREA_VOLTAGE_ROUNDS:
            break
        rounds = it + 1
        # Lines above any violating bus: a subtree holding one.
        below = subtree_sum(feeder, viol[bad].astype(np.float64)[:, :, None])[:, :, 0] > 0
        sel = below & line[bad_rows]
        r, b = np.nonzero(sel)
        rr = bad_rows[r]
        nxt = _next_conductor(params, types[rr, b], need[rr, b])
        types[rr, b] = np.where(nxt >= 0, nxt, types[rr, b])
        n_parallel[rr, b] += nxt < 0
        arrays = conductor_arrays(params, types, n_parallel, rng=0 if params.variation else None)
        same = (ens.line_type == types) & (ens.n_parallel == n_parallel)
        arrays = {
            k: np.where(same, getattr(ens, k), v) if getattr(ens, k) is not None else v
            for k, v in arrays.items()
        }
        ens = ens.with_fields(**arrays, line_type=types.copy(), n_parallel=n_parallel.copy())
        rows = bad_rows
    return ens, rounds, int(bad_rows.size)


def plan_area_voltages(
    area: Area,
    ensemble: AreaEnsemble,
    engine: Any,
    impedance: Any = None,
    *,
    rules: PlanningRules | None = None,
    options: Any = None,
) -> AreaEnsemble:
    """Upgrade conductors of a planned area until every feeder is within voltage limits.

    Parameters
    ----------
    area : Area
    ensemble : AreaEnsemble
        Planned by :func:`plan_area`.
    engine : Engine or str
        The engine that solves each feeder (an object of the engine protocol, or its name).
    impedance : BayesianImpedanceModel or ImpedanceParameters, optional
        The conductor menu the area was planned with (default: the shipped one).
    rules : PlanningRules, optional
    options : mapping, optional
        Engine options.

    Returns
    -------
    AreaEnsemble
        With upgraded conductors; ``plan`` records the rounds and the realisations still
        outside limits per feeder (solved on its own).
    """
    from .build import AreaEnsemble

    rules = rules or PlanningRules()
    if isinstance(engine, str):
        from ..plugins import get_engine

        engine = get_engine(engine)
    params = impedance_parameters(impedance)
    out, rounds, left = [], 0, 0
    for f, ens in zip(area.feeders, ensemble.ensembles):
        feeder = (
            f.feeder if params.n_zones == f.feeder.n_zones else f.feeder.with_zones(params.n_zones)
        )
        planned, r, bad = _upgrade_feeder(feeder, ens, engine, params, rules, options)
        out.append(planned)
        rounds, left = max(rounds, r), left + bad
    if left:
        logger.warning(
            "%d feeder realisations stay outside the voltage limits after %d rounds",
            left,
            MAX_AREA_VOLTAGE_ROUNDS,
        )
    record = {**(ensemble.plan or {}), "voltage_rounds": rounds, "feeder_realisations_left": left}
    return AreaEnsemble(out, ensemble.seed, hv_mv_sn_mva=ensemble.hv_mv_sn_mva, plan=record)
