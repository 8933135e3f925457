"""A line voltage regulator for long feeders: where today's planning fails, and the design measured.

Usage: ``python benchmarks/bench_regulator.py [--km 60] [--mw 1.7] [--n 8] [--seed 8]``.

The engines do not build line regulators yet; this benchmark measures the design they would
share, with the regulator built natively in each engine beside the case the engine opens.

1. A long 13.8 kV radial line (30 sections of ``--km / 30``) whose load (``--mw``, 0.3 kvar per
   kW, balanced) sits on its far third, planned as ``bayesgrid generate`` plans it
   (:func:`~bayesgrid_plugins.planning.plan_ensemble`, then the substation tap and path
   upgrades of :func:`~bayesgrid_plugins.planning.plan_voltages` with OpenDSS): per
   realisation whether it converged, its MV voltage range and the parallel circuits the path
   upgrades needed.
2. The regulator rule on the conductors of the first planning step (no path upgrades): the
   substation tap at +4 steps (1.05 p.u., the top of the band), a solve, and on the path from
   the source to the lowest voltage a 1:1 step-voltage regulator on the line into the first bus
   below 0.95 p.u., at the fewest steps of 0.625 % (at most 16, +10 %) that lift the lowest
   voltage below it to 0.95 p.u., and no more than keep the highest below it within 1.05 p.u.
   (both from the solved case, before the regulator). The regulator is a three-phase YNyn0
   transformer with a tap on its load side, rated 10 MVA, ``vk`` 1 %, ``vkr`` 0.5 %, no
   magnetising current, between the line's end (a bus of its own) and the bus; it is built in
   OpenDSS (``Transformer`` with ``wdg=2 tap``), pandapower (``trafo`` with ``tap_side="lv"``)
   and power-grid-model (``transformer`` with ``tap_side=1``), and the three are compared bus
   by bus.
3. The rule on an 8 km line with 4 MW on its far third, after today's planning: no regulator.

pandapower from a flat start lands on a root near 0 p.u. with an off-nominal tap here
(``runpp_3ph`` reports it converged; the balanced ``runpp`` does not converge): at ``vk`` 1 %
from 12-14 steps up on this feeder, at ``vk`` 0.01 % already at 12 steps on a 10 km line, and
a jump from the neutral step's solution to the regulator's step lands there too. Solved at
the neutral step and then walked up two steps at a time, each from the last solution
(``init="results"``), it finds the physical root and agrees with the others.

Print ``uptime`` beside the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import subprocess
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from bayesgrid_plugins import BayesianPowerModel, Feeder
from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.planning import MV_LIMITS_PU, TAP_STEP_PU, plan_ensemble, plan_voltages
from bayesgrid_plugins.plugins import get_engine

#: Regulator step [p.u.] and steps either side of neutral: +-10 % in 32 steps of 0.625 %.
REG_STEP_PU = 0.00625
REG_STEPS = 16
#: Regulator rating [MVA] and short-circuit voltages [%] on it.
REG_SN_MVA = 10.0
REG_VK_PERCENT = 1.0
REG_VKR_PERCENT = 0.5


def long_feeder(km: float, mw: float, n: int, seed: int, sections: int = 30) -> tuple[Any, Any]:
    """A 13.8 kV chain of ``km`` with ``mw`` balanced on its far third, ``n`` realisations."""
    buses = sections + 1
    feeder = Feeder(
        [f"b{i}" for i in range(buses)],
        np.arange(buses) - 1,
        [0.0] + [km / sections] * sections,
        vn_kv=13.8,
    ).with_zones(10)
    ens = BayesianPowerModel().sample(feeder, n, rng=seed)
    total_kw = mw * 1000.0
    far = np.zeros(buses)
    far[2 * buses // 3 :] = 1.0
    # Deterministic loads (the sampled demand would tie the case to the posterior's draws):
    # the far third carries the total balanced, scaled by +-10 % per realisation.
    scale = np.random.default_rng(seed).uniform(0.9, 1.1, n)
    p = (total_kw * scale[:, None, None] / (3 * far.sum())) * far[None, :, None] * np.ones(3)
    ens = ens.with_fields(
        p_kw=p,
        q_kvar=0.3 * p,
        bus_phases=np.full_like(ens.bus_phases, 7),
        load_phases=np.repeat(np.where(far > 0, 7, 0)[None, :], n, axis=0).astype(
            ens.load_phases.dtype
        ),
    )
    return feeder, ens


def below(feeder: Feeder, bus: int) -> np.ndarray:
    """Boolean (n_buses,): ``bus`` and every bus it feeds."""
    down = np.zeros(feeder.n_buses, dtype=bool)
    down[bus] = True
    for i in feeder.order[1:]:
        down[i] |= down[feeder.parent[i]]
    return down


def path_to(feeder: Feeder, bus: int) -> np.ndarray:
    """Buses from the first below the source down to ``bus``."""
    out = []
    while bus != feeder.source:
        out.append(bus)
        bus = int(feeder.parent[bus])
    return np.asarray(out[::-1], dtype=np.int64)


def place(feeder: Feeder, vm: np.ndarray) -> tuple[int, int]:
    """Regulator bus and step from one solved realisation's voltages (n_buses, 3); (-1, 0): none."""
    v = np.where(np.isfinite(vm), vm, np.inf).min(axis=1)
    path = path_to(feeder, int(np.argmin(v)))
    low = path[v[path] < MV_LIMITS_PU[0]]
    if low.size == 0:
        return -1, 0
    bus = int(low[0])
    down = below(feeder, bus)
    vmin = v[down].min()
    vmax = np.where(np.isfinite(vm), vm, -np.inf).max(axis=1)[down].max()
    steps = np.ceil((MV_LIMITS_PU[0] / vmin - 1.0) / REG_STEP_PU - 1e-9)
    most = np.floor((MV_LIMITS_PU[1] / vmax - 1.0) / REG_STEP_PU + 1e-9)  # keep its max in band
    return bus, int(np.clip(min(steps, most), -REG_STEPS, REG_STEPS))


# ----------------------------------------------------------------------- one engine each
def solve_opendss(feeder: Feeder, ens: Ensemble, k: int, bus: int, steps: int) -> np.ndarray:
    """Complex voltages [p.u.] (n_buses, 3) of realisation ``k`` with the regulator in OpenDSS."""
    from opendss_ext.builder import dss_bus_names

    names = dss_bus_names(feeder)
    with get_engine("opendss").open(feeder, ens) as case:
        case.set_realisation(k)
        dss = case.native()
        if bus >= 0:
            vn = float(feeder.vn_kv[bus])
            mid = f"{names[bus]}_reg"
            r_pct = REG_VKR_PERCENT / 2.0
            x_pct = float(np.sqrt(REG_VK_PERCENT**2 - REG_VKR_PERCENT**2))
            for command in (
                f"edit line.l_{names[bus]} bus2={mid}.1.2.3",
                f"new transformer.reg_{names[bus]} phases=3 windings=2 "
                f"buses=[{mid}.1.2.3 {names[bus]}.1.2.3] conns=[wye wye] kvs=[{vn} {vn}] "
                f"kvas=[{REG_SN_MVA * 1000} {REG_SN_MVA * 1000}] %rs=[{r_pct} {r_pct}] "
                f"xhl={x_pct} %imag=0 %noloadloss=0",
                f"edit transformer.reg_{names[bus]} wdg=2 tap={1.0 + steps * REG_STEP_PU}",
                f"set voltagebases=[{vn}]",
                "calcvoltagebases",
            ):
                dss.Text.Command(command)
        dss.Text.Command("solve")
        v = np.full((feeder.n_buses, 3), np.nan + 0j)
        if not dss.Solution.Converged():
            return v
        for i, name in enumerate(names):
            dss.Circuit.SetActiveBus(name)
            z = np.asarray(dss.Bus.Voltages(), dtype=float)
            v[i] = (z[0::2] + 1j * z[1::2])[:3] / (dss.Bus.kVBase() * 1000.0)
    return v


def solve_pandapower(feeder: Feeder, ens: Ensemble, k: int, bus: int, steps: int) -> np.ndarray:
    """Complex voltages [p.u.] (n_buses, 3) with the regulator in pandapower (``runpp_3ph``)."""
    import pandapower as pp

    with get_engine("pandapower").open(feeder, ens) as case:
        case.set_realisation(k)
        net = case.native()
        if bus >= 0:
            vn = float(feeder.vn_kv[bus])
            mid = pp.create_bus(net, vn_kv=vn, name=f"{feeder.bus_id[bus]}_reg")
            net.line.at[case._element[bus], "to_bus"] = mid
            pp.create_transformer_from_parameters(
                net,
                hv_bus=mid,
                lv_bus=case._labels[bus],
                sn_mva=REG_SN_MVA,
                vn_hv_kv=vn,
                vn_lv_kv=vn,
                vkr_percent=REG_VKR_PERCENT,
                vk_percent=REG_VK_PERCENT,
                pfe_kw=0.0,
                i0_percent=0.0,
                vector_group="YNyn",
                vk0_percent=REG_VK_PERCENT,
                vkr0_percent=REG_VKR_PERCENT,
                mag0_percent=100.0,
                mag0_rx=0.0,
                si0_hv_partial=0.5,
                shift_degree=0.0,
                tap_side="lv",
                tap_neutral=0,
                tap_min=-REG_STEPS,
                tap_max=REG_STEPS,
                tap_step_percent=100.0 * REG_STEP_PU,
                tap_step_degree=0.0,
                tap_pos=0,
                tap_changer_type="Ratio",
            )
        ok = case.solve()  # at the neutral step, from a flat start
        if ok and bus >= 0 and steps:
            # From a flat start Newton-Raphson lands on a root near 0 p.u. at a high step
            # (reported as converged); from the neutral step's solution it finds the real one.
            # One jump is not enough either: walk the tap up two steps at a time.
            for pos in [*range(2 * int(np.sign(steps)), steps, 2 * int(np.sign(steps))), steps]:
                net.trafo.at[net.trafo.index[-1], "tap_pos"] = pos
                pp.runpp_3ph(net, init="results", numba=False, max_iteration=50)
            ok = bool(net.converged)
        return case.voltages_pu() if ok else np.full((feeder.n_buses, 3), np.nan + 0j)


def solve_pgm(feeder: Feeder, ens: Ensemble, k: int, bus: int, steps: int) -> np.ndarray:
    """Complex voltages [p.u.] (n_buses, 3) with the regulator in power-grid-model."""
    from power_grid_model import ComponentType, DatasetType, PowerGridModel, initialize_array
    from power_grid_model.enum import WindingType

    from pgm_ext.build import build_input, layout_of

    data = build_input(feeder, ens, layout_of(feeder, ens), k)
    n = feeder.n_buses
    if bus >= 0:
        vn = float(feeder.vn_kv[bus]) * 1000.0
        node = initialize_array(DatasetType.input, ComponentType.node, 1)
        node["id"] = 10 * n
        node["u_rated"] = vn
        data[ComponentType.node] = np.concatenate([data[ComponentType.node], node])
        line = data[ComponentType.line]
        line["to_node"][line["to_node"] == bus] = 10 * n
        t = initialize_array(DatasetType.input, ComponentType.transformer, 1)
        t["id"] = 10 * n + 1
        t["from_node"] = 10 * n
        t["to_node"] = bus
        t["from_status"] = 1
        t["to_status"] = 1
        t["u1"] = vn
        t["u2"] = vn
        t["sn"] = REG_SN_MVA * 1e6
        t["uk"] = REG_VK_PERCENT / 100.0
        t["pk"] = REG_VKR_PERCENT / 100.0 * REG_SN_MVA * 1e6
        t["i0"] = 0.0
        t["p0"] = 0.0
        t["winding_from"] = WindingType.wye_n
        t["winding_to"] = WindingType.wye_n
        t["clock"] = 0
        t["tap_side"] = 1
        t["tap_pos"] = steps
        t["tap_min"] = -REG_STEPS
        t["tap_max"] = REG_STEPS
        t["tap_nom"] = 0
        t["tap_size"] = REG_STEP_PU * vn
        data[ComponentType.transformer] = t
    out = PowerGridModel(data, system_frequency=50.0).calculate_power_flow(
        symmetric=False, error_tolerance=1e-10, max_iterations=50
    )
    node = out[ComponentType.node]
    mine = node["id"] < n
    return node["u_pu"][mine] * np.exp(1j * node["u_angle"][mine])


ENGINES: dict[str, Callable[..., np.ndarray]] = {
    "opendss": solve_opendss,
    "pandapower": solve_pandapower,
    "power-grid-model": solve_pgm,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--km", type=float, default=60.0, help="line length [km]")
    parser.add_argument("--mw", type=float, default=1.7, help="load on the far third [MW]")
    parser.add_argument("--n", type=int, default=8, help="realisations")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    feeder, ens = long_feeder(args.km, args.mw, args.n, args.seed)
    planned = plan_ensemble(feeder, ens, rng=1)

    start = time.perf_counter()
    today, result = plan_voltages(feeder, planned, "opendss")
    print(f"\n1. today's planning ({time.perf_counter() - start:.1f} s, OpenDSS)")
    print("| realisation | converged | MV min | MV max | tap [p.u.] | most parallel circuits |")
    print("|---|---|---|---|---|---|")
    for k in range(args.n):
        print(
            f"| {k} | {bool(result.converged[k])} | {result.vm_min_pu[k].min():.4f} | "
            f"{result.vm_max_pu[k].max():.4f} | {today.source_vm_pu[k]:.4f} | "
            f"{int(today.n_parallel[k].max())} |"
        )

    tapped = planned.with_fields(source_vm_pu=np.full(args.n, 1.0 + 4 * TAP_STEP_PU))
    with get_engine("opendss").open(feeder, tapped) as case:
        first = case.solve_batch()
    print("\n2. regulator on the first step's conductors, tap 1.05 p.u.")
    print(
        "| realisation | bus | steps | MV min | MV max | pandapower - pgm | "
        "OpenDSS - pandapower | OpenDSS - pgm | pandapower [s] |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    worst = np.zeros(3)
    for k in range(args.n):
        if not first.converged[k]:
            print(f"| {k} | no solved case at tap 1.05 | | | | | | | |")
            continue
        bus, steps = place(feeder, first.vm_pu[k])
        vm = {}
        seconds = 0.0
        for name, solve in ENGINES.items():
            start = time.perf_counter()
            vm[name] = np.abs(solve(feeder, tapped, k, bus, steps))
            if name == "pandapower":
                seconds = time.perf_counter() - start
        d = np.array(
            [
                np.nanmax(np.abs(vm["pandapower"] - vm["power-grid-model"])),
                np.nanmax(np.abs(vm["opendss"] - vm["pandapower"])),
                np.nanmax(np.abs(vm["opendss"] - vm["power-grid-model"])),
            ]
        )
        worst = np.fmax(worst, d)
        v = vm["opendss"]
        print(
            f"| {k} | {bus} | {steps} | {np.nanmin(v):.4f} | {np.nanmax(v):.4f} | "
            f"{d[0]:.1e} | {d[1]:.1e} | {d[2]:.1e} | {seconds:.2f} |"
        )
    print(
        f"\nlargest differences [p.u.]: pandapower - pgm {worst[0]:.1e}, "
        f"OpenDSS - pandapower {worst[1]:.1e}, OpenDSS - pgm {worst[2]:.1e}"
    )
    short, short_ens = long_feeder(8.0, 4.0, args.n, args.seed)
    _, short_result = plan_voltages(short, plan_ensemble(short, short_ens, rng=1), "opendss")
    placed = sum(place(short, short_result.vm_pu[k])[0] >= 0 for k in range(args.n))
    print(f"\n3. an 8 km line with 4 MW on its far third, planned today: {placed} regulators")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
