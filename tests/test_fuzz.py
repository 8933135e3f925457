"""Fuzzing the readers of user files: anything but a bayesgrid error (or success) is a bug.

Bounded: each test has a fixed ``max_examples`` and ``deadline`` (budget in
``docs/robustness.md``; about 30 s in all on two cores), and the examples are derandomised so CI
runs the same inputs every time. Set ``BAYESGRID_FUZZ_EXAMPLES`` to run more examples locally.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayesgrid_plugins.errors import BayesGridError
from bayesgrid_plugins.models.power import PowerParameters
from bayesgrid_plugins.posterior import default_parameter_path
from bayesgrid_plugins.topology import default_extract, feeder_from_osm, read_osm_file
from bayesgrid_plugins.topology.geo import Region

SCALE = max(1, int(os.environ.get("BAYESGRID_FUZZ_EXAMPLES", "1")))


def fuzz(examples: int, deadline_ms: int = 20_000):
    """Settings of one fuzz test: bounded, reproducible, no fixture health check."""
    return settings(
        max_examples=examples * SCALE,
        deadline=deadline_ms,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@st.composite
def mutated(draw, data: bytes, max_edits: int = 4) -> bytes:
    """``data`` truncated, with bytes overwritten, deleted or inserted."""
    out = bytearray(data)
    if draw(st.booleans()):
        out = out[: draw(st.integers(0, len(out)))]
    for _ in range(draw(st.integers(0 if out else 1, max_edits))):
        where = draw(st.integers(0, len(out)))
        kind = draw(st.sampled_from(["set", "delete", "insert"]))
        chunk = draw(st.binary(min_size=1, max_size=8))
        if kind == "set" and where < len(out):
            out[where : where + len(chunk)] = chunk
        elif kind == "delete":
            del out[where : where + len(chunk)]
        else:
            out[where:where] = chunk
    return bytes(out)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# ----------------------------------------------------------------------------- OSM
SMALL_OSM = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="bayesgrid-test">\n'
    + "".join(
        f'<node id="{i}" version="1" lat="{43.70 + 0.0007 * (i % 4)}" '
        f'lon="{7.40 + 0.0009 * (i // 4)}"/>\n'
        for i in range(1, 13)
    )
    + '<way id="1" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/>'
    '<tag k="highway" v="residential"/></way>\n'
    '<way id="2" version="1"><nd ref="2"/><nd ref="6"/><nd ref="10"/>'
    '<tag k="highway" v="service"/></way>\n'
    '<way id="3" version="1"><nd ref="5"/><nd ref="6"/><nd ref="7"/><nd ref="8"/><nd ref="5"/>'
    '<tag k="building" v="yes"/></way>\n'
    '<way id="4" version="1"><nd ref="9"/><nd ref="10"/><nd ref="11"/><nd ref="12"/>'
    '<tag k="highway" v="tertiary"/></way>\n'
    "</osm>\n"
).encode()


def test_small_osm_is_valid(scratch):
    path = scratch / "valid.osm"
    path.write_bytes(SMALL_OSM)
    assert feeder_from_osm(path=path).feeder.n_buses > 4


@fuzz(examples=80)
@given(data=mutated(SMALL_OSM))
def test_fuzz_osm_xml(scratch, data):
    path = scratch / "fuzz.osm"
    path.write_bytes(data)
    try:
        osm = feeder_from_osm(path=path, max_span_m=30.0)
    except BayesGridError:
        return
    assert osm.feeder.n_buses >= 2
    assert np.isfinite(osm.feeder.length_km).all()


TAGS = st.sampled_from(
    [
        '<nd ref="999"/>',
        '<nd ref="-1"/>',
        '<nd ref="x"/>',
        '<node id="1" lat="nan" lon="7.4"/>',
        '<node id="2" lat="91" lon="7.4"/>',
        '<node id="3" lat="43.7" lon="181"/>',
        '<tag k="highway" v="residential"/>',
        '<tag k="access" v="private"/>',
        '<way id="1"></way>',
        '<way id="99"><nd ref="1"/><tag k="highway" v="road"/></way>',
        "<relation id='1'><member type='way' ref='1' role=''/></relation>",
        "<!-- -->",
        "&amp;",
        "]]>",
    ]
)


@fuzz(examples=60)
@given(where=st.integers(0, len(SMALL_OSM)), insert=st.lists(TAGS, min_size=1, max_size=4))
def test_fuzz_osm_structure(scratch, where, insert):
    """Insert plausible OSM elements (dangling references, bad coordinates) anywhere."""
    path = scratch / "structure.osm"
    path.write_bytes(SMALL_OSM[:where] + "".join(insert).encode() + SMALL_OSM[where:])
    try:
        feeder_from_osm(path=path)
    except BayesGridError:
        pass


@pytest.fixture(scope="module")
def pbf_head() -> bytes:
    return default_extract().read_bytes()


@fuzz(examples=25)
@given(data=st.data())
def test_fuzz_pbf_bytes(scratch, pbf_head, data):
    """Truncations and corruptions of the shipped ``.osm.pbf`` (read around a small area)."""
    blob = data.draw(mutated(pbf_head, max_edits=3))
    path = scratch / "fuzz.osm.pbf"
    path.write_bytes(blob)
    region = Region.make(point=(43.7384, 7.4246), dist_m=300)
    try:
        read_osm_file(path, region=region, buildings=False)
    except BayesGridError:
        pass


# ----------------------------------------------------------------------------- OpenDSS
MASTER_LINES = [
    "clear",
    "set defaultbasefrequency=50",
    "new circuit.t bus1=src basekv=12.47 phases=3",
    "new linecode.lc nphases=3 r1=0.1 x1=0.2 r0=0.3 x0=0.6 units=km",
    "new line.l1 bus1=src bus2=b1 linecode=lc length=1 units=km",
    "new line.l2 bus1=b1.1.2 bus2=b2.1.2 phases=2 linecode=lc length=0.5 units=km",
    "new transformer.t1 phases=1 windings=2 buses=[b2.1 s2.1] kvs=[7.2 0.24] kvas=[50 50]",
    "new load.ld1 bus1=b2.1 phases=1 kv=7.2 kw=10 kvar=3",
    "new load.ld2 bus1=s2.1 phases=1 kv=0.24 kw=2 kvar=1",
    "set voltagebases=[12.47 0.24]",
    "calcvoltagebases",
]
# Tokens a corrupted script may gain; no command that writes files (export, save) is offered,
# so a corrupted script cannot litter the machine while fuzzing.
DSS_TOKENS = st.sampled_from(
    [
        "bus1=",
        "bus2=nowhere",
        "phases=0",
        "phases=7",
        "length=-1",
        "length=0",
        "kv=0",
        "kw=nan",
        "kw=1e309",
        "linecode=missing",
        "r1=abc",
        "(",
        ")",
        "[",
        "|",
        "~",
        "new",
        "redirect missing.dss",
        "new line.l9",
        "new load.ld9 bus1=b1.4",
        "new circuit.u",
        "edit line.l1 enabled=no",
        "open line.l1",
        "disable load.ld1",
        "!",
        "'",
        '"',
        "\x00",
        "é",
    ]
)


@fuzz(examples=80)
@given(
    drop=st.lists(st.integers(0, len(MASTER_LINES) - 1), max_size=3),
    edits=st.lists(
        st.tuples(st.integers(0, len(MASTER_LINES) - 1), st.integers(0, 200), DSS_TOKENS),
        max_size=4,
    ),
    cut=st.one_of(st.none(), st.integers(0, 600)),
)
def test_fuzz_opendss_master(scratch, monkeypatch, drop, edits, cut):
    import opendss_ext

    lines = list(MASTER_LINES)
    for row, column, token in edits:
        text = lines[row]
        lines[row] = text[:column] + " " + token + " " + text[column:]
    lines = [line for k, line in enumerate(lines) if k not in set(drop)]
    text = "\n".join(lines) + "\n"
    if cut is not None:
        text = text[:cut]
    folder = scratch / "dss"
    folder.mkdir(exist_ok=True)
    master = folder / "Master.dss"
    master.write_text(text, encoding="utf-8")
    monkeypatch.chdir(folder)
    try:
        circuit = opendss_ext.read_circuit(master)
    except BayesGridError:
        return
    finally:
        assert Path.cwd() == folder
    assert circuit.feeder.n_buses >= 1
    assert np.isfinite(circuit.feeder.length_km).all()


# ----------------------------------------------------------------------------- parameter files
GOOD = json.loads(default_parameter_path("power_smartds_counting.json").read_text())
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


def _load(scratch: Path, text: str) -> None:
    path = scratch / "params.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        params = PowerParameters.load(path)
    except BayesGridError:
        return
    assert np.isfinite(params.p3).all() and (params.p_sigma_kw > 0).all()


@fuzz(examples=60)
@given(document=JSON_VALUES)
def test_fuzz_parameter_file_random_json(scratch, document):
    _load(scratch, json.dumps(document))


@fuzz(examples=80)
@given(
    field=st.sampled_from([*GOOD["parameters"], "format", "format_version", "model", "provenance"]),
    value=JSON_VALUES,
)
def test_fuzz_parameter_file_one_field(scratch, field, value):
    document = json.loads(json.dumps(GOOD))
    if field in document["parameters"]:
        document["parameters"][field] = value
    else:
        document[field] = value
    _load(scratch, json.dumps(document))


@fuzz(examples=60)
@given(data=mutated(json.dumps(GOOD).encode(), max_edits=3))
def test_fuzz_parameter_file_bytes(scratch, data):
    path = scratch / "bytes.json"
    path.write_bytes(data)
    try:
        PowerParameters.load(path)
    except BayesGridError:
        pass
