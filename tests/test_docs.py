"""The documentation site builds with warnings as errors, and has the pages it promises.

The build is one command, ``mkdocs build --strict``; it runs here in a subprocess into a
temporary folder. A second, tiny build checks that the site's settings really turn a broken
link into a failure (so the main build passing means something).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "mkdocs.yml"

pytest.importorskip("mkdocs", reason="install the docs extra: pip install -e '.[docs]'")
pytest.importorskip("mkdocstrings", reason="install the docs extra: pip install -e '.[docs]'")
pytest.importorskip("jupytext", reason="install the docs extra: pip install -e '.[docs]'")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["NO_MKDOCS_2_WARNING"] = "1"  # the theme's end-of-life banner is not about this site
    env["MPLBACKEND"] = "Agg"
    return env


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
