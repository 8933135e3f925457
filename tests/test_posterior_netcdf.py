"""Posteriors as ArviZ InferenceData netCDF, the NUTS sampler choice and the fit diagnostics."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA, random_tree

import bayesgrid_plugins as bg
from bayesgrid_plugins.errors import DemandLevelWarning, ParameterError, PosteriorMismatchError
from bayesgrid_plugins.learn import sampling
from bayesgrid_plugins.learn.diagnostics import ConvergenceWarning, diagnose, import_arviz
from bayesgrid_plugins.learn.power_fit import MODEL_NAME, MODEL_VERSION
from bayesgrid_plugins.learn.registry import POSTERIORS, load_power_posterior, posterior_path
from bayesgrid_plugins.learn.sources import EPRI_IEEE8500, SMARTDS
from bayesgrid_plugins.models.power import BayesianPowerModel, PowerParameters
from bayesgrid_plugins.posterior import (
    default_parameter_path,
    read_any_parameters,
    read_parameters,
    write_parameters,
)

LEGACY = Path(__file__).parent / "data"
SHIPPED = Path(default_parameter_path("power_smartds_counting.json")).parent


def _feeder() -> bg.Feeder:
    feeder = random_tree(80, 3)
    return feeder.with_loads(np.arange(feeder.n_buses) != feeder.source)


@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.json")), ids=lambda p: p.name)
def test_every_shipped_parameter_file_round_trips_through_netcdf_exactly(path, tmp_path):
    model, params, provenance = read_any_parameters(path)
    out = write_parameters(tmp_path / "p.nc", model=model, parameters=params, provenance=provenance)
    again, provenance_again = read_parameters(out, model=model)
    assert sorted(again) == sorted(params)
    for name, value in params.items():
        assert again[name].shape == value.shape, name
        np.testing.assert_array_equal(again[name], value, err_msg=name)
    assert provenance_again == provenance


#: The public feeders each shipped NUTS posterior was fitted on.
FITTED_ON = {"smartds": SMARTDS, "epri": EPRI_IEEE8500}
LEGACY_FILES = ("power_smartds_nuts.json", "power_epri_ieee8500_nuts.json")


@pytest.mark.parametrize("name", sorted(FITTED_ON))
def test_shipped_posteriors_are_converged_numpyro_fits_with_their_statistics(name):
    """The shipped files are fits of the current model: sampler statistics, diagnostics within
    the thresholds the fit warns at, and provenance naming data, sampler, versions and seed."""
    az = import_arviz()
    assert posterior_path(name).suffix == ".nc"
    idata = bg.load_posterior(name)
    assert {"posterior", "sample_stats", "observed_data", "constant_data"} <= set(idata.groups())
    post, stats = idata.posterior, idata.sample_stats
    assert (stats.sizes["chain"], stats.sizes["draw"]) == (post.sizes["chain"], post.sizes["draw"])
    assert {"diverging", "tree_depth", "n_steps", "energy", "step_size"} <= set(stats.data_vars)
    assert not bool(stats["diverging"].any())
    # the whole trace (2 x 1000 draws), as the fit diagnosed it
    params = load_power_posterior(name)
    prov = params.provenance
    diagnostics = prov["diagnostics"]
    assert diagnostics["rhat_max"] <= 1.01
    assert min(diagnostics["ess_bulk_min"], diagnostics["ess_tail_min"]) >= 400
    assert diagnostics["divergences"] == 0
    # the stored new-feeder draws themselves: mixed across the two chains they come from
    # (variables constant in a column, the equal three-phase shares' mean, give NaN: skipped)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        summary = az.summary(idata, kind="diagnostics")
    finite = summary.dropna(subset=["r_hat"])
    assert len(finite) >= 20
    assert finite["r_hat"].max() <= 1.01, finite["r_hat"].idxmax()
    assert finite["ess_bulk"].min() >= 400, finite["ess_bulk"].idxmin()
    # provenance: the current model, the sampler that ran, its versions and seed
    assert prov["model"] == MODEL_NAME and prov["model_version"] == MODEL_VERSION
    assert prov["script"] == "scripts/fit_power_posteriors.py"
    assert "converted" not in prov and "extensions_added_by" not in prov
    sampler = prov["sampler"]
    assert sampler["nuts_sampler"] == "numpyro" and sampler["chain_method"] == "parallel"
    assert (sampler["chains"], sampler["draws"], sampler["tune"]) == (2, 1000, 1000)
    assert sampler["seed"] == 20250108 and sampler["stored_draws"] == params.n_draws == 1000
    assert {"pymc", "pytensor", "jax", "numpyro", "arviz"} <= set(prov["versions"])
    attrs = post.attrs
    assert attrs["sampler"] == "numpyro" and attrs["seed"] == 20250108
    assert "numpyro" in attrs["package_versions"] and "jax" in attrs["package_versions"]
    sources = FITTED_ON[name]
    assert prov["feeders"] == [s.system for s in sources]
    assert [r["system"] for r in prov["sources"]] == prov["feeders"]
    for record in prov["sources"]:
        assert len(record["master_sha256"]) == 64 and len(record["dss_folder_sha256"]) == 64
        assert record["origin"] in attrs["data_source"]
    # the parts of the current model: three-phase class and phase balancing, one per draw
    for field in ("p3class_log_mu_kw", "p3class_log_sigma", "balance_eps", "lateral_max_loads"):
        assert getattr(params, field).shape == (params.n_draws,), field
    assert prov["p_three_phase_class"]["used_by_sampler"] is True
    assert "phase_balancing" in prov


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FITTED_ON))
def test_shipped_posteriors_were_fitted_on_the_public_feeders_as_read_today(name):
    """The recorded training table and data summary are those the current readers give."""
    from bayesgrid_plugins.learn.power_data import power_data, table_sha256
    from bayesgrid_plugins.learn.sources import read_tables

    if not SHARED_DATA.is_dir():
        pytest.skip("the public data folder is not beside the checkout")
    table, records = read_tables(FITTED_ON[name], data_dir=SHARED_DATA)
    prov = load_power_posterior(name).provenance
    assert prov["training_table_sha256"] == table_sha256(table)
    for mine, today in zip(prov["sources"], records, strict=True):
        assert mine["master_sha256"] == today["master_sha256"]
        assert mine["dss_folder_sha256"] == today["dss_folder_sha256"]
    observed = bg.load_posterior(name).observed_data
    data = power_data(table)
    for field in ("n_modelled", "n_three", "phase_counts", "p1_n", "p1_mean", "p3_n"):
        np.testing.assert_allclose(observed[field].values, getattr(data, field), err_msg=field)


@pytest.mark.parametrize("legacy", LEGACY_FILES)
def test_legacy_json_posteriors_are_still_read(legacy):
    """Files of the older JSON layout (the PyMC fits shipped before) load and sample."""
    old = PowerParameters.load(LEGACY / legacy)
    assert old.n_draws == 1000 and old.provenance["sampler"]["nuts_sampler"] == "pymc"
    idata = bg.load_posterior(LEGACY / legacy)
    assert "sample_stats" not in idata.groups()
    stacked = idata.posterior["p_mu_kw"].values.reshape(-1)
    np.testing.assert_array_equal(stacked, old.p_mu_kw)
    with warnings.catch_warnings():
        # the epri fit's unconditioned level warns (tested in test_demand.py)
        warnings.simplefilter("ignore", DemandLevelWarning)
        ensemble = BayesianPowerModel(old).sample(_feeder(), 40, rng=5)
    assert np.isfinite(ensemble.p_kw).all() and (ensemble.p_kw >= 0).all()
    assert ensemble.p_kw.sum(axis=(1, 2)).min() > 0


def test_default_power_model_reads_the_netcdf_posterior():
    assert PowerParameters.DEFAULT_FILE.endswith(".nc")
    assert PowerParameters.default().n_draws == 1000


def test_load_posterior_gives_inference_data_for_arviz():
    az = import_arviz()
    idata = bg.load_posterior("smartds")
    assert {"posterior", "constant_data", "observed_data", "sample_stats"} <= set(idata.groups())
    post = idata.posterior
    # the 1000 stored draws are the two chains' thinned draws, 500 each
    assert post.sizes["chain"] == 2 and post.sizes["draw"] == 500
    assert post["p3"].dims == ("chain", "draw", "zone")
    assert list(post["phase_probs"].coords["phase"].values) == ["A", "B", "C"]
    assert post.attrs["bayesgrid_model"] == "power"
    assert post.attrs["model_version"] == 2 and post.attrs["seed"] == 20250108
    assert post.attrs["sampler"] == "numpyro"
    assert "SMART-DS" in post.attrs["data_source"]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)  # constant zone shares
        summary = az.summary(idata)
    assert "p_mu_kw" in summary.index and "r_hat" in summary.columns
    assert summary.loc["p_mu_kw", "ess_bulk"] > 400
    observed = idata.observed_data
    provenance = load_power_posterior("smartds").provenance
    assert list(observed.coords["feeder"].values) == provenance["feeders"]
    # the loads the likelihood counts, by zone: at most the loads of each zone
    modelled = observed["n_modelled"].sum("feeder").values
    assert 0.9 * provenance["n_loads"] < modelled.sum() <= provenance["n_loads"]
    assert (modelled <= np.asarray(provenance["loads_per_zone"])).all()
    assert (observed["n_three"].values <= observed["n_modelled"].values).all()
    legacy = bg.load_posterior(LEGACY / "power_epri_ieee8500_nuts.json")
    assert legacy.posterior["p3"].shape == (2, 500, 10)


def test_posteriors_load_without_pymc():
    code = textwrap.dedent(
        """
        import sys, warnings
        warnings.simplefilter("error")
        sys.modules["pymc"] = None  # any import of PyMC fails
        sys.modules["pytensor"] = None
        import bayesgrid_plugins as bg
        from bayesgrid_plugins.learn.diagnostics import import_arviz
        from bayesgrid_plugins.models.power import PowerParameters
        assert PowerParameters.default().n_draws == 1000
        az = import_arviz()
        table = az.summary(bg.load_posterior("epri"), var_names=["p_mu_kw", "phase_probs"])
        assert len(table) == 4, table
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bad_netcdf_files_are_rejected(tmp_path):
    broken = tmp_path / "broken.nc"
    broken.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(PosteriorMismatchError, match="not a readable netCDF"):
        PowerParameters.load(broken)
    power = load_power_posterior("smartds-counting")
    path = power.save(tmp_path / "counting.nc")
    from bayesgrid_plugins.models.reliability import FrequencyParameters

    with pytest.raises(PosteriorMismatchError, match="power"):
        FrequencyParameters.load(path)
    with pytest.raises(ParameterError, match="neither a shipped posterior"):
        bg.load_posterior(tmp_path / "missing.nc")
    assert set(POSTERIORS) >= {"smartds", "epri"}


# ----------------------------------------------------------------------------- samplers
def test_unknown_or_missing_samplers_are_reported(monkeypatch, caplog):
    with pytest.raises(ParameterError, match="sampler must be one of"):
        sampling.resolve_sampler("stan")
    assert sampling.resolve_sampler(None) == sampling.DEFAULT_SAMPLER == "numpyro"
    monkeypatch.setattr(sampling, "_installed", lambda *modules: False)
    with caplog.at_level(logging.WARNING, logger="bayesgrid_plugins.learn.sampling"):
        assert sampling.resolve_sampler("numpyro") == "pymc"
    assert "pip install jax jaxlib numpyro" in caplog.text
    with pytest.raises(ParameterError, match="pip install nutpie"):
        sampling.resolve_sampler("nutpie")


def test_jax_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(sampling.CACHE_ENV, str(tmp_path / "jax"))
    assert sampling.jax_cache_dir() == tmp_path / "jax"
    monkeypatch.delenv(sampling.CACHE_ENV)
    assert sampling.jax_cache_dir().parts[-2:] == ("bayesgrid", "jax")


def test_train_rejects_an_unknown_sampler(tmp_path, capsys):
    from bayesgrid_plugins.app.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["train", "--from-pandapower", "x.json", "--out", "o.nc", "--sampler", "stan"])
    assert exc.value.code == 2
    assert "numpyro" in capsys.readouterr().err


def test_diagnostics_warn_on_too_few_effective_draws_and_divergences(caplog):
    az = import_arviz()
    rng = np.random.default_rng(4)
    x = np.cumsum(rng.normal(size=(2, 300)), axis=1) * 0.05 + rng.normal(size=(2, 300))
    diverging = np.zeros((2, 300), dtype=bool)
    diverging[0, 7] = True
    idata = az.from_dict(posterior={"x": x}, sample_stats={"diverging": diverging})
    with caplog.at_level(logging.INFO, logger="bayesgrid_plugins.learn.diagnostics"):
        with pytest.warns(ConvergenceWarning) as record:
            result = diagnose(idata)
    message = str(record[0].message)
    assert result.ess_bulk_min < 400 and result.divergences == 1 and not result.ok
    assert "run more draws" in message and "raise target_accept" in message
    assert "ess_bulk" in caplog.text and "r_hat" in caplog.text  # the table is logged


@pytest.fixture(scope="module")
def numpyro_fit():
    pytest.importorskip("numpyro")
    from test_learn import simulate

    from bayesgrid_plugins.learn.power_fit import fit_power_posterior

    table = simulate(2, n_buses=201, n_realisations=2, system="sim")
    start = time.perf_counter()
    fit = fit_power_posterior(table, draws=100, tune=100, chains=2, seed=7, warn=False)
    return fit, time.perf_counter() - start


# A tiny fit takes about 6 s with a warm JAX cache on a quiet machine, but 12-25 s with an empty
# cache (as in CI) or on busy shared cores (PyMC import, JAX tracing and compilation), so these
# tests are slow ones.
@pytest.mark.slow
def test_tiny_numpyro_fit_writes_inference_data(numpyro_fit, tmp_path):
    from bayesgrid_plugins.learn.fit_file import save_power_fit

    fit, _ = numpyro_fit
    prov = fit.parameters.provenance
    assert prov["sampler"]["nuts_sampler"] == "numpyro"
    assert {"jax", "numpyro", "pymc", "arviz"} <= set(prov["versions"])
    path = save_power_fit(fit, tmp_path / "fit.nc")
    again = PowerParameters.load(path)
    for field in PowerParameters.FIELDS:
        np.testing.assert_array_equal(getattr(again, field), getattr(fit.parameters, field))
    idata = bg.load_posterior(path)
    assert {"posterior", "sample_stats", "observed_data", "constant_data"} <= set(idata.groups())
    assert (idata.posterior.sizes["chain"], idata.posterior.sizes["draw"]) == (2, 100)
    for dim in ("chain", "draw"):
        assert idata.sample_stats.sizes[dim] == idata.posterior.sizes[dim]
    assert (
        int(idata.observed_data["n_modelled"].sum())
        == prov["n_single_phase"] + prov["n_three_phase"]
    )
    stats = fit.idata.sample_stats
    assert int(idata.sample_stats["diverging"].sum()) <= int(stats["diverging"].sum())
    attrs = idata.posterior.attrs
    assert attrs["sampler"] == "numpyro" and attrs["seed"] == 7
    assert "jax" in attrs["package_versions"]


@pytest.mark.slow
def test_numpyro_fit_is_reproducible_and_cached(numpyro_fit, tmp_path):
    """The same seed gives the same draws in a fresh process, which reads the JAX cache."""
    fit, _ = numpyro_fit
    path = fit.parameters.save(tmp_path / "here.nc")
    code = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_learn import simulate
        from bayesgrid_plugins.learn.power_fit import fit_power_posterior
        table = simulate(2, n_buses=201, n_realisations=2, system="sim")
        fit = fit_power_posterior(table, draws=100, tune=100, chains=2, seed=7, warn=False)
        fit.parameters.save({str(tmp_path / "there.nc")!r})
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    here, there = PowerParameters.load(path), PowerParameters.load(tmp_path / "there.nc")
    for field in PowerParameters.FIELDS:
        np.testing.assert_array_equal(getattr(here, field), getattr(there, field))
    assert any(sampling.jax_cache_dir().iterdir())


@pytest.mark.slow
def test_train_writes_inference_data_with_the_sampler_statistics(tmp_path, capsys):
    from conftest import SHARED_DATA

    from bayesgrid_plugins.app.cli import main

    net = SHARED_DATA / "feeders" / "pandapower" / "IEEE_European_LV_Off_Peak_1.json"
    if not net.is_file():
        pytest.skip("the public data folder is not beside the checkout")
    out = tmp_path / "eu.nc"
    argv = ["train", "--from-pandapower", str(net), "--out", str(out), "--quiet"]
    with warnings.catch_warnings():
        # 55 loads and short chains: a ConvergenceWarning is possible and not the point here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        status = main([*argv, "--draws", "200", "--tune", "200", "--sampler", "numpyro"])
    assert status == 0, capsys.readouterr().err
    assert "r-hat max" in capsys.readouterr().out
    idata = bg.load_posterior(out)
    assert {"posterior", "sample_stats", "observed_data"} <= set(idata.groups())
    assert idata.posterior.attrs["sampler"] == "numpyro"
    assert int(idata.observed_data["n_modelled"].sum()) == 55
    assert PowerParameters.load(out).n_draws == 400
