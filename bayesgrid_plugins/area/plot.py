"""Map of an area: streets, feeders in colours, substations, transmission lines by voltage."""

from __future__ import annotations

from typing import Any

import numpy as np

from .build import Area

__all__ = ["plot_area"]


def plot_area(area: Area, *, ax: Any = None, figsize: tuple[float, float] = (9.0, 9.0)) -> Any:
    """Draw the area in lon/lat: every feeder in its own colour, MV thick and LV thin,
    transformer sites as dots, substations (squares: OSM, triangles: placed by rule or given),
    transmission lines coloured by voltage (dashed: synthetic), the slack as a star.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    lon, lat = area.spans.lon, area.spans.lat
    segs = [
        np.column_stack([[lon[a], lon[b]], [lat[a], lat[b]]])
        for a, b in zip(area.spans.span_a, area.spans.span_b)
    ]
    ax.add_collection(LineCollection(segs, colors="0.85", linewidths=0.6, zorder=1))
    cmap = plt.get_cmap("tab20")
    for k, f in enumerate(area.feeders):
        fd = f.feeder
        colour = cmap(k % 20)
        child = fd.lines
        par = fd.parent[child]
        flon, flat = lon[f.span], lat[f.span]
        mv = fd.vn_kv[child] > area.lv_kv + 1e-9
        same = ~np.isclose(fd.vn_kv[child], fd.vn_kv[par])
        for sel, width in ((mv & ~same, 2.2), (~mv & ~same, 0.9)):
            c, p = child[sel], par[sel]
            lines = [
                np.column_stack([[flon[a], flon[b]], [flat[a], flat[b]]]) for a, b in zip(p, c)
            ]
            ax.add_collection(LineCollection(lines, colors=[colour], linewidths=width, zorder=2))
        ax.plot(flon[f.sites], flat[f.sites], "o", ms=3, color=colour, mec="k", mew=0.3, zorder=3)
    tr = area.transmission
    volts = sorted(set(np.round(tr.line_kv, 3).tolist()), reverse=True)
    vcmap = plt.get_cmap("autumn")
    for j, v in enumerate(volts):
        colour = vcmap(j / max(len(volts) - 1, 1) * 0.7)
        for syn, style in ((False, "-"), (True, "--")):
            sel = np.flatnonzero((np.round(tr.line_kv, 3) == v) & (tr.line_synthetic == syn))
            if sel.size == 0:
                continue
            lines = [tr.line_geometry[i] for i in sel]
            ax.add_collection(
                LineCollection(
                    lines,
                    colors=[colour],
                    linewidths=2.5,
                    linestyles=style,
                    zorder=4,
                    label=f"{v:g} kV {'synthetic' if syn else 'OSM'} line",
                )
            )
    for s in area.substations:
        marker = "s" if s.origin == "osm" else "^"
        ax.plot(s.lon, s.lat, marker, ms=11, color="k", mfc="yellow", zorder=5)
        ax.annotate(
            s.name or s.id,
            (s.lon, s.lat),
            xytext=(6, 6),
            textcoords="offset points",
            fontsize=8,
            zorder=6,
        )
    ax.plot(
        tr.lon[tr.slack],
        tr.lat[tr.slack],
        "*",
        ms=16,
        color="red",
        mec="k",
        zorder=6,
        label="slack",
    )
    ax.plot([], [], "s", color="k", mfc="yellow", label="substation (OSM)")
    ax.plot([], [], "^", color="k", mfc="yellow", label="substation (placed/given)")
    ax.plot([], [], "o", ms=3, color="0.4", label="MV/LV transformer")
    ax.autoscale()
    ax.set_aspect(1.0 / np.cos(np.radians(float(np.mean(lat)))))
    ax.set_xlabel("longitude [deg]")
    ax.set_ylabel("latitude [deg]")
    ax.set_title(
        f"{len(area.substations)} substations, {area.n_feeders} feeders "
        f"(MV thick, LV thin), {area.placement.split(':')[0]}",
        fontsize=10,
    )
    ax.legend(loc="lower left", fontsize=7)
    ax.annotate(
        area.attribution,
        (0.99, 0.01),
        xycoords="axes fraction",
        ha="right",
        fontsize=7,
        color="0.3",
    )
    return ax
