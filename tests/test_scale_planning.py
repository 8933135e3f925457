"""Scale-out runs plan every realisation: the whole-extract case is feasible at its demand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bayesgrid_plugins.app.scale import OsmArea, PowerFlowTask, run
from bayesgrid_plugins.planning import MV_LIMITS_PU

#: 1 km of the embedded Monaco extract (one 13.8 kV feeder).
REGION = OsmArea("monaco-centre", (43.7384, 7.4246), 1000.0)


def _feasible(arrays: dict[str, np.ndarray]) -> np.ndarray:
    lo, hi = MV_LIMITS_PU
    with np.errstate(invalid="ignore"):
        return (
            np.asarray(arrays["converged"], dtype=bool)
            & (np.fmin.reduce(arrays["vm_min_pu"], axis=1) >= lo)
            & (np.fmax.reduce(arrays["vm_max_pu"], axis=1) <= hi)
            & ~(arrays["max_loading_percent"] > 100.0)
        )


@pytest.mark.slow
def test_planned_run_is_feasible_and_unplanned_is_not(tmp_path: Path) -> None:
    results = {}
    for plan in (False, True):
        results[plan] = run(
            PowerFlowTask(plan=plan),
            [REGION],
            n=6,
            seed=4,
            chunk_size=3,
            out=tmp_path / str(plan),
            serial=True,
        )
    old, new = results[False].results[0], results[True].results[0]
    # (the planned run samples the split feeder, whose zones differ: its demand is not the same)
    assert not _feasible(old).all()
    assert _feasible(new).all()
    assert results[True].settings_sha256 != results[False].settings_sha256


def test_cli_no_planning_reaches_the_task(tmp_path: Path) -> None:
    import json

    from bayesgrid_plugins.app.cli import main

    args = ["run", "-n", "2", "--chunk-size", "2", "--region", "43.7440,7.4280,150", "--serial"]
    assert main([*args, "--out", str(tmp_path / "a"), "--no-planning", "--seed", "1"]) == 0
    assert main([*args, "--out", str(tmp_path / "b"), "--seed", "1"]) == 0
    a = json.loads((tmp_path / "a" / "manifest.json").read_text())["settings"]["task"]
    b = json.loads((tmp_path / "b" / "manifest.json").read_text())["settings"]["task"]
    assert "plan" not in a and b["plan"] is True


def test_conditioned_sampler_keeps_the_place_demand_shares() -> None:
    from bayesgrid_plugins.app.scale import SamplingSettings, sample_realisations
    from bayesgrid_plugins.app.scale.regions import build_region_feeder
    from bayesgrid_plugins.errors import ParameterError

    feeder = build_region_feeder(OsmArea("small", (43.7440, 7.4280), 150.0))
    design = np.asarray(feeder.demand_kw, dtype=float)
    assert design.sum() > 0  # the place's demand, from the buildings
    sampling = SamplingSettings(sampler="conditioned", impedance=False)
    ens = sample_realisations(feeder, seed=2, region=0, realisations=range(4), sampling=sampling)
    totals = ens.p_kw.sum(axis=-1)
    ratio = totals.sum(axis=1) / design.sum()
    np.testing.assert_allclose(totals, ratio[:, None] * design[None, :], rtol=1e-9)
    assert np.ptp(ratio) > 0  # one level multiplier per realisation
    assert sampling.settings()["sampler"] == "conditioned"
    # the default: the place demand, conditioned (a default run's identity records it);
    # unconditioned runs of earlier versions keep their identity
    assert SamplingSettings().sampler == "conditioned"
    assert SamplingSettings().settings()["sampler"] == "conditioned"
    assert "sampler" not in SamplingSettings(sampler="unconditioned").settings()
    with pytest.raises(ParameterError, match="sampler"):
        SamplingSettings(sampler="other")
    # a region without a design demand gets the model's own P (said in the log)
    bare = feeder.with_demand(np.zeros(feeder.n_buses))
    got = sample_realisations(bare, seed=2, region=0, realisations=range(2), sampling=sampling)
    own = sample_realisations(
        bare,
        seed=2,
        region=0,
        realisations=range(2),
        sampling=SamplingSettings(sampler="unconditioned", impedance=False),
    )
    np.testing.assert_array_equal(got.p_kw, own.p_kw)


def test_bayesgrid_run_defaults_to_the_conditioned_sampler() -> None:
    import argparse

    from bayesgrid_plugins.app.cli_scale import add_run_command

    parser = argparse.ArgumentParser()
    add_run_command(parser.add_subparsers())
    args = parser.parse_args(["run", "--out", "x"])
    assert args.sampler == "conditioned"
    assert parser.parse_args(["run", "--out", "x", "--sampler", "unconditioned"]).sampler == (
        "unconditioned"
    )
