"""Reliability of supply: fault model on a radial feeder and IEEE 1366 indices."""

from .indices import (
    ReliabilityResult,
    lateral_heads,
    nearest_marked_ancestor,
    path_sum,
    place_at,
    protection_mask,
    reliability_indices,
    switches_every_km,
    system_indices,
)

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
