"""Convergence diagnostics of a NUTS fit: r-hat, effective sample size, divergences.

:func:`diagnose` is called after every fit. It logs ArviZ's diagnostics table (r-hat, ESS,
MCSE per variable) and the worst figures and, when the largest r-hat exceeds
:data:`RHAT_LIMIT`, the smallest bulk ESS is below :data:`ESS_MIN_ADVISED` or any transition
diverged, issues a :class:`ConvergenceWarning` (and logs a warning) saying what to do, so a
doubtful posterior is never written silently.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = [
    "ESS_MIN_ADVISED",
    "RHAT_LIMIT",
    "ConvergenceWarning",
    "Diagnostics",
    "diagnose",
    "import_arviz",
]

logger = logging.getLogger(__name__)

#: Largest acceptable split r-hat (rank-normalised).
RHAT_LIMIT = 1.01
#: Smallest acceptable bulk effective sample size: below it, tail quantiles of the posterior
#: (the 5 % and 95 % an ensemble spreads over) are not stable to about +-0.01.
ESS_MIN_ADVISED = 400


def import_arviz() -> Any:
    """Import ArviZ without its import-time FutureWarning about its coming refactor."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"arviz(\.|$)")
        import arviz

    return arviz


class ConvergenceWarning(UserWarning):
    """A NUTS fit did not converge well (r-hat above the limit, too few effective draws, or
    divergent transitions)."""


@dataclass(frozen=True)
class Diagnostics:
    """Summary of a fit's convergence.

    Attributes
    ----------
    rhat_max : float
        Largest rank-normalised split r-hat over every scalar of the posterior.
    ess_bulk_min, ess_tail_min : float
        Smallest bulk and tail effective sample size.
    divergences : int
        Number of divergent transitions after tuning.
    worst : str
        Variable with the largest r-hat.
    """

    rhat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    worst: str

    @property
    def ok(self) -> bool:
        """True when r-hat is within :data:`RHAT_LIMIT`, the bulk ESS is at least
        :data:`ESS_MIN_ADVISED` and nothing diverged."""
        return (
            self.rhat_max <= RHAT_LIMIT
            and self.ess_bulk_min >= ESS_MIN_ADVISED
            and self.divergences == 0
        )

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain JSON-ready values."""
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _min_max(dataset: Any) -> tuple[float, float, str]:
    lowest, highest, worst = np.inf, -np.inf, ""
    for name, values in dataset.data_vars.items():
        arr = np.asarray(values, dtype=float)
        if arr.size == 0 or np.isnan(arr).all():
            continue
        if np.nanmax(arr) > highest:
            highest, worst = float(np.nanmax(arr)), str(name)
        lowest = min(lowest, float(np.nanmin(arr)))
    return lowest, highest, worst


def diagnose(idata: Any, *, var_names: list[str] | None = None, warn: bool = True) -> Diagnostics:
    """Compute and report the convergence diagnostics of a fit.

    Parameters
    ----------
    idata : arviz.InferenceData
        The fit, with ``posterior`` and ``sample_stats`` groups.
    var_names : list of str, optional
        Variables to check; default every variable of the posterior.
    warn : bool, default True
        Issue a :class:`ConvergenceWarning` when the fit is doubtful.

    Returns
    -------
    Diagnostics
    """
    az = import_arviz()
    posterior = idata.posterior if var_names is None else idata.posterior[var_names]
    n_chains = posterior.sizes.get("chain", 1)
    if n_chains > 1:
        _, rhat_max, worst = _min_max(az.rhat(posterior))
    else:  # split r-hat of one chain still compares its two halves
        _, rhat_max, worst = _min_max(az.rhat(posterior, method="split"))
    ess_bulk, _, _ = _min_max(az.ess(posterior, method="bulk"))
    ess_tail, _, _ = _min_max(az.ess(posterior, method="tail"))
    divergences = int(np.asarray(idata.sample_stats["diverging"]).sum())
    with warnings.catch_warnings():
        # r-hat of a constant (a fixed zone, a capped concentration) is undefined: NaN.
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        table = az.summary(posterior, kind="diagnostics")
    logger.info("diagnostics by variable:\n%s", table.to_string())
    result = Diagnostics(
        rhat_max=float(rhat_max),
        ess_bulk_min=float(ess_bulk),
        ess_tail_min=float(ess_tail),
        divergences=divergences,
        worst=worst,
    )
    logger.info(
        "NUTS diagnostics: r-hat max %.4f (%s), ESS bulk min %.0f, ESS tail min %.0f, "
        "%d divergences",
        result.rhat_max,
        result.worst,
        result.ess_bulk_min,
        result.ess_tail_min,
        result.divergences,
    )
    if not result.ok:
        message = (
            "the NUTS fit may not be reliable: "
            + "; ".join(_advice(result))
            + (". The diagnostics are recorded in the posterior's provenance.")
        )
        logger.warning(message)
        if warn:
            warnings.warn(message, ConvergenceWarning, stacklevel=3)
    return result


def _advice(result: Diagnostics) -> list[str]:
    """What is wrong with a fit and what to do about it, one phrase per problem."""
    advice = []
    if result.rhat_max > RHAT_LIMIT:
        advice.append(
            f"r-hat max {result.rhat_max:.4f} above {RHAT_LIMIT} (worst variable "
            f"{result.worst!r}): the chains disagree; run more tuning steps (tune) and draws"
        )
    if result.ess_bulk_min < ESS_MIN_ADVISED:
        advice.append(
            f"ESS bulk min {result.ess_bulk_min:.0f} below {ESS_MIN_ADVISED}: too few effective "
            "draws for stable tail quantiles; run more draws or chains"
        )
    if result.divergences:
        advice.append(
            f"{result.divergences} divergent transitions: the sampler missed part of the "
            "posterior; raise target_accept (e.g. 0.95 or 0.99) and check the training data"
        )
    return advice
