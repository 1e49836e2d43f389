"""The store under concurrency and faults: two processes committing one key at once, SIGKILL at random moments
of artifact writes, and ``verify`` / ``gc`` after them, on a local disk and on S3 (moto on 127.0.0.1). The
default suite runs a few of each; ``make test-slow`` runs the counts the figures on the docs site come from."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from nasgen.maintenance import gc, key_dirs, orphans, verify
from nasgen.store import ATTEMPT, MANIFEST, ArtifactStore

ROOT = Path(__file__).resolve().parent.parent
WRITER = Path(__file__).with_name("store_writer.py")
START_S = 3.0  # both writers import nasgen.store and wait for the same moment


@pytest.fixture(params=["local", "s3"])
def root(request, tmp_path, monkeypatch) -> str:
    if request.param == "local":
        return str(tmp_path / "artifacts")
    monkeypatch.setenv("NASGEN_S3_ENDPOINT_URL", request.getfixturevalue("s3_endpoint"))
    return f"s3://nasgen-test/{uuid.uuid4().hex}"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def race(root: str, n: int, dt: float = 0.3) -> dict:
    """Two processes commit keys race-0 .. race-n-1, each pair at the same moment; the checks of every key."""
    t0 = time.time() + START_S
    procs = {tag: subprocess.Popen([sys.executable, str(WRITER), "race", root, str(n), str(t0), str(dt), tag],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
             for tag in ("A", "B")}  # fmt: skip
    lines: dict[str, dict[str, dict]] = {}
    for tag, p in procs.items():
        out, err = p.communicate(timeout=START_S + n * dt + 120)
        assert p.returncode == 0, err[-2000:]
        for line in out.splitlines():
            row = json.loads(line)
            lines.setdefault(row["key"], {})[tag] = row
    store, outcomes = ArtifactStore(root), Counter()
    assert len(lines) == n
    for key, by in lines.items():
        committed = [t for t, r in by.items() if r["outcome"] == "committed"]
        assert len(committed) == 1, (key, by)  # exactly one commit
        other = next(t for t in by if t not in committed)
        outcomes[by[other]["outcome"]] += 1  # "lost": both wrote, the other's manifest came first
        assert {r["reads"] for r in by.values()} == set(committed)  # both read the one commit
        assert store.read_json(store.ref("demo", key), "who.json")["tag"] == committed[0]
    report = verify(store)
    assert not report["problems"] and report["artifacts"] == n  # no torn manifest: every file matches
    return {"races": n, **outcomes}


def test_two_writers_of_one_key_commit_once_and_both_read_it(root):
    r = race(root, 2)
    assert r["races"] == 2


@pytest.mark.slow
def test_a_hundred_races_of_two_writers(root):
    r = race(root, 100, dt=0.25)
    assert r["lost"] > 0  # most pairs really raced (both wrote before either committed)
    print(json.dumps({"root": root.split(":")[0], **r}))


def kill_at_random(root: str, rng: np.random.Generator) -> dict:
    """A writer committing artifacts of three 320 kB files in a loop, SIGKILLed after a random delay; then the
    store verifies, gc removes the orphans and nothing else, and it verifies again."""
    p = subprocess.Popen([sys.executable, str(WRITER), "loop", root, uuid.uuid4().hex[:8]], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=_env())  # fmt: skip
    p.stdout.readline()  # one artifact committed: the writer is past its imports
    time.sleep(float(rng.uniform(0.0, 0.6)))
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=60)
    store = ArtifactStore(root)
    before = verify(store)
    assert not before["problems"], before["problems"]
    committed = {(r["stage"], r["key"]) for r in store.list()}
    found = sum(len(orphans(store, s, k)) for s, k in key_dirs(store))
    cleaned = gc(store, older_than_s=0)
    after = verify(store)
    assert not after["problems"] and {(r["stage"], r["key"]) for r in store.list()} == committed  # nothing else
    assert after["files"] == before["files"] and after["bytes"] == before["bytes"]
    assert not [o for s, k in key_dirs(store) for o in orphans(store, s, k)]
    return {"artifacts": len(committed), "orphans": found, "removed": len(cleaned["removed"])}


def test_a_kill_mid_write_leaves_a_consistent_store_that_gc_cleans(root):
    rng = np.random.default_rng(0)
    rows = [kill_at_random(f"{root}/{i}", rng) for i in range(1)]  # a store each: verify reads every file
    assert all(r["removed"] == r["orphans"] for r in rows)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # on S3 a kill and its checks take a few seconds
def test_two_hundred_kills(root):
    rng = np.random.default_rng(1)
    rows = [kill_at_random(f"{root}/{i}", rng) for i in range(200)]
    assert all(r["removed"] == r["orphans"] for r in rows)
    print(json.dumps({"root": root.split(":")[0], "kills": len(rows), "orphans": sum(r["orphans"] for r in rows),
                      "mid_write": sum(r["orphans"] > 0 for r in rows),
                      "artifacts": sum(r["artifacts"] for r in rows)}))  # fmt: skip


def test_gc_keeps_young_orphans_committed_attempts_and_artifacts_written_before_attempts(tmp_path):
    store = ArtifactStore(str(tmp_path))

    def put(path: str, data: bytes) -> None:
        store.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        store.fs.pipe_file(path, data)

    with store.writer("demo", "k") as w:
        w.write_json("a.json", 1)
    attempt = store.manifest("demo", "k")["attempt"]
    stray = store.path("demo", "k", ATTEMPT + "deadbeef")  # an attempt that lost or died
    put(stray + "/a.json", b"2")
    put(store.path("demo", "dead", ATTEMPT + "0" * 8, "x.bin"), b"x")  # never committed
    legacy = store.path("demo", "old")  # the layout before attempts: files beside the manifest
    put(legacy + "/a.json", b"[1]")
    put(legacy + "/.a.json.tmp-1234", b"[")  # a temporary of that layout
    digest = __import__("hashlib").sha256(b"[1]").hexdigest()
    put(legacy + "/" + MANIFEST, json.dumps({"files": {"a.json": {"sha256": digest, "bytes": 3}}}).encode())
    assert store.read_json(store.ref("demo", "old"), "a.json") == [1] and not verify(store)["problems"]
    assert gc(store)["kept_young"] == 3 and store.fs.exists(stray)  # younger than the grace period: kept
    dry = gc(store, older_than_s=0, dry_run=True)
    assert len(dry["removed"]) == 3 and store.fs.exists(stray)
    done = gc(store, older_than_s=0)
    assert sorted(p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1] for p in done["removed"]) == [
        "dead/" + ATTEMPT + "0" * 8, "k/" + ATTEMPT + "deadbeef", "old/.a.json.tmp-1234"]  # fmt: skip
    assert not store.fs.exists(store.path("demo", "dead"))  # the empty key directory too
    assert store.read_json(store.ref("demo", "k"), "a.json") == 1 and store.fs.exists(
        store.path("demo", "k", ATTEMPT + attempt)
    )
    assert store.read_json(store.ref("demo", "old"), "a.json") == [1]


def test_verify_names_a_missing_or_changed_file(tmp_path):
    store = ArtifactStore(str(tmp_path))
    for k in ("k1", "k2"):
        with store.writer("demo", k) as w:
            w.write_json("a.json", 1)
    store.fs.rm(store.file_path("demo", "k1", "a.json"))
    store.fs.pipe_file(store.file_path("demo", "k2", "a.json"), b"22")
    problems = verify(store)["problems"]
    assert len(problems) == 2 and "k1: a.json is missing" in problems[0] and "does not match" in problems[1]


def test_the_store_commands_verify_and_collect(tmp_path, monkeypatch, capsys):
    from tests.conftest import run_cli

    store = ArtifactStore(str(tmp_path))
    with store.writer("demo", "k") as w:
        w.write_json("a.json", 1)
    store.fs.makedirs(store.path("demo", "k", ATTEMPT + "feed"), exist_ok=True)
    store.fs.pipe_file(store.path("demo", "k", ATTEMPT + "feed", "a.json"), b"2")
    code, out, _ = run_cli(monkeypatch, capsys, "store", "verify", "--store", str(tmp_path))
    assert code == 0 and "1 artifacts, 1 files" in out and "consistent" in out
    code, out, _ = run_cli(monkeypatch, capsys, "store", "gc", "--store", str(tmp_path), "--older-than", "0")
    assert (
        code == 0
        and "removed" in out
        and "1 orphan(s)" in out
        and not store.fs.exists(store.path("demo", "k", ATTEMPT + "feed"))
    )
    store.fs.pipe_file(store.file_path("demo", "k", "a.json"), b"3")
    code, out, err = run_cli(monkeypatch, capsys, "store", "verify", "--store", str(tmp_path))
    assert code == 2 and "does not match" in out and "1 problem(s)" in err and "Traceback" not in out + err


def test_gc_collects_an_empty_attempt_directory(tmp_path):
    """Found by the kill test: a writer killed right after creating its attempt's directory left it empty, and
    gc took an empty directory for one written just now, keeping it forever."""
    store = ArtifactStore(str(tmp_path))
    empty = store.path("demo", "k", ATTEMPT + "0123")
    store.fs.makedirs(empty, exist_ok=True)
    os.utime(empty, (time.time() - 7200, time.time() - 7200))
    assert gc(store)["removed"] == [empty] and not store.fs.exists(store.path("demo", "k"))
