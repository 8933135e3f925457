"""Run pandapower's three-phase power flow on every realisation of an ensemble.

Each realisation is switched in place (:func:`~pandapower_ext.populate.set_realisation`) and
solved with ``pandapower.runpp_3ph``; results are gathered into a
:class:`~pandapower_ext.results.PowerFlowResult` aligned with the feeder.

Speed (``python benchmarks/bench_pandapower.py -n 100``: IEEE European LV net, 907 buses, 100
realisations of the counting posterior, a 2-core machine at load average 1.3-1.7): pandapower's
defaults take 0.28 s per realisation without numba and 0.20 s with it; with the flat start and the
reuse of admittance matrices chosen here, 0.17 s without numba and **0.135 s with it** (median
0.128 s), after about 5 s of numba compilation on the first call in a process. So
``numba=True`` is the default. What remains is inside ``runpp_3ph``: about five outer
iterations per realisation, each rebuilding the positive-sequence admittance matrix and running
a sparse Newton-Raphson, plus pandas result tables; skipping the connectivity check or solving
several realisations as islands of one net (the latter is slower: pandapower multiplies with a
dense admittance matrix) did not help.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.sparse.linalg import MatrixRankWarning

from bayesgrid_plugins.engines import result_from_arrays
from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.errors import AdapterError
from bayesgrid_plugins.feeder import Feeder

from ._netmap import KIND_LINE, KIND_TRAFO, bus_labels, check_aligned, fed_branches
from .populate import ID_COLUMN, populate_loads, set_realisation
from .results import PowerFlowResult

__all__ = ["FLAT_START_MAX_SHIFT_DEGREE", "check_3ph_ready", "check_filled", "solve_ensemble"]

logger = logging.getLogger(__name__)

#: The default start is flat only when no transformer shifts the phase by more than this [deg].
FLAT_START_MAX_SHIFT_DEGREE = 60.0

_LINE_3PH = ("r0_ohm_per_km", "x0_ohm_per_km", "c0_nf_per_km")
_TRAFO_3PH = (
    "vector_group",
    "vk0_percent",
    "vkr0_percent",
    "mag0_percent",
    "mag0_rx",
    "si0_hv_partial",
)
_GRID_3PH = ("s_sc_max_mva", "rx_max", "x0x_max", "r0x0_max")
_BITS = np.array([1, 2, 4], dtype=np.uint8)


def _missing(frame: Any, columns: Sequence[str], table: str) -> list[str]:
    frame = frame[frame["in_service"].astype(bool)] if "in_service" in frame else frame
    problems = []
    for column in columns:
        if column not in frame.columns:
            problems.append(f"net.{table} has no column {column!r}")
            continue
        bad = frame[column].isna().to_numpy()
        if bad.any():
            rows = frame.index[bad][:10].tolist()
            names = frame["name"].to_numpy()[bad][:3].tolist() if "name" in frame else []
            problems.append(
                f"net.{table}.{column} is missing for {int(bad.sum())} rows, e.g. {rows} {names}"
            )
    return problems


def check_3ph_ready(net: Any) -> None:
    """Raise :class:`AdapterError` naming every element that lacks data ``runpp_3ph`` needs.

    ``runpp_3ph`` needs zero-sequence data on lines (``r0_ohm_per_km``, ``x0_ohm_per_km``,
    ``c0_nf_per_km``), on transformers (vector group and zero-sequence short-circuit and
    magnetising data) and short-circuit data on the external grid; pandapower itself reports a
    missing column as a bare ``KeyError``.

    Parameters
    ----------
    net : pandapowerNet
        The net to check; it is not modified.

    Examples
    --------
    >>> from pandapower_ext import check_3ph_ready, read_net
    >>> net = read_net("feeder.json")  # doctest: +SKIP
    >>> check_3ph_ready(net)  # raises AdapterError naming what is missing  # doctest: +SKIP
    """
    problems = []
    if len(net.line):
        problems += _missing(net.line, _LINE_3PH, "line")
    if len(net.trafo):
        problems += _missing(net.trafo, _TRAFO_3PH, "trafo")
    if len(net.ext_grid):
        problems += _missing(net.ext_grid, _GRID_3PH, "ext_grid")
    else:
        problems.append("net has no external grid")
    if problems:
        raise AdapterError(
            "the net lacks data that pandapower.runpp_3ph needs:\n  "
            + "\n  ".join(problems)
            + "\nAdd them (pandapower.add_zero_impedance_parameters for standard types, or build "
            "the net with pandapower_ext.populate_net, which sets documented defaults)."
        )


#: pandapower's recycle options: reuse the sequence admittance matrices and internal tables,
#: refresh the bus powers. Used only while nothing but the load powers changes.
_RECYCLE = {"bus_pq": True, "gen": False, "Ybus": True}


def _run(
    pp: Any,
    net: Any,
    numba: bool,
    init: str,
    max_iteration: int | str,
    tolerance_mva: float,
    recycle: dict[str, bool] | None,
    realisation: int,
) -> None:
    try:
        with warnings.catch_warnings():
            # A diverging solve warns of singular matrices and NaN divisions on its way to
            # non-finite voltages; those are caught below and reported as not converged.
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", MatrixRankWarning)
            pp.runpp_3ph(
                net,
                numba=numba,
                init=init,
                max_iteration=max_iteration,
                tolerance_mva=tolerance_mva,
                recycle=recycle,
            )
    except (KeyError, ValueError, IndexError, TypeError, np.linalg.LinAlgError) as exc:
        raise AdapterError(
            f"pandapower.runpp_3ph failed on realisation {realisation} with {exc!r}; check the "
            "elements named in the error "
            "(check_3ph_ready(net) lists missing three-phase data)."
        ) from exc


def _default_init(net: Any) -> str:
    trafo = net.trafo
    if len(trafo) and "shift_degree" in trafo.columns:
        live = trafo[trafo["in_service"].astype(bool)]
        shift = (live["shift_degree"].to_numpy(dtype=float) + 180.0) % 360.0 - 180.0
        if np.abs(shift).max(initial=0.0) > FLAT_START_MAX_SHIFT_DEGREE:
            return "dc"
    return "flat"


def solve_ensemble(
    net: Any,
    feeder: Feeder,
    ensemble: Ensemble,
    *,
    realisations: Sequence[int] | np.ndarray | None = None,
    numba: bool = True,
    init: str | None = None,
    reuse: bool = True,
    max_iteration: int | str = "auto",
    tolerance_mva: float = 1e-8,
    raise_on_failure: bool = False,
) -> PowerFlowResult:
    """Solve realisations of ``ensemble`` with ``pandapower.runpp_3ph``.

    The net is switched in place to each realisation in turn (loads, and line data when the
    ensemble carries them) and is left holding the last one solved.

    Parameters
    ----------
    net : pandapowerNet
        A net filled from ``ensemble`` by :func:`~pandapower_ext.populate.populate_net` or
        :func:`~pandapower_ext.populate.populate_loads`.
    feeder : Feeder
        The feeder the ensemble was sampled on; results are aligned with its buses.
    ensemble : Ensemble
        The realisations.
    realisations : sequence of int, optional
        Which realisations to solve (default all, in order).
    numba : bool, default True
        Passed to ``runpp_3ph``: about a fifth faster per realisation on a 907-bus net, after
        about 5 s of compilation on the first call in a process (see the module docstring); pass
        False for a few quick solves.
    init : str, optional
        Start of ``runpp_3ph`` (``"flat"``, ``"dc"``, ...). Default: ``"flat"`` (it saves the
        DC power flow that pandapower's ``"auto"`` runs in every outer iteration) unless a
        transformer shifts the phase by more than :data:`FLAT_START_MAX_SHIFT_DEGREE` (a flat
        start does not converge behind a Dyn5 transformer), then ``"dc"``. A realisation that
        does not converge from a flat start is tried once more from a DC start, and the DC start
        is kept for the remaining realisations.
    reuse : bool, default True
        Let ``runpp_3ph`` reuse its admittance matrices from the previous realisation
        (``recycle``) whenever only the load powers changed in between (results agree to
        1e-9 p.u.; about a third faster).
    max_iteration, tolerance_mva
        Passed to ``runpp_3ph``.
    raise_on_failure : bool, default False
        Raise :class:`AdapterError` on the first realisation that does not converge, instead of
        recording it as not converged (NaN results).

    Returns
    -------
    PowerFlowResult

    Raises
    ------
    AdapterError
        If the net lacks three-phase data (naming the elements), if pandapower fails for another
        reason than non-convergence (naming the realisation), or on non-convergence when
        ``raise_on_failure`` is set.

    Examples
    --------
    >>> from pandapower_ext import build_net, solve_ensemble
    >>> net = build_net(feeder, ensemble)  # doctest: +SKIP
    >>> result = solve_ensemble(net, feeder, ensemble, realisations=range(10))  # doctest: +SKIP
    >>> result.vm_min_pu  # lowest voltage per realisation and phase [p.u.]  # doctest: +SKIP
    """
    import pandapower as pp

    check_aligned(feeder, ensemble)
    check_filled(net, feeder, ensemble)
    check_3ph_ready(net)
    if realisations is None:
        chosen = np.arange(ensemble.n_realisations)
    else:
        chosen = np.asarray(realisations, dtype=np.int64).ravel()
        bad = (chosen < 0) | (chosen >= ensemble.n_realisations)
        if bad.any():
            raise IndexError(
                f"realisations {chosen[bad][:10].tolist()} are out of range for an ensemble of "
                f"{ensemble.n_realisations}."
            )
    use_numba = bool(numba)
    start_from = _default_init(net) if init is None else init
    labels = bus_labels(net, feeder)
    kind, element = fed_branches(net, feeder, labels)

    n, b = chosen.size, feeder.n_buses
    vm = np.full((n, b, 3), np.nan)
    va = np.full((n, b, 3), np.nan)
    loading = np.full((n, b), np.nan)
    converged = np.zeros(n, dtype=bool)
    elapsed = np.zeros(n)
    is_line = kind == KIND_LINE
    is_trafo = kind == KIND_TRAFO
    vm_cols = ["vm_a_pu", "vm_b_pu", "vm_c_pu"]
    va_cols = ["va_a_degree", "va_b_degree", "va_c_degree"]
    bus_rows = line_rows = trafo_rows = None

    recycle_ok = False  # pandapower's cached matrices are valid for the next solve
    for row, k in enumerate(chosen):
        start = time.perf_counter()
        changed = set_realisation(net, ensemble, int(k))
        recycle = _RECYCLE if (reuse and recycle_ok and not changed) else None
        recycle_ok = False  # until this realisation has solved with finite voltages
        exc, start_from = solve_with_retries(
            pp,
            net,
            int(k),
            labels,
            ensemble.bus_phases[int(k)],
            numba=use_numba,
            init=start_from,
            max_iteration=max_iteration,
            tolerance_mva=tolerance_mva,
            recycle=recycle,
        )
        if exc is not None:
            elapsed[row] = time.perf_counter() - start
            net.converged = False
            if raise_on_failure:
                raise AdapterError(
                    f"pandapower.runpp_3ph did not converge for realisation {int(k)}: {exc}"
                ) from exc
            logger.warning("realisation %d did not converge (%s)", int(k), exc)
            continue
        recycle_ok = True
        if bus_rows is None:
            bus_rows = net.res_bus_3ph.index.get_indexer(labels)
            line_rows = net.res_line_3ph.index.get_indexer(element[is_line])
            trafo_rows = net.res_trafo_3ph.index.get_indexer(element[is_trafo])
        res = net.res_bus_3ph
        vm[row] = res[vm_cols].to_numpy(dtype=float)[bus_rows]
        va[row] = res[va_cols].to_numpy(dtype=float)[bus_rows]
        if is_line.any():
            loading[row, is_line] = net.res_line_3ph["loading_percent"].to_numpy(float)[line_rows]
        if is_trafo.any():
            loading[row, is_trafo] = net.res_trafo_3ph["loading_percent"].to_numpy(float)[
                trafo_rows
            ]
        converged[row] = bool(net.converged)
        elapsed[row] = time.perf_counter() - start

    logger.debug(
        "solved %d realisations (%d converged) in %.3f s, numba=%s",
        n,
        int(converged.sum()),
        float(elapsed.sum()),
        use_numba,
    )
    # Counted as converged only with every voltage finite (the core's one rule).
    return result_from_arrays(
        feeder,
        ensemble,
        chosen,
        vm * np.exp(1j * np.deg2rad(va)),
        converged,
        loading,
        engine="pandapower",
        elapsed_s=elapsed,
        metadata={
            "numba": use_numba,
            "init": start_from,
            "reuse": reuse,
            "tolerance_mva": tolerance_mva,
        },
    )


def solve_with_retries(
    pp: Any,
    net: Any,
    k: int,
    labels: np.ndarray,
    masks: np.ndarray,
    *,
    numba: bool,
    init: str,
    max_iteration: int | str,
    tolerance_mva: float,
    recycle: dict[str, bool] | None,
) -> tuple[Exception | None, str]:
    """Run ``runpp_3ph`` on realisation ``k`` until it converges with finite voltages.

    A failure (no convergence, or convergence with a non-finite voltage of a phase that exists)
    is retried once from scratch when pandapower's cached matrices were reused, then once from
    a DC start when the start was flat.

    Returns
    -------
    (Exception or None, str)
        Why the realisation failed (None when it solved), and the start to use from now on
        (``"dc"`` once a flat start has failed).
    """
    from pandapower.powerflow import LoadflowNotConverged

    exc: Exception | None = None
    for _attempt in range(3):
        try:
            _run(pp, net, numba, init, max_iteration, tolerance_mva, recycle, k)
            exc = None
        except LoadflowNotConverged as failure:
            exc = failure
        if exc is None and _finite_voltages(net, labels, masks):
            break
        if exc is None:
            exc = LoadflowNotConverged("runpp_3ph reported convergence with non-finite voltages")
        if recycle is not None:
            recycle = None  # the cached matrices may be stale: solve from scratch once
        elif init != "dc":
            # a flat start can stall where a DC-initialised one converges: retry once
            init = "dc"
            logger.info("flat start failed on realisation %d; using a DC start", k)
        else:
            break
    return exc, init


def _finite_voltages(net: Any, labels: np.ndarray, masks: np.ndarray) -> bool:
    """True when every phase voltage of the feeder's buses that exists is finite and positive."""
    res = net.res_bus_3ph
    if not len(res):
        return False
    rows = res.index.get_indexer(labels)
    vm = res[["vm_a_pu", "vm_b_pu", "vm_c_pu"]].to_numpy(dtype=float)[rows]
    present = (np.asarray(masks, dtype=np.uint8)[:, None] & _BITS) != 0
    live = np.where(present, vm, 1.0)
    return bool((np.isfinite(live) & (live > 0)).all())


def check_filled(net: Any, feeder: Feeder, ensemble: Ensemble) -> None:
    """Fill ``net`` from ``ensemble`` when it holds only its own loads; refuse another's.

    A net none of whose loads is tagged with our bus ids (never filled) is filled in place by
    :func:`~pandapower_ext.populate.populate_loads`, which replaces its own loads. A net whose
    tagged loads miss buses where ``ensemble`` has loads, or that still holds untagged loads in
    service, was filled from something else: solving it would silently solve other loads, so
    it is refused.

    Raises
    ------
    AdapterError
        Naming what does not match and what to do.
    """
    loads = net.asymmetric_load
    tagged: set[str] = set()
    if ID_COLUMN in loads.columns and len(loads):
        tagged = {str(b) for b in loads[ID_COLUMN].dropna().tolist()}
    if not tagged:
        logger.warning(
            "the net was not filled from this ensemble (no load carries %r); replacing its "
            "loads by the ensemble's (populate_loads)",
            ID_COLUMN,
        )
        populate_loads(net, feeder, ensemble)
        return
    wanted = {str(b) for b in np.asarray(ensemble.bus_id)[ensemble.has_load.any(axis=0)]}
    missing = sorted(wanted - tagged)
    if missing:
        raise AdapterError(
            f"the net was filled from another ensemble: {len(missing)} buses (e.g. "
            f"{missing[:5]}) carry loads in this ensemble but none in the net. Fill it from this "
            "ensemble first: pandapower_ext.populate_loads(net, feeder, ensemble)."
        )
    own = 0
    if len(net.load):
        own += int(net.load["in_service"].astype(bool).sum())
    if ID_COLUMN in loads.columns:
        own += int((loads[ID_COLUMN].isna() & loads["in_service"].astype(bool)).sum())
    if own:
        raise AdapterError(
            f"the net holds {own} loads in service that are not the ensemble's and would be "
            "solved with it; fill it with pandapower_ext.populate_loads(net, feeder, ensemble), "
            "which replaces them."
        )
