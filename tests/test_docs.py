"""The documentation: the MkDocs site builds with --strict (a broken link, a missing page or anchor fails), README
stays a short user's document that starts with the two set-up commands, and the figures the site shows are the
committed results they copy."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
IMG = ROOT / "docs" / "img"
# Where each figure under docs/img comes from (mkdocs serves only files under docs/).
FIGURE_SOURCES = (ROOT / "benchmarks" / "results", ROOT / "deployments")


def _mkdocs() -> str | None:
    beside = Path(sys.executable).with_name("mkdocs")
    return str(beside) if beside.exists() else shutil.which("mkdocs")


def test_site_builds_strict(tmp_path):
    mkdocs = _mkdocs()
    if mkdocs is None:
        pytest.skip("mkdocs is not installed (it comes with the dev dependencies: make venv)")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [mkdocs, "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    site = tmp_path / "site"
    assert (site / "index.html").exists() and (site / "results.html").exists()
    api = (site / "api" / "space.html").read_text()
    assert "nasgen.space.cell" in api  # the API reference was generated from the source


def test_readme_is_short_and_starts_with_the_two_commands():
    lines = README.read_text().splitlines()
    assert len(lines) <= 300, f"README has {len(lines)} lines; details belong on the docs site (docs/)"
    content = [line for line in lines[1:] if line.strip()]
    assert lines[0].startswith("# ")
    assert content[0] == "```bash"
    assert content[1].startswith("make demo ") and content[2].startswith("make test "), content[:3]
    assert content[3] == "```"


def test_readme_headings_name_no_issue():
    fence = False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and line.startswith("#"):
            assert not re.search(r"issue\W*\d", line, re.IGNORECASE), line


def test_readme_relative_links_resolve():
    text = re.sub(r"```.*?```", "", README.read_text(), flags=re.DOTALL)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = target.split("#")[0]
        assert (ROOT / path).exists(), f"README links to {target}, which does not exist"


def test_docs_figures_are_the_committed_results():
    for png in sorted(IMG.glob("*.png")):
        sources = [d / png.name for d in FIGURE_SOURCES if (d / png.name).exists()]
        assert sources, f"docs/img/{png.name} copies no file of {[str(d.relative_to(ROOT)) for d in FIGURE_SOURCES]}"
        assert png.read_bytes() == sources[0].read_bytes(), (
            f"docs/img/{png.name} differs from {sources[0]}: copy it again"
        )
