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
    "CircuitFileError",
    "DemandLevelWarning",
    "DuplicateEngineError",
    "DuplicateExporterError",
    "ExporterFailedError",
    "FeederValidationError",
    "LargeLoadWarning",
    "MissingDataWarning",
    "OfflineError",
    "OutputExistsError",
    "ParameterError",
    "PhaseConsistencyError",
    "PosteriorMismatchError",
    "UnknownEngineError",
    "UnknownExporterError",
]


class BayesGridError(Exception):
    """Base class of every error raised by bayesgrid.

    Examples
    --------
    >>> from bayesgrid_plugins import BayesGridError, ParameterError
    >>> issubclass(ParameterError, BayesGridError)  # catch every bayesgrid error at once
    True
    """


class FeederValidationError(BayesGridError, ValueError):
    """A topology is not a valid radial feeder (cycle, island, several sources, bad length).

    Examples
    --------
    >>> from bayesgrid_plugins import Feeder, FeederValidationError
    >>> Feeder.from_edges([("s", "a", 0.0)], "s")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    FeederValidationError: length_km must be positive and finite; lines ['s-a'] have [0.0] km.
    """


class PhaseConsistencyError(BayesGridError, ValueError):
    """A bus or line carries a phase that its parent does not have.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesgrid_plugins import Feeder, check_phase_consistency
    >>> feeder = Feeder.from_edges([("s", "a", 0.1), ("a", "b", 0.05)], "s")
    >>> check_phase_consistency(feeder, np.array([7, 1, 2]))  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    PhaseConsistencyError: 1 phase inconsistencies:
      realisation 0: bus 'b' has B but its parent 'a' has A
    ...
    """


class ParameterError(BayesGridError, ValueError):
    """A model parameter is invalid (NaN, negative scale, probabilities not summing to 1, ...).

    Examples
    --------
    >>> from bayesgrid_plugins import ParameterError, scenario_parameters
    >>> scenario_parameters(p3=1.5)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ParameterError: p3 must lie in [0, 1], got [1.5, 1.5, ...].
    """


class PosteriorMismatchError(BayesGridError, ValueError):
    """A parameter file belongs to another model or format version, or is truncated.

    Examples
    --------
    >>> from bayesgrid_plugins import PowerParameters, PosteriorMismatchError
    >>> PowerParameters.load("my_impedance.json")  # an impedance file  # doctest: +SKIP
    Traceback (most recent call last):
    PosteriorMismatchError: the file holds parameters of another model
    """


class UnknownExporterError(BayesGridError, KeyError):
    """No exporter is registered under the requested name.

    Examples
    --------
    >>> from bayesgrid_plugins import get_exporter
    >>> get_exporter("xlsx")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    UnknownExporterError: no exporter is called 'xlsx'; available: csv, geojson, npz, ...
    """

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly instead
        return str(self.args[0]) if self.args else ""


class DuplicateExporterError(BayesGridError, ValueError):
    """Two exporters were registered under the same name.

    Examples
    --------
    >>> from bayesgrid_plugins import BayesGridError, DuplicateExporterError
    >>> issubclass(DuplicateExporterError, (BayesGridError, ValueError))
    True
    """


class UnknownEngineError(BayesGridError, KeyError):
    """No power-flow engine is registered under the requested name.

    Examples
    --------
    >>> from bayesgrid_plugins import get_engine
    >>> get_engine("no-such-engine")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    UnknownEngineError: no engine is called 'no-such-engine'; available: ...
    """

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly instead
        return str(self.args[0]) if self.args else ""


class DuplicateEngineError(BayesGridError, ValueError):
    """Two plugins register a power-flow engine under the same name.

    Examples
    --------
    >>> from bayesgrid_plugins import BayesGridError, DuplicateEngineError
    >>> issubclass(DuplicateEngineError, (BayesGridError, ValueError))
    True
    """


class AdapterError(BayesGridError, RuntimeError):
    """pandapower or OpenDSS rejected what an adapter built or asked for.

    Examples
    --------
    >>> from bayesgrid_plugins import AdapterError
    >>> from pandapower_ext import check_3ph_ready
    >>> check_3ph_ready(net)  # a net without zero-sequence line data  # doctest: +SKIP
    Traceback (most recent call last):
    AdapterError: line: r0_ohm_per_km, x0_ohm_per_km, c0_nf_per_km missing
    """


class CircuitFileError(BayesGridError, ValueError):
    """A circuit script refers to files it must not read: a cycle, too deep, outside its folder.

    Examples
    --------
    >>> from opendss_ext import read_circuit
    >>> read_circuit("loop/Master.dss")  # redirects to itself  # doctest: +SKIP
    Traceback (most recent call last):
    CircuitFileError: '.../Master.dss' line 3 redirects in a cycle (Master.dss -> Master.dss) ...
    """


class OfflineError(BayesGridError, RuntimeError):
    """An online query was asked for, but OpenStreetMap cannot be reached.

    Examples
    --------
    >>> from bayesgrid_plugins import OfflineError, feeder_from_osm
    >>> feeder_from_osm("place", "Vaduz, Liechtenstein")  # without network  # doctest: +SKIP
    Traceback (most recent call last):
    OfflineError: OpenStreetMap cannot be reached
    """


class OutputExistsError(BayesGridError, FileExistsError):
    """An output already exists and overwriting was not asked for.

    Examples
    --------
    >>> from bayesgrid_plugins import OutputExistsError
    >>> issubclass(OutputExistsError, FileExistsError)  # pass overwrite=True to replace
    True
    """


class MissingDataWarning(UserWarning):
    """Data a calculation needs were missing and documented defaults were filled in.

    Examples
    --------
    >>> import warnings
    >>> from bayesgrid_plugins import MissingDataWarning
    >>> warnings.simplefilter("error", MissingDataWarning)  # doctest: +SKIP
    """


class LargeLoadWarning(UserWarning):
    """Loads too large for a single-phase connection were kept three-phase.

    Examples
    --------
    >>> import warnings
    >>> from bayesgrid_plugins.errors import LargeLoadWarning
    >>> warnings.simplefilter("ignore", LargeLoadWarning)  # doctest: +SKIP
    """


class DemandLevelWarning(UserWarning):
    """A posterior's unconditioned demand level is not a believable level for a new feeder.

    Examples
    --------
    >>> import warnings
    >>> from bayesgrid_plugins.errors import DemandLevelWarning
    >>> warnings.simplefilter("error", DemandLevelWarning)  # doctest: +SKIP
    """


class ExporterFailedError(BayesGridError, RuntimeError):
    """An exporter raised while writing; what it had written in that call was removed.

    Examples
    --------
    >>> from bayesgrid_plugins.errors import ExporterFailedError
    >>> issubclass(ExporterFailedError, RuntimeError)  # the exporter's error is its __cause__
    True
    """
