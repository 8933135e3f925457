"""Old import paths of modules that moved to the application layer keep working, with a warning.

``import bayesgrid_plugins.pipeline`` gives :mod:`bayesgrid_plugins.app.pipeline` and a
``DeprecationWarning`` naming the new path. The alias is resolved by the import system on demand:
the core itself never imports the application.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

__all__ = ["MOVED", "install"]

#: Old module path -> new module path (a package's submodules follow it).
MOVED = {
    **{
        f"bayesgrid_plugins.{name}": f"bayesgrid_plugins.app.{name}"
        for name in (
            "cli",
            "cli_generate",
            "cli_scale",
            "cli_types",
            "cli_unbalance",
            "cli_validate",
            "facade",
            "figures",
            "hosting",
            "pipeline",
            "report",
            "scale",
            "validate_output",
            "validation",
        )
    },
    "bayesgrid_plugins.learn.cli": "bayesgrid_plugins.app.cli_train",
}


def _new_name(name: str) -> str | None:
    for old, new in MOVED.items():
        if name == old or name.startswith(old + "."):
            return new + name[len(old) :]
    return None


class _Alias(importlib.abc.Loader):
    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.new)
        self.spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # the import system gave the module the alias's spec: give it back its own, so its
        # relative imports keep resolving against its real package
        module.__spec__ = self.spec


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        new = _new_name(name)
        if new is None:
            return None
        warnings.warn(
            f"{name} moved to {new}; import it from there (the old path will be removed)",
            DeprecationWarning,
            stacklevel=3,
        )
        return importlib.util.spec_from_loader(name, _Alias(new))


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _MovedFinder())
