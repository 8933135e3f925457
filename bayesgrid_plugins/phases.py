"""Phase masks and phase consistency.

A phase set is a 3-bit mask: A = 1, B = 2, C = 4 (so AB = 3, BC = 6, CA = 5, ABC = 7, none = 0).
A feeder is *phase-consistent* when every bus's phases are a subset of its parent's:
``mask[child] & ~mask[parent] == 0``. Lines carry the mask of the bus they feed.

:func:`enforce_phase_consistency` gives every bus the union of its own phases and those of its
whole subtree: the smallest consistent widening. The paper's leaf-to-source walk (Algorithm 3)
gives the same guarantee in O(leaves x depth); here the subtree of a bus is a contiguous range of
the depth-first preorder, so the union is found with three prefix sums over all realisations at
once (packed into one integer prefix sum), without a Python loop over buses.
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError, PhaseConsistencyError
from .feeder import Feeder

__all__ = [
    "PHASE_A",
    "PHASE_ABC",
    "PHASE_B",
    "PHASE_C",
    "PHASE_NAMES",
    "check_phase_consistency",
    "enforce_phase_consistency",
    "fill_unserved_phases",
    "mask_from_phases",
    "n_phases",
    "phase_inconsistencies",
    "phases_from_mask",
]

PHASE_A, PHASE_B, PHASE_C, PHASE_ABC = 1, 2, 4, 7
#: Conventional names of the eight masks (CA for A+C, as in the paper's figures).
PHASE_NAMES = ("none", "A", "B", "AB", "C", "CA", "BC", "ABC")
_POPCOUNT = np.array([0, 1, 1, 2, 1, 2, 2, 3], dtype=np.int8)
_SHIFT = 21
_FIELD = 1 << _SHIFT


def mask_from_phases(phases: str) -> int:
    """Mask of a phase string such as ``"A"``, ``"BC"`` or ``"abc"``."""
    mask = 0
    for char in phases.upper():
        if char not in "ABC":
            raise ParameterError(f"phases {phases!r} may contain only the letters A, B and C")
        mask |= {"A": PHASE_A, "B": PHASE_B, "C": PHASE_C}[char]
    return mask


def phases_from_mask(mask: int) -> str:
    """Phase string of a mask, in A-B-C order (``5 -> "AC"``; ``0 -> ""``)."""
    return "".join(p for p, bit in zip("ABC", (1, 2, 4)) if int(mask) & bit)


def n_phases(masks: np.ndarray) -> np.ndarray:
    """Number of phases in each mask."""
    return _POPCOUNT[np.asarray(masks, dtype=np.uint8) & 7]


def _as_masks(feeder: Feeder, masks: np.ndarray, name: str) -> tuple[np.ndarray, bool]:
    arr = np.asarray(masks)
    single = arr.ndim == 1
    arr = np.atleast_2d(arr)
    if arr.ndim != 2 or arr.shape[1] != feeder.n_buses:
        raise ParameterError(
            f"{name} has shape {np.shape(masks)}; expected ({feeder.n_buses},) or "
            f"(n_realisations, {feeder.n_buses}): one mask per bus."
        )
    if not np.issubdtype(arr.dtype, np.integer) or ((arr < 0) | (arr > 7)).any():
        raise ParameterError(
            f"{name} must hold integer phase masks between 0 and 7 (A=1, B=2, C=4)."
        )
    return arr.astype(np.uint8), single


def enforce_phase_consistency(feeder: Feeder, masks: np.ndarray) -> np.ndarray:
    """Widen phases so that every bus has all the phases found below it.

    Parameters
    ----------
    feeder : Feeder
        The topology.
    masks : ndarray of int, shape (n_buses,) or (n_realisations, n_buses)
        Phase masks per bus (for example the phases of each bus's own load).

    Returns
    -------
    ndarray of uint8, same shape
        For every bus, the union of its own mask and the masks of its whole subtree: the
        smallest consistent result that keeps every original phase.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesgrid_plugins import Feeder, enforce_phase_consistency
    >>> feeder = Feeder.from_edges([("s", "a", 0.1), ("a", "b", 0.05)], "s")  # lengths [km]
    >>> enforce_phase_consistency(feeder, np.array([0, 1, 2]))  # load on A at a, on B at b
    array([3, 3, 2], dtype=uint8)
    """
    arr, single = _as_masks(feeder, masks, "masks")
    pre = arr[:, feeder.preorder].astype(np.int64)
    # One prefix sum counts all three phases at once: the count of buses with phase A, B and C
    # sit in separate 21-bit fields of an int64 (exact for feeders below 2**21 buses).
    if arr.shape[1] >= _FIELD:
        raise ParameterError(
            f"feeders of {_FIELD} buses or more are not supported (this one has {arr.shape[1]}); "
            "split the area into several feeders."
        )
    packed = (pre & 1) | ((pre & 2) << (_SHIFT - 1)) | ((pre & 4) << (2 * _SHIFT - 2))
    counts = np.empty((arr.shape[0], arr.shape[1] + 1), dtype=np.int64)
    counts[:, 0] = 0
    np.cumsum(packed, axis=1, out=counts[:, 1:])
    below = counts[:, feeder.subtree_end] - counts[:, feeder.position]
    out = (
        ((below & (_FIELD - 1)) > 0).astype(np.uint8)
        | (((below >> _SHIFT) & (_FIELD - 1)) > 0).astype(np.uint8) << 1
        | ((below >> (2 * _SHIFT)) > 0).astype(np.uint8) << 2
    )
    return out[0] if single else out


def fill_unserved_phases(feeder: Feeder, masks: np.ndarray) -> np.ndarray:
    """Give buses with no phases (nothing connected below them) their parent's phases.

    A bus whose subtree carries no load ends with an empty mask after enforcement. Such a stub is
    still built by the engines, so it takes the phases of the nearest upstream bus that has any
    (the source keeps its own mask; an empty source becomes ABC). Consistency is preserved.
    """
    arr, single = _as_masks(feeder, masks, "masks")
    out = arr.copy()
    src = feeder.source
    out[:, src] = np.where(out[:, src] == 0, PHASE_ABC, out[:, src])
    empty = (out == 0).any(axis=0)
    if empty.any():
        # Top-down over the breadth-first order: parents are final before their children.
        for bus in feeder.order[1:]:
            if empty[bus]:
                column = out[:, bus]
                out[:, bus] = np.where(column == 0, out[:, feeder.parent[bus]], column)
    return out[0] if single else out


def phase_inconsistencies(feeder: Feeder, masks: np.ndarray) -> np.ndarray:
    """Boolean array, same shape as ``masks``: True where a bus has a phase its parent lacks."""
    arr, single = _as_masks(feeder, masks, "masks")
    parent = feeder.parent.copy()
    parent[feeder.source] = feeder.source
    bad = (arr & ~arr[:, parent]) != 0
    bad[:, feeder.source] = False
    return bad[0] if single else bad


def check_phase_consistency(feeder: Feeder, masks: np.ndarray) -> None:
    """Raise :class:`PhaseConsistencyError` naming every bus whose phases its parent lacks.

    Parameters
    ----------
    feeder : Feeder
        The topology.
    masks : ndarray of int, shape (n_buses,) or (n_realisations, n_buses)
        Phase masks per bus.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesgrid_plugins import Feeder, check_phase_consistency
    >>> feeder = Feeder.from_edges([("s", "a", 0.1), ("a", "b", 0.05)], "s")  # lengths [km]
    >>> check_phase_consistency(feeder, np.array([7, 3, 1]))  # ABC > AB > A: passes
    """
    bad = np.atleast_2d(phase_inconsistencies(feeder, masks))
    if not bad.any():
        return
    arr = np.atleast_2d(np.asarray(masks))
    realisations, buses = np.nonzero(bad)
    lines = []
    for r, b in zip(realisations[:20], buses[:20]):
        p = feeder.parent[b]
        lines.append(
            f"realisation {r}: bus {str(feeder.bus_id[b])!r} has {phases_from_mask(arr[r, b])} "
            f"but its parent {str(feeder.bus_id[p])!r} has {phases_from_mask(arr[r, p]) or 'none'}"
        )
    more = realisations.size - len(lines)
    raise PhaseConsistencyError(
        f"{realisations.size} phase inconsistencies:\n  "
        + "\n  ".join(lines)
        + (f"\n  ... and {more} more" if more > 0 else "")
        + "\nRun enforce_phase_consistency(feeder, masks) to widen the upstream phases."
    )
