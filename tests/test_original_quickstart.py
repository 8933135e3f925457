"""The original bayesgrid tool's quick start runs with its own keywords, models and files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayesgrid_plugins as bg
from bayesgrid_plugins.app.facade import attached
from bayesgrid_plugins.errors import OfflineError, ParameterError

N = 4


def test_original_keywords_raise_offline_error_not_type_error(monkeypatch) -> None:
    import osmnx as ox

    # 192.0.2.1 is TEST-NET-1 (RFC 5737): never routable, so this is offline on any machine.
    monkeypatch.setattr(ox.settings, "nominatim_url", "http://192.0.2.1/api")
    monkeypatch.setattr(ox.settings, "overpass_url", "http://192.0.2.1/api")
    with pytest.raises(OfflineError, match="OpenStreetMap cannot be reached"):
        bg.create_osm_pandapower_network(
            query_type="address", query_address="Städtle 1, Vaduz, Liechtenstein", dist=1500
        )
    with pytest.raises(OfflineError):
        bg.create_osm_pandapower_network(query_type="point", query_point=(47.14, 9.52), dist=300)
    with pytest.raises(OfflineError):
        bg.create_osm_pandapower_network(query_type="bbox", query_bbox=(9.51, 47.13, 9.53, 47.15))
    with pytest.raises(OfflineError):
        bg.create_osm_pandapower_network(query="Vaduz, Liechtenstein", query_type="city", dist=300)


def test_original_keywords_are_checked_by_name() -> None:
    with pytest.raises(ParameterError, match="query_address does not go with query_type='point'"):
        bg.create_osm_pandapower_network(query_type="point", query_address="Vaduz")
    with pytest.raises(ParameterError, match="name two areas"):
        bg.create_osm_pandapower_network(
            query="Vaduz", query_type="address", query_address="Schaan"
        )
    with pytest.raises(ParameterError, match=r"unknown keywords \['query_adress'\]"):
        bg.create_osm_pandapower_network(query_type="address", query_adress="Vaduz")
    with pytest.raises(ParameterError, match="query_type 'town' is not one of"):
        bg.create_osm_pandapower_network(query_type="town", query="Vaduz")


def test_four_models_generate_and_save_every_sample(tmp_path) -> None:
    net, zones, source = bg.create_osm_pandapower_network(dist=300)
    models = (
        bg.BayesianPowerModel(),
        bg.BayesianImpedanceModel(),
        bg.BayesianFrequencyModel(),
        bg.BayesianDurationModel(),
    )
    for seed, model in enumerate(models):
        model.generate_consistent_data(net, zones, source, n=N, rng=seed)
    _, ensemble = attached(net)
    for field in ("p_kw", "r1_ohm_per_km", "caifi", "caidi_h"):
        assert getattr(ensemble, field) is not None, field
    # the net holds realisation 0's sampled line data, and no standard type that contradicts it
    assert net.line.r_ohm_per_km.nunique() > 1
    assert net.line.std_type.isna().all()
    overhead = np.asarray(ensemble.metadata["line_type_overhead"]) > 0.5
    pos = [list(ensemble.bus_id).index(b) for b in net.line.bayesgrid_id.astype(str)]
    expected = np.where(overhead[ensemble.line_type[0, pos]], "ol", "cs")
    assert net.line.type.tolist() == expected.tolist()
    written = bg.save_synthetic_network(
        base_net=net, format="bayesgrid-csv,npz", output_dir=tmp_path / "out"
    )
    names = sorted(p.name for p in written["bayesgrid-csv"])
    assert names == [
        "bus_duration_SAMPLES.csv",
        "bus_frequency_SAMPLES.csv",
        "bus_power_and_phase_SAMPLES.csv",
        "line_impedance_SAMPLES.csv",
    ]
    folder = tmp_path / "out" / "bayesgrid-csv"
    power = pd.read_csv(
        folder / "bus_power_and_phase_SAMPLES.csv",
        keep_default_na=False,
        float_precision="round_trip",
    )
    assert list(power.columns) == ["sample_id", "bus_id", "P_A", "P_B", "P_C", "phase"]
    b = ensemble.n_buses
    assert len(power) == N * b
    np.testing.assert_array_equal(
        power[["P_A", "P_B", "P_C"]].to_numpy().reshape(N, b, 3), ensemble.p_kw
    )
    assert set(power["phase"]) <= {"", "A", "B", "C", "AB", "AC", "BC", "ABC"}
    freq = pd.read_csv(folder / "bus_frequency_SAMPLES.csv")
    assert list(freq.columns) == ["sample_id", "bus_id", "CAIFI_FIC"]
    dur = pd.read_csv(folder / "bus_duration_SAMPLES.csv", float_precision="round_trip")
    assert list(dur.columns) == ["sample_id", "bus_id", "CAIDI_DIC"]
    np.testing.assert_array_equal(dur["CAIDI_DIC"].to_numpy().reshape(N, b), ensemble.caidi_h)
    lines = pd.read_csv(folder / "line_impedance_SAMPLES.csv")
    assert list(lines.columns) == ["sample_id", "line_id", "R1_ohm_per_km", "X1_ohm_per_km"]
    assert len(lines) == N * (b - 1)
    with np.load(written["npz"][0]) as data:
        assert {"caifi", "caidi_h", "r1_ohm_per_km"} <= set(data.files)


def test_power_model_after_the_others_starts_afresh() -> None:
    net, zones, source = bg.create_osm_pandapower_network(dist=300)
    bg.BayesianPowerModel().generate_consistent_data(net, zones, source, n=N, rng=1)
    bg.BayesianFrequencyModel().generate_consistent_data(net, zones, source, n=N, rng=2)
    assert attached(net)[1].caifi is not None
    bg.BayesianPowerModel().generate_consistent_data(net, zones, source, n=N, rng=3)
    assert attached(net)[1].caifi is None
    # another n: the reliability model samples its own phases
    ensemble = bg.BayesianDurationModel().generate_consistent_data(net, zones, source, n=2, rng=4)
    assert len(ensemble) == 2 and ensemble.caidi_h is not None
