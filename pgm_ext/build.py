"""power-grid-model input arrays built straight from a feeder and an ensemble.

Every array is a NumPy structured array of power-grid-model (``initialize_array``), filled with
vectorised assignments: no per-element Python loop, no pandapower net in between.

Modelling (the same physics as the other engines under defaults)
----------------------------------------------------------------
* Ids: bus ``i`` is node ``i``; the branch (line or transformer) into bus ``i`` has id
  ``n_buses + i``; the source ``2 n_buses``; the load at bus ``i`` ``2 n_buses + 1 + i``. Names
  are the feeder's bus ids (``feeder.bus_id[i]``), as in the other engines.
* Source: the core's :data:`~bayesgrid_plugins.equipment.DEFAULT_SOURCE_MODEL` (voltage and
  short-circuit power, stiff by default), as OpenDSS and pandapower build it.
* Lines: power-grid-model's sequence-model lines with the real Z1, Z0, C1, C0 of each line,
  sampled (``ensemble.r1_ohm_per_km``...) or the default conductor of the voltage level
  (:mod:`bayesgrid_plugins.equipment`); one- and two-phase laterals are three-phase lines with
  the lateral's real Z1 and Z0, which on the phases that exist has the self and mutual
  impedances of the phase-accurate line (``Zs = (2 Z1 + Z0) / 3``, ``Zm = (Z0 - Z1) / 3``).
  The rated current ``i_n`` is ``max_i_ka``. Partial-phase laterals have no capacitance
  (:mod:`bayesgrid_plugins.charging`: their absent conductors would otherwise draw charging
  current that a phase-accurate line has not).
* Transformers where the nominal voltage changes along a branch: the core's
  :data:`~bayesgrid_plugins.equipment.DEFAULT_TRAFO` (Dyn5, rating from the peak load below),
  as pandapower builds it; its no-load losses and magnetising current are a ``shunt`` at the
  high-voltage node (id ``4 n_buses + 2 + i`` for the transformer into bus ``i``), as in every
  engine (:mod:`bayesgrid_plugins.no_load`).
* Loads: one ``asym_load`` (constant power, wye) per bus that any realisation loads, with the
  per-phase P and Q of the realisation (W, var).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from power_grid_model import (
    ComponentAttributeFilterOptions,
    ComponentType,
    DatasetType,
    initialize_array,
)
from power_grid_model.enum import LoadGenType, WindingType

from bayesgrid_plugins.charging import lateral_capacitance
from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.equipment import (
    DEFAULT_LV_LINE,
    DEFAULT_MV_LINE,
    DEFAULT_SOURCE_MODEL,
    DEFAULT_TRAFO,
    LV_MAX_KV,
    LineParameters,
    SourceModel,
    TrafoParameters,
    branch_trafo_ratings_mva,
)
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.no_load import no_load_shunt

__all__ = [
    "LINE_FIELDS",
    "ModelLayout",
    "OutputFilter",
    "build_input",
    "fill_lines",
    "fill_transformer_series",
    "layout_of",
    "line_arrays",
    "load_arrays",
]

#: Ensemble fields of line data, in the order :func:`line_arrays` returns them.
LINE_FIELDS = (
    "r1_ohm_per_km",
    "x1_ohm_per_km",
    "c1_nf_per_km",
    "r0_ohm_per_km",
    "x0_ohm_per_km",
    "c0_nf_per_km",
    "max_i_ka",
)

#: The attributes power-grid-model returns per component (``output_component_types``).
OutputFilter = dict[ComponentType, set[str] | list[str] | ComponentAttributeFilterOptions | None]

_WINDINGS = {"D": WindingType.delta, "Y": WindingType.wye, "YN": WindingType.wye_n}


@dataclass(frozen=True)
class ModelLayout:
    """Where each feeder element sits in the power-grid-model arrays.

    Attributes
    ----------
    n_buses : int
        Number of nodes (one per feeder bus, node id = bus index).
    line_bus : ndarray of int
        The bus each line feeds (line ``j`` is the branch into ``line_bus[j]``).
    trafo_bus : ndarray of int
        The bus each transformer feeds.
    load_bus : ndarray of int
        The bus of each ``asym_load``.
    source_id : int
        Id of the source.

    Examples
    --------
    >>> from pgm_ext import layout_of
    >>> layout = layout_of(feeder, ensemble)  # doctest: +SKIP
    >>> feeder.bus_id[layout.line_bus]  # the bus each line feeds  # doctest: +SKIP
    """

    n_buses: int
    line_bus: np.ndarray
    trafo_bus: np.ndarray
    load_bus: np.ndarray
    source_id: int

    @property
    def line_id(self) -> np.ndarray:
        """Ids of the lines."""
        return self.n_buses + self.line_bus

    @property
    def trafo_id(self) -> np.ndarray:
        """Ids of the transformers."""
        return self.n_buses + self.trafo_bus

    @property
    def load_id(self) -> np.ndarray:
        """Ids of the loads."""
        return 2 * self.n_buses + 1 + self.load_bus

    @property
    def shunt_id(self) -> np.ndarray:
        """Ids of the transformers' no-load shunts (one per transformer)."""
        return 4 * self.n_buses + 2 + self.trafo_bus


def layout_of(feeder: Feeder, ensemble: Ensemble) -> ModelLayout:
    """Place lines, transformers and loads: a transformer where the voltage level changes.

    Parameters
    ----------
    feeder : Feeder
        The topology; a branch between buses of different ``vn_kv`` [kV] is a transformer.
    ensemble : Ensemble
        Its realisations; a bus gets a load when any realisation loads it.

    Returns
    -------
    ModelLayout

    Examples
    --------
    >>> from pgm_ext import layout_of
    >>> layout_of(feeder, ensemble).load_id  # power-grid-model ids of the loads  # doctest: +SKIP
    """
    child = feeder.lines
    vn = feeder.vn_kv
    is_trafo = ~np.isclose(vn[child], vn[feeder.parent[child]])
    loaded = ensemble.has_load.any(axis=0) | ((ensemble.p_kw != 0) | (ensemble.q_kvar != 0)).any(
        axis=(0, 2)
    )
    loaded[feeder.source] = False
    return ModelLayout(
        n_buses=feeder.n_buses,
        line_bus=child[~is_trafo].astype(np.int64),
        trafo_bus=child[is_trafo].astype(np.int64),
        load_bus=np.flatnonzero(loaded).astype(np.int64),
        source_id=2 * feeder.n_buses,
    )


def line_arrays(
    feeder: Feeder,
    ensemble: Ensemble,
    realisations: np.ndarray,
    line_bus: np.ndarray,
    *,
    lv_line: LineParameters = DEFAULT_LV_LINE,
    mv_line: LineParameters = DEFAULT_MV_LINE,
) -> dict[str, np.ndarray]:
    """Per-km line data of ``realisations``, shape ``(len(realisations), len(line_bus))`` each.

    Sampled fields of the ensemble are used field by field where present, the default
    conductor of the bus's voltage level elsewhere. A line into a bus with fewer than three
    phases in a realisation has no capacitance there (:mod:`bayesgrid_plugins.charging`).

    Parameters
    ----------
    feeder, ensemble
        The topology and its realisations.
    realisations : ndarray of int
        Which realisations.
    line_bus : ndarray of int
        The buses whose incoming lines are wanted.
    lv_line, mv_line : LineParameters
        Default conductors at and below / above 1 kV.

    Returns
    -------
    dict of str to ndarray
        ``r1_ohm_per_km``, ``x1_ohm_per_km`` [ohm/km], ``c1_nf_per_km`` [nF/km], the same for
        the zero sequence, and ``max_i_ka`` [kA].

    Examples
    --------
    >>> import numpy as np
    >>> from pgm_ext import line_arrays
    >>> data = line_arrays(feeder, ensemble, np.arange(3), feeder.lines)  # doctest: +SKIP
    >>> data["r0_ohm_per_km"].shape  # doctest: +SKIP
    (3, 2020)
    """
    rows = np.asarray(realisations, dtype=np.int64)
    lv = feeder.vn_kv[line_bus] <= LV_MAX_KV
    out = {}
    for name in LINE_FIELDS:
        sampled = getattr(ensemble, name)
        if sampled is not None:
            out[name] = np.asarray(sampled, dtype=float)[np.ix_(rows, line_bus)]
        else:
            default = np.where(lv, getattr(lv_line, name), getattr(mv_line, name)).astype(float)
            out[name] = np.broadcast_to(default, (rows.size, line_bus.size))
    phases = ensemble.bus_phases[np.ix_(rows, line_bus)]
    for name in ("c1_nf_per_km", "c0_nf_per_km"):
        out[name] = lateral_capacitance(out[name], phases)
    return out


def fill_lines(line: np.ndarray, length_km: np.ndarray, data: dict[str, np.ndarray]) -> None:
    """Write per-km ``data`` (one row of :func:`line_arrays`) times ``length_km`` into ``line``."""
    line["r1"] = data["r1_ohm_per_km"] * length_km
    line["x1"] = data["x1_ohm_per_km"] * length_km
    line["c1"] = data["c1_nf_per_km"] * length_km * 1e-9
    line["r0"] = data["r0_ohm_per_km"] * length_km
    line["x0"] = data["x0_ohm_per_km"] * length_km
    line["c0"] = data["c0_nf_per_km"] * length_km * 1e-9
    line["tan1"] = 0.0
    line["tan0"] = 0.0
    line["i_n"] = data["max_i_ka"] * 1000.0


def load_arrays(
    ensemble: Ensemble, realisations: np.ndarray, load_bus: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-phase P [W] and Q [var] of the loads, shape ``(len(realisations), n_loads, 3)``.

    Parameters
    ----------
    ensemble : Ensemble
        Holds P [kW] and Q [kvar] per bus and phase.
    realisations : ndarray of int
        Which realisations.
    load_bus : ndarray of int
        The buses that carry a load (``ModelLayout.load_bus``).

    Examples
    --------
    >>> import numpy as np
    >>> from pgm_ext import layout_of, load_arrays
    >>> buses = layout_of(feeder, ensemble).load_bus  # doctest: +SKIP
    >>> p_w, q_var = load_arrays(ensemble, np.arange(5), buses)  # doctest: +SKIP
    """
    rows = np.asarray(realisations, dtype=np.int64)
    p = np.asarray(ensemble.p_kw, dtype=float)[np.ix_(rows, load_bus)] * 1000.0
    q = np.asarray(ensemble.q_kvar, dtype=float)[np.ix_(rows, load_bus)] * 1000.0
    return p, q


def _vector_group(group: str) -> tuple[Any, Any, int]:
    text = group.strip()
    upper = "".join(ch for ch in text if ch.isupper())
    lower = text[len(upper) :]
    digits = "".join(ch for ch in lower if ch.isdigit())
    lower = lower[: len(lower) - len(digits)].upper()
    try:
        return _WINDINGS[upper], _WINDINGS[lower], int(digits) if digits else 0
    except KeyError:
        from bayesgrid_plugins.errors import ParameterError

        raise ParameterError(
            f"transformer vector group {group!r} is not understood; use e.g. 'Dyn5' or 'YNyn0'."
        ) from None


def build_input(
    feeder: Feeder,
    ensemble: Ensemble,
    layout: ModelLayout,
    realisation: int,
    *,
    source: SourceModel = DEFAULT_SOURCE_MODEL,
    lv_line: LineParameters = DEFAULT_LV_LINE,
    mv_line: LineParameters = DEFAULT_MV_LINE,
    trafo: TrafoParameters = DEFAULT_TRAFO,
) -> dict[ComponentType, np.ndarray]:
    """The input dataset of one realisation (nodes, lines, transformers, source, loads).

    Parameters
    ----------
    feeder, ensemble
        What to build.
    layout : ModelLayout
        From :func:`layout_of`.
    realisation : int
        Whose line data and loads to write.
    source, lv_line, mv_line, trafo
        Source model, default conductors at and below / above 1 kV, transformer data.

    Returns
    -------
    dict
        ``{ComponentType: structured array}``, ready for ``PowerGridModel``.

    Examples
    --------
    >>> from power_grid_model import PowerGridModel
    >>> from pgm_ext import build_input, layout_of
    >>> data = build_input(feeder, ensemble, layout_of(feeder, ensemble), 0)  # doctest: +SKIP
    >>> PowerGridModel(data).calculate_power_flow(symmetric=False)  # doctest: +SKIP
    """
    n = feeder.n_buses
    k = np.asarray([realisation])
    node = initialize_array(DatasetType.input, ComponentType.node, n)
    node["id"] = np.arange(n)
    node["u_rated"] = feeder.vn_kv * 1000.0

    line = initialize_array(DatasetType.input, ComponentType.line, layout.line_bus.size)
    line["id"] = layout.line_id
    line["from_node"] = feeder.parent[layout.line_bus]
    line["to_node"] = layout.line_bus
    line["from_status"] = 1
    line["to_status"] = 1
    data = line_arrays(feeder, ensemble, k, layout.line_bus, lv_line=lv_line, mv_line=mv_line)
    fill_lines(line, feeder.length_km[layout.line_bus], {f: v[0] for f, v in data.items()})

    src = source_array(
        int(feeder.source),
        layout.source_id,
        source,
        source.vm_pu if ensemble.source_vm_pu is None else ensemble.source_vm_pu[realisation],
    )

    load = initialize_array(DatasetType.input, ComponentType.asym_load, layout.load_bus.size)
    load["id"] = layout.load_id
    load["node"] = layout.load_bus
    load["status"] = 1
    load["type"] = LoadGenType.const_power
    p, q = load_arrays(ensemble, k, layout.load_bus)
    load["p_specified"] = p[0]
    load["q_specified"] = q[0]

    dataset = {
        ComponentType.node: node,
        ComponentType.line: line,
        ComponentType.source: src,
        ComponentType.asym_load: load,
    }
    if layout.trafo_bus.size:
        t = _transformers(feeder, ensemble, layout, trafo, realisation)
        dataset[ComponentType.transformer] = t
        dataset[ComponentType.shunt] = _no_load_shunts(layout, t, trafo)
    return dataset


def source_array(node: int, source_id: int, source: SourceModel, u_ref: float) -> np.ndarray:
    """The ``source`` array: ``source`` at ``node``, set to ``u_ref`` [p.u.]."""
    src = initialize_array(DatasetType.input, ComponentType.source, 1)
    src["id"] = source_id
    src["node"] = node
    src["status"] = 1
    src["u_ref"] = u_ref
    src["u_ref_angle"] = np.deg2rad(source.va_degree)
    src["sk"] = 1e20 if source.s_sc_mva is None else source.s_sc_mva * 1e6
    src["rx_ratio"] = source.rx
    # power-grid-model's z01_ratio is |Z0| / |Z1|.
    src["z01_ratio"] = source.x0x * np.hypot(1.0, source.r0x0) / np.hypot(1.0, source.rx)
    return src


def set_realisation_plan(
    dataset: Mapping[ComponentType, np.ndarray],
    feeder: Feeder,
    ensemble: Ensemble,
    layout: ModelLayout,
    realisation: int,
    *,
    source: SourceModel = DEFAULT_SOURCE_MODEL,
    trafo: TrafoParameters = DEFAULT_TRAFO,
) -> None:
    """Write a realisation's planned substation tap and transformer ratings into ``dataset``.

    power-grid-model cannot update a transformer's rating in a batch, so a realisation whose
    plan differs needs its own model: the engine groups realisations by line data and plan.
    """
    dataset[ComponentType.source]["u_ref"] = (
        source.vm_pu if ensemble.source_vm_pu is None else ensemble.source_vm_pu[realisation]
    )
    if layout.trafo_bus.size and ensemble.trafo_sn_mva is not None:
        fresh = _transformers(feeder, ensemble, layout, trafo, realisation)
        for name in ("sn", "pk"):
            dataset[ComponentType.transformer][name] = fresh[name]
        shunt = dataset[ComponentType.shunt]
        fresh_shunt = _no_load_shunts(layout, fresh, trafo)
        for name in ("g1", "b1", "g0", "b0"):
            shunt[name] = fresh_shunt[name]


def _transformers(
    feeder: Feeder,
    ensemble: Ensemble,
    layout: ModelLayout,
    trafo: TrafoParameters,
    realisation: int | None = None,
) -> np.ndarray:
    """Transformers into ``layout.trafo_bus``, high-voltage side on the higher nominal voltage."""
    child = layout.trafo_bus
    parent = feeder.parent[child]
    vn = feeder.vn_kv
    hv_is_parent = vn[parent] >= vn[child]
    hv = np.where(hv_is_parent, parent, child)
    lv = np.where(hv_is_parent, child, parent)
    sn = branch_trafo_ratings_mva(feeder, ensemble, child, trafo, realisation) * 1e6
    w_from, w_to, clock = _vector_group(trafo.vector_group)
    if trafo.vector_group.strip().lower() == "dyn":  # pandapower's "Dyn" with its shift
        clock = round(trafo.shift_degree / 30.0) % 12
    t = initialize_array(DatasetType.input, ComponentType.transformer, child.size)
    fill_transformer_series(
        t,
        ids=layout.trafo_id,
        hv=hv,
        lv=lv,
        vn_hv_kv=vn[hv],
        vn_lv_kv=vn[lv],
        sn_va=sn,
        vk=trafo.vk_percent / 100.0,
        vkr=trafo.vkr_percent / 100.0,
    )
    # Zero-sequence magnetising branch as pandapower's mag0_percent / mag0_rx give it.
    zk0 = trafo.vk0_percent / 100.0
    zm0 = zk0 * trafo.mag0_percent / 100.0
    rm0 = zm0 * trafo.mag0_rx / np.hypot(1.0, trafo.mag0_rx)
    t["i0_zero_sequence"] = 1.0 / zm0
    t["p0_zero_sequence"] = rm0 / zm0**2 * sn
    t["winding_from"] = w_from
    t["winding_to"] = w_to
    t["clock"] = clock
    return t


def fill_transformer_series(
    t: np.ndarray,
    *,
    ids: Any,
    hv: Any,
    lv: Any,
    vn_hv_kv: Any,
    vn_lv_kv: Any,
    sn_va: Any,
    vk: Any,
    vkr: Any,
) -> None:
    """Ids, nodes, ratings, short-circuit data and a neutral +-2 x 2.5 % HV tap of transformers.

    The no-load data (``i0``, ``p0``) are zero: every engine puts them in a shunt at the
    high-voltage bus (:mod:`bayesgrid_plugins.no_load`). Vector group and zero-sequence data are
    left to the caller.

    Parameters
    ----------
    t : ndarray
        power-grid-model transformer input array, filled in place.
    ids, hv, lv : array_like of int
        Element ids and the high- and low-voltage node ids.
    vn_hv_kv, vn_lv_kv : array_like of float
        Rated voltages [kV].
    sn_va : array_like of float
        Ratings [VA].
    vk, vkr : array_like of float
        Short-circuit voltage and its resistive part [p.u.].
    """
    t["id"] = ids
    t["from_node"] = hv
    t["to_node"] = lv
    t["from_status"] = 1
    t["to_status"] = 1
    t["u1"] = np.asarray(vn_hv_kv, dtype=float) * 1000.0
    t["u2"] = np.asarray(vn_lv_kv, dtype=float) * 1000.0
    t["sn"] = sn_va
    t["uk"] = vk
    t["pk"] = np.asarray(vkr, dtype=float) * np.asarray(sn_va, dtype=float)
    t["i0"] = 0.0
    t["p0"] = 0.0
    t["tap_side"] = 0
    t["tap_pos"] = 0
    t["tap_min"] = -2
    t["tap_max"] = 2
    t["tap_nom"] = 0
    t["tap_size"] = 0.025 * np.asarray(vn_hv_kv, dtype=float) * 1000.0


def _no_load_shunts(layout: ModelLayout, t: np.ndarray, trafo: TrafoParameters) -> np.ndarray:
    """Each transformer's no-load branch as a shunt at its high-voltage node.

    Constant admittance drawing ``trafo.pfe_kw`` and the magnetising power at rated voltage, in
    every sequence (as pandapower's shunt), the transformer itself having no no-load data.
    """
    p_mw, q_mvar = no_load_shunt(trafo.pfe_kw, trafo.i0_percent, t["sn"] / 1e6)
    u2 = t["u1"] ** 2  # [V^2] rated voltage of the high-voltage side
    shunt = initialize_array(DatasetType.input, ComponentType.shunt, t.size)
    shunt["id"] = layout.shunt_id
    shunt["node"] = t["from_node"]
    shunt["status"] = 1
    shunt["g1"] = p_mw * 1e6 / u2
    shunt["b1"] = -q_mvar * 1e6 / u2
    shunt["g0"] = shunt["g1"]
    shunt["b0"] = shunt["b1"]
    return shunt
