"""The planning tap of realisations whose first solve fails (a long, heavily loaded feeder)."""

from __future__ import annotations

import numpy as np

from bayesgrid_plugins import BayesianPowerModel, Feeder
from bayesgrid_plugins.feasibility import feasibility_of
from bayesgrid_plugins.planning import MV_LIMITS_PU, plan_ensemble, plan_voltages


def _long_feeder(n: int, seed: int) -> tuple[Feeder, object]:
    """A 60 km 13.8 kV chain with 1.7 MW balanced on its far third (near voltage collapse)."""
    buses = 31
    feeder = Feeder(
        [f"b{i}" for i in range(buses)], np.arange(buses) - 1, [0.0] + [2.0] * 30, vn_kv=13.8
    ).with_zones(10)
    ens = BayesianPowerModel().sample(feeder, n, rng=seed)
    far = np.zeros(buses)
    far[2 * buses // 3 :] = 1.0
    p = ens.p_kw.sum(axis=2, keepdims=True)
    p = np.where(p > 0, p, 0.1) * far[None, :, None] * np.full(3, 1.0 / 3.0)
    p = p * (1700.0 / p.sum(axis=(1, 2)))[:, None, None]
    ens = ens.with_fields(
        p_kw=p,
        q_kvar=0.3 * p,
        bus_phases=np.full_like(ens.bus_phases, 7),
        load_phases=np.repeat(np.where(far > 0, 7, 0)[None, :], n, axis=0).astype(
            ens.load_phases.dtype
        ),
    )
    return feeder, ens


def test_a_realisation_that_fails_at_the_neutral_tap_gets_the_top_tap() -> None:
    feeder, ens = _long_feeder(20, 8)
    planned = plan_ensemble(feeder, ens, rng=1)
    from bayesgrid_plugins.plugins import get_engine

    with get_engine("opendss").open(feeder, planned) as case:
        first = case.solve_batch([0])
    assert not first.converged[0]  # no solved case to set the tap from
    after, result = plan_voltages(feeder, planned, "opendss")
    # Tapped to the top of the MV band, realisation 0 converges and is brought into the band.
    record = feasibility_of(result, feeder)
    assert result.converged[0] and record.voltage_ok[0]
    assert MV_LIMITS_PU[0] - 1e-9 <= result.vm_min_pu[0].min()
    # Those that fail even there are reported as they are, with the tap at the top.
    lost = ~result.converged
    np.testing.assert_allclose(after.source_vm_pu[lost], MV_LIMITS_PU[1])
    assert result.converged.sum() >= 15
