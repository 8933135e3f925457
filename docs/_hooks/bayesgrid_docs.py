"""MkDocs hooks of the bayesgrid site.

- The tutorials (``docs/tutorials/*.py``, jupytext percent format) become Markdown pages:
  Markdown cells as text, code cells as Python blocks followed by what they printed and the
  figures they saved when run at build time (``tutorial_run``), with a link to the script.
- MathJax is served from the site itself (no CDN).
- The API reference pages are generated from the ``__all__`` of the public modules, one
  mkdocstrings block per public function and class, so the reference follows the code.
- The feature guides written alongside each feature are listed in the navigation when their
  page exists; the validation page gets a placeholder until its results are written.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.plugins.bayesgrid")

DOCS = Path(__file__).resolve().parents[1]

#: Feature guides, in navigation order: (title, page). Missing pages are left out.
GUIDES = [
    ("Topology from OpenStreetMap", "topology.md"),
    ("Power model and learning", "learning.md"),
    ("Load classes and phase balancing", "balancing.md"),
    ("Line impedances", "impedance.md"),
    ("Planning and feasibility", "planning.md"),
    ("Reliability", "reliability.md"),
    ("pandapower adapter", "pandapower.md"),
    ("OpenDSS adapter", "opendss.md"),
    ("Power-flow engines", "engines.md"),
    ("Exporter plugins", "plugins.md"),
    ("Unbalancing existing networks", "unbalance.md"),
    ("Areas: transmission and distribution", "area.md"),
    ("Scale-out and hosting capacity", "scale.md"),
    ("Robustness and bad inputs", "robustness.md"),
]

#: API reference pages: (page, title, module whose ``__all__`` is documented, intro).
API_PAGES = [
    (
        "api/core.md",
        "bayesgrid_plugins",
        "bayesgrid_plugins",
        "The core package: data "
        "structures, models, the bayesgrid-style facade and the main job. It imports neither "
        "pandapower nor OpenDSS.",
    ),
    (
        "api/phases.md",
        "Phases",
        "bayesgrid_plugins.phases",
        "Phase masks (A=1, B=2, C=4) and phase consistency.",
    ),
    (
        "api/topology.md",
        "Topology",
        "bayesgrid_plugins.topology",
        "OpenStreetMap to radial feeder.",
    ),
    (
        "api/scenarios.md",
        "Scenarios",
        "bayesgrid_plugins.scenarios",
        "Parameter overrides of the power model.",
    ),
    (
        "api/learn.md",
        "Learning",
        "bayesgrid_plugins.learn",
        "Training tables; counting and NUTS estimators are in the submodules listed below.",
    ),
    (
        "api/reliability.md",
        "Reliability indices",
        "bayesgrid_plugins.reliability",
        "Fault model on a radial feeder and IEEE 1366 indices.",
    ),
    (
        "api/plugins.md",
        "Plugins",
        "bayesgrid_plugins.plugins",
        "The plugin manager and the exporter registry.",
    ),
    (
        "api/exporters.md",
        "Exporters",
        "bayesgrid_plugins.exporters",
        "The exporter protocol and the request it receives.",
    ),
    (
        "api/area.md",
        "Areas",
        "bayesgrid_plugins.area",
        "Substations, MV feeders, LV networks and a transmission layer from an OSM area.",
    ),
    (
        "api/scale.md",
        "Scale-out",
        "bayesgrid_plugins.app.scale",
        "Many regions and realisations on Dask or serially.",
    ),
    (
        "api/planning.md",
        "Planning",
        "bayesgrid_plugins.planning",
        "Conductors, transformers, feeders and taps sized to each realisation's demand.",
    ),
    ("api/pandapower_ext.md", "pandapower_ext", "pandapower_ext", "The pandapower adapter."),
    ("api/opendss_ext.md", "opendss_ext", "opendss_ext", "The OpenDSS adapter."),
    ("api/pgm_ext.md", "pgm_ext", "pgm_ext", "The power-grid-model adapter."),
]

#: Extra modules documented at the end of an API page (page -> modules).
API_EXTRA = {
    "api/planning.md": ["bayesgrid_plugins.feasibility"],
    "api/learn.md": [
        "bayesgrid_plugins.learn.counting",
        "bayesgrid_plugins.learn.power_fit",
        "bayesgrid_plugins.learn.registry",
        "bayesgrid_plugins.learn.sampling",
        "bayesgrid_plugins.learn.fit_file",
        "bayesgrid_plugins.inference_data",
        "bayesgrid_plugins.inference",
    ],
}

VALIDATION_PLACEHOLDER = """# Validation

The validation results (synthetic ensembles against the real feeders they were learned from,
and against the figures of the paper) are produced by the validation suite of the repository
and will be published on this page when they are written to `docs/validation.md`.

Until then, see the [method](method.md) for the paper's reference figures and the
[performance](performance.md) page for measured speeds.
"""


# ----------------------------------------------------------------------------- tutorials
def tutorial_markdown(
    path: Path, outputs: list[Any] | None = None
) -> tuple[str, str, list[tuple[str, bytes]]]:
    """Markdown of a jupytext percent script, its title and its figures.

    With ``outputs`` (one :class:`tutorial_run.CellOutput` per code cell, from running the
    script) every code block is followed by what the cell printed and the figures it saved;
    the figures are returned as ``(file name, PNG bytes)`` to be written beside the page.
    """
    import jupytext

    notebook = jupytext.read(path, fmt="py:percent")
    parts: list[str] = []
    figures: list[tuple[str, bytes]] = []
    title = path.stem
    code_index = 0
    for cell in notebook.cells:
        source = cell.source.strip("\n")
        if cell.cell_type != "markdown":
            shown = outputs[code_index] if outputs is not None else None
            code_index += 1
            if not source.strip():
                continue
            parts.append(f"```python\n{source}\n```")
            if shown is not None and shown.text.strip():
                text = shown.text.rstrip("\n").replace("```", "` ` `")
                parts.append(f'```text title="Output"\n{text}\n```')
            for png in [] if shown is None else shown.figures:
                name = f"{path.stem}_figure_{len(figures) + 1}.png"
                figures.append((name, png))
                parts.append(f"![Figure {len(figures)} of the tutorial]({name})")
            continue
        if not source.strip():
            continue
        if title == path.stem:
            for line in source.splitlines():
                if line.startswith("# "):
                    title = line[2:].strip()
                    break
        parts.append(source)
    how = (
        "The output and figures below come from running it when this site was built."
        if outputs is not None
        else "This page was built without running it (BAYESGRID_DOCS_EXECUTE)."
    )
    download = (
        f'!!! tip "Run it"\n    Download [`{path.name}`]({path.name}) and run '
        f"`python {path.name}` in an empty folder, or open it as a notebook with "
        f"`jupytext --to notebook {path.name}`. {how}"
    )
    heading_end = parts[0].find("\n") if parts else -1
    if parts and parts[0].startswith("# ") and heading_end > 0:
        parts[0] = parts[0][:heading_end] + "\n\n" + download + "\n" + parts[0][heading_end:]
    elif parts and parts[0].startswith("# "):
        parts.insert(1, download)
    else:
        parts.insert(0, download)
    return "\n\n".join(parts) + "\n", title, figures


def tutorial_scripts() -> list[Path]:
    """The tutorial scripts, in order."""
    return sorted((DOCS / "tutorials").glob("[0-9][0-9]_*.py"))


# ----------------------------------------------------------------------------- API pages
_ROLE = re.compile(r":[a-z]+:`~?\.?([^`]+)`")


def _first_line(obj: Any) -> str:
    """The summary line of a docstring, with reST roles reduced to code spans."""
    doc = inspect.getdoc(obj) or ""
    line = doc.strip().splitlines()[0] if doc.strip() else ""
    return _ROLE.sub(lambda m: f"`{m.group(1).rsplit('.', 1)[-1]}`", line)


def api_markdown(module_name: str, title: str, intro: str, extra: list[str]) -> str:
    """One mkdocstrings block per public callable of ``module_name.__all__``."""
    module = importlib.import_module(module_name)
    names = list(getattr(module, "__all__", []))
    lines = [f"# {title}", "", intro, ""]
    callables: list[tuple[str, str]] = []
    constants: list[tuple[str, Any]] = []
    for name in names:
        obj = getattr(module, name)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and getattr(
            obj, "__module__", ""
        ).split(".")[0] in ("bayesgrid_plugins", "pandapower_ext", "opendss_ext"):
            callables.append((name, f"{obj.__module__}.{obj.__qualname__}"))
        else:
            constants.append((name, obj))
    if callables:
        lines += ["| name | summary |", "|---|---|"]
        for name, target in callables:
            summary = _first_line(
                importlib.import_module(target.rsplit(".", 1)[0]).__dict__[target.rsplit(".", 1)[1]]
            ).replace("|", "\\|")
            lines.append(f"| [`{name}`](#{target}) | {summary} |")
        lines.append("")
    if constants:
        lines += ["## Constants and markers", "", "| name | value |", "|---|---|"]
        for name, obj in constants:
            text = repr(obj)
            text = text if len(text) <= 90 else text[:87] + "..."
            lines.append(f"| `{module_name}.{name}` | `{text.replace('|', '/')}` |")
        lines.append("")
    for _name, target in callables:
        lines += [f"::: {target}", ""]
    for extra_module in extra:
        lines += [
            f"## `{extra_module}`",
            "",
            f"::: {extra_module}",
            "    options:",
            "      show_root_heading: false",
            "      heading_level: 3",
            "",
        ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- CLI page
def cli_markdown() -> str:
    """The ``--help`` of ``bayesgrid`` and of each of its commands."""
    import argparse
    import os

    from bayesgrid_plugins.app.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        parser = build_parser()
        parts = [
            "# Command line",
            "",
            "Every command is a thin layer over the Python API; `bayesgrid COMMAND --help` "
            "prints what is shown here (generated from the installed version).",
            "",
            "```text",
            parser.format_help().rstrip(),
            "```",
        ]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    parts += ["", f"## `bayesgrid {name}`", "", "```text"]
                    parts += [sub.format_help().rstrip(), "```"]
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(parts) + "\n"


# ----------------------------------------------------------------------------- hooks
#: Result pages written by the validation suite: (title, page), listed when they exist.
RESULTS = [
    ("Paper figures and tables", "figures/validation/paper_tables.md"),
    ("Skill on real feeders", "figures/validation/bench_validation.md"),
    ("Self-reproduction, expected totals", "figures/validation/self_reproduction_mc.md"),
]


def on_config(config: Any) -> Any:
    """Add the feature guides and result pages that exist to the navigation."""
    # snippets (the changelog page includes CHANGELOG.md) resolve from the repository root,
    # whatever the working folder of the build
    config["mdx_configs"].setdefault("pymdownx.snippets", {})["base_path"] = [str(DOCS.parent)]
    nav = config["nav"]
    guides = [{title: page} for title, page in GUIDES if (DOCS / page).is_file()]
    results = [{title: page} for title, page in RESULTS if (DOCS / page).is_file()]
    for entry in nav:
        if isinstance(entry, dict) and "User guide" in entry:
            entry["User guide"] = entry["User guide"] + guides
        if isinstance(entry, dict) and "Results" in entry:
            entry["Results"] = entry["Results"][:1] + results + entry["Results"][1:]
    return config


#: Cache of executed tutorials (see ``tutorial_run``).
CACHE = DOCS.parent / ".cache" / "bayesgrid-docs"
#: Where the site serves MathJax from (``extra_javascript`` in ``mkdocs.yml``).
MATHJAX_DIR = "javascripts/mathjax"


def _tutorial_runner() -> Any:
    """The sibling module ``tutorial_run`` (hooks are loaded by path, not as a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bayesgrid_tutorial_run", Path(__file__).with_name("tutorial_run.py")
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def mathjax_files() -> list[tuple[str, bytes]]:
    """MathJax 3 (the ``es5`` bundle of the ``django-static-mathjax`` wheel), served locally.

    The TeX input/CommonHTML output component, its fonts and its TeX extensions, placed so that
    the component finds them beside itself: the site needs no CDN.
    """
    from importlib import resources

    root = resources.files("mathjax") / "static" / "mathjax" / "es5"
    wanted = [root / "tex-mml-chtml.js"]
    for sub in ("output/chtml/fonts/woff-v2", "input/tex/extensions"):
        folder = root.joinpath(*sub.split("/"))
        wanted += [p for p in folder.iterdir() if p.is_file()]
    out = []
    for item in wanted:
        relative = str(item).split("/es5/", 1)[1]
        out.append((f"{MATHJAX_DIR}/{relative}", item.read_bytes()))
    return out


def on_files(files: Files, config: Any) -> Files:
    """Generate the tutorial, API and (if missing) validation pages."""
    run = _tutorial_runner()
    for script in tutorial_scripts():
        outputs = run.executed(script, CACHE) if run.selected(script.stem) else None
        text, _, figures = tutorial_markdown(script, outputs)
        src = f"tutorials/{script.stem}.md"
        files.append(File.generated(config, src, content=text))
        for name, png in figures:
            files.append(File.generated(config, f"tutorials/{name}", content=png))
    for src, data in mathjax_files():
        files.append(File.generated(config, src, content=data))
    for page, title, module, intro in API_PAGES:
        files.append(
            File.generated(
                config, page, content=api_markdown(module, title, intro, API_EXTRA.get(page, []))
            )
        )
    files.append(File.generated(config, "cli.md", content=cli_markdown()))
    if not (DOCS / "validation.md").is_file():
        files.append(File.generated(config, "validation.md", content=VALIDATION_PLACEHOLDER))
    return files
