"""Impedance-model parameters from the lines of real feeders: conjugate Dirichlet counts.

A *conductor type* is a distinct line code, recognised by its sequence impedances and ampacity
(rounded to ``decimals``). For lines with ``k`` phases in zone ``z`` the type counts
``n[k, z, t]`` give the posterior ``Dirichlet(prior[k, z] + n[k, z])`` of the type probabilities,
with a prior of total weight ``prior_weight`` spread like the pooled counts of phase count ``k``
over all zones (so an empty zone falls back to the feeder-wide mix, and a zone's mix is shrunk
towards it when its lines are few). A phase count with no line at all (often two-phase) borrows
the types of the next larger phase count that has lines (a two-phase line built from three-phase
conductors), else of all lines.

Connectors (lines with ``R1`` below ``min_r1_ohm_per_km``: fuses, jumpers and switches modelled
as 1 m lines of 0.001 ohm/km) are left out: they are not conductors.
"""

from __future__ import annotations

import datetime as _dt
import logging
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..models.impedance import ImpedanceParameters
from ..phases import n_phases
from .table import TrainingTable

__all__ = [
    "DEFAULT_C0_NF_PER_KM",
    "DEFAULT_C1_NF_PER_KM",
    "count_impedance_parameters",
    "line_types",
]

logger = logging.getLogger(__name__)

#: Capacitances [nF/km] used where the training data give none: typical of medium-voltage
#: overhead lines (CINELDI MV reference system overhead types: 10.5-11.7 nF/km positive sequence;
#: zero sequence taken as half of it, typical of overhead lines with an earth return).
DEFAULT_C1_NF_PER_KM = 11.0
DEFAULT_C0_NF_PER_KM = 5.5


def line_types(lines: Any, *, decimals: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Type index of each line row and the keys (r1, x1, r0, x0, max_i_ka) of each type."""
    cols = ["r1_ohm_per_km", "x1_ohm_per_km", "r0_ohm_per_km", "x0_ohm_per_km", "max_i_ka"]
    keys = np.round(lines[cols].to_numpy(dtype=float), decimals)
    keys = np.where(np.isnan(keys), -1.0, keys)  # unknown ampacity: its own key
    unique, index = np.unique(keys, axis=0, return_inverse=True)
    unique = np.where(unique == -1.0, np.nan, unique)
    return index.ravel(), unique


def count_impedance_parameters(
    table: TrainingTable,
    *,
    c1_nf_per_km: np.ndarray | None = None,
    c0_nf_per_km: np.ndarray | None = None,
    overhead: np.ndarray | None = None,
    type_names: list[str] | None = None,
    prior_weight: float = 1.0,
    decimals: int = 4,
    min_r1_ohm_per_km: float = 0.005,
    weight: str = "count",
    variation: float = 0.0,
    provenance: dict[str, Any] | None = None,
) -> ImpedanceParameters:
    """Estimate impedance-model parameters from a training table.

    Parameters
    ----------
    table : TrainingTable
        Lines of one or more real feeders (``table.lines``).
    c1_nf_per_km, c0_nf_per_km : ndarray, shape (n_lines,), optional
        Capacitances of the table's lines [nF/km] (NaN where unknown); per type their mean is
        used. Default :data:`DEFAULT_C1_NF_PER_KM`, :data:`DEFAULT_C0_NF_PER_KM`.
    overhead : ndarray of bool, shape (n_lines,), optional
        Whether each line is overhead. Default: ``X1 >= 0.25 ohm/km`` (cables have a low
        reactance: their conductors sit close together).
    type_names : list of str, shape (n_lines,), optional
        A name per line (for example its line code); each type is named after its most common.
    prior_weight : float, default 1
        Total concentration of the Dirichlet prior of each (phase count, zone).
    decimals : int, default 4
        Rounding of the impedances [ohm/km] that identifies a type.
    min_r1_ohm_per_km : float, default 0.005
        Lines with a smaller R1 are connectors and are left out.
    weight : {"count", "length"}, default "count"
        Count lines, or their length in km (types of long lines weigh more).
    variation : float, default 0
        Continuous variation stored with the parameters.
    provenance : dict, optional
        Merged into the recorded provenance.
    """
    lines = table.lines
    if len(lines) == 0:
        raise ParameterError("the training table has no lines; read a feeder that has some")
    if not prior_weight > 0:
        raise ParameterError(f"prior_weight must be positive, got {prior_weight!r}")
    if weight not in ("count", "length"):
        raise ValueError(f"weight must be 'count' or 'length', got {weight!r}")
    n_rows = len(lines)

    def per_line(name: str, values: Any, default: float | None) -> np.ndarray:
        if values is None:
            return np.full(n_rows, np.nan if default is None else default)
        arr = np.asarray(values, dtype=float)
        if arr.shape != (n_rows,):
            raise ValueError(f"{name} has shape {arr.shape}; expected ({n_rows},), one per line")
        return arr

    c1 = per_line("c1_nf_per_km", c1_nf_per_km, None)
    c0 = per_line("c0_nf_per_km", c0_nf_per_km, None)
    x1_all = lines["x1_ohm_per_km"].to_numpy(dtype=float)
    oh = (x1_all >= 0.25) if overhead is None else np.asarray(overhead, dtype=bool)
    if oh.shape != (n_rows,):
        raise ValueError(f"overhead has shape {oh.shape}; expected ({n_rows},)")
    names = None if type_names is None else np.asarray(type_names, dtype=str)

    values = lines[["r1_ohm_per_km", "x1_ohm_per_km", "r0_ohm_per_km", "x0_ohm_per_km"]]
    finite = np.isfinite(values.to_numpy(dtype=float)).all(axis=1)
    positive = (values.to_numpy(dtype=float) > 0).all(axis=1)
    conductor = (
        finite & positive & (lines["r1_ohm_per_km"].to_numpy(dtype=float) >= min_r1_ohm_per_km)
    )
    k = n_phases(lines["phases"].to_numpy(dtype=np.int64)).astype(np.int64)
    keep = conductor & (k >= 1)
    if not keep.any():
        raise ParameterError(
            "no line of the table has positive finite R1, X1, R0, X0 above "
            f"{min_r1_ohm_per_km} ohm/km and a phase mask; nothing to learn from"
        )
    kept = lines[keep]
    k = k[keep]
    zone = kept["zone"].to_numpy(dtype=np.int64)
    n_zones = table.n_zones
    type_of, keys = line_types(kept, decimals=decimals)
    n_types = keys.shape[0]
    w = np.ones(keep.sum()) if weight == "count" else kept["length_km"].to_numpy(dtype=float)

    counts = np.zeros((3, n_zones, n_types))
    np.add.at(counts, (k - 1, zone, type_of), w)

    # Per-type physical data: impedances from the keys, the rest averaged over its lines.
    def type_mean(arr: np.ndarray, default: float) -> np.ndarray:
        arr = arr[keep]
        total = np.bincount(type_of, weights=np.where(np.isnan(arr), 0, arr), minlength=n_types)
        num = np.bincount(type_of, weights=(~np.isnan(arr)).astype(float), minlength=n_types)
        return np.where(num > 0, total / np.maximum(num, 1), default)

    c1_t = type_mean(c1, DEFAULT_C1_NF_PER_KM)
    c0_t = type_mean(c0, DEFAULT_C0_NF_PER_KM)
    oh_t = type_mean(oh.astype(float), 1.0) >= 0.5
    amps = keys[:, 4]
    if np.isnan(amps).any():
        known = amps[~np.isnan(amps)]
        if known.size == 0:
            raise ParameterError(
                "no line of the table has an ampacity (max_i_ka); give the lines' normal ratings"
            )
        logger.warning(
            "%d conductor types have no ampacity; they get the median of the others (%.3f kA)",
            int(np.isnan(amps).sum()),
            float(np.median(known)),
        )
        amps = np.where(np.isnan(amps), np.median(known), amps)

    # Prior: the pooled mix of each phase count (borrowed from a larger count if it has none).
    pooled = counts.sum(axis=1)  # (3, T)
    source_k = []
    for kk in range(3):
        donors = [j for j in range(kk, 3) if pooled[j].sum() > 0]
        source_k.append(donors[0] if donors else -1)
    prior = np.zeros((3, n_types))
    for kk, donor in enumerate(source_k):
        mix = pooled[donor] if donor >= 0 else pooled.sum(axis=0)
        prior[kk] = prior_weight * mix / mix.sum()
    borrowed = [kk + 1 for kk in range(3) if source_k[kk] != kk]
    alpha = prior[:, np.newaxis, :] + counts

    if names is not None:
        kept_names = names[keep]
        labels = []
        for t in range(n_types):
            these, freq = np.unique(kept_names[type_of == t], return_counts=True)
            labels.append(str(these[freq.argmax()]))
    else:
        labels = [f"R1={keys[t, 0]:g} X1={keys[t, 1]:g} I={amps[t]:g}kA" for t in range(n_types)]

    systems = sorted(set(lines["system"].astype(str)))
    record: dict[str, Any] = {
        "method": (
            "conjugate Dirichlet-categorical: Dirichlet(prior + counts) of line-code types by "
            "phase count and zone; prior = pooled mix of the phase count, total weight "
            f"{prior_weight}"
        ),
        "data_source": ", ".join(systems),
        "created": _dt.date.today().isoformat(),
        "type_names": labels,
        "n_lines": int(n_rows),
        "n_lines_used": int(keep.sum()),
        "n_connectors_left_out": int((~conductor).sum()),
        "weight": weight,
        "phase_counts_borrowed": borrowed,
        "lines_per_phase_count": [int((k == j).sum()) for j in (1, 2, 3)],
        "lines_per_type": np.bincount(type_of, minlength=n_types).tolist(),
        "capacitance_known": bool(np.isfinite(c1[keep]).any()),
    }
    record.update(provenance or {})
    return ImpedanceParameters(
        r1_ohm_per_km=keys[:, 0],
        x1_ohm_per_km=keys[:, 1],
        r0_ohm_per_km=keys[:, 2],
        x0_ohm_per_km=keys[:, 3],
        c1_nf_per_km=c1_t,
        c0_nf_per_km=c0_t,
        max_i_ka=amps,
        overhead=oh_t.astype(float),
        alpha=alpha,
        variation=variation,
        provenance=record,
    )
