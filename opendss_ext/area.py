"""A whole area (transmission + every feeder) as one OpenDSS circuit, with its transformers.

How transmission and distribution are joined
--------------------------------------------
One combined three-phase circuit, built per realisation and solved in snapshot mode:

- the Vsource sits at the transmission slack bus (short-circuit data of
  :data:`~opendss_ext.defaults.DEFAULT_SOURCE`, written as explicit ``r1 x1 r0 x0``);
- transmission lines are three-phase line codes made from the overhead line types' sequence
  data (symmetric matrices, parallel circuits as one code of ``Z / circuits``);
- HV/HV transformers are ``wye-wye``; each distribution substation's HV/MV transformer and every
  MV/LV transformer is ``delta-wye`` (OpenDSS's ANSI connection: the LV side lags by 30
  degrees, as the ``Dyn`` transformers of ``pandapower_ext.area`` with a 30 degree shift), with
  ``%r`` per winding = vkr/2, ``xhl`` = sqrt(vk^2 - vkr^2); the iron losses and the no-load
  current are a constant-impedance three-phase load at the high-voltage bus (``noload_<name>``,
  :mod:`bayesgrid_plugins.no_load`), as the other engines build them;
- feeders: phase-accurate MV and LV lines (``bus1=b.1.3 phases=2``) with the line codes of
  :func:`opendss_ext.builder.line_parameters`, one single-phase constant-PQ load per loaded
  phase (as :func:`~opendss_ext.builder.to_dss_commands`). The MV busbar of a substation is the
  source bus of its feeders.

``all_three_phase=True`` in :class:`~opendss_ext.builder.CircuitOptions` wires every feeder line
three-phase with its real Z1 and Z0, as the sequence-model engines build it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from bayesgrid_plugins.area import Area, AreaEnsemble, AreaPowerFlow, TrafoType
from bayesgrid_plugins.area.equipment import OLTC_POSITIONS, OLTC_STEP_PERCENT, OLTC_TARGET_PU
from bayesgrid_plugins.errors import AdapterError
from bayesgrid_plugins.phases import PHASE_ABC

from .builder import (
    _LINE_FIELDS,
    CircuitOptions,
    _fmt,
    _linecode,
    _source_impedance,
    check_inputs,
    line_parameters,
)
from .defaults import LV_MAX_KV
from .engine import new_engine, run_commands
from .linecode_names import conductor_names, linecode_name
from .quoting import dss_bus, dss_element
from .transformers import transformer_commands

__all__ = ["area_bus_names", "solve_area", "to_area_dss_commands"]

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^a-z0-9_\-]")
_NODES = ("", "1", "2", "1.2", "3", "1.3", "2.3", "1.2.3")
_PHASE_LETTERS = ("a", "b", "c")


def area_bus_names(area: Area) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """OpenDSS-safe, unique bus names: transmission buses, substation busbars, feeder buses.

    Feeder sources map to their substation's busbar name.
    """
    tr = area.transmission
    raw = [f"t_{b}" for b in tr.bus_id.tolist()]
    raw += [f"s_{s.id}" for s in area.substations]
    sizes = []
    for f in area.feeders:
        raw += f.feeder.bus_id.tolist()
        sizes.append(f.feeder.n_buses)
    seen: dict[str, int] = {}
    names = []
    for i, text in enumerate(raw):
        name = _UNSAFE.sub("_", str(text).lower()) or "bus"
        if name in seen:
            name = f"{name}_{i}"
        seen[name] = i
        names.append(name)
    arr = np.asarray(names)
    t_names = arr[: tr.n_buses]
    s_names = arr[tr.n_buses : tr.n_buses + len(area.substations)]
    out = []
    start = tr.n_buses + len(area.substations)
    for f, size in zip(area.feeders, sizes):
        fn = arr[start : start + size].copy()
        fn[f.feeder.source] = s_names[f.substation]
        out.append(fn)
        start += size
    return t_names, s_names, out


def _transformer(
    name: str, bus_hv: str, bus_lv: str, kv_hv: float, kv_lv: float, t: TrafoType, conns: str
) -> list[str]:
    """A transformer of type ``t`` and its no-load load (:mod:`opendss_ext.transformers`)."""
    return transformer_commands(
        name,
        bus_hv,
        bus_lv,
        kv_hv,
        kv_lv,
        sn_mva=t.sn_mva,
        vk_percent=t.vk_percent,
        vkr_percent=t.vkr_percent,
        pfe_kw=t.pfe_kw,
        i0_percent=t.i0_percent,
        conns=conns,
    )


def to_area_dss_commands(
    area: Area,
    ensemble: AreaEnsemble,
    realisation: int = 0,
    *,
    options: CircuitOptions | None = None,
    check: bool = True,
) -> list[str]:
    """The OpenDSS script of one realisation of the whole area (pure text).

    Parameters
    ----------
    area : Area
        The area.
    ensemble : AreaEnsemble
        Aligned realisations of its feeders.
    realisation : int, default 0
        Which realisation's loads (and line data) to write.
    options : CircuitOptions, optional
        Frequency, source, default cable types, all-three-phase mode, load voltage band.
    check : bool, default True
        Check every feeder's ensemble first (alignment, phase consistency, sampled data); the
        voltage changes at transformer sites are expected and allowed.

    Returns
    -------
    list of str
        clear, frequency, circuit, transmission line codes and lines, transformers, feeder line
        codes, lines and transformers, loads, voltage bases, ``calcvoltagebases``, tolerance.

    Examples
    --------
    >>> from opendss_ext import to_area_dss_commands
    >>> script = to_area_dss_commands(area, area_ensemble, realisation=0)  # doctest: +SKIP
    >>> script[0]  # doctest: +SKIP
    'clear'
    """
    options = options or CircuitOptions()
    if len(ensemble.ensembles) != area.n_feeders:
        raise AdapterError(
            f"the ensemble has {len(ensemble.ensembles)} feeders but the area {area.n_feeders}; "
            "sample it with sample_area(area, n)."
        )
    k = int(realisation) % ensemble.n_realisations
    tr = area.transmission
    t_names, s_names, f_names = area_bus_names(area)
    slack_kv = float(tr.vn_kv[tr.slack])
    r1s, x1s, r0s, x0s = _source_impedance(slack_kv, options.source)
    commands = [
        "clear",
        f"set defaultbasefrequency={_fmt(options.frequency_hz)}",
        f"new {dss_element('circuit', options.name)} bus1={dss_bus(t_names[tr.slack], '1.2.3')} "
        "phases=3 "
        f"basekv={_fmt(slack_kv)} pu={_fmt(options.source.vm_pu)} angle=0 "
        f"r1={_fmt(r1s)} x1={_fmt(x1s)} r0={_fmt(r0s)} x0={_fmt(x0s)}",
    ]
    codes: dict[tuple[Any, ...], str] = {}

    def code_for(conductor: str, n_ph: int, values: tuple[float, ...], amps: float) -> str:
        key = (conductor, n_ph, *(round(v, 12) for v in values), round(amps, 6))
        name = codes.get(key)
        if name is None:
            name = linecode_name(conductor, n_ph, set(codes.values()))
            codes[key] = name
            r1, x1, r0, x0, c1, c0 = values
            commands.append(_linecode(name, n_ph, r1, x1, r0, x0, c1, c0, amps=amps))
        return name

    for j in range(tr.n_lines):
        t = tr.line_type[j]
        p = int(tr.line_parallel[j])
        code = code_for(
            t.name if p == 1 else f"{t.name} x{p}",
            3,
            (
                t.r1_ohm_per_km / p,
                t.x1_ohm_per_km / p,
                t.r0_ohm_per_km / p,
                t.x0_ohm_per_km / p,
                t.c1_nf_per_km * p,
                t.c0_nf_per_km * p,
            ),
            1000.0 * t.max_i_ka * p,
        )
        commands.append(
            f"new line.tl{j} bus1={dss_bus(t_names[tr.line_from[j]], '1.2.3')} "
            f"bus2={dss_bus(t_names[tr.line_to[j]], '1.2.3')} phases=3 linecode={code} "
            f"length={_fmt(tr.line_length_km[j])} units=km"
        )
    for j in range(tr.trafo_hv.size):
        hv, lv = int(tr.trafo_hv[j]), int(tr.trafo_lv[j])
        commands.extend(
            _transformer(
                f"thh{j}",
                t_names[hv],
                t_names[lv],
                tr.vn_kv[hv],
                tr.vn_kv[lv],
                tr.trafo_type[j],
                "wye wye",
            )
        )
    for i in range(len(area.substations)):
        hv = int(tr.substation_bus[i])
        commands.extend(
            _transformer(
                f"hvmv{i}",
                t_names[hv],
                s_names[i],
                tr.vn_kv[hv],
                area.mv_kv,
                area.hv_mv[i]
                if ensemble.hv_mv_sn_mva is None  # the planned rating of this realisation
                else replace(area.hv_mv[i], sn_mva=float(ensemble.hv_mv_sn_mva[k, i])),
                "delta wye",
            )
        )
    loads: list[str] = []
    bases = {round(float(v), 9) for v in tr.vn_kv} | {area.mv_kv, area.lv_kv}
    for f, ens, names in zip(area.feeders, ensemble.ensembles, f_names):
        fd = f.feeder
        if check:
            _check_feeder(fd, ens)
        vn = fd.vn_kv
        params = line_parameters(fd, ens, k, options)
        conductors = conductor_names(fd, ens, k, options)
        masks = ens.bus_phases[k].astype(np.int64)
        if options.all_three_phase:
            masks = np.where(masks > 0, PHASE_ABC, 0)
        site = np.zeros(fd.n_buses, dtype=bool)
        site[f.sites] = True
        trafo_of = dict(zip(f.sites.tolist(), f.trafos))
        if ens.trafo_sn_mva is not None:  # the planned ratings of this realisation
            planned = ens.trafo_sn_mva[k]
            trafo_of = {
                i: t if not np.isfinite(planned[i]) else replace(t, sn_mva=float(planned[i]))
                for i, t in trafo_of.items()
            }
        for i in fd.order[1:].tolist():
            par = int(fd.parent[i])
            if site[i]:
                commands.extend(
                    _transformer(
                        f"t_{names[i]}",
                        names[par],
                        names[i],
                        vn[par],
                        vn[i],
                        trafo_of[i],
                        "delta wye",
                    )
                )
                continue
            mask = int(masks[i])
            if mask == 0:
                continue
            n_ph = bin(mask).count("1")
            code = code_for(
                conductors[i],
                n_ph,
                tuple(float(params[name][i]) for name in _LINE_FIELDS[:6]),
                1000.0 * float(params["max_i_ka"][i]),
            )
            nodes = _NODES[mask]
            commands.append(
                f"new {dss_element('line', 'l_' + names[i])} bus1={dss_bus(names[par], nodes)} "
                f"bus2={dss_bus(names[i], nodes)} "
                f"phases={n_ph} linecode={code} length={_fmt(fd.length_km[i])} units=km"
            )
        p, q = ens.p_kw[k], ens.q_kvar[k]
        load_mask = ens.load_phases[k].astype(np.int64) & ens.bus_phases[k].astype(np.int64)
        powered = ((p != 0) | (q != 0)).any(axis=1)
        for i in np.flatnonzero((load_mask != 0) & powered).tolist():
            kv = vn[i] / np.sqrt(3.0)
            for phase in range(3):
                if not (int(load_mask[i]) >> phase) & 1:
                    continue
                loads.append(
                    f"new {dss_element('load', 'd_' + names[i] + '_' + _PHASE_LETTERS[phase])} "
                    f"bus1={dss_bus(names[i], (phase + 1,))} "
                    f"phases=1 conn=wye kv={_fmt(kv)} kw={_fmt(p[i, phase])} "
                    f"kvar={_fmt(q[i, phase])} model=1 vminpu={_fmt(options.vminpu)} "
                    f"vmaxpu={_fmt(options.vmaxpu)}"
                )
    commands.extend(loads)
    commands.append(f"set voltagebases=[{', '.join(_fmt(v) for v in sorted(bases, reverse=True))}]")
    commands.append("calcvoltagebases")
    commands.append(f"set tolerance={_fmt(options.tolerance)}")
    commands.append("set maxiterations=50")
    return commands


def _check_feeder(feeder: Any, ens: Any) -> None:
    """The builder's checks, with the voltage level of sites allowed to change."""
    from bayesgrid_plugins.feeder import Feeder

    one_level = Feeder(
        bus_id=feeder.bus_id,
        parent=feeder.parent,
        length_km=feeder.length_km,
        vn_kv=float(feeder.vn_kv.max()),
        is_load=feeder.is_load,
    )
    check_inputs(one_level, ens)


def solve_area(
    area: Area,
    ensemble: AreaEnsemble,
    *,
    realisations: Sequence[int] | None = None,
    options: CircuitOptions | None = None,
    dss: Any = None,
    regulate: bool = True,
) -> AreaPowerFlow:
    """Build and solve realisations of the whole area in OpenDSS.

    The circuit is rebuilt for each realisation (a few thousand elements build in well under a
    second) and solved in snapshot mode.

    Parameters
    ----------
    area : Area
        The area (from :func:`bayesgrid_plugins.area.area_from_osm`).
    ensemble : AreaEnsemble
        Aligned realisations of its feeders (:func:`bayesgrid_plugins.area.sample_area`).
    realisations : sequence of int, optional
        Which realisations to solve; default all.
    options : CircuitOptions, optional
        How the feeders' circuits are built.
    dss : opendssdirect context, optional
        Engine to use; default a fresh context.
    regulate : bool, default True
        Hold each substation busbar with its HV/MV on-load tap changer, as
        :func:`pandapower_ext.area.solve_area` does (same steps and rule; an HV-side tap of
        winding 1); the positions are in ``metadata["hv_mv_tap"]``.

    Returns
    -------
    AreaPowerFlow
        Voltages of the transmission buses, substation busbars and every feeder bus except the
        feeders' sources (the busbars stand for them), in that order.

    Examples
    --------
    >>> from bayesgrid_plugins.area import area_from_osm, sample_area
    >>> from opendss_ext import solve_area_dss
    >>> area = area_from_osm(dist_m=1000)  # embedded Monaco extract, radius [m]  # doctest: +SKIP
    >>> flows = solve_area_dss(area, sample_area(area, 5, rng=1))  # doctest: +SKIP
    """
    options = options or CircuitOptions()
    engine = new_engine(dss)
    chosen = (
        np.arange(ensemble.n_realisations)
        if realisations is None
        else np.asarray(realisations, dtype=np.int64).ravel()
    )
    tr = area.transmission
    t_names, s_names, f_names = area_bus_names(area)
    names = list(t_names) + list(s_names)
    vn = list(tr.vn_kv) + [area.mv_kv] * len(s_names)
    level = ["hv"] * tr.n_buses + ["mv"] * len(s_names)
    display = list(tr.bus_id) + [f"{s.id}~mvbus" for s in area.substations]
    owner: list[tuple[int, int]] = [(-1, -1)] * len(names)
    for fi, (f, fn) in enumerate(zip(area.feeders, f_names)):
        fd = f.feeder
        for i in range(fd.n_buses):
            if i == fd.source:
                continue
            names.append(fn[i])
            vn.append(float(fd.vn_kv[i]))
            level.append("lv" if fd.vn_kv[i] <= LV_MAX_KV else "mv")
            display.append(str(fd.bus_id[i]))
            owner.append((fi, i))
    index = {name: j for j, name in enumerate(names)}
    vn_arr = np.asarray(vn, dtype=float)
    busbars = np.arange(tr.n_buses, tr.n_buses + len(s_names))
    taps = np.zeros((chosen.size, busbars.size), dtype=np.int64)
    vm = np.full((chosen.size, len(names), 3), np.nan)
    converged = np.zeros(chosen.size, dtype=bool)
    elapsed = np.zeros(chosen.size)
    line_loading = np.full(chosen.size, np.nan)
    trafo_loading = np.full(chosen.size, np.nan)
    for row, k in enumerate(chosen.tolist()):
        start = time.perf_counter()
        commands = to_area_dss_commands(area, ensemble, k, options=options, check=row == 0)
        try:
            run_commands(engine, commands, what="area circuit")
            engine.Text.Command("solve")
        except AdapterError:
            engine.Text.Command("clear")
            raise
        except Exception as exc:
            raise AdapterError(f"OpenDSS failed to solve realisation {k}: {exc}") from exc
        converged[row] = bool(engine.Solution.Converged())
        _read_voltages(engine, index, vn_arr, vm[row])
        if regulate and converged[row] and busbars.size:
            low = np.nanmin(vm[row, busbars], axis=1)
            raise_by = np.ceil((OLTC_TARGET_PU - low) / OLTC_STEP_PERCENT * 100.0)
            taps[row] = np.clip(-raise_by, -OLTC_POSITIONS, OLTC_POSITIONS).astype(np.int64)
            if taps[row].any():
                for i, tap in enumerate(taps[row].tolist()):
                    ratio = 1.0 + tap * OLTC_STEP_PERCENT / 100.0
                    engine.Text.Command(
                        f"edit {dss_element('transformer', f'hvmv{i}')} wdg=1 tap={_fmt(ratio)}"
                    )
                engine.Text.Command("solve")
                converged[row] = bool(engine.Solution.Converged())
                vm[row] = np.nan
                _read_voltages(engine, index, vn_arr, vm[row])
        # Phases a feeder bus lacks in this realisation are NaN.
        for j, (fi, i) in enumerate(owner):
            if fi >= 0:
                mask = int(ensemble.ensembles[fi].bus_phases[k, i])
                for ph in range(3):
                    if not (mask >> ph) & 1:
                        vm[row, j, ph] = np.nan
        if not converged[row]:
            vm[row] = np.nan
            logger.warning("area realisation %d did not converge in OpenDSS", k)
        else:
            line_loading[row], trafo_loading[row] = _read_loadings(engine)
        elapsed[row] = time.perf_counter() - start
    return AreaPowerFlow(
        bus_id=np.asarray(display, dtype=str),
        level=np.asarray(level, dtype=str),
        vn_kv=vn_arr,
        realisations=chosen,
        vm_pu=vm,
        converged=converged,
        elapsed_s=elapsed,
        engine="opendss",
        metadata={
            "all_three_phase": options.all_three_phase,
            **({"hv_mv_tap": taps.tolist()} if regulate else {}),
        },
        line_loading_pct=line_loading,
        trafo_loading_pct=trafo_loading,
    )


def _read_loadings(engine: Any) -> tuple[float, float]:
    """Highest line and transformer loading [%] of the solved circuit (NaN: none of them).

    A line's: its highest phase current over its normal rating (``normamps``); a
    transformer's: the highest phase current of each winding over the winding's rated
    current, the higher winding (as pandapower and power-grid-model report them).
    """
    names = [name.lower() for name in engine.PDElements.AllNames()]
    pct = np.asarray(engine.PDElements.AllPctNorm(False), dtype=float)
    is_line = np.asarray([name.startswith("line.") for name in names], dtype=bool)
    line = float(np.nanmax(pct[is_line])) if is_line.any() else float("nan")
    highest = []
    more = engine.Transformers.First()
    while more:
        n_cond = int(engine.CktElement.NumConductors())
        n_ph = int(engine.CktElement.NumPhases())
        mags = np.asarray(engine.CktElement.CurrentsMagAng(), dtype=float)[0::2]
        per_terminal = mags.reshape(-1, n_cond)[:, :n_ph].max(axis=1)
        rated = []
        for w in range(per_terminal.size):
            engine.Transformers.Wdg(w + 1)
            rated.append(engine.Transformers.kVA() / (np.sqrt(3.0) * engine.Transformers.kV()))
        highest.append(float(np.max(per_terminal / np.asarray(rated))))
        more = engine.Transformers.Next()
    return line, 100.0 * max(highest) if highest else float("nan")


def _read_voltages(engine: Any, index: dict[str, int], vn_kv: np.ndarray, out: np.ndarray) -> None:
    """Phase voltages [p.u.] of the solved circuit into ``out`` (n_buses, 3), by bus name."""
    volts = np.asarray(engine.Circuit.AllBusVolts(), dtype=float)
    v = np.abs(volts[0::2] + 1j * volts[1::2])
    for node, value in zip(engine.Circuit.AllNodeNames(), v.tolist()):
        bus, phase = node.lower().rsplit(".", 1)
        j = index.get(bus)
        ph = int(phase) - 1
        if j is not None and 0 <= ph < 3:
            out[j, ph] = value / (vn_kv[j] / np.sqrt(3.0) * 1000.0)
