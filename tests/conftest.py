"""Shared fixtures: isolated Prefect home, one Prefect test server per session, moto S3 on 127.0.0.1,
and hypothesis strategies for cells."""

from __future__ import annotations

import os
import socket
import tempfile

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st

_PREFECT_HOME = tempfile.mkdtemp(prefix="nasgen-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no telemetry attempts (no network here)

settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run the `nasgen` entry point (with its exit-code mapping); returns (exit code, stdout, stderr)."""
    from nasgen.cli import main

    monkeypatch.setattr("sys.argv", ["nasgen", *args])
    with pytest.raises(SystemExit) as e:
        main()
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


@pytest.fixture(scope="session")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture(scope="session")
def tiny_pipeline(tmp_path_factory):
    """(store, cells, zc, clusters refs) of a 40-cell pipeline, 16 cells scored: what the model stages train on."""
    from nasgen.config import ClusterConfig, SampleCellsConfig, SamplerConfig, ScoreCellsConfig, ZCConfig
    from nasgen.stages import cells, clusters, zc
    from nasgen.store import ArtifactStore

    store = ArtifactStore(str(tmp_path_factory.mktemp("pipeline")))
    cref = cells.run_local(store, SampleCellsConfig(n=40, shard_size=40, sampler=SamplerConfig(batch_size=512)))
    zcfg = ZCConfig(batch_size=4, resolution=4, proxies=("naswot", "snip_ssnr", "params", "flops"))
    zref = zc.run_local(store, cref, ScoreCellsConfig(n_labelled=16, shard_size=16, zc=zcfg))
    clref = clusters.fit(store, zref, ClusterConfig(k_max=2, n_init=1))
    return store, cref, zref, clref


TINY_GVAE = dict(
    layers=2,
    hidden=16,
    latent=4,
    epochs=200,
    patience=1000,
    validity_weight=0.5,
    batch_size=16,
    labelled_batch_size=8,
    prior_samples=50,
    val_fraction=0.25,
)  # ~30% of its samples decode
TINY_CCNF = dict(hidden=16, layers=2, atol=1e-4, rtol=1e-4, epochs=3, batch_size=16, val_fraction=0.25)


@pytest.fixture(scope="session")
def tiny_models(tiny_pipeline):
    """(store, gvae ref, ccnf ref) trained on the tiny pipeline: what the search and generation stages use."""
    from nasgen.config import CCNFConfig, GVAEConfig
    from nasgen.stages import ccnf, gvae

    store, cref, zref, clref = tiny_pipeline
    gref = gvae.fit(store, cref, zref, clref, GVAEConfig(**TINY_GVAE))
    return store, gref, ccnf.fit(store, gref, CCNFConfig(**TINY_CCNF))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """A moto S3 server on loopback with a bucket `nasgen-test`; credentials and endpoint via the environment."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per S3 request otherwise
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    old = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"})
    import boto3

    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="nasgen-test")
    yield endpoint
    server.stop()
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@st.composite
def cells(draw, max_ops: int = 6, n_labels: int = 28):
    """Valid cells of 1..max_ops ops; a small label alphabet (n_labels) forces many symmetric ties."""
    from nasgen.space.cell import Cell

    k = draw(st.integers(1, max_ops))
    n = k + 2
    ops = tuple(draw(st.integers(0, n_labels - 1)) for _ in range(k))
    bits = draw(st.lists(st.booleans(), min_size=n * (n - 1) // 2, max_size=n * (n - 1) // 2))
    iu, ju = np.triu_indices(n, 1)
    edges = {(int(i), int(j)) for i, j, b in zip(iu, ju, bits) if b}
    for v in range(1, n - 1):
        if not any(j == v for _, j in edges):
            edges.add((draw(st.integers(0, v - 1)), v))
        if not any(i == v for i, _ in edges):
            edges.add((v, draw(st.integers(v + 1, n - 1))))
    return Cell(ops, tuple(edges))


def relabel(cell, order):
    """The same graph with op nodes stored in another (topological) order; ``order`` lists old positions."""
    from nasgen.space.cell import Cell

    n = cell.n_nodes
    pos = {0: 0, n - 1: n - 1}
    for new, old in enumerate(order, start=1):
        pos[old] = new
    return Cell(tuple(cell.ops[o - 1] for o in order), tuple((pos[i], pos[j]) for i, j in cell.edges))


def random_topological_order(cell, rng) -> list[int]:
    """A uniformly random choice among ready nodes at each step: some topological order of the op nodes."""
    n = cell.n_nodes
    indeg = {v: 0 for v in range(1, n - 1)}
    for i, j in cell.edges:
        if j in indeg and i != 0:
            indeg[j] += 1
    order = []
    ready = [v for v, d in indeg.items() if d == 0]
    while ready:
        v = ready.pop(int(rng.integers(len(ready))))
        order.append(v)
        for i, j in cell.edges:
            if i == v and j in indeg:
                indeg[j] -= 1
                if indeg[j] == 0:
                    ready.append(j)
    return order
