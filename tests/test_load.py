"""Many generate requests at once, and a worker serving a schedule, through a real Prefect server on 127.0.0.1
(`bench load`, `bench soak` at the tiny benchmark profile: `make test-server`); their arithmetic in the default
suite."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import load, soak
from nasgen.lease import LEASE
from nasgen.store import ArtifactStore


def test_growth_is_the_slope_of_the_second_half():
    t = np.arange(0, 1800, 10.0)
    rss = np.where(t < 900, 500 + t, 2000 + t / 3600 * 12)  # a warm-up jump, then 12 MB per hour
    assert soak.growth_mb_per_hour(t, rss) == pytest.approx(12.0)
    assert soak.growth_mb_per_hour(t[:2], rss[:2]) == 0.0  # one sample in the second half: no line


def test_percentiles_of_latencies():
    p = load._percentiles([float(x) for x in range(1, 101)])
    assert p == {"n": 100, "p50": 50.5, "p95": 95.05, "max": 100.0}


def test_leftovers_name_attempts_temporaries_and_leases_but_not_a_committed_artifact(tmp_path):
    st = ArtifactStore(str(tmp_path / "store"))
    with st.writer("generate", "done", config={}) as w:
        w.write_json("a.json", {})
    st.fs.makedirs(st.path("generate", "dead", ".attempt-x"), exist_ok=True)
    st.create("generate", "busy", LEASE, b"{}")
    found = load.leftovers(st, [("generate", "done"), ("generate", "dead"), ("generate", "busy")])
    assert [p.split("/generate/", 1)[1] for p in found] == ["busy/.lease.json", "dead/.attempt-x"]


def test_a_fresh_store_root_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load.absolute_root("rel/store") == str(tmp_path / "rel" / "store")
    assert load.absolute_root("s3://bucket/prefix") == "s3://bucket/prefix"


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_concurrent_generate_requests_compute_each_distinct_request_once(tmp_path):
    out = load.run(profile="tiny", store=str(tmp_path / "store"), plot=str(tmp_path / "load.png"))
    assert out["states"] == {"COMPLETED": 4}
    assert out["generate_commits"] == out["distinct_requests"] == 3
    # the identical pair computed once: no key has two "computing" lines (a line can be lost on its way to the
    # server, never invented) and no writer lost a commit race
    assert out["computed"]["max_per_key"] == 1 and out["computed"]["generate"] >= 2
    assert out["lost_commits"] == 0 and out["leftovers"] == [] and out["verify_problems"] == []
    assert out["latency_s"]["all"]["p95"] >= out["latency_s"]["all"]["p50"] > 0
    assert (tmp_path / "load.png").stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_worker_serves_a_schedule_and_its_memory_is_sampled(tmp_path):
    out = soak.run(profile="tiny", store=str(tmp_path / "store"), plot=str(tmp_path / "soak.png"))
    assert out["worker_alive"] and out["samples"] >= 20
    assert out["runs"].get("COMPLETED", 0) >= 3 and not {"FAILED", "CRASHED"} & set(out["runs"])
    assert out["worker_rss_mb"]["first"] > 0 and out["server_rss_mb"]["max"] > 0
    assert (tmp_path / "soak.png").stat().st_size > 10_000
