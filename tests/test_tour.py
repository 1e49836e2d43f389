"""A user's first contact: the README tour's commands run directly (the console script, not `make`), in an
environment with no Prefect settings of its own, print their results and no traceback; two of them at once on
one Prefect home as well (the ephemeral server's SQLite database shared)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.heavy  # a minute or more: started first (tests/conftest.py)

NASGEN = str(Path(sys.executable).with_name("nasgen"))
CELL = '{"nodes": ["input", "conv_3", "mbconv_e6_5", "skip", "output"], "edges": [[0,1],[1,2],[2,3],[0,3],[3,4]]}'


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A user's environment: a fresh home for Prefect and nothing else of Prefect's; a store of its own."""
    home = tmp_path_factory.mktemp("user")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NASGEN_"))}
    env.update(PREFECT_HOME=str(home / ".prefect"), NASGEN_STORE=str(home / "artifacts"), COLUMNS="200")
    return env, home


def start(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([NASGEN, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, want: int = 0) -> tuple[str, str]:
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == want, (proc.args, err[-3000:])
    assert "Traceback" not in err and "Traceback" not in out, (proc.args, err[-3000:])
    return out, err


def test_the_tour_prints_no_traceback(user):
    env, home = user
    # two flows at once on one Prefect home: each starts its ephemeral server on the same database
    pretrain, cells = start(env, "pretrain", "--profile", "tiny"), start(env, "cells", "--profile", "smoke")
    finish(cells)
    finish(pretrain)
    out, _ = finish(start(env, "generate", "--profile", "tiny", "--max-params", "1000000", "--top-k", "2"))
    assert "arch_id" in out or "params" in out
    for help_args in (["--help"], ["bench", "--help"]):
        out, _ = finish(start(env, *help_args))
        assert "Usage" in out
    out, _ = finish(start(env, "store", "ls"))
    assert "sg" in out and "cells" in out
    (home / "cell.json").write_text(CELL)
    out, _ = finish(start(env, "describe", str(home / "cell.json")))
    assert "0cb50000000002a5" in out
    # a user's mistake: one line, exit 2, no traceback
    _, err = finish(start(env, "generate", "--profile", "tiny", "--max-params", "-5"), want=2)
    assert len(err.strip().splitlines()) == 1 and err.startswith("error:")
    _, err = finish(start(env, "gvae", "--set", "gvae.epochs=-1", "--profile", "tiny"), want=2)
    assert "gvae.epochs" in err and len(err.strip().splitlines()) == 1
    stored = {p.name for p in (home / "artifacts").iterdir()}  # the user's own store, nothing elsewhere
    assert {"cells", "zc", "gvae", "ccnf", "hl_evo", "sg", "generate"} <= stored
