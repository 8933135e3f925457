"""Bottom-up cutting of a tree into groups within limits (feeders, LV networks).

Used by the area partition (:mod:`bayesgrid_plugins.area.partition`: feeders and LV networks)
and by the feeder split of planning (:func:`bayesgrid_plugins.planning.split_feeders`); its own
module so that neither depends on the other.
"""

from __future__ import annotations

import numpy as np

__all__ = ["children", "cut_pass"]


def children(parent: np.ndarray) -> list[list[int]]:
    """Children of every bus, from the parent array (-1 at roots)."""
    kids: list[list[int]] = [[] for _ in range(parent.size)]
    for child, par in enumerate(parent.tolist()):
        if par >= 0:
            kids[par].append(child)
    return kids


def cut_pass(
    order: list[int],
    kids: list[list[int]],
    blocked: np.ndarray,
    own_a: np.ndarray,
    own_b: np.ndarray,
    limit_a: float,
    limit_b: float,
    *,
    reach: bool,
) -> np.ndarray:
    """Bottom-up cutting: returns the buses whose subtree was cut off from its parent.

    Quantity ``a`` adds up over a subtree; quantity ``b`` adds up (``reach=False``) or is the
    largest ``own_b[child] + acc_b[child]`` over children (``reach=True``, a distance).
    ``blocked`` buses never join their parent's group (already cut, or a source).
    """
    n = own_a.size
    acc_a = np.zeros(n)
    acc_b = np.zeros(n)
    cut = np.zeros(n, dtype=bool)
    acc_a_l = acc_a.tolist()
    acc_b_l = acc_b.tolist()
    own_a_l, own_b_l = own_a.tolist(), own_b.tolist()
    blocked_l = blocked.tolist()
    for v in reversed(order):
        group = [c for c in kids[v] if not blocked_l[c] and not cut[c]]
        a = own_a_l[v] + sum(acc_a_l[c] for c in group)
        if reach:
            b = max((own_b_l[c] + acc_b_l[c] for c in group), default=0.0)
        else:
            b = own_b_l[v] + sum(acc_b_l[c] for c in group)
        while group and (a > limit_a or b > limit_b):
            if reach:
                score = [
                    max(acc_a_l[c] / limit_a, (own_b_l[c] + acc_b_l[c]) / limit_b) for c in group
                ]
            else:
                score = [max(acc_a_l[c] / limit_a, acc_b_l[c] / limit_b) for c in group]
            worst = group.pop(int(np.argmax(score)))
            cut[worst] = True
            a -= acc_a_l[worst]
            if reach:
                b = max((own_b_l[c] + acc_b_l[c] for c in group), default=0.0)
            else:
                b -= acc_b_l[worst]
        acc_a_l[v], acc_b_l[v] = a, b
    return cut
