"""The whole pipeline with NASGEN_STORE=s3://bucket/prefix (moto on 127.0.0.1): nothing touches local disk."""

from __future__ import annotations

import json
import os
import uuid

import pytest
import torch

from flows.options import RunOptions
from nasgen.generate.request import GenerateRequest

pytestmark = pytest.mark.heavy  # a minute or more: started first (tests/conftest.py)

# the tiny pipeline with two shards of cells and two of ZC scores: the fan-out writes to S3 as well, in seconds
SHARDED_TINY = RunOptions(profile="tiny", overrides={"cells.shard_size": 20, "zc.shard_size": 8})


@pytest.mark.usefixtures("prefect_server")
def test_pretrain_and_generate_run_unchanged_on_s3(s3_endpoint, monkeypatch, tmp_path, capfd):
    import boto3

    from flows.evaluate import evaluate
    from flows.generate import generate
    from flows.pretrain import pretrain
    from nasgen.stages.generate import load_chosen
    from nasgen.train.config import DatasetConfig

    prefix = f"e2e-{uuid.uuid4().hex[:8]}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NASGEN_S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDNASGENE2EKEY")  # moto accepts any: these must never be echoed
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-nasgen-e2e")
    monkeypatch.setenv("NASGEN_STORE", f"s3://nasgen-test/{prefix}")
    refs = pretrain(run=SHARDED_TINY)
    uris = [r.uri for v in refs.values() for r in (v if isinstance(v, list) else [v])]  # hl_evo: one per level
    assert len(uris) >= len(refs) and all(u.startswith(f"s3://nasgen-test/{prefix}/") for u in uris)
    request = GenerateRequest(max_params=10**6, n=6, top_k=2, input_shape=(3, 16, 16), classes=4)
    ref = generate(request=request, run=SHARDED_TINY)
    assert ref.uri.startswith(f"s3://nasgen-test/{prefix}/generate/")
    net = load_chosen(ref.uri)  # the PyTorch export, read back from S3
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 4)
    trained = evaluate(networks=[ref.uri], dataset=DatasetConfig(name="synthetic"), epochs=1, run=SHARDED_TINY)
    assert trained and all(r.uri.startswith(f"s3://nasgen-test/{prefix}/trained/") for r in trained)
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="nasgen-test", Prefix=prefix)
            for o in page.get("Contents", [])]  # fmt: skip
    stages = {k.split("/")[1] for k in keys}
    assert {"cells", "zc", "clusters", "gvae", "ccnf", "hl_evo", "sg", "generate", "trained"} <= stages
    manifests = [s3.get_object(Bucket="nasgen-test", Key=k)["Body"].read().decode() for k in keys
                 if k.endswith("/_manifest.json")]  # fmt: skip
    assert all(json.loads(m)["files"] for m in manifests)
    out = capfd.readouterr()
    for secret in ("AKIDNASGENE2EKEY", "s3cr3t-nasgen-e2e"):  # neither in artifacts nor in the logs
        assert all(secret not in m for m in manifests) and secret not in out.out + out.err
    assert not os.path.exists(tmp_path / "artifacts")  # nothing was written locally
    again = generate(request=request, run=SHARDED_TINY)  # cached in S3: the same artifact
    assert again.uri == ref.uri
