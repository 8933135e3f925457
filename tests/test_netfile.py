"""pandapower JSON files from users are read without building foreign objects."""

from __future__ import annotations

import json
from pathlib import Path

import pandapower as pp
import pytest

from bayesgrid_plugins.errors import ParameterError
from pandapower_ext import read_net


def _net_file(tmp_path: Path) -> Path:
    net = pp.create_empty_network()
    a, b = pp.create_buses(net, 2, vn_kv=0.4)
    pp.create_ext_grid(net, a)
    pp.create_line(net, a, b, 0.1, "NAYY 4x50 SE")
    path = tmp_path / "net.json"
    pp.to_json(net, str(path))
    return path


def test_a_plain_net_loads(tmp_path: Path) -> None:
    net = read_net(_net_file(tmp_path))
    assert len(net.bus) == 2 and len(net.line) == 1


def test_a_file_naming_foreign_classes_is_refused(tmp_path: Path) -> None:
    path = _net_file(tmp_path)
    document = json.loads(path.read_text())
    document["_object"]["bus"]["_module"] = "subprocess"
    document["_object"]["bus"]["_class"] = "Popen"
    path.write_text(json.dumps(document))
    with pytest.raises(ParameterError, match=r"\['subprocess'\].*refusing"):
        read_net(path)


def test_not_json_and_missing(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ParameterError, match="not a pandapower JSON file"):
        read_net(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_net(tmp_path / "missing.json")
