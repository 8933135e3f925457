"""Tables in the paper's layout (Table I: mean active power per phase; Table II: phase mix).

Each function returns text: ``fmt="text"`` for a terminal, ``fmt="markdown"`` for the docs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...feeder import Feeder
from ...models.power import PowerParameters
from .metrics import Comparison

__all__ = [
    "PAPER_TABLE_I",
    "PAPER_TABLE_II",
    "expected_p3",
    "render",
    "table_i",
    "table_ii",
    "table_metrics",
    "table_zones",
]

#: The paper's Table I (IEEE European LV, transfer from SMART-DS): phase -> (real kW,
#: synthetic kW, MAPE %).
PAPER_TABLE_I = {"A": (0.454, 0.423, 7.29), "B": (0.434, 0.455, 4.72), "C": (0.464, 0.483, 3.92)}
#: The paper's Table II: quantity -> (real, synthetic).
PAPER_TABLE_II = {
    "p3": (0.1111, 0.1242),
    "pA": (0.3350, 0.3819),
    "pB": (0.3296, 0.3454),
    "pC": (0.3354, 0.2728),
}


def _cell(value: float | None, digits: int) -> str:
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:.{digits}f}"


def _nanmax(values: np.ndarray) -> float:
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(finite.max()) if finite.size else float("nan")


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], fmt: str = "text") -> str:
    """Rows of cells as an aligned text table or a Markdown table."""
    if fmt == "markdown":
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    if fmt != "text":
        raise ValueError(f"fmt must be 'text' or 'markdown', got {fmt!r}")
    table = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(r[c]) for r in table) for c in range(len(headers))]
    out = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in table]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def table_i(
    comparison: Comparison,
    *,
    paper: bool = False,
    baseline: Comparison | None = None,
    fmt: str = "text",
) -> str:
    """Table I: mean active power per phase [kW], real vs synthetic, and MAPE [%].

    With ``baseline`` (for example the constant baseline of
    :func:`~.skill.constant_conditioned`), its values and MAPE stand beside the model's.
    """
    headers = ["Phase", "Real [kW]", "Synthetic [kW]", "MAPE [%]"]
    if baseline is not None:
        headers += ["Baseline [kW]", "Baseline MAPE [%]"]
    if paper:
        headers += ["Paper real", "Paper synthetic", "Paper MAPE [%]"]
    rows = []
    for j, phase in enumerate("ABC"):
        row = [
            phase,
            _cell(comparison.real.mean_p_kw[j], 3),
            _cell(comparison.synthetic.mean_p_kw[j], 3),
            _cell(comparison.mape_percent[j], 2),
        ]
        if baseline is not None:
            row += [
                _cell(baseline.synthetic.mean_p_kw[j], 3),
                _cell(baseline.mape_percent[j], 2),
            ]
        if paper:
            pr, ps, pm = PAPER_TABLE_I[phase]
            row += [f"{pr:.3f}", f"{ps:.3f}", f"{pm:.2f}"]
        rows.append(row)
    return render(headers, rows, fmt)


def expected_p3(params: PowerParameters, feeder: Feeder) -> float:
    """The posterior mean of p3 averaged over a feeder's load buses (by their zones)."""
    zone = feeder.zone[feeder.load_buses]
    return float(params.p3.mean(axis=0)[zone].mean()) if zone.size else float("nan")


def table_ii(
    comparison: Comparison,
    *,
    paper: bool = False,
    posterior: tuple[PowerParameters, Feeder] | None = None,
    fmt: str = "text",
) -> str:
    """Table II: p3, pA, pB, pC, real vs synthetic.

    With ``posterior=(params, feeder)`` a column gives the posterior means the model samples
    from (p3 averaged over the feeder's load buses by zone).
    """
    headers = ["Quantity", "Real", "Synthetic"]
    prior = None
    if posterior is not None:
        params, feeder = posterior
        probs = params.phase_probs.mean(axis=0)
        prior = [expected_p3(params, feeder), *probs.tolist()]
        headers.append("Posterior mean")
    if paper:
        headers += ["Paper real", "Paper synthetic"]
    real, syn = comparison.real, comparison.synthetic
    values = {
        "p3": (real.p3, syn.p3),
        "pA": (real.phase_shares[0], syn.phase_shares[0]),
        "pB": (real.phase_shares[1], syn.phase_shares[1]),
        "pC": (real.phase_shares[2], syn.phase_shares[2]),
    }
    rows = []
    for i, (name, (r, s)) in enumerate(values.items()):
        row = [name, _cell(r, 4), _cell(s, 4)]
        if prior is not None:
            row.append(_cell(prior[i], 4))
        if paper:
            row += [f"{v:.4f}" for v in PAPER_TABLE_II[name]]
        rows.append(row)
    return render(headers, rows, fmt)


def table_zones(comparison: Comparison, *, fmt: str = "text") -> str:
    """p3 per zone of normalised distance: loads, real and synthetic p3."""
    real, syn = comparison.real, comparison.synthetic
    headers = ["Zone", "d range", "Loads", "Real p3", "Synthetic p3"]
    nz = real.p3_zone.size
    rows = [
        [
            str(z),
            f"{z / nz:.1f}-{(z + 1) / nz:.1f}",
            f"{real.loads_zone[z]:.0f}",
            _cell(real.p3_zone[z], 3),
            _cell(syn.p3_zone[z], 3),
        ]
        for z in range(nz)
    ]
    return render(headers, rows, fmt)


def table_metrics(results: dict[str, Comparison], *, fmt: str = "text") -> str:
    """One row per labelled comparison: MAPE per phase, KS of P, p3 and share errors, line mix."""
    headers = [
        "Case",
        "MAPE A [%]",
        "MAPE B [%]",
        "MAPE C [%]",
        "KS(P)",
        "|dp3|",
        "max |dpX|",
        "TV(line phases)",
    ]
    rows = [
        [
            label,
            *(_cell(v, 2) for v in c.mape_percent),
            _cell(c.ks_p, 3),
            _cell(c.p3_abs_error, 4),
            _cell(_nanmax(c.phase_share_abs_error), 4),
            _cell(c.line_mix_tv, 3),
        ]
        for label, c in results.items()
    ]
    return render(headers, rows, fmt)
