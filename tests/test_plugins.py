"""The plugin manager, the exporter registry, the hook specs and ``bayesgrid plugins``.

Plugins found through entry points are real installed distributions: each test writes a
``.dist-info`` folder (METADATA and entry_points.txt) and the plugin's module into a temporary
folder on ``sys.path``, which is what an installer leaves behind.
"""

from __future__ import annotations

import inspect
import itertools
import json
import logging
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from bayesgrid_plugins import (
    DuplicateExporterError,
    Ensemble,
    Feeder,
    ParameterError,
    UnknownExporterError,
    hookimpl,
)
from bayesgrid_plugins import hookspecs as hookspecs_module
from bayesgrid_plugins.app.cli import main
from bayesgrid_plugins.exporters import ExportRequest
from bayesgrid_plugins.plugins import (
    BLOCK_ENV_VAR,
    InvalidExporterError,
    PluginManager,
    blocked_from_env,
    reset_plugin_manager,
)

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_SOURCE = """
from pathlib import Path

from bayesgrid_plugins import hookimpl


class Exporter:
    description = "{name} test format"
    suffix = ".txt"

    def __init__(self, name):
        self.name = name

    def export(self, request):
        path = request.output_dir / "out.txt"
        path.write_text(",".join(map(str, request.realisations)))
        return [path]


@hookimpl
def bayesgrid_register_exporters(register):
    for name in {names!r}:
        register(Exporter(name))
"""


def make_feeder(buses: str = "abcde") -> Feeder:
    """A chain from the source ``s`` through ``buses``."""
    chain = ["s", *buses]
    return Feeder.from_edges([(u, v, 0.1) for u, v in itertools.pairwise(chain)], "s")


def make_ensemble(feeder: Feeder, n: int) -> Ensemble:
    """n realisations with three-phase loads of 1 kW per phase everywhere but the source."""
    b = feeder.n_buses
    load = np.where(feeder.is_load, 7, 0).astype(np.uint8)[None].repeat(n, axis=0)
    p_kw = np.repeat(load[..., None] > 0, 3, axis=2).astype(float)
    return Ensemble(
        bus_id=feeder.bus_id.copy(),
        source=feeder.source,
        load_phases=load,
        bus_phases=np.full((n, b), 7, dtype=np.uint8),
        p_kw=p_kw,
        q_kvar=0.5 * p_kw,
        power_factor=np.full(n, 0.9),
        draw=np.zeros(n, dtype=int),
    )


class Recorder:
    """An exporter that remembers the requests it got."""

    description = "records requests"

    def __init__(self, name: str = "recorder") -> None:
        self.name = name
        self.requests: list[ExportRequest] = []

    def export(self, request: ExportRequest) -> list[Path]:
        self.requests.append(request)
        return []


@pytest.fixture
def install(tmp_path, monkeypatch):
    """``install(dist, version, {entry_name: module}, {module: source})`` -> site folder."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    created: list[str] = []

    def _install(dist: str, version: str, entries: dict[str, str], modules: dict[str, str]):
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = ["[bayesgrid.exporters]"] + [f"{k} = {v}" for k, v in entries.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        for module, source in modules.items():
            (site / f"{module}.py").write_text(textwrap.dedent(source))
            created.append(module)
        return site

    yield _install
    for module in created:
        sys.modules.pop(module, None)


def plugin_source(*names: str) -> str:
    return PLUGIN_SOURCE.format(name=names[0], names=list(names))


def only_fakes(manager: PluginManager, prefix: str = "fake") -> dict[str, object]:
    return {info.name: info for info in manager.plugins() if info.name.startswith(prefix)}


# ---------------------------------------------------------------------- registry
def test_duplicate_exporter_names_both_owners():
    manager = PluginManager(entry_points=False)
    manager.register(Recorder("dup"))
    with pytest.raises(DuplicateExporterError, match="'dup'") as err:
        manager.register(Recorder("dup"))
    assert str(err.value).count("<registered in code>") == 2
    assert isinstance(err.value, ValueError)

    class First:
        @hookimpl
        def bayesgrid_register_exporters(self, register):
            register(Recorder("twin"))

    class Second:
        @hookimpl
        def bayesgrid_register_exporters(self, register):
            register(Recorder("other"))
            register(Recorder("twin"))

    manager.register_plugin(First(), name="first-plugin")
    with pytest.raises(DuplicateExporterError) as err:
        manager.register_plugin(Second(), name="second-plugin")
    assert "'first-plugin'" in str(err.value) and "'second-plugin'" in str(err.value)
    # Nothing of the refused plugin is kept, and the first keeps its exporter.
    assert manager.available_exporters() == ["dup", "twin"]
    assert [i.name for i in manager.plugins()] == ["first-plugin"]


def test_unknown_format_lists_available_ones(tmp_path):
    manager = PluginManager(entry_points=False)
    manager.register(Recorder("alpha"))
    manager.register(Recorder("beta"))
    with pytest.raises(UnknownExporterError, match="'gamma'; available: alpha, beta") as err:
        manager.get_exporter("gamma")
    assert isinstance(err.value, KeyError)
    feeder = make_feeder()
    out = tmp_path / "out"
    with pytest.raises(UnknownExporterError, match="alpha, beta"):
        manager.export(feeder, make_ensemble(feeder, n=1), "alpha,gamma", out)
    assert not out.exists()  # checked before anything is written


@pytest.mark.parametrize(
    ("exporter", "message"),
    [
        (type("E", (), {"name": "Bad Name", "description": "x", "export": print})(), "name"),
        (type("E", (), {"name": "ok", "description": "", "export": print})(), "description"),
        (type("E", (), {"name": "ok", "description": "x", "export": 3})(), "export"),
        (type("E", (), {"name": "ok", "description": "x", "export": print, "suffix": 1})(), "suf"),
    ],
)
def test_register_validates_the_protocol(exporter, message):
    manager = PluginManager(entry_points=False)
    with pytest.raises(InvalidExporterError, match=message):
        manager.register(exporter)
    assert manager.available_exporters() == []


def test_export_dispatches_a_request_per_format(tmp_path):
    manager = PluginManager(entry_points=False)
    first, second = Recorder("first"), Recorder("second")
    manager.register(first)
    manager.register(second)
    feeder = make_feeder()
    ensemble = make_ensemble(feeder, n=5)
    result = manager.export(
        feeder,
        ensemble,
        "second, first,second",
        tmp_path,
        realisations=[4, -5],
        overwrite=True,
        options={"first": {"level": 3}},
    )
    assert list(result) == ["second", "first"]
    (request,) = first.requests
    assert request.output_dir == tmp_path / "first" and request.output_dir.is_dir()
    assert tuple(request.realisations) == (4, 0)
    assert request.overwrite is True and request.options == {"level": 3}
    assert request.feeder is feeder and request.ensemble is ensemble
    assert second.requests[0].options == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"realisations": [5]}, "out of range"),
        ({"realisations": [1, -4]}, "repeat"),
        ({"realisations": [0.5]}, "integers"),
        ({"formats": " , "}, "no format"),
        ({"options": {"other": {}}}, "not among the formats"),
    ],
)
def test_export_rejects_bad_arguments(tmp_path, kwargs, message):
    manager = PluginManager(entry_points=False)
    recorder = Recorder()
    manager.register(recorder)
    feeder = make_feeder()
    args = {"formats": "recorder", **kwargs}
    formats = args.pop("formats")
    with pytest.raises(ParameterError, match=message):
        manager.export(feeder, make_ensemble(feeder, n=5), formats, tmp_path, **args)
    assert recorder.requests == []


def test_export_rejects_an_ensemble_of_another_feeder(tmp_path):
    manager = PluginManager(entry_points=False)
    manager.register(Recorder())
    ensemble = make_ensemble(make_feeder("abcde"), n=1)
    with pytest.raises(ParameterError, match=r"does not match feeder\.bus_id"):
        manager.export(make_feeder("abcdz"), ensemble, "recorder", tmp_path)
    with pytest.raises(ParameterError, match="export needs a Feeder and an Ensemble"):
        manager.export(make_feeder(), {"p_kw": 1}, "recorder", tmp_path)


# ---------------------------------------------------------------------- entry points
def test_entry_points_load_lazily_and_report_their_distribution(install):
    install(
        "fake-good", "1.2.3", {"fakegood": "fakegood_mod"}, {"fakegood_mod": plugin_source("fg")}
    )
    manager = PluginManager(blocked=set())
    assert "fakegood_mod" not in sys.modules  # nothing is imported before it is needed
    assert "not loaded" in repr(manager)
    assert "fg" in manager.available_exporters()
    assert "fakegood_mod" in sys.modules
    info = only_fakes(manager)["fakegood"]
    assert (info.status, info.distribution, info.version) == ("loaded", "fake-good", "1.2.3")
    assert info.module == "fakegood_mod" and info.exporters == ("fg",)


def test_broken_plugins_are_reported_not_fatal(install, caplog, tmp_path):
    install(
        "fake-suite",
        "0.9",
        {
            "fakebroken": "fakebroken_mod",
            "fakeraises": "fakeraises_mod",
            "fakeinvalid": "fakeinvalid_mod",
            "fakemissing": "fake_no_such_module",
            "fakeok": "fakeok_mod",
            "fakeempty": "fakeempty_mod",
        },
        {
            "fakebroken_mod": "raise ImportError('needs libfoo 2')\n",
            "fakeraises_mod": """
                from bayesgrid_plugins import hookimpl

                @hookimpl
                def bayesgrid_register_exporters(register):
                    raise RuntimeError('cannot register today')
            """,
            "fakeinvalid_mod": """
                from bayesgrid_plugins import hookimpl

                @hookimpl
                def bayesgrid_register_exporters(register):
                    register(object())
            """,
            "fakeok_mod": plugin_source("ok-format"),
            "fakeempty_mod": "def bayesgrid_register_exporter(register):  # misspelt\n    pass\n",
        },
    )
    manager = PluginManager(blocked=set())
    with caplog.at_level(logging.WARNING, logger="bayesgrid_plugins.plugins"):
        assert "ok-format" in manager.available_exporters()
    infos = only_fakes(manager)
    assert infos["fakeok"].status == "loaded"
    assert infos["fakeempty"].status == "loaded" and infos["fakeempty"].exporters == ()
    assert "registered no exporters" in infos["fakeempty"].error
    expected = {
        "fakebroken": "ImportError: needs libfoo 2",
        "fakeraises": "RuntimeError: cannot register today",
        "fakeinvalid": "InvalidExporterError",
        "fakemissing": "ModuleNotFoundError",
    }
    for name, error in expected.items():
        assert infos[name].status == "failed" and error in infos[name].error, infos[name]
        assert infos[name].exporters == ()
        assert any(name in record.getMessage() for record in caplog.records)
    # The plugin that raised left no half-registered hook behind.
    assert manager._pm.get_plugin("fakeraises") is None
    feeder = make_feeder()
    written = manager.export(feeder, make_ensemble(feeder, n=2), "ok-format", tmp_path)
    assert written["ok-format"][0].read_text() == "0,1"


def test_blocking_by_environment_variable(install, monkeypatch):
    install("fake-a", "1.0", {"fakea": "fakea_mod"}, {"fakea_mod": plugin_source("fa")})
    install("fake-b", "2.0", {"fakeb": "fakeb_mod"}, {"fakeb_mod": plugin_source("fb")})
    install("fake-c", "3.0", {"fakec": "fakec_mod"}, {"fakec_mod": plugin_source("fc")})
    monkeypatch.setenv(BLOCK_ENV_VAR, "fakea, fake-c")  # a plugin name and a distribution name
    manager = PluginManager()
    names = manager.available_exporters()
    assert "fb" in names and "fa" not in names and "fc" not in names
    infos = only_fakes(manager)
    assert [infos[n].status for n in ("fakea", "fakeb", "fakec")] == [
        "blocked",
        "loaded",
        "blocked",
    ]
    assert "fakea_mod" not in sys.modules and "fakec_mod" not in sys.modules
    with pytest.raises(UnknownExporterError, match="fb"):
        manager.get_exporter("fa")
    assert blocked_from_env({BLOCK_ENV_VAR: " x,y  z,,"}) == {"x", "y", "z"}
    assert blocked_from_env({}) == frozenset()


def test_clashing_plugins_make_the_name_unusable(install):
    install(
        "fake-one", "1.0", {"fakeone": "fakeone_mod"}, {"fakeone_mod": plugin_source("same", "one")}
    )
    install("fake-two", "1.0", {"faketwo": "faketwo_mod"}, {"faketwo_mod": plugin_source("same")})
    manager = PluginManager(blocked=set())
    assert "one" in manager.available_exporters()
    assert "same" not in manager.available_exporters()
    with pytest.raises(DuplicateExporterError) as err:
        manager.get_exporter("same")
    assert "'fakeone' (fake-one 1.0)" in str(err.value)
    assert "'faketwo' (fake-two 1.0)" in str(err.value)
    assert BLOCK_ENV_VAR in str(err.value)
    assert set(manager.registry.conflicts) == {"same"}


def test_builtin_host_exporters_never_break_loading():
    # pandapower and OpenDSS exporters load if their modules exist and are reported otherwise.
    manager = PluginManager(blocked=set())
    infos = {info.name: info for info in manager.plugins()}
    for name in ("pandapower", "opendss"):
        assert infos[name].status in ("loaded", "failed")
        assert infos[name].distribution == "bayesgrid"
    assert {"npz", "csv", "geojson"} <= set(manager.available_exporters())


# ---------------------------------------------------------------------- CLI
def test_cli_plugins_lists_exporters_failures_and_blocked(install, monkeypatch, capsys):
    install(
        "fake-cli", "4.5.6", {"fakecli": "fakecli_mod"}, {"fakecli_mod": plugin_source("cli-x")}
    )
    install("fake-bad", "0.1", {"fakebad": "fakebad_mod"}, {"fakebad_mod": "1 / 0\n"})
    monkeypatch.setenv(BLOCK_ENV_VAR, "pandapower,opendss,npz")
    reset_plugin_manager()
    monkeypatch.setattr("bayesgrid_plugins.plugins._default", None)
    assert main(["plugins", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    exporters = {row["name"]: row for row in document["exporters"]}
    assert exporters["cli-x"]["distribution"] == "fake-cli"
    assert exporters["cli-x"]["version"] == "4.5.6"
    assert exporters["csv"]["distribution"] == "bayesgrid"
    assert "npz" not in exporters
    plugins = {row["name"]: row for row in document["plugins"]}
    assert plugins["fakebad"]["status"] == "failed"
    assert "ZeroDivisionError" in plugins["fakebad"]["error"]
    assert plugins["npz"]["status"] == "blocked"

    reset_plugin_manager()
    assert main(["plugins"]) == 0
    text = capsys.readouterr().out
    assert re.search(
        r"^  cli-x\s+\.txt\s+fake-cli 4\.5\.6\s+fakecli\s+cli-x test format$", text, re.M
    )
    assert re.search(
        r"^Failed plugins \(1\):\n  fakebad\s+fake-bad 0\.1\s+fakebad_mod\s+Zero", text, re.M
    )
    assert re.search(rf"^Blocked plugins \(by {BLOCK_ENV_VAR}\) \(3\):$", text, re.M)
    reset_plugin_manager()


def test_bayesgrid_command_runs_the_plugins_subcommand():
    result = subprocess.run(
        [sys.executable, "-m", "bayesgrid_plugins.app.cli", "plugins"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "", BLOCK_ENV_VAR: "pandapower,opendss"},
        cwd=ROOT,
    )
    assert re.search(r"^  geojson\s+\.geojson\s+bayesgrid ", result.stdout, re.M)


# ---------------------------------------------------------------------- docs and import cost
def test_every_hook_has_a_docs_section():
    docs = (ROOT / "docs" / "plugins.md").read_text()
    # Split into sections at every heading: {heading line: body}.
    parts = re.split(r"^(#+ .*)$", docs, flags=re.M)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    hooks = [
        name
        for name, obj in inspect.getmembers(hookspecs_module, inspect.isfunction)
        if hasattr(obj, "bayesgrid_spec")
    ]
    assert "bayesgrid_register_exporters" in hooks
    for name in hooks:
        assert name.startswith("bayesgrid_")
        found = [body for heading, body in sections.items() if f"`{name}" in heading]
        assert len(found) == 1, f"no docs section for the hook {name}"
        params = inspect.signature(getattr(hookspecs_module, name)).parameters
        for param in params:
            assert f"`{param}`" in found[0], f"the docs of {name} do not describe {param!r}"
        assert "When it is called" in found[0] and "Returns" in found[0]
    assert BLOCK_ENV_VAR in docs


def test_import_loads_no_plugins_pandas_or_matplotlib():
    code = (
        "import sys, bayesgrid_plugins, bayesgrid_plugins.plugins, bayesgrid_plugins.hookspecs\n"
        "bad = [m for m in ('pandas', 'matplotlib', 'pyproj', 'bayesgrid_plugins.exporters.npz',"
        " 'bayesgrid_plugins.exporters.csv_buses', 'bayesgrid_plugins.exporters.geojson',"
        " 'pandapower_ext.exporter', 'opendss_ext.exporter') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == ""
