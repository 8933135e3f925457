"""Who keeps an exporter name that a built-in and a third-party plugin both register.

bayesgrid's own formats (``csv``, ``npz``, ``opendss``...) cannot be shadowed silently: a
third-party plugin that registers one of their names is refused for that name (its other
exporters still load), and ``bayesgrid plugins`` and the log say which plugin and which name.
A user who wants the plugin's format instead lists the name in the environment variable
``BAYESGRID_OVERRIDE_EXPORTERS`` (comma or whitespace separated); the built-in is then the one
left out, with a warning. Two third-party plugins that register one name still make it
unusable until one is blocked or uninstalled (no plugin outranks another).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Literal

__all__ = [
    "BUILTIN_DISTRIBUTION",
    "OVERRIDE_ENV_VAR",
    "overrides_from_env",
    "refusal_message",
    "winner",
]

#: Distribution whose exporters are the built-in ones.
BUILTIN_DISTRIBUTION = "bayesgrid"
#: Environment variable naming exporter names a third-party plugin may take from a built-in.
OVERRIDE_ENV_VAR = "BAYESGRID_OVERRIDE_EXPORTERS"


def overrides_from_env(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """Exporter names listed in ``BAYESGRID_OVERRIDE_EXPORTERS``.

    Examples
    --------
    >>> from bayesgrid_plugins.exporter_precedence import overrides_from_env
    >>> sorted(overrides_from_env({"BAYESGRID_OVERRIDE_EXPORTERS": "csv, npz"}))
    ['csv', 'npz']
    """
    value = (os.environ if environ is None else environ).get(OVERRIDE_ENV_VAR, "")
    return frozenset(part for part in re.split(r"[,\s]+", value) if part)


def winner(
    name: str, *, existing_builtin: bool, new_builtin: bool, overrides: frozenset[str]
) -> Literal["existing", "new", "conflict"]:
    """Which registration of ``name`` is kept when a second one arrives.

    Examples
    --------
    >>> from bayesgrid_plugins.exporter_precedence import winner
    >>> winner("csv", existing_builtin=True, new_builtin=False, overrides=frozenset())
    'existing'
    >>> winner("csv", existing_builtin=True, new_builtin=False, overrides=frozenset({"csv"}))
    'new'
    """
    if existing_builtin == new_builtin:
        return "conflict"
    builtin_wins = name not in overrides
    if existing_builtin:
        return "existing" if builtin_wins else "new"
    return "new" if builtin_wins else "existing"


def refusal_message(name: str, plugin: str, *, overridden: bool) -> str:
    """What is said when ``plugin``'s exporter ``name`` meets the built-in of that name.

    Examples
    --------
    >>> from bayesgrid_plugins.exporter_precedence import refusal_message
    >>> refusal_message("csv", "plugin 'x' (x 1.0)", overridden=False)[:48]
    "exporter 'csv' of plugin 'x' (x 1.0) was refused"
    """
    if overridden:
        return (
            f"exporter {name!r} of {plugin} replaces bayesgrid's built-in {name!r} "
            f"({OVERRIDE_ENV_VAR} lists it)."
        )
    return (
        f"exporter {name!r} of {plugin} was refused: {name!r} is a bayesgrid built-in format. "
        f"Rename the plugin's exporter, or set {OVERRIDE_ENV_VAR}={name} to use the plugin's "
        "instead of the built-in."
    )
