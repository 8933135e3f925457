"""Validation suite: known answers, transfer to real feeders, feasibility, structure, CLI."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

from bayesgrid_plugins.app.validation import (
    MODES,
    RealFeeder,
    compare,
    compare_structure,
    consistency_violations,
    feeder_structure,
    ks_distance,
    load_real_feeder,
    load_statistics,
    mape_percent,
    real_ensemble,
    resolve_posterior,
    single_level,
    summarise,
    table_i,
    table_ii,
    transfer,
)
from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import OutputExistsError, ParameterError
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.learn.table import make_training_table
from bayesgrid_plugins.phases import check_phase_consistency
from bayesgrid_plugins.results import PowerFlowResult

DATA = Path(f"{SHARED_DATA}/feeders")
TST = DATA / "electricdss-tst/Version8/Distrib/IEEETestCases"
IEEE13 = TST / "13Bus/IEEE13Nodeckt.dss"
IEEE123 = TST / "123Bus/IEEE123Master.dss"
EU_LV = DATA / "pandapower/IEEE_European_LV_On_Peak_566.json"
needs_data = pytest.mark.skipif(not TST.is_dir(), reason="shared feeder data not available")


# ----------------------------------------------------------------------------- hand-built case
def _hand_real() -> RealFeeder:
    """Source s; s-a-b, a-c, s-d, d-e; loads A 1 kW at b, B 2 kW at c, C 3 kW at d, ABC at e."""
    feeder = Feeder.from_edges(
        [("s", "a", 1.0), ("a", "b", 0.5), ("a", "c", 2.0), ("s", "d", 1.0), ("d", "e", 0.2)],
        "s",
        loads=["b", "c", "d", "e"],
    )
    p = np.array([[1.0, 0, 0], [0, 2.0, 0], [0, 0, 3.0], [1.0, 1.0, 1.0]])
    table = make_training_table(
        feeder,
        system="hand",
        load_id=["lb", "lc", "ld", "le"],
        load_bus=feeder.index_of(["b", "c", "d", "e"]),
        load_phases=[1, 2, 4, 7],
        p_kw=p,
        q_kvar=0.3 * p,
        line_id=["la", "lb", "lc", "ld", "le"],
        line_bus=feeder.index_of(["a", "b", "c", "d", "e"]),
        line_phases=[7, 1, 2, 7, 7],
    )
    return RealFeeder("hand", "opendss", feeder, table)


def test_statistics_of_a_hand_built_feeder_are_the_known_values() -> None:
    real = _hand_real()
    stats = load_statistics(real.feeder, real_ensemble(real))
    assert stats.n_loads == 4
    assert stats.p3 == pytest.approx(0.25)
    np.testing.assert_allclose(stats.phase_shares, [1 / 3, 1 / 3, 1 / 3])
    # Phase total over loads on the phase, the three-phase load counting a third on each.
    np.testing.assert_allclose(stats.mean_p_kw, [2 / (4 / 3), 3 / (4 / 3), 4 / (4 / 3)])
    # Over the loads connected to it: A (1 + 1) / 2, B (2 + 1) / 2, C (3 + 1) / 2.
    np.testing.assert_allclose(stats.mean_p_connected_kw, [1.0, 1.5, 2.0])
    np.testing.assert_allclose(stats.mean_p_all_kw, [2 / 4, 3 / 4, 4 / 4])
    np.testing.assert_allclose(np.sort(stats.total_p_kw), [1.0, 2.0, 3.0, 3.0])
    # Five lines: a, d, e three-phase; b on A; c on B.
    np.testing.assert_allclose(stats.line_mix[[1, 2, 7]], [0.2, 0.2, 0.6])


def test_errors_of_a_known_change_are_the_known_values() -> None:
    real = _hand_real()
    ens = real_ensemble(real)
    # Phase A doubled (the loads at b and e), and the load at c moved from B to C.
    p = ens.p_kw.copy()
    p[..., 0] *= 2.0
    c_bus = real.feeder.index_of(["c"])[0]
    p[0, c_bus] = [0.0, 0.0, 2.0]
    masks = ens.load_phases.copy()
    masks[0, c_bus] = 4
    changed = dataclasses.replace(ens, p_kw=p, load_phases=masks, bus_phases=ens.bus_phases | 4)
    c = compare(load_statistics(real.feeder, ens), load_statistics(real.feeder, changed))
    # Real means per load on a phase: A 2 / (4/3), B 3 / (4/3), C 4 / (4/3) kW. Changed: A 4 kW
    # over 4/3 loads (+100 %), B 1 kW over 1/3 load (3 vs 2.25), C 6 kW over 7/3 loads (vs 3).
    expected = [100.0, 100 * (3 - 2.25) / 2.25, 100 * (3 - 6 / (7 / 3)) / 3]
    np.testing.assert_allclose(c.mape_percent, expected)
    np.testing.assert_allclose(c.phase_share_abs_error, [0.0, 1 / 3, 1 / 3])
    assert c.p3_abs_error == 0.0
    # per-load totals: real 1, 2, 3, 3; changed 2, 2, 3, 4: two of four moved
    assert c.ks_p == pytest.approx(0.25)


def test_sampling_errors_of_a_hand_built_feeder_are_the_known_values() -> None:
    from bayesgrid_plugins.app.validation.skill import sampling_errors, table_sampling_errors

    ens = real_ensemble(_hand_real())
    err = sampling_errors(ens, n_boot=2000, seed=1)
    # per-load P on each phase: A (1, 0, 0, 1), B (0, 2, 0, 1), C (0, 0, 3, 1); the bootstrap
    # standard error of a total of four loads is sqrt(4) std(x) (population std)
    x = np.array([[1, 0, 0, 1], [0, 2, 0, 1], [0, 0, 3, 1]], dtype=float)
    rel = 2 * x.std(axis=1) / x.sum(axis=1)
    assert err["total_pct"] == pytest.approx(100 * rel.max())
    assert err["p3"] == pytest.approx(np.sqrt(0.25 * 0.75 / 4))
    assert err["shares"] == pytest.approx(np.sqrt((1 / 3) * (2 / 3) / 3))
    # brute force: the bootstrap of max/mean, with its own Monte Carlo error (2000 resamples)
    rng = np.random.default_rng(5)
    boot = x.T[rng.integers(4, size=(20000, 4))].sum(axis=1)
    ratio = boot.max(axis=1) / boot.mean(axis=1)
    assert err["balance"] == pytest.approx(ratio.std(), rel=4 / np.sqrt(2000))
    # a target below twice its sampling error is named, the targets are not changed
    text = table_sampling_errors({"hand": ens}, fmt="markdown")
    assert "total_pct, p3, shares, balance" in text


def test_mape_and_ks_basics() -> None:
    np.testing.assert_allclose(mape_percent([1.0, 2.0], [1.1, 1.8]), [10.0, 10.0])
    assert np.isnan(mape_percent(0.0, 1.0))
    assert ks_distance([1, 2, 3], [3, 2, 1]) == 0.0
    assert ks_distance([1, 2, 3], [4, 5, 6]) == 1.0


def test_conditioned_transfer_keeps_every_load_total() -> None:
    real = _hand_real()
    out = transfer(real, "smartds-counting", n=200, rng=3)
    cond = out["conditioned"].comparison
    # every realisation carries the real per-bus totals: the distributions of P coincide
    assert cond.ks_p == 0.0
    np.testing.assert_allclose(cond.synthetic.mean_p_all_kw.sum(), cond.real.mean_p_all_kw.sum())
    assert out["unconditioned"].comparison.ks_p > 0.3  # SMART-DS kW, not these loads
    for result in out.values():
        assert result.violations.sum() == 0


def test_unknown_posterior_and_mode_are_refused() -> None:
    with pytest.raises(ParameterError, match="shipped posterior"):
        resolve_posterior("no-such-posterior")
    with pytest.raises(ParameterError, match="modes"):
        transfer(_hand_real(), "smartds", n=2, modes=("sideways",))


def test_consistency_violations_counts_independently() -> None:
    real = _hand_real()
    ens = real_ensemble(real)
    assert consistency_violations(real.feeder, ens).tolist() == [0]
    bad_phases = ens.bus_phases.copy()
    bad_phases[0, real.feeder.index_of(["a"])[0]] = 1  # a lacks B, which c below it has
    bad = Ensemble(
        bus_id=ens.bus_id,
        source=ens.source,
        load_phases=ens.load_phases,
        bus_phases=bad_phases,
        p_kw=ens.p_kw,
        q_kvar=ens.q_kvar,
        power_factor=ens.power_factor,
        draw=ens.draw,
    )
    assert consistency_violations(real.feeder, bad).tolist() == [1]


# ----------------------------------------------------------------------------- structure
def test_structure_of_a_small_feeder(small_feeder: Feeder) -> None:
    s = feeder_structure(small_feeder.with_loads(np.array([0, 0, 1, 1, 1], bool)), name="small")
    np.testing.assert_allclose(np.sort(s.line_length_km), [0.5, 1.0, 1.0, 2.0])
    assert s.total_length_km == pytest.approx(4.5)
    assert s.length_per_load_km == pytest.approx(1.5)
    np.testing.assert_array_equal(s.branching, [2, 2])
    assert s.max_depth_hops == 2
    same = compare_structure(s, s)
    assert all(v == 0.0 for k, v in same.items() if k.startswith("ks_"))
    assert all(v == 1.0 for k, v in same.items() if k.startswith("ratio_"))


def test_summarise_counts_limits_and_overloads() -> None:
    vm = np.array([[[1.0, 1.0, 1.0], [0.95, 0.97, 1.02]], [[1.0, 1.0, 1.0], [0.85, 1.0, 1.0]]])
    result = PowerFlowResult(
        bus_id=np.array(["s", "a"]),
        realisations=np.arange(3),
        vm_pu=np.concatenate([vm, np.full((1, 2, 3), np.nan)]),
        converged=np.array([True, True, False]),
        line_loading_percent=np.array([[np.nan, 50.0], [np.nan, 120.0], [np.nan, np.nan]]),
        vm_min_pu=np.array([[0.95, 0.97, 1.0], [0.85, 1.0, 1.0], [np.nan] * 3]),
        vm_max_pu=np.array([[1.0, 1.0, 1.02], [1.0, 1.0, 1.0], [np.nan] * 3]),
        vuf_percent=np.array([0.5, 1.5, np.nan]),
        engine="opendss",
    )
    report = summarise(result)
    assert report.converged_share == pytest.approx(2 / 3)
    assert report.within_limits_share == pytest.approx(0.5)
    assert report.overloaded_share == pytest.approx(0.5)
    np.testing.assert_allclose(report.vm_min_pu, [0.85, 0.97, 1.0])
    assert report.vuf_max_percent == pytest.approx(1.5)
    assert report.loading_max_percent == pytest.approx(120.0)


# ----------------------------------------------------------------------------- real feeders
@needs_data
def test_ieee123_is_phase_consistent_over_1000_realisations() -> None:
    real = load_real_feeder(IEEE123, name="IEEE 123")
    out = transfer(real, "smartds", n=1000, rng=123)
    for mode in MODES:
        result = out[mode]
        assert result.ensemble.n_realisations == 1000
        check_phase_consistency(result.feeder, result.ensemble.bus_phases)
        assert result.violations.sum() == 0
    assert np.isfinite(real.feeder.x).sum() >= 120  # coordinates from BusCoords.dat


@needs_data
def test_single_level_drops_the_source_transformer_and_levels_the_rest() -> None:
    real = load_real_feeder(IEEE123, name="IEEE 123")
    ens = real_ensemble(real)
    feeder, level = single_level(real.feeder, ens)
    assert np.unique(feeder.vn_kv).size == 1
    assert level.n_buses == feeder.n_buses
    check_phase_consistency(feeder, level.bus_phases)


@pytest.fixture(scope="module")
def european_lv() -> RealFeeder:
    return load_real_feeder(EU_LV, name="European LV")


@needs_data
def test_small_transfer_to_the_european_lv_feeder_gives_the_paper_tables(
    european_lv: RealFeeder,
) -> None:
    real = european_lv
    assert len(real.table.loads) == 55
    out = transfer(real, "smartds", n=5, rng=0)
    assert set(out) == set(MODES)
    c = out["conditioned"].comparison
    text = table_i(c, paper=True)
    rows = text.splitlines()
    assert len(rows) == 2 + 3 and rows[0].split()[0] == "Phase"
    assert [r.split()[0] for r in rows[2:]] == ["A", "B", "C"]
    assert "7.29" in text  # the paper's MAPE beside ours
    from bayesgrid_plugins.app.validation.skill import constant_conditioned

    base = compare(c.real, load_statistics(real.feeder, constant_conditioned(real)))
    with_base = table_i(c, baseline=base).splitlines()
    assert "Baseline MAPE [%]" in with_base[0]
    # the constant baseline puts the feeder's mean load on every phase
    np.testing.assert_allclose(base.synthetic.mean_p_kw, np.full(3, c.real.total_p_kw.mean()))
    t2 = table_ii(c, paper=True, fmt="markdown").splitlines()
    assert [r.split("|")[1].strip() for r in t2[2:]] == ["p3", "pA", "pB", "pC"]
    # the real phase mix of the feeder: 21 / 19 / 15 single-phase loads, none three-phase
    np.testing.assert_allclose(c.real.phase_shares, np.array([21, 19, 15]) / 55)
    assert c.real.p3 == 0.0
    assert c.ks_p == 0.0


@needs_data
def test_feasibility_of_the_european_lv_transfer_in_both_engines(
    european_lv: RealFeeder,
) -> None:
    from bayesgrid_plugins.app.validation import feasibility

    real = european_lv
    result = transfer(real, "smartds", n=2, rng=5, modes=("conditioned",))["conditioned"]
    solved = feasibility(result.feeder, result.ensemble, real=real)
    for engine, (report, flow) in solved.items():
        assert report.converged_share == 1.0, engine
        assert report.within_limits_share == 1.0, engine
        assert 0.9 <= report.vm_min_pu.min() and report.vm_max_pu.max() <= 1.1
        assert flow.n_realisations == 2


# ----------------------------------------------------------------------------- CLI
def _run_cli(argv: list[str]) -> int:
    from bayesgrid_plugins.app.cli_validate import add_validate_model_command

    parser = argparse.ArgumentParser()
    add_validate_model_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.handler(args)


@needs_data
def test_cli_validate_model_on_ieee13(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "report"
    argv = ["validate-model", "--posterior", "smartds", "--opendss", str(IEEE13), "-n", "5"]
    assert _run_cli([*argv, "--solve", "1", "--engines", "opendss", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Table I" in printed and "Table II" in printed and "conditioned" in printed
    report = json.loads((out / "report.json").read_text())
    assert set(report["transfer"]) == set(MODES)
    assert report["transfer"]["conditioned"]["ks_p"] == 0.0
    assert set(report["feasibility"]) == {"unconditioned/opendss", "conditioned/opendss"}
    assert (out / "report.md").read_text().startswith("## ")
    with pytest.raises(OutputExistsError):
        _run_cli([*argv, "--out", str(out)])
    with pytest.raises(ParameterError, match="engines"):
        _run_cli([*argv, "--solve", "1", "--engines", "matlab"])
