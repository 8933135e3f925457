"""``bayesgrid unbalance`` on a real pandapower net and a real OpenDSS circuit."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandapower as pp
import pytest
from conftest import SHARED_DATA

from bayesgrid_plugins.app.cli_unbalance import add_unbalance_command
from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import LargeLoadWarning, OutputExistsError, ParameterError
from pandapower_ext.unbalance import bus_load_totals

EU_LV = Path(f"{SHARED_DATA}/feeders/pandapower/IEEE_European_LV_On_Peak_566.json")
IEEE13 = Path(
    f"{SHARED_DATA}/feeders/electricdss-tst/Version8/Distrib/IEEETestCases/13Bus/IEEE13Nodeckt.dss"
)


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bayesgrid")
    add_unbalance_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["unbalance", *argv])
    args.quiet = True
    return args.handler(args)


def test_pandapower_json(tmp_path):
    out = tmp_path / "out"
    argv = [str(EU_LV), "-n", "2", "--out", str(out), "--shares", "0.1,0.6,0.3", "--seed", "4"]
    assert run([*argv, "--p3", "0.2", "--solve"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["files"] == ["realisation_0000.json", "realisation_0001.json"]
    assert summary["overrides"]["shares"] == pytest.approx([0.1, 0.6, 0.3])
    assert summary["overrides"]["p3"] == pytest.approx([0.2] * 10)
    assert summary["seed"] == 4 and summary["max_relative_bus_total_error"] <= 1e-9
    assert summary["power_flow"]["converged"] == 2
    before = bus_load_totals(pp.from_json(str(EU_LV)))
    # pandapower writes JSON with 15 decimals (pandas double_precision=15): each MW value is
    # kept to 5e-16 MW, so a bus total of three phases to 1.5e-12 kW on top of 1e-9 relative
    # (the net's reactive loads go down to 1e-5 kvar).
    json_atol_kw = 3 * 0.5e-15 * 1000.0
    ens = Ensemble.load(out / "ensemble.npz")
    for k, name in enumerate(summary["files"]):
        net = pp.from_json(str(out / name))
        after = bus_load_totals(net).reindex(before.index)
        np.testing.assert_allclose(
            after.to_numpy(), before.to_numpy(), rtol=1e-9, atol=json_atol_kw
        )
        assert len(net.asymmetric_load) == int(ens.has_load[k].sum())
    # the same seed gives the same ensemble; an existing folder needs --overwrite
    with pytest.raises(OutputExistsError):
        run(argv)
    assert run([*argv, "--overwrite", "--p3", "0.2"]) == 0
    np.testing.assert_array_equal(Ensemble.load(out / "ensemble.npz").p_kw, ens.p_kw)


def test_opendss_master(tmp_path):
    out = tmp_path / "dss"
    argv = [str(IEEE13), "-n", "2", "--out", str(out), "--scenario", "balanced", "--seed", "1"]
    with pytest.warns(LargeLoadWarning, match="8 loads exceed 100 kVA"):  # as for a net
        assert run([*argv, "--loads", "all", "--solve"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["engine"] == "opendss" and summary["scenario"] == "balanced"
    assert summary["max_relative_bus_total_error"] <= 1e-9
    assert summary["power_flow"]["converged"] == 2
    assert (out / "realisation_0001" / "Master.dss").is_file()


def test_opendss_reading_default_loads(tmp_path):
    # Through the reader API without ``loads``: the three-phase loads are converted, as the
    # command line's default does.
    from bayesgrid_plugins.models.power import BayesianPowerModel
    from bayesgrid_plugins.plugins import read_network

    reading = read_network(IEEE13)
    model = BayesianPowerModel().parameters
    with pytest.warns(LargeLoadWarning, match="1 loads exceed 100 kVA"):  # the three-phase 671
        summary = reading.unbalance_to(tmp_path / "api", n=1, model=model, rng=1, solve=False)
    assert summary["max_relative_bus_total_error"] <= 1e-9


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        run([str(tmp_path / "missing.json"), "--out", str(tmp_path / "o")])
    other = tmp_path / "net.txt"
    other.write_text("x")
    with pytest.raises(ParameterError, match=r"\.json"):
        run([str(other), "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit) as exit_info:
        run([str(EU_LV), "--out", str(tmp_path / "o"), "--shares", "0.5,0.6,0.3"])
    assert exit_info.value.code == 2
    assert not (tmp_path / "o").exists()


def test_wired_into_the_bayesgrid_command(tmp_path, capsys):
    from bayesgrid_plugins.app import cli

    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "unbalance" not in commands.choices:
        pytest.skip("bayesgrid unbalance is not wired into bayesgrid_plugins.app.cli yet")
    status = cli.main(["unbalance", str(tmp_path / "nothing.json"), "--out", str(tmp_path / "o")])
    assert status == 1
    assert capsys.readouterr().err.count("\n") == 1
