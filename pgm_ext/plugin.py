"""The ``power-grid-model`` plugin: the power-grid-model engine.

Registered through the ``bayesgrid.plugins`` entry point exactly as a third party's plugin.
"""

from __future__ import annotations

from .case import bayesgrid_register_engines

__all__ = ["bayesgrid_register_engines"]
