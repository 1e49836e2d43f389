"""The store lease: identical stage runs at once compute once (the others wait for the commit and read it), a
holder that fails or dies hands the key on, renewals keep a long computation's lease, and gc removes a lease a
dead writer left. Local disk and S3 (moto on 127.0.0.1)."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest

from nasgen.lease import LEASE, LeaseConfig, claim, once
from nasgen.maintenance import gc, orphans
from nasgen.stages.registry import Stage
from nasgen.store import ArtifactStore

FAST = LeaseConfig(ttl_s=2.0, renew_s=0.1, poll_s=0.05)  # a TTL a loaded CI machine cannot stall through


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, monkeypatch) -> ArtifactStore:
    if request.param == "local":
        return ArtifactStore(str(tmp_path / "artifacts"))
    monkeypatch.setenv("NASGEN_S3_ENDPOINT_URL", request.getfixturevalue("s3_endpoint"))
    return ArtifactStore(f"s3://nasgen-test/{uuid.uuid4().hex}")


def _commit(store: ArtifactStore, key: str, tag: str) -> None:
    with store.writer("demo", key, config={"tag": tag}) as w:
        w.write_json("who.json", {"tag": tag})


def _lease_record(store: ArtifactStore, key: str) -> dict | None:
    path = store.path("demo", key, LEASE)
    return json.loads(store.fs.cat_file(path)) if store.fs.exists(path) else None


def test_a_free_key_is_held_while_computing_and_released_after(store):
    with claim(store, "demo", "k", FAST) as mine:
        assert mine
        assert _lease_record(store, "k")["expires"] > time.time()
        _commit(store, "k", "me")
    assert _lease_record(store, "k") is None
    with claim(store, "demo", "k", FAST) as mine:  # committed now: nothing to compute
        assert not mine


def test_a_waiter_reads_the_holders_commit_instead_of_computing(store):
    outcomes: dict[str, bool] = {}
    inside = threading.Event()

    def holder():
        with claim(store, "demo", "k", FAST) as mine:
            outcomes["holder"] = mine
            inside.set()
            time.sleep(2.5)  # longer than ttl_s: only the renewals keep the lease
            _commit(store, "k", "holder")

    t = threading.Thread(target=holder)
    t.start()
    assert inside.wait(30)
    with claim(store, "demo", "k", FAST) as mine:
        outcomes["waiter"] = mine
        assert store.exists("demo", "k")  # it returned because the commit appeared, not because it timed out
    t.join()
    assert outcomes == {"holder": True, "waiter": False}


def test_a_holder_that_fails_hands_the_key_on(store):
    inside, failed = threading.Event(), threading.Event()

    def holder():
        with pytest.raises(RuntimeError), claim(store, "demo", "k", FAST):
            inside.set()
            time.sleep(0.3)
            failed.set()
            raise RuntimeError("compute failed")

    t = threading.Thread(target=holder)
    t.start()
    assert inside.wait(30)
    with claim(store, "demo", "k", FAST) as mine:
        assert mine and failed.is_set()  # held only once the failed holder let go
        _commit(store, "k", "second")
    t.join()


def test_the_lease_of_a_dead_writer_expires_and_is_taken_over(store):
    store.create("demo", "k", LEASE, json.dumps({"owner": "dead", "pid": 1, "expires": time.time() + 0.3}).encode())
    with claim(store, "demo", "k", FAST) as mine:
        assert mine and _lease_record(store, "k")["owner"] != "dead"


def test_identical_stage_runs_at_once_compute_once(store, monkeypatch):
    monkeypatch.setattr("nasgen.stages.registry.once", lambda s, st, k, c: once(s, st, k, c, FAST))
    calls: list[int] = []

    def key(x: int) -> str:
        return f"x{x}"

    def compute(store: ArtifactStore, x: int):
        calls.append(x)
        time.sleep(0.5)
        with store.writer("demo", key(x), config={"x": x}) as w:
            w.write_json("value.json", {"x": x})
        return w.ref

    s = Stage("demo", key, compute)
    refs: list = []
    threads = [threading.Thread(target=lambda: refs.append(s.run(store, x=7))) for _ in range(4)]
    threads.append(threading.Thread(target=lambda: refs.append(s.run(store, x=8))))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(calls) == [7, 8]  # four requests for x=7, computed once
    assert sorted(r.key for r in refs) == ["x7"] * 4 + ["x8"]
    assert all(_lease_record(store, k) is None for k in ("x7", "x8"))


def test_a_released_lease_leaves_no_directory_behind(tmp_path):
    store = ArtifactStore(str(tmp_path / "artifacts"))
    with claim(store, "demo", "k", FAST) as mine:
        assert mine  # ... and the computation fails or writes nothing
    assert not store.fs.exists(store.path("demo", "k"))


def test_gc_removes_a_lease_left_in_a_committed_key_and_keeps_a_live_one(tmp_path):
    store = ArtifactStore(str(tmp_path / "artifacts"))
    _commit(store, "done", "me")
    store.create("demo", "done", LEASE, b'{"owner": "dead", "expires": 0}')
    store.create("demo", "busy", LEASE, json.dumps({"owner": "live", "expires": time.time() + 60}).encode())
    assert [p.rsplit("/", 1)[-1] for p in orphans(store, "demo", "done")] == [LEASE]
    assert gc(store, older_than_s=3600)["removed"] == []  # both young
    removed = gc(store, older_than_s=0)["removed"]
    assert {p.rsplit("/", 2)[-2] for p in removed} == {"done", "busy"}  # age 0: anything no manifest names
    assert store.exists("demo", "done")


def test_replace_writes_a_file_whole_and_leaves_no_temporary(store):
    store.replace("demo", "k", "f.json", b'{"v": 1}')
    store.replace("demo", "k", "f.json", b'{"v": 2}')
    assert store.fs.cat_file(store.path("demo", "k", "f.json")) == b'{"v": 2}'
    assert [p.rsplit("/", 1)[-1] for p in store.fs.ls(store.path("demo", "k"), detail=False)] == ["f.json"]
