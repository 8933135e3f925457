"""The folder of a run: a manifest, one feeder file per region, one ``.npz`` per chunk.

Layout::

    <out>/manifest.json                     settings, their digest, regions, chunk layout
    <out>/regions/<r>/feeder.npz            the region's feeder (written once)
    <out>/regions/<r>/chunks/<c>.npz        the results of one chunk (written once, atomically)
    <out>/regions/<r>/results.npz           every chunk of the region, stacked (when complete)
    <out>/summary.json                      written when every chunk is done

Every file is written through :mod:`bayesgrid_plugins.fileio` (temporary file, then rename), so
a chunk file either holds a finished chunk or does not exist. A chunk file also carries the
settings digest; a resumed run only reuses chunks of the same digest and refuses a folder whose
manifest describes different settings.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import BayesGridError, OutputExistsError, ParameterError
from ...fileio import atomic_write_bytes, atomic_write_text
from ...staging import is_our_output

__all__ = ["FORMAT", "RunStore", "load_results", "settings_digest"]

logger = logging.getLogger(__name__)

FORMAT = "bayesgrid-scale/1"
MANIFEST = "manifest.json"


def _is_scale_run(manifest: Path) -> bool:
    """Whether ``manifest`` is the manifest of a scale-out run."""
    try:
        document = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(document, dict) and document.get("format") == FORMAT


def settings_digest(settings: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a run's settings."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _npz_bytes(arrays: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    named: dict[str, Any] = {k: np.asarray(v) for k, v in arrays.items()}
    np.savez(buffer, **named)
    return buffer.getvalue()


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


class RunStore:
    """Reads and writes the folder of one run.

    Parameters
    ----------
    out : path
        The run's folder.
    settings : dict
        The run's settings (JSON-serialisable); their digest identifies the run.
    """

    def __init__(self, out: str | Path, settings: dict[str, Any]) -> None:
        self.out = Path(out)
        self.settings = settings
        self.digest = settings_digest(settings)

    # ------------------------------------------------------------------ paths
    def region_dir(self, region: int) -> Path:
        """Folder of region ``region``."""
        return self.out / "regions" / f"{region:03d}"

    def feeder_path(self, region: int) -> Path:
        """The region's stored feeder."""
        return self.region_dir(region) / "feeder.npz"

    def chunk_path(self, region: int, chunk: int) -> Path:
        """The file of one chunk."""
        return self.region_dir(region) / "chunks" / f"{chunk:05d}.npz"

    def results_path(self, region: int) -> Path:
        """The region's stacked results."""
        return self.region_dir(region) / "results.npz"

    # ------------------------------------------------------------------ opening
    def open(self, *, resume: bool, overwrite: bool, layout: dict[str, Any]) -> None:
        """Prepare the folder: start a new run, or check the manifest of the one to resume.

        Raises
        ------
        OutputExistsError
            The folder holds something and neither ``resume`` nor ``overwrite`` is given.
        ParameterError
            ``resume`` is given but the folder's manifest is of other settings.
        """
        manifest = self.out / MANIFEST
        if self.out.exists() and not self.out.is_dir():
            raise OutputExistsError(f"output folder {str(self.out)!r} is a file; choose another.")
        if resume and manifest.is_file():
            try:
                old = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise BayesGridError(
                    f"cannot read {str(manifest)!r} ({exc}); remove the folder or pass --overwrite."
                ) from exc
            if old.get("settings_sha256") != self.digest:
                changed = sorted(
                    k
                    for k in set(old.get("settings", {})) | set(self.settings)
                    if old.get("settings", {}).get(k) != self.settings.get(k)
                )
                raise ParameterError(
                    f"cannot resume {str(self.out)!r}: it holds a run of other settings "
                    f"(differing: {', '.join(changed) or 'format'}). Rerun with the same settings, "
                    "or choose another --out (or --overwrite to discard it)."
                )
            logger.info("resuming the run in %s", self.out)
            return
        if self.out.is_dir() and any(self.out.iterdir()):
            if not overwrite:
                hint = "" if resume else " pass --resume to continue it,"
                raise OutputExistsError(
                    f"output folder {str(self.out)!r} is not empty:{hint} pass --overwrite to "
                    "replace it, or choose another --out."
                )
            if not (is_our_output(self.out) or _is_scale_run(manifest)):
                raise OutputExistsError(
                    f"output folder {str(self.out)!r} holds files bayesgrid did not write (for "
                    f"example {sorted(p.name for p in self.out.iterdir())[:3]}), so --overwrite "
                    "will not replace it: choose another --out, or move those files away yourself."
                )
            shutil.rmtree(self.out)
        if not self.out.parent.exists():
            raise FileNotFoundError(
                f"the parent folder of {str(self.out)!r} does not exist; create it first."
            )
        self.out.mkdir(exist_ok=True)
        document = {
            "format": FORMAT,
            "settings_sha256": self.digest,
            "settings": self.settings,
            **layout,
        }
        atomic_write_text(manifest, json.dumps(document, indent=2), what="run manifest")

    def manifest(self) -> dict[str, Any]:
        """The manifest of the run in the folder."""
        return json.loads((self.out / MANIFEST).read_text(encoding="utf-8"))

    # ------------------------------------------------------------------ chunks
    def write_chunk(self, region: int, chunk: int, arrays: dict[str, Any]) -> Path:
        """Store one chunk's arrays (atomically) with the settings digest."""
        path = self.chunk_path(region, chunk)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {**arrays, "meta_settings_sha256": np.asarray(self.digest)}
        return atomic_write_bytes(path, _npz_bytes(payload), overwrite=True, what="chunk results")

    def read_chunk(self, region: int, chunk: int) -> dict[str, np.ndarray]:
        """One chunk's arrays (``meta_`` keys included)."""
        return _read_npz(self.chunk_path(region, chunk))

    def chunk_done(self, region: int, chunk: int, realisations: np.ndarray) -> bool:
        """Whether a valid file of this chunk, of this run's settings, exists."""
        path = self.chunk_path(region, chunk)
        if not path.is_file():
            return False
        try:
            data = self.read_chunk(region, chunk)
        except (OSError, ValueError) as exc:
            logger.warning("chunk file %s is unreadable (%s); it is recomputed", path, exc)
            return False
        same = str(data.get("meta_settings_sha256", "")) == self.digest and (
            "realisation" in data and np.array_equal(data["realisation"], realisations)
        )
        if not same:
            logger.warning("chunk file %s is of another run; it is recomputed", path)
        return same

    # ------------------------------------------------------------------ results
    def write_region_results(self, region: int, n_chunks: int) -> Path:
        """Stack the region's chunks into ``results.npz`` (``meta_`` keys dropped).

        Per-bus arrays such as ``vm_pu`` stay in the chunk files (they can be large).
        """
        parts = [self.read_chunk(region, c) for c in range(n_chunks)]
        keys = [k for k in parts[0] if not k.startswith("meta_") and k != "vm_pu"]
        stacked = {k: np.concatenate([p[k] for p in parts], axis=0) for k in keys}
        stacked["meta_settings_sha256"] = np.asarray(self.digest)
        return atomic_write_bytes(
            self.results_path(region), _npz_bytes(stacked), overwrite=True, what="region results"
        )

    def read_results(self, region: int) -> dict[str, np.ndarray]:
        """The region's stacked results."""
        return _read_npz(self.results_path(region))

    def write_summary(self, summary: dict[str, Any]) -> Path:
        """Write ``summary.json``."""
        return atomic_write_text(
            self.out / "summary.json", json.dumps(summary, indent=2), overwrite=True, what="summary"
        )


def load_results(out: str | Path, region: int | None = None) -> Any:
    """The stacked results of a finished run: a dict of arrays, or a list of them per region.

    Parameters
    ----------
    out : path
        The run's folder.
    region : int, optional
        One region's results; default every region's, in order.
    """
    out = Path(out)
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    n_regions = len(manifest["regions"])
    chosen = range(n_regions) if region is None else [region]
    results = []
    for r in chosen:
        path = out / "regions" / f"{r:03d}" / "results.npz"
        if not path.is_file():
            raise BayesGridError(
                f"{str(path)!r} is missing: the run in {str(out)!r} is not complete; resume it."
            )
        data = _read_npz(path)
        results.append({k: v for k, v in data.items() if not k.startswith("meta_")})
    return results[0] if region is not None else results
