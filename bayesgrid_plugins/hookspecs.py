"""Every plugin hook of bayesgrid.

A plugin is a module (or any object) with functions named like the hooks below and decorated with
:data:`bayesgrid_plugins.hookimpl`. It is found through the entry-point group ``bayesgrid.plugins``
(or the older ``bayesgrid.exporters``; see :mod:`bayesgrid_plugins.plugins`) or registered in code
with :meth:`bayesgrid_plugins.plugins.PluginManager.register_plugin`. A plugin may register
exporters, engines, a network reader, or any mix of them.

Hooks are called with keyword arguments; an implementation may accept only the arguments it needs.
Each hook is documented in ``docs/plugins.md`` too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .engines import Engine
    from .exporters.base import Exporter
    from .readers import NetworkReading

__all__ = [
    "PROJECT_NAME",
    "bayesgrid_read_network",
    "bayesgrid_register_engines",
    "bayesgrid_register_exporters",
    "bayesgrid_register_fitters",
    "hookspec",
]

#: The pluggy project name shared by :data:`hookspec` and :data:`bayesgrid_plugins.hookimpl`.
PROJECT_NAME = "bayesgrid"

#: Marker for hook specifications. Plugins do not need it: they use ``hookimpl``.
hookspec = pluggy.HookspecMarker(PROJECT_NAME)


@hookspec
def bayesgrid_register_exporters(register: Callable[[Exporter], None]) -> None:
    """Register export formats.

    When it is called
        Once per plugin, when the plugin manager first needs its exporters (the first call of
        ``get_exporter``, ``available_exporters``, ``export`` or ``bayesgrid plugins``), or right
        away for a plugin registered in code after that.

    Parameters
    ----------
    register : callable
        Call ``register(exporter)`` once per format the plugin provides. ``exporter`` must follow
        the :class:`~bayesgrid_plugins.exporters.base.Exporter` protocol: a ``name`` (lower case
        letters, digits, ``_``, ``-`` or ``.``; it is what ``--format`` takes), a one-line
        ``description`` and an ``export(request) -> list[Path]`` method. ``register`` raises
        :class:`~bayesgrid_plugins.plugins.InvalidExporterError` for an object that does not follow
        the protocol.

    Returns
    -------
    None
        The return value is ignored: exporters are added through ``register`` only.

    Notes
    -----
    Two exporters registered under the same name are an error naming both plugins
    (:class:`~bayesgrid_plugins.errors.DuplicateExporterError`); nothing is silently replaced.
    """


@hookspec
def bayesgrid_register_engines(register: Callable[[Engine], None]) -> None:
    """Register power-flow engines.

    When it is called
        Once per plugin, when the plugin manager first needs its engines (``get_engine``,
        ``available_engines``, ``bayesgrid plugins``), or right away for a plugin registered in
        code after that.

    Parameters
    ----------
    register : callable
        Call ``register(engine)`` once per engine the plugin provides. ``engine`` must follow the
        :class:`~bayesgrid_plugins.engines.Engine` protocol: a ``name`` (what ``--engine``
        takes), a one-line ``description``, a boolean ``phase_accurate`` and an
        ``open(feeder, ensemble, *, options) -> EngineCase`` method.

    Returns
    -------
    None
        The return value is ignored.

    Notes
    -----
    Two engines registered under the same name are an error naming both plugins.
    """


@hookspec(firstresult=True)
def bayesgrid_read_network(source: object, options: dict[str, Any]) -> NetworkReading | None:
    """Claim a network file or object for training, validation and unbalancing.

    When it is called
        Each time bayesgrid reads a real network (``bayesgrid train``, ``bayesgrid unbalance``,
        validation against a real feeder). The first plugin that returns a reading wins.

    Parameters
    ----------
    source : path or object
        A file path (``pathlib.Path``) or an in-memory network (a pandapower net...).
    options : dict
        Reader options: ``kind`` (the format, when the suffix does not tell), ``loads_file``
        (OpenDSS: a replacement for the master's loads), ``n_zones``.

    Returns
    -------
    NetworkReading or None
        A reading (see :class:`~bayesgrid_plugins.readers.NetworkReading`) when this plugin
        reads ``source``; None to let another plugin try.
    """


@hookspec
def bayesgrid_register_fitters(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register the functions that learn model parameters from data.

    When it is called
        When a model's ``learn`` is first called (``BayesianPowerModel.learn`` ...). The models
        never import the learning code: they ask the plugin manager for a fitter by kind.

    Parameters
    ----------
    register : callable
        Call ``register(kind, function)`` once per kind: ``"power"``, ``"impedance"``,
        ``"frequency"`` or ``"duration"``. ``function(table, **options)`` returns the model's
        parameters. bayesgrid's own learning subpackage registers all four.

    Returns
    -------
    None
        The return value is ignored.
    """
