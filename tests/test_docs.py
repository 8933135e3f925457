"""The documentation site builds with warnings as errors, and has the pages it promises.

The build is one command, ``mkdocs build --strict``; it runs here in a subprocess into a
temporary folder. A second, tiny build checks that the site's settings really turn a broken
link into a failure (so the main build passing means something).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "mkdocs.yml"

pytest.importorskip("mkdocs", reason="install the docs extra: pip install -e '.[docs]'")
pytest.importorskip("mkdocstrings", reason="install the docs extra: pip install -e '.[docs]'")
pytest.importorskip("jupytext", reason="install the docs extra: pip install -e '.[docs]'")


#: Tutorials run by the test build (all of them run in a real build; these are the quick ones).
EXECUTED = ("01_topology", "04_uncertainty_reliability", "05_exporter_plugin")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["NO_MKDOCS_2_WARNING"] = "1"  # the theme's end-of-life banner is not about this site
    env["MPLBACKEND"] = "Agg"
    env.setdefault("BAYESGRID_DOCS_EXECUTE", ",".join(EXECUTED))
    return env


def _hook(name: str):  # type: ignore[no-untyped-def]
    import importlib.util

    path = ROOT / "docs" / "_hooks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"docs_hook_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _build(config: Path, site: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
        cwd=config.parent,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs") / "site"
    proc = _build(CONFIG, out, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{log[-6000:]}"
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert not warnings, "the docs build printed warnings:\n" + "\n".join(warnings)
    return out


@pytest.mark.slow
def test_site_builds_without_warnings_and_has_every_page(site: Path) -> None:
    tutorials = sorted((ROOT / "docs" / "tutorials").glob("[0-9][0-9]_*.py"))
    assert len(tutorials) >= 7
    expected = [
        "index.html",
        "installation.html",
        "concepts.html",
        "method.html",
        "validation.html",
        "performance.html",
        "faq.html",
        "changelog.html",
        "citation.html",
        "licences.html",
        "cli.html",
        "gallery/index.html",
        "api/core.html",
        "api/pandapower_ext.html",
        "api/opendss_ext.html",
        *(f"tutorials/{t.stem}.html" for t in tutorials),
        *(f"tutorials/{t.name}" for t in tutorials),  # the scripts, to download
    ]
    missing = [page for page in expected if not (site / page).is_file()]
    assert not missing, f"pages missing from the site: {missing}"


@pytest.mark.slow
def test_api_reference_documents_the_public_api(site: Path) -> None:
    import bayesgrid_plugins
    import opendss_ext
    import pandapower_ext

    for module, page in (
        (bayesgrid_plugins, "api/core.html"),
        (pandapower_ext, "api/pandapower_ext.html"),
        (opendss_ext, "api/opendss_ext.html"),
    ):
        html = (site / page).read_text(encoding="utf-8")
        absent = [
            name
            for name in module.__all__
            if callable(getattr(module, name)) and name != "hookimpl" and f">{name}<" not in html
        ]
        assert not absent, f"{page} lacks {absent}"
    core = (site / "api/core.html").read_text(encoding="utf-8")
    # numpydoc sections rendered as sections, not as raw text
    assert "Parameters:" in core or "Parameters</" in core
    assert "----------" not in core


@pytest.mark.slow
def test_pages_render_their_content(site: Path) -> None:
    method = (site / "method.html").read_text(encoding="utf-8")
    assert 'class="arithmatex"' in method  # equations reach MathJax
    tutorial = (site / "tutorials/01_topology.html").read_text(encoding="utf-8")
    assert "feeder_from_osm" in tutorial
    assert 'class="highlight"' in tutorial and 'class="kn"' in tutorial  # highlighted Python
    assert 'href="01_topology.py"' in tutorial  # the script to download
    gallery = (site / "gallery/index.html").read_text(encoding="utf-8")
    images = sorted((ROOT / "docs" / "gallery").glob("*.png"))
    assert images, "run scripts/build_gallery.py"
    for image in images:
        assert image.name in gallery
        assert (site / "gallery" / image.name).is_file()
    changelog = (site / "changelog.html").read_text(encoding="utf-8")
    assert "Unreleased" in changelog  # CHANGELOG.md is included, not a stub
    citation = (site / "citation.html").read_text(encoding="utf-8")
    for paper in ("2501.08808", "2603.04393", "2602.13454"):
        assert paper in citation


@pytest.mark.slow
def test_tutorials_show_their_output_and_figures(site: Path) -> None:
    topology = (site / "tutorials/01_topology.html").read_text(encoding="utf-8")
    assert "Output" in topology and "monaco.osm.pbf" in topology  # what the first cell printed
    assert '<img alt="Figure 1 of the tutorial" src="01_topology_figure_1.png"' in topology
    assert (site / "tutorials/01_topology_figure_1.png").read_bytes()[:4] == b"\x89PNG"
    uncertainty = (site / "tutorials/04_uncertainty_reliability.html").read_text(encoding="utf-8")
    assert uncertainty.count('<img alt="Figure') == 4  # its four saved figures
    assert "all converged: True" in uncertainty


@pytest.mark.slow
def test_the_site_loads_no_script_from_elsewhere(site: Path) -> None:
    external = re.compile(r'<script[^>]+src="(https?:)?//', re.I)
    pages = [p for p in site.rglob("*.html") if external.search(p.read_text(encoding="utf-8"))]
    assert not pages, f"pages loading scripts from another site: {pages[:5]}"
    method = (site / "method.html").read_text(encoding="utf-8")
    assert 'src="javascripts/mathjax/tex-mml-chtml.js"' in method
    assert (site / "javascripts/mathjax/tex-mml-chtml.js").stat().st_size > 100_000
    fonts = list((site / "javascripts/mathjax/output/chtml/fonts/woff-v2").glob("*.woff"))
    assert len(fonts) > 10


def test_mathjax_is_configured_locally() -> None:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    # mkdocs.yml uses !!python/name tags for pymdownx options: read them as plain text
    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda *a: None)
    settings = yaml.load(CONFIG.read_text(encoding="utf-8"), Loader=Loader)
    scripts = settings["extra_javascript"]
    assert not [s for s in scripts if "://" in str(s)], scripts
    files = dict(_hook("bayesgrid_docs").mathjax_files())
    assert "javascripts/mathjax/tex-mml-chtml.js" in files
    assert any(k.startswith("javascripts/mathjax/input/tex/extensions/") for k in files)


def test_a_tutorial_page_shows_what_its_cells_printed_and_saved() -> None:
    hooks = _hook("bayesgrid_docs")
    run = _hook("tutorial_run")
    script = ROOT / "docs" / "tutorials" / "01_topology.py"
    cells = script.read_text(encoding="utf-8").count("# %%") - script.read_text(
        encoding="utf-8"
    ).count("# %% [markdown]")
    png = b"\x89PNG fake"
    outputs = [
        run.CellOutput(f"printed by cell {k}\n", [png] if k == 2 else []) for k in range(cells)
    ]
    text, title, figures = hooks.tutorial_markdown(script, outputs)
    assert title.startswith("1.")
    assert 'title="Output"\nprinted by cell 0' in text
    assert figures == [("01_topology_figure_1.png", png)]
    assert "![Figure 1 of the tutorial](01_topology_figure_1.png)" in text
    unexecuted, _, none = hooks.tutorial_markdown(script)
    assert "Output" not in unexecuted and none == []
    assert run.selected("01_topology", {"BAYESGRID_DOCS_EXECUTE": "01_topology,02_x"})
    assert not run.selected("03_power_flow", {"BAYESGRID_DOCS_EXECUTE": "01_topology"})
    assert not run.selected("01_topology", {"BAYESGRID_DOCS_EXECUTE": "none"})
    assert run.selected("01_topology", {})


def test_strict_settings_turn_a_broken_link_into_a_failure(tmp_path: Path) -> None:
    import yaml

    settings = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert settings["strict"] is True
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [a page that is not there](nowhere.md).\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "site_name": "check",
                "strict": settings["strict"],
                "validation": settings["validation"],
            }
        )
    )
    proc = _build(config, tmp_path / "site", timeout=120)
    assert proc.returncode != 0
    assert "nowhere.md" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_the_landing_page_example_runs(tmp_path: Path) -> None:
    import re

    text = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the landing page shows an example"
    script = tmp_path / "example.py"
    script.write_text("\n".join(blocks), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (tmp_path / "monaco" / "opendss").is_dir()
    assert (tmp_path / "monaco" / "pandapower").is_dir()
