"""Security basics: no code from user files, no command injection, no writes outside the output.

* No ``eval``/``exec``/``pickle`` anywhere in the packages; every ``np.load`` refuses pickles.
* Bus ids taken from OSM tags, DSS files or user tables cannot add an OpenDSS command, element,
  property or node: the script holds exactly the intended elements and the engine builds
  exactly them.
* Names with ``../`` cannot make an exporter write outside the output folder.
* The OpenDSS engine runs scripts without shell commands, editors or directory changes.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

from bayesgrid_plugins import plugins
from bayesgrid_plugins.errors import AdapterError, ParameterError
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.fileio import safe_child, verify_manifest
from bayesgrid_plugins.models.power import BayesianPowerModel

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [ROOT / "bayesgrid_plugins", ROOT / "opendss_ext", ROOT / "pandapower_ext"]

EVIL_IDS = [
    "x; new load.evil bus1=src.1 kw=1000",
    "a b",
    "a=b",
    "a\nnew load.evil2 bus1=a.1",
    "..",
    "../../escape",
    "/etc/passwd",
    "b17.1.2",
    "X",
    "x",
    "x_9",
    "[q]",
    "!comment",
    "~ kw=5",
    "",
]


# ----------------------------------------------------------------------------- source scan
def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in package.rglob("*.py"))


def test_no_eval_exec_or_pickle_in_the_packages():
    offences = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n.split(".")[0] in ("pickle", "marshal", "shelve", "dill") for n in names):
                    offences.append(f"{path.name}:{node.lineno} imports a pickle module")
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if isinstance(func, ast.Name) and name in ("eval", "exec", "compile"):
                    offences.append(f"{path.name}:{node.lineno} calls {name}")
                if name in ("read_pickle", "from_pickle"):
                    offences.append(f"{path.name}:{node.lineno} calls {name}")
                if name == "load" and isinstance(func, ast.Attribute):
                    owner = func.value
                    if isinstance(owner, ast.Name) and owner.id in ("np", "numpy"):
                        safe = any(
                            k.arg == "allow_pickle"
                            and isinstance(k.value, ast.Constant)
                            and k.value.value is False
                            for k in node.keywords
                        )
                        if not safe:
                            offences.append(
                                f"{path.name}:{node.lineno} np.load without pickles off"
                            )
                for keyword in node.keywords:
                    if keyword.arg == "shell" and getattr(keyword.value, "value", False) is True:
                        offences.append(f"{path.name}:{node.lineno} runs a shell")
    assert not offences, offences


# ----------------------------------------------------------------------------- injection
@pytest.fixture(scope="module")
def evil():
    """A feeder whose bus ids try to inject commands, climb folders and collide."""
    ids = ["src", *EVIL_IDS]
    edges = [("src", ids[1], 0.1)] + [(ids[k - 1], ids[k], 0.05) for k in range(2, len(ids))]
    coords = {b: (10.0 * k, 3.0 * k) for k, b in enumerate(ids)}
    feeder = Feeder.from_edges(edges, "src", coords=coords, crs="EPSG:32632", vn_kv=13.8)
    ensemble = BayesianPowerModel().sample(feeder, 3, rng=11)
    return feeder, ensemble


def test_dss_bus_names_are_safe_and_unique(evil):
    from opendss_ext.builder import dss_bus_names

    feeder, _ = evil
    names = dss_bus_names(feeder)
    assert len(set(names.tolist())) == feeder.n_buses
    assert all(re.fullmatch(r"[a-z0-9_\-]+", n) for n in names)
    # Ids that were safe already are kept as they are.
    assert names[feeder.index_of("src")[0]] == "src"
    assert names[feeder.index_of("x_9")[0]] == "x_9"


def test_collisions_never_reuse_a_name():
    from opendss_ext.builder import dss_bus_names

    # "X" (index 3) collides with "x" and must not become "x_3", which is taken already.
    ids = ["s", "x_3", "x", "X", "x 3", "X_3"]
    feeder = Feeder(bus_id=ids, parent=[-1, 0, 0, 0, 0, 0], length_km=[0, 1, 1, 1, 1, 1])
    names = dss_bus_names(feeder).tolist()
    assert names[:3] == ["s", "x_3", "x"]
    assert len(set(names)) == len(ids), names


def _expected_elements(feeder, ensemble, k=0):
    from opendss_ext.builder import circuit_masks

    lines, loads = circuit_masks(ensemble, k, None)
    n_lines = int((lines[feeder.lines] > 0).sum())
    n_loads = int(sum(bin(int(m)).count("1") for m in loads))
    return n_lines, n_loads


def test_script_holds_exactly_the_intended_commands(evil):
    from opendss_ext import to_dss_commands

    feeder, ensemble = evil
    commands = to_dss_commands(feeder, ensemble, 0)
    text = to_dss_commands(feeder, ensemble, 0, as_text=True)
    assert text.count("\n") == len(commands)  # no id brought its own line break
    n_lines, n_loads = _expected_elements(feeder, ensemble)
    news = [c for c in commands if c.startswith("new ")]
    kinds = [c.split(".", 1)[0] for c in news]
    assert kinds.count("new line") == n_lines
    assert kinds.count("new load") == n_loads
    assert kinds.count("new circuit") == 1
    assert "evil" not in text.replace("new_load_evil", "")
    for command in commands:
        assert not re.search(r"[;!~\[\]=]\s*new\b", command), command
        # Every bus reference is a safe name with phase nodes only.
        for ref in re.findall(r"bus[12]=(\S+)", command):
            assert re.fullmatch(r"[a-z0-9_\-]+(\.[123])*", ref), (ref, command)


def test_engine_builds_exactly_the_intended_elements(evil):
    from opendss_ext import populate_circuit
    from opendss_ext.builder import dss_bus_names

    feeder, ensemble = evil
    dss = populate_circuit(feeder, ensemble, 0)
    n_lines, n_loads = _expected_elements(feeder, ensemble)
    assert dss.Lines.Count() == n_lines
    assert dss.Loads.Count() == n_loads
    dss.Text.Command("makebuslist")
    assert sorted(dss.Circuit.AllBusNames()) == sorted(dss_bus_names(feeder).tolist())
    elements = [e.lower() for e in dss.Circuit.AllElementNames()]
    assert not [e for e in elements if "evil" in e and not e.startswith(("line.l_", "load.d_"))]


def test_circuit_name_cannot_inject_a_command(evil):
    from opendss_ext import to_dss_commands
    from opendss_ext.builder import CircuitOptions

    feeder, ensemble = evil
    with pytest.raises(ParameterError, match="line break"):
        to_dss_commands(feeder, ensemble, 0, options=CircuitOptions(name="c\nnew load.evil"))


def test_exporter_refuses_an_unsafe_circuit_name(evil, tmp_path):
    feeder, ensemble = evil
    with pytest.raises(ParameterError, match="OpenDSS-safe"):
        plugins.export(feeder, ensemble, "opendss", tmp_path, options={"opendss": {"name": "a b"}})
    assert not (tmp_path / "opendss").exists()  # a refused export leaves nothing behind


# ----------------------------------------------------------------------------- paths
def test_exports_stay_inside_the_output_folder(evil, tmp_path):
    feeder, ensemble = evil
    out = tmp_path / "out"
    written = plugins.export(
        feeder, ensemble, ["npz", "csv", "geojson", "opendss", "pandapower"], out
    )
    root = out.resolve()
    for paths in written.values():
        for path in paths:
            assert root in Path(path).resolve().parents
    everything = [p.resolve() for p in tmp_path.rglob("*")]
    assert all(p == root or root in p.parents for p in everything)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert not verify_manifest(out)


def test_exported_dss_compiles_to_the_intended_circuit(evil, tmp_path):
    from opendss_ext.engine import new_engine, run_commands

    feeder, ensemble = evil
    (folder,) = plugins.export(feeder, ensemble, "opendss", tmp_path, realisations=[1])["opendss"]
    dss = new_engine()
    run_commands(dss, [f"compile [{folder / 'Master.dss'}]"])
    n_lines, n_loads = _expected_elements(feeder, ensemble, 1)
    assert dss.Lines.Count() == n_lines and dss.Loads.Count() == n_loads


@pytest.mark.parametrize(
    ("name", "expected"),
    [("../evil", ".._evil"), ("a/b", "a_b"), ("/etc/passwd", "_etc_passwd"), ("ok-1.json", None)],
)
def test_safe_child_never_leaves_the_folder(tmp_path, name, expected):
    path = safe_child(tmp_path, name)
    assert path.parent == tmp_path
    assert path.name == (expected or name)


@pytest.mark.parametrize("name", ["..", ".", "", "..."])
def test_safe_child_refuses_names_of_dots(tmp_path, name):
    with pytest.raises(ParameterError, match="cannot name a file"):
        safe_child(tmp_path, name)


# ----------------------------------------------------------------------------- the engine
def test_engine_refuses_shell_commands_and_editors(tmp_path, monkeypatch):
    from opendss_ext.engine import new_engine, run_commands

    dss = new_engine()
    assert not dss.Basic.AllowDOScmd() and not dss.Basic.AllowEditor()
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "pwned"
    with pytest.raises(AdapterError, match="DOScmd"):
        run_commands(dss, ["clear", "new circuit.t bus1=s basekv=1", f"DOScmd touch {target}"])
    assert not target.exists()


def test_reader_runs_masters_in_a_locked_engine(tmp_path):
    import opendss_ext

    target = tmp_path / "pwned"
    master = tmp_path / "Master.dss"
    master.write_text(
        "clear\nnew circuit.t bus1=src basekv=12.47\n"
        "new line.l1 bus1=src bus2=b1 length=1 units=km\n"
        f"DOScmd touch {target}\n"
    )
    with pytest.raises(AdapterError, match="DOScmd is disabled"):
        opendss_ext.read_circuit(master)
    assert not target.exists()


def test_manifest_detects_a_changed_file(evil, tmp_path):
    feeder, ensemble = evil
    plugins.export(feeder, ensemble, "csv", tmp_path)
    assert verify_manifest(tmp_path) == []
    table = tmp_path / "csv" / "buses.csv"
    table.write_text(table.read_text().replace("ABC", "ABD", 1))
    assert verify_manifest(tmp_path) == ["csv/buses.csv was changed (SHA-256 differs)"]
    table.unlink()
    assert verify_manifest(tmp_path) == ["csv/buses.csv is missing"]


def test_manifest_paths_cannot_point_outside(tmp_path):
    import json

    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "format": "bayesgrid-manifest",
                "version": 1,
                "complete": True,
                "files": {"../secret": {"bytes": 1, "sha256": ""}},
            }
        )
    )
    assert verify_manifest(tmp_path) == ["../secret points outside the folder; not checked"]
    assert np.isscalar(len(verify_manifest(tmp_path)))


@pytest.mark.parametrize("kind", ["absolute", "link"])
def test_manifest_never_follows_absolute_paths_or_links(tmp_path, kind):
    """An absolute path used to be followed: the check reported the size of /etc/hostname."""
    import json

    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not yours")
    folder = tmp_path / "out"
    folder.mkdir()
    if kind == "absolute":
        name = str(outside)
    else:
        name = "link.txt"
        (folder / name).symlink_to(outside)
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "format": "bayesgrid-manifest",
                "version": 1,
                "complete": True,
                "files": {name: {"bytes": 1, "sha256": ""}},
            }
        )
    )
    problems = verify_manifest(folder)
    assert len(problems) == 1 and "outside the folder" in problems[0], problems
    assert "bytes" not in problems[0]  # the outside file was not even looked at
