"""Where a transformer's no-load losses and magnetising current sit: the same place in every engine.

Each engine has its own transformer equivalent circuit: pandapower's ``runpp_3ph`` puts the
no-load (magnetising) branch in the middle of a T, power-grid-model its own way, so the same
transformer data gave voltages 1.5e-6 to 3.1e-6 p.u. apart on IEEE European LV. Every engine
therefore builds the transformer without no-load data (``i0 = 0``, ``pfe = 0``) and adds its
no-load branch as a constant-admittance three-phase shunt at the transformer's **high-voltage
bus** that draws the rated no-load active power ``pfe_kw`` and the magnetising reactive power at
rated voltage. Nothing is dropped: the no-load losses are in the losses, and the magnetising
current loads the network upstream. What moves is the voltage drop of the magnetising current
across the leakage impedance (half of it in a T model): on IEEE European LV the low-voltage
voltages are higher by at most 2.1e-5 p.u. than with pandapower's T model (``docs/engines.md``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["no_load_shunt"]


def no_load_shunt(
    pfe_kw: float | np.ndarray, i0_percent: float | np.ndarray, sn_mva: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Active [MW] and reactive [Mvar] power of the no-load shunt at rated voltage.

    Parameters
    ----------
    pfe_kw : float or ndarray
        Iron (no-load) losses [kW].
    i0_percent : float or ndarray
        No-load current [% of rated current]; its apparent power ``i0 * sn`` is the no-load
        apparent power, of which ``pfe`` is active.
    sn_mva : float or ndarray
        Rated power [MVA].

    Returns
    -------
    (ndarray, ndarray)
        ``p_mw`` and ``q_mvar`` (inductive, positive), broadcast together.

    Examples
    --------
    >>> from bayesgrid_plugins.no_load import no_load_shunt
    >>> p, q = no_load_shunt(1.65, 0.2619, 0.63)  # the default 630 kVA unit: iron losses only
    >>> round(float(p), 5), round(float(q), 5)
    (0.00165, 0.0)
    >>> p, q = no_load_shunt(0.5, 0.5, 0.25)  # 1.25 kVA of no-load, 0.5 kW of it active
    >>> round(float(q) * 1000, 4)  # [kvar]
    1.1456
    """
    p = np.asarray(pfe_kw, dtype=float) / 1000.0
    s = np.asarray(i0_percent, dtype=float) / 100.0 * np.asarray(sn_mva, dtype=float)
    q = np.sqrt(np.maximum(s**2 - p**2, 0.0))
    p, q = np.broadcast_arrays(p, q)
    return p.copy(), q.copy()
