"""``generate_consistent_data``: the original bayesgrid call, shared by all four models."""

from __future__ import annotations

from typing import Any

from ..ensemble import Ensemble

__all__ = ["ConsistentDataMixin"]


class ConsistentDataMixin:
    """Adds the original bayesgrid tool's ``generate_consistent_data`` to a model with ``sample``.

    On a pandapower net the samples of several models accumulate: the power model's call
    replaces the ensemble kept beside the net; an impedance, frequency or duration model's call
    with the same ``n`` adds its fields to it (on the same phases), so
    :func:`~bayesgrid_plugins.app.facade.save_synthetic_network` writes every model's samples.
    """

    def generate_consistent_data(
        self,
        graph: Any,
        hop_zone_list: Any = None,
        source_bus: Any = None,
        n: int = 1000,
        *,
        rng: Any = None,
    ) -> Ensemble:
        """Sample ``n`` phase-consistent realisations for a network, bayesgrid style.

        Parameters
        ----------
        graph : pandapowerNet, Feeder or networkx.Graph
            The network. A pandapower net gets realisation 0 written into it in place, and
            keeps the ensemble for ``save_synthetic_network``.
        hop_zone_list : list of list, optional
            Bus ids (pandapower bus indices for a net) in each zone; default: the zones of
            normalised distance.
        source_bus : hashable, optional
            The source; required for a networkx graph, checked for a net.
        n : int, default 1000
            Realisations.
        rng : seed or numpy.random.Generator, optional
            Random generator or seed.

        Returns
        -------
        Ensemble
            The realisations (with the fields of earlier models' calls on the same net).

        Examples
        --------
        >>> import bayesgrid_plugins as bg
        >>> net, zones, source = bg.create_osm_pandapower_network(dist=300)  # doctest: +SKIP
        >>> power = bg.BayesianPowerModel()
        >>> power.generate_consistent_data(net, zones, source, n=10)  # doctest: +SKIP
        >>> lines = bg.BayesianImpedanceModel()
        >>> lines.generate_consistent_data(net, zones, source, n=10)  # doctest: +SKIP
        """
        from ..networks import generate_for

        return generate_for(self, graph, hop_zone_list, source_bus, n, rng)
