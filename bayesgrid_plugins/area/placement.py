"""Where the distribution substations are: from OSM, from the user, or by a placement rule.

Placement rule
--------------
When the area holds no usable substation (and none is given), substations are placed:

- **How many**: ``k = max(ceil(A / km2_per_substation), ceil(D / mw_per_substation), 1)``, where
  ``A`` [km2] is the area of the convex hull of the street buses and ``D`` [MW] their total
  planning demand (defaults 4 km2 and 20 MW per substation: urban primary substations of
  110/20 kV with two 25-40 MVA transformers serve some 10-30 MW).
- **Where**: demand-weighted k-means (Lloyd's iterations from a k-means++ start with a fixed
  seed) on the street buses' projected positions; each cluster centre then goes to the street
  junction nearest it. Junctions are where a substation's feeders can leave in several
  directions.

The result says ``"placed by rule"`` in :attr:`~bayesgrid_plugins.area.build.Area.placement`
and in its summary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError

__all__ = [
    "DEFAULT_KM2_PER_SUBSTATION",
    "DEFAULT_MW_PER_SUBSTATION",
    "Substation",
    "hull_area_km2",
    "place_by_rule",
    "weighted_kmeans",
]

#: Street-hull area [km2] served by one placed substation.
DEFAULT_KM2_PER_SUBSTATION = 4.0
#: Planning demand [MW] served by one placed substation.
DEFAULT_MW_PER_SUBSTATION = 20.0


@dataclass(frozen=True)
class Substation:
    """A distribution (HV/MV) substation of the area.

    Attributes
    ----------
    id : str
        Identifier (``"n<osm id>"``/``"w<osm id>"`` from OSM, ``"user<k>"``, ``"rule<k>"``).
    name : str
        OSM ``name`` tag, or a generated name.
    lon, lat : float
        Position [deg] of the substation itself.
    origin : {"osm", "user", "rule"}
        Where it came from.
    kv : tuple of float
        Voltages [kV] from OSM (empty when unknown).
    bus : int
        Span bus (street junction) the substation is snapped to; its feeders start there.
    snap_m : float
        Distance [m] from the substation to that junction.
    """

    id: str
    name: str
    lon: float
    lat: float
    origin: str
    kv: tuple[float, ...]
    bus: int
    snap_m: float


def hull_area_km2(x: np.ndarray, y: np.ndarray) -> float:
    """Area [km2] of the convex hull of projected points [m] (0 for fewer than 3)."""
    from scipy.spatial import ConvexHull, QhullError

    pts = np.column_stack([x, y])
    if pts.shape[0] < 3:
        return 0.0
    try:
        return float(ConvexHull(pts).volume) / 1e6
    except QhullError:
        return 0.0


def weighted_kmeans(
    xy: np.ndarray, weight: np.ndarray, k: int, *, rng: np.random.Generator, iterations: int = 50
) -> np.ndarray:
    """Centres (k, 2) of demand-weighted k-means (k-means++ start, Lloyd's iterations)."""
    n = xy.shape[0]
    w = np.where(weight > 0, weight, 0.0)
    if w.sum() <= 0:
        w = np.ones(n)
    k = min(int(k), n)
    centres = np.empty((k, 2))
    centres[0] = xy[rng.choice(n, p=w / w.sum())]
    d2 = ((xy - centres[0]) ** 2).sum(axis=1)
    for j in range(1, k):
        p = w * d2
        centres[j] = xy[rng.choice(n, p=p / p.sum())] if p.sum() > 0 else xy[rng.integers(n)]
        d2 = np.minimum(d2, ((xy - centres[j]) ** 2).sum(axis=1))
    for _ in range(iterations):
        label = np.argmin(((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)
        mass = np.bincount(label, weights=w, minlength=k)
        new: np.ndarray = np.column_stack(  # weighted bincounts: float
            [
                np.bincount(label, weights=w * xy[:, 0], minlength=k),
                np.bincount(label, weights=w * xy[:, 1], minlength=k),
            ]
        )
        empty = mass <= 0
        new[~empty] /= mass[~empty, None]
        new[empty] = centres[empty]
        if np.allclose(new, centres, atol=1e-3):
            centres = new
            break
        centres = new
    return centres


def place_by_rule(
    x: np.ndarray,
    y: np.ndarray,
    demand_kw: np.ndarray,
    candidates: np.ndarray,
    *,
    n: int | None = None,
    km2_per_substation: float = DEFAULT_KM2_PER_SUBSTATION,
    mw_per_substation: float = DEFAULT_MW_PER_SUBSTATION,
    seed: int = 0,
) -> tuple[np.ndarray, str]:
    """Bus indices of placed substations and a description of the rule used.

    Parameters
    ----------
    x, y : ndarray of float
        Projected bus positions [m].
    demand_kw : ndarray of float
        Planning demand [kW] per bus.
    candidates : ndarray of int
        Buses a substation may be placed at (the street junctions).
    n : int, optional
        Number of substations; default from the area and demand (see the module docs).
    km2_per_substation, mw_per_substation : float
        The rule's densities.
    seed : int, default 0
        Seed of the k-means++ start.
    """
    for name, value in (
        ("km2_per_substation", km2_per_substation),
        ("mw_per_substation", mw_per_substation),
    ):
        if not (math.isfinite(value) and value > 0):
            raise ParameterError(f"{name}={value!r} must be positive.")
    area = hull_area_km2(x, y)
    total_mw = float(demand_kw.sum()) / 1000.0
    if n is None:
        k = max(math.ceil(area / km2_per_substation), math.ceil(total_mw / mw_per_substation), 1)
        why = (
            f"placed by rule: {k} = max(ceil({area:.2f} km2 / {km2_per_substation:g}), "
            f"ceil({total_mw:.2f} MW / {mw_per_substation:g}), 1)"
        )
    else:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ParameterError(f"n_substations must be a positive integer, got {n!r}.")
        k = int(n)
        why = f"placed by rule: {k} substations requested"
    xy = np.column_stack([x, y])
    centres = weighted_kmeans(xy, demand_kw, k, rng=np.random.default_rng(seed))
    cxy = xy[candidates]
    chosen: list[int] = []
    for centre in centres:
        d = ((cxy - centre) ** 2).sum(axis=1)
        if chosen:
            d[np.isin(candidates, chosen)] = np.inf
        chosen.append(int(candidates[int(np.argmin(d))]))
    return np.asarray(chosen, dtype=np.int64), why + ", demand-weighted k-means on street buses"
