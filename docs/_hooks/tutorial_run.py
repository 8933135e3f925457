"""Run a tutorial script as a notebook at build time and keep what each cell showed.

The tutorials (``docs/tutorials/NN_*.py``, jupytext percent format) are executed cell by cell
with Jupyter's own executor (``nbclient`` on an ``ipykernel``), in an empty temporary working
folder, so nothing they write lands in the source tree. For every code cell the page gets what
it printed (stdout, stderr, the value of its last expression) and the figures it saved: every
``.png`` file that appeared or changed in the working folder during the cell.

Results are cached by the script's content, the package version and the Python version in
``.cache/bayesgrid-docs/`` of the repository, so a tutorial that takes minutes (a NUTS fit)
runs once per change, not once per build. ``BAYESGRID_DOCS_EXECUTE`` chooses what runs:
``all`` (default), ``none``, or a comma-separated list of tutorial stems (``01_topology``);
a tutorial that is not run shows its code only, with a note.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CellOutput", "executed", "selected"]

ENV_VAR = "BAYESGRID_DOCS_EXECUTE"
#: Seconds one cell may run.
CELL_TIMEOUT_S = 1800


@dataclass
class CellOutput:
    """What one code cell showed: text and PNG figures (bytes)."""

    text: str = ""
    figures: list[bytes] = field(default_factory=list)


def selected(stem: str, environ: dict[str, str] | None = None) -> bool:
    """Whether tutorial ``stem`` is executed in this build (see ``BAYESGRID_DOCS_EXECUTE``)."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "all").strip()
    if value in ("", "all"):
        return True
    if value == "none":
        return False
    return stem in {part.strip() for part in value.split(",")}


def _cache_key(path: Path) -> str:
    import bayesgrid_plugins

    digest = hashlib.sha256(path.read_bytes())
    digest.update(f"{bayesgrid_plugins.__version__} {sys.version_info[:2]}".encode())
    return digest.hexdigest()[:20]


def _pngs(folder: Path) -> dict[Path, float]:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*.png")}


def _text_of(outputs: list) -> str:
    parts: list[str] = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            parts.append(out.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            data = out.get("data", {})
            if "text/plain" in data and "image/png" not in data:
                parts.append(data["text/plain"] + "\n")
        elif kind == "error":
            parts.append("\n".join(out.get("traceback", [])) + "\n")
    return "".join(parts)


def _run(path: Path) -> list[CellOutput]:
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(path, fmt="py:percent")
    results: list[CellOutput] = []
    with tempfile.TemporaryDirectory(prefix=f"bayesgrid-docs-{path.stem}-") as work:
        folder = Path(work)
        client = NotebookClient(
            notebook,
            timeout=CELL_TIMEOUT_S,
            kernel_name="python3",
            resources={"metadata": {"path": str(folder)}},
            # the kernel's own start-up notes are not the tutorial's output
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
        with client.setup_kernel(cwd=str(folder)):
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                before = _pngs(folder)
                client.execute_cell(cell, index)
                after = _pngs(folder)
                new = sorted(p for p, t in after.items() if before.get(p) != t)
                figures = [p.read_bytes() for p in new]
                for out in cell.get("outputs", []):
                    png = out.get("data", {}).get("image/png")
                    if png:
                        figures.append(base64.b64decode(png))
                results.append(CellOutput(_text_of(cell.get("outputs", [])), figures))
    return results


def executed(path: Path, cache_dir: Path) -> list[CellOutput]:
    """The outputs of every code cell of tutorial ``path``, from the cache or a fresh run.

    Raises
    ------
    nbclient.exceptions.CellExecutionError
        If a cell fails: a tutorial that does not run breaks the build.
    """
    cache = cache_dir / f"{path.stem}-{_cache_key(path)}.json"
    if cache.is_file():
        stored = json.loads(cache.read_text(encoding="utf-8"))
        return [CellOutput(c["text"], [base64.b64decode(f) for f in c["figures"]]) for c in stored]
    results = _run(path)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for old in cache_dir.glob(f"{path.stem}-*.json"):
        old.unlink()
    cache.write_text(
        json.dumps(
            [
                {"text": c.text, "figures": [base64.b64encode(f).decode() for f in c.figures]}
                for c in results
            ]
        ),
        encoding="utf-8",
    )
    return results
