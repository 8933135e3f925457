"""Map of a feeder: streets in grey, lines coloured by phase set, substation, legend and scale."""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np

from ..ensemble import Ensemble
from ..errors import ParameterError
from ..feeder import Feeder
from ..phases import PHASE_NAMES
from .geo import to_utm
from .streets import StreetNetwork

__all__ = ["PHASE_COLOURS", "plot_feeder"]

#: Line colour of each phase mask (index = mask, 1..7), colour-blind friendly (Okabe-Ito).
PHASE_COLOURS = {
    1: "#E69F00",  # A
    2: "#56B4E9",  # B
    3: "#009E73",  # AB
    4: "#CC79A7",  # C
    5: "#D55E00",  # CA
    6: "#0072B2",  # BC
    7: "#000000",  # ABC
}
_LEGEND_ORDER = (1, 2, 4, 3, 6, 5, 7)  # A, B, C, AB, BC, CA, ABC
_LINE_COLOUR = "#0072B2"


def _nice_length(span: float) -> float:
    """A round length (1, 2 or 5 times a power of ten) near a fifth of ``span``."""
    target = max(span / 5.0, 1e-9)
    power = 10 ** math.floor(math.log10(target))
    for factor in (5, 2, 1):
        if factor * power <= target:
            return factor * power
    return power


def _scale_bar(ax: Any, metres: bool) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    left = x0 + 0.05 * (x1 - x0)
    base = y0 + 0.05 * (y1 - y0)
    ax.plot([left, left + length], [base, base], color="black", linewidth=3, solid_capstyle="butt")
    if metres:
        label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    else:
        label = f"{length:g} (map units)"
    ax.text(left + length / 2, base + 0.015 * (y1 - y0), label, ha="center", va="bottom")


def plot_feeder(
    feeder: Any,
    ensemble: Ensemble | None = None,
    realisation: int = 0,
    ax: Any = None,
    streets: StreetNetwork | None = None,
    *,
    title: str | None = None,
    attribution: str | None = None,
) -> Any:
    """Draw a feeder on its streets.

    Parameters
    ----------
    feeder : Feeder or OsmFeeder
        The feeder; an :class:`~bayesgrid_plugins.topology.build.OsmFeeder` brings its streets
        and attribution along.
    ensemble : Ensemble, optional
        Colour each line by its phase set in ``ensemble.bus_phases[realisation]``; without it all
        lines have one colour.
    realisation : int, default 0
        Which realisation of ``ensemble`` to draw.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made when omitted.
    streets : StreetNetwork, optional
        Streets to draw in grey (default: the ``OsmFeeder``'s).
    title : str, optional
        Axes title.
    attribution : str, optional
        Text in the lower right corner (default: the ``OsmFeeder``'s OpenStreetMap credit).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import bayesgrid_plugins as bg
    >>> osm = bg.feeder_from_osm(dist_m=300)  # embedded Monaco, radius [m]  # doctest: +SKIP
    >>> ensemble = bg.BayesianPowerModel().sample(osm.feeder, 10, rng=1)  # doctest: +SKIP
    >>> ax = bg.plot_feeder(osm, ensemble, realisation=3)  # doctest: +SKIP
    """
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    if not isinstance(feeder, Feeder):
        if streets is None:
            streets = getattr(feeder, "streets", None)
        if attribution is None:
            attribution = getattr(feeder, "attribution", None)
        feeder = feeder.feeder
    if not isinstance(feeder, Feeder):
        raise ParameterError("feeder must be a Feeder or an OsmFeeder.")
    x, y = cast(np.ndarray, feeder.x), cast(np.ndarray, feeder.y)  # arrays in every Feeder
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ParameterError(
            "feeder has buses without coordinates (NaN in x or y); a map needs every position."
        )
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(10, 8), layout="constrained")

    if streets is not None and streets.n_edges:
        if feeder.crs is None:
            raise ParameterError("feeder.crs is unknown, so the streets cannot be projected.")
        lines = streets.lines_lonlat()
        flat = np.concatenate(lines)
        sx, sy = to_utm(flat[:, 0], flat[:, 1], feeder.crs)
        xy = np.split(np.column_stack([sx, sy]), np.cumsum([len(part) for part in lines])[:-1])
        ax.add_collection(LineCollection(xy, colors="0.8", linewidths=2.5, zorder=1))

    child = feeder.lines
    par = feeder.parent[child]
    segments = np.stack(
        [
            np.column_stack([x[par], y[par]]),
            np.column_stack([x[child], y[child]]),
        ],
        axis=1,
    )
    handles = []
    if ensemble is None:
        ax.add_collection(
            LineCollection(list(segments), colors=_LINE_COLOUR, linewidths=1.2, zorder=2)
        )
        handles.append(Line2D([], [], color=_LINE_COLOUR, linewidth=1.5, label="line"))
    else:
        if ensemble.bus_id.shape != feeder.bus_id.shape or not np.array_equal(
            ensemble.bus_id, feeder.bus_id
        ):
            raise ParameterError(
                "ensemble.bus_id does not match feeder.bus_id: the ensemble was sampled for "
                "another feeder."
            )
        n_real = ensemble.bus_phases.shape[0]
        if not -n_real <= realisation < n_real:
            raise ParameterError(
                f"realisation={realisation} is out of range: the ensemble has {n_real}."
            )
        masks = ensemble.bus_phases[realisation, child].astype(np.int64)
        widths = np.where(masks == 7, 2.0, np.where(np.isin(masks, (3, 5, 6)), 1.4, 1.0))
        colours = [PHASE_COLOURS.get(int(m), "red") for m in masks]
        ax.add_collection(
            LineCollection(list(segments), colors=colours, linewidths=widths, zorder=2)
        )
        present = set(np.unique(masks).tolist())
        for mask in _LEGEND_ORDER:
            if mask in present:
                count = int((masks == mask).sum())
                handles.append(
                    Line2D(
                        [],
                        [],
                        color=PHASE_COLOURS[mask],
                        linewidth=2,
                        label=f"{PHASE_NAMES[mask]} ({count})",
                    )
                )
    s = feeder.source
    ax.scatter([x[s]], [y[s]], marker="s", s=120, color="red", edgecolor="black", zorder=4)
    handles.append(
        Line2D(
            [],
            [],
            marker="s",
            color="red",
            markeredgecolor="black",
            linestyle="",
            markersize=9,
            label="substation",
        )
    )
    if streets is not None and streets.n_edges:
        handles.append(Line2D([], [], color="0.8", linewidth=2.5, label="street"))
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.margins(0.03)
    metres = feeder.crs is not None and feeder.crs.upper() not in ("EPSG:4326", "OGC:CRS84")
    _scale_bar(ax, metres)
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
        title="phases" if ensemble is not None else None,
    )
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    if attribution:
        ax.text(
            0.99,
            0.005,
            attribution,
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=7,
            color="0.3",
        )
    return ax
