"""Parameter files: learned model parameters with their provenance.

A parameter file ending in ``.nc`` is ArviZ InferenceData netCDF (:mod:`.inference_data`); any
other is JSON::

    {"format": "bayesgrid-parameters", "format_version": 1, "model": "power",
     "provenance": {"id": ..., "data_source": ..., "method": ..., "created": ..., ...},
     "parameters": {"p3": [[...]], ...}}

Every parameter has a leading axis of posterior draws (length 1 for point estimates), so the
samplers can give each realisation its own draw and ensembles carry parameter uncertainty.
:func:`read_parameters` reads both layouts (a netCDF file is recognised by its content too).
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .errors import PosteriorMismatchError
from .fileio import atomic_write_text
from .inference_data import (
    NETCDF_SUFFIXES,
    check_provenance,
    is_netcdf,
    read_parameters_netcdf,
    write_parameters_netcdf,
)

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11 on

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ParameterFile",
    "check_provenance",
    "default_parameter_path",
    "read_any_parameters",
    "read_parameters",
    "write_parameters",
]

FORMAT = "bayesgrid-parameters"
FORMAT_VERSION = 1


def default_parameter_path(name: str) -> Path:
    """Path of a parameter file shipped in ``bayesgrid_plugins/data/posteriors``."""
    path = Path(str(resources.files("bayesgrid_plugins") / "data" / "posteriors" / name))
    if not path.is_file():
        raise FileNotFoundError(
            f"the shipped parameter file {name!r} is missing from {path.parent}; "
            "reinstall bayesgrid"
        )
    return path


def write_parameters(
    path: str | os.PathLike[str],
    *,
    model: str,
    parameters: dict[str, Any],
    provenance: dict[str, Any],
    overwrite: bool = False,
    n_draws: int | None = None,
) -> Path:
    """Write a parameter file atomically.

    Parameters
    ----------
    path : path-like
        Output file: ``.nc`` for ArviZ InferenceData netCDF
        (:func:`~.inference_data.write_parameters_netcdf`), otherwise JSON.
    model : str
        Model name, e.g. ``"power"``; checked when the file is read back.
    parameters : dict of str to array-like
        The parameters (NumPy arrays are written as nested lists).
    provenance : dict
        Must hold ``id``, ``data_source``, ``method``, ``created``, ``bayesgrid_version``.
    overwrite : bool, default False
        Replace an existing file.
    n_draws : int, optional
        Number of posterior draws (netCDF only: parameters with this leading length are draws).
    """
    check_provenance(provenance)
    if Path(path).suffix.lower() in NETCDF_SUFFIXES:
        return write_parameters_netcdf(
            path,
            model=model,
            parameters=parameters,
            provenance=provenance,
            n_draws=n_draws,
            overwrite=overwrite,
        )
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": model,
        "provenance": provenance,
        "parameters": {k: np.asarray(v).tolist() for k, v in parameters.items()},
    }
    text = json.dumps(document, indent=1, sort_keys=False) + "\n"
    return atomic_write_text(path, text, overwrite=overwrite, what="parameter file")


def read_parameters(
    path: str | os.PathLike[str], *, model: str
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a parameter file of ``model``; return ``(parameters, provenance)``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    PosteriorMismatchError
        If the file is not valid JSON (for example truncated), is of another format version,
        or belongs to another model.
    """
    source = Path(path)
    if source.is_dir():
        raise PosteriorMismatchError(
            f"parameter file {str(source)!r} is a folder; pass the .json file inside it."
        )
    if source.exists() and not source.is_file():
        raise PosteriorMismatchError(
            f"parameter file {str(source)!r} is not a regular file (a FIFO, socket or device "
            "would block reading); save the parameters to a file and pass that."
        )
    if not source.is_file():
        raise FileNotFoundError(
            f"parameter file {str(source)!r} does not exist; pass the path of a file written "
            "by .save(), or leave it out to use the shipped default."
        )
    if is_netcdf(source):
        return read_parameters_netcdf(source, model=model)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, RecursionError, json.JSONDecodeError) as exc:
        raise PosteriorMismatchError(
            f"parameter file {str(source)!r} is not valid JSON ({exc}); it may be truncated. "
            "Write it again or use the shipped default."
        ) from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise PosteriorMismatchError(
            f'{str(source)!r} is not a bayesgrid parameter file (no "format": {FORMAT!r}).'
        )
    if document.get("format_version") != FORMAT_VERSION:
        raise PosteriorMismatchError(
            f"{str(source)!r} has format version {document.get('format_version')!r}; this "
            f"bayesgrid reads version {FORMAT_VERSION}. Re-create it with this version."
        )
    if document.get("model") != model:
        raise PosteriorMismatchError(
            f"{str(source)!r} holds parameters of the {document.get('model')!r} model, not of "
            f"the {model!r} model. Pass the file to the matching model class."
        )
    raw = document.get("parameters")
    if not isinstance(raw, dict):
        raise PosteriorMismatchError(f'{str(source)!r} has no "parameters" object.')
    for key, value in raw.items():
        bad = _first_non_number(value)
        if bad is not None:
            where, leaf = bad
            raise PosteriorMismatchError(
                f"parameter {key!r} in {str(source)!r} holds {json.dumps(leaf)} "
                f"({type(leaf).__name__}) at {where or 'its top level'}; every parameter entry "
                "must be a JSON number. Write the file again with .save()."
            )
    try:
        parameters = {k: np.asarray(v, dtype=float) for k, v in raw.items()}
    except (TypeError, ValueError) as exc:
        raise PosteriorMismatchError(
            f"{str(source)!r} has non-numeric or ragged parameters ({exc})."
        ) from exc
    provenance = document.get("provenance") or {}
    if not isinstance(provenance, dict):
        raise PosteriorMismatchError(
            f'{str(source)!r} has a "provenance" that is not an object; write the file again '
            "with .save()."
        )
    return parameters, dict(provenance)


def _first_non_number(value: Any) -> tuple[str, Any] | None:
    """``(index path, leaf)`` of the first entry of nested lists that is not a number.

    ``true``/``false`` and strings such as ``"5"`` are not numbers here, although NumPy would
    turn them into 1.0 and 5.0.
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, list):
            if all(type(x) is float or type(x) is int for x in item):
                continue
            stack.extend((f"{where}[{i}]", x) for i, x in reversed(list(enumerate(item))))
        elif type(item) is not float and type(item) is not int:
            return where, item
    return None


def read_any_parameters(
    path: str | os.PathLike[str],
) -> tuple[str, dict[str, np.ndarray], dict[str, Any]]:
    """Read a JSON parameter file of whichever model; return ``(model, parameters, provenance)``."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, RecursionError, json.JSONDecodeError) as exc:
        raise PosteriorMismatchError(f"{str(path)!r} is not valid JSON ({exc}).") from exc
    model = document.get("model") if isinstance(document, dict) else None
    if not isinstance(model, str):
        raise PosteriorMismatchError(f'{str(path)!r} names no "model"; it is not a parameter file.')
    parameters, provenance = read_parameters(path, model=model)
    return model, parameters, provenance


class ParameterFile:
    """Mixin giving a frozen dataclass of parameter arrays its file methods.

    A subclass sets ``MODEL`` (the model name written into and checked in the file),
    ``DEFAULT_FILE`` (the shipped file name) and ``FIELDS`` (the parameter names its constructor
    takes besides ``provenance``); it may override :meth:`to_dict` when a field is not an array.
    """

    MODEL: ClassVar[str]
    DEFAULT_FILE: ClassVar[str]
    FIELDS: ClassVar[tuple[str, ...]]
    #: Fields a file may leave out (older files); they are then None.
    OPTIONAL_FIELDS: ClassVar[tuple[str, ...]] = ()
    provenance: dict[str, Any]

    if TYPE_CHECKING:
        # The concrete frozen dataclasses take their FIELDS and provenance as keywords.
        def __init__(self, **fields: Any) -> None: ...

    def to_dict(self) -> dict[str, Any]:
        """The parameter arrays by name (optional fields that are None left out)."""
        out = {name: getattr(self, name) for name in self.FIELDS}
        return {k: v for k, v in out.items() if v is not None or k not in self.OPTIONAL_FIELDS}

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the parameters and their provenance, atomically: ArviZ InferenceData netCDF
        when ``path`` ends in ``.nc``, JSON otherwise."""
        n_draws = getattr(self, "n_draws", None)
        return write_parameters(
            path,
            model=self.MODEL,
            parameters=self.to_dict(),
            provenance=self.provenance,
            overwrite=overwrite,
            n_draws=n_draws if isinstance(n_draws, int) else None,
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read parameters written by :meth:`save`; the file must be of this model."""
        arrays, provenance = read_parameters(path, model=cls.MODEL)
        missing = set(cls.FIELDS) - set(arrays) - set(cls.OPTIONAL_FIELDS)
        if missing:
            raise PosteriorMismatchError(
                f"parameter file {str(path)!r} lacks {sorted(missing)} of the {cls.MODEL} model."
            )
        present = {k: arrays[k] for k in cls.FIELDS if k in arrays}
        return cls(**present, provenance=provenance)

    @classmethod
    def coerce(cls, value: Any) -> Self:
        """``value`` as parameters: None gives the default, a path is loaded, an instance kept."""
        if value is None:
            return cls.default()
        if isinstance(value, cls):
            return value
        return cls.load(value)

    @classmethod
    def default(cls) -> Self:
        """The shipped default parameters (no network access)."""
        return cls.load(default_parameter_path(cls.DEFAULT_FILE))
