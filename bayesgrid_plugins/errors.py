"""Error types raised by bayesgrid.

Every error derives from :class:`BayesGridError`, so ``except BayesGridError`` catches all of them.
Each concrete error also derives from the built-in exception a caller would expect
(``ValueError`` for bad input, ``KeyError`` for an unknown name, ``RuntimeError`` for a failing
engine), so existing ``except ValueError`` code keeps working. Messages name the argument or the
element at fault and say what to do about it.
"""

from __future__ import annotations

__all__ = [
    "AdapterError",
    "BayesGridError",
    "DuplicateExporterError",
    "FeederValidationError",
    "MissingDataWarning",
    "OfflineError",
    "OutputExistsError",
    "ParameterError",
    "PhaseConsistencyError",
    "PosteriorMismatchError",
    "UnknownExporterError",
]


class BayesGridError(Exception):
    """Base class of every error raised by bayesgrid."""


class FeederValidationError(BayesGridError, ValueError):
    """A topology is not a valid radial feeder (cycle, island, several sources, bad length)."""


class PhaseConsistencyError(BayesGridError, ValueError):
    """A bus or line carries a phase that its parent does not have."""


class ParameterError(BayesGridError, ValueError):
    """A model parameter is invalid (NaN, negative scale, probabilities not summing to 1, ...)."""


class PosteriorMismatchError(BayesGridError, ValueError):
    """A parameter file belongs to another model or format version, or is truncated."""


class UnknownExporterError(BayesGridError, KeyError):
    """No exporter is registered under the requested name."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly instead
        return str(self.args[0]) if self.args else ""


class DuplicateExporterError(BayesGridError, ValueError):
    """Two exporters were registered under the same name."""


class AdapterError(BayesGridError, RuntimeError):
    """pandapower or OpenDSS rejected what an adapter built or asked for."""


class OfflineError(BayesGridError, RuntimeError):
    """An online query was asked for, but OpenStreetMap cannot be reached."""


class OutputExistsError(BayesGridError, FileExistsError):
    """An output already exists and overwriting was not asked for."""


class MissingDataWarning(UserWarning):
    """Data a calculation needs were missing and documented defaults were filled in."""
