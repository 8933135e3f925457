"""Design (peak) demand per bus from what a place shows, with a stated uncertainty.

The paper's model takes the topology and the aggregated demand per bus as input; for a place
nobody gave us data for, this module makes that demand from OpenStreetMap:

1. **Country.** The most common ``addr:country`` tag of the area's buildings; without tags, the
   smallest bounding box of ``data/demand_levels.csv`` that holds the feeder's substation; else
   the world row (with a logged note).
2. **Demand level.** The country's average household electricity use [kWh/yr] from public
   statistics (cited per row in the data file) turned into an after-diversity peak per customer
   with a load factor: ``kw_per_customer = kWh / 8760 h / RESIDENTIAL_LOAD_FACTOR``.
   Commercial floor area gets ``COMMERCIAL_KWH_PER_M2 / 8760 / COMMERCIAL_LOAD_FACTOR`` [kW/m2].
3. **Customers.** Each building is residential or commercial by its ``building=*`` value
   (untagged ``yes`` counts as residential). Floor area = footprint x ``building:levels``
   (:data:`DEFAULT_LEVELS` where untagged); a house is one customer, other residential
   buildings ``NET_FLOOR_RATIO x floor area / dwelling size`` customers (at least one);
   ancillary buildings (garages, sheds, roofs) and footprints under :data:`MIN_FOOTPRINT_M2`
   have none. Each building goes to the nearest load bus within ``max_distance_m``.
4. **Without buildings** every load bus gets ``CUSTOMERS_PER_M`` customers per metre of the line
   into it (logged).
5. **Uncertainty.** Realisation k scales every bus by one multiplier ``m_k ~ LogNormal`` with mean
   1 and coefficient of variation ``cv`` (stratified over the realisations, see
   :func:`level_multipliers`); the feeder total's CV across realisations is then ``cv``.
   The default is the spread of the mean demand per load among the five SMART-DS feeders
   (``data/posteriors/power_feeder_levels.csv``), capped at :data:`MAX_DEFAULT_CV`.

The user can override the level (``kw_per_customer``), the area's total peak (``total_kw``:
the buildings then only distribute it), or give a per-bus table (:func:`read_bus_demand`).
"""

from __future__ import annotations

import csv
import logging
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

import numpy as np

from .errors import FeederValidationError, ParameterError
from .feeder import Feeder

__all__ = [
    "COMMERCIAL_KINDS",
    "DEFAULT_LEVELS",
    "DemandLevel",
    "PlaceDemand",
    "default_level_cv",
    "demand_level",
    "detect_country",
    "level_multipliers",
    "place_demand",
    "read_bus_demand",
]

logger = logging.getLogger(__name__)

HOURS_PER_YEAR = 8760.0
#: Ratio of mean to after-diversity peak demand of a large group of households: the UK
#: average household (4,648 kWh/yr, ``demand_levels.csv``) over the after-diversity maximum
#: demand of 1.5 kW per domestic customer measured by the Customer-Led Network Revolution
#: (Northern Powergrid, ADMD report CLNR-L217, 2015): 4648 / 8760 / 1.5 = 0.35.
RESIDENTIAL_LOAD_FACTOR = 0.35
#: Electricity use of commercial floor space [kWh/m2/yr]: US commercial buildings, 14.6
#: kWh per square foot (EIA CBECS 2012, table C14). Used for every country (no other
#: country's figure is in our sources).
COMMERCIAL_KWH_PER_M2 = 157.0
#: Load factor of commercial buildings (an assumption: business-hours load, about 0.5).
COMMERCIAL_LOAD_FACTOR = 0.5
#: Storeys of a building without ``building:levels`` (an assumption).
DEFAULT_LEVELS = 2.0
#: Usable (net) floor area per gross floor area (footprint x levels); an assumption.
NET_FLOOR_RATIO = 0.8
#: Footprints smaller than this [m2] have no customer (kiosks, sheds mapped as ``yes``).
MIN_FOOTPRINT_M2 = 20.0
#: Customers per metre of street when the area has no building footprints (an assumption:
#: one customer per 20 m of line).
CUSTOMERS_PER_M = 0.05
#: Largest default coefficient of variation of the demand level.
MAX_DEFAULT_CV = 0.3
#: ``building=*`` values of commercial, public and industrial buildings.
COMMERCIAL_KINDS = frozenset(
    {
        "commercial", "retail", "office", "industrial", "warehouse", "supermarket", "hotel",
        "school", "university", "college", "kindergarten", "hospital", "public", "civic",
        "government", "church", "cathedral", "chapel", "mosque", "temple", "synagogue",
        "train_station", "transportation", "hangar", "sports_hall", "stadium", "museum",
        "fire_station", "kiosk", "manufacture", "bank", "service",
    }
)  # fmt: skip
#: ``building=*`` values of one-dwelling houses.
HOUSE_KINDS = frozenset(
    {"house", "detached", "semidetached_house", "bungalow", "farm", "cabin", "villa"}
)
#: ``building=*`` values without customers of their own.
ANCILLARY_KINDS = frozenset(
    {
        "garage", "garages", "shed", "roof", "carport", "hut", "barn", "stable", "cowshed",
        "greenhouse", "parking", "ruins", "construction", "toilets", "bunker", "tank",
        "silo", "transformer_tower", "storage_tank", "farm_auxiliary", "no",
    }
)  # fmt: skip

_LEVELS_FILE = "demand_levels.csv"
_FEEDER_LEVELS_FILE = "power_feeder_levels.csv"
_SMARTDS_ID = "power-smartds-nuts-v2"


def _data_path(*parts: str) -> Path:
    return Path(str(resources.files("bayesgrid_plugins").joinpath("data", *parts)))


@lru_cache(maxsize=1)
def _level_table() -> dict[str, dict[str, str]]:
    with open(_data_path(_LEVELS_FILE), newline="", encoding="utf-8") as handle:
        return {row["country"]: row for row in csv.DictReader(handle)}


@dataclass(frozen=True)
class DemandLevel:
    """The demand level of a country.

    Attributes
    ----------
    country : str
        ISO 3166-1 alpha-2 code (``"ZZ"``: the world fallback).
    name : str
        Country name.
    kw_per_customer : float
        After-diversity peak demand per residential customer [kW].
    commercial_kw_per_m2 : float
        Peak demand per m2 of commercial floor area [kW/m2].
    dwelling_m2 : float
        Average dwelling size [m2].
    household_kwh_per_year : float or None
        The annual household use the level comes from [kWh/yr] (None when set by the user).
    source : str
        Where the level comes from.
    """

    country: str
    name: str
    kw_per_customer: float
    commercial_kw_per_m2: float
    dwelling_m2: float
    household_kwh_per_year: float | None
    source: str


def demand_level(country: str, *, kw_per_customer: float | None = None) -> DemandLevel:
    """The demand level of ``country`` (ISO code) from the shipped table, or set by the user.

    Parameters
    ----------
    country : str
        ISO 3166-1 alpha-2 code; codes not in the table get the world row (logged).
    kw_per_customer : float, optional
        The user's after-diversity peak per customer [kW]; replaces the table's level.
    """
    table = _level_table()
    code = str(country).strip().upper()
    if code not in table:
        logger.warning(
            "no demand level for country %r in %s: using the world average", code, _LEVELS_FILE
        )
        code = "ZZ"
    row = table[code]
    kwh = float(row["household_kwh_per_year"])
    commercial = COMMERCIAL_KWH_PER_M2 / HOURS_PER_YEAR / COMMERCIAL_LOAD_FACTOR
    if kw_per_customer is not None:
        value = _positive("demand_kw_per_customer", kw_per_customer)
        return DemandLevel(
            code, row["name"], value, commercial, float(row["dwelling_m2"]), None,
            f"set by the user ({value:g} kW per customer)",
        )  # fmt: skip
    proxy = f" (level of {table[row['proxy_of']]['name']})" if row["proxy_of"] else ""
    source = (
        f"{kwh:,.0f} kWh per household and year ({row['household_year']}){proxy}: "
        f"{row['household_source']}; after-diversity peak = kWh / 8760 h / load factor "
        f"{RESIDENTIAL_LOAD_FACTOR}"
    )
    return DemandLevel(
        code,
        row["name"],
        kwh / HOURS_PER_YEAR / RESIDENTIAL_LOAD_FACTOR,
        commercial,
        float(row["dwelling_m2"]),
        kwh,
        source,
    )


def _positive(name: str, value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a positive number, got {value!r}.") from None
    if not (math.isfinite(out) and out > 0):
        raise ParameterError(f"{name}={value!r} must be positive and finite.")
    return out


def detect_country(
    tags: Any = None, *, lon: float | None = None, lat: float | None = None
) -> tuple[str, str]:
    """The country of an area, offline, and how it was found.

    Parameters
    ----------
    tags : sequence of str, optional
        ``addr:country`` values of the area's buildings (empty strings are ignored).
    lon, lat : float, optional
        A point of the area [deg] (the substation), for the bounding-box table.

    Returns
    -------
    (str, str)
        ISO code and a sentence saying how it was found.
    """
    codes = [str(t).strip().upper() for t in (tags if tags is not None else []) if str(t).strip()]
    if codes:
        code, count = Counter(codes).most_common(1)[0]
        return code, f"addr:country tags of the area's buildings ({count} of {len(codes)})"
    if lon is not None and lat is not None:
        best, best_area = None, math.inf
        for code, row in _level_table().items():
            if code == "ZZ":
                continue
            west, south, east, north = (float(row[k]) for k in ("west", "south", "east", "north"))
            if west <= lon <= east and south <= lat <= north:
                box = (east - west) * (north - south)
                if box < best_area:
                    best, best_area = code, box
        if best is not None:
            return best, f"bounding box in {_LEVELS_FILE} holding ({lat:.4f}, {lon:.4f})"
    logger.warning(
        "the country of the area is unknown (no addr:country tag, no bounding box of %s holds "
        "it): using the world average demand level; pass the level explicitly to be precise",
        _LEVELS_FILE,
    )
    return "ZZ", "unknown (no addr:country tag and outside every bounding box): world average"


@lru_cache(maxsize=1)
def default_level_cv() -> tuple[float, str]:
    """Default CV of the demand level and where it comes from.

    The spread of the mean demand per load among the five SMART-DS feeders (one data-generating
    method, one utility region each): ``cv = sqrt(exp(s^2) - 1)`` with ``s`` the sample standard
    deviation of the log means, capped at :data:`MAX_DEFAULT_CV`.
    """
    with open(_data_path("posteriors", _FEEDER_LEVELS_FILE), newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["posterior_id"] == _SMARTDS_ID]
    means = np.asarray([float(r["mean_p_kw_all"]) for r in rows])
    s = float(np.std(np.log(means), ddof=1))
    cv = math.sqrt(math.expm1(s * s))
    used = min(cv, MAX_DEFAULT_CV)
    return used, (
        f"spread of the mean demand per load among {means.size} SMART-DS feeders "
        f"({means.min():.1f}-{means.max():.1f} kW; log-sd {s:.3f}, CV {cv:.3f})"
        + (f", capped at {MAX_DEFAULT_CV}" if cv > MAX_DEFAULT_CV else "")
    )


def level_multipliers(n: int, cv: float, rng: Any = None) -> np.ndarray:
    """``n`` log-normal multipliers with mean 1 and coefficient of variation ``cv`` (0: ones).

    The draws are stratified: the k-th smallest is the log-normal quantile of a uniform draw
    inside ``[k/n, (k+1)/n)``, and their order is a random permutation. Each multiplier is
    still ``LogNormal`` distributed, but the ensemble's spread matches ``cv`` closely even for
    a few dozen realisations (plain independent draws scatter by about ``cv / sqrt(2 n)``).
    """
    if not (math.isfinite(cv) and cv >= 0):
        raise ParameterError(f"demand_cv must be a non-negative number, got {cv!r}.")
    n = int(n)
    if cv == 0:
        return np.ones(n)
    from scipy.special import ndtri

    gen = np.random.default_rng(rng)
    s = math.sqrt(math.log1p(cv * cv))
    u = (gen.permutation(n) + gen.random(n)) / n
    return np.exp(-s * s / 2 + s * ndtri(u))


@dataclass(frozen=True, eq=False)
class PlaceDemand:
    """Design peak demand per bus of a place, with where its level comes from.

    Attributes
    ----------
    p_kw : ndarray, shape (n_buses,)
        Design peak demand of each bus [kW] (0 where no load).
    customers : ndarray, shape (n_buses,)
        Residential customers of each bus (fractional where a building is shared out).
    commercial_m2 : ndarray, shape (n_buses,)
        Commercial floor area of each bus [m2].
    level : DemandLevel
        The demand level and its source.
    country_how : str
        How the country was found.
    method : str
        ``"buildings"``, ``"street length"`` or ``"per-bus file"``.
    cv : float
        Coefficient of variation of the level across realisations.
    cv_source : str
        Where ``cv`` comes from.
    notes : list of str
        Fallbacks and overrides, in words.
    """

    p_kw: np.ndarray
    customers: np.ndarray
    commercial_m2: np.ndarray
    level: DemandLevel
    country_how: str
    method: str
    cv: float
    cv_source: str
    notes: list[str] = field(default_factory=list)

    @property
    def total_kw(self) -> float:
        """Design peak of the whole feeder [kW] (sum of the buses)."""
        return float(self.p_kw.sum())

    def __repr__(self) -> str:
        return (
            f"PlaceDemand({self.total_kw:.0f} kW, {self.customers.sum():.0f} customers, "
            f"{self.level.kw_per_customer:.2f} kW/customer, {self.level.country}, "
            f"{self.method}, cv={self.cv:.2f})"
        )

    def summary(self) -> dict[str, Any]:
        """Plain data for the run summary."""
        lvl = self.level
        return {
            "country": lvl.country,
            "country_name": lvl.name,
            "country_found_by": self.country_how,
            "kw_per_customer": lvl.kw_per_customer,
            "commercial_w_per_m2": 1000.0 * lvl.commercial_kw_per_m2,
            "household_kwh_per_year": lvl.household_kwh_per_year,
            "source": lvl.source,
            "method": self.method,
            "customers": float(self.customers.sum()),
            "commercial_m2": float(self.commercial_m2.sum()),
            "design_total_kw": self.total_kw,
            "load_buses": int((self.p_kw > 0).sum()),
            "level_cv": self.cv,
            "level_cv_source": self.cv_source,
            "notes": list(self.notes),
        }


def _building_customers(buildings: Any, level: DemandLevel) -> tuple[np.ndarray, np.ndarray]:
    """Residential customers and commercial floor area [m2] of each building."""
    area = np.asarray(buildings.area_m2, dtype=float)
    n = area.size
    kind = np.full(n, "yes") if buildings.kind is None else np.asarray(buildings.kind, dtype=str)
    levels = np.full(n, np.nan) if buildings.levels is None else np.asarray(buildings.levels)
    levels = np.where(np.isfinite(levels) & (levels > 0), levels, DEFAULT_LEVELS)
    floor = area * levels
    ancillary = np.isin(kind, list(ANCILLARY_KINDS)) | (area < MIN_FOOTPRINT_M2)
    commercial = np.isin(kind, list(COMMERCIAL_KINDS)) & ~ancillary
    house = np.isin(kind, list(HOUSE_KINDS)) & ~ancillary
    residential = ~(ancillary | commercial)
    dwellings = np.maximum(np.round(NET_FLOOR_RATIO * floor / level.dwelling_m2), 1.0)
    customers = np.where(house, 1.0, np.where(residential, dwellings, 0.0))
    return customers, np.where(commercial, NET_FLOOR_RATIO * floor, 0.0)


def place_demand(
    feeder: Feeder,
    buildings: Any = None,
    *,
    lon: np.ndarray | None = None,
    lat: np.ndarray | None = None,
    country: str | None = None,
    kw_per_customer: float | None = None,
    total_kw: float | None = None,
    cv: float | None = None,
    bus_kw: np.ndarray | None = None,
    max_distance_m: float = 100.0,
) -> PlaceDemand:
    """Design peak demand per bus of a feeder from the buildings around it.

    Parameters
    ----------
    feeder : Feeder
        The feeder (``x``, ``y`` in its projected ``crs``); loads go to ``feeder.is_load`` buses.
    buildings : Buildings, optional
        Footprints (lon/lat centroids, area, optional levels, kind and ``addr:country``).
        Without any, customers follow the street length (logged).
    lon, lat : ndarray, optional
        Bus positions [deg], for finding the country from the substation.
    country : str, optional
        ISO code; default: found from the tags or the substation's position.
    kw_per_customer : float, optional
        After-diversity peak per residential customer [kW]; default: the country's level.
    total_kw : float, optional
        Design peak of the whole feeder [kW]; the buildings then only share it out.
    cv : float, optional
        Coefficient of variation of the level across realisations; default
        :func:`default_level_cv`.
    bus_kw : ndarray, shape (n_buses,), optional
        The user's demand per bus [kW] (:func:`read_bus_demand`); replaces the buildings.
    max_distance_m : float, default 100
        Buildings farther than this [m] from every load bus are not counted.

    Returns
    -------
    PlaceDemand
    """
    loads = feeder.load_buses
    if loads.size == 0:
        raise FeederValidationError(
            "the feeder has no load bus: mark the buses that serve customers (with_loads)."
        )
    notes: list[str] = []
    how = "given by the user"
    if country is None:
        tags = None if buildings is None else buildings.country
        s = feeder.source
        lon0 = None if lon is None else float(lon[s])
        lat0 = None if lat is None else float(lat[s])
        country, how = detect_country(tags, lon=lon0, lat=lat0)
        if country == "ZZ":
            notes.append("country unknown: world average demand level")
    level = demand_level(country, kw_per_customer=kw_per_customer)
    n = feeder.n_buses
    customers: np.ndarray = np.zeros(n)
    commercial: np.ndarray = np.zeros(n)
    method = "buildings"
    used = 0
    if bus_kw is not None:
        given = np.asarray(bus_kw, dtype=float)
        if given.shape != (n,) or not (np.isfinite(given).all() and (given >= 0).all()):
            raise ParameterError(
                f"bus_kw must hold {n} finite non-negative demands [kW], one per bus."
            )
        p_kw = given.copy()
        notes.append("demand per bus given by the user")
        method = "per-bus file"
    elif buildings is not None and len(buildings):
        from scipy.spatial import cKDTree

        from .topology.geo import to_utm

        per_building, floor = _building_customers(buildings, level)
        bx, by = to_utm(buildings.lon, buildings.lat, str(feeder.crs))
        tree = cKDTree(np.column_stack([np.asarray(feeder.x)[loads], np.asarray(feeder.y)[loads]]))
        dist, idx = cast(  # one query point per row: arrays
            tuple[np.ndarray, np.ndarray],
            tree.query(np.column_stack([bx, by]), distance_upper_bound=max_distance_m),
        )
        hit = np.isfinite(dist)
        used = int(hit.sum())
        customers = np.bincount(loads[idx[hit]], weights=per_building[hit], minlength=n)
        commercial = np.bincount(loads[idx[hit]], weights=floor[hit], minlength=n)
        if used < len(buildings):
            notes.append(
                f"{len(buildings) - used} of {len(buildings)} buildings are farther than "
                f"{max_distance_m:g} m from every load bus and not counted"
            )
    if method == "buildings" and (used == 0 or (customers.sum() + commercial.sum()) <= 0):
        method = "street length"
        customers = np.zeros(n)
        customers[loads] = CUSTOMERS_PER_M * 1000.0 * np.asarray(feeder.length_km)[loads]
        notes.append(
            f"no building footprint near the feeder: {CUSTOMERS_PER_M:g} customers per metre "
            "of line instead"
        )
        logger.warning("demand: %s", notes[-1])
    if method != "per-bus file":
        p_kw = customers * level.kw_per_customer + commercial * level.commercial_kw_per_m2
    if total_kw is not None:
        target = _positive("demand_total_kw", total_kw)
        p_kw = p_kw * (target / p_kw.sum())
        notes.append(f"scaled to the user's total of {target:g} kW")
    if cv is None:
        cv, cv_source = default_level_cv()
    else:
        cv_source = "set by the user"
    level_multipliers(1, float(cv))  # validates cv
    return PlaceDemand(p_kw, customers, commercial, level, how, method, float(cv), cv_source, notes)


def read_bus_demand(path: str | os.PathLike[str], feeder: Feeder) -> np.ndarray:
    """Per-bus demand [kW] from a CSV file with columns ``bus`` and ``p_kw``.

    Buses not in the file get 0; a bus the feeder does not have is an error.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(
            f"demand file {str(file)!r} does not exist; pass a CSV with columns bus,p_kw."
        )
    with open(file, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"bus", "p_kw"} <= set(rows[0]):
        raise ParameterError(
            f"demand file {str(file)!r} must have a header with columns 'bus' and 'p_kw'."
        )
    lookup = {b: i for i, b in enumerate(feeder.bus_id.astype(str).tolist())}
    unknown = sorted({r["bus"] for r in rows if r["bus"] not in lookup})
    if unknown:
        raise FeederValidationError(
            f"demand file {str(file)!r} names buses {unknown[:5]} that the feeder does not "
            "have; use the bus ids of the feeder (see the csv_buses export)."
        )
    p = np.zeros(feeder.n_buses)
    for r in rows:
        try:
            value = float(r["p_kw"])
        except ValueError:
            raise ParameterError(
                f"p_kw of bus {r['bus']!r} is not a number: {r['p_kw']!r}."
            ) from None
        if not (math.isfinite(value) and value >= 0):
            raise ParameterError(f"p_kw of bus {r['bus']!r} must be >= 0 and finite: {value}.")
        p[lookup[r["bus"]]] += value
    if p.sum() <= 0:
        raise ParameterError(f"demand file {str(file)!r} gives no positive demand.")
    return p


def sample_place(
    feeder: Feeder,
    demand: PlaceDemand,
    n: int,
    *,
    model: Any = None,
    rng: Any = None,
    three_phase: np.ndarray | None = None,
) -> Any:
    """Sample ``n`` realisations that keep each bus's share of the place's demand.

    Phases and the per-phase split come from the conditioned sampler
    (:func:`~bayesgrid_plugins.models.conditioned.sample_conditioned`) on ``demand.p_kw``;
    realisation k is then scaled by one level multiplier (:func:`level_multipliers` with
    ``demand.cv``), so every bus keeps its share and the feeder total varies with CV ``cv``.

    Returns
    -------
    Ensemble
        With ``metadata["demand_multiplier"]`` (one per realisation) and
        ``metadata["demand"]`` (the summary of ``demand``).
    """
    from .models.conditioned import sample_conditioned

    level_rng, split_rng = np.random.default_rng(rng).spawn(2)
    multiplier = level_multipliers(n, demand.cv, level_rng)
    ens = sample_conditioned(
        feeder,
        demand.p_kw,
        None,
        n,
        model=model,
        rng=split_rng,
        three_phase=three_phase,
    )
    return scale_realisations(ens, multiplier, demand)


def scale_realisations(ensemble: Any, multiplier: np.ndarray, demand: PlaceDemand) -> Any:
    """``ensemble`` with realisation k's P and Q scaled by ``multiplier[k]``."""
    m = np.asarray(multiplier, dtype=float)[:, np.newaxis, np.newaxis]
    return ensemble.with_fields(
        p_kw=ensemble.p_kw * m,
        q_kvar=ensemble.q_kvar * m,
        metadata={
            **ensemble.metadata,
            "demand_multiplier": [float(v) for v in np.ravel(multiplier)],
            "demand": demand.summary(),
        },
    )
