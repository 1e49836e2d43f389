"""The ephemeral backend's preparation: several commands starting at once on a fresh Prefect home migrate the
database and register Prefect's block types exactly once between them, with no logged traceback, and tell
their servers to do neither (two servers registering at once collided on ``block_schema``'s unique key)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

PREPARE = (
    "from flows import backend; backend.prepare(); import os; "
    "print(os.environ['PREFECT_API_DATABASE_MIGRATE_ON_START'], os.environ['PREFECT_API_BLOCKS_REGISTER_ON_START'])"
)


def test_concurrent_prepares_register_once_without_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / ".prefect")
    run = [sys.executable, "-c", PREPARE]
    procs = [
        subprocess.Popen(run, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        assert "Traceback" not in err, err[-2000:]
        assert out.split() == ["false", "false"]
    with sqlite3.connect(tmp_path / ".prefect" / "prefect.db") as db:
        types = db.execute("select count(*), count(distinct slug) from block_type").fetchone()
        schemas = db.execute("select count(*), count(distinct checksum || version) from block_schema").fetchone()
    assert types[0] > 0 and types[0] == types[1]  # registered, each once
    assert schemas[0] > 0 and schemas[0] == schemas[1]


def test_prepare_is_a_no_op_against_a_server(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / ".prefect"), PREFECT_API_URL="http://127.0.0.1:9/api")
    code = (
        "from flows import backend; backend.prepare(); import os; "
        "print('PREFECT_API_BLOCKS_REGISTER_ON_START' in os.environ)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120).stdout
    assert out.split() == ["False"]
    assert not (tmp_path / ".prefect" / "prefect.db").exists()
