"""Built-in exporter names cannot be shadowed silently; a failing exporter is named and leaves
nothing behind, in the API as on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_plugins import install, make_ensemble, make_feeder, plugin_source  # noqa: F401

from bayesgrid_plugins.app.cli import main
from bayesgrid_plugins.errors import DuplicateExporterError, ExporterFailedError
from bayesgrid_plugins.exporter_precedence import OVERRIDE_ENV_VAR
from bayesgrid_plugins.exporters.csv_buses import CsvBusesExporter
from bayesgrid_plugins.plugins import PluginManager, get_plugin_manager, reset_plugin_manager


@pytest.mark.parametrize("entry", ["aaa", "zzz"], ids=["loaded-first", "loaded-last"])
def test_a_third_party_csv_is_refused_and_says_so(install, entry) -> None:  # noqa: F811
    module = f"fake_{entry}_mod"
    install(f"fake-{entry}", "1.0", {entry: module}, {module: plugin_source("csv", "mine")})
    manager = PluginManager(blocked=set())
    assert isinstance(manager.get_exporter("csv"), CsvBusesExporter)  # the built-in stays
    assert "mine" in manager.available_exporters()  # the plugin's other formats load
    info = next(i for i in manager.plugins() if i.name == entry)
    assert "csv" not in info.exporters
    assert f"exporter 'csv' of plugin '{entry}' (fake-{entry} 1.0) was refused" in info.error
    assert f"{OVERRIDE_ENV_VAR}=csv" in info.error
    assert "csv" not in manager.registry.conflicts


def test_an_explicit_override_lets_the_plugin_replace_the_builtin(install, monkeypatch) -> None:  # noqa: F811
    install("fake-over", "1.0", {"over": "fake_over_mod"}, {"fake_over_mod": plugin_source("csv")})
    monkeypatch.setenv(OVERRIDE_ENV_VAR, "csv")
    manager = PluginManager(blocked=set())
    assert not isinstance(manager.get_exporter("csv"), CsvBusesExporter)
    assert manager.registry.owner("csv") == "plugin 'over' (fake-over 1.0)"
    builtin = next(i for i in manager.plugins() if i.name == "csv")
    assert "replaces bayesgrid's built-in 'csv'" in builtin.error


def test_registering_a_builtin_name_in_code_is_refused_with_the_reason() -> None:
    manager = PluginManager(blocked=set())

    from bayesgrid_plugins import hookimpl

    class Plugin:
        @hookimpl
        def bayesgrid_register_exporters(self, register):
            register(CsvBusesExporter())

    plugin = Plugin()
    with pytest.raises(DuplicateExporterError, match=r"'csv' is a bayesgrid built-in format"):
        manager.register_plugin(plugin, name="mine")
    assert isinstance(manager.get_exporter("csv"), CsvBusesExporter)


class Boom:
    """Writes a file, then fails."""

    name = "boom"
    description = "fails half-way"

    def export(self, request):
        (request.output_dir / "half.txt").write_text("half")
        raise RuntimeError("disk on fire")


def test_a_failing_exporter_is_named_and_leaves_nothing_in_the_api(tmp_path) -> None:
    manager = PluginManager(entry_points=True, blocked=set())
    manager.register(Boom())
    feeder = make_feeder()
    ens = make_ensemble(feeder, 2)
    out = tmp_path / "new"
    with pytest.raises(
        ExporterFailedError, match=r"the 'boom' exporter failed: RuntimeError: disk"
    ):
        manager.export(feeder, ens, "npz,boom", out)
    assert not out.exists()
    # into a folder with an earlier export: that one stays whole, nothing new is left
    kept = tmp_path / "kept"
    manager.export(feeder, ens, "csv", kept)
    before = sorted(p.relative_to(kept) for p in kept.rglob("*"))
    with pytest.raises(ExporterFailedError) as caught:
        manager.export(feeder, ens, "npz,boom", kept)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert sorted(p.relative_to(kept) for p in kept.rglob("*")) == before


# test_layers re-imports an old module path, which leaves an alias behind that makes later lazy
# imports warn ImportWarning (__package__ != __spec__.parent); that is not what this test checks.
@pytest.mark.filterwarnings("ignore::ImportWarning")
def test_a_failing_exporter_is_named_on_the_command_line(tmp_path, capsys) -> None:
    reset_plugin_manager()
    try:
        get_plugin_manager().register(Boom())
        out = tmp_path / "o"
        argv = ["generate", "--dist", "200", "-n", "1", "--seed", "1", "--engine", "none"]
        assert main([*argv, "--format", "npz,boom", "--out", str(out)]) == 1
        err = capsys.readouterr().err
        assert "the 'boom' exporter failed: RuntimeError: disk on fire" in err, err
        assert "bug in bayesgrid" not in err
        assert not out.exists()
    finally:
        reset_plugin_manager()


del Path
