"""The entry point: :func:`area_from_osm` turns an OSM area into substations, feeders and a grid."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..demand import level_multipliers, place_demand
from ..ensemble import PLAN_FIELDS, Ensemble
from ..errors import FeederValidationError, ParameterError
from ..feeder import DEFAULT_N_ZONES
from ..phases import PHASE_ABC
from ..reprs import compact_repr
from ..topology.build import DEFAULT_POINT, OSM_ATTRIBUTION, default_extract
from ..topology.geo import Region, _check_point, haversine_m
from ..topology.osm import read_osm_file
from ..topology.radial import (
    DEFAULT_MAX_SPAN_M,
    DEFAULT_MEAN_DEMAND_KW,
    SpanGraph,
    build_radial,
    nearest_junction,
)
from ..topology.streets import StreetNetwork
from .equipment import HV_MV_TRAFOS, TrafoType, choose_trafo
from .partition import (
    DEFAULT_LV_KV,
    DEFAULT_LV_MAX_KW,
    DEFAULT_LV_MAX_M,
    DEFAULT_MAX_FEEDER_KM,
    DEFAULT_MAX_FEEDER_KW,
    DEFAULT_MV_KV,
    DEFAULT_OWN_SITE_KW,
    AreaFeeder,
    Partition,
    build_feeders,
    partition_streets,
)
from .placement import (
    DEFAULT_KM2_PER_SUBSTATION,
    DEFAULT_MW_PER_SUBSTATION,
    Substation,
    place_by_rule,
)
from .power_osm import PowerFeatures, read_power
from .transmission import (
    DEFAULT_ATTACH_M,
    DEFAULT_HV_KV,
    DEFAULT_MIN_KV,
    Transmission,
    build_transmission,
)

__all__ = [
    "DEFAULT_AREA_ENGINE",
    "DEFAULT_EXCLUDED_KINDS",
    "DEFAULT_SNAP_M",
    "Area",
    "AreaEnsemble",
    "area_from_osm",
    "sample_area",
]

logger = logging.getLogger(__name__)

#: ``substation=*`` values not used as distribution substations: transmission-only switching
#: stations (they stay in the transmission layer) and street cabinets (low voltage).
DEFAULT_EXCLUDED_KINDS = frozenset({"transmission", "minor_distribution"})
#: Design demand [kW] above which an LV bus's load is three-phase: VDE-AR-N 4100 (2019, the
#: German LV connection rules) allows at most 4.6 kVA of single-phase load per connection, which
#: is 4.37 kW at power factor 0.95; a street bus above it carries three-phase customers (or
#: several customers whose single-phase loads are spread over the phases).
SINGLE_PHASE_MAX_KW = 4.6 * 0.95
#: A substation farther than this [m] from every street junction is not used.
DEFAULT_SNAP_M = 500.0
#: The registered engine that solves the feeders of the area's voltage step by default (the
#: default engine of ``bayesgrid generate`` too: the fastest of the three, agreeing with the
#: others to 1e-6 p.u. on an area, ``tests/test_area_engines.py``).
DEFAULT_AREA_ENGINE = "power-grid-model"


@dataclass(frozen=True, eq=False)
class Area:
    """Substations, feeders and transmission of an OSM area.

    Attributes
    ----------
    substations : list of Substation
        The distribution substations.
    placement : str
        ``"osm"``, ``"user"`` or ``"placed by rule: ..."`` (how the substations were found).
    feeders : list of AreaFeeder
        The MV feeders with their LV networks (each a radial ``Feeder``).
    transmission : Transmission
        The transmission layer and the HV bus of each substation.
    hv_mv : tuple of TrafoType
        The HV/MV transformer type of each substation.
    substation_demand_kw : ndarray of float
        Planning demand [kW] of each substation.
    partition : Partition
        Ownership of the span buses (substation, feeder, LV network).
    spans : SpanGraph
        The street buses and spans of the area.
    streets : StreetNetwork
        The street graph.
    x, y : ndarray of float
        Span bus positions [m] in ``crs``.
    crs : str
        Projected CRS of ``x``, ``y`` and of every feeder.
    power : PowerFeatures
        The power infrastructure read from the file.
    dropped : list of str
        OSM substations not used, with the reason.
    mv_kv, lv_kv : float
        MV and LV nominal voltages [kV].
    source : str
        The OSM file.
    attribution : str
        OpenStreetMap attribution.
    demand : PlaceDemand or None
        The place's design demand (level, country, source, uncertainty) the buses carry.
    """

    substations: list[Substation]
    placement: str
    feeders: list[AreaFeeder]
    transmission: Transmission
    hv_mv: tuple[TrafoType, ...]
    substation_demand_kw: np.ndarray
    partition: Partition
    spans: SpanGraph
    streets: StreetNetwork
    x: np.ndarray
    y: np.ndarray
    crs: str
    power: PowerFeatures
    dropped: list[str] = field(default_factory=list)
    mv_kv: float = DEFAULT_MV_KV
    lv_kv: float = DEFAULT_LV_KV
    source: str = ""
    region: Region | None = None
    attribution: str = OSM_ATTRIBUTION
    demand: Any = None

    def __repr__(self) -> str:
        return compact_repr(
            "Area",
            feeders=len(self.feeders),
            substations=len(self.substations),
            buses=int(sum(f.feeder.n_buses for f in self.feeders)),
            transmission_buses=int(self.transmission.n_buses),
            mv_kv=float(self.mv_kv),
            lv_kv=float(self.lv_kv),
            source=str(self.source),
        )

    @property
    def n_feeders(self) -> int:
        """Number of MV feeders."""
        return len(self.feeders)

    @property
    def n_street_buses(self) -> int:
        """Number of street (span) buses."""
        return self.spans.n_buses

    def counts(self) -> dict[str, int]:
        """Bus and element counts of the whole system."""
        n_mv = sum(int(f.mv_buses.size) - 1 for f in self.feeders) + len(self.substations)
        n_lv = sum(int((f.feeder.vn_kv <= self.lv_kv + 1e-9).sum()) for f in self.feeders)
        return {
            "substations": len(self.substations),
            "feeders": self.n_feeders,
            "street_buses": self.n_street_buses,
            "transmission_buses": self.transmission.n_buses,
            "mv_buses": n_mv,
            "lv_buses": n_lv,
            "mv_lv_transformers": sum(int(f.sites.size) for f in self.feeders),
            "loads": sum(int(f.feeder.load_buses.size) for f in self.feeders),
        }

    def summary(self) -> str:
        """A few lines: substations and how they were found, feeders, layers, transmission."""
        c = self.counts()
        names = ", ".join(f"{s.id}{f' ({s.name})' if s.name else ''}" for s in self.substations)
        lines = [
            f"{c['substations']} substations ({self.placement}): {names}",
            f"{c['feeders']} MV feeders ({self.mv_kv:g} kV) over {c['street_buses']} street "
            f"buses; {c['mv_buses']} MV buses, {c['lv_buses']} LV buses ({self.lv_kv:g} kV), "
            f"{c['mv_lv_transformers']} MV/LV transformers, {c['loads']} loads, "
            f"{self.substation_demand_kw.sum() / 1000:.1f} MW planning demand",
            self.transmission.summary(),
        ]
        lines += [f"note: {n}" for n in self.transmission.notes + self.dropped]
        return "\n".join(lines)


def _osm_substations(
    power: PowerFeatures,
    streets: StreetNetwork,
    spans: SpanGraph,
    excluded: frozenset[str],
    snap_m: float,
) -> tuple[list[Substation], list[str]]:
    subs: list[Substation] = []
    dropped: list[str] = []
    used: set[int] = set()
    for i, sid in enumerate(power.sub_id):
        kind = power.sub_kind[i]
        if kind in excluded:
            dropped.append(f"OSM substation {sid} (substation={kind}) is not a distribution one")
            continue
        point = (float(power.sub_lat[i]), float(power.sub_lon[i]))
        try:
            node = nearest_junction(streets, point, max_distance_m=snap_m)
        except FeederValidationError:
            dropped.append(f"OSM substation {sid} is farther than {snap_m:g} m from the streets")
            continue
        bus = int(np.flatnonzero(spans.junction == node)[0])
        if bus in used:
            dropped.append(f"OSM substation {sid} snaps to the junction of another one; merged")
            continue
        used.add(bus)
        snap = float(haversine_m(point[1], point[0], spans.lon[bus], spans.lat[bus]))
        subs.append(
            Substation(
                sid, power.sub_name[i], point[1], point[0], "osm", power.sub_kv[i], bus, snap
            )
        )
    return subs, dropped


def area_from_osm(
    path: str | os.PathLike[str] | None = None,
    *,
    point: tuple[float, float] | None = None,
    dist_m: float | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    substations: str | list[tuple[float, float]] = "osm",
    n_substations: int | None = None,
    km2_per_substation: float = DEFAULT_KM2_PER_SUBSTATION,
    mw_per_substation: float = DEFAULT_MW_PER_SUBSTATION,
    excluded_kinds: frozenset[str] = DEFAULT_EXCLUDED_KINDS,
    snap_m: float = DEFAULT_SNAP_M,
    max_feeder_kw: float = DEFAULT_MAX_FEEDER_KW,
    max_feeder_km: float = DEFAULT_MAX_FEEDER_KM,
    lv_max_kw: float = DEFAULT_LV_MAX_KW,
    lv_max_m: float = DEFAULT_LV_MAX_M,
    own_site_kw: float | None = DEFAULT_OWN_SITE_KW,
    mv_kv: float = DEFAULT_MV_KV,
    lv_kv: float = DEFAULT_LV_KV,
    hv_kv: float = DEFAULT_HV_KV,
    min_transmission_kv: float = DEFAULT_MIN_KV,
    attach_m: float = DEFAULT_ATTACH_M,
    max_span_m: float = DEFAULT_MAX_SPAN_M,
    mean_demand_kw: float = DEFAULT_MEAN_DEMAND_KW,
    buildings: bool = True,
    n_zones: int = DEFAULT_N_ZONES,
    seed: int = 0,
    demand_kw_per_customer: float | None = None,
    demand_total_kw: float | None = None,
    demand_cv: float | None = None,
) -> Area:
    """Build substations, MV feeders, LV networks and the transmission layer of an OSM area.

    Parameters
    ----------
    path : path-like, optional
        OSM file (``.osm``, ``.osm.bz2``, ``.osm.pbf``); default the shipped Monaco extract
        (and, without an area, 1.5 km around central Monaco).
    point, dist_m, bbox
        The area: a circle ``(lat, lon)`` [deg] + radius [m], or ``(west, south, east, north)``.
    substations : "osm", "rule" or list of (lat, lon)
        ``"osm"``: the area's ``power=substation`` objects (falling back to the placement rule
        when none is usable); ``"rule"``: always the placement rule; a list: these points.
    n_substations : int, optional
        Number of substations for the placement rule (default: from area and demand).
    km2_per_substation, mw_per_substation : float
        Densities of the placement rule (:mod:`~bayesgrid_plugins.area.placement`).
    excluded_kinds : set of str
        ``substation=*`` values not used as distribution substations.
    snap_m : float, default 500
        OSM substations farther than this [m] from every street junction are not used; user
        points farther than this are refused.
    max_feeder_kw, max_feeder_km : float
        Limits of one MV feeder: planning demand [kW] and street length [km].
    lv_max_kw, lv_max_m : float
        Limits of one LV network: planning demand [kW] and street distance [m] from its
        transformer.
    own_site_kw : float or None, default 145
        A street bus whose planning demand [kW] exceeds this gets its own MV/LV transformer
        (:data:`~bayesgrid_plugins.area.partition.DEFAULT_OWN_SITE_KW`); None: no such rule.
    mv_kv, lv_kv, hv_kv : float
        Medium and low voltage [kV]; voltage of untagged transmission lines and of a synthetic
        grid [kV].
    min_transmission_kv : float
        OSM lines below this voltage [kV] are not transmission.
    attach_m : float
        Distance [m] within which a line junction belongs to a substation.
    max_span_m, mean_demand_kw, buildings, n_zones
        As in :func:`~bayesgrid_plugins.topology.feeder_from_osm`.
    seed : int, default 0
        Seed of the placement rule's k-means start.
    demand_kw_per_customer, demand_total_kw, demand_cv : float, optional
        The demand level per customer [kW], the area's design peak [kW] and the level's
        coefficient of variation (:func:`~bayesgrid_plugins.demand.place_demand`); default:
        the country's level from the buildings (``mean_demand_kw`` is then unused).

    Returns
    -------
    Area

    Raises
    ------
    FileNotFoundError, OsmReadError, FeederValidationError, ParameterError
        As for :func:`~bayesgrid_plugins.topology.feeder_from_osm`; a user substation outside
        the streets is a ``FeederValidationError``.
    """
    if path is None and point is None and bbox is None:
        point, dist_m = DEFAULT_POINT, 1500.0 if dist_m is None else dist_m
    file = default_extract() if path is None else Path(path)
    region = Region.make(point=point, dist_m=dist_m, bbox=bbox)
    if not (isinstance(substations, str) and substations in ("osm", "rule")) and not isinstance(
        substations, (list, tuple)
    ):
        raise ParameterError(
            f"substations must be 'osm', 'rule' or a list of (lat, lon) points, got "
            f"{substations!r}."
        )
    raw, footprints = read_osm_file(file, region=region, buildings=buildings)
    streets = raw.simplify().largest_component()
    power = read_power(file, region=region)
    first = int(streets.junctions[0])
    base = build_radial(
        streets,
        first,
        max_span_m=max_span_m,
        vn_kv=mv_kv,
        n_zones=n_zones,
        buildings=footprints if buildings else None,
        mean_demand_kw=mean_demand_kw,
    )
    spans = base.spans
    feeder0 = base.feeder
    place = place_demand(
        feeder0,
        footprints if buildings else None,
        lon=spans.lon,
        lat=spans.lat,
        kw_per_customer=demand_kw_per_customer,
        total_kw=demand_total_kw,
        cv=demand_cv,
    )
    demand = place.p_kw.copy()
    is_load = np.asarray(feeder0.is_load).copy()
    # The first junction was the temporary source: give it the mean demand like the others.
    is_load[feeder0.source] = True
    demand[feeder0.source] = float(demand[feeder0.is_load].mean())

    dropped: list[str] = []
    subs: list[Substation] = []
    placement = "osm"
    if isinstance(substations, (list, tuple)):
        placement = "user"
        used: set[int] = set()
        for k, pt in enumerate(substations):
            lat, lon = _check_point(pt, f"substations[{k}]")
            node = nearest_junction(streets, (lat, lon), max_distance_m=snap_m)
            bus = int(np.flatnonzero(spans.junction == node)[0])
            if bus in used:
                raise ParameterError(
                    f"substations[{k}] = {pt!r} snaps to the same street junction as an earlier "
                    "point; give points at least one street block apart."
                )
            used.add(bus)
            snap = float(haversine_m(lon, lat, spans.lon[bus], spans.lat[bus]))
            subs.append(Substation(f"user{k}", f"user {k}", lon, lat, "user", (), bus, snap))
        if not subs:
            raise ParameterError("substations is an empty list; give at least one (lat, lon).")
    elif substations == "osm":
        subs, dropped = _osm_substations(power, streets, spans, frozenset(excluded_kinds), snap_m)
    if not subs:
        junction_buses = np.flatnonzero(spans.junction >= 0)
        chosen, placement = place_by_rule(
            np.asarray(feeder0.x),
            np.asarray(feeder0.y),
            demand,
            junction_buses,
            n=n_substations,
            km2_per_substation=km2_per_substation,
            mw_per_substation=mw_per_substation,
            seed=seed,
        )
        if substations == "osm":
            placement += " (the area has no usable OSM substation)"
        subs = [
            Substation(
                f"rule{k}",
                f"placed {k}",
                float(spans.lon[b]),
                float(spans.lat[b]),
                "rule",
                (),
                int(b),
                0.0,
            )
            for k, b in enumerate(chosen.tolist())
        ]
    sources = np.asarray([s.bus for s in subs], dtype=np.int64)
    is_load[sources] = False
    demand[sources] = 0.0
    part = partition_streets(
        spans.n_buses,
        spans.span_a,
        spans.span_b,
        spans.span_length_m,
        sources,
        demand,
        max_feeder_kw=max_feeder_kw,
        max_feeder_km=max_feeder_km,
        lv_max_kw=lv_max_kw,
        lv_max_m=lv_max_m,
        own_site_kw=own_site_kw,
    )
    feeders = build_feeders(
        part,
        spans.bus_id,
        np.asarray(feeder0.x),
        np.asarray(feeder0.y),
        feeder0.crs,
        is_load,
        demand,
        sources,
        mv_kv=mv_kv,
        lv_kv=lv_kv,
        n_zones=n_zones,
    )
    sub_demand = np.bincount(part.owner, weights=demand, minlength=len(subs))
    transmission = build_transmission(
        power, subs, sub_demand, default_kv=hv_kv, min_kv=min_transmission_kv, attach_m=attach_m
    )
    area = Area(
        substations=subs,
        placement=placement,
        feeders=feeders,
        transmission=transmission,
        hv_mv=tuple(choose_trafo(d, HV_MV_TRAFOS) for d in sub_demand),
        substation_demand_kw=sub_demand,
        partition=part,
        spans=spans,
        streets=streets,
        x=np.asarray(feeder0.x),
        y=np.asarray(feeder0.y),
        crs=str(feeder0.crs),
        power=power,
        dropped=dropped,
        mv_kv=float(mv_kv),
        lv_kv=float(lv_kv),
        source=str(file),
        region=region,
        demand=place,
    )
    logger.info("area: %s", area.summary())
    return area


@dataclass(frozen=True, eq=False)
class AreaEnsemble:
    """Realisations of every feeder of an area, aligned: realisation k of each belongs together.

    Attributes
    ----------
    ensembles : list of Ensemble
        One per feeder of the area, each with ``n`` realisations; MV buses are three-phase.
    seed : int or None
        The seed the per-feeder streams were spawned from.
    hv_mv_sn_mva : ndarray of float, shape (n, n_substations), optional
        Planned rating [MVA] of each substation's HV/MV transformer per realisation
        (:func:`~bayesgrid_plugins.area.planning.plan_area`); None: the area's types.
    plan : dict, optional
        The planning rules used (None: not planned).
    """

    ensembles: list[Ensemble]
    seed: int | None = None
    hv_mv_sn_mva: np.ndarray | None = None
    plan: dict[str, Any] | None = None

    def __repr__(self) -> str:
        n = len(self.ensembles[0]) if self.ensembles else 0
        return compact_repr(
            "AreaEnsemble",
            feeders=len(self.ensembles),
            n=n,
            buses=int(sum(e.n_buses for e in self.ensembles)),
            seed=self.seed,
            planned=self.plan is not None,
        )

    @property
    def n_realisations(self) -> int:
        """Number of realisations."""
        return self.ensembles[0].n_realisations if self.ensembles else 0

    def combined(self, area: Area) -> Ensemble:
        """One ensemble over every feeder's buses except the substation buses (ids unique).

        The ``source`` of the result is meaningless (0); adapters match rows by bus id.
        """
        cols = [
            np.flatnonzero(np.arange(f.feeder.n_buses) != f.feeder.source) for f in area.feeders
        ]

        def cat(name: str) -> Any:
            arrays = [getattr(e, name) for e in self.ensembles]
            if any(a is None for a in arrays):
                return None
            return np.concatenate([a[:, c] for a, c in zip(arrays, cols)], axis=1)

        first = self.ensembles[0]
        line_fields = (
            "r1_ohm_per_km",
            "x1_ohm_per_km",
            "r0_ohm_per_km",
            "x0_ohm_per_km",
            "c1_nf_per_km",
            "c0_nf_per_km",
            "max_i_ka",
        )
        return Ensemble(
            bus_id=np.concatenate([e.bus_id[c] for e, c in zip(self.ensembles, cols)]),
            source=0,
            load_phases=cat("load_phases"),
            bus_phases=cat("bus_phases"),
            p_kw=cat("p_kw"),
            q_kvar=cat("q_kvar"),
            power_factor=first.power_factor,
            draw=first.draw,
            metadata={
                "area_feeders": len(self.ensembles),
                "seed": self.seed,
                **({"planning": self.plan} if self.plan is not None else {}),
                **(
                    {"hv_mv_sn_mva": np.asarray(self.hv_mv_sn_mva, dtype=float).tolist()}
                    if self.hv_mv_sn_mva is not None
                    else {}
                ),
            },
            **{name: cat(name) for name in line_fields + PLAN_FIELDS},
        )


def sample_area(
    area: Area,
    n: int,
    *,
    rng: int | None = None,
    power_model: Any = None,
    impedance_model: Any = None,
    sampler: str = "conditioned",
    plan: bool = True,
    engine: Any = DEFAULT_AREA_ENGINE,
) -> AreaEnsemble:
    """Sample ``n`` realisations of every feeder, aligned across feeders.

    Realisation k of every feeder uses the same posterior draw of the power model. Each feeder
    gets its own stream from ``numpy.random.SeedSequence(rng).spawn(...)``
    (so a feeder's realisations do not depend on how many feeders come before it in a run that
    samples them separately with the same seed and index). Loads go on LV buses; every MV bus is
    three-phase (MV/LV transformers are three-phase).

    Parameters
    ----------
    area : Area
        The area.
    n : int
        Realisations.
    rng : int, optional
        Seed (an integer, so that the streams can be spawned reproducibly).
    power_model : BayesianPowerModel, optional
        Default: the shipped model.
    impedance_model : BayesianImpedanceModel, optional
        When given, sampled impedances of the MV lines; LV lines then keep NaN and the adapters
        use their default LV cable there. Default: no sampled impedances (default line types).
    sampler : {"conditioned", "unconditioned"}, default "conditioned"
        ``"conditioned"``: phases and split of each bus's design demand, realisation k scaled
        by one level multiplier shared by every feeder (CV ``area.demand.cv``); buses above
        :data:`SINGLE_PHASE_MAX_KW` carry three-phase loads;
        ``"unconditioned"``: the power model's own P per load.
    plan : bool, default True
        Size every realisation's conductors and transformers for its own demand
        (:func:`~bayesgrid_plugins.area.planning.plan_area`, with ``impedance_model``'s conductor
        menu when given, its own stream); ``False`` keeps the area's fixed planning equipment.
    engine : Engine or str or None, default "power-grid-model"
        With ``plan``: the engine of the voltage step
        (:func:`~bayesgrid_plugins.area.planning.plan_area_voltages`), an engine object or a
        registered engine's name (``"power-grid-model"``, ``"pandapower"``, ``"opendss"``);
        None: no voltage step (conductors sized for current only).
    """
    from ..models.conditioned import sample_conditioned
    from ..models.power import BayesianPowerModel

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"n must be a positive integer number of realisations, got {n!r}.")
    if sampler not in ("conditioned", "unconditioned"):
        raise ParameterError(f"sampler must be 'conditioned' or 'unconditioned', got {sampler!r}.")
    model = power_model or BayesianPowerModel()
    draw_ss, *streams = np.random.SeedSequence(rng).spawn(len(area.feeders) + 1)
    # The plan's stream comes after the sampling streams, so planning changes no sampled value.
    plan_ss = np.random.SeedSequence(rng).spawn(len(area.feeders) + 2)[-1]
    # Realisation k of every feeder uses the same posterior draw and the same demand level.
    draw_rng = np.random.default_rng(draw_ss)
    draws = draw_rng.integers(model.parameters.n_draws, size=int(n))
    cv = 0.0 if area.demand is None else area.demand.cv
    level = level_multipliers(int(n), cv, draw_rng)
    out = []
    for f, stream in zip(area.feeders, streams):
        power_ss, z_ss = stream.spawn(2)
        if sampler == "conditioned" and np.asarray(f.feeder.demand_kw).sum() > 0:
            forced = np.zeros(f.feeder.n_buses, dtype=bool)
            forced[f.mv_buses] = True
            big = np.asarray(f.feeder.demand_kw, dtype=float) > SINGLE_PHASE_MAX_KW
            ens = sample_conditioned(
                f.feeder,
                f.feeder.demand_kw,
                None,
                int(n),
                model=model,
                rng=np.random.default_rng(power_ss),
                three_phase=forced,
                draws=draws,
                three_phase_loads=big & np.asarray(f.feeder.is_load, dtype=bool),
            )
            ens = ens.with_fields(
                p_kw=ens.p_kw * level[:, None, None], q_kvar=ens.q_kvar * level[:, None, None]
            )
        else:
            ens = model.sample(f.feeder, int(n), rng=np.random.default_rng(power_ss), draws=draws)
        phases = ens.bus_phases.copy()
        phases[:, f.mv_buses] = PHASE_ABC
        ens = ens.with_fields(bus_phases=phases)
        if impedance_model is not None:
            ens = impedance_model.sample(
                f.feeder, int(n), rng=np.random.default_rng(z_ss), ensemble=ens
            )
        out.append(ens)
    seed = int(rng) if isinstance(rng, (int, np.integer)) else None
    result = AreaEnsemble(out, seed)
    if plan:
        from .planning import plan_area

        result = plan_area(area, result, impedance_model, rng=plan_ss)
        if engine is not None:
            from .planning import plan_area_voltages

            result = plan_area_voltages(area, result, engine, impedance_model)
    return result
