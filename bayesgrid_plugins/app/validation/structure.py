"""Structural statistics of radial feeders, to set generated topologies beside real ones.

For each feeder: the distribution of line lengths, of the depth of buses in hops from the
source, of the branching degree (children per bus that has any), and of the normalised distance
of loads; and the total line length per load. Zero-length links (transformers and switches, which
the readers give 1 mm) are not lines here. Two feeders are compared metric by metric with the
Kolmogorov-Smirnov distance of the distributions and the ratio of the scalars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...feeder import Feeder
from .metrics import ks_distance
from .tables import render

__all__ = [
    "DISTRIBUTIONS",
    "FeederStructure",
    "compare_structure",
    "feeder_structure",
    "table_structure",
]

#: Links shorter than this [km] (1 m) are transformers or switches, not lines.
MIN_LINE_KM = 1e-3
#: The distributions compared.
DISTRIBUTIONS = ("line_length_km", "depth_hops", "branching", "load_d")


@dataclass(frozen=True, eq=False)
class FeederStructure:
    """Structural statistics of one feeder.

    Attributes
    ----------
    name : str
        Label.
    n_buses, n_loads, n_lines : int
        Sizes (lines: links of at least 1 m).
    total_length_km : float
        Total line length [km].
    length_per_load_km : float
        Total line length per load [km].
    max_depth_hops : int
        Depth of the deepest bus [hops].
    leaf_share : float
        Share of buses without children.
    line_length_km, depth_hops, branching, load_d : ndarray
        The distributions: line lengths [km], bus depths [hops], children of each bus that has
        any, normalised distances of the loads.
    """

    name: str
    n_buses: int
    n_loads: int
    n_lines: int
    total_length_km: float
    length_per_load_km: float
    max_depth_hops: int
    leaf_share: float
    line_length_km: np.ndarray = field(repr=False)
    depth_hops: np.ndarray = field(repr=False)
    branching: np.ndarray = field(repr=False)
    load_d: np.ndarray = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (with medians and 90th percentiles of the distributions)."""
        out: dict[str, Any] = {
            "name": self.name,
            "n_buses": self.n_buses,
            "n_loads": self.n_loads,
            "n_lines": self.n_lines,
            "total_length_km": round(self.total_length_km, 6),
            "length_per_load_km": round(self.length_per_load_km, 6),
            "max_depth_hops": self.max_depth_hops,
            "leaf_share": round(self.leaf_share, 6),
        }
        for name in DISTRIBUTIONS:
            values = np.asarray(getattr(self, name), dtype=float)
            out[name] = (
                {
                    "mean": float(values.mean()),
                    "median": float(np.median(values)),
                    "p90": float(np.percentile(values, 90)),
                }
                if values.size
                else None
            )
        return out


def feeder_structure(feeder: Feeder, *, name: str = "feeder") -> FeederStructure:
    """Structural statistics of a feeder (see :class:`FeederStructure`)."""
    lines = np.ones(feeder.n_buses, dtype=bool)
    lines[feeder.source] = False
    length = np.asarray(feeder.length_km, dtype=float)
    real_lines = lines & (length >= MIN_LINE_KM)
    children = np.bincount(feeder.parent[lines], minlength=feeder.n_buses)
    loads = feeder.load_buses
    total = float(length[real_lines].sum())
    return FeederStructure(
        name=name,
        n_buses=feeder.n_buses,
        n_loads=int(loads.size),
        n_lines=int(real_lines.sum()),
        total_length_km=total,
        length_per_load_km=total / loads.size if loads.size else float("nan"),
        max_depth_hops=int(feeder.depth.max()),
        leaf_share=float((children == 0).mean()),
        line_length_km=length[real_lines],
        depth_hops=np.asarray(feeder.depth, dtype=float),
        branching=children[children > 0].astype(float),
        load_d=np.asarray(feeder.d, dtype=float)[loads],
    )


def compare_structure(reference: FeederStructure, other: FeederStructure) -> dict[str, float]:
    """KS distance per distribution and ratio ``other / reference`` of the scalar statistics."""
    out = {
        f"ks_{name}": ks_distance(getattr(reference, name), getattr(other, name))
        for name in DISTRIBUTIONS
    }
    for name in ("length_per_load_km", "max_depth_hops", "leaf_share"):
        ref = float(getattr(reference, name))
        out[f"ratio_{name}"] = float(getattr(other, name)) / ref if ref else float("nan")
    return out


def table_structure(structures: list[FeederStructure], *, fmt: str = "text") -> str:
    """One row per feeder: sizes, median line length, depth, branching, length per load."""
    headers = [
        "Feeder",
        "Buses",
        "Loads",
        "Length [km]",
        "Median line [m]",
        "Median depth",
        "Max depth",
        "Mean branching",
        "Leaves [%]",
        "km per load",
        "Median d of loads",
    ]
    rows = []
    for s in structures:
        rows.append(
            [
                s.name,
                str(s.n_buses),
                str(s.n_loads),
                f"{s.total_length_km:.2f}",
                f"{1000 * np.median(s.line_length_km):.1f}" if s.line_length_km.size else "-",
                f"{np.median(s.depth_hops):.0f}",
                str(s.max_depth_hops),
                f"{s.branching.mean():.2f}" if s.branching.size else "-",
                f"{100 * s.leaf_share:.1f}",
                f"{s.length_per_load_km:.4f}",
                f"{np.median(s.load_d):.2f}" if s.load_d.size else "-",
            ]
        )
    return render(headers, rows, fmt)
