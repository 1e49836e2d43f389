"""deployments/prefect.yaml against the flows it names, and the zc fan-out's dispatch plan."""

from __future__ import annotations

import importlib
import inspect

import yaml
from hypothesis import given
from hypothesis import strategies as st

from deployments.deploy import PREFECT_FILE
from flows.zc_fanout import shard_groups


def _deployments() -> list[dict]:
    return yaml.safe_load(PREFECT_FILE.read_text())["deployments"]


def test_every_deployment_names_a_flow_and_valid_parameters():
    names = set()
    for d in _deployments():
        module, func = d["entrypoint"].split(":")
        flow = getattr(importlib.import_module(module.removesuffix(".py").replace("/", ".")), func)
        assert hasattr(flow, "fn"), f"{d['entrypoint']} is not a Prefect flow"
        assert set(d["parameters"]) <= set(inspect.signature(flow.fn).parameters), d["name"]
        assert d["work_pool"]["name"] in ("cpu", "gpu")
        env = d["work_pool"]["job_variables"]["env"]
        assert int(env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"]) >= 30  # heartbeats feed the zombie automation
        assert all(s["active"] is False for s in d.get("schedules", []))  # present, off until switched on
        names.add(d["name"])
    assert names == {"pretrain", "zc", "zc-fanout", "generate", "evaluate", "select-and-train"}


def test_the_fanout_dispatches_to_the_shard_deployment():
    from flows.zc import zc_flow
    from flows.zc_fanout import SHARD_DEPLOYMENT

    shard = next(d for d in _deployments() if d["name"] == "zc")
    assert shard["entrypoint"] == "flows/zc.py:zc_flow"
    assert SHARD_DEPLOYMENT == f"{zc_flow.name}/{shard['name']}"


@given(todo=st.lists(st.integers(0, 10_000), unique=True, max_size=60), parts=st.integers(1, 9))
def test_shard_groups_partition_the_todo_list(todo, parts):
    groups = shard_groups(todo, parts)
    assert sorted(i for g in groups for i in g) == sorted(todo)
    assert len(groups) == min(parts, len(todo)) and all(groups)
    assert max(map(len, groups), default=0) - min(map(len, groups), default=0) <= 1
