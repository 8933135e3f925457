"""A real pandapower net as a :class:`~bayesgrid_plugins.readers.NetworkReading`."""

from __future__ import annotations

import os
import warnings
import weakref
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import MissingDataWarning, ParameterError
from bayesgrid_plugins.feeder import DEFAULT_N_ZONES, Feeder
from bayesgrid_plugins.results import power_flow_summary
from bayesgrid_plugins.training import TrainingTable

__all__ = ["PandapowerReading", "is_pandapower_net"]

# id(net) -> (weak reference to the net, its feeder, its ensemble or None): the ensemble generated
# for a net is kept beside it (not inside it, so pandapower.to_json still works) until the net is
# garbage-collected.
_ATTACHED: dict[int, tuple[weakref.ref, Feeder, Ensemble | None]] = {}


def is_pandapower_net(obj: object) -> bool:
    """Whether ``obj`` is a pandapower net (without importing pandapower)."""
    return type(obj).__module__.startswith("pandapower") and hasattr(obj, "bus")


class PandapowerReading:
    """A pandapower net (live, or a JSON file read on demand).

    Parameters
    ----------
    source : pandapowerNet or path
        The net or its JSON file.
    n_zones : int, optional
        Zones of normalised distance of the feeder.
    name : str, optional
        Label; default the file's stem or the net's name.
    """

    engine = "pandapower"

    def __init__(self, source: Any, *, n_zones: int | None = None, name: str | None = None) -> None:
        self.path: Path | None = Path(source) if isinstance(source, (str, os.PathLike)) else None
        self._net = None if self.path is not None else source
        self.n_zones = DEFAULT_N_ZONES if n_zones is None else int(n_zones)
        default = self.path.stem if self.path is not None else str(getattr(source, "name", ""))
        self.name = name or default or "pandapower net"

    def __repr__(self) -> str:
        where = str(self.path) if self.path is not None else "in memory"
        return f"PandapowerReading({where!r})"

    @property
    def native(self) -> Any:
        """The pandapower net."""
        if self._net is None:
            from .netfile import read_net

            assert self.path is not None
            try:
                self._net = read_net(self.path)
            except (ValueError, KeyError, TypeError) as exc:
                raise ParameterError(
                    f"{str(self.path)!r} is not a readable pandapower JSON net ({exc})."
                ) from exc
        return self._net

    @cached_property
    def _feeder(self) -> Feeder:
        kept = self.attached()
        if kept is not None:
            return kept[0]
        from .reader import feeder_from_net

        return feeder_from_net(self.native, n_zones=self.n_zones)

    def native_bus_ids(self) -> np.ndarray:
        """pandapower bus indices aligned with the feeder's buses."""
        from ._netmap import bus_labels

        return bus_labels(self.native, self._feeder)

    def attach(self, feeder: Feeder, ensemble: Ensemble | None) -> None:
        """Keep ``feeder`` and ``ensemble`` beside the net; load realisation 0 into it."""
        net = self.native
        if ensemble is not None:
            from .populate import populate_loads

            populate_loads(net, feeder, ensemble, 0)
        key = id(net)
        ref = weakref.ref(net, lambda _: _ATTACHED.pop(key, None))
        _ATTACHED[key] = (ref, feeder, ensemble)
        self.__dict__["_feeder"] = feeder

    def attached(self) -> tuple[Feeder, Ensemble | None] | None:
        """The feeder and ensemble attached to the net, or None."""
        if self._net is None:
            return None
        entry = _ATTACHED.get(id(self._net))
        if entry is None or entry[0]() is not self._net:
            return None
        return entry[1], entry[2]

    def feeder(self) -> Feeder:
        """The net as a radial feeder fed by its external grid."""
        return self._feeder

    def training_table(self, system: str | None = None) -> TrainingTable:
        """Loads and lines of the net."""
        from .reader import training_table

        return training_table(
            self.native, system=system or self.name, n_zones=self.n_zones, feeder=self._feeder
        )

    def unbalance_to(
        self, folder: Path, *, n: int, model: Any, rng: int, solve: bool, **_: Any
    ) -> dict[str, Any]:
        """Write ``n`` unbalanced realisations of the net (one JSON each) into ``folder``."""
        import logging

        import pandapower as pp

        from .solve import solve_ensemble
        from .unbalance import bus_load_totals, unbalance_net

        log = logging.getLogger(__name__)
        net = self.native
        before = bus_load_totals(net)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MissingDataWarning)
            result = unbalance_net(net, n=n, model=model, rng=rng)
        for warning in caught:
            if issubclass(warning.category, MissingDataWarning):
                log.warning("%s", warning.message)
            else:
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
        summary: dict[str, Any] = {
            "engine": "pandapower",
            "filled_with_defaults": result.filled,
            "loop_elements": list(result.loop_elements),
            "replaced_rows": {k: len(v) for k, v in result.removed.items()},
        }
        worst = 0.0
        files = []
        for k in range(result.ensemble.n_realisations):
            result.realisation(k)
            after = bus_load_totals(net).reindex(before.index)
            err = np.abs(after.to_numpy() - before.to_numpy()) / np.maximum(
                np.abs(before.to_numpy()), np.finfo(float).tiny
            )
            worst = max(worst, float(err.max()))
            path = folder / f"realisation_{k:04d}.json"
            pp.to_json(net, str(path))
            files.append(path.name)
        summary["max_relative_bus_total_error"] = worst
        summary["files"] = files
        if solve:
            res = solve_ensemble(net, result.feeder, result.ensemble)
            summary["power_flow"] = power_flow_summary(res.converged, res.vm_min_pu, res.vm_max_pu)
            result.realisation(result.ensemble.n_realisations - 1)
        result.ensemble.save(folder / "ensemble.npz")
        return summary
