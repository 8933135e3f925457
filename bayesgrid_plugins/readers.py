"""What an engine plugin's reader returns for a real network (a ``.dss`` master, a pandapower net).

Readers are found through the ``bayesgrid_read_network`` hook (``firstresult``): the first plugin
that claims a source returns a :class:`NetworkReading`; the application then asks it for a
feeder, a training table or an unbalanced ensemble without knowing which engine read it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from .ensemble import Ensemble
    from .feeder import Feeder
    from .training import TrainingTable

__all__ = ["NetworkReading", "source_kind"]


@runtime_checkable
class NetworkReading(Protocol):
    """A real network read by an engine plugin.

    Attributes
    ----------
    engine : str
        The engine whose reader claimed the source (``"opendss"``, ``"pandapower"``).
    name : str
        A label: the file's stem (the folder's name for a ``Master.dss``) or the net's name.
    path : Path or None
        The file read, or None for an in-memory network.
    native : object
        The engine's own object holding the network (OpenDSS context, pandapower net).
    """

    engine: str
    name: str
    path: Path | None
    native: Any

    def feeder(self) -> Feeder:
        """The network as a radial :class:`~bayesgrid_plugins.feeder.Feeder`."""
        ...

    def training_table(self, system: str | None = None) -> TrainingTable:
        """Loads and lines as a :class:`~bayesgrid_plugins.training.TrainingTable`."""
        ...

    def native_bus_ids(self) -> np.ndarray:
        """The network's own bus labels, aligned with :meth:`feeder`'s buses."""
        ...

    def attach(self, feeder: Feeder, ensemble: Ensemble | None) -> None:
        """Keep ``ensemble`` beside the network and load its realisation 0 into it in place."""
        ...

    def attached(self) -> tuple[Feeder, Ensemble | None] | None:
        """The feeder and ensemble attached to the network, or None."""
        ...

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
        """Write ``n`` unbalanced realisations of the network into ``folder``.

        Each bus keeps its total demand. ``loads`` (``"three_phase"`` or ``"all"``) chooses the
        loads converted where the format tells three-phase loads apart (OpenDSS); other readers
        ignore it. Returns a JSON-serialisable summary (engine, files,
        ``max_relative_bus_total_error``, ``power_flow`` when ``solve``); the ensemble is saved
        as ``folder / "ensemble.npz"``.
        """
        ...


def source_kind(source: object, kind: str | None = None) -> str | None:
    """The format of ``source`` by ``kind`` or its suffix: ``"opendss"``, ``"pandapower"``, None."""
    if kind is not None:
        return kind
    if isinstance(source, (str, os.PathLike)):
        suffix = Path(source).suffix.lower()
        return {".dss": "opendss", ".json": "pandapower"}.get(suffix)
    return None
