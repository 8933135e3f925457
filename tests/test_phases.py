"""Phase masks and the consistency enforcer: properties over random trees and masks."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_tree
from hypothesis import given, settings
from hypothesis import strategies as st

from bayesgrid_plugins.errors import PhaseConsistencyError
from bayesgrid_plugins.feeder import Feeder
from bayesgrid_plugins.phases import (
    PHASE_NAMES,
    check_phase_consistency,
    enforce_phase_consistency,
    fill_unserved_phases,
    mask_from_phases,
    n_phases,
    phase_inconsistencies,
    phases_from_mask,
)


def reference_union(feeder: Feeder, masks: np.ndarray) -> np.ndarray:
    """The paper's rule in its plainest form: OR every bus into its parent, leaves first."""
    out = masks.copy()
    for bus in feeder.order[::-1]:
        parent = feeder.parent[bus]
        if parent >= 0:
            out[:, parent] |= out[:, bus]
    return out


@st.composite
def trees_and_masks(draw: st.DrawFn) -> tuple[Feeder, np.ndarray]:
    n_buses = draw(st.integers(2, 60))
    seed = draw(st.integers(0, 2**32 - 1))
    feeder = random_tree(n_buses, seed)
    n_real = draw(st.integers(1, 4))
    flat = draw(st.lists(st.integers(0, 7), min_size=n_real * n_buses, max_size=n_real * n_buses))
    return feeder, np.asarray(flat, dtype=np.uint8).reshape(n_real, n_buses)


@settings(max_examples=200, deadline=None)
@given(trees_and_masks())
def test_enforcement_gives_the_smallest_consistent_widening(case) -> None:  # type: ignore[no-untyped-def]
    feeder, masks = case
    out = enforce_phase_consistency(feeder, masks)
    assert out.shape == masks.shape and out.dtype == np.uint8
    # Consistent: every child's phases are a subset of its parent's.
    assert not phase_inconsistencies(feeder, out).any()
    check_phase_consistency(feeder, out)
    # No bus loses a phase.
    assert ((masks & ~out) == 0).all()
    # Exactly the union of its own and its subtree's original phases.
    assert np.array_equal(out, reference_union(feeder, masks))
    # Idempotent, and a single realisation gives the same as a batch row.
    assert np.array_equal(enforce_phase_consistency(feeder, out), out)
    assert np.array_equal(enforce_phase_consistency(feeder, masks[0]), out[0])


@settings(max_examples=100, deadline=None)
@given(trees_and_masks())
def test_fill_unserved_keeps_consistency_and_served_buses(case) -> None:  # type: ignore[no-untyped-def]
    feeder, masks = case
    enforced = enforce_phase_consistency(feeder, masks)
    filled = fill_unserved_phases(feeder, enforced)
    assert (filled != 0).all()
    assert not phase_inconsistencies(feeder, filled).any()
    served = enforced != 0
    assert np.array_equal(filled[served], enforced[served])


def test_checker_names_every_offending_bus_and_its_parent(small_feeder: Feeder) -> None:
    ids = list(small_feeder.bus_id)
    masks = np.full(len(ids), 7, dtype=np.uint8)
    masks[ids.index("a")] = mask_from_phases("A")
    masks[ids.index("c")] = mask_from_phases("BC")
    masks[ids.index("b")] = mask_from_phases("A")  # fine: subset of a
    with pytest.raises(PhaseConsistencyError) as info:
        check_phase_consistency(small_feeder, masks)
    text = str(info.value)
    assert "1 phase inconsistencies" in text
    assert "bus 'c' has BC but its parent 'a' has A" in text
    assert "'b'" not in text
    assert isinstance(info.value, ValueError)


def test_large_batches_match_the_reference() -> None:
    feeder = random_tree(2000, 3)
    rng = np.random.default_rng(0)
    masks = rng.choice(
        np.array([0, 1, 2, 4, 7], dtype=np.uint8), size=(50, 2000), p=[0.9, 0.03, 0.03, 0.03, 0.01]
    )
    assert np.array_equal(enforce_phase_consistency(feeder, masks), reference_union(feeder, masks))


def test_mask_helpers() -> None:
    assert [mask_from_phases(p) for p in ("A", "b", "C", "AB", "CA", "bc", "ABC", "")] == [
        1,
        2,
        4,
        3,
        5,
        6,
        7,
        0,
    ]
    assert [phases_from_mask(m) for m in range(8)] == ["", "A", "B", "AB", "C", "AC", "BC", "ABC"]
    assert PHASE_NAMES[5] == "CA"
    assert n_phases(np.arange(8)).tolist() == [0, 1, 1, 2, 1, 2, 2, 3]
    with pytest.raises(ValueError, match="only the letters A, B and C"):
        mask_from_phases("AN")


@pytest.mark.parametrize(
    ("masks", "message"),
    [
        (np.zeros((2, 4), dtype=np.uint8), r"expected \(5,\) or \(n_realisations, 5\)"),
        (np.full(5, 8), "between 0 and 7"),
        (np.full(5, 0.5), "integer phase masks"),
    ],
)
def test_bad_masks_are_rejected(small_feeder: Feeder, masks: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        enforce_phase_consistency(small_feeder, masks)
