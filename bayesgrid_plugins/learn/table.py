"""The training table now lives in the core: :mod:`bayesgrid_plugins.training` (kept here so
earlier imports work)."""

from ..training import *  # noqa: F403
from ..training import __all__  # noqa: F401
