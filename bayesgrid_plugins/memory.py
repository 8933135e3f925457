"""Refuse, before allocating, a request that cannot fit in memory.

The samplers hold several arrays of shape (realisations, buses) at once; asked for ``n=10**9``
realisations they would allocate gigabytes before failing with a bare ``MemoryError`` (or let
the operating system kill the process). :func:`check_realisations` compares the estimate with
half the physical memory first and names the largest ``n`` that fits.
"""

from __future__ import annotations

import os

from .errors import ParameterError

__all__ = ["SAMPLE_BYTES_PER_BUS_REALISATION", "check_realisations", "physical_memory_bytes"]

#: Peak memory [bytes] of sampling per realisation and bus: measured about 340 with
#: ``tracemalloc`` on a 16 000-bus feeder (the ensemble's arrays plus the temporaries), rounded up.
SAMPLE_BYTES_PER_BUS_REALISATION = 400


def physical_memory_bytes() -> int | None:
    """Physical memory of the machine [bytes], or None where the system does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):  # pragma: no cover - not POSIX
        return None


def _format(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def check_realisations(
    n: int,
    n_buses: int,
    *,
    bytes_per: int = SAMPLE_BYTES_PER_BUS_REALISATION,
    memory_bytes: int | None = None,
) -> None:
    """Refuse ``n`` realisations of ``n_buses`` buses that would need over half the memory.

    Parameters
    ----------
    n : int
        Realisations asked for.
    n_buses : int
        Buses of the feeder.
    bytes_per : int
        Peak bytes per realisation and bus.
    memory_bytes : int, optional
        Memory to compare with [bytes] (default: the machine's physical memory).

    Raises
    ------
    ParameterError
        With the estimate and the largest ``n`` that fits.
    """
    memory = physical_memory_bytes() if memory_bytes is None else int(memory_bytes)
    need = int(n) * max(int(n_buses), 1) * int(bytes_per)
    if memory is None or need <= memory // 2:
        return
    fits = memory // 2 // (max(int(n_buses), 1) * int(bytes_per))
    raise ParameterError(
        f"n={n} realisations of a {n_buses:,}-bus feeder need about {_format(need)} of memory, "
        f"more than half of this machine's {_format(memory)}: ask for at most n={fits}, and "
        "sample more in chunks (several calls with seeds from numpy.random.SeedSequence.spawn, "
        "or the Dask runner `bayesgrid run`)."
    )
