"""Ensembles: n realisations of a feeder's phases, loads and (optionally) line and reliability data.

Every array has the realisations on its first axis and the feeder's buses on its second, aligned
with :attr:`Feeder.bus_id`. Line arrays are aligned with buses too (line ``i`` feeds bus ``i``; the
source's entry is unused). Per-phase arrays have a last axis of length 3 in the order A, B, C.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from bayesgrid_plugins.reprs import compact_repr, id_preview

from .errors import BayesGridError, ParameterError, PosteriorMismatchError
from .fileio import atomic_write_bytes
from .phases import PHASE_ABC, n_phases

__all__ = ["Ensemble"]

_FORMAT = "bayesgrid-ensemble"
_FORMAT_VERSION = 1
#: Optional per-line fields, shape (n_realisations, n_buses), set by the impedance model.
LINE_FIELDS = (
    "r1_ohm_per_km",
    "x1_ohm_per_km",
    "r0_ohm_per_km",
    "x0_ohm_per_km",
    "c1_nf_per_km",
    "c0_nf_per_km",
    "max_i_ka",
)
#: Optional per-bus fields, shape (n_realisations, n_buses), set by the reliability models.
BUS_FIELDS = ("caifi", "caidi_h")
#: Optional planning record, shape (n_realisations, n_buses), set by
#: :func:`bayesgrid_plugins.planning.plan_ensemble`: conductor type index of each line (-1 at the
#: source), its number of parallel circuits, and the rating [MVA] of the transformer into each
#: bus (NaN where the branch is a line).
PLAN_FIELDS = ("line_type", "n_parallel", "trafo_sn_mva")
#: Optional per-realisation source voltage set point [p.u.] (the substation tap), shape (n,).
SOURCE_FIELD = "source_vm_pu"


def check_line_data(ensemble: Ensemble, lines: np.ndarray, bus_id: np.ndarray) -> None:
    """Raise :class:`ParameterError` where sampled line data are not usable by an engine.

    Every set line field must be finite and non-negative on the given lines, and ``r1`` and the
    ampacity strictly positive (a line without resistance or rating cannot be solved or loaded).

    Parameters
    ----------
    ensemble : Ensemble
        The realisations; unset line fields are skipped (the adapters use default conductors).
    lines : ndarray of int
        Indices of the buses whose lines are checked (the line into bus ``i``).
    bus_id : ndarray of str
        The feeder's bus ids, to name the line at fault.
    """
    for name in LINE_FIELDS:
        values = getattr(ensemble, name)
        if values is None:
            continue
        sub = np.asarray(values, dtype=float)[:, lines]
        bad = ~np.isfinite(sub) | (sub < 0)
        if name in ("r1_ohm_per_km", "max_i_ka"):
            bad |= sub <= 0
        if bad.any():
            r, c = np.nonzero(bad)
            raise ParameterError(
                f"ensemble.{name} is invalid ({sub[r[0], c[0]]!r}) for the line into bus "
                f"{bus_id[lines[c[0]]]!r} in realisation {r[0]} (and {r.size - 1} more): "
                "sampled line data must be finite and positive on every line."
            )


def stack_realisations(parts: Sequence[Any], shared: tuple[str, ...]) -> Any:
    """Stack dataclasses of consecutive realisations (ensembles, results) along axis 0.

    Every array field is concatenated except those named in ``shared``, which (like every
    field that is not an array) are taken from the first part.
    """
    first = parts[0]
    if len(parts) == 1:
        return first
    stacked = {
        f.name: np.concatenate([getattr(p, f.name) for p in parts], axis=0)
        for f in fields(first)
        if f.name not in shared and isinstance(getattr(first, f.name), np.ndarray)
    }
    return replace(first, **stacked)


@dataclass(frozen=True, eq=False)
class Ensemble:
    """n realisations of one feeder.

    Attributes
    ----------
    bus_id : ndarray of str, shape (n_buses,)
        The feeder's bus ids, to check alignment.
    source : int
        Index of the feeder's source bus (it has no line into it).
    load_phases : ndarray of uint8, shape (n, n_buses)
        Phase mask each bus's load connects to (0 where the bus has no load).
    bus_phases : ndarray of uint8, shape (n, n_buses)
        Phase mask of each bus after consistency; the line into bus ``i`` has ``bus_phases[:, i]``.
    p_kw, q_kvar : ndarray of float, shape (n, n_buses, 3)
        Active [kW] and reactive [kvar] load per phase (A, B, C).
    power_factor : ndarray of float, shape (n,)
        The realisation's power factor.
    draw : ndarray of int, shape (n,)
        Index of the posterior draw each realisation used (-1 if not applicable).
    r1_ohm_per_km, x1_ohm_per_km, r0_ohm_per_km, x0_ohm_per_km : ndarray, optional
        Positive- and zero-sequence line impedance [ohm/km], shape (n, n_buses).
    c1_nf_per_km, c0_nf_per_km : ndarray, optional
        Line capacitance [nF/km].
    max_i_ka : ndarray, optional
        Line ampacity [kA].
    caifi : ndarray, optional
        Customer average interruption frequency [interruptions / customer interrupted / year].
    caidi_h : ndarray, optional
        Customer average interruption duration [h / interruption].
    line_type, n_parallel : ndarray of int, optional
        Conductor type index of each line (an index into the impedance model's types, -1 at the
        source; their names and overhead flags are ``metadata["line_type_names"]`` and
        ``metadata["line_type_overhead"]``) and its number of parallel circuits (the line data
        above already include them).
    trafo_sn_mva : ndarray of float, optional
        Planned rating [MVA] of the transformer into each bus (NaN where the branch is a line).
    source_vm_pu : ndarray of float, shape (n,), optional
        Voltage set point [p.u.] of the source (the substation's tap position); engines use
        their default set point when it is absent.
    metadata : dict
        Provenance: model ids, seed, feeder name. JSON-serialisable.

    Examples
    --------
    >>> from bayesgrid_plugins import BayesianPowerModel, Feeder
    >>> feeder = Feeder.from_edges([("s", "a", 0.1), ("a", "b", 0.05)], "s")  # lengths [km]
    >>> ensemble = BayesianPowerModel().sample(feeder, 10, rng=1)
    >>> ensemble.p_kw.shape  # (realisations, buses, phases A/B/C) [kW]
    (10, 3, 3)
    """

    bus_id: np.ndarray
    source: int
    load_phases: np.ndarray
    bus_phases: np.ndarray
    p_kw: np.ndarray
    q_kvar: np.ndarray
    power_factor: np.ndarray
    draw: np.ndarray
    r1_ohm_per_km: np.ndarray | None = None
    x1_ohm_per_km: np.ndarray | None = None
    r0_ohm_per_km: np.ndarray | None = None
    x0_ohm_per_km: np.ndarray | None = None
    c1_nf_per_km: np.ndarray | None = None
    c0_nf_per_km: np.ndarray | None = None
    max_i_ka: np.ndarray | None = None
    caifi: np.ndarray | None = None
    caidi_h: np.ndarray | None = None
    line_type: np.ndarray | None = None
    n_parallel: np.ndarray | None = None
    trafo_sn_mva: np.ndarray | None = None
    source_vm_pu: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        fields_set = [n for n in (*LINE_FIELDS, *BUS_FIELDS) if getattr(self, n) is not None]
        return compact_repr(
            "Ensemble",
            n=self.n_realisations,
            buses=self.n_buses,
            loads=int(self.has_load.any(axis=0).sum()),
            p_kw_mean=float(self.p_kw.sum(axis=(1, 2)).mean()),
            three_phase_share=float(self.three_phase_share().mean()),
            fields=f"[{', '.join(fields_set)}]" if fields_set else None,
            bus_id=id_preview(self.bus_id),
        )

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", int(self.source))
        n, b = np.shape(self.bus_phases)
        expected = {
            "bus_id": (b,),
            "load_phases": (n, b),
            "p_kw": (n, b, 3),
            "q_kvar": (n, b, 3),
            "power_factor": (n,),
            "draw": (n,),
            SOURCE_FIELD: (n,),
        }
        expected.update({name: (n, b) for name in LINE_FIELDS + BUS_FIELDS + PLAN_FIELDS})
        for name, shape in expected.items():
            value = getattr(self, name)
            if value is not None and np.shape(value) != shape:
                raise ParameterError(
                    f"Ensemble.{name} has shape {np.shape(value)}, expected {shape} for "
                    f"{n} realisations of {b} buses."
                )

    # ------------------------------------------------------------------ sizes and views
    @property
    def n_realisations(self) -> int:
        """Number of realisations."""
        return int(self.bus_phases.shape[0])

    @property
    def n_buses(self) -> int:
        """Number of buses of the feeder."""
        return int(self.bus_phases.shape[1])

    def __len__(self) -> int:
        return self.n_realisations

    @property
    def line_phases(self) -> np.ndarray:
        """Phase mask of the line into each bus (the bus's own mask; 0 at the source)."""
        masks = self.bus_phases.copy()
        masks[:, self.source] = 0
        return masks

    @property
    def has_load(self) -> np.ndarray:
        """Boolean (n, n_buses): where a load is connected."""
        return self.load_phases != 0

    @property
    def is_three_phase(self) -> np.ndarray:
        """Boolean (n, n_buses): where the load is three-phase."""
        return self.load_phases == PHASE_ABC

    def __getitem__(self, index: int | slice | np.ndarray) -> Ensemble:
        """Select realisations; an integer keeps a realisation axis of length 1."""
        if isinstance(index, (int, np.integer)):
            if not -self.n_realisations <= index < self.n_realisations:
                raise IndexError(
                    f"realisation {index} out of range for an ensemble of {self.n_realisations}"
                )
            index = slice(int(index) % self.n_realisations, int(index) % self.n_realisations + 1)
        changes: dict[str, Any] = {
            f.name: getattr(self, f.name)[index]
            for f in fields(self)
            if f.name not in ("bus_id", "source", "metadata") and getattr(self, f.name) is not None
        }
        return replace(self, **changes)

    def with_fields(self, **arrays: Any) -> Ensemble:
        """A copy with more fields set (for example the impedance model's line data)."""
        return replace(self, **arrays)

    # ------------------------------------------------------------------ summaries
    def phase_totals_kw(self) -> np.ndarray:
        """Total active power per realisation and phase [kW], shape (n, 3)."""
        return self.p_kw.sum(axis=1)

    def phase_totals_kvar(self) -> np.ndarray:
        """Total reactive power per realisation and phase [kvar], shape (n, 3)."""
        return self.q_kvar.sum(axis=1)

    def three_phase_share(self) -> np.ndarray:
        """Share of loads that are three-phase, per realisation, shape (n,)."""
        loads = self.has_load.sum(axis=1)
        return self.is_three_phase.sum(axis=1) / np.maximum(loads, 1)

    def single_phase_shares(self) -> np.ndarray:
        """Share of single-phase loads on A, B and C, per realisation, shape (n, 3)."""
        single = n_phases(self.load_phases) == 1
        counts = np.stack(
            [(single & (self.load_phases == bit)).sum(axis=1) for bit in (1, 2, 4)], axis=1
        )
        return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)

    def summary(self) -> dict[str, np.ndarray]:
        """Per-realisation summaries.

        Returns
        -------
        dict
            ``p_kw`` and ``q_kvar`` per-phase totals (n, 3); ``three_phase_share`` (n,);
            ``single_phase_shares`` (n, 3); ``power_factor`` (n,); ``n_loads`` (n,).
        """
        return {
            "p_kw": self.phase_totals_kw(),
            "q_kvar": self.phase_totals_kvar(),
            "three_phase_share": self.three_phase_share(),
            "single_phase_shares": self.single_phase_shares(),
            "power_factor": self.power_factor.copy(),
            "n_loads": self.has_load.sum(axis=1),
        }

    # ------------------------------------------------------------------ files
    def save(
        self, path: str | os.PathLike[str], *, overwrite: bool = False, compress: bool = False
    ) -> Path:
        """Save to one ``.npz`` file, atomically.

        Parameters
        ----------
        path : path
            The file to write.
        overwrite : bool, default False
            Replace an existing file; otherwise
            :class:`~bayesgrid_plugins.errors.OutputExistsError` is raised.
        compress : bool, default False
            Deflate the arrays (about half the size, but several times slower to write: 6.6 of
            14.8 s of writing 1000 realisations of a 2021-bus feeder); :meth:`load` reads both.
        """
        data = self.to_npz_bytes(compress=compress)
        return atomic_write_bytes(path, data, overwrite=overwrite, what="ensemble")

    def to_npz_bytes(self, *, compress: bool = False) -> bytes:
        """The bytes of the ``.npz`` file :meth:`save` writes."""
        arrays: dict[str, Any] = {
            f.name: np.asarray(getattr(self, f.name))
            for f in fields(self)
            if f.name != "metadata" and getattr(self, f.name) is not None
        }
        header = {"format": _FORMAT, "version": _FORMAT_VERSION, "metadata": self.metadata}
        buffer = io.BytesIO()
        writer = np.savez_compressed if compress else np.savez
        writer(buffer, __header__=np.asarray(json.dumps(header)), **arrays)
        return buffer.getvalue()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Ensemble:
        """Load an ensemble written by :meth:`save`."""
        try:
            with open(path, "rb") as handle:
                return cls._from_npz(handle, str(path))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            if isinstance(exc, FileNotFoundError) or isinstance(exc, BayesGridError):
                raise
            raise PosteriorMismatchError(
                f"{str(path)!r} is not a readable bayesgrid ensemble file ({exc}); write it "
                "again with Ensemble.save."
            ) from exc

    @classmethod
    def from_npz_bytes(cls, data: bytes) -> Ensemble:
        """The ensemble of :meth:`to_npz_bytes` (pickles refused, as for a file)."""
        try:
            return cls._from_npz(io.BytesIO(data), "ensemble bytes")
        except (ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            if isinstance(exc, BayesGridError):
                raise
            raise PosteriorMismatchError(f"not a bayesgrid ensemble ({exc}).") from exc

    @classmethod
    def _from_npz(cls, handle: Any, path: str) -> Ensemble:
        with np.load(handle, allow_pickle=False) as data:
            header = json.loads(str(data["__header__"]))
            arrays = {k: data[k] for k in data.files if k != "__header__"}
        return cls._from_arrays(header, arrays, path)

    @classmethod
    def _from_arrays(cls, header: Any, arrays: dict[str, Any], path: str) -> Ensemble:
        if not isinstance(header, dict):
            header = {}
        if header.get("format") != _FORMAT or header.get("version") != _FORMAT_VERSION:
            raise PosteriorMismatchError(
                f"{str(path)!r} is a {header.get('format')!r} file of version "
                f"{header.get('version')!r}; this bayesgrid reads {_FORMAT!r} version "
                f"{_FORMAT_VERSION}."
            )
        try:
            return cls(**arrays, metadata=header.get("metadata", {}))
        except (TypeError, ValueError) as exc:
            if isinstance(exc, BayesGridError):
                raise
            raise PosteriorMismatchError(
                f"{str(path)!r} lacks or has unknown ensemble arrays ({exc})."
            ) from exc
