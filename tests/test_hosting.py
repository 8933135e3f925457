"""Hosting capacity: closed forms on a single line, the PV rule, and the command."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from bayesgrid_plugins.app.hosting import HostingCapacityTask, hosting_capacity
from bayesgrid_plugins.app.scale import ChunkSpec, SamplingSettings
from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import ParameterError
from bayesgrid_plugins.feeder import Feeder

VN_KV, LENGTH_KM, R1, X1 = 0.4, 0.5, 0.208, 0.08  # [kV], [km], [ohm/km]
STEP_KW = 0.01


def _line_feeder() -> Feeder:
    return Feeder.from_edges([("s", "a", LENGTH_KM)], "s", vn_kv=VN_KV)


def _ensemble(feeder: Feeder, load_phases: list[int], *, max_i_ka: float = 0.27, p_kw=0.0):
    """Loads at bus a (phases given, p_kw per phase on them); lines with Z0 = Z1 and no C."""
    n, b = len(load_phases), feeder.n_buses
    load = np.zeros((n, b), dtype=np.uint8)
    load[:, 1] = load_phases
    bits = (load[..., None] >> np.arange(3)) & 1
    p = bits * p_kw

    def line(value: float) -> np.ndarray:
        return np.tile([np.nan, value], (n, 1))

    return Ensemble(
        bus_id=feeder.bus_id, source=feeder.source, load_phases=load,
        bus_phases=np.full((n, b), 7, dtype=np.uint8), p_kw=p.astype(float),
        q_kvar=np.zeros((n, b, 3)), power_factor=np.ones(n), draw=np.zeros(n, dtype=np.int64),
        r1_ohm_per_km=line(R1), x1_ohm_per_km=line(X1), r0_ohm_per_km=line(R1),
        x0_ohm_per_km=line(X1), c1_nf_per_km=line(0.0), c0_nf_per_km=line(0.0),
        max_i_ka=line(max_i_ka),
    )  # fmt: skip


def _task(**kwargs) -> HostingCapacityTask:
    from opendss_ext import CircuitOptions
    from opendss_ext.defaults import SourceType

    stiff = CircuitOptions(source=SourceType(s_sc_mva=None))  # the line is the only impedance
    return HostingCapacityTask(step_kw=STEP_KW, options=stiff, **kwargs)


def _per_unit() -> tuple[float, float, float]:
    """R, X [p.u.] of the line on 1 MVA and the nominal voltage, and the base current [kA]."""
    z_base = VN_KV**2 / 1.0
    return R1 * LENGTH_KM / z_base, X1 * LENGTH_KM / z_base, 1.0 / (np.sqrt(3) * VN_KV)


def test_voltage_limit_matches_the_two_bus_closed_form() -> None:
    feeder = _line_feeder()
    # Realisation 0: a three-phase load (balanced PV); 1: a single-phase load on phase B.
    out = hosting_capacity(feeder, _ensemble(feeder, [7, 2]), task=_task())
    r, x, _ = _per_unit()
    u1, u2 = 1.0, 1.05
    # PV P [p.u.] at unity pf raises |V2| to u2 when |u2 - (R + jX) P / u2| = u1 (V2 as the
    # reference, current P / u2 in phase with it): a quadratic in P, smaller root.
    a = (r * r + x * x) / u2**2
    exact_kw = 1000 * (2 * r - np.sqrt(4 * r * r - 4 * a * (u2**2 - u1**2))) / (2 * a)
    # The search returns the largest size found feasible, within one step below the limit.
    assert exact_kw - STEP_KW <= out["hc_kw"][0] <= exact_kw + 1e-6
    assert out["limit_kind"].tolist() == [1, 1]
    assert out["limit_bus"].tolist() == [1, 1]
    assert out["limit_phase"][1] == 1  # the single-phase PV raises phase B only
    # Z0 = Z1 leaves the phases uncoupled: one phase alone takes a third of the balanced PV.
    assert abs(out["hc_kw"][1] - exact_kw / 3) <= STEP_KW
    # The textbook estimate dV = P R / V^2 (first order) is low by X^2 P^2 / (2 u1 u2 R) to
    # second order; what remains is third order, below 1e-3 of P here.
    first = 1000 * (u2 - u1) * u2 / r
    second = first + 1000 * x * x * (first / 1000) ** 2 / (2 * u1 * u2 * r)
    assert first < out["hc_kw"][0]
    assert abs(out["hc_kw"][0] - second) <= STEP_KW + 1e-3 * exact_kw
    assert np.all(out["vmax_at_hc_pu"] <= 1.05)


def test_loading_limit_matches_the_closed_form() -> None:
    feeder = _line_feeder()
    i_max_ka = 0.05
    out = hosting_capacity(feeder, _ensemble(feeder, [7], max_i_ka=i_max_ka), task=_task())
    r, x, i_base = _per_unit()
    i = i_max_ka / i_base
    # At the rating, |u2 - (R + jX) i| = 1 gives u2 = R i + sqrt(1 - (X i)^2); P = u2 i.
    u2 = r * i + np.sqrt(1 - (x * i) ** 2)
    exact_kw = 1000 * u2 * i
    assert out["limit_kind"][0] == 2
    assert exact_kw - STEP_KW <= out["hc_kw"][0] <= exact_kw + 1e-6
    assert out["loading_at_hc_percent"][0] <= 100.0


def test_load_is_offset_first_and_a_violation_without_pv_gives_zero() -> None:
    feeder = _line_feeder()
    # 20 kW per phase of load: PV first cancels it, so the capacity grows by about the load.
    base = hosting_capacity(feeder, _ensemble(feeder, [7]), task=_task())
    loaded = hosting_capacity(feeder, _ensemble(feeder, [7], p_kw=20.0), task=_task())
    assert loaded["hc_kw"][0] > base["hc_kw"][0] + 50.0
    # 20 kW per phase (about 90 A) overloads a 50 A line before any PV.
    over = hosting_capacity(feeder, _ensemble(feeder, [7], max_i_ka=0.05, p_kw=20.0), task=_task())
    assert over["limit_kind"][0] == 4 and over["hc_kw"][0] == 0.0
    assert over["loading_base_percent"][0] > 100.0


def test_task_rules_and_random_subset() -> None:
    with pytest.raises(ParameterError, match="share"):
        HostingCapacityTask(share=0.0)
    with pytest.raises(ParameterError, match="vmax_pu"):
        HostingCapacityTask(vmax_pu=0.95)
    from conftest import random_tree

    tree = random_tree(20, 2)
    feeder = Feeder(bus_id=tree.bus_id, parent=tree.parent, length_km=tree.length_km, vn_kv=0.4)
    spec = ChunkSpec(0, 0, 0, 2, 5, SamplingSettings(impedance=False))
    out = HostingCapacityTask(share=0.25, step_kw=1.0)(feeder, spec)
    assert out["n_pv_buses"].tolist() == [5, 5]  # round(0.25 * 19 load buses)
    assert out["pv_bus"].sum(axis=1).tolist() == [5, 5]
    assert not np.array_equal(out["pv_bus"][0], out["pv_bus"][1])
    again = HostingCapacityTask(share=0.25, step_kw=1.0)(feeder, spec)
    np.testing.assert_array_equal(out["hc_kw"], again["hc_kw"])


def _parser() -> argparse.ArgumentParser:
    from bayesgrid_plugins.app.cli_scale import add_hosting_capacity_command, add_run_command

    parser = argparse.ArgumentParser(prog="bayesgrid")
    sub = parser.add_subparsers(dest="command")
    add_run_command(sub)
    add_hosting_capacity_command(sub)
    return parser


def test_hosting_capacity_command_on_the_embedded_default(tmp_path: Path, capsys) -> None:
    out = tmp_path / "hc"
    argv = ["hosting-capacity", "-n", "2", "--chunk-size", "1", "--seed", "4", "--serial"]
    args = _parser().parse_args([*argv, "--step-kw", "2", "--out", str(out)])
    assert args.handler(args) == 0
    printed = capsys.readouterr().out
    assert "monaco-centre: hosting capacity median" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert [r["name"] for r in summary["regions"]] == [
        "monaco-centre", "monaco-southwest", "monaco-northeast"
    ]  # fmt: skip
    for region in summary["regions"]:
        hc = region["hc_kw"]
        assert hc["count"] == 2 and hc["max"] > 0
        if hc["min"] == 0:
            # a realisation whose loads alone overload a line (the unconditioned sampler's
            # heavy-tailed three-phase loads on a feeder nobody planned) has no hosting capacity
            # and is reported as such, not as a PV limit
            assert region["limit_share"]["violated without PV"] > 0, region["limit_share"]
        assert abs(sum(region["limit_share"].values()) - 1) < 1e-12
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert figures == [
        "hosting_capacity_distribution.png",
        *(f"hosting_capacity_map_{r:03d}.png" for r in range(3)),
    ]
    assert (out / "figures/hosting_capacity_distribution.png").read_bytes()[:4] == b"\x89PNG"
    # Resuming with other limits is refused, naming the difference.
    args = _parser().parse_args([*argv, "--step-kw", "1", "--out", str(out), "--resume"])
    with pytest.raises(ParameterError, match="task"):
        args.handler(args)


def test_run_command_serial(tmp_path: Path, capsys) -> None:
    args = _parser().parse_args(
        ["run", "-n", "2", "--seed", "1", "--serial", "--region", "43.744,7.428,150",
         "--out", str(tmp_path / "pf"), "--no-impedance"]
    )  # fmt: skip
    assert args.handler(args) == 0
    assert "area-0:" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        _parser().parse_args(["run", "--region", "43.7,7.4"])
