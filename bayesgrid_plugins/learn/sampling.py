"""Which NUTS implementation runs a PyMC model, and the compilation caches that make it fast.

Three samplers are offered, all through PyMC (``pymc.sample``; for NumPyro the function
``pymc.sample`` hands over to, ``pymc.sampling.jax.sample_jax_nuts``):

- ``"numpyro"`` (default): NumPyro's NUTS on JAX. JAX keeps its compiled programs in a
  persistent cache (:func:`jax_cache_dir`, in the user's cache folder), so only the first fit
  of a model on a machine pays for the compilation.
- ``"pymc"``: PyMC's own NUTS over PyTensor's C backend (compile cache in ``~/.pytensor``).
- ``"nutpie"``: nutpie's Rust NUTS over a Numba-compiled model (``pip install nutpie``).

When JAX or NumPyro is missing, ``"numpyro"`` falls back to ``"pymc"`` with a logged warning
naming the packages to install. PyMC, JAX and NumPyro are imported inside the functions only.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import time
import warnings
from pathlib import Path
from typing import Any

from ..errors import ParameterError

__all__ = [
    "DEFAULT_SAMPLER",
    "SAMPLERS",
    "enable_jax_cache",
    "jax_cache_dir",
    "resolve_sampler",
    "run_nuts",
    "sampler_versions",
]

logger = logging.getLogger(__name__)

#: The NUTS implementations accepted by ``sampler`` arguments and ``bayesgrid train --sampler``.
SAMPLERS: tuple[str, ...] = ("numpyro", "pymc", "nutpie")
#: The sampler used when none is given.
DEFAULT_SAMPLER = "numpyro"
#: Environment variable that moves JAX's compilation cache (default: the user's cache folder).
CACHE_ENV = "BAYESGRID_JAX_CACHE_DIR"

_INSTALL_HINT = {
    "numpyro": "pip install jax jaxlib numpyro (or reinstall bayesgrid: they are dependencies)",
    "nutpie": "pip install nutpie",
}


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def resolve_sampler(sampler: str | None) -> str:
    """The sampler that will run for the requested one.

    Parameters
    ----------
    sampler : {"numpyro", "pymc", "nutpie"} or None
        Requested NUTS implementation; None means :data:`DEFAULT_SAMPLER`.

    Returns
    -------
    str
        ``sampler``, or ``"pymc"`` when ``"numpyro"`` was asked for but JAX or NumPyro is not
        installed (a warning saying what to install is logged).

    Raises
    ------
    ParameterError
        For an unknown name, or ``"nutpie"`` when nutpie is not installed.
    """
    name = DEFAULT_SAMPLER if sampler is None else str(sampler).strip().lower()
    if name not in SAMPLERS:
        raise ParameterError(f"sampler must be one of {list(SAMPLERS)}, got {sampler!r}")
    if name == "numpyro" and not _installed("jax", "numpyro"):
        logger.warning(
            "JAX/NumPyro is not installed, so the fit runs with PyMC's own NUTS, which is about "
            "three times slower; for the fast sampler: %s",
            _INSTALL_HINT["numpyro"],
        )
        return "pymc"
    if name == "nutpie" and not _installed("nutpie"):
        raise ParameterError(
            f"sampler='nutpie' needs the nutpie package: {_INSTALL_HINT['nutpie']}, or choose "
            "sampler='numpyro' (the default) or 'pymc'."
        )
    return name


def jax_cache_dir() -> Path:
    """Folder of JAX's persistent compilation cache: ``$BAYESGRID_JAX_CACHE_DIR`` if set, else
    ``<user cache folder>/bayesgrid/jax`` (platformdirs)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("bayesgrid")) / "jax"


def enable_jax_cache(path: str | os.PathLike[str] | None = None, *, devices: int = 1) -> Path:
    """Turn on JAX's persistent compilation cache, for small programs too.

    Parameters
    ----------
    path : path-like, optional
        Cache folder; default :func:`jax_cache_dir`.
    devices : int, default 1
        CPU devices JAX should expose so that chains run in parallel. Takes effect only when
        JAX has not started its CPU backend yet in this process (``XLA_FLAGS`` is read then).

    Returns
    -------
    Path
        The cache folder.
    """
    folder = Path(path) if path is not None else jax_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    flags = os.environ.get("XLA_FLAGS", "")
    if devices > 1 and "host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = (
            f"{flags} --xla_force_host_platform_device_count={int(devices)}".strip()
        )
    import jax

    jax.config.update("jax_compilation_cache_dir", str(folder))
    # By default only programs that compiled for more than a second are kept; the model's
    # gradient and the sampler's warm-up and draw loops are each cheaper than that.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return folder


def sampler_versions(sampler: str) -> dict[str, str]:
    """Versions of the packages a sampler runs on, for the provenance of a fit."""
    from importlib.metadata import PackageNotFoundError, version

    packages = {"numpyro": ("pymc", "pytensor", "jax", "numpyro"), "nutpie": ("pymc", "nutpie")}
    out = {}
    for package in (*packages.get(sampler, ("pymc", "pytensor")), "arviz"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:  # pragma: no cover - reported as missing
            out[package] = "not installed"
    return out


def _sample_numpyro(model: Any, kwargs: dict[str, Any]) -> Any:
    """NumPyro's NUTS through PyMC's JAX entry point, with the arguments ``pm.sample`` forwards.

    ``pm.sample(nuts_sampler="numpyro")`` first assigns PyMC's own step methods, which builds the
    model's gradient graph for a sampler that then does not run (2-4 s of a warm fit on two
    busy cores); it then passes these arguments unchanged to
    ``pymc.sampling.jax.sample_jax_nuts``, so the draws are the same.
    """
    from pymc.sampling.jax import sample_jax_nuts

    options = dict(kwargs)
    options.pop("nuts_sampler")
    extra = options.pop("nuts_sampler_kwargs", {})
    with model:
        return sample_jax_nuts(model=model, nuts_sampler="numpyro", **options, **extra)


def run_nuts(
    model: Any,
    *,
    sampler: str | None = None,
    draws: int,
    tune: int,
    chains: int,
    cores: int = 1,
    seed: int,
    target_accept: float = 0.8,
    progressbar: bool = False,
    mode: str | None = None,
) -> tuple[Any, str]:
    """Sample a PyMC model with NUTS; return ``(idata, sampler actually used)``.

    Parameters
    ----------
    model : pymc.Model
        The model to sample.
    sampler : {"numpyro", "pymc", "nutpie"}, optional
        See :func:`resolve_sampler`; default :data:`DEFAULT_SAMPLER`.
    draws, tune, chains : int
        Draws and tuning steps per chain, number of chains.
    cores : int, default 1
        Chains run in parallel on this many processes (PyMC) or CPU devices (NumPyro). The
        draws do not depend on it.
    seed : int
        Random seed. The same seed, sampler and library versions give the same draws; with
        NumPyro also the same chain method (parallel when JAX has a CPU device per chain,
        recorded as ``idata.sample_stats.attrs["chain_method"]``).
    target_accept : float, default 0.8
        NUTS target acceptance rate.
    progressbar : bool, default False
        Show the sampler's progress bar.
    mode : str, optional
        PyTensor compilation mode for ``sampler="pymc"`` (e.g. ``"NUMBA"``).

    Returns
    -------
    idata : arviz.InferenceData
        With ``posterior`` and ``sample_stats`` (``diverging`` among them).
    sampler : str
        The sampler that ran.
    """
    name = resolve_sampler(sampler)
    import pymc as pm

    kwargs: dict[str, Any] = {
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "random_seed": seed,
        "progressbar": progressbar,
        "compute_convergence_checks": False,
        "nuts_sampler": name,
        "target_accept": target_accept,
    }
    if name == "numpyro":
        enable_jax_cache(devices=max(cores, 1))
        import jax

        parallel = cores > 1 and chains > 1 and jax.local_device_count() >= chains
        if cores > 1 and chains > 1 and not parallel:
            logger.info(
                "JAX started with %d CPU device(s) before bayesgrid could ask for %d, so the "
                "chains run one after the other (slower, and other draws than in parallel); set "
                "XLA_FLAGS=--xla_force_host_platform_device_count=%d before the first JAX use",
                jax.local_device_count(),
                chains,
                chains,
            )
        kwargs["nuts_sampler_kwargs"] = {"chain_method": "parallel" if parallel else "sequential"}
    elif name == "pymc":
        kwargs["cores"] = cores
        if mode is not None:
            kwargs["compile_kwargs"] = {"mode": mode}
    method = kwargs.get("nuts_sampler_kwargs", {}).get("chain_method", "")
    logger.info(
        "NUTS with %s: %d chains x (%d tune + %d draws)%s",
        name,
        chains,
        tune,
        draws,
        f", chains {method}, cache {jax_cache_dir()}" if name == "numpyro" else "",
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Harmless for these element-wise models: PyTensor found no BLAS library.
        warnings.filterwarnings(
            "ignore", message="PyTensor could not link to a BLAS", category=UserWarning
        )
        # JAX on CPU cannot reuse the draws' buffers when PyMC computes deterministics: harmless.
        warnings.filterwarnings(
            "ignore", message="Some donated buffers were not usable", category=UserWarning
        )
        if name == "numpyro":
            idata = _sample_numpyro(model, kwargs)
        else:
            with model:
                idata = pm.sample(**kwargs)
    elapsed = time.perf_counter() - start
    if method:
        idata.sample_stats.attrs["chain_method"] = method
    diverging = idata.sample_stats["diverging"].sum(dim="draw").values.tolist()
    logger.info(
        "sampled %d chains x %d draws in %.1f s; divergences per chain: %s",
        chains,
        draws,
        elapsed,
        diverging,
    )
    return idata, name
