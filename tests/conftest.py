"""Shared fixtures. Tests marked ``slow`` run when ``CI`` is set or with ``-m slow``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from bayesgrid_plugins.feeder import Feeder

#: The project's shared real data (``shared/data`` beside the checkout); override with the
#: environment variable BAYESGRID_SHARED_DATA.
SHARED_DATA = Path(
    os.environ.get("BAYESGRID_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The default run skips slow tests; CI (CI=true) and an explicit -m selection run them.
    if os.environ.get("CI") or config.getoption("markexpr"):
        return
    skip = pytest.mark.skip(reason="slow: runs in CI, or select it with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def random_tree(n_buses: int, seed: int) -> Feeder:
    """A random recursive tree with lengths in [10, 100] m and shuffled bus order."""
    rng = np.random.default_rng(seed)
    parent = np.full(n_buses, -1)
    parent[1:] = [rng.integers(0, i) for i in range(1, n_buses)]
    perm = rng.permutation(n_buses)  # bus k of the tree is stored at position perm[k]
    stored_parent = np.full(n_buses, -1)
    stored_parent[perm[1:]] = perm[parent[1:]]
    return Feeder(
        bus_id=[f"b{i}" for i in range(n_buses)],
        parent=stored_parent,
        length_km=rng.uniform(0.01, 0.1, n_buses),
    )


@pytest.fixture
def small_feeder() -> Feeder:
    """Source s; branch 1: s-a-b, a-c; branch 2: s-d (lengths in km)."""
    return Feeder.from_edges(
        [("s", "a", 1.0), ("a", "b", 0.5), ("a", "c", 2.0), ("s", "d", 1.0)],
        "s",
        coords={"s": (0, 0), "a": (1, 0), "b": (1.5, 0), "c": (1, 2), "d": (-1, 0)},
    )
