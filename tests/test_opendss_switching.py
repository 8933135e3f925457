"""OpenDSS: switching realisations without union_of, named line codes, one folder-name width."""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_opendss import node_voltages

from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import AdapterError
from bayesgrid_plugins.exporters.base import ExportRequest
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.models.impedance import BayesianImpedanceModel
from bayesgrid_plugins.models.power import BayesianPowerModel
from opendss_ext import populate_circuit, set_realisation, solve, to_dss_commands


@pytest.fixture
def moving():
    """s -> a (ABC) -> b: b's single phase moves from B (realisation 0) to C (realisation 1)."""
    feeder = Feeder.from_edges(
        [("s", "a", 0.1), ("a", "b", 0.05), ("a", "c", 0.02)], "s", vn_kv=0.4, loads=["b", "c"]
    )
    bus_phases = np.array([[7, 7, 2, 7], [7, 7, 4, 7]], dtype=np.uint8)
    p = np.zeros((2, 4, 3))
    p[0, 2] = [0, 3, 0]
    p[1, 2] = [0, 0, 4]
    p[:, 3] = [1, 2, 3]
    ensemble = Ensemble(
        bus_id=feeder.bus_id,
        source=0,
        load_phases=bus_phases * np.array([0, 0, 1, 1], dtype=np.uint8),
        bus_phases=bus_phases,
        p_kw=p,
        q_kvar=0.5 * p,
        power_factor=np.full(2, 0.894),
        draw=np.zeros(2, dtype=np.int64),
    )
    return feeder, ensemble


def test_switching_needs_no_union_of(moving) -> None:
    feeder, ensemble = moving
    dss = populate_circuit(feeder, ensemble, 0)
    assert solve(dss)
    set_realisation(dss, feeder, ensemble, 1)  # phase C at b was not built
    assert solve(dss)
    switched = node_voltages(dss)
    fresh = populate_circuit(feeder, ensemble, 1, union_of=range(len(ensemble)))
    assert solve(fresh)
    expected = node_voltages(fresh)
    assert switched.keys() == expected.keys()
    assert max(abs(switched[n] - expected[n]) for n in expected) < 1e-9 * 230
    # and back
    set_realisation(dss, feeder, ensemble, 0)
    assert solve(dss)


def test_a_union_that_misses_the_realisation_is_named_plainly(moving) -> None:
    feeder, ensemble = moving
    dss = populate_circuit(feeder, ensemble, 0, union_of=[0])
    with pytest.raises(AdapterError) as caught:
        set_realisation(dss, feeder, ensemble, 1)
    message = str(caught.value)
    assert "bus 'b'" in message and "union_of=[0]" in message
    assert "np." not in message


def test_line_codes_are_named_after_the_sampled_conductor() -> None:
    feeder = Feeder.from_edges(
        [("s", "a", 0.2), ("a", "b", 0.1), ("b", "c", 0.1), ("a", "d", 0.3)], "s", vn_kv=12.47
    )
    ens = BayesianPowerModel().sample(feeder, 3, rng=1)
    ens = BayesianImpedanceModel(variation=0.0).sample(feeder, 3, rng=2, ensemble=ens)
    names = ens.metadata["line_type_names"]
    for k in range(3):
        commands = to_dss_commands(feeder, ens, k)
        codes = [
            c.split()[1].removeprefix("linecode.")
            for c in commands
            if c.startswith("new linecode.")
        ]
        assert codes and not any(c.startswith("lc") and c[2:].isdigit() for c in codes)
        for i in feeder.lines:
            drawn = re.sub(r"[^a-z0-9_\-]+", "_", names[ens.line_type[k, i]].lower())
            line = next(c for c in commands if c.startswith(f"new line.l_{feeder.bus_id[i]} "))
            assert f"linecode={drawn}_" in line, (drawn, line)


def test_every_exporter_names_realisation_folders_with_four_digits(tmp_path) -> None:
    from opendss_ext.exporter import OpenDSSExporter
    from pandapower_ext.exporter import PandapowerJsonExporter

    feeder = Feeder.from_edges([("s", "a", 0.1), ("a", "b", 0.05)], "s", vn_kv=0.4)
    ens = BayesianPowerModel().sample(feeder, 3, rng=1)
    stems = []
    for exporter in (OpenDSSExporter(), PandapowerJsonExporter()):
        out = tmp_path / exporter.name
        out.mkdir()
        written = exporter.export(ExportRequest(feeder, ens, out, realisations=[0, 2]))
        stems.append(sorted(p.name.split(".")[0] for p in written if "realisation" in p.name))
    assert stems[0] == stems[1] == ["realisation_0000", "realisation_0002"]
