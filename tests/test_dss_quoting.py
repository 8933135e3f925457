"""Every string that reaches an OpenDSS command is quoted: names cannot edit other elements.

The fuzz test builds a real circuit with a load of an arbitrary name, runs the commands bayesgrid
builds for it (disable it, add a load named after a bus, save the circuit) and checks that the
engine then holds exactly the intended elements with the intended values.
"""

from __future__ import annotations

import os
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayesgrid_plugins.errors import AdapterError, ParameterError

opendss_ext = pytest.importorskip("opendss_ext")
from opendss_ext.engine import new_engine, run_commands  # noqa: E402
from opendss_ext.quoting import dss_bus, dss_element, dss_path, dss_quote  # noqa: E402

EXAMPLES = 60 * int(os.environ.get("BAYESGRID_FUZZ_EXAMPLES", "1"))

HOSTILE_MASTER = """clear
new circuit.t bus1=src basekv=12.47 phases=3
new linecode.lc nphases=3 r1=0.1 x1=0.2 r0=0.3 x0=0.6 units=km
new line.l1 bus1=src bus2=b1 linecode=lc length=1 units=km
new line.l2 bus1=b1 bus2=b2 linecode=lc length=1 units=km
new load.victim bus1=b2 phases=3 kv=12.47 kw=30 kvar=9
new "load.victim.kw=9999 !" bus1=b2 phases=3 kv=12.47 kw=60 kvar=18
set voltagebases=[12.47]
calcvoltagebases
"""


def _loads(dss) -> dict[str, tuple[float, float]]:
    out = {}
    index = dss.Loads.First()
    while index > 0:
        out[dss.Loads.Name()] = (dss.Loads.kW(), dss.Loads.kvar())
        index = dss.Loads.Next()
    return out


def test_a_load_name_cannot_edit_another_load(tmp_path):
    """`Load.<name>.enabled=no` with name `victim.kw=9999 !` used to set victim's kW."""
    from opendss_ext import unbalance_circuit

    master = tmp_path / "Master.dss"
    master.write_text(HOSTILE_MASTER)
    result = unbalance_circuit(master, n=2, scenario="unbalanced", rng=3)
    for k in range(2):
        dss = result.build(k)
        loads = _loads(dss)
        assert "victim" not in loads and "victim.kw=9999 !" not in loads, loads
        p = sum(v[0] for v in loads.values())
        q = sum(v[1] for v in loads.values())
        assert p == pytest.approx(90.0, rel=1e-9) and q == pytest.approx(27.0, rel=1e-9)
    written = result.write(tmp_path / "out")
    assert [p.name for p in written] == ["realisation_0000", "realisation_0001"]


def test_save_into_a_folder_with_brackets_and_spaces(tmp_path):
    """`save circuit dir=[...]` used to break on a `]` in the output path."""
    from opendss_ext import unbalance_circuit

    master = tmp_path / "Master.dss"
    master.write_text(HOSTILE_MASTER)
    result = unbalance_circuit(master, n=1, rng=1)
    out = tmp_path / "odd ]name [x"
    written = result.write(out)
    assert (written[0] / "Master.dss").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["realisation_0000"]


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("plain", "plain"),
        ("a b", '"a b"'),
        ('say "hi"', "'say \"hi\"'"),
        ("a\"b'c", "[a\"b'c]"),
        ("x]\"'", "{x]\"'}"),
    ],
)
def test_dss_quote_picks_a_pair_the_text_lacks(text, quoted):
    assert dss_quote(text) == quoted


@pytest.mark.parametrize("text", ["", "a\nb", "a\x00b", "\"'[]{}()"])
def test_dss_quote_refuses_what_no_pair_can_hold(text):
    with pytest.raises(ParameterError, match=r"rename|empty"):
        dss_quote(text)


def test_dss_bus_refuses_a_dot_in_the_bus_name():
    with pytest.raises(ParameterError, match="node separator"):
        dss_bus("b.1", (1,))


NAMES = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\x00\r\n", max_codepoint=0x2FF
    )
    | st.sampled_from(list(string.punctuation + " \t")),
    min_size=1,
    max_size=24,
)


@settings(
    max_examples=EXAMPLES,
    deadline=20_000,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(name=NAMES, bus=NAMES)
def test_fuzz_names_against_the_engine(tmp_path, name, bus):
    """Whatever the names, the circuit holds exactly the intended loads and values."""
    dss = new_engine()
    try:
        load = dss_element("Load", name)
        new_bus = dss_bus(bus, (1,))
        path = dss_path(tmp_path / f"saved {abs(hash((name, bus)))}")
    except ParameterError:
        return  # refused clearly: nothing reaches the engine
    run_commands(
        dss,
        [
            "clear",
            "new circuit.t bus1=src basekv=12.47 phases=3",
            "new line.l1 bus1=src bus2=b1 length=1 units=km",
            "new load.keep bus1=b1 phases=3 kv=12.47 kw=30 kvar=9",
        ],
    )
    try:
        run_commands(dss, [f"new {load} bus1=b1 phases=3 kv=12.47 kw=5 kvar=1"])
    except AdapterError:
        # OpenDSS refuses some names itself (for example a duplicate of 'keep' or a blank
        # name); then nothing else may have changed.
        assert _loads(dss) == {"keep": (30.0, 9.0)}
        return
    stored = name.strip().lower()
    assert _loads(dss) == {"keep": (30.0, 9.0), stored: (5.0, 1.0)} or (
        stored == "keep" and _loads(dss) == {"keep": (5.0, 1.0)}
    )
    run_commands(dss, [f"edit {load} enabled=no"])
    expected = {} if stored == "keep" else {"keep": (30.0, 9.0)}
    assert _loads(dss) == expected
    run_commands(
        dss,
        [f"new load.added bus1={new_bus} phases=1 kv=7.2 kw=2 kvar=0.5", "makebuslist"],
    )
    buses = [b.lower() for b in dss.Circuit.AllBusNames()]
    assert bus.strip().lower() in buses or bus.strip() == ""
    assert _loads(dss) == {**expected, "added": (2.0, 0.5)}
    assert np.isfinite(dss.Loads.kW())
    del path
