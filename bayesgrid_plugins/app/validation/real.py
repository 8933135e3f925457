"""Real feeders for validation: read once, turned into the same arrays as a synthetic ensemble.

:func:`load_real_feeder` reads an OpenDSS master (``.dss``) or a pandapower net (``.json`` or a
live net) through the adapters' readers; :func:`real_ensemble` turns its loads and lines into a
one-realisation :class:`~bayesgrid_plugins.ensemble.Ensemble` on the same feeder, so that real
and synthetic data are measured by the same functions. The adapters are imported only when a
feeder is read.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from ...ensemble import Ensemble
from ...errors import ParameterError
from ...feeder import DEFAULT_N_ZONES, Feeder
from ...phases import PHASE_ABC, enforce_phase_consistency, fill_unserved_phases
from ...plugins import read_network
from ...training import TrainingTable

__all__ = ["RealFeeder", "load_real_feeder", "read_bus_coordinates", "real_ensemble"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class RealFeeder:
    """A real feeder: its topology, its loads and lines, and where it came from.

    Attributes
    ----------
    name : str
        A label for tables.
    kind : {"opendss", "pandapower"}
        The reader used.
    feeder : Feeder
        The radial topology (load buses = buses with a real load).
    table : TrainingTable
        The real loads and lines (never used for fitting here).
    path : Path or None
        The master file or the net's JSON file.
    net : pandapowerNet or None
        The net itself (pandapower only), for solving with its own lines and transformer.
    loads_file : str or None
        Replacement ``Loads.dss`` used to compile an OpenDSS master.
    """

    name: str
    kind: str
    feeder: Feeder
    table: TrainingTable
    path: Path | None = None
    net: Any = None
    loads_file: str | None = None

    def bus_totals(self) -> tuple[np.ndarray, np.ndarray]:
        """Total P [kW] and Q [kvar] of the real loads at every bus (0 where none)."""
        loads = self.table.loads
        pos = self.feeder.index_of(loads["bus_id"].astype(str).tolist())
        p = loads[["p_a_kw", "p_b_kw", "p_c_kw"]].to_numpy(dtype=float).sum(axis=1)
        q = loads[["q_a_kvar", "q_b_kvar", "q_c_kvar"]].to_numpy(dtype=float).sum(axis=1)
        n = self.feeder.n_buses
        return np.bincount(pos, p, minlength=n), np.bincount(pos, q, minlength=n)


def _kind_of(path: Path, kind: str | None) -> str:
    if kind is not None:
        if kind not in ("opendss", "pandapower"):
            raise ParameterError(f"kind must be 'opendss' or 'pandapower', got {kind!r}.")
        return kind
    suffix = path.suffix.lower()
    if suffix == ".dss":
        return "opendss"
    if suffix == ".json":
        return "pandapower"
    raise ParameterError(
        f"cannot tell the format of {str(path)!r} from its suffix: give an OpenDSS master "
        "(.dss) or a pandapower net (.json), or pass kind='opendss' or 'pandapower'."
    )


def load_real_feeder(
    source: str | os.PathLike[str] | Any,
    *,
    kind: str | None = None,
    name: str | None = None,
    n_zones: int = DEFAULT_N_ZONES,
    loads_file: str | None = None,
) -> RealFeeder:
    """Read a real feeder from an OpenDSS master, a pandapower JSON file or a pandapower net.

    Parameters
    ----------
    source : path or pandapowerNet
        ``.dss`` master, ``.json`` pandapower net, or a live net.
    kind : {"opendss", "pandapower"}, optional
        The format, if the suffix does not tell.
    name : str, optional
        Label (default: the file's stem or the net's name).
    n_zones : int, default 10
        Zones of normalised distance (must match the posterior's).
    loads_file : str, optional
        Replacement for the master's ``Loads.dss`` (OpenDSS only).

    Returns
    -------
    RealFeeder

    Raises
    ------
    ParameterError
        If the format is unknown or the feeder has no load.
    FileNotFoundError
        If the file does not exist.
    """
    path: Path | None = None
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"the real feeder {str(path)!r} does not exist.")
        kind = _kind_of(path, kind)
    reading = read_network(
        source if path is None else path, kind=kind, loads_file=loads_file, n_zones=n_zones
    )
    label = name or (reading.name if path is None else path.stem)
    table = reading.training_table(system=label)
    feeder = reading.feeder()
    if path is not None and np.isnan(cast(np.ndarray, feeder.x)).all():
        feeder = _with_coordinates_beside(feeder, path)
    native = reading.native if reading.engine == "pandapower" else None
    loads = loads_file if reading.engine == "opendss" else None
    return _checked(RealFeeder(label, reading.engine, feeder, table, path, native, loads))


def _checked(real: RealFeeder) -> RealFeeder:
    if len(real.table.loads) == 0:
        raise ParameterError(f"the real feeder {real.name!r} has no loads to compare with.")
    return real


def read_bus_coordinates(path: str | os.PathLike[str]) -> dict[str, tuple[float, float]]:
    """Bus coordinates from an OpenDSS ``Buscoords`` file (``bus, x, y`` per line).

    Commas, spaces or tabs separate the fields; lines starting with ``!`` or ``//`` and lines
    that do not parse are skipped. Bus names are lower-cased, as the reader's bus ids.
    """
    coords: dict[str, tuple[float, float]] = {}
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        text = line.strip()
        if not text or text.startswith(("!", "//")):
            continue
        parts = text.replace(",", " ").split()
        if len(parts) < 3:
            continue
        try:
            coords[parts[0].lower()] = (float(parts[1]), float(parts[2]))
        except ValueError:
            continue
    return coords


def _with_coordinates_beside(feeder: Feeder, master: Path) -> Feeder:
    """Fill missing coordinates from a ``*coord*`` file beside the master (IEEE 123 keeps them
    in ``BusCoords.dat``, which its master does not load)."""
    for candidate in sorted(master.parent.iterdir()):
        if "coord" not in candidate.name.lower() or not candidate.is_file():
            continue
        coords = read_bus_coordinates(candidate)
        found = [coords.get(str(b)) for b in feeder.bus_id]
        if sum(c is not None for c in found) < 0.5 * feeder.n_buses:
            continue
        x = np.array([np.nan if c is None else c[0] for c in found])
        y = np.array([np.nan if c is None else c[1] for c in found])
        logger.info("coordinates of %d buses read from %s", np.isfinite(x).sum(), candidate)
        return Feeder(
            bus_id=feeder.bus_id,
            parent=feeder.parent,
            length_km=feeder.length_km,
            x=x,
            y=y,
            crs=feeder.crs,
            vn_kv=feeder.vn_kv,
            is_load=feeder.is_load,
            demand_kw=feeder.demand_kw,
            n_zones=feeder.n_zones,
        )
    return feeder


def real_ensemble(real: RealFeeder) -> Ensemble:
    """The real feeder's loads and lines as a one-realisation ensemble on ``real.feeder``.

    Loads on the same bus become one load (union of phases, sum of powers). Bus phases are the
    real lines' phases, widened by the phases the loads below need (real circuits whose loads sit
    behind service transformers can otherwise show a load phase its line lacks); buses without a
    line of their own (transformers, switches) take the phases needed below them, and the source
    is three-phase.
    """
    feeder = real.feeder
    loads = real.table.loads
    n = feeder.n_buses
    pos = feeder.index_of(loads["bus_id"].astype(str).tolist())
    load_phases = np.zeros(n, dtype=np.uint8)
    np.bitwise_or.at(load_phases, pos, loads["phases"].to_numpy(dtype=np.uint8))
    p = np.zeros((n, 3))
    q = np.zeros((n, 3))
    np.add.at(p, pos, loads[["p_a_kw", "p_b_kw", "p_c_kw"]].to_numpy(dtype=float))
    np.add.at(q, pos, loads[["q_a_kvar", "q_b_kvar", "q_c_kvar"]].to_numpy(dtype=float))

    wired = np.zeros(n, dtype=np.uint8)
    lines = real.table.lines
    if len(lines):
        line_pos = feeder.index_of(lines["bus_id"].astype(str).tolist())
        np.bitwise_or.at(wired, line_pos, lines["phases"].to_numpy(dtype=np.uint8))
    wired[feeder.source] = PHASE_ABC
    bus_phases = enforce_phase_consistency(feeder, wired | load_phases)
    bus_phases = fill_unserved_phases(feeder, bus_phases[np.newaxis, :])
    total_p, total_q = p.sum(), q.sum()
    s = float(np.hypot(total_p, total_q))
    return Ensemble(
        bus_id=feeder.bus_id,
        source=feeder.source,
        load_phases=load_phases[np.newaxis, :],
        bus_phases=np.asarray(bus_phases, dtype=np.uint8).reshape(1, n),
        p_kw=p[np.newaxis],
        q_kvar=q[np.newaxis],
        power_factor=np.array([total_p / s if s > 0 else 1.0]),
        draw=np.zeros(1, dtype=np.int64),
        metadata={"real": real.name},
    )
