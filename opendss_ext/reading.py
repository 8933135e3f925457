"""A real OpenDSS circuit as a :class:`~bayesgrid_plugins.readers.NetworkReading`."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import ParameterError
from bayesgrid_plugins.feeder import DEFAULT_N_ZONES, Feeder
from bayesgrid_plugins.results import power_flow_summary
from bayesgrid_plugins.training import TrainingTable

from .engine import run_commands
from .reader import OpenDSSCircuit, compile_master, read_circuit
from .unbalance import circuit_load_totals, unbalance_circuit

#: Commands that solve a written realisation. Regulators and capacitors of feeders such as IEEE
#: 34 need more than OpenDSS's default 10 control iterations under unbalanced loads (it then
#: aborts with "Max Control Iterations Exceeded"); 100 lets them settle.
SOLVE_COMMANDS = ("calcvoltagebases", "set maxcontroliter=100", "solve")

__all__ = ["OpenDSSReading"]


class OpenDSSReading:
    """An OpenDSS master file, read on demand.

    Parameters
    ----------
    path : path
        The master ``.dss`` file.
    loads_file : str, optional
        A replacement for the master's loads file.
    n_zones : int, optional
        Zones of normalised distance of the feeder.
    name : str, optional
        Label; default the file's stem, or its folder's name for ``Master.dss``.
    """

    engine = "opendss"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        loads_file: str | None = None,
        n_zones: int | None = None,
        name: str | None = None,
    ) -> None:
        self.path: Path | None = Path(path)
        self.loads_file = loads_file
        self.n_zones = DEFAULT_N_ZONES if n_zones is None else int(n_zones)
        stem = self.path.stem
        self.name = name or (stem if stem.lower() != "master" else self.path.parent.name)

    def __repr__(self) -> str:
        return f"OpenDSSReading({str(self.path)!r})"

    @cached_property
    def circuit(self) -> OpenDSSCircuit:
        """The compiled and read circuit."""
        assert self.path is not None
        return read_circuit(self.path, loads_file=self.loads_file, n_zones=self.n_zones)

    @property
    def native(self) -> Any:
        """The OpenDSS context of the read circuit."""
        return getattr(self.circuit, "dss", None)

    def feeder(self) -> Feeder:
        """The circuit as a radial feeder rooted at its feeder head."""
        return self.circuit.feeder

    def native_bus_ids(self) -> np.ndarray:
        """OpenDSS bus names, aligned with the feeder's buses (the feeder uses them as ids)."""
        return self.feeder().bus_id.copy()

    def attach(self, feeder: Feeder, ensemble: Ensemble | None) -> None:
        """Not offered for files: write realisations with the ``opendss`` exporter instead."""
        raise ParameterError(
            "an OpenDSS file cannot hold an ensemble; sample on reading.feeder() and write the "
            "realisations with the 'opendss' exporter."
        )

    def attached(self) -> tuple[Feeder, Ensemble | None] | None:
        """Always None: nothing is attached to a file."""
        return None

    def training_table(self, system: str | None = None) -> TrainingTable:
        """Loads and lines of the circuit."""
        return self.circuit.training_table(system=system or self.name)

    def unbalance_to(
        self,
        folder: Path,
        *,
        n: int,
        model: Any,
        rng: int,
        solve: bool,
        loads: str = "three_phase",
    ) -> dict[str, Any]:
        """Write ``n`` unbalanced realisations of the circuit, one folder each, into ``folder``."""
        assert self.path is not None
        result = unbalance_circuit(self.path, n=n, model=model, rng=rng, loads=loads)
        folders = result.write(folder)
        before = circuit_load_totals(compile_master(result.master))
        worst = 0.0
        converged, vmin, vmax = [], [], []
        for sub in folders:
            engine = compile_master(sub / "Master.dss")
            after = circuit_load_totals(engine)
            for bus, (p, q) in before.items():
                got = after.get(bus, (0.0, 0.0))
                for a, b in ((got[0], p), (got[1], q)):
                    worst = max(worst, abs(a - b) / max(abs(b), np.finfo(float).tiny))
            if solve:
                run_commands(engine, list(SOLVE_COMMANDS), what=sub.name)
                ok = bool(engine.Solution.Converged())
                v = np.asarray(engine.Circuit.AllBusMagPu(), dtype=float)
                ok = ok and bool(np.isfinite(v).all())
                v = v[v > 0]
                converged.append(ok)
                vmin.append(v.min() if v.size else np.nan)
                vmax.append(v.max() if v.size else np.nan)
        summary: dict[str, Any] = {
            "engine": "opendss",
            "replaced_loads": sum(len(v) for v in result.replaced.values()),
            "buses": len(result.replaced),
            "max_relative_bus_total_error": worst,
            "files": [f.name for f in folders],
        }
        if solve:
            summary["power_flow"] = power_flow_summary(
                np.asarray(converged, dtype=bool), np.asarray(vmin), np.asarray(vmax)
            )
        result.ensemble.save(folder / "ensemble.npz")
        return summary
