"""The layering contract of bayesgrid, checked statically (imports inside functions too).

Layers, imports one way::

    bayesgrid_plugins.app          application: CLI, main job, facade, hosting, scale, validation
    pandapower_ext, opendss_ext,   engine plugins (adapters)
    pgm_ext
    bayesgrid_plugins (the rest)   the core

- The core imports no adapter, no engine library and not the application.
- The application imports no adapter and no engine library: it asks the plugin manager.
- No cycle between the core's units (each subpackage, and each top-level module).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

PACKAGE = "bayesgrid_plugins"
ADAPTERS = ("pandapower_ext", "opendss_ext", "pgm_ext")
ENGINE_LIBRARIES = ("pandapower", "opendssdirect", "power_grid_model")
APP = f"{PACKAGE}.app"


@dataclass(frozen=True)
class Violation:
    """One forbidden import: where, what, and which rule."""

    path: Path
    line: int
    module: str
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.module} imports {self.imported} ({self.rule})"


def module_name(path: Path, root: Path) -> str:
    """Dotted module name of ``path`` under ``root``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """Every module ``path`` imports, anywhere in the file (functions, TYPE_CHECKING blocks)."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:  # "from package import submodule"
                yield node.lineno, f"{target}.{alias.name}"


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def check_layers(root: Path) -> list[Violation]:
    """Every import under ``root / bayesgrid_plugins`` that breaks the contract."""
    found = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        module = module_name(path, root)
        in_app = _within(module, (APP,))
        for line, imported in imports_of(path, root):
            if _within(imported, ADAPTERS + ENGINE_LIBRARIES):
                layer = "application" if in_app else "core"
                found.append(
                    Violation(path, line, module, imported, f"the {layer} imports no adapter")
                )
            elif not in_app and _within(imported, (APP,)):
                found.append(
                    Violation(path, line, module, imported, "the core imports no application")
                )
    return found


def unit_of(module: str, root: Path) -> str | None:
    """The core unit of a module: its subpackage, or itself for a top-level module."""
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) < 2 or parts[1] == "app":
        return None
    return parts[1] if (root / PACKAGE / parts[1]).is_dir() or len(parts) == 2 else None


def core_cycles(root: Path) -> list[list[str]]:
    """Cycles between the core's units (package ``__init__`` re-exports left out)."""
    graph: nx.DiGraph = nx.DiGraph()
    evidence: dict[tuple[str, str], str] = defaultdict(str)
    for path in sorted((root / PACKAGE).rglob("*.py")):
        module = module_name(path, root)
        if module == PACKAGE:
            continue
        source = unit_of(module, root)
        if source is None:
            continue
        for _, imported in imports_of(path, root):
            target = unit_of(imported, root)
            if target is None or target == source:
                continue
            if not (
                (root / PACKAGE / target).is_dir() or (root / PACKAGE / f"{target}.py").is_file()
            ):
                continue
            graph.add_edge(source, target)
            evidence[(source, target)] = evidence[(source, target)] or f"{module} -> {imported}"
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    return [
        [*c, "; ".join(evidence[(a, b)] for a in c for b in c if (a, b) in evidence)]
        for c in cycles
    ]
