"""Probabilistic hosting capacity: how much PV each realisation of a feeder takes.

The rule (stated once, used everywhere)
---------------------------------------
* **Where**: PV goes to the load buses of the realisation: all of them (``share=1``, the
  default), or a random subset of ``round(share * n_load_buses)`` buses drawn per realisation
  from its own stream (``SeedSequence(seed, spawn_key=(region, realisation, 2))``).
* **How much**: the same active power ``x`` [kW] at every chosen bus; the feeder's hosting
  capacity is ``x * n_pv_buses`` at the largest ``x`` that violates nothing.
* **Phases**: on the load's phases, at unity power factor: a single-phase load's bus gets
  single-phase PV on that phase; a three-phase load's bus gets balanced three-phase PV (``x/3``
  per phase).
* **Limits**: any voltage above ``vmax_pu`` (1.05 p.u.) on a phase the bus has, any line loading
  above ``max_loading_percent`` (100 %, highest phase current over the line's rating), or a power
  flow that does not converge.
* **Search**: the violation-free PV sizes form an interval ``[0, x*]`` (voltage rises and, past
  the point where PV cancels the load, line current grows monotonically with ``x``), so instead
  of stepping ``x`` up by ``step_kw`` the search doubles ``x`` from ``step_kw`` until a violation
  and then bisects to a bracket narrower than ``step_kw``: the answer is the same as a stepped
  search's to within one step, with about ``log2(x*/step_kw) + 2 log2`` solves instead of
  ``x*/step_kw``. The reported capacity is the largest size found violation-free (never above
  ``x*``); the limit, bus and phase are those of the smallest size found violating.
  When the realisation violates a limit with no PV at all, its hosting capacity is 0
  (``limit_kind = 4``).

Modelling in any engine
-----------------------
The search is engine-neutral: it opens one case of the chosen engine per chunk (any registered
engine: ``opendss`` by default, ``power-grid-model``, ``pandapower``), switches it between
realisations with ``set_realisation`` and sets the PV of each step with ``set_injection``: a
constant-power, unity power factor injection per bus and phase (in OpenDSS one single-phase
``Generator`` per bus and phase, ``model=1``; in pandapower an ``asymmetric_sgen`` row; in
power-grid-model an ``asym_gen``). The same realisation gives the same hosting capacity, to the
search's resolution, in every engine.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..ensemble import Ensemble
from ..errors import ParameterError
from ..feeder import Feeder
from ..plugins import get_engine
from .scale.streams import realisation_stream
from .scale.tasks import ChunkSpec

__all__ = [
    "LIMIT_KINDS",
    "HostingCapacityTask",
    "hosting_capacity",
    "limit_counts",
    "summarise_hosting",
    "write_hosting_figures",
]

logger = logging.getLogger(__name__)

#: Meaning of ``limit_kind``.
LIMIT_KINDS = {
    0: "none up to max_kw_per_bus",
    1: "overvoltage",
    2: "line overload",
    3: "no convergence",
    4: "violated without PV",
}


@dataclass(frozen=True)
class HostingCapacityTask:
    """Hosting capacity of each realisation (see the module docstring for the rule).

    Attributes
    ----------
    vmax_pu : float, default 1.05
        Highest admissible phase-to-neutral voltage [p.u.].
    max_loading_percent : float, default 100
        Highest admissible line loading [%].
    step_kw : float, default 0.5
        Resolution of the search [kW per PV bus].
    share : float, default 1.0
        Share of load buses that get PV (a random subset per realisation when below 1).
    max_kw_per_bus : float, default 10000
        Largest PV size tried [kW per bus]; a realisation that takes it has ``limit_kind = 0``.
    options : mapping, optional
        The engine's options (for ``opendss``, fields of its ``CircuitOptions`` or an instance).
    engine : str, default "opendss"
        The engine, by name.
    """

    vmax_pu: float = 1.05
    max_loading_percent: float = 100.0
    step_kw: float = 0.5
    share: float = 1.0
    max_kw_per_bus: float = 10_000.0
    options: Any = None
    engine: str = "opendss"

    kind = "hosting-capacity"

    def __post_init__(self) -> None:
        if not self.vmax_pu > 1.0:
            raise ParameterError(f"vmax_pu must be above 1 p.u., got {self.vmax_pu!r}.")
        if not self.max_loading_percent > 0:
            raise ParameterError(
                f"max_loading_percent must be positive, got {self.max_loading_percent!r}."
            )
        if not self.step_kw > 0:
            raise ParameterError(f"step_kw must be positive, got {self.step_kw!r}.")
        if not 0 < self.share <= 1:
            raise ParameterError(f"share must lie in (0, 1], got {self.share!r}.")
        if not self.max_kw_per_bus >= self.step_kw:
            raise ParameterError("max_kw_per_bus must be at least step_kw.")

    def settings(self) -> dict[str, Any]:
        """What changes the results (hashed into the run's identity)."""
        return {
            "vmax_pu": self.vmax_pu,
            "max_loading_percent": self.max_loading_percent,
            "step_kw": self.step_kw,
            "share": self.share,
            "max_kw_per_bus": self.max_kw_per_bus,
            "options": repr(self.options),
            "rule": "equal kW per load bus on the load's phases, unity pf; doubling + bisection",
            **({} if self.engine == "opendss" else {"engine": self.engine}),
        }

    def __call__(self, feeder: Feeder, spec: ChunkSpec) -> dict[str, np.ndarray]:
        ensemble = spec.sample(feeder)
        pv_buses = None
        if self.share < 1:
            pv_buses = np.zeros((len(ensemble), feeder.n_buses), dtype=bool)
            for row, j in enumerate(spec.realisations.tolist()):
                rng = np.random.default_rng(
                    realisation_stream(spec.seed, spec.region, j).spawn(3)[2]
                )
                loads = np.flatnonzero(ensemble.load_phases[row])
                count = max(1, round(self.share * loads.size))
                pv_buses[row, rng.choice(loads, size=count, replace=False)] = True
        out = hosting_capacity(feeder, ensemble, task=self, pv_buses=pv_buses)
        return {"realisation": spec.realisations, **out}

    def summarise(self, feeder: Feeder, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        """The region's summary (see :func:`summarise_hosting`)."""
        return summarise_hosting(feeder, arrays)


def hosting_capacity(
    feeder: Feeder,
    ensemble: Ensemble,
    *,
    task: HostingCapacityTask | None = None,
    pv_buses: np.ndarray | None = None,
    engine: str | None = None,
) -> dict[str, np.ndarray]:
    """Hosting capacity of every realisation of an ensemble (one network build).

    Parameters
    ----------
    feeder : Feeder
        The topology.
    ensemble : Ensemble
        Realisations (loads, phases, optional line data).
    task : HostingCapacityTask, optional
        Limits, resolution, engine and its options (default: 1.05 p.u., 100 %, 0.5 kW, OpenDSS).
    pv_buses : ndarray of bool, shape (n, n_buses), optional
        Where PV goes in each realisation (default: every bus with a load).
    engine : str, optional
        The engine by name; default ``task.engine``.

    Returns
    -------
    dict of ndarray
        Per realisation: ``hc_kw`` (feeder hosting capacity [kW]), ``hc_kw_per_bus`` [kW],
        ``n_pv_buses``, ``limit_kind`` (see :data:`LIMIT_KINDS`), ``limit_bus`` (bus index of the
        violation, -1 if none), ``limit_phase`` (0-2 for a voltage, -1 otherwise),
        ``vmax_at_hc_pu`` and ``loading_at_hc_percent`` (at the reported capacity),
        ``vmax_base_pu`` and ``loading_base_percent`` (without PV), ``n_solves``; and
        ``pv_bus`` (n, n_buses) bool.

    Examples
    --------
    >>> out = hosting_capacity(feeder, ensemble, engine="power-grid-model")  # doctest: +SKIP
    >>> out["hc_kw"]  # [kW] per realisation  # doctest: +SKIP
    """
    task = task or HostingCapacityTask()
    n, b = len(ensemble), feeder.n_buses
    has_load = ensemble.load_phases != 0
    if pv_buses is None:
        pv_buses = has_load.copy()
    pv_buses = np.asarray(pv_buses, dtype=bool)
    if pv_buses.shape != (n, b):
        raise ParameterError(f"pv_buses must have shape {(n, b)}, got {pv_buses.shape}.")
    if (pv_buses & ~has_load).any():
        r, i = np.argwhere(pv_buses & ~has_load)[0]
        raise ParameterError(
            f"pv_buses puts PV at bus {feeder.bus_id[i]!r} in realisation {r}, which has no load; "
            "PV goes on a load's phases."
        )
    out = {
        "hc_kw": np.zeros(n),
        "hc_kw_per_bus": np.zeros(n),
        "n_pv_buses": pv_buses.sum(axis=1).astype(np.int64),
        "limit_kind": np.zeros(n, dtype=np.int8),
        "limit_bus": np.full(n, -1, dtype=np.int64),
        "limit_phase": np.full(n, -1, dtype=np.int8),
        "vmax_at_hc_pu": np.full(n, np.nan),
        "loading_at_hc_percent": np.full(n, np.nan),
        "vmax_base_pu": np.full(n, np.nan),
        "loading_base_percent": np.full(n, np.nan),
        "n_solves": np.zeros(n, dtype=np.int64),
        "pv_bus": pv_buses,
    }
    bits = np.array([1, 2, 4], dtype=np.uint8)
    with get_engine(engine or task.engine).open(feeder, ensemble, options=task.options) as case:
        for k in range(n):
            case.set_realisation(k)
            phases = (ensemble.load_phases[k, :, None] & ensemble.bus_phases[k, :, None]) & bits
            on = (phases != 0) & pv_buses[k, :, None]
            # 1 kW per PV bus, shared equally by the load's phases
            unit = np.where(on, 1.0 / np.maximum(on.sum(axis=1, keepdims=True), 1), 0.0)
            valid = (ensemble.bus_phases[k, :, None] & bits) != 0
            solves = 0

            def check(
                x: float, unit: np.ndarray = unit, valid: np.ndarray = valid
            ) -> tuple[int, int, int, float, float]:
                nonlocal solves
                solves += 1
                case.set_injection(x * unit)
                if not case.solve():
                    return 3, -1, -1, np.nan, np.nan
                vm = np.where(valid, np.abs(case.voltages_pu()), 0.0)
                loading = np.nan_to_num(case.line_loading_percent(), nan=-np.inf)
                j = int(np.argmax(vm))
                line = int(np.argmax(loading))
                bus, phase = divmod(j, 3)
                v_top, l_top = float(vm.flat[j]), float(loading[line])
                if v_top > task.vmax_pu:
                    return 1, bus, phase, v_top, l_top
                if l_top > task.max_loading_percent:
                    return 2, line, -1, v_top, l_top
                return 0, -1, -1, v_top, l_top

            base = check(0.0)
            out["vmax_base_pu"][k], out["loading_base_percent"][k] = base[3], base[4]
            if base[0] != 0 or not pv_buses[k].any():
                out["limit_kind"][k] = 4 if base[0] != 0 else 0
                out["limit_bus"][k], out["limit_phase"][k] = base[1], base[2]
                out["vmax_at_hc_pu"][k], out["loading_at_hc_percent"][k] = base[3], base[4]
                out["n_solves"][k] = solves
                continue
            lo, lo_state = 0.0, base
            hi, hi_state = task.step_kw, check(task.step_kw)
            while hi_state[0] == 0 and hi < task.max_kw_per_bus:
                lo, lo_state = hi, hi_state
                hi = min(2.0 * hi, task.max_kw_per_bus)
                hi_state = check(hi)
            if hi_state[0] == 0:  # takes the largest size tried
                lo, lo_state = hi, hi_state
            else:
                while hi - lo > task.step_kw:
                    mid = 0.5 * (lo + hi)
                    state = check(mid)
                    if state[0] == 0:
                        lo, lo_state = mid, state
                    else:
                        hi, hi_state = mid, state
                out["limit_kind"][k] = hi_state[0]
                out["limit_bus"][k], out["limit_phase"][k] = hi_state[1], hi_state[2]
            out["hc_kw_per_bus"][k] = lo
            out["hc_kw"][k] = lo * out["n_pv_buses"][k]
            out["vmax_at_hc_pu"][k], out["loading_at_hc_percent"][k] = lo_state[3], lo_state[4]
            out["n_solves"][k] = solves
            case.set_injection(None)
    return out


def _stats(values: np.ndarray) -> dict[str, float]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"count": 0}
    q = np.percentile(v, [5, 25, 50, 75, 95])
    return {
        "count": int(v.size),
        "mean": float(v.mean()),
        "min": float(v.min()),
        "p5": float(q[0]),
        "p25": float(q[1]),
        "p50": float(q[2]),
        "p75": float(q[3]),
        "p95": float(q[4]),
        "max": float(v.max()),
    }


def limit_counts(feeder: Feeder, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """How often each bus is where the limit is hit: (n_buses, 2) counts (voltage, overload)."""
    counts = np.zeros((feeder.n_buses, 2), dtype=np.int64)
    for col, kind in enumerate((1, 2)):
        chosen = (arrays["limit_kind"] == kind) & (arrays["limit_bus"] >= 0)
        np.add.at(counts[:, col], arrays["limit_bus"][chosen], 1)
    return counts


def summarise_hosting(feeder: Feeder, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Distribution of the hosting capacity of a region's realisations, per feeder and per bus.

    Returns
    -------
    dict
        ``hc_kw`` and ``hc_kw_per_bus`` statistics (mean, 5-95 % quantiles) [kW], the share of
        each limit kind, and the ten buses where the limit is hit most often (with the share of
        realisations and the kind).
    """
    n = int(arrays["hc_kw"].size)
    kinds = arrays["limit_kind"]
    counts = limit_counts(feeder, arrays)
    total = counts.sum(axis=1)
    top = np.argsort(-total, kind="stable")[:10]
    return {
        "n_realisations": n,
        "n_buses": feeder.n_buses,
        "n_load_buses": int(feeder.load_buses.size),
        "hc_kw": _stats(arrays["hc_kw"]),
        "hc_kw_per_bus": _stats(arrays["hc_kw_per_bus"]),
        "n_pv_buses": _stats(arrays["n_pv_buses"]),
        "solves_per_realisation": float(arrays["n_solves"].mean()),
        "limit_share": {LIMIT_KINDS[k]: float(np.mean(kinds == k)) for k in LIMIT_KINDS},
        "limit_buses": [
            {
                "bus": str(feeder.bus_id[i]),
                "share": float(total[i] / max(n, 1)),
                "overvoltage": int(counts[i, 0]),
                "overload": int(counts[i, 1]),
                "distance_km": float(feeder.distance_km[i]),
            }
            for i in top
            if total[i] > 0
        ],
    }


def write_hosting_figures(
    folder: str | Path,
    names: list[str],
    feeders: list[Feeder],
    results: list[dict[str, np.ndarray]],
    *,
    overwrite: bool = True,
) -> list[Path]:
    """Plot the hosting capacity of a run: distributions per feeder and limit buses on maps.

    Writes ``hosting_capacity_distribution.png`` (empirical CDF of each region's hosting
    capacity [MW] and a histogram of the limit kinds) and one ``hosting_capacity_map_<r>.png``
    per region (lines, and the buses where the limit is hit sized by how often).

    Returns
    -------
    list of Path
        The files written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..fileio import atomic_path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    width = 0.8 / max(len(names), 1)
    for r, (name, arrays) in enumerate(zip(names, results)):
        hc = np.sort(arrays["hc_kw"]) / 1000.0
        ecdf = np.arange(1, hc.size + 1) / hc.size
        ax.step(hc, ecdf, where="post", label=f"{name} (median {np.median(hc):.2f} MW)")
        shares = [np.mean(arrays["limit_kind"] == k) for k in LIMIT_KINDS]
        bx.bar(
            np.arange(len(LIMIT_KINDS)) + (r - (len(names) - 1) / 2) * width,
            shares,
            width,
            label=name,
        )
    ax.set_xlabel("hosting capacity of the feeder [MW]")
    ax.set_ylabel("share of realisations at or below")
    ax.set_title("Hosting capacity across the ensemble")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    bx.set_xticks(
        np.arange(len(LIMIT_KINDS)),
        [LIMIT_KINDS[k] for k in LIMIT_KINDS],
        rotation=20,
        ha="right",
        fontsize=8,
    )
    bx.set_ylabel("share of realisations")
    bx.set_title("What limits the hosting capacity")
    bx.legend(fontsize=8)
    path = folder / "hosting_capacity_distribution.png"
    with atomic_path(path, overwrite=overwrite, what="figure") as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    written.append(path)

    for r, (name, feeder, arrays) in enumerate(zip(names, feeders, results)):
        if feeder.x is None or feeder.y is None or not np.isfinite(feeder.x).any():
            continue
        from matplotlib.collections import LineCollection

        fig, ax = plt.subplots(figsize=(7, 6.5), constrained_layout=True)
        child = feeder.lines
        x = feeder.x - feeder.x[feeder.source]
        y = feeder.y - feeder.y[feeder.source]
        segments = np.stack(
            [np.c_[x[feeder.parent[child]], y[feeder.parent[child]]], np.c_[x[child], y[child]]],
            axis=1,
        )
        ax.add_collection(LineCollection(list(segments), colors="0.6", linewidths=0.8))
        counts = limit_counts(feeder, arrays)
        n = max(arrays["hc_kw"].size, 1)
        for col, (label, colour) in enumerate(
            (("overvoltage", "tab:red"), ("line overload (line into bus)", "tab:blue"))
        ):
            hit = counts[:, col] > 0
            if hit.any():
                ax.scatter(
                    x[hit],
                    y[hit],
                    s=15 + 300 * counts[hit, col] / n,
                    c=colour,
                    alpha=0.6,
                    label=f"{label}: {int(hit.sum())} buses",
                )
        ax.scatter([0.0], [0.0], marker="s", c="k", s=50, label="source")
        ax.set_aspect("equal")
        ax.autoscale_view()
        hc = arrays["hc_kw"] / 1000.0
        ax.set_title(
            f"{name}: where the limit is hit (marker area ~ share of {n} realisations)\n"
            f"hosting capacity median {np.median(hc):.2f} MW, 5-95 % "
            f"{np.percentile(hc, 5):.2f}-{np.percentile(hc, 95):.2f} MW",
            fontsize=9,
        )
        ax.set_xlabel(f"east of the source [m] ({feeder.crs or 'local coordinates'})")
        ax.set_ylabel("north of the source [m]")
        ax.legend(fontsize=8, loc="best")
        path = folder / f"hosting_capacity_map_{r:03d}.png"
        with atomic_path(path, overwrite=overwrite, what="figure") as tmp:
            fig.savefig(tmp, dpi=110, format="png")
        plt.close(fig)
        written.append(path)
    return written
