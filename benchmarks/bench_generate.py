"""Wall time of the default ``bayesgrid generate`` (100 realisations of Monaco), as a user sees it.

Each run is a fresh ``bayesgrid generate`` process (imports included) into an empty folder. Runs
alternate between the default (formats written by a second process while the first draws the
figures) and ``--no-background-writing``, so both see the same machine load. Prints, per run,
the wall time, the processor time of the process and its children, the steps of
``summary.json`` ``timings_s`` and the load average; then the median of each setting.

Run: ``python benchmarks/bench_generate.py [--repeats 3] [--extra-args "..."]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SETTINGS = {"background": [], "one process": ["--no-background-writing"]}


def run_once(extra: list[str], folder: Path) -> dict[str, float]:
    """One ``bayesgrid generate`` into ``folder``; wall and processor seconds, and its steps."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bayesgrid_plugins.app.cli",
            "generate",
            "--out",
            str(folder),
            *extra,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    steps = json.loads((folder / "summary.json").read_text())["timings_s"]
    return {"wall": wall, "cpu": cpu, **steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--extra-args", default="", help="more `bayesgrid generate` arguments")
    args = parser.parse_args()
    extra = shlex.split(args.extra_args)
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in SETTINGS}
    root = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    try:
        run_once(extra, root / "warm-up")  # first run: byte-compiled files, numba cache
        print(f"{'setting':<12} {'wall s':>7} {'cpu s':>6}  steps [s]  (load average)")
        for k in range(args.repeats):
            for name, flags in SETTINGS.items():
                row = run_once([*flags, *extra], root / f"{name.replace(' ', '-')}-{k}")
                rows[name].append(row)
                steps = ", ".join(
                    f"{key} {value:.2f}" for key, value in row.items() if key not in ("wall", "cpu")
                )
                load = os.getloadavg()[0]
                print(f"{name:<12} {row['wall']:7.2f} {row['cpu']:6.2f}  {steps}  ({load:.2f})")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print()
    for name, runs in rows.items():
        walls = [r["wall"] for r in runs]
        print(f"median wall, {name}: {statistics.median(walls):.2f} s (of {len(walls)} runs)")


if __name__ == "__main__":
    main()
