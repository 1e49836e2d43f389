import json
import uuid

import pyarrow as pa
import pytest
import torch

from nasgen.errors import ArtifactMissingError, CorruptArtifactError, StoreError, UnsafeKeyError
from nasgen.store import MANIFEST, ArtifactStore, Ref, content_key

SCHEMA = pa.schema([pa.field("x", pa.int32(), nullable=False), pa.field("name", pa.string())])


@pytest.fixture(params=["local", "memory", "s3"])
def store(request, tmp_path, monkeypatch):
    if request.param == "local":
        return ArtifactStore(str(tmp_path / "artifacts"))
    if request.param == "memory":
        return ArtifactStore(f"memory://nasgen-{uuid.uuid4().hex}")
    endpoint = request.getfixturevalue("s3_endpoint")
    monkeypatch.setenv("NASGEN_S3_ENDPOINT_URL", endpoint)
    return ArtifactStore(f"s3://nasgen-test/{uuid.uuid4().hex}")


def test_round_trip_of_every_format(store):
    key = content_key("demo", {"a": 1})
    with store.writer("demo", key, config={"a": 1}) as w:
        w.write_parquet("t.parquet", {"x": [1, 2, 3], "name": ["a", "b", None]}, SCHEMA)
        w.write_json("m.json", {"hello": [1, 2]})
        w.write_safetensors("w.safetensors", {"w": torch.arange(6.0).reshape(2, 3)}, metadata={"k": "v"})
        w.rows = 3
    ref = w.ref
    assert store.exists("demo", key) and ref == store.ref("demo", key)
    t = store.read_parquet(ref, "t.parquet")
    assert t.schema.equals(SCHEMA) and t.column("x").to_pylist() == [1, 2, 3]
    assert store.read_json(ref, "m.json") == {"hello": [1, 2]}
    assert torch.equal(store.read_safetensors(ref, "w.safetensors")["w"], torch.arange(6.0).reshape(2, 3))
    m = store.manifest("demo", key)
    assert m["rows"] == 3 and set(m["files"]) == {"t.parquet", "m.json", "w.safetensors"} and m["config"] == {"a": 1}
    assert [r["key"] for r in store.list("demo")] == [key]
    assert [p.rsplit("/", 1)[-1] for p in store.fs.ls(store.path("demo", key), detail=False)] in (
        [MANIFEST, f".attempt-{m['attempt']}"], [f".attempt-{m['attempt']}", MANIFEST])  # fmt: skip


def test_failure_leaves_no_partial_artifact(store):
    with pytest.raises(RuntimeError, match="boom"):
        with store.writer("demo", "k1") as w:
            w.write_json("a.json", {"a": 1})
            raise RuntimeError("boom")
    assert not store.exists("demo", "k1")
    assert not store.fs.exists(store.path("demo", "k1"))
    assert store.list() == []


def test_schema_mismatch_fails_cleanly(store):
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError, TypeError)):
        with store.writer("demo", "k2") as w:
            w.write_parquet("t.parquet", {"x": ["not an int"], "name": ["a"]}, SCHEMA)
    assert not store.fs.exists(store.path("demo", "k2"))


def test_existing_artifact_is_never_overwritten(store):
    with store.writer("demo", "k3") as w:
        w.write_json("a.json", 1)
    with pytest.raises(StoreError, match="already exists"):
        with store.writer("demo", "k3") as w:
            w.write_json("a.json", 2)
    assert store.read_json(store.ref("demo", "k3"), "a.json") == 1


def test_directory_without_manifest_does_not_exist(store):
    with store.writer("demo", "k4") as w:
        w.write_json("a.json", 1)
    store.fs.rm(store.path("demo", "k4", MANIFEST))
    assert not store.exists("demo", "k4") and store.list() == []
    with pytest.raises(ArtifactMissingError):
        store.manifest("demo", "k4")
    with store.writer("demo", "k4") as w:  # a new attempt commits beside the orphaned one
        w.write_json("b.json", 2)
    assert (
        set(store.manifest("demo", "k4")["files"]) == {"b.json"}
        and store.read_json(store.ref("demo", "k4"), "b.json") == 2
    )


def test_corruption_is_detected(store):
    with store.writer("demo", "k5") as w:
        w.write_json("a.json", {"a": 1})
    store.fs.pipe_file(store.file_path("demo", "k5", "a.json"), b'{"a": 2}')
    with pytest.raises(CorruptArtifactError, match="checksum"):
        store.read_json(store.ref("demo", "k5"), "a.json")
    store.fs.pipe_file(store.path("demo", "k5", MANIFEST), b"{not json")
    with pytest.raises(CorruptArtifactError, match="manifest does not parse"):
        store.manifest("demo", "k5")


def test_missing_file_is_reported(store):
    ref = Ref(stage="demo", key="nope", uri="x")
    with pytest.raises(ArtifactMissingError):
        store.read_json(ref, "a.json")


@pytest.mark.parametrize("bad", ["..", "../etc", "/abs", "a/b", "", "a\\b", "x..y", "-rf", "sp ace"])
def test_unsafe_keys_are_refused(store, bad):
    with pytest.raises(UnsafeKeyError):
        store.writer("demo", bad)
    with pytest.raises(UnsafeKeyError):
        store.exists(bad, "k")


def test_content_key_depends_on_every_input():
    base = content_key("s", {"a": 1}, ["u1"])
    assert base == content_key("s", {"a": 1}, ["u1"])
    assert (
        len(
            {
                base,
                content_key("t", {"a": 1}, ["u1"]),
                content_key("s", {"a": 2}, ["u1"]),
                content_key("s", {"a": 1}, ["u2"]),
            }
        )
        == 4
    )


def test_unreachable_s3_store_gives_a_store_error(monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    monkeypatch.setenv("NASGEN_S3_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    st = ArtifactStore("s3://nowhere/prefix")
    with pytest.raises(StoreError, match="s3://nowhere/prefix"):
        st.exists("demo", "k")


def test_manifest_is_json_with_checksums(tmp_path):
    st = ArtifactStore(str(tmp_path))
    with st.writer("demo", "k") as w:
        w.write_json("a.json", [1])
    m = json.loads((tmp_path / "demo" / "k" / MANIFEST).read_text())
    assert len(m["files"]["a.json"]["sha256"]) == 64 and m["code_version"]
