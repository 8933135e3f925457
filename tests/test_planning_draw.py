"""Planning's vectorised internals against direct formulations of the same rules."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_tree

import bayesgrid_plugins.planning as planning
from bayesgrid_plugins import BayesianPowerModel, Feeder
from bayesgrid_plugins.models.impedance import ImpedanceParameters, sample_type_probs
from bayesgrid_plugins.phases import n_phases
from bayesgrid_plugins.planning import (
    choose_conductors,
    conductor_arrays,
    downstream_current_ka,
    downstream_power_kva,
    plan_ensemble,
    plan_transformers,
)


def _reference_types(
    feeder: Feeder, masks: np.ndarray, params: ImpedanceParameters, need: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The documented rule, line by line in arrays (n, b, T): inverse CDF of the adequate part.

    Draws the same stream as ``choose_conductors``: posterior draw per realisation, Dirichlet
    type probabilities, one uniform per line.
    """
    rng = np.random.default_rng(seed)
    n, b = masks.shape
    t = params.n_types
    draw = rng.integers(params.n_draws, size=n)
    probs = sample_type_probs(params.alpha, draw, rng)
    u = rng.random((n, b))
    by_amp = np.argsort(params.max_i_ka, kind="stable")
    amp = params.max_i_ka[by_amp]
    k = np.clip(n_phases(masks), 1, 3) - 1
    p = probs[np.arange(n)[:, None], k, feeder.zone[None, :]][..., by_amp]  # (n, b, T)
    cum = np.concatenate([np.zeros((n, b, 1)), np.cumsum(p, axis=-1)], axis=-1)
    level = np.minimum(np.searchsorted(amp, need), t)
    lo = np.take_along_axis(cum, level[..., None], axis=-1)[..., 0]
    hi = cum[..., t]
    x = lo + u * (hi - lo)
    rank = (cum[..., 1:t] <= x[..., None]).sum(axis=-1)
    # Rounding can land x on the top bound behind a type of probability zero: the most
    # probable adequate type instead.
    weight = np.take_along_axis(np.diff(cum, axis=-1), rank[..., None], axis=-1)[..., 0]
    adequate = np.where(np.arange(t) >= level[..., None], np.diff(cum, axis=-1), 0.0)
    rank = np.where((weight <= 0) & (hi > lo), adequate.argmax(axis=-1), rank)
    types = np.where(hi > lo, by_amp[rank], by_amp[np.minimum(level, t - 1)])
    n_par = np.where((hi > lo) | (level < t), 1, np.ceil(need / amp[-1]).astype(np.int64))
    none = n_phases(masks) == 0
    none[:, feeder.source] = True
    return np.where(none, -1, types), np.where(none, 0, n_par)


def test_conductor_draw_is_the_exact_inverse_cdf_of_the_adequate_types() -> None:
    # Design currents that leave only types of tiny probability adequate on many lines, in
    # many realisations: the rank of a uniform among cumulative bounds that differ by less
    # than 1e-11 must still be exact (a search over bounds shifted by the cell index was not).
    feeder = random_tree(120, seed=4).with_zones(10)
    params = ImpedanceParameters.default()
    ens = BayesianPowerModel().sample(feeder, 400, rng=6)
    current = np.random.default_rng(7).uniform(0.0, 0.9, (400, feeder.n_buses))
    types, n_par = choose_conductors(feeder, ens, params, rng=11, current_ka=current)
    want_types, want_par = _reference_types(feeder, ens.bus_phases, params, 1.25 * current, 11)
    assert (n_par == want_par).all()
    assert (types == want_types).all()


def test_grouped_downstream_sums_equal_the_sums_at_every_bus() -> None:
    # MV chain, a transformer, LV branches and buses without load below them.
    parent = [-1, 0, 1, 2, 3, 4, 4, 6, 6, 3, 9, 1]
    vn = [11, 11, 11, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 11]
    feeder = Feeder(
        [f"b{i}" for i in range(12)],
        parent,
        [0.0] + [0.05] * 11,
        vn_kv=vn,
        is_load=[False, False, False, False, False, True, False, True, True, False, False, False],
    )
    ens = BayesianPowerModel().sample(feeder, 25, rng=3)
    power = downstream_power_kva(feeder, ens)
    full = downstream_current_ka(feeder, ens, power_kva=power)
    grouped = downstream_current_ka(feeder, ens)
    np.testing.assert_array_equal(grouped, full)
    assert (full[:, [5, 7, 8]] > 0).all() and (full[:, [9, 10, 11]] == 0).all()
    np.testing.assert_array_equal(
        plan_transformers(feeder, ens), plan_transformers(feeder, ens, power_kva=power)
    )
    groups = planning._load_groups(feeder, np.flatnonzero(feeder.is_load))
    # The cable 3-4 carries the same load as 4 (one group); 1 and 2 at 11 kV are another, as
    # the transformer's LV bus 3 is not at their voltage.
    assert groups.bus_group[4] == groups.bus_group[3] != groups.bus_group[2]
    assert groups.bus_group[1] == groups.bus_group[2]


@pytest.mark.parametrize("sparse_limit", [0, 10**9])
def test_plan_ensemble_draws_what_choose_conductors_draws(
    monkeypatch: pytest.MonkeyPatch, sparse_limit: int
) -> None:
    monkeypatch.setattr(planning, "_SPARSE_NNZ_PER_BUS", sparse_limit)
    feeder = random_tree(150, seed=2).with_zones(10)
    feeder = feeder.with_loads(np.random.default_rng(1).random(feeder.n_buses) < 0.3)
    ens = BayesianPowerModel().sample(feeder, 60, rng=4)
    ens = ens.with_fields(p_kw=ens.p_kw * 40, q_kvar=ens.q_kvar * 40)
    params = ImpedanceParameters.default()
    planned = plan_ensemble(feeder, ens, params, rng=9)
    type_rng, _ = np.random.default_rng(9).spawn(2)
    current = downstream_current_ka(feeder, ens, power_kva=downstream_power_kva(feeder, ens))
    types, n_par = choose_conductors(feeder, ens, params, rng=type_rng, current_ka=current)
    np.testing.assert_array_equal(planned.line_type, types)
    np.testing.assert_array_equal(planned.n_parallel, n_par)
    assert (n_par > 1).any()


def test_conductor_arrays_of_parallel_circuits(monkeypatch: pytest.MonkeyPatch) -> None:
    params = ImpedanceParameters.default()
    rng = np.random.default_rng(5)
    types = rng.integers(-1, params.n_types, (30, 40))
    n_par = np.where(types >= 0, rng.integers(1, 5, types.shape), 0)
    fast = conductor_arrays(params, types, n_par)
    monkeypatch.setattr(planning, "_MAX_CIRCUIT_TABLE", 0)
    slow = conductor_arrays(params, types, n_par)
    for name, values in slow.items():
        np.testing.assert_array_equal(fast[name], values)
    assert np.isnan(fast["r1_ohm_per_km"][types < 0]).all()
    k = n_par[types >= 0]
    np.testing.assert_array_equal(
        fast["max_i_ka"][types >= 0], params.max_i_ka[types[types >= 0]] * k
    )
    with pytest.raises(ValueError, match="type indices"):
        conductor_arrays(params, np.full((2, 2), params.n_types), np.ones((2, 2), int))
