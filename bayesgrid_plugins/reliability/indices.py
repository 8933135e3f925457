"""Reliability of supply on a radial feeder without backfeed: per-bus and IEEE 1366 indices.

The fault model (an analytical RELRAD-type model for radial feeders):

* every line ``l`` fails ``lambda_l * length_l`` times a year (permanent, sustained failures);
* a failure is cleared by the nearest *protective device* (fuse, recloser, breaker) at the head
  of ``l`` or upstream of it, ``g(l)``; every customer below that device is interrupted. The
  source's breaker always protects.
* the crew then opens the nearest *sectionalising point* at or upstream of ``l``, ``s(l)`` (a
  sectionalising switch or a protective device, whichever is nearer); customers below ``g(l)``
  but not below ``s(l)`` are restored after the sectioning time ``t_s``, customers below ``s(l)``
  wait for the repair ``r``. There is no backfeed: nobody below the fault is restored earlier.

With a protective device at every line (the default, ``protection="every_line"``), ``g(l) = l``:
a customer's interruptions are exactly the failures of the lines on its path to the source, each
lasting the repair time, and switches change nothing. With protection at the source only,
every failure on a branch interrupts the whole branch; a switch then *splits* the duration:
customers upstream of the switch wait ``t_s`` for failures beyond it instead of ``r``.

Per bus ``c``, with amounts placed at the device nodes::

    F[c] = sum over lines l with c below g(l) of lambda_l L_l                 [1/year]
    U[c] = t_s F[c] + sum over l with c below s(l) of lambda_l L_l (r_l - t_s) [h/year]

Both are "sum over the ancestors of c of an amount per bus", computed for all realisations at
once with a difference array over the feeder's depth-first preorder and one cumulative sum
(:func:`path_sum`): O(realisations x buses), no loop over buses.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse import csr_array

from bayesgrid_plugins.reprs import compact_repr

from ..errors import ParameterError
from ..feeder import Feeder

__all__ = [
    "ReliabilityResult",
    "lateral_heads",
    "nearest_marked_ancestor",
    "path_sum",
    "place_at",
    "protection_mask",
    "reliability_indices",
    "switches_every_km",
    "system_indices",
]


def _as_2d(values: np.ndarray, n_buses: int, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim != 2 or arr.shape[1] != n_buses:
        raise ParameterError(
            f"{name} has shape {np.shape(values)}; expected (n, {n_buses}) or ({n_buses},)"
        )
    return arr


def path_sum(feeder: Feeder, values: np.ndarray) -> np.ndarray:
    """For each bus, the sum of ``values`` over the bus and all its ancestors.

    Parameters
    ----------
    feeder : Feeder
    values : ndarray, shape (n, n_buses) or (n_buses,)

    Returns
    -------
    ndarray, shape (n, n_buses)
        ``out[:, c] = sum of values[:, a] for a on the path from the source to c`` (inclusive).
    """
    v = _as_2d(values, feeder.n_buses, "values")
    n, b = v.shape
    # A value at bus a applies to preorder positions [position[a], subtree_end[a]).
    diff = np.zeros((n, b + 1))
    diff[:, feeder.position] = v
    ends = csr_array((np.ones(b), (feeder.subtree_end, np.arange(b))), shape=(b + 1, b))
    diff -= (ends @ v.T).T
    return np.cumsum(diff[:, :b], axis=1)[:, feeder.position]


def place_at(feeder: Feeder, values: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Add each line's value to the bus ``target[line]``: ``out[:, t] = sum of values[:, l]``.

    ``target`` is one bus index per bus (topology only, the same for all realisations).
    """
    v = _as_2d(values, feeder.n_buses, "values")
    b = feeder.n_buses
    move = csr_array((np.ones(b), (np.asarray(target), np.arange(b))), shape=(b, b))
    return (move @ v.T).T


def nearest_marked_ancestor(feeder: Feeder, marked: np.ndarray) -> np.ndarray:
    """For each bus, the nearest bus at or above it that is marked (the source always is)."""
    mark = np.asarray(marked, dtype=bool).copy()
    if mark.shape != (feeder.n_buses,):
        raise ParameterError(f"marked has shape {mark.shape}; expected ({feeder.n_buses},)")
    mark[feeder.source] = True
    nearest = np.arange(feeder.n_buses)
    order = feeder.order
    depth = feeder.depth[order]
    starts = np.flatnonzero(np.r_[True, depth[1:] != depth[:-1]])
    bounds = np.r_[starts, order.size]
    for lo, hi in itertools.pairwise(bounds[1:]):  # level by level, the source's skipped
        nodes = order[lo:hi]
        nearest[nodes] = np.where(mark[nodes], nodes, nearest[feeder.parent[nodes]])
    return nearest


def lateral_heads(feeder: Feeder) -> np.ndarray:
    """Mask of lines that start a lateral: lines out of a bus with two or more children."""
    children = np.bincount(feeder.parent[feeder.lines], minlength=feeder.n_buses)
    mask = np.zeros(feeder.n_buses, dtype=bool)
    lines = feeder.lines
    mask[lines] = children[feeder.parent[lines]] >= 2
    return mask


def switches_every_km(feeder: Feeder, spacing_km: float) -> np.ndarray:
    """Mask of lines with a sectionalising switch, one every ``spacing_km`` along each path.

    A switch sits at the head of the line that crosses a multiple of ``spacing_km`` of distance
    from the source.
    """
    if not (np.isfinite(spacing_km) and spacing_km > 0):
        raise ParameterError(f"spacing_km must be a positive distance [km], got {spacing_km!r}")
    dist = feeder.distance_km
    mask = np.zeros(feeder.n_buses, dtype=bool)
    lines = feeder.lines
    mask[lines] = np.floor(dist[lines] / spacing_km) > np.floor(
        dist[feeder.parent[lines]] / spacing_km
    )
    return mask


def protection_mask(feeder: Feeder, protection: Any) -> np.ndarray:
    """Protective devices at line heads: ``"every_line"``, ``"source"``, ``"laterals"`` or a mask.

    ``"source"`` protects the first line of each branch (the source's breaker); ``"laterals"``
    adds a fuse at the head of every lateral (:func:`lateral_heads`).
    """
    first = np.zeros(feeder.n_buses, dtype=bool)
    first[feeder.lines] = feeder.parent[feeder.lines] == feeder.source
    if isinstance(protection, str):
        if protection == "every_line":
            mask = np.zeros(feeder.n_buses, dtype=bool)
            mask[feeder.lines] = True
            return mask
        if protection == "source":
            return first
        if protection == "laterals":
            return first | lateral_heads(feeder)
        raise ParameterError(
            f"protection={protection!r}; use 'every_line', 'source', 'laterals' or a boolean "
            "mask per bus (device at the head of the line into the bus)."
        )
    mask = np.asarray(protection, dtype=bool)
    if mask.shape != (feeder.n_buses,):
        raise ParameterError(
            f"protection mask has shape {mask.shape}; expected ({feeder.n_buses},)"
        )
    return mask | first


def system_indices(
    customers: np.ndarray, frequency: np.ndarray, duration_h: np.ndarray, *, expected: bool
) -> dict[str, np.ndarray]:
    """IEEE 1366 SAIFI, SAIDI [h], CAIFI, CAIDI [h] per realisation.

    Parameters
    ----------
    customers : ndarray, shape (n, n_buses) or (n_buses,)
        Customers served at each bus.
    frequency, duration_h : ndarray, shape (n, n_buses)
        Interruptions per year and interruption hours per year at each bus (sampled counts, or
        expected values).
    expected : bool
        Whether the inputs are expectations: then the customers interrupted at least once are
        counted as ``N (1 - exp(-F))`` (Poisson), else as the customers with a count above 0.
    """
    cust = np.broadcast_to(np.asarray(customers, dtype=float), frequency.shape)
    total = cust.sum(axis=1)
    ci = (cust * frequency).sum(axis=1)
    cmi = (cust * duration_h).sum(axis=1)
    hit = cust * (-np.expm1(-frequency) if expected else (frequency > 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        saifi = ci / total
        saidi = cmi / total
        return {
            "saifi": saifi,
            "saidi_h": saidi,
            "caidi_h": np.where(ci > 0, cmi / np.where(ci > 0, ci, 1), np.nan),
            "caifi": np.where(
                hit.sum(axis=1) > 0, ci / np.maximum(hit.sum(axis=1), 1e-300), np.nan
            ),
            "customers": total,
        }


@dataclass(frozen=True, eq=False)
class ReliabilityResult:
    """Reliability of n realisations of a feeder.

    Attributes
    ----------
    frequency : ndarray, shape (n, n_buses)
        Expected sustained interruptions per year at each bus [1/year].
    duration_h : ndarray, shape (n, n_buses)
        Expected interruption time per year at each bus [h/year].
    interruptions : ndarray of int, shape (n, n_buses)
        Interruptions of one sampled year.
    interrupted_h : ndarray, shape (n, n_buses)
        Interruption hours of that year.
    caifi : ndarray, shape (n, n_buses)
        Expected interruptions of an interrupted customer of the bus, ``F / (1 - exp(-F))``
        (Poisson; at least 1) [interruptions / customer interrupted / year]. NaN at the source.
    caidi_h : ndarray, shape (n, n_buses)
        Expected duration of an interruption at the bus, ``U / F`` [h]. NaN at the source.
    customers : ndarray, shape (n, n_buses)
        Customers per bus used for the system indices.
    expected : dict of str to ndarray (n,)
        System indices from the expectations: ``saifi``, ``saidi_h``, ``caifi``, ``caidi_h``.
    sampled : dict of str to ndarray (n,)
        The same indices for the sampled year (CAIDI and CAIFI NaN in a year without any).
    line_rate_per_km, line_repair_h : ndarray, shape (n, n_buses)
        The sampled failure rate [1/km/year] and mean repair time [h] of each line.
    metadata : dict
        Protection layout, model id, posterior draws.
    ensemble : Ensemble or None
        The input ensemble with ``caifi`` and ``caidi_h`` set (from ``ReliabilityModel.run``).
    """

    frequency: np.ndarray
    duration_h: np.ndarray
    interruptions: np.ndarray
    interrupted_h: np.ndarray
    caifi: np.ndarray
    caidi_h: np.ndarray
    customers: np.ndarray
    expected: dict[str, np.ndarray]
    sampled: dict[str, np.ndarray]
    line_rate_per_km: np.ndarray
    line_repair_h: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    ensemble: Any = None

    def __repr__(self) -> str:
        n, b = np.shape(self.frequency)
        figures = {
            f"{key}_mean": float(np.nanmean(value))
            for key, value in self.expected.items()
            if np.isfinite(np.asarray(value, dtype=float)).any()
        }
        return compact_repr("ReliabilityResult", n=n, buses=b, **figures)

    def summary(self) -> dict[str, dict[str, float]]:
        """Median and interquartile range over realisations of each system index."""
        out = {}
        for kind, indices in (("expected", self.expected), ("sampled", self.sampled)):
            for name, values in indices.items():
                if name == "customers":
                    continue
                finite = values[np.isfinite(values)]
                if finite.size == 0:
                    out[f"{kind}_{name}"] = {"median": np.nan, "q25": np.nan, "q75": np.nan}
                    continue
                q25, q50, q75 = np.percentile(finite, [25, 50, 75])
                out[f"{kind}_{name}"] = {"median": float(q50), "q25": float(q25), "q75": float(q75)}
        return out

    def interruption_table(self, feeder: Feeder, realisation: int | None = None) -> Any:
        """Per-bus table of the sampled years (load buses), for the frequency/duration learners.

        Columns ``system`` (realisation), ``bus_id``, ``zone``, ``customers``, ``interruptions``,
        ``duration_h``: one row per bus with customers, for one realisation or all.
        """
        import pandas as pd

        rows = range(self.customers.shape[0]) if realisation is None else [int(realisation)]
        frames = []
        for k in rows:
            has = self.customers[k] > 0
            frames.append(
                pd.DataFrame(
                    {
                        "system": k,
                        "bus_id": feeder.bus_id[has],
                        "zone": feeder.zone[has],
                        "customers": self.customers[k, has],
                        "interruptions": self.interruptions[k, has],
                        "duration_h": self.interrupted_h[k, has],
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def bus_table(self, realisation: int, bus_id: np.ndarray) -> dict[str, np.ndarray]:
        """Per-bus columns of one realisation (for a CSV next to an exported network)."""
        k = int(realisation)
        return {
            "bus_id": np.asarray(bus_id),
            "customers": self.customers[k],
            "frequency_per_year": self.frequency[k],
            "duration_h_per_year": self.duration_h[k],
            "caifi": self.caifi[k],
            "caidi_h": self.caidi_h[k],
            "interruptions_sampled": self.interruptions[k],
            "interrupted_h_sampled": self.interrupted_h[k],
        }


def reliability_indices(
    feeder: Feeder,
    rate_per_km: np.ndarray,
    repair_h: np.ndarray,
    sectioning_h: np.ndarray | float,
    *,
    customers: np.ndarray,
    protection: Any = "every_line",
    switches: np.ndarray | None = None,
    repair_shape: float = 2.0,
    rng: Any = None,
) -> ReliabilityResult:
    """Per-bus and system reliability indices of n realisations.

    Parameters
    ----------
    feeder : Feeder
    rate_per_km : ndarray, shape (n, n_buses)
        Permanent failure rate of each line [failures / km / year] (the source entry is unused).
    repair_h : ndarray, shape (n, n_buses)
        Mean repair time of each line's failures [h].
    sectioning_h : float or ndarray, shape (n,)
        Time to isolate a fault and restore the customers upstream of the sectionalising point [h].
    customers : ndarray, shape (n, n_buses) or (n_buses,)
        Customers per bus.
    protection : {"every_line", "source", "laterals"} or ndarray of bool
        Protective devices (see :func:`protection_mask`).
    switches : ndarray of bool, shape (n_buses,), optional
        Sectionalising switches at line heads (for example :func:`switches_every_km`).
    repair_shape : float, default 2
        Gamma shape of one failure's repair time in the sampled year (its mean is ``repair_h``).
    rng : seed or numpy.random.Generator, optional
    """
    rng = np.random.default_rng(rng)
    rate = _as_2d(rate_per_km, feeder.n_buses, "rate_per_km")
    repair = _as_2d(repair_h, feeder.n_buses, "repair_h")
    n = rate.shape[0]
    if repair.shape != rate.shape:
        raise ParameterError(f"repair_h has shape {repair.shape}; expected {rate.shape}")
    lines = feeder.lines
    for name, arr in (("rate_per_km", rate), ("repair_h", repair)):
        sub = arr[:, lines]
        if not (np.isfinite(sub).all() and (sub >= 0).all()):
            raise ParameterError(f"{name} must be finite and non-negative on every line.")
    t_s = np.broadcast_to(np.asarray(sectioning_h, dtype=float), (n,))[:, np.newaxis]
    if not (np.isfinite(t_s).all() and (t_s >= 0).all()):
        raise ParameterError("sectioning_h must be finite and non-negative [h].")
    if not repair_shape > 0:
        raise ParameterError(f"repair_shape must be positive, got {repair_shape!r}")
    cust = np.broadcast_to(np.asarray(customers, dtype=float), rate.shape)

    protect = protection_mask(feeder, protection)
    guard = nearest_marked_ancestor(feeder, protect)
    switch = protect.copy()
    if switches is not None:
        extra = np.asarray(switches, dtype=bool)
        if extra.shape != (feeder.n_buses,):
            raise ParameterError(f"switches has shape {extra.shape}; expected ({feeder.n_buses},)")
        switch |= extra
    section = nearest_marked_ancestor(feeder, switch)

    on_line = np.zeros(feeder.n_buses, dtype=bool)
    on_line[lines] = True
    exposure = np.where(on_line, rate * feeder.length_km, 0.0)  # failures / year per line
    mean_repair = np.where(on_line, repair, 0.0)

    frequency = path_sum(feeder, place_at(feeder, exposure, guard))
    extra_h = path_sum(feeder, place_at(feeder, exposure * (mean_repair - t_s), section))
    duration = t_s * frequency + extra_h

    # One sampled year: failures per line, and the sum of their repair times (a sum of N
    # Gamma(shape, r / shape) draws is Gamma(N shape, r / shape)).
    count = rng.poisson(exposure)
    hours = np.zeros_like(exposure)
    failed = count > 0
    hours[failed] = rng.gamma(count[failed] * repair_shape, mean_repair[failed] / repair_shape)
    interruptions = np.rint(path_sum(feeder, place_at(feeder, count, guard))).astype(np.int64)
    interrupted = t_s * interruptions + path_sum(
        feeder, place_at(feeder, hours - t_s * count, section)
    )
    interrupted = np.maximum(interrupted, 0.0)

    with np.errstate(divide="ignore", invalid="ignore"):
        caifi = np.where(frequency > 0, frequency / -np.expm1(-frequency), 1.0)
        caidi = np.where(frequency > 0, duration / frequency, np.nan)
    caifi[:, feeder.source] = np.nan
    caidi[:, feeder.source] = np.nan
    served = cust.copy()
    served[:, feeder.source] = 0.0
    return ReliabilityResult(
        frequency=frequency,
        duration_h=duration,
        interruptions=interruptions,
        interrupted_h=interrupted,
        caifi=caifi,
        caidi_h=caidi,
        customers=served,
        expected=system_indices(served, frequency, duration, expected=True),
        sampled=system_indices(served, interruptions.astype(float), interrupted, expected=False),
        line_rate_per_km=np.where(on_line, rate, np.nan),
        line_repair_h=np.where(on_line, repair, np.nan),
        metadata={
            "protection": protection if isinstance(protection, str) else "mask",
            "n_protective_devices": int(protect.sum()),
            "n_switches": int(switch.sum() - protect.sum()),
        },
    )
