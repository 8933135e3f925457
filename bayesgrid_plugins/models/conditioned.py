"""Conditioned sampling: phases and per-phase split of a *given* demand per bus.

The paper's model takes the topology and, optionally, the aggregated demand per bus as input.
When each load bus's total active power P [kW] and reactive power Q [kvar] are known (the
balanced loads of an existing net, or a user's table), only the phase allocation and the
per-phase split are sampled, for every realisation and every load bus at once:

1. ``c3 ~ Bernoulli(p3[zone])``: three-phase or single-phase. With a three-phase load class in
   the parameters, ``p3`` is the probability *given the bus's P* (Bayes' rule with the two
   classes' P densities): a large bus total makes a three-phase load likely, and a three-phase
   bus keeps its total;
2. a single-phase load's phase ``~ Categorical(pA, pB, pC)``, or, with balancing in the
   parameters, its lateral's phase chosen jointly with the other laterals
   (:mod:`bayesgrid_plugins.balancing`): all of P and Q go there;
3. a three-phase load's shares ``(rA, rB, rC) ~ Dirichlet(alpha)``: ``P r`` and ``Q r`` per
   phase. Q is split with the same shares as P, so every phase of a bus keeps the bus's own
   power factor.

Each bus's totals are kept exactly (to rounding: a few units of 1e-16 relative). Phase
consistency is then enforced as in :meth:`BayesianPowerModel.sample` (every bus gets the union
of the phases below it; the source, and any bus asked for, carries all three phases; a bus
with nothing below it takes its parent's phases). The power model's P and power-factor
distributions are used only when Q is not given (then ``Q = P tan(arccos PF)`` with one PF per
realisation, drawn as in the model).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..ensemble import Ensemble
from ..errors import FeederValidationError, ParameterError
from ..feeder import Feeder
from ..memory import check_realisations
from ..phases import PHASE_ABC
from .power import (
    BayesianPowerModel,
    PowerParameters,
    balance_phases,
    check_zones,
    choose_draws,
    consistent_bus_phases,
    draw_phases,
    draw_power_factor,
    draw_shares,
    load_masks,
    two_phase_loads,
)

__all__ = ["bus_totals", "sample_conditioned"]


def _parameters(model: Any) -> PowerParameters:
    if model is None:
        return PowerParameters.default()
    if isinstance(model, PowerParameters):
        return model
    if isinstance(model, BayesianPowerModel):
        return model.parameters
    if isinstance(model, (str, os.PathLike)):
        return PowerParameters.load(model)
    raise ParameterError(
        f"model must be a BayesianPowerModel, PowerParameters or a parameter file, got "
        f"{type(model).__name__}."
    )


def _per_bus(feeder: Feeder, name: str, values: Any) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.shape != (feeder.n_buses,):
        raise ParameterError(
            f"{name} has shape {arr.shape}; expected ({feeder.n_buses},): one total per bus of "
            "the feeder (0 where a bus has no load). Use bus_totals() to sum a table of loads."
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ParameterError(
            f"{name} is not finite at buses {feeder.bus_id[bad][:10].tolist()}: give every bus "
            "a finite total."
        )
    return arr


def bus_totals(
    feeder: Feeder,
    bus_ids: Iterable[Any],
    p_kw: Any,
    q_kvar: Any = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Sum a table of loads into one total per feeder bus.

    Parameters
    ----------
    feeder : Feeder
        The topology.
    bus_ids : iterable
        The bus of each load (matched against ``feeder.bus_id`` as text).
    p_kw : array-like, shape (n_loads,)
        Active power of each load [kW].
    q_kvar : array-like, shape (n_loads,), optional
        Reactive power of each load [kvar].

    Returns
    -------
    p_bus, q_bus : ndarray, shape (n_buses,)
        Totals per bus [kW, kvar] (0 where no load); ``q_bus`` is None when ``q_kvar`` is.

    Raises
    ------
    FeederValidationError
        If a load names a bus the feeder does not have.
    """
    ids = [str(b) for b in bus_ids]
    p = np.asarray(p_kw, dtype=float).ravel()
    if p.size != len(ids):
        raise ParameterError(f"p_kw has {p.size} entries for {len(ids)} loads in bus_ids.")
    lookup = {b: i for i, b in enumerate(feeder.bus_id.tolist())}
    unknown = sorted({b for b in ids if b not in lookup})
    if unknown:
        raise FeederValidationError(
            f"loads name buses {unknown[:10]} that are not in the feeder: use the feeder's bus ids."
        )
    pos = np.asarray([lookup[b] for b in ids], dtype=np.int64)
    p_bus = np.bincount(pos, weights=p, minlength=feeder.n_buses)
    if q_kvar is None:
        return p_bus, None
    q = np.asarray(q_kvar, dtype=float).ravel()
    if q.size != len(ids):
        raise ParameterError(f"q_kvar has {q.size} entries for {len(ids)} loads in bus_ids.")
    return p_bus, np.bincount(pos, weights=q, minlength=feeder.n_buses)


def sample_conditioned(
    feeder: Feeder,
    p_kw: Any,
    q_kvar: Any = None,
    n: int = 1,
    *,
    model: BayesianPowerModel | PowerParameters | str | os.PathLike[str] | None = None,
    rng: Any = None,
    zones: np.ndarray | None = None,
    three_phase: np.ndarray | None = None,
    draws: np.ndarray | None = None,
    three_phase_loads: np.ndarray | None = None,
) -> Ensemble:
    """Sample phases and per-phase loads that keep each bus's total P and Q.

    Parameters
    ----------
    feeder : Feeder
        The topology. Its zones must match the parameters' zones (``feeder.with_zones``).
    p_kw : array-like, shape (n_buses,)
        Total active power of each bus [kW]; non-negative. Buses with P = Q = 0 carry no load.
    q_kvar : array-like, shape (n_buses,), optional
        Total reactive power of each bus [kvar]. Default: ``P tan(arccos PF)`` with one power
        factor per realisation drawn from the model.
    n : int, default 1
        Number of realisations.
    model : BayesianPowerModel, PowerParameters or path, optional
        The power model (for example from :func:`~bayesgrid_plugins.scenarios.scenario_parameters`);
        default the shipped parameters.
    rng : seed or numpy.random.Generator, optional
        Anything :func:`numpy.random.default_rng` accepts.
    zones : ndarray of int, shape (n_buses,), optional
        Zone of every bus, overriding ``feeder.zone``.
    three_phase : ndarray of bool, shape (n_buses,), optional
        Buses that must carry all three phases whatever their loads (for example buses on a
        loop of a meshed net, or the buses of further external grids); consistency then
        widens the path above them too.
    draws : ndarray of int, shape (n,), optional
        Posterior draw of each realisation (default: drawn at random); the feeders of one
        area pass the same draws.
    three_phase_loads : ndarray of bool, shape (n_buses,), optional
        Buses whose load is three-phase in every realisation (for example loads too large for
        a single-phase connection); their shares are still drawn from the model.

    Returns
    -------
    Ensemble
        ``p_kw`` and ``q_kvar`` per phase with ``p_kw.sum(-1) == p_kw_total`` at every bus and
        realisation; ``power_factor`` is the feeder's aggregate ``P / |S|`` per realisation.

    Raises
    ------
    ParameterError
        If a total is negative (P) or not finite, or has the wrong shape, or zones do not
        match the parameters.

    Examples
    --------
    >>> from bayesgrid_plugins import Feeder, sample_conditioned
    >>> feeder = Feeder.from_edges([("s", "a", 0.1), ("a", "b", 0.05)], "s")  # lengths [km]
    >>> ensemble = sample_conditioned(feeder, [0.0, 4.0, 2.5], [0.0, 1.0, 0.5], n=5, rng=1)
    >>> ensemble.p_kw.sum(-1)[0]  # each bus keeps its total [kW]
    array([0. , 4. , 2.5])
    """
    params = _parameters(model)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"n must be a positive integer number of realisations, got {n!r}.")
    n = int(n)
    check_realisations(n, feeder.n_buses)
    p_bus = _per_bus(feeder, "p_kw", p_kw)
    negative = p_bus < 0
    if negative.any():
        raise ParameterError(
            f"p_kw is negative at buses {feeder.bus_id[negative][:10].tolist()}: loads draw "
            "power; model generation separately (for example as static generators)."
        )
    q_bus = None if q_kvar is None else _per_bus(feeder, "q_kvar", q_kvar)
    zone = check_zones(params, feeder, zones)
    live = p_bus != 0 if q_bus is None else (p_bus != 0) | (q_bus != 0)
    loads = np.flatnonzero(live)
    if loads.size == 0:
        raise ParameterError("every bus total is zero: there is no load to unbalance.")
    rng = np.random.default_rng(rng)
    draw = choose_draws(params, n, rng, draws)
    three, phase = draw_phases(params, draw, zone[loads], rng, p_kw=p_bus[loads])
    if three_phase_loads is not None:
        big = np.asarray(three_phase_loads, dtype=bool)
        if big.shape != (feeder.n_buses,):
            raise ParameterError(
                f"three_phase_loads has shape {big.shape}; expected ({feeder.n_buses},)."
            )
        three = three | big[loads][np.newaxis, :]
    share = draw_shares(params, draw, three, phase, rng)
    pair, share = two_phase_loads(params, draw, three, share, rng)
    demand = np.broadcast_to(p_bus[loads], three.shape)
    multi = three | (pair > 0)
    phase, share = balance_phases(params, draw, feeder, loads, multi, phase, share, demand, rng)

    p_kw_out = np.zeros((n, feeder.n_buses, 3))
    q_kvar_out = np.zeros((n, feeder.n_buses, 3))
    p_kw_out[:, loads] = p_bus[loads][np.newaxis, :, np.newaxis] * share
    if q_bus is None:
        pf = draw_power_factor(params, draw, rng)
        q_kvar_out[:, loads] = p_kw_out[:, loads] * np.tan(np.arccos(pf))[:, None, None]
    else:
        q_kvar_out[:, loads] = q_bus[loads][np.newaxis, :, np.newaxis] * share
        s = np.hypot(p_bus.sum(), q_bus.sum())
        pf = np.full(n, p_bus.sum() / s if s > 0 else 1.0)

    load_phases = np.zeros((n, feeder.n_buses), dtype=np.uint8)
    load_phases[:, loads] = np.where(pair > 0, pair, load_masks(three, phase))
    wanted = load_phases.copy()
    if three_phase is not None:
        forced = np.asarray(three_phase, dtype=bool)
        if forced.shape != (feeder.n_buses,):
            raise ParameterError(
                f"three_phase has shape {forced.shape}; expected ({feeder.n_buses},)."
            )
        wanted[:, forced] = PHASE_ABC
    bus_phases = consistent_bus_phases(feeder, wanted)
    return Ensemble(
        bus_id=feeder.bus_id,
        source=feeder.source,
        load_phases=load_phases,
        bus_phases=bus_phases,
        p_kw=p_kw_out,
        q_kvar=q_kvar_out,
        power_factor=pf,
        draw=draw,
        metadata={
            "power_model": params.provenance.get("id"),
            "scenario": params.provenance.get("scenario"),
            "n_zones": params.n_zones,
            "conditioned": True,
        },
    )
