"""One spanning-forest builder for every network reader: meshed or radial, one source or several.

Every reader (pandapower nets for training and for unbalancing, areas, third-party readers) turns
a network's closed branches into a radial feeder with the same rules:

1. **Branches.** Only closed, in-service branches are edges; elements joining the same two buses
   are *parallel*: one edge, whose length is the shortest of them (the others close no loop).
   Links without a length (transformers, closed bus-bus switches) get :data:`LINK_LENGTH_KM`.
2. **Sources.** The tree grows breadth-first from every source at once, so each bus hangs below
   the source it reaches in the fewest branches. The first source is the feeder's source; the
   other sources' trees hang below it by a link, and their buses are marked three-phase.
3. **Loops.** A branch whose two buses are both in the tree but neither is the other's parent
   closes a loop: it is left out of the tree and listed, and every bus on that loop is marked
   three-phase (a meshed part of a network is three-phase in practice).
4. **Islands.** Buses no source reaches are left out and listed.

The result is index arrays only (NumPy and SciPy's breadth-first search), in O(buses + branches).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import breadth_first_order

from ..errors import FeederValidationError

__all__ = ["LINK_LENGTH_KM", "SpanningForest", "spanning_forest"]

#: Length [km] given to links that have none (transformers, closed bus-bus switches).
LINK_LENGTH_KM = 1e-6


@dataclass(frozen=True, eq=False)
class SpanningForest:
    """A radial tree over a network's nodes (see the module rules).

    Attributes
    ----------
    order : ndarray of int, shape (n,)
        Input node index of every tree bus, in breadth-first order (the source first).
    parent : ndarray of int, shape (n,)
        Position in ``order`` of each tree bus's parent; -1 at the source.
    length_km : ndarray of float, shape (n,)
        Length [km] of the branch into each tree bus (0 at the source).
    element : list of str
        The element of the branch into each tree bus ('' at the source and for source links).
    on_loop : ndarray of bool, shape (n,)
        Buses on a loop that was opened, and the sources' buses.
    loop_elements : tuple of str
        Elements left out because they close loops.
    unreached : ndarray of int
        Input node indices no source reaches.
    """

    order: np.ndarray
    parent: np.ndarray
    length_km: np.ndarray
    element: list[str]
    on_loop: np.ndarray
    loop_elements: tuple[str, ...]
    unreached: np.ndarray

    def __repr__(self) -> str:
        return (
            f"SpanningForest(buses={self.order.size}, loops_opened={len(self.loop_elements)}, "
            f"unreached={self.unreached.size})"
        )


def spanning_forest(
    n_nodes: int,
    u: Sequence[int] | np.ndarray,
    v: Sequence[int] | np.ndarray,
    length_km: Sequence[float] | np.ndarray,
    element: Sequence[str],
    sources: Sequence[int] | np.ndarray,
) -> SpanningForest:
    """The radial tree of a network by the module's rules.

    Parameters
    ----------
    n_nodes : int
        Number of nodes; branches and sources name nodes ``0 .. n_nodes - 1``.
    u, v : sequence of int
        The two nodes of every closed, in-service branch.
    length_km : sequence of float
        Branch lengths [km]; NaN or below :data:`LINK_LENGTH_KM` become that link length.
    element : sequence of str
        A label per branch, for messages and :attr:`SpanningForest.loop_elements`.
    sources : sequence of int
        Source nodes, the feeder's source first.

    Returns
    -------
    SpanningForest

    Raises
    ------
    FeederValidationError
        If there is no source, or a source or branch names a node out of range.

    Examples
    --------
    A ring of four buses fed at bus 0: the branch 2-3 closes the loop.

    >>> forest = spanning_forest(4, [0, 1, 0, 2], [1, 2, 3, 3], [1.0] * 4, list("abcd"), [0])
    >>> forest.order.tolist(), forest.parent.tolist(), forest.loop_elements
    ([0, 1, 3, 2], [-1, 0, 0, 1], ('d',))
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    length = np.asarray(length_km, dtype=float)
    labels = list(element)
    src = np.asarray(sources, dtype=np.int64)
    if src.size == 0:
        raise FeederValidationError("the network has no source to grow a feeder from.")
    for name, values in (("sources", src), ("branches", np.r_[u, v])):
        bad = (values < 0) | (values >= n_nodes)
        if bad.any():
            raise FeederValidationError(
                f"{name} name nodes {values[bad][:10].tolist()} that do "
                f"not exist (there are {n_nodes})."
            )
    if not (u.size == v.size == length.size == len(labels)):
        raise FeederValidationError("u, v, length_km and element must have one entry per branch.")
    length = np.where(np.isfinite(length), np.maximum(length, LINK_LENGTH_KM), LINK_LENGTH_KM)
    keep = u != v
    u, v, length = u[keep], v[keep], length[keep]
    labels = [label for label, k in zip(labels, keep.tolist()) if k]
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    # Parallel elements share one edge, the shortest; its first element names it.
    key = lo * n_nodes + hi
    by_key = np.lexsort((length, key))
    first = np.ones(by_key.size, dtype=bool)
    first[1:] = key[by_key][1:] != key[by_key][:-1]
    edge_rows = by_key[first]
    members: dict[int, list[str]] = {}
    for row in by_key.tolist():
        members.setdefault(int(key[row]), []).append(labels[row])
    a, b = lo[edge_rows], hi[edge_rows]

    unique_src, at = np.unique(src, return_index=True)
    src = unique_src[np.argsort(at)]  # unique, the given order kept
    virtual = n_nodes
    ends_a = np.r_[a, np.full(src.size, virtual)]
    ends_b = np.r_[b, src]
    adj = csr_array(
        (np.ones(2 * ends_a.size), (np.r_[ends_a, ends_b], np.r_[ends_b, ends_a])),
        shape=(n_nodes + 1, n_nodes + 1),
    )
    order, pred = breadth_first_order(adj, virtual, directed=False, return_predecessors=True)
    order = order[1:]
    # The first source leads; the BFS may meet the sources in another order.
    head = int(src[0])
    order = np.r_[head, order[order != head]]
    reached = np.zeros(n_nodes + 1, dtype=bool)
    reached[order] = True
    parent_node = pred.astype(np.int64)
    roots = order[parent_node[order] == virtual]
    parent_node[roots] = head
    parent_node[head] = -1
    position = np.full(n_nodes + 1, -1, dtype=np.int64)
    position[order] = np.arange(order.size)
    parent = np.where(parent_node[order] >= 0, position[np.maximum(parent_node[order], 0)], -1)

    edge_length = dict(zip((a * n_nodes + b).tolist(), length[edge_rows].tolist()))
    tree_length = np.zeros(order.size)
    tree_element = [""] * order.size
    tree_keys = set()
    for i, node in enumerate(order.tolist()):
        p = int(parent_node[node])
        if p < 0:
            continue
        k = min(p, node) * n_nodes + max(p, node)
        if k in edge_length:
            tree_length[i] = edge_length[k]
            tree_element[i] = members[k][0]
            tree_keys.add(k)
        else:  # a link from the leading source to another source's tree
            tree_length[i] = LINK_LENGTH_KM
    on_loop = np.zeros(order.size, dtype=bool)
    on_loop[position[src[reached[src]]]] = True
    depth = np.zeros(order.size, dtype=np.int64)
    for i in range(1, order.size):
        depth[i] = depth[parent[i]] + 1
    loop_elements: list[str] = []
    for ka, kb in zip(a.tolist(), b.tolist()):
        k = ka * n_nodes + kb
        if k in tree_keys or not (reached[ka] and reached[kb]):
            continue
        loop_elements.extend(members[k])
        x, y = int(position[ka]), int(position[kb])
        while x != y:  # both ends up to their common ancestor: the loop's buses
            on_loop[x] = on_loop[y] = True
            if depth[x] >= depth[y]:
                x = int(parent[x])
            else:
                y = int(parent[y])
        on_loop[x] = True
    return SpanningForest(
        order=order,
        parent=parent,
        length_km=tree_length,
        element=tree_element,
        on_loop=on_loop,
        loop_elements=tuple(loop_elements),
        unreached=np.flatnonzero(~reached[:n_nodes]),
    )
