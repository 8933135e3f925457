"""Two-winding transformers in OpenDSS circuits, modelled as in every other engine.

A transformer carries only its series impedance (``%rs`` split between the windings, ``xhl``);
its no-load losses and magnetising current are a three-phase constant-impedance load at the
high-voltage bus (``model=2``, wye, earthed) drawing them at rated voltage
(:mod:`bayesgrid_plugins.no_load`), the representation pandapower and power-grid-model share.
The load is named :data:`NO_LOAD_PREFIX` + the transformer's name.

In a feeder, the branch into a bus whose nominal voltage differs from its parent's is a
transformer (:func:`~bayesgrid_plugins.planning.is_transformer`), rated as in every engine
(:func:`~bayesgrid_plugins.equipment.branch_trafo_ratings_mva`) and named ``t_<bus>``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayesgrid_plugins.ensemble import Ensemble
from bayesgrid_plugins.equipment import TrafoParameters, branch_trafo_ratings_mva
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.no_load import no_load_shunt
from bayesgrid_plugins.planning import is_transformer

from .quoting import dss_bus, dss_element
from .quoting import dss_number as fmt

__all__ = ["NO_LOAD_PREFIX", "FeederTransformers", "connections", "transformer_commands"]

#: Name prefix of a transformer's no-load load.
NO_LOAD_PREFIX = "noload_"


def connections(vector_group: str) -> str:
    """OpenDSS ``conns`` of a vector group: ``"delta wye"`` for D.., ``"wye wye"`` otherwise."""
    return "delta wye" if vector_group.strip().lower().startswith("d") else "wye wye"


def transformer_commands(
    name: str,
    bus_hv: str,
    bus_lv: str,
    kv_hv: float,
    kv_lv: float,
    *,
    sn_mva: float,
    vk_percent: float,
    vkr_percent: float,
    pfe_kw: float,
    i0_percent: float,
    conns: str,
) -> list[str]:
    """The commands of one transformer and of its no-load load (see the module docstring)."""
    kva = 1000.0 * sn_mva
    x = float(np.sqrt(max(vk_percent**2 - vkr_percent**2, 1e-12)))
    p_mw, q_mvar = no_load_shunt(pfe_kw, i0_percent, sn_mva)
    return [
        f"new {dss_element('transformer', name)} phases=3 windings=2 "
        f"buses=[{dss_bus(bus_hv, '1.2.3')} {dss_bus(bus_lv, '1.2.3')}] "
        f"conns=[{conns}] kvs=[{fmt(kv_hv)} {fmt(kv_lv)}] kvas=[{fmt(kva)} {fmt(kva)}] "
        f"%rs=[{fmt(vkr_percent / 2)} {fmt(vkr_percent / 2)}] xhl={fmt(x)} "
        "%noloadloss=0 %imag=0",
        f"new {dss_element('load', NO_LOAD_PREFIX + name)} bus1={dss_bus(bus_hv, '1.2.3')} "
        f"phases=3 conn=wye kv={fmt(kv_hv)} kw={fmt(1000.0 * float(p_mw))} "
        f"kvar={fmt(1000.0 * float(q_mvar))} model=2 vminpu=0 vmaxpu=10",
    ]


@dataclass(frozen=True)
class FeederTransformers:
    """The transformers of a feeder: the bus each feeds, its two ends and its data."""

    child: np.ndarray  # bus fed by the transformer (the branch into it)
    hv: np.ndarray
    lv: np.ndarray
    trafo: TrafoParameters

    @classmethod
    def of(cls, feeder: Feeder, trafo: TrafoParameters) -> FeederTransformers:
        """Every branch of ``feeder`` that joins two nominal voltages."""
        child = np.flatnonzero(is_transformer(feeder))
        parent = feeder.parent[child]
        vn = np.asarray(feeder.vn_kv, dtype=float)
        hv_is_parent = vn[parent] >= vn[child]
        return cls(
            child=child,
            hv=np.where(hv_is_parent, parent, child),
            lv=np.where(hv_is_parent, child, parent),
            trafo=trafo,
        )

    def ratings_mva(self, feeder: Feeder, ensemble: Ensemble, realisation: int) -> np.ndarray:
        """Rating of each transformer in ``realisation`` [MVA]."""
        return branch_trafo_ratings_mva(feeder, ensemble, self.child, self.trafo, realisation)

    def no_load_kw_kvar(self, sn_mva: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Active [kW] and reactive [kvar] power of each no-load load at rated voltage."""
        p_mw, q_mvar = no_load_shunt(self.trafo.pfe_kw, self.trafo.i0_percent, sn_mva)
        return 1000.0 * np.broadcast_to(p_mw, sn_mva.shape), 1000.0 * np.broadcast_to(
            q_mvar, sn_mva.shape
        )

    def commands(
        self, feeder: Feeder, ensemble: Ensemble, realisation: int, names: np.ndarray
    ) -> dict[int, list[str]]:
        """The commands of each transformer, by the bus it feeds."""
        vn = np.asarray(feeder.vn_kv, dtype=float)
        sn = self.ratings_mva(feeder, ensemble, realisation)
        conns = connections(self.trafo.vector_group)
        return {
            int(i): transformer_commands(
                f"t_{names[i]}",
                str(names[h]),
                str(names[lo]),
                float(vn[h]),
                float(vn[lo]),
                sn_mva=float(s),
                vk_percent=self.trafo.vk_percent,
                vkr_percent=self.trafo.vkr_percent,
                pfe_kw=self.trafo.pfe_kw,
                i0_percent=self.trafo.i0_percent,
                conns=conns,
            )
            for i, h, lo, s in zip(self.child, self.hv, self.lv, sn)
        }
