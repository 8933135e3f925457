"""The real feeders the shipped posteriors are fitted on, and reading them with their hashes.

Paths are relative to the public data folder (``shared/data`` beside the checkout; see its
``PROVENANCE.md``). Reading needs the OpenDSS reader plugin, which is loaded
only by :func:`read_tables`.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .table import TrainingTable

__all__ = ["EPRI_IEEE8500", "SMARTDS", "FeederSource", "file_sha256", "read_tables"]

logger = logging.getLogger(__name__)

_AUSTIN = "feeders/smart-ds-disco/tests/data/smart-ds/substations"
_GREENSBORO = "feeders/smart-ds-gso-greenevt/data/open_dss/uhs0_1247"
_TST = "feeders/electricdss-tst/Version8/Distrib"


@dataclass(frozen=True)
class FeederSource:
    """One OpenDSS feeder: its name, master file (relative to the data folder), loads file."""

    system: str
    master: str
    loads_file: str | None = None
    origin: str = ""


#: The five SMART-DS feeders (NREL, CC BY 4.0), as in ``scripts/compute_default_power_parameters``.
SMARTDS: tuple[FeederSource, ...] = (
    FeederSource(
        "SMART-DS Austin p1udt21301",
        f"{_AUSTIN}/p1uhs23_1247/p1uhs23_1247--p1udt21301/Master.dss",
        origin="NREL/disco @041b717 tests/data (SMART-DS, CC BY 4.0)",
    ),
    FeederSource(
        "SMART-DS Austin p1udt5257",
        f"{_AUSTIN}/p1uhs21_1247/p1uhs21_1247--p1udt5257/Master.dss",
        origin="NREL/disco @041b717 tests/data (SMART-DS, CC BY 4.0)",
    ),
    FeederSource(
        "SMART-DS Greensboro udt12274",
        f"{_GREENSBORO}/uhs0_1247--udt12274/Master.dss",
        "Loads_original.dss",
        origin="GreenEVT/GreenEVT @6aff1ca (SMART-DS, CC BY 4.0), original loads",
    ),
    FeederSource(
        "SMART-DS Greensboro udt14717",
        f"{_GREENSBORO}/uhs0_1247--udt14717/Master.dss",
        "Loads_original.dss",
        origin="GreenEVT/GreenEVT @6aff1ca (SMART-DS, CC BY 4.0), original loads",
    ),
    FeederSource(
        "SMART-DS Greensboro udt16115",
        f"{_GREENSBORO}/uhs0_1247--udt16115/Master.dss",
        "Loads_original.dss",
        origin="GreenEVT/GreenEVT @6aff1ca (SMART-DS, CC BY 4.0), original loads",
    ),
)

#: EPRI test circuits ckt5 and ckt7 and the IEEE 8500-node feeder (BSD-3, EPRI/DSS-Extensions).
EPRI_IEEE8500: tuple[FeederSource, ...] = (
    FeederSource(
        "EPRI ckt5",
        f"{_TST}/EPRITestCircuits/ckt5/Master_ckt5.dss",
        origin="dss-extensions/electricdss-tst @3b20839 (BSD-3)",
    ),
    FeederSource(
        "EPRI ckt7",
        f"{_TST}/EPRITestCircuits/ckt7/Master_ckt7.dss",
        origin="dss-extensions/electricdss-tst @3b20839 (BSD-3)",
    ),
    FeederSource(
        "IEEE 8500",
        f"{_TST}/IEEETestCases/8500-Node/Master.dss",
        origin="dss-extensions/electricdss-tst @3b20839 (BSD-3)",
    ),
)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _folder_sha256(master: Path) -> str:
    """SHA-256 over the names and bytes of the ``.dss`` files beside (and below) a master."""
    digest = hashlib.sha256()
    for path in sorted(master.parent.rglob("*")):
        if path.is_file() and path.suffix.lower() == ".dss":
            digest.update(str(path.relative_to(master.parent)).encode())
            digest.update(file_sha256(path).encode())
    return digest.hexdigest()


def read_tables(
    sources: Sequence[FeederSource], *, data_dir: str | os.PathLike[str]
) -> tuple[TrainingTable, list[dict[str, Any]]]:
    """Read feeders with the OpenDSS reader into one training table.

    Parameters
    ----------
    sources : sequence of FeederSource
        The feeders, e.g. :data:`SMARTDS`.
    data_dir : path
        The public data folder the masters are relative to.

    Returns
    -------
    (TrainingTable, list of dict)
        The concatenated table, and per feeder its name, master path, origin, the SHA-256 of
        the master file and of the folder's ``.dss`` files, and its numbers of loads and lines.
    """
    from ..plugins import read_network

    root = Path(data_dir)
    tables, records = [], []
    for source in sources:
        master = root / source.master
        if not master.is_file():
            raise FileNotFoundError(
                f"master file {str(master)!r} of {source.system!r} is missing; pass the public "
                "data folder (shared/data) as data_dir."
            )
        reading = read_network(master, kind="opendss", loads_file=source.loads_file)
        table = reading.training_table(system=source.system)
        logger.info("%s: %d loads, %d lines", source.system, len(table.loads), len(table.lines))
        tables.append(table)
        records.append(
            {
                "system": source.system,
                "master": source.master,
                "loads_file": source.loads_file,
                "origin": source.origin,
                "master_sha256": file_sha256(master),
                "dss_folder_sha256": _folder_sha256(master),
                "n_loads": len(table.loads),
                "n_lines": len(table.lines),
            }
        )
    return TrainingTable.concat(tables), records
