"""Random streams of a run: one per realisation, whatever the chunking or the workers.

Realisation ``j`` of region ``r`` draws from ``SeedSequence(seed, spawn_key=(r, j))``, which is
exactly ``SeedSequence(seed).spawn(R)[r].spawn(N)[j]`` computed without spawning the ones before
it; its two children feed the power model and the impedance model. A realisation's sample
therefore depends only on ``(seed, r, j)`` and the model settings: not on the chunk size, the
number of workers, the order in which chunks run, or which chunks a resumed run had left.

The price is that each realisation is sampled on its own (``n=1``) instead of vectorised over a
chunk: about 2.5-3.5 ms per realisation for a 270-900-bus feeder instead of 0.2-0.3 ms (measured
by ``benchmarks/bench_scale.py``). ``SamplingSettings(streams="chunk")`` trades this independence
for speed: one stream per chunk, ``SeedSequence(seed, spawn_key=(r, CHUNK_KEY, c))``, and one
vectorised draw of the chunk; the samples then depend on the chunk size (which is part of every
run's identity anyway), still not on the number of workers or the order of execution.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...ensemble import Ensemble, stack_realisations
from ...errors import ParameterError
from ...feeder import Feeder

#: Middle entry of the spawn key of chunk streams (realisation streams have two entries).
CHUNK_KEY = 2**31

__all__ = [
    "CHUNK_KEY",
    "SamplingSettings",
    "concat_ensembles",
    "realisation_stream",
    "sample_realisations",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SamplingSettings:
    """Which models sample a realisation.

    Attributes
    ----------
    power_parameters : str, optional
        Parameter file of the power model, or the name of a shipped posterior (``"smartds"``,
        ``"epri"``, ``"smartds-counting"``); default: the shipped default.
    impedance : bool, default True
        Sample line impedances with the impedance model (otherwise the engine's default line
        type of the voltage level is used on every line).
    impedance_parameters : str, optional
        Parameter file of the impedance model (default: the shipped one).
    streams : {"realisation", "chunk"}, default "realisation"
        One random stream per realisation (samples independent of the chunk size), or one per
        chunk (vectorised sampling, faster; samples depend on the chunk size).
    sampler : {"conditioned", "unconditioned"}, default "conditioned"
        ``"conditioned"``: phases and split of each bus's design demand (``feeder.demand_kw``;
        for an OSM region the place's demand, :func:`~bayesgrid_plugins.demand.place_demand`),
        realisation j scaled by a log-normal level multiplier of mean 1 and the default CV
        (:func:`~bayesgrid_plugins.demand.default_level_cv`) drawn from its own stream;
        ``"unconditioned"``: the power model's own P per load (the default of earlier versions;
        a region without a design demand, such as a feeder given without one, needs it).
    """

    power_parameters: str | None = None
    impedance: bool = True
    impedance_parameters: str | None = None
    streams: str = "realisation"
    sampler: str = "conditioned"

    def __post_init__(self) -> None:
        if self.streams not in ("realisation", "chunk"):
            raise ParameterError(f"streams must be 'realisation' or 'chunk', got {self.streams!r}.")
        if self.sampler not in ("unconditioned", "conditioned"):
            raise ParameterError(
                f"sampler must be 'unconditioned' or 'conditioned', got {self.sampler!r}."
            )

    def settings(self) -> dict[str, Any]:
        """What identifies the sampling (parameter files by content digest)."""
        from ...models.impedance import BayesianImpedanceModel
        from ...models.power import BayesianPowerModel

        def digest(path: str | None, model: Any) -> str:
            if path is None or not Path(path).is_file():  # the default or a shipped name
                return f"{path or 'default'}:{model(path).parameters.provenance.get('id')}"
            return hashlib.sha256(Path(path).read_bytes()).hexdigest()

        return {
            "power_parameters": digest(self.power_parameters, BayesianPowerModel),
            "impedance": self.impedance,
            "streams": self.streams,
            "impedance_parameters": (
                digest(self.impedance_parameters, BayesianImpedanceModel)
                if self.impedance
                else None
            ),
            # runs of earlier versions (unconditioned) keep their identity
            **({"sampler": self.sampler} if self.sampler != "unconditioned" else {}),
        }


_MODELS: dict[SamplingSettings, tuple[Any, Any]] = {}


def _models(sampling: SamplingSettings) -> tuple[Any, Any]:
    """The models of ``sampling``, loaded once per process."""
    if sampling not in _MODELS:
        from ...models.impedance import BayesianImpedanceModel
        from ...models.power import BayesianPowerModel

        power = BayesianPowerModel(sampling.power_parameters)
        impedance = (
            BayesianImpedanceModel(sampling.impedance_parameters) if sampling.impedance else None
        )
        _MODELS[sampling] = (power, impedance)
    return _MODELS[sampling]


def realisation_stream(seed: int, region: int, realisation: int) -> np.random.SeedSequence:
    """The seed sequence of one realisation of one region (see the module docstring)."""
    return np.random.SeedSequence(int(seed), spawn_key=(int(region), int(realisation)))


def concat_ensembles(parts: list[Ensemble]) -> Ensemble:
    """Stack ensembles of the same feeder along the realisation axis."""
    return stack_realisations(parts, shared=("bus_id", "source", "metadata"))


def sample_realisations(
    feeder: Feeder,
    *,
    seed: int,
    region: int,
    realisations: range | np.ndarray,
    sampling: SamplingSettings | None = None,
    chunk: int | None = None,
) -> Ensemble:
    """Sample the given realisations of a region, each from its own stream.

    Parameters
    ----------
    feeder : Feeder
        The region's feeder.
    seed : int
        The run's seed.
    region : int
        Index of the region in the run.
    realisations : range or ndarray of int
        Global indices of the realisations to sample.
    sampling : SamplingSettings, optional
        Which models (default: power and impedance with the shipped parameters).
    chunk : int, optional
        Index of the chunk (needed with ``sampling.streams == "chunk"``).

    Returns
    -------
    Ensemble
        One realisation per entry of ``realisations``, in that order.
    """
    sampling = sampling or SamplingSettings()
    power, impedance = _models(sampling)
    if sampling.streams == "chunk":
        if chunk is None:
            raise ParameterError("chunk streams need the chunk index: pass chunk=.")
        rows = np.asarray(realisations, dtype=np.int64)
        ss = np.random.SeedSequence(int(seed), spawn_key=(int(region), CHUNK_KEY, int(chunk)))
        power_ss, impedance_ss = ss.spawn(2)
        ens = _sample_power(power, feeder, rows.size, power_ss, sampling)
        if impedance is not None:
            ens = impedance.sample(
                feeder, rows.size, rng=np.random.default_rng(impedance_ss), ensemble=ens
            )
        return ens
    parts = []
    for j in np.asarray(realisations, dtype=np.int64).tolist():
        power_ss, impedance_ss = realisation_stream(seed, region, j).spawn(2)
        ens = _sample_power(power, feeder, 1, power_ss, sampling)
        if impedance is not None:
            ens = impedance.sample(feeder, 1, rng=np.random.default_rng(impedance_ss), ensemble=ens)
        parts.append(ens)
    return concat_ensembles(parts)


_WARNED: set[int] = set()


def _sample_power(
    power: Any, feeder: Feeder, n: int, ss: np.random.SeedSequence, sampling: SamplingSettings
) -> Ensemble:
    """Loads of ``n`` realisations from one stream, with the sampler of ``sampling``."""
    demand = np.asarray(feeder.demand_kw, dtype=float)
    if sampling.sampler == "conditioned" and not demand.sum() > 0 and id(feeder) not in _WARNED:
        _WARNED.add(id(feeder))  # once per region feeder and process
        # A region given as a feeder without a design demand has no place demand to condition
        # on: the power model's own P, said in the log (give it one with feeder.with_demand).
        logger.warning(
            "region feeder of %d buses has no design demand (feeder.demand_kw): sampled with "
            "the unconditioned sampler; give it one with feeder.with_demand to condition on it",
            feeder.n_buses,
        )
    if sampling.sampler == "unconditioned" or not demand.sum() > 0:
        return power.sample(feeder, n, rng=np.random.default_rng(ss))
    from ...demand import default_level_cv, level_multipliers
    from ...models.conditioned import sample_conditioned

    level_ss, split_ss = ss.spawn(2)
    ens = sample_conditioned(
        feeder, demand, None, n, model=power, rng=np.random.default_rng(split_ss)
    )
    m = level_multipliers(n, default_level_cv()[0], np.random.default_rng(level_ss))
    return ens.with_fields(p_kw=ens.p_kw * m[:, None, None], q_kvar=ens.q_kvar * m[:, None, None])
