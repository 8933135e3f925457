"""The plugin manager: the exporter registry, the engine registry and the network readers.

Exporters, engines and readers come from plugins: modules with ``bayesgrid_register_exporters``,
``bayesgrid_register_engines`` or ``bayesgrid_read_network`` hook implementations (see
:mod:`bayesgrid_plugins.hookspecs`), found through the entry-point groups ``bayesgrid.plugins``
and ``bayesgrid.exporters`` (the older group, still read). bayesgrid's own exporters and engines
are registered the same way, from its own ``pyproject.toml``.

Entry points are loaded lazily, on the first call that needs an exporter, never at import time. A
plugin that fails to import or to register is logged and reported as failed; the others still
load. Plugins can be blocked by name with the environment variable ``BAYESGRID_BLOCK_PLUGINS``
(comma separated entry-point names or distribution names, read when the plugins are loaded).

The module-level functions (:func:`get_exporter`, :func:`available_exporters`, :func:`export`,
:func:`register`, :func:`plugin_report`) use one shared :class:`PluginManager`.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal, TypedDict, cast

import numpy as np
import pluggy

from . import hookspecs
from .engines import Engine, InvalidEngineError, check_case_inputs, validate_engine
from .ensemble import Ensemble
from .errors import (
    BayesGridError,
    DuplicateEngineError,
    DuplicateExporterError,
    ParameterError,
    UnknownEngineError,
    UnknownExporterError,
)
from .export_guard import entries, guarded_export, remove_new
from .exporter_precedence import (
    BUILTIN_DISTRIBUTION,
    overrides_from_env,
    refusal_message,
    winner,
)
from .exporters.base import Exporter, ExportRequest
from .feeder import Feeder
from .fileio import MANIFEST_FILE, manifest_formats, restore_manifest, write_manifest
from .readers import NetworkReading

__all__ = [
    "BLOCK_ENV_VAR",
    "ENTRY_POINT_GROUP",
    "ENTRY_POINT_GROUPS",
    "ExporterRegistry",
    "InvalidEngineError",
    "InvalidExporterError",
    "PluginInfo",
    "PluginManager",
    "available_engines",
    "available_exporters",
    "blocked_from_env",
    "export",
    "get_engine",
    "get_exporter",
    "get_plugin_manager",
    "plugin_report",
    "read_network",
    "register",
    "reset_plugin_manager",
    "validate_exporter",
]

logger = logging.getLogger(__name__)

#: Entry-point group scanned for plugins of every kind.
ENTRY_POINT_GROUP = "bayesgrid.plugins"
#: Every group scanned: the current one, then the older exporter-only group.
ENTRY_POINT_GROUPS = (ENTRY_POINT_GROUP, "bayesgrid.exporters")
#: Environment variable naming plugins not to load: ``BAYESGRID_BLOCK_PLUGINS=name1,name2``.
BLOCK_ENV_VAR = "BAYESGRID_BLOCK_PLUGINS"
#: Owner recorded for exporters registered directly in code rather than by a plugin.
CODE_OWNER = "<registered in code>"

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_HOOK = "bayesgrid_register_exporters"
_ENGINE_HOOK = "bayesgrid_register_engines"
_FITTER_HOOK = "bayesgrid_register_fitters"
_READER_HOOK = "bayesgrid_read_network"


class InvalidExporterError(BayesGridError, TypeError):
    """An object given to ``register`` does not follow the Exporter protocol."""


Status = Literal["loaded", "failed", "blocked"]


class _Origin(TypedDict):
    """Where a plugin comes from: its module and its distribution's name and version."""

    module: str | None
    distribution: str | None
    version: str | None


@dataclass(frozen=True)
class PluginInfo:
    """What happened to one plugin.

    Attributes
    ----------
    name : str
        Plugin name (the entry-point name, or the name given to ``register_plugin``).
    status : {"loaded", "failed", "blocked"}
        Whether it was loaded, failed to import or register, or was blocked.
    module : str or None
        The entry point's target (``package.module``), or the module of a plugin registered in
        code.
    distribution, version : str or None
        The installed distribution that declares the entry point, and its version.
    exporters : tuple of str
        Names of the exporters it registered.
    error : str or None
        Why it failed; for a loaded plugin, which of its names clash with another plugin's, or
        that it registered nothing.
    engines : tuple of str
        Names of the engines it registered.
    reader : bool
        Whether it implements the network reader hook.
    """

    name: str
    status: Status
    module: str | None = None
    distribution: str | None = None
    version: str | None = None
    exporters: tuple[str, ...] = ()
    error: str | None = None
    engines: tuple[str, ...] = ()
    reader: bool = False

    @property
    def label(self) -> str:
        """``'name' (distribution version)``, for messages."""
        source = "" if self.distribution is None else f" ({self.distribution} {self.version})"
        return f"{self.name!r}{source}"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of the fields."""
        out = asdict(self)
        out["exporters"] = list(self.exporters)
        out["engines"] = list(self.engines)
        return out


def validate_exporter(exporter: object) -> Exporter:
    """Check that ``exporter`` follows the :class:`Exporter` protocol and return it.

    Raises
    ------
    InvalidExporterError
        Naming the attribute that is missing or malformed.
    """
    what = f"exporter {exporter!r}"
    name = getattr(exporter, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidExporterError(
            f"{what} has name {name!r}; give it a `name` attribute of lower-case letters, digits, "
            "'_', '-' or '.' (it is what --format takes)."
        )
    description = getattr(exporter, "description", None)
    if not isinstance(description, str) or not description.strip():
        raise InvalidExporterError(
            f"exporter {name!r} has description {description!r}; give it a non-empty one-line "
            "`description` string."
        )
    if not callable(getattr(exporter, "export", None)):
        raise InvalidExporterError(
            f"exporter {name!r} has no callable `export(request) -> list[Path]` method."
        )
    suffix = getattr(exporter, "suffix", None)
    if suffix is not None and not isinstance(suffix, str):
        raise InvalidExporterError(
            f"exporter {name!r} has suffix {suffix!r}; it must be a string or None."
        )
    return cast(Exporter, exporter)  # checked above, attribute by attribute


class _Registry:
    """Objects of one kind (exporters or engines) by name, each with who registered it.

    A name registered twice is an error naming both owners, never a silent replacement. When
    plugins are discovered, a clash does not stop the other plugins: the name is marked as
    conflicting instead, and asking for it raises the error.
    """

    kind = "exporter"
    option = "--format"
    duplicate_error: type[BayesGridError] = DuplicateExporterError
    unknown_error: type[BayesGridError] = UnknownExporterError

    def __init__(self) -> None:
        self._items: dict[str, Any] = {}
        self._owners: dict[str, str] = {}
        self._conflicts: dict[str, list[str]] = {}

    def validate(self, item: object) -> Any:
        """Check the protocol of ``item`` and return it."""
        raise NotImplementedError

    def register(self, item: Any, *, owner: str = CODE_OWNER) -> None:
        """Add ``item``; ``owner`` names who registered it (shown in errors).

        Raises
        ------
        InvalidExporterError or InvalidEngineError
            If ``item`` does not follow the protocol.
        DuplicateExporterError or DuplicateEngineError
            If its name is taken already.
        """
        self.validate(item)
        name = item.name
        self.check_free([name], owner=owner)
        self._items[name] = item
        self._owners[name] = owner

    def check_free(self, names: Sequence[str], *, owner: str) -> None:
        """Raise the duplicate error unless every name in ``names`` can be added."""
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise self.duplicate_error(self._duplicate_message(name, [owner, owner]))
            seen.add(name)
            if name in self._conflicts:
                raise self.duplicate_error(
                    self._duplicate_message(name, [*self._conflicts[name], owner])
                )
            if name in self._items:
                raise self.duplicate_error(
                    self._duplicate_message(name, [self._owners[name], owner])
                )

    def replace(self, item: Any, *, owner: str) -> str | None:
        """Give ``item.name`` to ``item``; return the owner it was taken from."""
        name = self.validate(item).name
        previous = self._owners.get(name)
        self._conflicts.pop(name, None)
        self._items[name] = item
        self._owners[name] = owner
        return previous

    def mark_conflict(self, name: str, owner: str) -> None:
        """Record that ``owner`` also registered ``name``: the name becomes unusable."""
        owners = self._conflicts.setdefault(name, [])
        if name in self._items:
            owners.append(self._owners.pop(name))
            del self._items[name]
        owners.append(owner)

    def _duplicate_message(self, name: str, owners: Sequence[str]) -> str:
        listed = " and ".join(owners)
        return (
            f"the {self.kind} name {name!r} is registered by {listed}; names must be unique. "
            f"Uninstall one of them or block it with {BLOCK_ENV_VAR}=<plugin name>."
        )

    def get(self, name: str) -> Any:
        """The object called ``name``; raises the unknown error listing the available names."""
        if name in self._conflicts:
            raise self.duplicate_error(self._duplicate_message(name, self._conflicts[name]))
        try:
            return self._items[name]
        except KeyError:
            available = ", ".join(self.names()) or "none"
            raise self.unknown_error(
                f"no {self.kind} is called {name!r}; available: {available} ({self.option}). "
                "Run `bayesgrid plugins` to see which plugins loaded or failed."
            ) from None

    def owner(self, name: str) -> str:
        """Who registered ``name``."""
        self.get(name)
        return self._owners[name]

    def names(self) -> list[str]:
        """Sorted names of the usable objects."""
        return sorted(self._items)

    @property
    def conflicts(self) -> dict[str, list[str]]:
        """Names registered by several owners, with those owners."""
        return {name: list(owners) for name, owners in self._conflicts.items()}

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)


class ExporterRegistry(_Registry):
    """Exporters by name, each with the plugin that registered it."""

    def validate(self, item: object) -> Exporter:
        """Check the :class:`Exporter` protocol."""
        return validate_exporter(item)


class EngineRegistry(_Registry):
    """Power-flow engines by name, each with the plugin that registered it."""

    kind = "engine"
    option = "--engine"
    duplicate_error = DuplicateEngineError
    unknown_error = UnknownEngineError

    def validate(self, item: object) -> Engine:
        """Check the :class:`~bayesgrid_plugins.engines.Engine` protocol."""
        return validate_engine(item)


def blocked_from_env(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """Plugin names listed in ``BAYESGRID_BLOCK_PLUGINS`` (comma or whitespace separated)."""
    value = (os.environ if environ is None else environ).get(BLOCK_ENV_VAR, "")
    return frozenset(part for part in re.split(r"[,\s]+", value) if part)


class PluginManager:
    """Finds plugins, keeps the exporter and engine registries and dispatches exports and reads.

    Parameters
    ----------
    group : str or sequence of str, default ("bayesgrid.plugins", "bayesgrid.exporters")
        Entry-point group(s) to scan.
    blocked : iterable of str, optional
        Plugins not to load, by entry-point name or distribution name. Default: read
        ``BAYESGRID_BLOCK_PLUGINS`` when the plugins are first loaded.
    entry_points : bool, default True
        Whether to scan the entry points at all (False gives an empty manager, for plugins
        registered in code only).

    Notes
    -----
    Nothing is loaded until the first call that needs the exporters; :meth:`load` does it
    explicitly. Loading is done once.
    """

    def __init__(
        self,
        *,
        group: str | Sequence[str] = ENTRY_POINT_GROUPS,
        blocked: Iterable[str] | None = None,
        entry_points: bool = True,
    ) -> None:
        self.groups: tuple[str, ...] = (group,) if isinstance(group, str) else tuple(group)
        self.group = self.groups[0]
        self._blocked_arg = None if blocked is None else frozenset(blocked)
        self._scan = entry_points
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._registry = ExporterRegistry()
        self._engines = EngineRegistry()
        self._fitters: dict[str, Any] = {}
        self._builtin_names: set[str] = set()
        self._infos: dict[str, PluginInfo] = {}
        self._loaded = False
        self._lock = threading.RLock()
        self.blocked: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        state = f"{len(self._infos)} plugins" if self._loaded else "not loaded"
        return f"PluginManager(group={self.group!r}, {state})"

    # ------------------------------------------------------------------ loading
    def load(self) -> None:
        """Load the entry-point plugins (once). Failures are logged and reported, not raised."""
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            self.blocked = blocked_from_env() if self._blocked_arg is None else self._blocked_arg
            if self._scan:
                self._load_entry_points()

    def _load_entry_points(self) -> None:
        from importlib.metadata import entry_points

        found = [ep for group in self.groups for ep in entry_points(group=group)]
        for ep in sorted(found, key=lambda e: e.name):
            dist = getattr(ep, "dist", None)
            dist_name = None if dist is None else dist.metadata["Name"]
            version = None if dist is None else dist.version
            base: _Origin = {"module": ep.value, "distribution": dist_name, "version": version}
            if ep.name in self.blocked or (dist_name is not None and dist_name in self.blocked):
                logger.info("plugin %r (%s) is blocked by %s", ep.name, dist_name, BLOCK_ENV_VAR)
                self._infos[ep.name] = PluginInfo(ep.name, "blocked", **base)
                continue
            if ep.name in self._infos:
                other = self._infos[ep.name]
                self._fail(
                    PluginInfo(ep.name, "failed", **base),
                    f"another plugin of that name, {other.label}, is installed already",
                    key=f"{ep.name} ({dist_name})",
                )
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # any import-time error of a third-party module
                self._fail(PluginInfo(ep.name, "failed", **base), _describe(exc))
                continue
            self._add(plugin, PluginInfo(ep.name, "loaded", **base), strict=False)

    def _fail(self, info: PluginInfo, reason: str, *, key: str | None = None) -> None:
        logger.warning("bayesgrid plugin %s could not be loaded: %s", info.label, reason)
        self._infos[key or info.name] = PluginInfo(
            info.name, "failed", info.module, info.distribution, info.version, error=reason
        )

    def _add(self, plugin: object, info: PluginInfo, *, strict: bool) -> None:
        """Register ``plugin`` with pluggy and collect the exporters and engines it registers."""
        try:
            self._pm.register(plugin, name=info.name)
        except Exception as exc:  # pluggy's validation of the hook implementations
            if strict:
                raise
            self._fail(info, _describe(exc))
            return
        exporters: list[Exporter] = []
        engines: list[Engine] = []
        others = [p for p in self._pm.get_plugins() if p is not plugin]
        try:
            for hook, registry, collected in (
                (_HOOK, self._registry, exporters),
                (_ENGINE_HOOK, self._engines, engines),
            ):
                caller = self._pm.subset_hook_caller(hook, remove_plugins=others)
                caller(register=lambda item, r=registry, c=collected: c.append(r.validate(item)))
        except Exception as exc:
            self._pm.unregister(plugin)
            if strict:
                raise
            self._fail(info, _describe(exc))
            return
        owner = f"plugin {info.label}"
        if strict:
            try:
                self._registry.check_free([e.name for e in exporters], owner=owner)
            except DuplicateExporterError as exc:
                taken = [e.name for e in exporters if e.name in self._registry]
                mine = [n for n in taken if n in self._builtin_names]
                overrides = overrides_from_env()
                if not (mine and mine == taken and set(mine) <= overrides):
                    self._pm.unregister(plugin)
                    if mine:
                        raise DuplicateExporterError(
                            refusal_message(mine[0], owner, overridden=False)
                        ) from exc
                    raise
            try:
                self._engines.check_free([e.name for e in engines], owner=owner)
            except BayesGridError:
                self._pm.unregister(plugin)
                raise
        reader = any(
            impl.plugin is plugin for impl in self._pm.hook.bayesgrid_read_network.get_hookimpls()
        )
        fitters: dict[str, Any] = {}
        caller = self._pm.subset_hook_caller(_FITTER_HOOK, remove_plugins=others)
        caller(register=lambda kind, function: fitters.setdefault(str(kind), function))
        for kind, function in fitters.items():
            self._fitters.setdefault(kind, function)
        notes = []
        if not exporters and not engines and not reader and not fitters:
            notes.append(
                f"it registered no exporters, engines or reader (does it implement {_HOOK} or "
                f"{_ENGINE_HOOK}?)"
            )
            logger.warning("bayesgrid plugin %s %s", info.label, notes[0])
        builtin = info.distribution == BUILTIN_DISTRIBUTION
        for exporter in exporters:
            try:
                self._registry.register(exporter, owner=owner)
            except DuplicateExporterError as exc:
                note = self._settle_clash(exporter, owner, builtin=builtin, error=exc)
                if note:
                    notes.append(note)
            else:
                if builtin:
                    self._builtin_names.add(exporter.name)
        for engine in engines:
            try:
                self._engines.register(engine, owner=owner)
            except BayesGridError as exc:
                logger.warning("%s", exc)
                self._engines.mark_conflict(engine.name, owner)
                notes.append(str(exc))
        self._infos[info.name] = PluginInfo(
            info.name,
            "loaded",
            info.module,
            info.distribution,
            info.version,
            exporters=tuple(
                e.name
                for e in exporters
                if self._registry._owners.get(e.name) == owner or e.name in self._registry.conflicts
            ),
            error=" ".join(notes) or None,
            engines=tuple(e.name for e in engines),
            reader=reader,
        )

    def _settle_clash(
        self, exporter: Exporter, owner: str, *, builtin: bool, error: DuplicateExporterError
    ) -> str | None:
        """A second registration of a name: built-ins win unless overridden (see
        :mod:`~bayesgrid_plugins.exporter_precedence`); returns a note for the new plugin."""
        name = exporter.name
        overrides = overrides_from_env()
        decision = winner(
            name,
            existing_builtin=name in self._builtin_names,
            new_builtin=builtin,
            overrides=overrides,
        )
        if decision == "conflict":
            logger.warning("%s", error)
            self._registry.mark_conflict(name, owner)
            return str(error)
        third = owner if not builtin else self._registry._owners.get(name, "a plugin")
        message = refusal_message(name, third, overridden=name in overrides)
        logger.warning("%s", message)
        if decision == "existing":
            return message  # the new plugin lost the name: its report says why
        loser = self._registry.replace(exporter, owner=owner)
        if builtin:
            self._builtin_names.add(name)
        else:
            self._builtin_names.discard(name)
        if loser is not None:
            self._note_plugin(loser, name, message)
        return None if builtin else message

    def _note_plugin(self, owner: str, name: str, message: str) -> None:
        """Report on the plugin registered as ``owner`` that it lost exporter ``name``."""
        for key, info in self._infos.items():
            if owner == f"plugin {info.label}":
                joined = message if not info.error else f"{info.error} {message}"
                self._infos[key] = replace(
                    info, exporters=tuple(e for e in info.exporters if e != name), error=joined
                )

    def register_plugin(self, plugin: object, name: str | None = None) -> str:
        """Register a plugin object or module in code and its exporters right away.

        Unlike discovery through entry points, errors are raised here.

        Returns
        -------
        str
            The plugin's name.

        Raises
        ------
        DuplicateExporterError
            If it registers a name that is taken; nothing of the plugin is kept then.
        InvalidExporterError
            If it registers an object that is not an exporter.
        ValueError
            If a plugin of that name is registered already.
        """
        self.load()
        with self._lock:
            if name is None:
                name = getattr(plugin, "__name__", None) or f"plugin-{id(plugin):x}"
            if name in self._infos:
                raise ValueError(
                    f"a plugin called {name!r} is registered already ({self._infos[name].label}); "
                    "pass another name."
                )
            module = getattr(plugin, "__module__", None) or getattr(plugin, "__name__", None)
            self._add(plugin, PluginInfo(name, "loaded", module=module), strict=True)
            return name

    def register(self, exporter: Exporter) -> None:
        """Register one exporter directly, without a plugin.

        Raises
        ------
        InvalidExporterError, DuplicateExporterError
        """
        self.load()
        with self._lock:
            self._registry.register(exporter, owner=CODE_OWNER)

    # ------------------------------------------------------------------ queries
    @property
    def registry(self) -> ExporterRegistry:
        """The exporter registry (loading the plugins first)."""
        self.load()
        return self._registry

    def get_exporter(self, name: str) -> Exporter:
        """The exporter called ``name``; raises :class:`UnknownExporterError` listing the others."""
        return self.registry.get(name)

    def available_exporters(self) -> list[str]:
        """Sorted names of the exporters that can be used."""
        return self.registry.names()

    @property
    def engines(self) -> EngineRegistry:
        """The engine registry (loading the plugins first)."""
        self.load()
        return self._engines

    def get_engine(self, name: str) -> Engine:
        """The engine called ``name``; raises :class:`UnknownEngineError` listing the others."""
        return self.engines.get(name)

    def available_engines(self) -> list[str]:
        """Sorted names of the engines that can be used."""
        return self.engines.names()

    def register_engine(self, engine: Engine) -> None:
        """Register one engine directly, without a plugin.

        Raises
        ------
        InvalidEngineError, DuplicateEngineError
        """
        self.load()
        with self._lock:
            self._engines.register(engine, owner=CODE_OWNER)

    def describe_engines(self) -> list[dict[str, Any]]:
        """One dict per usable engine: name, description, phase_accurate, plugin, package."""
        by_plugin = {
            name: info
            for info in self.plugins()
            if info.status == "loaded"
            for name in info.engines
        }
        rows = []
        for name in self.available_engines():
            engine = self._engines.get(name)
            info = by_plugin.get(name)
            rows.append(
                {
                    "name": name,
                    "description": engine.description.strip(),
                    "phase_accurate": engine.phase_accurate,
                    "plugin": None if info is None else info.name,
                    "distribution": None if info is None else info.distribution,
                    "version": None if info is None else info.version,
                }
            )
        return rows

    def get_fitter(self, kind: str) -> Any:
        """The function that learns parameters of model ``kind`` (``"power"``, ...).

        Raises
        ------
        ParameterError
            If no plugin registered a fitter of that kind.
        """
        self.load()
        try:
            return self._fitters[kind]
        except KeyError:
            raise ParameterError(
                f"no fitter is registered for {kind!r} models (known: {sorted(self._fitters)}); "
                "is bayesgrid installed with its entry points (pip install -e .)?"
            ) from None

    def read_network(self, source: object, **options: Any) -> NetworkReading:
        """Read a real network through the first plugin whose reader claims it.

        Parameters
        ----------
        source : path or object
            A ``.dss`` master, a pandapower ``.json`` net, a live pandapower net...
        **options
            Reader options (``kind``, ``loads_file``, ``n_zones``).

        Raises
        ------
        ParameterError
            If no installed reader claims ``source``.
        FileNotFoundError
            If ``source`` is a path that does not exist.
        """
        self.load()
        if isinstance(source, (str, os.PathLike)):
            source = Path(source)
            if not source.is_file():
                raise FileNotFoundError(f"network file {str(source)!r} does not exist.")
        reading = self._pm.hook.bayesgrid_read_network(source=source, options=dict(options))
        if reading is None:
            what = str(source) if isinstance(source, Path) else type(source).__name__
            readers = sorted(i.name for i in self._infos.values() if i.reader) or ["none"]
            raise ParameterError(
                f"no installed reader reads {what!r} (readers: {', '.join(readers)}); give an "
                "OpenDSS master (.dss) or a pandapower net (.json), or pass kind=."
            )
        return reading

    def plugins(self) -> list[PluginInfo]:
        """What was loaded, failed and blocked, one entry per plugin, sorted by name."""
        self.load()
        return sorted(self._infos.values(), key=lambda info: (info.name, info.distribution or ""))

    def describe_exporters(self) -> list[dict[str, Any]]:
        """One dict per usable exporter: name, description, suffix, plugin, package, version."""
        by_plugin = {
            name: info
            for info in self.plugins()
            if info.status == "loaded"
            for name in info.exporters
        }
        rows = []
        for name in self.available_exporters():
            exporter = self._registry.get(name)
            info = by_plugin.get(name)
            rows.append(
                {
                    "name": name,
                    "description": exporter.description.strip(),
                    "suffix": getattr(exporter, "suffix", None),
                    "plugin": None if info is None else info.name,
                    "distribution": None if info is None else info.distribution,
                    "version": None if info is None else info.version,
                }
            )
        return rows

    # ------------------------------------------------------------------ export
    def export(
        self,
        feeder: Feeder,
        ensemble: Ensemble,
        formats: str | Sequence[str],
        output_dir: str | os.PathLike[str],
        *,
        realisations: Sequence[int] | np.ndarray | None = None,
        overwrite: bool = False,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        manifest: bool = True,
    ) -> dict[str, list[Path]]:
        """Write realisations in one or more formats.

        Each format writes into its own sub-folder ``output_dir/<format name>/``, so formats
        never clash over file names. Every file is written atomically; when every format is
        written, ``output_dir/manifest.json`` lists every file of ``output_dir`` with its size
        and SHA-256 (:func:`~bayesgrid_plugins.fileio.write_manifest`). A manifest from an
        earlier export is removed first, so an interrupted export never looks complete.

        Parameters
        ----------
        feeder : Feeder
            The topology of ``ensemble``.
        ensemble : Ensemble
            The realisations; its ``bus_id`` must equal ``feeder.bus_id``.
        formats : str or sequence of str
            Exporter names, as a sequence or a comma-separated string (``"npz,geojson"``).
        output_dir : path
            Folder to write into; created if missing.
        realisations : sequence of int, optional
            Which realisations to write (negative indices count from the end); default all.
        overwrite : bool, default False
            Replace existing files; otherwise an existing output raises
            :class:`~bayesgrid_plugins.errors.OutputExistsError`.
        options : mapping of str to mapping, optional
            Options per format name, passed to that exporter as ``request.options``.
        manifest : bool, default True
            Write the completion marker ``manifest.json`` last (the main job writes a whole
            staged folder instead and turns it off).

        Returns
        -------
        dict of str to list of Path
            The files each format wrote, by format name.

        Raises
        ------
        UnknownExporterError
            If a format is not registered (before anything is written).
        ParameterError
            If ``formats``, ``realisations`` or ``options`` are malformed, or the ensemble does
            not belong to the feeder.
        """
        names = _parse_formats(formats)
        exporters = {name: self.get_exporter(name) for name in names}
        options = dict(options or {})
        stray = sorted(set(options) - set(names))
        if stray:
            raise ParameterError(
                f"options are given for {stray}, which are not among the formats {names}."
            )
        _check_alignment(feeder, ensemble)
        chosen = _check_realisations(realisations, ensemble.n_realisations)
        out = Path(output_dir)
        if out.exists() and not out.is_dir():
            raise ParameterError(f"output_dir {str(out)!r} is a file; give a folder.")
        earlier: list[str] = []
        previous = out / MANIFEST_FILE
        kept = previous.read_bytes() if manifest and previous.is_file() else None
        if manifest:
            # Until every format is written the folder must not look complete.
            earlier = manifest_formats(out)
            previous.unlink(missing_ok=True)
        written: dict[str, list[Path]] = {}
        out_existed, before = out.is_dir(), entries(out)
        try:
            for name, exporter in exporters.items():
                written[name] = self._export_one(
                    name, exporter, feeder, ensemble, out, chosen, overwrite, options
                )
        except BaseException:
            # Nothing of this call stays: the formats written before the failing one go too.
            remove_new(out, before, out_existed)
            if kept is not None:
                restore_manifest(out, kept)  # only if the earlier export is still intact
            raise
        if manifest:
            # Formats of earlier exports into the same folder stay listed.
            listed = sorted({*written, *(f for f in earlier if _NAME.match(f))})
            write_manifest(out, under=listed, extra={"formats": listed})
        return written

    @staticmethod
    def _export_one(
        name: str,
        exporter: Exporter,
        feeder: Feeder,
        ensemble: Ensemble,
        out: Path,
        chosen: Sequence[int],
        overwrite: bool,
        options: Mapping[str, Any],
    ) -> list[Path]:
        folder = out / name
        existed = folder.is_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise ParameterError(
                f"{str(folder)!r} is a file, but the {name!r} exporter writes into a folder "
                "of that name; remove it or choose another output_dir."
            ) from None
        request = ExportRequest(
            feeder=feeder,
            ensemble=ensemble,
            output_dir=folder,
            realisations=chosen,
            overwrite=overwrite,
            options=dict(options.get(name, {})),
        )
        paths = guarded_export(
            name, folder, lambda: [Path(p) for p in exporter.export(request)], existed=existed
        )
        logger.info("exporter %r wrote %d file(s) to %s", name, len(paths), folder)
        return paths


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _parse_formats(formats: str | Sequence[str]) -> list[str]:
    if isinstance(formats, str):
        items = formats.split(",")
    elif isinstance(formats, Sequence) and all(isinstance(f, str) for f in formats):
        items = list(formats)
    else:
        raise ParameterError(
            f"formats must be a string like 'npz,geojson' or a list of names, got {formats!r}."
        )
    names = list(dict.fromkeys(item.strip() for item in items if item.strip()))
    if not names:
        raise ParameterError(f"formats {formats!r} names no format; give at least one.")
    return names


def _check_alignment(feeder: Feeder, ensemble: Ensemble) -> None:
    check_case_inputs(feeder, ensemble, action="export")
    if ensemble.source != feeder.source:
        raise ParameterError(
            f"ensemble.source is bus {ensemble.source} but the feeder's source is bus "
            f"{feeder.source}."
        )


def _check_realisations(realisations: Sequence[int] | np.ndarray | None, n: int) -> tuple[int, ...]:
    if realisations is None:
        return tuple(range(n))
    arr = np.asarray(realisations)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ParameterError(
            f"realisations must be a non-empty sequence of integers, got {realisations!r}."
        )
    bad = (arr < -n) | (arr >= n)
    if bad.any():
        raise ParameterError(
            f"realisations {arr[bad].tolist()} are out of range for an ensemble of {n}."
        )
    wrapped = (arr % n).tolist()
    if len(set(wrapped)) < len(wrapped):
        raise ParameterError(f"realisations {arr.tolist()} repeat a realisation.")
    return tuple(int(k) for k in wrapped)


# ---------------------------------------------------------------------- shared manager
_default: PluginManager | None = None
_default_lock = threading.Lock()


def get_plugin_manager() -> PluginManager:
    """The shared plugin manager (created on first use; plugins load when first needed)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = PluginManager()
        return _default


def reset_plugin_manager() -> None:
    """Forget the shared manager: the next use scans the entry points and the block list again."""
    global _default
    with _default_lock:
        _default = None


def get_exporter(name: str) -> Exporter:
    """The exporter called ``name`` from the shared manager.

    Parameters
    ----------
    name : str
        Exporter name, as listed by :func:`available_exporters` (``"opendss"``, ``"csv"``...).

    Returns
    -------
    Exporter
        Raises ``UnknownExporterError`` listing the available names when there is none.

    Examples
    --------
    >>> from bayesgrid_plugins import get_exporter
    >>> get_exporter("npz").name
    'npz'
    """
    return get_plugin_manager().get_exporter(name)


def available_exporters() -> list[str]:
    """Sorted names of the exporters of the shared manager.

    Examples
    --------
    >>> from bayesgrid_plugins import available_exporters
    >>> {"csv", "geojson", "npz", "opendss", "pandapower"} <= set(available_exporters())
    True
    """
    return get_plugin_manager().available_exporters()


def register(exporter: Exporter) -> None:
    """Register one exporter with the shared manager."""
    get_plugin_manager().register(exporter)


def get_engine(name: str) -> Engine:
    """The power-flow engine called ``name`` from the shared manager.

    Parameters
    ----------
    name : str
        Engine name, as listed by :func:`available_engines` (``"opendss"``, ``"pandapower"``,
        ``"power-grid-model"`` or a plugin's).

    Returns
    -------
    Engine
        Raises ``UnknownEngineError`` listing the available names when there is none.

    Examples
    --------
    >>> from bayesgrid_plugins import get_engine
    >>> get_engine("opendss").phase_accurate
    True
    """
    return get_plugin_manager().get_engine(name)


def available_engines() -> list[str]:
    """Sorted names of the engines of the shared manager.

    Examples
    --------
    >>> from bayesgrid_plugins import available_engines
    >>> {"opendss", "pandapower", "power-grid-model"} <= set(available_engines())
    True
    """
    return get_plugin_manager().available_engines()


def get_fitter(kind: str) -> Any:
    """The function that learns parameters of model ``kind`` from the shared manager.

    Examples
    --------
    >>> from bayesgrid_plugins.plugins import get_fitter
    >>> callable(get_fitter("impedance"))
    True
    """
    return get_plugin_manager().get_fitter(kind)


def read_network(source: object, **options: Any) -> NetworkReading:
    """Read a real network (``.dss``, pandapower JSON or net) through the reader plugins.

    Parameters
    ----------
    source : path or object
        An OpenDSS master (``.dss``), a pandapower net (``.json``) or a live pandapower net.
    **options
        ``kind`` (the format, when the suffix does not tell), ``loads_file`` (OpenDSS),
        ``n_zones``, ``name``.

    Returns
    -------
    NetworkReading
        The claiming plugin's reading: ``feeder()``, ``training_table()``, ``unbalance_to()``.

    Examples
    --------
    >>> from bayesgrid_plugins.plugins import read_network
    >>> reading = read_network("Master.dss")  # doctest: +SKIP
    >>> reading.engine, reading.feeder().n_buses  # doctest: +SKIP
    """
    return get_plugin_manager().read_network(source, **options)


def plugin_report() -> list[PluginInfo]:
    """What the shared manager loaded, failed to load and blocked."""
    return get_plugin_manager().plugins()


def export(
    feeder: Feeder,
    ensemble: Ensemble,
    formats: str | Sequence[str],
    output_dir: str | os.PathLike[str],
    *,
    realisations: Sequence[int] | np.ndarray | None = None,
    overwrite: bool = False,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    manifest: bool = True,
) -> dict[str, list[Path]]:
    """Write realisations in one or more formats through the shared plugin manager.

    See :meth:`PluginManager.export` for what is written (one sub-folder per format, atomic
    files, ``manifest.json`` last).

    Parameters
    ----------
    feeder : Feeder
        The topology of ``ensemble``.
    ensemble : Ensemble
        The realisations; its ``bus_id`` must equal ``feeder.bus_id``.
    formats : str or sequence of str
        Exporter names, as a sequence or a comma-separated string (``"npz,geojson"``).
    output_dir : path
        Folder to write into; created if missing.
    realisations : sequence of int, optional
        Which realisations to write; default all.
    overwrite : bool, default False
        Replace existing files; otherwise an existing output raises ``OutputExistsError``.
    options : mapping of str to mapping, optional
        Options per format name, passed to that exporter as ``request.options``.
    manifest : bool, default True
        Write the completion marker ``manifest.json`` last.

    Returns
    -------
    dict of str to list of Path
        The files each format wrote, by format name.

    Examples
    --------
    >>> export(feeder, ensemble, "npz,geojson", "out", realisations=[0, 1])  # doctest: +SKIP
    """
    return get_plugin_manager().export(
        feeder,
        ensemble,
        formats,
        output_dir,
        realisations=realisations,
        overwrite=overwrite,
        options=options,
        manifest=manifest,
    )
