"""Time the OSM topology build: the shipped Monaco extract, 1.5 km around the centre.

Run: ``python benchmarks/bench_topology.py [--repeat 5] [--path FILE --lat LAT --lon LON]``.
Prints the import time once, then per repeat the time to read and parse the file, to simplify the
streets and to build the radial feeder, and the bus count. Target: under 5 s including parsing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--path", default=None, help="OSM file (default: shipped Monaco)")
    parser.add_argument("--lat", type=float, default=None)
    parser.add_argument("--lon", type=float, default=None)
    parser.add_argument("--dist", type=float, default=1500.0, help="radius [m]")
    parser.add_argument("--max-span", type=float, default=50.0, help="longest span [m]")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    from bayesgrid_plugins.topology import DEFAULT_POINT, Region, default_extract, read_osm_file
    from bayesgrid_plugins.topology.radial import build_radial, nearest_junction

    t_import = time.perf_counter() - t0
    path = args.path or default_extract()
    point = (
        args.lat if args.lat is not None else DEFAULT_POINT[0],
        args.lon if args.lon is not None else DEFAULT_POINT[1],
    )
    region = Region.make(point=point, dist_m=args.dist)
    print(f"file {path}, {args.dist:g} m around {point}, max span {args.max_span:g} m")
    print(f"import bayesgrid_plugins.topology: {t_import:.3f} s")

    totals = []
    for k in range(args.repeat):
        t0 = time.perf_counter()
        raw, buildings = read_osm_file(path, region=region)
        t1 = time.perf_counter()
        streets = raw.simplify().largest_component()
        t2 = time.perf_counter()
        node = nearest_junction(streets, region.centre, max_distance_m=float("inf"))
        built = build_radial(streets, node, max_span_m=args.max_span, buildings=buildings)
        t3 = time.perf_counter()
        totals.append(t3 - t0)
        f = built.feeder
        print(
            f"run {k}: parse {t1 - t0:.3f} s, simplify {t2 - t1:.3f} s, radial+demand "
            f"{t3 - t2:.3f} s, total {t3 - t0:.3f} s | {f.n_buses} buses, "
            f"{int(f.is_load.sum())} loads, {streets.n_edges} street edges, "
            f"{f.length_km.sum():.2f} km of line, {len(buildings)} footprints"
        )
    print(
        f"total parse+build: median {statistics.median(totals):.3f} s, min {min(totals):.3f} s, "
        f"max {max(totals):.3f} s over {len(totals)} runs (target < 5 s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
