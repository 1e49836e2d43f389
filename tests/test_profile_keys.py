"""Store keys are the cache: moving or reformatting configs must not change a single one.

``tests/data/profile_keys.json`` was written by ``python -m tests.test_profile_keys`` before configs moved
beside their code and profiles became YAML files; every profile's keys must still equal it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.config import BENCH_SECTIONS, BenchProfile, bench_profile, split_overrides
from nasgen.config import Profile, get_profile, profile_yaml, settle
from nasgen.stages import pipeline, registry

SNAPSHOT = Path(__file__).parent / "data" / "profile_keys.json"
PROFILE_NAMES = ("tiny", "smoke", "demo", "paper")
CONFIG_ONLY = ("arch2vec", "cate", "nb201_proxies", "graphpnas")  # stages keyed by their config alone


def profile_keys(name: str) -> dict:
    prof = get_profile(name)
    out: dict = {"pretrain": pipeline.keys(prof)}
    for s in CONFIG_ONLY:
        st = registry.stage(s)
        out[s] = st.key(cfg=getattr(prof, st.section))
    return out


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_store_keys_unchanged(name):
    assert profile_keys(name) == json.loads(SNAPSHOT.read_text())[name]


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_a_profile_file_is_a_users_config_file(name, tmp_path):
    """A profile written as YAML (what differs from the defaults) and read back as ``--config FILE.yaml``
    over the defaults is the same profile; the benchmarks' sections likewise."""
    for prof, model in ((get_profile(name), Profile), (bench_profile(name), BenchProfile)):
        path = tmp_path / f"{model.__name__}.yaml"
        path.write_text(profile_yaml(prof))
        assert settle(model(name=name), path) == prof


def test_benchmark_sections_are_not_library_sections():
    assert not set(BENCH_SECTIONS) & set(Profile.model_fields)
    lib, bench = split_overrides({"gvae.epochs": 3, "nb201_search.queries": 5, "rehearse.cells": 40})
    assert lib == {"gvae.epochs": 3} and bench == {"nb201_search.queries": 5, "rehearse.cells": 40}
    assert bench_profile("demo", overrides=bench).nb201_search.queries == 5


if __name__ == "__main__":
    SNAPSHOT.write_text(json.dumps({n: profile_keys(n) for n in PROFILE_NAMES}, indent=1) + "\n")


def test_a_latency_device_adds_the_latency_model_upstream_of_every_level_and_nothing_else():
    prof = get_profile("demo")
    with_latency = prof.model_copy(update={"hl_evo": prof.hl_evo.model_copy(update={"latency_device": "cpu"})})
    before, after = pipeline.keys(prof), pipeline.keys(with_latency)
    assert list(after) == [*list(before)[:5], "latency_table", "latency_model", "hl_evo", "sg"]
    assert {k: after[k] for k in before if k not in ("hl_evo", "sg")} == {k: before[k] for k in before
                                                                          if k not in ("hl_evo", "sg")}  # fmt: skip
    assert not set(after["hl_evo"]) & set(before["hl_evo"]) and after["sg"] != before["sg"]
