"""Shared fixtures: isolated Prefect home, one Prefect test server per session, moto S3 on 127.0.0.1,
and hypothesis strategies for cells and macro architectures."""

from __future__ import annotations

import os
import socket
import tempfile

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st

if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test` runs one worker per core: one thread each, no oversubscription
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[_var] = "1"

_PREFECT_HOME = tempfile.mkdtemp(prefix="nasgen-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no telemetry attempts (no network here)
# A test that names no store writes here, never into the checkout's ./artifacts or a user's $NASGEN_STORE.
os.environ["NASGEN_STORE"] = tempfile.mkdtemp(prefix="nasgen-store-")


def pytest_collection_modifyitems(config, items):
    """Test files marked ``heavy`` first. `make test` hands whole files to two workers in collection order
    (``--dist loadfile --no-loadscope-reorder``): the long files start at once and the short ones fill in around
    them, so the workers finish together instead of one running a long file alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)  # stable: file order kept otherwise


settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run the `nasgen` entry point (with its exit-code mapping); returns (exit code, stdout, stderr)."""
    from deployments.cli import main

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
    """(store, cells, zc, clusters refs) of the `tiny` profile: 40 cells, 16 scored; what the model stages train on."""
    from nasgen.config import get_profile
    from nasgen.stages.pipeline import build
    from nasgen.store import ArtifactStore

    store = ArtifactStore(str(tmp_path_factory.mktemp("pipeline")))
    refs = build(store, get_profile("tiny"), upto="clusters")
    return store, refs["cells"], refs["zc"], refs["clusters"]


@pytest.fixture(scope="session")
def tiny_models(tiny_pipeline):
    """(store, gvae ref, ccnf ref) of the `tiny` profile: what the search and generation stages use."""
    from nasgen.config import get_profile
    from nasgen.stages.pipeline import build

    store = tiny_pipeline[0]
    refs = build(store, get_profile("tiny"), upto="ccnf")
    return store, refs["gvae"], refs["ccnf"]


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


@st.composite
def macros(draw, max_layers: int = 20, square: bool = False):
    """Valid macro architectures: 1..max_layers positions of random cells, channels and strides; any input
    (``square``: H = W, as generate's requests have)."""
    from nasgen.space.macro import CHANNELS, STRIDES, MacroArch

    layers = draw(st.lists(st.tuples(cells(), st.sampled_from(CHANNELS), st.sampled_from(STRIDES)), min_size=1,
                           max_size=max_layers))  # fmt: skip
    h = draw(st.integers(1, 40))
    return MacroArch.from_triples(layers, (draw(st.integers(1, 4)), h, h if square else draw(st.integers(1, 40))),
                                  draw(st.integers(1, 1000)))  # fmt: skip


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
