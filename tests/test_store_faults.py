"""The S3 store behind a fault-injecting proxy (benchmarks.fault_proxy: 503s, connection resets, stalls,
latency at set rates): every artifact commits and reads back exactly as written, nothing partial is visible,
and the injected faults are counted. The default suite runs a few dozen requests; `make test-slow` the figures."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest

from benchmarks.fault_proxy import FaultProxy, Faults
from nasgen.maintenance import verify
from nasgen.store import ArtifactStore

FAULTS = Faults(latency=0.1, latency_s=0.02, error_5xx=0.05, reset=0.05, timeout=0.02, hold_s=0.5, seed=0)


def _payload(i: int) -> dict[str, bytes]:
    rng = np.random.default_rng(i)
    return {f"part-{p}.bin": rng.bytes(int(rng.integers(1, 200_000))) for p in range(3)}


def round_trips(endpoint: str, n: int, faults: Faults, monkeypatch) -> dict:
    port = int(endpoint.rsplit(":", 1)[1])
    prefix = f"nasgen-test/{uuid.uuid4().hex}"
    with FaultProxy(port, faults) as proxy:
        monkeypatch.setenv("NASGEN_S3_ENDPOINT_URL", f"http://127.0.0.1:{proxy.port}")
        store = ArtifactStore(f"s3://{prefix}")
        for i in range(n):
            with store.writer("demo", f"k{i}", config={"i": i}) as w:
                for name, data in _payload(i).items():
                    w.write_bytes(name, data)
            ref = store.ref("demo", f"k{i}")
            assert all(store.read_bytes(ref, name) == data for name, data in _payload(i).items())
        counts = dict(proxy.counts)
    monkeypatch.setenv("NASGEN_S3_ENDPOINT_URL", endpoint)  # read what landed without faults
    clean = ArtifactStore(f"s3://{prefix}")
    report = verify(clean)
    assert not report["problems"] and report["artifacts"] == n
    assert [r["key"] for r in sorted(clean.list(), key=lambda r: int(r["key"][1:]))] == [f"k{i}" for i in range(n)]
    return {"artifacts": n, "bytes": report["bytes"], **counts}


def test_the_s3_store_recovers_from_injected_faults(s3_endpoint, monkeypatch):
    r = round_trips(s3_endpoint, 8, FAULTS, monkeypatch)
    assert r["requests"] > 8 * 4 and r.get("error_5xx", 0) + r.get("reset", 0) + r.get("timeout", 0) > 0


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_two_hundred_artifacts_through_faults(s3_endpoint, monkeypatch):
    r = round_trips(s3_endpoint, 200, FAULTS, monkeypatch)
    print(json.dumps({"faults": FAULTS.__dict__, **r}))


def test_a_retried_manifest_put_whose_first_try_landed_still_commits(s3_endpoint, monkeypatch):
    """Found by the proxy's resets: a conditional PUT of the manifest retried after its answer was lost met
    its own manifest (412) and the writer took itself for the loser, dropping the files its manifest names."""
    from nasgen.store import MANIFEST

    monkeypatch.setenv("NASGEN_S3_ENDPOINT_URL", s3_endpoint)
    store = ArtifactStore(f"s3://nasgen-test/{uuid.uuid4().hex}")
    real = store.fs.pipe_file

    def retried(path, data, **kw):
        if path.endswith(MANIFEST) and kw.get("mode") == "create":
            real(path, data, **kw)  # the first try landed; its answer never came back
        return real(path, data, **kw)

    monkeypatch.setattr(store.fs, "pipe_file", retried)
    with store.writer("demo", "k") as w:
        w.write_json("a.json", 1)
    assert not w.lost and store.read_json(store.ref("demo", "k"), "a.json") == 1 and not verify(store)["problems"]


TIMING_FIELDS = ("seconds", "created", "wall_seconds", "uri")  # timings, and URIs that name the store's root


def _content(store: ArtifactStore) -> dict[tuple[str, str, str], str]:
    """sha256 of every committed file by (stage, key, name); JSON files without their timing fields."""
    import hashlib

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in TIMING_FIELDS and not k.endswith("_seconds")}
        return [strip(v) for v in obj] if isinstance(obj, list) else obj

    out = {}
    for r in store.list():
        ref = store.ref(r["stage"], r["key"])
        for name in store.manifest(r["stage"], r["key"])["files"]:
            data = store.read_bytes(ref, name)
            if name.endswith(".json"):
                data = json.dumps(strip(json.loads(data)), sort_keys=True).encode()
            elif name.endswith(".parquet"):  # a per-row `seconds` column times each row's work
                table = store.read_parquet(ref, name)
                kept = [c for c in table.column_names if c not in TIMING_FIELDS]
                data = json.dumps(table.select(kept).to_pydict(), sort_keys=True, default=str).encode()
            out[(r["stage"], r["key"], name)] = hashlib.sha256(data).hexdigest()
    return out


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.usefixtures("prefect_server")
def test_the_tiny_pretrain_through_faults_commits_what_a_fault_free_run_commits(s3_endpoint, monkeypatch, tmp_path):
    from flows.options import RunOptions
    from flows.pretrain import pretrain

    run = RunOptions(profile="tiny", overrides={"cells.shard_size": 20, "zc.shard_size": 8})  # a ZC fan-out
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NASGEN_S3_ENDPOINT_URL", s3_endpoint)
    clean_root, faulty_root = (f"s3://nasgen-test/{uuid.uuid4().hex}" for _ in range(2))
    monkeypatch.setenv("NASGEN_STORE", clean_root)
    pretrain(run=run)
    clean = _content(ArtifactStore(clean_root))
    port = int(s3_endpoint.rsplit(":", 1)[1])
    with FaultProxy(port, FAULTS) as proxy:
        monkeypatch.setenv("NASGEN_S3_ENDPOINT_URL", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NASGEN_STORE", faulty_root)
        pretrain(run=run)
        counts = dict(proxy.counts)
    monkeypatch.setenv("NASGEN_S3_ENDPOINT_URL", s3_endpoint)
    faulty = _content(ArtifactStore(faulty_root))
    assert not verify(ArtifactStore(faulty_root))["problems"]
    differ = sorted(k for k in clean if faulty.get(k) != clean[k])
    assert set(faulty) == set(clean), "the same artifacts, keys and files"
    print(json.dumps({"pretrain": "tiny", "files": len(clean), "differing": differ, **counts}))
    assert not differ, differ
