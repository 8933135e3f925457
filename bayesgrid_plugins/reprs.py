"""Compact representations of result objects: their shape, a few ids and a few figures.

Every result object (ensembles, feeders, power-flow results, areas, unbalanced nets...) prints
as one line of a few hundred characters at most, whatever its size: ``repr`` of a dataclass
of large arrays would print every element.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["compact_repr", "id_preview", "value_range"]


def id_preview(ids: Sequence[Any] | np.ndarray, k: int = 3) -> str:
    """The first ``k`` ids and the last one: ``['s', 'a', 'b', ..., 'z']``.

    Examples
    --------
    >>> from bayesgrid_plugins.reprs import id_preview
    >>> id_preview(["s", "a", "b", "c", "d"])
    "['s', 'a', 'b', ..., 'd']"
    """
    values = [str(v) for v in np.asarray(ids).ravel().tolist()]
    if len(values) <= k + 1:
        return repr(values)
    return "[" + ", ".join(repr(v) for v in values[:k]) + f", ..., {values[-1]!r}]"


def value_range(values: Any, digits: int = 4) -> str:
    """``min..max`` of the finite values (one value when equal, ``nan`` when there are none).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesgrid_plugins.reprs import value_range
    >>> value_range(np.array([0.951234, np.nan, 1.02]))
    '0.9512..1.02'
    """
    a = np.asarray(values, dtype=float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return "nan"
    low, high = f"{a.min():.{digits}g}", f"{a.max():.{digits}g}"
    return low if low == high else f"{low}..{high}"


def compact_repr(name: str, **parts: Any) -> str:
    """``Name(key=value, ...)`` with floats to 4 significant digits; None values left out.

    Text with letters is quoted (a name); figures given as text (``"3/3"``, ``"0.95..1.02"``)
    and previews (``"[...]"``) are not.

    Examples
    --------
    >>> from bayesgrid_plugins.reprs import compact_repr
    >>> compact_repr("Ensemble", n=10, p_kw_mean=1.234567, crs=None)
    'Ensemble(n=10, p_kw_mean=1.235)'
    """
    shown = []
    for key, value in parts.items():
        if value is None:
            continue
        if isinstance(value, (float, np.floating)):
            text = f"{float(value):.4g}"
        elif (
            isinstance(value, str)
            and not value.startswith(("[", "("))
            and re.search("[A-Za-z]", value)
        ):
            text = repr(value)  # a name; figures such as '3/3' or '0.95..1.02' stay bare
        else:
            text = str(value)
        shown.append(f"{key}={text}")
    return f"{name}({', '.join(shown)})"
