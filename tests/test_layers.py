"""The layer order is enforced: `lint-imports` keeps every contract of pyproject.toml, and an upward import
planted in a copy of the code breaks one. No package of the library imports another that imports it back."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("nasgen", "tasks", "flows", "benchmarks", "deployments")
LINT = Path(sys.executable).with_name("lint-imports")


def lint(cwd: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"}
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    """The packages' Python files and pyproject.toml, in a temporary directory."""
    dst = tmp_path_factory.mktemp("layers")
    for p in PACKAGES:
        shutil.copytree(ROOT / p, dst / p, ignore=shutil.ignore_patterns("__pycache__", "*.yaml", "*.png", "data"))
    shutil.copy(ROOT / "pyproject.toml", dst)
    return dst


def test_every_contract_is_kept(copy):
    done = lint(copy)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "3 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "upward", "contract"),
    [
        ("nasgen/space/cell.py", "from nasgen.stages import cells", "inside nasgen"),
        ("nasgen/gvae/model.py", "from nasgen.config import Profile", "inside nasgen"),
        ("nasgen/stages/gvae.py", "import tasks.stage", "library -> tasks"),
        ("flows/generate.py", "import deployments.cli", "library -> tasks"),
        ("nasgen/zc/scorer.py", "import prefect", "never imports Prefect"),
    ],
)
def test_an_upward_import_breaks_a_contract(copy, module, upward, contract):
    path = copy / module
    original = path.read_text()
    path.write_text(original + f"\n{upward}  # planted\n")
    try:
        done = lint(copy)
    finally:
        path.write_text(original)
    assert done.returncode == 1, done.stdout[-3000:]
    broken = [line for line in done.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(contract in b for b in broken), done.stdout[-3000:]


def test_no_package_cycles():
    g = grimp.build_graph("nasgen")
    for parent in ("nasgen", "nasgen.stages"):
        kids = sorted(g.find_children(parent))
        for a, b in itertools.combinations(kids, 2):
            both = g.chain_exists(a, b, as_packages=True) and g.chain_exists(b, a, as_packages=True)
            assert not both, (a, b, g.find_shortest_chains(a, b), g.find_shortest_chains(b, a))
